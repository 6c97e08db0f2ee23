//! The producer's error type, and the classification of Kafka's error codes
//! (which ones the producer retries inside, which ones it hands to the user).

use std::sync::Arc;
use std::time::Duration;

/// Why a record was not delivered, or why a call failed.
///
/// Cheap to clone: one error is handed to every record of a failed batch.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProducerError {
    /// The configuration is invalid; the message names the key(s).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The record (serialized, uncompressed) exceeds `max.request.size` or `buffer.memory`.
    #[error("record of {size} bytes exceeds {limit_name} ({limit})")]
    RecordTooLarge {
        /// Record size as Java computes it (uncompressed).
        size: usize,
        /// The limit.
        limit: usize,
        /// The configuration key of the limit.
        limit_name: &'static str,
    },
    /// Buffer space was not free within `max.block.ms` (`send`), or at once (`try_send`).
    #[error("buffer memory exhausted: {needed} bytes not available within {waited:?}")]
    BufferExhausted {
        /// Bytes asked for.
        needed: usize,
        /// How long the call waited.
        waited: Duration,
    },
    /// The topic did not appear in metadata within `max.block.ms`.
    #[error("topic {topic} not present in metadata after {waited:?}")]
    TopicNotFound {
        /// The topic.
        topic: String,
        /// How long the producer waited.
        waited: Duration,
    },
    /// The explicit partition does not exist.
    #[error("partition {partition} of topic {topic} does not exist (the topic has {partitions})")]
    InvalidPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: i32,
        /// The topic's partition count.
        partitions: i32,
    },
    /// The record expired: `delivery.timeout.ms` passed before it was acknowledged.
    #[error("record expired after {elapsed:?} ({attempts} attempts; last error: {last_error})")]
    DeliveryTimeout {
        /// Time since the record's batch was created.
        elapsed: Duration,
        /// Produce attempts made.
        attempts: u32,
        /// The last retriable error seen, or "none".
        last_error: Arc<str>,
    },
    /// The broker rejected the batch with a non-retriable error, or retries ran out.
    #[error("broker error {code} ({name}) after {attempts} attempts{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Broker {
        /// Kafka's error code.
        code: i16,
        /// Kafka's name of the code.
        name: &'static str,
        /// The broker's message, if any.
        message: Option<Arc<str>>,
        /// Produce attempts made.
        attempts: u32,
    },
    /// The producer hit an error it cannot recover from (e.g. authorization or
    /// fencing); every pending record fails and the producer must be rebuilt.
    #[error("fatal producer error: {0}")]
    Fatal(Arc<str>),
    /// A serializer failed.
    #[error("serialization failed: {0}")]
    Serialization(Arc<str>),
    /// The producer was closed before the record was delivered.
    #[error("producer closed before the record was delivered")]
    Closed,
}

impl ProducerError {
    /// Whether the same record might succeed if sent again later.
    pub fn is_retriable(&self) -> bool {
        match self {
            ProducerError::BufferExhausted { .. }
            | ProducerError::TopicNotFound { .. }
            | ProducerError::DeliveryTimeout { .. } => true,
            ProducerError::Broker { code, .. } => ErrorCode(*code).is_retriable(),
            _ => false,
        }
    }
}

/// A Kafka error code with its name and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub i16);

