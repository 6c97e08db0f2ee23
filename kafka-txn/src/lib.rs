//! Transactions and exactly-once for the pure-Rust Kafka producer stack.
//!
//! - [`TransactionManager`]: the transactional coordinator client as a pure
//!   state machine (no sockets, no clock): the Java client's states and
//!   transitions ([`TransactionState`]), which coordinator request comes
//!   next (FindCoordinator, InitProducerId, AddPartitionsToTxn,
//!   AddOffsetsToTxn, TxnOffsetCommit, EndTxn), what each answer means.
//!   Transactions v2 (KIP-890) when the cluster finalized
//!   `transaction.version >= 2` and the versions allow it.
//! - [`TransactionClient`]: an async task driving it over `kafka-codec`,
//!   usable alone by a client built on the codec layer.
//! - [`TransactionalProducer`]: `kafka-producer`'s producer with its
//!   batches gated by the transaction (through the core's `DrainGate`), and
//!   `init_transactions`, `begin_transaction`, `send`,
//!   `send_offsets_to_transaction`, `commit_transaction`,
//!   `abort_transaction`, all async and bounded by `max.block.ms`.
//!
//! Errors carry KIP-1050's class ([`TransactionError::class`]): on
//! `Abortable`, abort and go on; on `ApplicationRecoverable` (fenced),
//! build a new producer.
//!
//! ```no_run
//! use kafka_txn::{ProducerRecord, TransactionalProducer};
//!
//! # async fn demo() -> Result<(), kafka_txn::TransactionError> {
//! let p = TransactionalProducer::from_properties([
//!     ("bootstrap.servers", "127.0.0.1:9092"),
//!     ("transactional.id", "my-app-1"),
//! ])?;
//! p.init_transactions().await?;
//! p.begin_transaction()?;
//! let a = p.send(ProducerRecord::new("a").value("1")).await?;
//! let b = p.send(ProducerRecord::new("b").value("2")).await?;
//! p.commit_transaction().await?; // both records, or (after an abort) neither
//! // The commit fails if a record did; after it, the deliveries say where.
//! println!("a at {}, b at {}", a.await?.offset, b.await?.offset);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod error;
mod gate;
mod manager;
mod offsets;
mod producer;
mod state;

pub use client::TransactionClient;
pub use error::TransactionError;
pub use manager::{
    OperationId, TransactionConfig, TransactionEvent, TransactionManager,
    LAST_PRODUCE_VERSION_BEFORE_V2, TXN_VERSIONS,
};
pub use offsets::{ConsumerGroupMetadata, OffsetAndMetadata, PreparedTxnState};
pub use producer::TransactionalProducer;
pub use state::TransactionState;

/// What the signatures of [`TransactionalProducer`] and its configuration
/// use, from `kafka-producer`, so one `use kafka_txn::...` line is enough
/// (interceptors, partitioners, security options, metrics included).
/// Errors of a record's delivery are [`ProducerError`]s;
/// [`TransactionError`] converts from them (`?` works), and both say their
/// [`ErrorClass`].
pub use kafka_producer::{
    Acks, BrokerError, DeliveryFuture, ErrorClass, FatalError, Interceptors, Node, PartitionInfo,
    Partitioner, Producer, ProducerConfig, ProducerError, ProducerInterceptor, ProducerMetrics,
    ProducerRecord, RecordAck, RecordMetadata, SecurityConfig, TokenProvider, TopicPartition, Uuid,
};

// A transactional producer is shared between tasks by cloning it.
const _: fn() = || {
    fn shared_between_tasks<T: Send + Sync + Clone + 'static>() {}
    shared_between_tasks::<TransactionalProducer>();
};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
