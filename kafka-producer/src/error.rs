//! The producer's error type, and the one place that classifies Kafka's
//! error codes for a producer (KIP-1050's classes).
//!
//! The facts about each code (name, retriable, stale metadata) come from
//! [`kafka_protocol::ErrorCode`]'s table; [`classify`] adds what a producer
//! does with it. The core decides its retries from the same function.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use kafka_protocol::ErrorCode;

use crate::config::ConfigError;

/// What the application should do about an error (KIP-1050's classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Transient: the producer already retried it within its bounds
    /// (`delivery.timeout.ms`, `max.block.ms`); sending again later may work.
    Retriable,
    /// This record or batch failed (outside a transaction), or the
    /// transaction must be aborted (inside one); the producer goes on.
    Abortable,
    /// Another producer instance took over (fencing): close this producer
    /// and build a new one.
    ApplicationRecoverable,
    /// The settings, credentials or permissions are wrong: fix them.
    InvalidConfiguration,
    /// The producer cannot go on: close it.
    Fatal,
}

/// An error a broker sent, with the producer's view of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerError {
    /// Kafka's error code.
    pub code: ErrorCode,
    /// The broker's message, if any.
    pub message: Option<Arc<str>>,
    /// Produce attempts made for the batch (0 when not about a batch).
    pub attempts: u32,
}

impl BrokerError {
    /// A broker error about no particular batch.
    pub fn new(code: ErrorCode, message: Option<Arc<str>>) -> Self {
        BrokerError {
            code,
            message,
            attempts: 0,
        }
    }
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if self.attempts > 0 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        if let Some(m) = self.message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

/// Why the producer stopped for good. Every record pending then, and every
/// later call, fails with [`ProducerError::Fatal`] holding it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FatalError {
    /// Another producer took over the producer id (PRODUCER_FENCED, an
    /// INVALID_PRODUCER_EPOCH from a transaction coordinator,
    /// INVALID_PRODUCER_ID_MAPPING): build a new producer.
    #[error("fenced by a newer producer: {0}")]
    Fenced(BrokerError),
    /// Not authorized for what the producer needs (CLUSTER_AUTHORIZATION_FAILED
    /// for idempotent writes, TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
    #[error("not authorized: {0}")]
    Unauthorized(BrokerError),
    /// The broker does not support what the producer needs
    /// (UNSUPPORTED_VERSION, or no common version of an API).
    #[error("unsupported by the broker: {0}")]
    UnsupportedVersion(Arc<str>),
    /// TLS or SASL refused: wrong credentials, an unknown user, a rejected
    /// token, an untrusted or mismatched certificate, a client certificate
    /// the broker refused, unusable security settings. Retrying would be
    /// refused the same way (and hammer the broker), so the producer stops;
    /// fix the settings and build a new one.
    #[error("authentication failed: {0}")]
    Authentication(Arc<str>),
    /// Another broker error the producer cannot recover from.
    #[error("{0}")]
    Broker(BrokerError),
}

impl FatalError {
    /// The error's class: fenced is application-recoverable, authorization
    /// and versions are configuration problems, the rest fatal.
    pub fn class(&self) -> ErrorClass {
        match self {
            FatalError::Fenced(_) => ErrorClass::ApplicationRecoverable,
            FatalError::Unauthorized(_)
            | FatalError::UnsupportedVersion(_)
            | FatalError::Authentication(_) => ErrorClass::InvalidConfiguration,
            FatalError::Broker(_) => ErrorClass::Fatal,
        }
    }
}