impl ErrorCode {
    /// No error.
    pub const NONE: ErrorCode = ErrorCode(0);
    /// The server hit an unexpected error.
    pub const UNKNOWN_SERVER_ERROR: ErrorCode = ErrorCode(-1);
    /// CRC or size check failed on the broker.
    pub const CORRUPT_MESSAGE: ErrorCode = ErrorCode(2);
    /// Topic or partition unknown to this broker.
    pub const UNKNOWN_TOPIC_OR_PARTITION: ErrorCode = ErrorCode(3);
    /// Leader election in progress.
    pub const LEADER_NOT_AVAILABLE: ErrorCode = ErrorCode(5);
    /// This broker is not the leader.
    pub const NOT_LEADER_OR_FOLLOWER: ErrorCode = ErrorCode(6);
    /// The broker timed out waiting for replication.
    pub const REQUEST_TIMED_OUT: ErrorCode = ErrorCode(7);
    /// The batch is larger than the broker accepts.
    pub const MESSAGE_TOO_LARGE: ErrorCode = ErrorCode(10);
    /// The network failed.
    pub const NETWORK_EXCEPTION: ErrorCode = ErrorCode(13);
    /// The topic name is invalid.
    pub const INVALID_TOPIC_EXCEPTION: ErrorCode = ErrorCode(17);
    /// The request exceeds the broker's maximum size.
    pub const RECORD_LIST_TOO_LARGE: ErrorCode = ErrorCode(18);
    /// Too few in-sync replicas.
    pub const NOT_ENOUGH_REPLICAS: ErrorCode = ErrorCode(19);
    /// Written, but too few in-sync replicas afterwards.
    pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode = ErrorCode(20);
    /// acks must be -1, 0 or 1.
    pub const INVALID_REQUIRED_ACKS: ErrorCode = ErrorCode(21);
    /// Not authorized for the topic.
    pub const TOPIC_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(29);
    /// Not authorized for the cluster (idempotent write).
    pub const CLUSTER_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(31);
    /// The timestamp is out of the broker's accepted range.
    pub const INVALID_TIMESTAMP: ErrorCode = ErrorCode(32);
    /// The broker does not speak this version.
    pub const UNSUPPORTED_VERSION: ErrorCode = ErrorCode(35);
    /// A gap in the sequence numbers.
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: ErrorCode = ErrorCode(45);
    /// The batch was already written.
    pub const DUPLICATE_SEQUENCE_NUMBER: ErrorCode = ErrorCode(46);
    /// The producer epoch is stale.
    pub const INVALID_PRODUCER_EPOCH: ErrorCode = ErrorCode(47);
    /// The broker lost the producer's state.
    pub const UNKNOWN_PRODUCER_ID: ErrorCode = ErrorCode(59);
    /// The broker's disk failed.
    pub const KAFKA_STORAGE_ERROR: ErrorCode = ErrorCode(56);
    /// Stale leader epoch.
    pub const FENCED_LEADER_EPOCH: ErrorCode = ErrorCode(74);
    /// Leader epoch newer than the broker knows.
    pub const UNKNOWN_LEADER_EPOCH: ErrorCode = ErrorCode(75);
    /// A record failed validation.
    pub const INVALID_RECORD: ErrorCode = ErrorCode(87);
    /// Another producer with the same transactional id took over.
    pub const PRODUCER_FENCED: ErrorCode = ErrorCode(90);
    /// The transaction must be aborted.
    pub const TRANSACTION_ABORTABLE: ErrorCode = ErrorCode(120);

    /// Kafka's name of the code.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NONE",
            -1 => "UNKNOWN_SERVER_ERROR",
            1 => "OFFSET_OUT_OF_RANGE",
            2 => "CORRUPT_MESSAGE",
            3 => "UNKNOWN_TOPIC_OR_PARTITION",
            4 => "INVALID_FETCH_SIZE",
            5 => "LEADER_NOT_AVAILABLE",
            6 => "NOT_LEADER_OR_FOLLOWER",
            7 => "REQUEST_TIMED_OUT",
            8 => "BROKER_NOT_AVAILABLE",
            9 => "REPLICA_NOT_AVAILABLE",
            10 => "MESSAGE_TOO_LARGE",
            13 => "NETWORK_EXCEPTION",
            14 => "COORDINATOR_LOAD_IN_PROGRESS",
            15 => "COORDINATOR_NOT_AVAILABLE",
            16 => "NOT_COORDINATOR",
            17 => "INVALID_TOPIC_EXCEPTION",
            18 => "RECORD_LIST_TOO_LARGE",
            19 => "NOT_ENOUGH_REPLICAS",
            20 => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            21 => "INVALID_REQUIRED_ACKS",
            29 => "TOPIC_AUTHORIZATION_FAILED",
            31 => "CLUSTER_AUTHORIZATION_FAILED",
            32 => "INVALID_TIMESTAMP",
            35 => "UNSUPPORTED_VERSION",
            42 => "INVALID_REQUEST",
            43 => "UNSUPPORTED_FOR_MESSAGE_FORMAT",
            44 => "POLICY_VIOLATION",
            45 => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            46 => "DUPLICATE_SEQUENCE_NUMBER",
            47 => "INVALID_PRODUCER_EPOCH",
            51 => "CONCURRENT_TRANSACTIONS",
            53 => "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
            56 => "KAFKA_STORAGE_ERROR",
            59 => "UNKNOWN_PRODUCER_ID",
            74 => "FENCED_LEADER_EPOCH",
            75 => "UNKNOWN_LEADER_EPOCH",
            76 => "UNSUPPORTED_COMPRESSION_TYPE",
            87 => "INVALID_RECORD",
            89 => "THROTTLING_QUOTA_EXCEEDED",
            90 => "PRODUCER_FENCED",
            120 => "TRANSACTION_ABORTABLE",
            _ => "UNKNOWN",
        }
    }

    /// Whether the producer retries a batch that failed with this code
    /// (Java's `RetriableException` subclasses).
    pub fn is_retriable(self) -> bool {
        matches!(
            self.0,
            2 | 3 | 5 | 6 | 7 | 8 | 9 | 13 | 14 | 15 | 16 | 19 | 20 | 56 | 74 | 75 | 89
        )
    }

    /// Whether the error means our metadata for the partition is stale.
    pub fn invalidates_metadata(self) -> bool {
        matches!(self.0, 3 | 5 | 6 | 13 | 56 | 74 | 75)
    }

    /// Errors after which the producer cannot go on.
    pub fn is_fatal(self) -> bool {
        matches!(self.0, 31 | 35 | 53 | 90)
    }
}
