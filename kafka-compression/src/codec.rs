//! The [`Codec`] trait that every compression codec implements.

use std::sync::Arc;

use bytes::BytesMut;

use crate::{CompressionError, CompressionType};

/// A codec a user can implement for their own compression.
///
/// A codec turns the records section of a RecordBatch (bytes 61 to the end)
/// into its compressed form and back. Both directions append to a buffer the
/// caller owns, so a producer or a consumer can reuse one allocation for many
/// batches.
///
/// The built-in codecs ([`BuiltinCodec`](crate::BuiltinCodec) and the
/// per-codec types) leave `out` exactly as they found it when they return an
/// error; implementations of your own should do the same.
pub trait Codec: Send + Sync + std::fmt::Debug {
    /// The id this codec writes into the RecordBatch attributes.
    fn compression_type(&self) -> CompressionType;

    /// Appends the compressed form of `input` to `out` (do not clear `out`).
    ///
    /// # Errors
    /// [`CompressionError::CompressFailed`] when the library cannot compress
    /// the input.
    fn compress(&self, input: &[u8], out: &mut BytesMut) -> Result<(), CompressionError>;

    /// Appends the decompressed form of `input` to `out`; fails with
    /// [`CompressionError::LimitExceeded`] once the output would grow past
    /// `limit` bytes, WITHOUT allocating past the limit first.
    ///
    /// `limit` counts the bytes this call appends, not what `out` already
    /// holds.
    ///
    /// # Errors
    /// [`CompressionError::LimitExceeded`] as above and
    /// [`CompressionError::Corrupt`] for input that is not valid data of the
    /// codec.
    fn decompress(
        &self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), CompressionError>;
}

macro_rules! forward_codec {
    ($($wrapper:ty),*) => {$(
        impl<C: Codec + ?Sized> Codec for $wrapper {
            fn compression_type(&self) -> CompressionType {
                (**self).compression_type()
            }

            fn compress(&self, input: &[u8], out: &mut BytesMut) -> Result<(), CompressionError> {
                (**self).compress(input, out)
            }

            fn decompress(
                &self,
                input: &[u8],
                out: &mut BytesMut,
                limit: usize,
            ) -> Result<(), CompressionError> {
                (**self).decompress(input, out, limit)
            }
        }
    )*};
}

// So that `&dyn Codec`, `Box<dyn Codec>` and `Arc<dyn Codec>` are codecs too.
forward_codec!(&C, Box<C>, Arc<C>);
