//! The interface between record batches and compression codecs.
//!
//! This crate does no compression itself; `kafka-compression` implements
//! [`RecordsCodec`] (enable this crate's `compression` feature for the glue).

use bytes::BytesMut;

use crate::ProtocolError;

/// The codec id of bits 0-2 of a batch's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Compression {
    /// No compression.
    #[default]
    None = 0,
    /// gzip.
    Gzip = 1,
    /// snappy.
    Snappy = 2,
    /// LZ4 frames.
    Lz4 = 3,
    /// zstd (Produce v7 and later).
    Zstd = 4,
}

impl Compression {
    /// The codec with this attribute id.
    pub fn from_id(id: u8) -> Result<Compression, ProtocolError> {
        Ok(match id {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => return Err(ProtocolError::UnknownCompression(other)),
        })
    }

    /// The codec named by a batch's attributes.
    pub fn from_attributes(attributes: i16) -> Result<Compression, ProtocolError> {
        Compression::from_id((attributes & super::attributes::COMPRESSION_MASK) as u8)
    }

    /// The attribute id.
    pub fn id(self) -> u8 {
        self as u8
    }
}

/// Compresses and decompresses the records section of a batch.
pub trait RecordsCodec {
    /// The codec id written into the batch attributes.
    fn compression(&self) -> Compression;
    /// Appends the compressed form of `records` to `out`.
    fn compress(&self, records: &[u8], out: &mut BytesMut) -> Result<(), ProtocolError>;
    /// Appends the decompressed form of `compressed` to `out`, failing once
    /// more than `limit` bytes would come out (a decompression bomb must not
    /// exhaust memory).
    fn decompress(
        &self,
        compressed: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ProtocolError>;
}

/// Finds the codec for a batch being read.
pub trait CodecRegistry {
    /// The codec for `compression`, or `None` when it is not available.
    fn codec(&self, compression: Compression) -> Option<&dyn RecordsCodec>;
}

/// A registry without codecs: only uncompressed batches can be read.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCompression;

impl CodecRegistry for NoCompression {
    fn codec(&self, _: Compression) -> Option<&dyn RecordsCodec> {
        None
    }
}
