//! The framed tokio transport for Kafka, usable alone with `kafka-protocol`.
//!
//! - [`FrameCodec`]: a tokio-util `Decoder`/`Encoder` for Kafka's
//!   size-prefixed frames, with a maximum frame size enforced before any
//!   allocation.
//! - [`Connection`]: one broker connection with any number of requests in
//!   flight, matched by correlation id; cancel-safe request futures;
//!   per-request timeouts; requests without response (acks=0 Produce);
//!   every pending request fails when the socket does.
//! - [`BrokerVersions`]: ApiVersions on connect (falling back when the broker
//!   is older), the version of each API as the top of the intersection of
//!   both ranges, and the broker's finalized features.
//! - [`security`]: TLS (rustls, feature `tls`) and SASL PLAIN, SCRAM-SHA-256,
//!   SCRAM-SHA-512 and OAUTHBEARER (feature `sasl`) in the connect sequence,
//!   with KIP-368 re-authentication that fails no request in flight. Both
//!   features are on by default.
//!
//! ```no_run
//! use kafka_codec::{Connection, ConnectionConfig};
//! use kafka_protocol::generated::MetadataRequest;
//! use kafka_protocol::messages::ApiKey;
//!
//! # async fn demo() -> Result<(), kafka_codec::CodecError> {
//! let conn = Connection::connect("127.0.0.1:9092", ConnectionConfig::default()).await?;
//! println!("Produce v{}", conn.versions().negotiate(ApiKey::Produce)?);
//! let metadata = conn.send(&MetadataRequest { topics: None, ..Default::default() }).await?;
//! for b in &metadata.brokers {
//!     println!("broker {} at {}:{}", b.node_id, b.host, b.port);
//! }
//! # Ok(()) }
//! ```
//!
//! Over TLS with SCRAM, without the producer:
//!
//! ```no_run
//! use kafka_codec::security::{SaslConfig, ScramMechanism, SecurityConfig, TlsConfig, TrustStore};
//! use kafka_codec::{Connection, ConnectionConfig};
//! use kafka_protocol::generated::MetadataRequest;
//!
//! # async fn demo() -> Result<(), kafka_codec::CodecError> {
//! let security = SecurityConfig::sasl_ssl(
//!     TlsConfig::new(TrustStore::PemFile("/etc/kafka/ca.pem".into())),
//!     SaslConfig::Scram {
//!         mechanism: ScramMechanism::Sha256,
//!         username: "alice".into(),
//!         password: "alice-secret".into(),
//!     },
//! );
//! let conn = Connection::connect(
//!     "broker-1.example.com:9093",
//!     ConnectionConfig { security, ..ConnectionConfig::default() },
//! )
//! .await?; // TCP, TLS, ApiVersions, SASL: authenticated before it is handed out
//! let metadata = conn.send(&MetadataRequest { topics: None, ..Default::default() }).await?;
//! println!("{} brokers", metadata.brokers.len());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connection;
mod dns;
mod error;
mod frame;
pub mod security;
mod versions;

pub use connection::{Connection, ConnectionConfig};
pub use dns::canonical_addresses;
pub use error::{CodecError, TlsFailure};
pub use frame::{FrameCodec, DEFAULT_MAX_FRAME_SIZE};
pub use versions::{BrokerVersions, FeatureLevel};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
