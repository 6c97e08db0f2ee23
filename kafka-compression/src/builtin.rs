//! [`BuiltinCodec`]: the codecs of this crate, chosen at run time.

use bytes::BytesMut;

#[cfg(feature = "gzip")]
use crate::Gzip;
#[cfg(feature = "lz4")]
use crate::Lz4;
#[cfg(feature = "snappy")]
use crate::Snappy;
#[cfg(feature = "zstd")]
use crate::Zstd;
use crate::{Codec, CompressionError, CompressionType};

/// A built-in codec chosen at run time (enum dispatch, no `Box` needed).
///
/// Each variant exists when its cargo feature is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinCodec {
    /// gzip, see [`Gzip`].
    #[cfg(feature = "gzip")]
    Gzip(Gzip),
    /// snappy, see [`Snappy`].
    #[cfg(feature = "snappy")]
    Snappy(Snappy),
    /// lz4 frames, see [`Lz4`].
    #[cfg(feature = "lz4")]
    Lz4(Lz4),
    /// zstd, see [`Zstd`].
    #[cfg(feature = "zstd")]
    Zstd(Zstd),
}

impl BuiltinCodec {
    /// The codec for `compression_type` at `level` (`None`: Java's default
    /// level of that codec). Snappy has no levels and ignores `level`.
    ///
    /// # Errors
    /// - [`CompressionError::NoCodec`] for [`CompressionType::None`];
    /// - [`CompressionError::CodecNotEnabled`] when the codec's cargo feature
    ///   is off;
    /// - [`CompressionError::InvalidLevel`] for a level Java would refuse.
    pub fn new(
        compression_type: CompressionType,
        level: Option<i32>,
    ) -> Result<Self, CompressionError> {
        match compression_type {
            CompressionType::None => Err(CompressionError::NoCodec),
            #[cfg(feature = "gzip")]
            CompressionType::Gzip => Ok(Self::Gzip(level.map_or(Ok(Gzip::default()), Gzip::new)?)),
            #[cfg(feature = "snappy")]
            CompressionType::Snappy => Ok(Self::Snappy(Snappy)),
            #[cfg(feature = "lz4")]
            CompressionType::Lz4 => Ok(Self::Lz4(level.map_or(Ok(Lz4::default()), Lz4::new)?)),
            #[cfg(feature = "zstd")]
            CompressionType::Zstd => Ok(Self::Zstd(level.map_or(Ok(Zstd::default()), Zstd::new)?)),
            #[allow(unreachable_patterns)]
            other => {
                let _ = level;
                Err(CompressionError::CodecNotEnabled(other))
            }
        }
    }

    /// The configured level; `None` for snappy, which has none.
    pub fn level(&self) -> Option<i32> {
        match *self {
            #[cfg(feature = "gzip")]
            Self::Gzip(ref c) => Some(c.level()),
            #[cfg(feature = "snappy")]
            Self::Snappy(_) => None,
            #[cfg(feature = "lz4")]
            Self::Lz4(ref c) => Some(c.level()),
            #[cfg(feature = "zstd")]
            Self::Zstd(ref c) => Some(c.level()),
        }
    }

    fn as_codec(&self) -> &dyn Codec {
        match *self {
            #[cfg(feature = "gzip")]
            Self::Gzip(ref c) => c,
            #[cfg(feature = "snappy")]
            Self::Snappy(ref c) => c,
            #[cfg(feature = "lz4")]
            Self::Lz4(ref c) => c,
            #[cfg(feature = "zstd")]
            Self::Zstd(ref c) => c,
        }
    }
}

// With every codec feature off the enum is empty and the arguments go unused.
#[cfg_attr(
    not(any(
        feature = "gzip",
        feature = "snappy",
        feature = "lz4",
        feature = "zstd"
    )),
    allow(unused_variables)
)]
impl Codec for BuiltinCodec {
    fn compression_type(&self) -> CompressionType {
        self.as_codec().compression_type()
    }

    #[inline]
    fn compress(&self, input: &[u8], out: &mut BytesMut) -> Result<(), CompressionError> {
        match *self {
            #[cfg(feature = "gzip")]
            Self::Gzip(ref c) => c.compress(input, out),
            #[cfg(feature = "snappy")]
            Self::Snappy(ref c) => c.compress(input, out),
            #[cfg(feature = "lz4")]
            Self::Lz4(ref c) => c.compress(input, out),
            #[cfg(feature = "zstd")]
            Self::Zstd(ref c) => c.compress(input, out),
        }
    }

    #[inline]
    fn decompress(
        &self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), CompressionError> {
        match *self {
            #[cfg(feature = "gzip")]
            Self::Gzip(ref c) => c.decompress(input, out, limit),
            #[cfg(feature = "snappy")]
            Self::Snappy(ref c) => c.decompress(input, out, limit),
            #[cfg(feature = "lz4")]
            Self::Lz4(ref c) => c.decompress(input, out, limit),
            #[cfg(feature = "zstd")]
            Self::Zstd(ref c) => c.decompress(input, out, limit),
        }
    }
}

macro_rules! from_codec {
    ($($feature:literal $variant:ident),*) => {$(
        #[cfg(feature = $feature)]
        impl From<$variant> for BuiltinCodec {
            fn from(codec: $variant) -> Self {
                Self::$variant(codec)
            }
        }
    )*};
}

from_codec!("gzip" Gzip, "snappy" Snappy, "lz4" Lz4, "zstd" Zstd);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_has_no_codec() {
        assert_eq!(
            BuiltinCodec::new(CompressionType::None, None),
            Err(CompressionError::NoCodec)
        );
    }

    #[cfg(all(
        feature = "gzip",
        feature = "snappy",
        feature = "lz4",
        feature = "zstd"
    ))]
    #[test]
    fn new_uses_java_defaults_and_checks_levels() {
        let defaults: Vec<_> = CompressionType::ALL[1..]
            .iter()
            .map(|&t| BuiltinCodec::new(t, None).unwrap())
            .collect();
        assert_eq!(
            defaults.iter().map(BuiltinCodec::level).collect::<Vec<_>>(),
            [Some(-1), None, Some(9), Some(3)]
        );
        for (codec, t) in defaults.iter().zip(&CompressionType::ALL[1..]) {
            assert_eq!(codec.compression_type(), *t);
        }
        assert_eq!(
            BuiltinCodec::new(CompressionType::Snappy, Some(99)).unwrap(),
            BuiltinCodec::Snappy(Snappy)
        );
        assert!(matches!(
            BuiltinCodec::new(CompressionType::Gzip, Some(0)),
            Err(CompressionError::InvalidLevel {
                codec: CompressionType::Gzip,
                level: 0,
                ..
            })
        ));
        assert!(BuiltinCodec::new(CompressionType::Lz4, Some(18)).is_err());
        assert!(BuiltinCodec::new(CompressionType::Zstd, Some(23)).is_err());
        assert_eq!(BuiltinCodec::from(Zstd::new(-7).unwrap()).level(), Some(-7));
    }
}
