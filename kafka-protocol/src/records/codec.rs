//! How a batch being read finds its codec.
//!
//! Compression itself is `kafka-compression`'s [`Codec`] trait (the writer
//! takes any `&dyn Codec`); the batch attributes name a [`CompressionType`].

use kafka_compression::{Codec, CompressionType};

/// Finds the codec for a batch being read.
pub trait CodecRegistry {
    /// The codec for `compression`, or `None` when it is not available.
    fn codec(&self, compression: CompressionType) -> Option<&dyn Codec>;
}

/// A registry without codecs: only uncompressed batches can be read.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCompression;

impl CodecRegistry for NoCompression {
    fn codec(&self, _: CompressionType) -> Option<&dyn Codec> {
        None
    }
}
