//! The one error type of the transactional layer, with KIP-1050's class on
//! every error so that the documented loop reads as code:
//!
//! ```no_run
//! # use kafka_txn::{TransactionError, TransactionalProducer};
//! # use kafka_producer::ErrorClass;
//! # async fn step(p: &TransactionalProducer) -> Result<(), TransactionError> { Ok(()) }
//! # async fn demo(p: TransactionalProducer) -> Result<(), TransactionError> {
//! match step(&p).await {
//!     Ok(()) => {}
//!     // Abort, rewind the input, and go on with a new transaction.
//!     Err(e) if e.class() == ErrorClass::Abortable => p.abort_transaction().await?,
//!     // Fenced by a newer instance, or fatal: this producer is done.
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use kafka_producer::{BrokerError, ErrorClass, ErrorCode, ProducerError};

use crate::state::TransactionState;

/// Why a transactional call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// The call is not allowed in the producer's state (a `send` before
    /// `begin_transaction`, a second `init_transactions`, ...).
    #[error("{operation} is not allowed while the producer is {state}")]
    InvalidState {
        /// The call.
        operation: &'static str,
        /// The state it found.
        state: TransactionState,
    },
    /// A call timed out earlier and is still under way: only the same call
    /// may follow (it waits for the same outcome), as in Java.
    #[error("{operation} is not allowed: an earlier {pending} timed out and must be called again")]
    PendingOperation {
        /// The call.
        operation: &'static str,
        /// The call still under way.
        pending: &'static str,
    },
    /// `max.block.ms` passed before the outcome was known; the call goes on
    /// in the background and may be made again to wait for it.
    #[error("{operation} did not complete within {waited:?}")]
    Timeout {
        /// The call.
        operation: &'static str,
        /// How long it waited.
        waited: Duration,
    },
    /// The transaction failed and must be aborted; the producer goes on.
    #[error("the transaction must be aborted: {0}")]
    Abortable(Arc<ProducerError>),
    /// Another producer with the same `transactional.id` took over (or the
    /// epoch is stale for good): close this producer and build a new one.
    #[error("fenced by a newer producer with the same transactional.id: {0}")]
    Fenced(BrokerError),
    /// The producer cannot go on: close it.
    #[error("the transactional producer cannot go on: {0}")]
    Fatal(Arc<ProducerError>),
    /// A bad argument (offsets without a group, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(Arc<str>),
    /// The producer was closed.
    #[error("the transactional producer is closed")]
    Closed,
}

impl TransactionError {
    /// KIP-1050's class: abort and go on, build a new producer, or stop.
    pub fn class(&self) -> ErrorClass {
        match self {
            TransactionError::InvalidState { .. }
            | TransactionError::PendingOperation { .. }
            | TransactionError::InvalidArgument(_) => ErrorClass::InvalidConfiguration,
            TransactionError::Timeout { .. } => ErrorClass::Retriable,
            TransactionError::Abortable(_) => ErrorClass::Abortable,
            TransactionError::Fenced(_) => ErrorClass::ApplicationRecoverable,
            TransactionError::Fatal(e) => match e.class() {
                ErrorClass::InvalidConfiguration => ErrorClass::InvalidConfiguration,
                _ => ErrorClass::Fatal,
            },
            TransactionError::Closed => ErrorClass::Fatal,
        }
    }

    /// The Kafka error code behind the error, if a broker sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            TransactionError::Fenced(b) => Some(b.code),
            TransactionError::Abortable(e) | TransactionError::Fatal(e) => e.code(),
            _ => None,
        }
    }

    /// The error as a record's refusal, for the producer's interceptors.
    pub(crate) fn as_refusal(&self) -> ProducerError {
        match self {
            TransactionError::Abortable(e) | TransactionError::Fatal(e) => (**e).clone(),
            TransactionError::Fenced(b) => {
                ProducerError::Fatal(kafka_producer::FatalError::Fenced(b.clone()))
            }
            TransactionError::Closed => ProducerError::Closed,
            other => ProducerError::Refused(Arc::from(other.to_string())),
        }
    }

    pub(crate) fn abortable(e: impl Into<ProducerError>) -> Self {
        TransactionError::Abortable(Arc::new(e.into()))
    }

    pub(crate) fn fatal(e: impl Into<ProducerError>) -> Self {
        TransactionError::Fatal(Arc::new(e.into()))
    }
}

impl From<ProducerError> for TransactionError {
    /// A producer error met outside a transaction's bookkeeping (a `send`
    /// refused for buffer space, say), by its class.
    fn from(e: ProducerError) -> Self {
        match e {
            ProducerError::Closed => TransactionError::Closed,
            ProducerError::Fatal(kafka_producer::FatalError::Fenced(b)) => {
                TransactionError::Fenced(b)
            }
            e => match e.class() {
                ErrorClass::Fatal
                | ErrorClass::ApplicationRecoverable
                | ErrorClass::InvalidConfiguration => TransactionError::fatal(e),
                _ => TransactionError::abortable(e),
            },
        }
    }
}