/// Why a record was not delivered, or why a call failed.
///
/// Cheap to clone: one error is handed to every record of a failed batch.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProducerError {
    /// The configuration is invalid; the error names the key(s).
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// A producer was created outside a tokio runtime.
    #[error("a producer must be created inside a tokio runtime")]
    NoRuntime,
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
    #[error("topic {topic} not present in metadata after {waited:?}{}", last_error.as_deref().map(|e| format!(" (metadata could not be fetched: {e})")).unwrap_or_default())]
    TopicNotFound {
        /// The topic.
        topic: String,
        /// How long the producer waited.
        waited: Duration,
        /// Why metadata could not be fetched, when no broker answered (a
        /// connection refused, a TLS handshake cut short, ...).
        last_error: Option<Arc<str>>,
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
    #[error("record expired after {elapsed:?} ({attempts} attempts; last error: {})", last_error.as_deref().unwrap_or("none"))]
    DeliveryTimeout {
        /// Time since the record's batch was created.
        elapsed: Duration,
        /// Produce attempts made.
        attempts: u32,
        /// The last retriable error seen, if any attempt failed.
        last_error: Option<Arc<str>>,
    },
    /// The broker rejected the batch with a non-retriable error, or retries ran out.
    #[error("broker error {0}")]
    Broker(BrokerError),
    /// The producer stopped for good; see [`FatalError`].
    #[error("producer stopped: {0}")]
    Fatal(FatalError),
    /// A serializer failed.
    #[error("serialization failed: {0}")]
    Serialization(Arc<str>),
    /// The record's batch could not be encoded (a compression codec failed).
    #[error("the record's batch could not be encoded: {0}")]
    Encoding(Arc<str>),
    /// The producer was closed before the record was delivered.
    #[error("producer closed before the record was delivered")]
    Closed,
    /// A layer built on the producer refused the record before handing it
    /// over (the transactional producer outside an open transaction): the
    /// message says why. Interceptors see it, as Java's `onSendError`.
    #[error("record refused: {0}")]
    Refused(Arc<str>),
    /// The record's transaction was aborted before the record was sent.
    #[error("the transaction was aborted before the record was sent")]
    TransactionAborted,
    /// The application's code panicked while handling this record (its
    /// partitioner, say): this record fails, every other goes on. A
    /// panicking delivery callback is logged, as its record's outcome was
    /// already handed to it.
    #[error("the {hook} panicked: {message}")]
    UserCodePanicked {
        /// Which piece of the application's code.
        hook: UserHook,
        /// The panic's message.
        message: Arc<str>,
    },
    /// The producer's I/O task ended (a panic inside it, or its tokio
    /// runtime shut down): every record pending then failed with this, and
    /// every later call fails with it at once. Build a new producer.
    #[error("the producer's I/O task stopped: {0}")]
    IoTaskStopped(Arc<str>),
    /// A call that waits for the producer's I/O task (`flush`, `metrics`)
    /// was made inside a delivery callback, which that task runs: it would
    /// wait for itself. Spawn a task for it instead.
    #[error(
        "{0} cannot wait inside a delivery callback: the producer's I/O task runs the callback"
    )]
    CalledFromCallback(&'static str),
}

/// The application's code the producer calls, for
/// [`ProducerError::UserCodePanicked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserHook {
    /// A closure given to `Producer::send_with_callback`.
    DeliveryCallback,
    /// A custom [`Partitioner`](crate::partitioner::Partitioner).
    Partitioner,
    /// A [`ProducerInterceptor`](crate::ProducerInterceptor).
    Interceptor,
}

impl fmt::Display for UserHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UserHook::DeliveryCallback => "delivery callback",
            UserHook::Partitioner => "partitioner",
            UserHook::Interceptor => "interceptor",
        })
    }
}

/// The message of a caught panic (`panic!` with a literal or a format).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Arc<str> {
    payload
        .downcast_ref::<&str>()
        .map(|s| Arc::from(*s))
        .or_else(|| {
            payload
                .downcast_ref::<String>()
                .map(|s| Arc::from(s.as_str()))
        })
        .unwrap_or_else(|| Arc::from("a panic without a message"))
}

impl ProducerError {
    /// KIP-1050's class of the error: what the application should do.
    pub fn class(&self) -> ErrorClass {
        match self {
            ProducerError::BufferExhausted { .. }
            | ProducerError::TopicNotFound { .. }
            | ProducerError::DeliveryTimeout { .. } => ErrorClass::Retriable,
            ProducerError::Broker(b) => classify(b.code, false),
            ProducerError::Fatal(f) => f.class(),
            ProducerError::Config(_) | ProducerError::NoRuntime | ProducerError::Refused(_) => {
                ErrorClass::InvalidConfiguration
            }
            ProducerError::RecordTooLarge { .. }
            | ProducerError::InvalidPartition { .. }
            | ProducerError::Serialization(_)
            | ProducerError::Encoding(_)
            | ProducerError::TransactionAborted
            | ProducerError::UserCodePanicked { .. }
            // The call failed, the producer goes on.
            | ProducerError::CalledFromCallback(_) => ErrorClass::Abortable,
            ProducerError::Closed | ProducerError::IoTaskStopped(_) => ErrorClass::Fatal,
        }
    }

    /// Whether the same record might succeed if sent again later.
    pub fn is_retriable(&self) -> bool {
        self.class() == ErrorClass::Retriable
    }

    /// The Kafka error code behind the error, if a broker sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ProducerError::Broker(b)
            | ProducerError::Fatal(
                FatalError::Fenced(b) | FatalError::Unauthorized(b) | FatalError::Broker(b),
            ) => Some(b.code),
            _ => None,
        }
    }
}

