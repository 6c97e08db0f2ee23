//! Kafka's record batch compression codecs: gzip, snappy, lz4 and zstd, with
//! the exact framing the Java client writes and reads, and bounded
//! decompression.
//!
//! A RecordBatch names its codec in bits 0-2 of its attributes
//! ([`CompressionType`]); when a codec is set, the records section (bytes 61
//! to the end of the batch) is compressed as one blob. This crate turns that
//! blob into its compressed form and back. It knows nothing else of the wire
//! format.
//!
//! | codec | id | writes | reads |
//! |---|---|---|---|
//! | [`Gzip`] | 1 | one gzip stream | gzip, concatenated members too |
//! | [`Snappy`] | 2 | one raw snappy block | a raw block, or the xerial framing Java writes |
//! | [`Lz4`] | 3 | one LZ4 frame as Java writes it (64 KiB independent blocks, no checksums, no content size) | any valid LZ4 frame |
//! | [`Zstd`] | 4 | one zstd frame | zstd frames, with or without a content size |
//!
//! Every codec appends to a [`bytes::BytesMut`] the caller owns, so one
//! buffer serves many batches. Decompression takes a limit and fails with
//! [`CompressionError::LimitExceeded`] before the output grows past it, so a
//! small batch that inflates to gigabytes costs no more memory than the
//! limit. Corrupt input is an error, never a panic.
//!
//! Each codec sits behind a cargo feature of the same name (`gzip`,
//! `snappy`, `lz4`, `zstd`), all on by default.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use kafka_compression::{BuiltinCodec, Codec, CompressionError, CompressionType};
//!
//! # #[cfg(all(feature = "lz4", feature = "zstd"))]
//! # fn main() -> Result<(), CompressionError> {
//! // The codec a RecordBatch asks for, from its attributes (here: lz4).
//! let attributes: i16 = 0b0000_0011;
//! let codec = BuiltinCodec::new(CompressionType::from_attributes(attributes)?, None)?;
//!
//! let records = b"a records section, as kafka-protocol encodes it".repeat(20);
//! let mut compressed = BytesMut::new();
//! codec.compress(&records, &mut compressed)?;
//! assert!(compressed.len() < records.len());
//!
//! // Decompress with a limit: more than 1 MiB of output is an error.
//! let mut decompressed = BytesMut::new();
//! codec.decompress(&compressed, &mut decompressed, 1 << 20)?;
//! assert_eq!(&decompressed[..], &records[..]);
//!
//! // A limit that is too small fails and leaves the output as it was.
//! let err = codec.decompress(&compressed, &mut BytesMut::new(), 100).unwrap_err();
//! assert!(matches!(err, CompressionError::LimitExceeded { limit: 100, .. }));
//!
//! // Levels are Java's: `compression.zstd.level` accepts -131072..=22.
//! assert!(BuiltinCodec::new(CompressionType::Zstd, Some(23)).is_err());
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "lz4", feature = "zstd")))]
//! # fn main() {}
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(
    feature = "gzip",
    feature = "snappy",
    feature = "lz4",
    feature = "zstd"
))]
mod bounded;
mod builtin;
mod codec;
mod codecs;
mod compression_type;
mod error;

pub use builtin::BuiltinCodec;
pub use codec::Codec;
#[cfg(feature = "gzip")]
pub use codecs::gzip::Gzip;
#[cfg(feature = "lz4")]
pub use codecs::lz4::Lz4;
#[cfg(feature = "snappy")]
pub use codecs::snappy::Snappy;
#[cfg(feature = "zstd")]
pub use codecs::zstd::Zstd;
pub use compression_type::CompressionType;
pub use error::CompressionError;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
