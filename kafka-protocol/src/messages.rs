//! The traits every generated message implements, and the choice of request
//! and response header version per API.
//!
//! The message types themselves are generated (see [`crate::generated`]).

use std::fmt::Debug;

use bytes::{BufMut, Bytes, BytesMut};

use crate::primitives::PResult;
use crate::ProtocolError;

pub use crate::generated::{ApiKey, RequestKind, ResponseKind};

/// An inclusive range of versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionRange {
    /// Lowest version.
    pub min: i16,
    /// Highest version.
    pub max: i16,
}

impl VersionRange {
    /// Whether `version` lies in the range.
    pub const fn contains(&self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }

    /// The overlap of two ranges, if they overlap.
    pub fn intersect(&self, other: &VersionRange) -> Option<VersionRange> {
        let r = VersionRange {
            min: self.min.max(other.min),
            max: self.max.min(other.max),
        };
        (r.min <= r.max).then_some(r)
    }
}

/// Writes a value at a version. Implemented by every generated struct.
pub trait Encodable {
    /// Writes `self` as `version` into `buf`.
    fn encode<B: BufMut>(&self, buf: &mut B, version: i16) -> Result<(), ProtocolError>;
    /// The number of bytes [`Encodable::encode`] writes at `version`.
    fn encoded_size(&self, version: i16) -> Result<usize, ProtocolError>;
}

/// Reads a value at a version. Implemented by every generated struct.
pub trait Decodable: Sized {
    /// Parses `input`, a slice of `owner`: byte and string payloads come back as
    /// zero-copy slices of `owner`.
    fn decode_from<'a>(input: &'a [u8], owner: &Bytes, version: i16) -> PResult<'a, Self>;
}

/// A top-level message of the schema set (request, response, header or data).
pub trait Message: Encodable + Decodable + Default + Clone + Debug + PartialEq {
    /// Kafka's name of the message, e.g. `ProduceRequest`.
    const NAME: &'static str;
    /// The versions this crate can encode and decode.
    const VERSIONS: VersionRange;
    /// The first flexible version, if any.
    const FIRST_FLEXIBLE_VERSION: Option<i16>;

    /// Whether `version` uses the flexible encodings (compact lengths, tagged fields).
    fn is_flexible(version: i16) -> bool {
        Self::FIRST_FLEXIBLE_VERSION.is_some_and(|f| version >= f)
    }

    /// Decodes a whole message from `buf`; leftover bytes are an error.
    fn decode(buf: &Bytes, version: i16) -> Result<Self, ProtocolError> {
        check_version::<Self>(version)?;
        let _budget = crate::primitives::DecodeBudget::enter(buf.len());
        let (rest, m) = Self::decode_from(buf, buf, version)?;
        if !rest.is_empty() {
            return Err(ProtocolError::TrailingBytes(rest.len()));
        }
        Ok(m)
    }

    /// Encodes after checking that `version` is valid for the message.
    fn encode_checked<B: BufMut>(&self, buf: &mut B, version: i16) -> Result<(), ProtocolError> {
        check_version::<Self>(version)?;
        self.encode(buf, version)
    }

    /// Encodes into a new buffer of exactly the right size.
    fn to_bytes(&self, version: i16) -> Result<Bytes, ProtocolError> {
        check_version::<Self>(version)?;
        let mut b = BytesMut::with_capacity(self.encoded_size(version)?);
        self.encode(&mut b, version)?;
        Ok(b.freeze())
    }
}

fn check_version<M: Message>(version: i16) -> Result<(), ProtocolError> {
    if M::VERSIONS.contains(version) {
        Ok(())
    } else {
        Err(ProtocolError::UnsupportedVersion {
            api: M::NAME,
            version,
        })
    }
}

/// A request body, tied to its API key and response type.
pub trait Request: Message {
    /// The API key.
    const API_KEY: ApiKey;
    /// The response body type.
    type Response: Message;
}

impl ApiKey {
    /// The request header version used with this API at `version`: 2 for
    /// flexible versions, 1 otherwise. (Header v0 served only
    /// ControlledShutdown v0, an API Kafka 4 removed.)
    pub fn request_header_version(self, version: i16) -> i16 {
        if self.first_flexible_version().is_some_and(|f| version >= f) {
            2
        } else {
            1
        }
    }

    /// The response header version used with this API at `version`: 1 for
    /// flexible versions, 0 otherwise. ApiVersions responses always use v0, so
    /// that a client can read the answer of a broker that rejected its version.
    pub fn response_header_version(self, version: i16) -> i16 {
        if self == ApiKey::ApiVersions {
            0
        } else if self.first_flexible_version().is_some_and(|f| version >= f) {
            1
        } else {
            0
        }
    }
}

impl TryFrom<i16> for ApiKey {
    type Error = ProtocolError;
    fn try_from(key: i16) -> Result<Self, ProtocolError> {
        ApiKey::from_i16(key).ok_or(ProtocolError::UnknownApiKey(key))
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl RequestKind {
    /// Whether the broker answers this request: every request but a Produce
    /// with `acks = 0`.
    pub fn expects_response(&self) -> bool {
        !matches!(self, RequestKind::Produce(p) if p.acks == 0)
    }
}

/// So that a [`RequestKind`] goes wherever one message body goes.
impl Encodable for RequestKind {
    fn encode<B: BufMut>(&self, buf: &mut B, version: i16) -> Result<(), ProtocolError> {
        RequestKind::encode(self, buf, version)
    }

    fn encoded_size(&self, version: i16) -> Result<usize, ProtocolError> {
        RequestKind::encoded_size(self, version)
    }
}