/// What a producer does with an error code from a broker: the one place
/// that decides, for the core (retry or not, stop or not) and for
/// [`ProducerError::class`].
///
/// `transactional` is whether the error came in a transaction (there, a
/// batch that fails makes the transaction abortable).
pub fn classify(code: ErrorCode, transactional: bool) -> ErrorClass {
    match code {
        ErrorCode::PRODUCER_FENCED | ErrorCode::INVALID_PRODUCER_ID_MAPPING => {
            ErrorClass::ApplicationRecoverable
        }
        ErrorCode::CLUSTER_AUTHORIZATION_FAILED
        | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        | ErrorCode::UNSUPPORTED_VERSION => ErrorClass::Fatal,
        // On a Produce, a stale epoch: an idempotent producer fails that
        // batch (Java does not stop for it); in a transaction it may be a
        // coordinator's abort of a timed-out transaction, so the
        // transaction is abortable (the abort then tells whether it was
        // fencing).
        ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::TRANSACTION_ABORTABLE => {
            ErrorClass::Abortable
        }
        c if c.is_retriable() => ErrorClass::Retriable,
        _ if transactional => ErrorClass::Abortable,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED
        | ErrorCode::INVALID_TOPIC_EXCEPTION
        | ErrorCode::RECORD_LIST_TOO_LARGE
        | ErrorCode::INVALID_REQUIRED_ACKS
        | ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT
        | ErrorCode::INVALID_RECORD => ErrorClass::InvalidConfiguration,
        _ => ErrorClass::Abortable,
    }
}

/// The error a batch fails with for `code`: the codes [`classify`] calls
/// fatal or fenced stop the producer.
pub(crate) fn broker_error(
    code: ErrorCode,
    message: Option<Arc<str>>,
    attempts: u32,
) -> ProducerError {
    let b = BrokerError {
        code,
        message,
        attempts,
    };
    match classify(code, false) {
        ErrorClass::ApplicationRecoverable => ProducerError::Fatal(FatalError::Fenced(b)),
        ErrorClass::Fatal if code == ErrorCode::UNSUPPORTED_VERSION => {
            ProducerError::Fatal(FatalError::UnsupportedVersion(Arc::from(b.to_string())))
        }
        // The other fatal codes are the authorization ones.
        ErrorClass::Fatal => ProducerError::Fatal(FatalError::Unauthorized(b)),
        _ => ProducerError::Broker(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_and_unauthorized_are_told_apart() {
        let fenced = broker_error(ErrorCode::PRODUCER_FENCED, None, 1);
        let unauthorized = broker_error(ErrorCode::CLUSTER_AUTHORIZATION_FAILED, None, 1);
        assert!(matches!(
            fenced,
            ProducerError::Fatal(FatalError::Fenced(_))
        ));
        assert!(matches!(
            unauthorized,
            ProducerError::Fatal(FatalError::Unauthorized(_))
        ));
        assert_eq!(fenced.class(), ErrorClass::ApplicationRecoverable);
        assert_eq!(unauthorized.class(), ErrorClass::InvalidConfiguration);
        assert_eq!(fenced.code(), Some(ErrorCode::PRODUCER_FENCED));
    }

    #[test]
    fn classes_follow_javas() {
        assert_eq!(
            classify(ErrorCode::NOT_LEADER_OR_FOLLOWER, false),
            ErrorClass::Retriable
        );
        assert_eq!(
            classify(ErrorCode::NOT_LEADER_OR_FOLLOWER, true),
            ErrorClass::Retriable
        );
        assert_eq!(
            classify(ErrorCode::TRANSACTION_ABORTABLE, true),
            ErrorClass::Abortable
        );
        assert_eq!(
            classify(ErrorCode::INVALID_PRODUCER_EPOCH, true),
            ErrorClass::Abortable
        );
        assert_eq!(
            classify(ErrorCode::PRODUCER_FENCED, true),
            ErrorClass::ApplicationRecoverable
        );
        assert_eq!(
            classify(ErrorCode::UNSUPPORTED_VERSION, false),
            ErrorClass::Fatal
        );
        assert_eq!(
            classify(ErrorCode::TOPIC_AUTHORIZATION_FAILED, false),
            ErrorClass::InvalidConfiguration
        );
        assert_eq!(
            classify(ErrorCode::TOPIC_AUTHORIZATION_FAILED, true),
            ErrorClass::Abortable
        );
        assert_eq!(
            classify(ErrorCode::MESSAGE_TOO_LARGE, false),
            ErrorClass::Abortable
        );
    }

    #[test]
    fn messages_name_the_code() {
        let e = broker_error(ErrorCode::NOT_ENOUGH_REPLICAS, Some("isr 1".into()), 3);
        assert_eq!(
            e.to_string(),
            "broker error NOT_ENOUGH_REPLICAS (19) after 3 attempts: isr 1"
        );
    }
}
