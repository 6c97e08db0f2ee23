//! The one error type of this crate.

/// Everything that can go wrong while reading or writing Kafka's wire format.
///
/// Bytes from the network never cause a panic: truncated, oversized or
/// malformed input comes back as one of these variants.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The input ended before the value being read was complete.
    #[error("input ended before the end of a value")]
    Truncated,
    /// A varint used more bytes than its type allows.
    #[error("varint longer than {max_bytes} bytes")]
    VarintTooLong {
        /// The most bytes a varint of this width may use.
        max_bytes: usize,
    },
    /// A length or count was negative where only null (-1) or a size is allowed.
    #[error("invalid length {len} for {what}")]
    InvalidLength {
        /// What the length described.
        what: &'static str,
        /// The length read.
        len: i64,
    },
    /// A length or count claims more bytes than the input holds.
    #[error("{what} claims {len} bytes/elements but only {remaining} bytes remain")]
    LengthExceedsInput {
        /// What the length described.
        what: &'static str,
        /// The length read.
        len: usize,
        /// The bytes left in the input.
        remaining: usize,
    },
    /// A string was not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A null was read or written where the field is not nullable in this version.
    #[error("null value for non-nullable field {field} at version {version}")]
    UnexpectedNull {
        /// The field.
        field: &'static str,
        /// The message version.
        version: i16,
    },
    /// A field that does not exist in this version holds a non-default value
    /// that cannot be ignored (Java raises UnsupportedVersionException here).
    #[error("field {field} has a non-default value but does not exist in version {version}")]
    FieldNotInVersion {
        /// The field.
        field: &'static str,
        /// The message version.
        version: i16,
    },
    /// A value is too long for its length prefix.
    #[error("{what} of {len} is too long for its length prefix")]
    TooLong {
        /// What was being written.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// Bytes were left over after a complete message.
    #[error("{0} bytes left over after the message")]
    TrailingBytes(usize),
    /// Decoding would allocate more than the budget allowed for an input of
    /// this size (a hostile message of tiny elements).
    #[error("decoding a {input}-byte message would allocate over {budget} bytes")]
    AllocationBudget {
        /// The input's length.
        input: usize,
        /// What its decoding may allocate.
        budget: usize,
    },
    /// An API key this crate does not know.
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    /// A version outside the valid range of a message.
    #[error("{api} has no version {version}")]
    UnsupportedVersion {
        /// The message or API name.
        api: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A record batch's CRC-32C does not match its contents.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC stored in the batch header.
        stored: u32,
        /// CRC computed over the batch.
        computed: u32,
    },
    /// A record batch with a magic byte other than 2.
    #[error("unsupported record batch magic {0} (only v2 is supported)")]
    UnsupportedMagic(i8),
    /// A record batch or record whose framing is inconsistent.
    #[error("malformed record batch: {0}")]
    MalformedBatch(&'static str),
    /// The compression codec id in a batch's attributes is unknown or not available.
    #[error("compression codec {0} is unknown or not available")]
    UnknownCompression(u8),
    /// A compression codec failed (or its output would pass the limit).
    #[error("compression codec failed: {0}")]
    Compression(#[from] kafka_compression::CompressionError),
    /// Any other parse failure reported by nom.
    #[error("malformed input ({0:?})")]
    Parse(nom::error::ErrorKind),
}

impl<'a> nom::error::ParseError<&'a [u8]> for ProtocolError {
    fn from_error_kind(_input: &'a [u8], kind: nom::error::ErrorKind) -> Self {
        match kind {
            nom::error::ErrorKind::Eof | nom::error::ErrorKind::Complete => {
                ProtocolError::Truncated
            }
            other => ProtocolError::Parse(other),
        }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

impl From<nom::Err<ProtocolError>> for ProtocolError {
    fn from(e: nom::Err<ProtocolError>) -> Self {
        match e {
            nom::Err::Incomplete(_) => ProtocolError::Truncated,
            nom::Err::Error(e) | nom::Err::Failure(e) => e,
        }
    }
}

/// Lets `?` turn a plain error into a nom error inside parsers.
impl From<ProtocolError> for nom::Err<ProtocolError> {
    fn from(e: ProtocolError) -> Self {
        nom::Err::Failure(e)
    }
}
