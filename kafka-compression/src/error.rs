//! The one error type of the crate.

use crate::CompressionType;

/// Everything that can go wrong when choosing, configuring or running a codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompressionError {
    /// A RecordBatch names a codec id that Kafka does not define (5, 6 or 7
    /// in the attributes, or any id above 4).
    #[error(
        "unknown compression codec id {0} (Kafka defines 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)"
    )]
    UnknownCodecId(u8),

    /// A `compression.type` name that is none of `none`, `gzip`, `snappy`,
    /// `lz4`, `zstd`.
    #[error("unknown compression type {0:?} (expected none, gzip, snappy, lz4 or zstd)")]
    UnknownCodecName(String),

    /// A codec was asked for [`CompressionType::None`], which has none.
    #[error("compression type none has no codec: its records are stored uncompressed")]
    NoCodec,

    /// The codec's cargo feature is off in this build.
    #[error(
        "{0} support is not compiled in (enable the \"{0}\" cargo feature of kafka-compression)"
    )]
    CodecNotEnabled(CompressionType),

    /// A compression level outside the range the Java client accepts.
    #[error("{codec} does not support compression level {level} (valid: {valid})")]
    InvalidLevel {
        /// The codec that was configured.
        codec: CompressionType,
        /// The rejected level.
        level: i32,
        /// The accepted levels, in words.
        valid: &'static str,
    },

    /// The decompressed data would be longer than the caller's limit. Nothing
    /// past the limit was allocated, and the output buffer was left as it was.
    #[error("{codec} data decompresses to more than the limit of {limit} bytes")]
    LimitExceeded {
        /// The codec of the input.
        codec: CompressionType,
        /// The limit the caller gave.
        limit: usize,
    },

    /// The input is not valid data of the codec (bad header, checksum
    /// mismatch, truncation, trailing bytes...).
    #[error("corrupt {codec} data: {detail}")]
    Corrupt {
        /// The codec of the input.
        codec: CompressionType,
        /// What the decoder found wrong.
        detail: String,
    },

    /// The codec library failed to compress (for example an input larger
    /// than the format can describe).
    #[error("{codec} compression failed: {detail}")]
    CompressFailed {
        /// The codec that failed.
        codec: CompressionType,
        /// What the library reported.
        detail: String,
    },
}

impl CompressionError {
    /// Shorthand for [`CompressionError::Corrupt`].
    #[cfg_attr(
        not(any(
            feature = "gzip",
            feature = "snappy",
            feature = "lz4",
            feature = "zstd"
        )),
        allow(dead_code)
    )]
    pub(crate) fn corrupt(codec: CompressionType, detail: impl ToString) -> Self {
        Self::Corrupt {
            codec,
            detail: detail.to_string(),
        }
    }

    /// Shorthand for [`CompressionError::CompressFailed`].
    #[cfg_attr(
        not(any(
            feature = "gzip",
            feature = "snappy",
            feature = "lz4",
            feature = "zstd"
        )),
        allow(dead_code)
    )]
    /// `Ok(level)` when `valid_level`, else [`CompressionError::InvalidLevel`].
    #[cfg_attr(
        not(any(
            feature = "gzip",
            feature = "snappy",
            feature = "lz4",
            feature = "zstd"
        )),
        allow(dead_code)
    )] // used by the codecs only
    pub(crate) fn check_level(
        codec: CompressionType,
        level: i32,
        valid_level: bool,
        valid: &'static str,
    ) -> Result<i32, Self> {
        if valid_level {
            Ok(level)
        } else {
            Err(CompressionError::InvalidLevel {
                codec,
                level,
                valid,
            })
        }
    }

    #[cfg_attr(
        not(any(
            feature = "gzip",
            feature = "snappy",
            feature = "lz4",
            feature = "zstd"
        )),
        allow(dead_code)
    )] // used by the codecs only
    pub(crate) fn compress_failed(codec: CompressionType, detail: impl ToString) -> Self {
        Self::CompressFailed {
            codec,
            detail: detail.to_string(),
        }
    }
}
