//! The one error type of the transport layer.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, VersionRange};
use kafka_protocol::{ErrorCode, ProtocolError};

/// What can go wrong on a connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A socket error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The connection was not established in time.
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The address.
        addr: String,
        /// The timeout.
        timeout: Duration,
    },
    /// No response came within the request timeout.
    #[error("{api} v{version} request timed out after {timeout:?}")]
    RequestTimeout {
        /// The API.
        api: ApiKey,
        /// Its version.
        version: i16,
        /// The timeout.
        timeout: Duration,
    },
    /// The connection is closed (or failed); the reason says why.
    #[error("connection closed: {0}")]
    Disconnected(Arc<str>),
    /// A frame's size prefix exceeds the configured maximum.
    #[error("frame of {size} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Size announced by the prefix.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A frame's size prefix is negative.
    #[error("negative frame size {0}")]
    NegativeFrameSize(i32),
    /// Bytes on the wire could not be encoded or decoded.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// We and the broker share no version of an API.
    #[error("no common version of {api}: ours {ours:?}, broker's {broker:?}")]
    NoCommonVersion {
        /// The API.
        api: ApiKey,
        /// The versions this client speaks.
        ours: VersionRange,
        /// The versions the broker speaks, `None` when it does not offer the API.
        broker: Option<VersionRange>,
    },
    /// The broker answered ApiVersions with an error.
    #[error("ApiVersions failed with {0}")]
    ApiVersions(ErrorCode),
}

impl CodecError {
    /// Whether a retry on a new connection may succeed (socket errors and
    /// timeouts), as opposed to errors that will repeat.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            CodecError::Io(_)
                | CodecError::ConnectTimeout { .. }
                | CodecError::RequestTimeout { .. }
                | CodecError::Disconnected(_)
        )
    }
}
