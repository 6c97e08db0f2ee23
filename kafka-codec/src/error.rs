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
    /// The TLS handshake failed.
    #[error("TLS with {peer} failed: {reason}")]
    Tls {
        /// The broker's address.
        peer: String,
        /// Which side refused what.
        failure: TlsFailure,
        /// What rustls or the socket said, and what to check.
        reason: String,
    },
    /// SASL authentication failed: the broker refused the credentials or
    /// the mechanism, or the broker could not prove it knows the password
    /// (SCRAM's server signature).
    #[error("SASL {mechanism} authentication with {peer} failed: {reason}")]
    Authentication {
        /// The broker's address.
        peer: String,
        /// `sasl.mechanism`.
        mechanism: &'static str,
        /// The broker's message, or what the client found wrong.
        reason: String,
    },
    /// The security settings cannot be used (a PEM file missing or not
    /// parsing, a combination that does not fit, a feature not built).
    #[error("security settings: {0}")]
    SecurityConfig(String),
    /// The OAUTHBEARER token provider had no token.
    #[error("no OAUTHBEARER token: {0}")]
    TokenProvider(String),
}

/// Why a TLS handshake failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The broker's certificate does not chain to a trusted root (or is
    /// expired, or badly signed).
    UntrustedCertificate,
    /// The certificate is good but names another host.
    HostnameMismatch,
    /// The broker refused our client certificate, or wanted one.
    CertificateRejected,
    /// The broker closed the connection during the handshake: a listener
    /// without TLS, or a broker turning connections away.
    Closed,
    /// Any other handshake failure (no common protocol version or cipher,
    /// bytes that are not TLS).
    Handshake,
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
                | CodecError::Tls {
                    failure: TlsFailure::Closed,
                    ..
                }
                | CodecError::TokenProvider(_)
        )
    }

    /// Whether this is the broker or the client refusing who the other
    /// is: rejected credentials, an untrusted, mismatched or refused
    /// certificate, unusable security settings. Retrying repeats it, so a
    /// client reports it rather than reconnecting in a loop.
    pub fn is_authentication_failure(&self) -> bool {
        match self {
            CodecError::Authentication { .. } | CodecError::SecurityConfig(_) => true,
            CodecError::Tls { failure, .. } => *failure != TlsFailure::Closed,
            _ => false,
        }
    }
}
