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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connection;
mod error;
mod frame;
pub mod security;
#[cfg(feature = "testkit")]
pub mod testkit;
mod versions;

pub use connection::{Connection, ConnectionConfig};
pub use error::{CodecError, TlsFailure};
pub use frame::{FrameCodec, DEFAULT_MAX_FRAME_SIZE};
pub use versions::{BrokerVersions, FeatureLevel};
