//! An in-process Apache Kafka cluster that speaks the real wire protocol,
//! for testing code that produces to Kafka without a broker, Java or Docker.
//!
//! [`FakeCluster`] starts N brokers on 127.0.0.1 (ephemeral ports unless
//! given), each a tokio listener answering with Kafka's semantics:
//!
//! - ApiVersions (with a settable maximum version per API, to play an older
//!   broker; an unsupported ApiVersions version is answered as a broker
//!   does), Metadata (with topic ids; topics auto-created unless turned
//!   off), CreateTopics, DeleteTopics;
//! - Produce with acks 0, 1 and -1 (by topic name, or by id at v13): every
//!   batch CRC-checked and decompressed (gzip, snappy, lz4, zstd), the
//!   broker's idempotence rules (`DUPLICATE`s answered with the original
//!   offset, `OUT_OF_ORDER_SEQUENCE_NUMBER`, `UNKNOWN_PRODUCER_ID`,
//!   `INVALID_PRODUCER_EPOCH`), `NOT_LEADER_OR_FOLLOWER` with the new
//!   leader from a broker that does not lead the partition;
//! - InitProducerId (KIP-360 epoch bumps included), ListOffsets, Fetch
//!   (long polls up to `max_wait_ms`; `read_committed` up to the last stable
//!   offset with the aborted transactions listed);
//! - transactions v1 and v2 (`transaction.version`, 2 by default as Kafka
//!   4.x, 1 as Kafka 3.x): FindCoordinator, transactional InitProducerId
//!   (fencing the previous instance and aborting its transaction),
//!   AddPartitionsToTxn (v2: the first Produce adds the partition),
//!   AddOffsetsToTxn, TxnOffsetCommit, EndTxn (commit and abort markers
//!   written to every partition; v2 bumps the epoch), OffsetFetch of the
//!   offsets committed with a transaction (UNSTABLE_OFFSET_COMMIT while one
//!   is pending, with `require_stable`).
//!
//! Faults are injected by the test ([`Fault`]: the next N requests of an
//! API, on one broker, for one partition, answered with an error code;
//! [`Fault::after_append`] for a write that landed but is answered with an
//! error; [`FakeCluster::set_latency`]; [`FakeCluster::drop_connections`],
//! [`FakeCluster::half_close_connections`] and
//! [`FakeCluster::silence_connections`];
//! [`FakeCluster::stop_broker`] / [`FakeCluster::restart_broker`];
//! [`FakeCluster::move_leader`]; [`FakeCluster::set_throttle`]); nothing is
//! random, so a test is deterministic. What was stored is inspected with
//! [`FakeCluster::records`] (with producer id, epoch, sequence and the
//! transactional flag), the transactions the coordinator ended with
//! [`FakeCluster::transactions`] (committed, aborted, aborted by fencing or
//! on timeout: the coordinator aborts a transaction open longer than its
//! producer's `transaction.timeout.ms`), and what was asked with
//! [`FakeCluster::requests`].
//!
//! Malformed or truncated requests close the connection, as a broker does;
//! nothing panics and decoding stays within the protocol crate's budget.
//!
//! With [`FakeClusterBuilder::sasl_users`] (feature `sasl`, on by default)
//! every listener takes SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 as a
//! SASL_PLAINTEXT listener does: a connection authenticates before anything
//! but ApiVersions.
//!
//! Not served (yet): consumer group membership (JoinGroup, SyncGroup,
//! Heartbeat, OffsetCommit), TLS, OAUTHBEARER, re-authentication
//! (KIP-368), transaction timeouts.
//!
//! ```no_run
//! use kafka_fake::{FakeCluster, Fault};
//! use kafka_protocol::{messages::ApiKey, ErrorCode};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let cluster = FakeCluster::builder().brokers(3).topic("orders", 6).start().await?;
//! // Point the code under test at `cluster.bootstrap()`...
//! cluster.inject(Fault::new(ApiKey::Produce, ErrorCode::NOT_ENOUGH_REPLICAS).times(2));
//! // ...run it, then look at what the partitions hold.
//! for r in cluster.records("orders", 0) {
//!     println!("{}: {:?}", r.offset, r.value);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cluster;
mod fault;
mod log;
#[cfg(feature = "sasl")]
mod sasl;
mod server;
mod state;

pub use cluster::{FakeCluster, FakeClusterBuilder};
pub use fault::Fault;
pub use log::StoredRecord;
pub use state::{EndedTransaction, RequestLogEntry, TxnOutcome, MAX_PARTITIONS};

/// Entry points for the fuzz targets (not an API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use bytes::{Bytes, BytesMut};

    use crate::state::{Answer, BrokerInfo, State};

    /// Reads `frame` (a request without its size prefix) as broker 1 of a
    /// one-broker cluster holding topic "t" would, answers it, and encodes
    /// the answer at the request's version, which must succeed.
    pub fn request(frame: &[u8]) {
        let mut state = State::new(vec![BrokerInfo {
            id: 1,
            port: 9092,
            up: true,
            rack: None,
        }]);
        state
            .create_topic("t", 2)
            .expect("a fresh cluster takes a topic");
        let frame = Bytes::copy_from_slice(frame);
        let Ok(parsed) = crate::server::parse_request(&state, &frame) else {
            return;
        };
        if let Answer::Respond(response) = state.handle(1, parsed.version, &parsed.request) {
            let mut out = BytesMut::new();
            response
                .encode(&mut out, parsed.version)
                .expect("the fake's answers encode at the request's version");
        }
    }
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
