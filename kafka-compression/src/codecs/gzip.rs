//! gzip (codec id 1): one gzip stream, as `java.util.zip.GZIPOutputStream`
//! writes it. Reading accepts several concatenated members, as
//! `GZIPInputStream` does.

use std::io::Write;

use bytes::{BufMut, BytesMut};
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::bounded::{initial_size, read_bounded};
use crate::{Codec, CompressionError, CompressionType};

/// The gzip codec, backed by flate2 with its `zlib-rs` backend (pure Rust).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gzip {
    level: i32,
}

impl Gzip {
    /// Fastest level (`Deflater.BEST_SPEED`).
    pub const MIN_LEVEL: i32 = 1;
    /// Smallest output (`Deflater.BEST_COMPRESSION`).
    pub const MAX_LEVEL: i32 = 9;
    /// Java's default, `Deflater.DEFAULT_COMPRESSION`: zlib's default level (6).
    pub const DEFAULT_LEVEL: i32 = -1;

    /// A gzip codec with a Java `compression.gzip.level`: 1 to 9, or -1 for
    /// zlib's default.
    ///
    /// # Errors
    /// [`CompressionError::InvalidLevel`] for any other level (0 included, as
    /// in Java).
    pub fn new(level: i32) -> Result<Self, CompressionError> {
        let valid_level =
            level == Self::DEFAULT_LEVEL || (Self::MIN_LEVEL..=Self::MAX_LEVEL).contains(&level);
        let level = CompressionError::check_level(
            CompressionType::Gzip,
            level,
            valid_level,
            "1 to 9, or -1 for the default",
        )?;
        Ok(Self { level })
    }

    /// The configured level, as given to [`Gzip::new`].
    pub fn level(&self) -> i32 {
        self.level
    }

    fn flate2_level(&self) -> flate2::Compression {
        match u32::try_from(self.level) {
            Ok(level) => flate2::Compression::new(level),
            // -1: zlib's Z_DEFAULT_COMPRESSION, which is level 6.
            Err(_) => flate2::Compression::default(),
        }
    }
}

impl Default for Gzip {
    /// Java's default level (-1, zlib's default).
    fn default() -> Self {
        Self {
            level: Self::DEFAULT_LEVEL,
        }
    }
}

impl Codec for Gzip {
    fn compression_type(&self) -> CompressionType {
        CompressionType::Gzip
    }

    fn compress(&self, input: &[u8], out: &mut BytesMut) -> Result<(), CompressionError> {
        let start = out.len();
        let mut encoder = GzEncoder::new((&mut *out).writer(), self.flate2_level());
        let result = encoder.write_all(input).and_then(|()| encoder.try_finish());
        drop(encoder);
        result.map_err(|e| {
            out.truncate(start);
            CompressionError::compress_failed(CompressionType::Gzip, e)
        })
    }

    fn decompress(
        &self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), CompressionError> {
        if input.is_empty() {
            return Err(CompressionError::corrupt(
                CompressionType::Gzip,
                "empty input is not a gzip stream",
            ));
        }
        // The trailer's ISIZE is the length (mod 2^32) of the last member,
        // which is the whole output for the usual single-member stream.
        let declared = input.len().checked_sub(4).map(|at| {
            u64::from(u32::from_le_bytes([
                input[at],
                input[at + 1],
                input[at + 2],
                input[at + 3],
            ]))
        });
        read_bounded(
            CompressionType::Gzip,
            MultiGzDecoder::new(input),
            out,
            limit,
            initial_size(input.len(), declared, limit),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_java() {
        for ok in [-1, 1, 5, 9] {
            assert_eq!(Gzip::new(ok).unwrap().level(), ok);
        }
        for bad in [0, -2, 10, i32::MIN, i32::MAX] {
            assert!(
                matches!(Gzip::new(bad), Err(CompressionError::InvalidLevel { codec: CompressionType::Gzip, level, .. }) if level == bad),
                "level {bad}"
            );
        }
        assert_eq!(Gzip::default().level(), -1);
        assert_eq!(Gzip::default().flate2_level(), flate2::Compression::new(6));
    }

    #[test]
    fn output_is_a_plain_gzip_stream() {
        let mut out = BytesMut::new();
        Gzip::default().compress(b"hello", &mut out).unwrap();
        // ID1 ID2 CM=deflate
        assert_eq!(&out[..3], &[0x1f, 0x8b, 8]);
        // ISIZE
        assert_eq!(&out[out.len() - 4..], &5u32.to_le_bytes());
    }

    #[test]
    fn concatenated_members_are_read_like_java() {
        let mut out = BytesMut::new();
        Gzip::default().compress(b"first ", &mut out).unwrap();
        Gzip::new(1).unwrap().compress(b"second", &mut out).unwrap();
        let mut plain = BytesMut::new();
        Gzip::default().decompress(&out, &mut plain, 100).unwrap();
        assert_eq!(&plain[..], b"first second");
    }

    #[test]
    fn trailing_garbage_and_truncation_are_errors() {
        let mut out = BytesMut::new();
        Gzip::default().compress(&[7u8; 1000], &mut out).unwrap();
        let mut with_garbage = out.to_vec();
        with_garbage.extend_from_slice(b"junk after the member");
        let mut plain = BytesMut::from(&b"keep"[..]);
        for bad in [&with_garbage[..], &out[..out.len() - 1], &out[..10]] {
            let err = Gzip::default()
                .decompress(bad, &mut plain, 1 << 20)
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    CompressionError::Corrupt {
                        codec: CompressionType::Gzip,
                        ..
                    }
                ),
                "{err}"
            );
            assert_eq!(&plain[..], b"keep");
        }
    }
}
