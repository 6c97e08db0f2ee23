//! A pure-Rust asynchronous Kafka producer: partitioning (Java-identical key
//! hashing), batching in wire form, acks, compression, retries, idempotence
//! (on by default, as in the Java client) and backpressure.
//!
//! - [`Producer`]: `send(record).await` waits only for buffer space and
//!   returns a [`DeliveryFuture`]; `try_send`, `flush`, `close`.
//! - [`ProducerConfig`]: the Java client's property names, defaults and
//!   validation (`Producer::from_properties`), or typed options
//!   (`Producer::builder()`).
//! - [`core::ProducerCore`]: every decision, without sockets or a clock; the
//!   tokio driver is a thin layer around it, and tests drive it with a
//!   simulated cluster.
//!
//! ```no_run
//! use std::time::Duration;
//! use kafka_producer::{Producer, ProducerRecord};
//!
//! # async fn demo() -> Result<(), kafka_producer::ProducerError> {
//! let producer = Producer::builder().bootstrap_servers("127.0.0.1:9092").build_producer()?;
//! let delivery = producer.send(ProducerRecord::new("events").key("user-1").value("hello")).await?;
//! let md = delivery.await?;
//! println!("written to {}-{} at offset {}", md.topic, md.partition, md.offset);
//! producer.close(Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod core;
mod delivery;
mod driver;
pub mod error;
pub mod interceptor;
pub mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
pub mod partitioner;
mod record;
pub mod serializer;
pub mod telemetry;

pub use crate::core::{Node, PartitionInfo, TopicPartition};
pub use config::{Acks, ProducerConfig};
pub use delivery::{DeliveryFuture, TryRecvError};
pub use driver::{Producer, TransactionHandle};
pub use error::{BrokerError, ErrorClass, ErrorCode, FatalError, ProducerError, UserHook};
pub use interceptor::{Interceptors, ProducerInterceptor, RecordAck};
pub use kafka_protocol::primitives::Uuid;
pub use metrics::ProducerMetrics;
pub use partitioner::Partitioner;
pub use record::{IntoTopic, ProducerRecord, RecordMetadata};

/// The typed security options (TLS, SASL, OAUTHBEARER token providers), as
/// `kafka-codec` defines them, so a producer is configured without a
/// direct dependency on it: [`ProducerConfig::security`] holds a
/// [`SecurityConfig`].
///
/// ```
/// use kafka_producer::security::SecurityConfig;
/// use kafka_producer::ProducerConfig;
///
/// // The Java properties set the typed options; both ways meet here.
/// let config = ProducerConfig::from_properties([
///     ("bootstrap.servers", "127.0.0.1:9092"),
///     ("security.protocol", "SASL_PLAINTEXT"),
///     ("sasl.mechanism", "PLAIN"),
///     ("sasl.jaas.config", r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";"#),
/// ])?;
/// let security: &SecurityConfig = &config.security;
/// assert!(format!("{security:?}").contains("[hidden]"), "secrets stay hidden");
/// # Ok::<(), kafka_producer::config::ConfigError>(())
/// ```
pub mod security {
    pub use kafka_codec::security::*;
}
pub use security::{SecurityConfig, TokenProvider};

// A producer is shared between tasks by cloning it.
const _: fn() = || {
    fn shared_between_tasks<T: Send + Sync + Clone + 'static>() {}
    shared_between_tasks::<Producer>();
};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
