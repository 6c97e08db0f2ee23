//! zstd (codec id 4): zstd frames, as zstd-jni's `ZstdOutputStream` writes
//! them for the Java client. Brokers accept it from Produce v7 on.

use ::zstd::bulk::Compressor;
use ::zstd::stream::read::Decoder;
use ::zstd::zstd_safe;
use bytes::BytesMut;

use crate::bounded::{initial_size, read_bounded};
use crate::{Codec, CompressionError, CompressionType};

/// The zstd codec, backed by the `zstd` crate (the reference C library).
///
/// Decompression streams, so frames without a content size (what Java
/// writes) are read; the decoder's window is capped at 2^27 bytes, zstd's
/// and zstd-jni's default, which bounds its own memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zstd {
    level: i32,
}

impl Zstd {
    /// zstd's fastest negative level, `ZSTD_minCLevel()`.
    pub const MIN_LEVEL: i32 = -131_072;
    /// `ZSTD_maxCLevel()`.
    pub const MAX_LEVEL: i32 = 22;
    /// Java's default level, `ZSTD_CLEVEL_DEFAULT`.
    pub const DEFAULT_LEVEL: i32 = 3;

    /// A zstd codec with a Java `compression.zstd.level`
    /// (-131072 to 22; 0 means zstd's default, 3).
    ///
    /// # Errors
    /// [`CompressionError::InvalidLevel`] outside that range.
    pub fn new(level: i32) -> Result<Self, CompressionError> {
        let valid_level = (Self::MIN_LEVEL..=Self::MAX_LEVEL).contains(&level);
        let level = CompressionError::check_level(
            CompressionType::Zstd,
            level,
            valid_level,
            "-131072 to 22",
        )?;
        Ok(Self { level })
    }

    /// The configured level.
    pub fn level(&self) -> i32 {
        self.level
    }
}

impl Default for Zstd {
    /// Java's default level, 3.
    fn default() -> Self {
        Self {
            level: Self::DEFAULT_LEVEL,
        }
    }
}

impl Codec for Zstd {
    fn compression_type(&self) -> CompressionType {
        CompressionType::Zstd
    }

    fn compress(&self, input: &[u8], out: &mut BytesMut) -> Result<(), CompressionError> {
        let failed = |e| CompressionError::compress_failed(CompressionType::Zstd, e);
        let mut compressor = Compressor::new(self.level).map_err(failed)?;
        let start = out.len();
        out.resize(start + zstd_safe::compress_bound(input.len()), 0);
        match compressor.compress_to_buffer(input, &mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(failed(e))
            }
        }
    }

    fn decompress(
        &self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), CompressionError> {
        let corrupt = |e| CompressionError::corrupt(CompressionType::Zstd, e);
        if input.is_empty() {
            return Err(corrupt("empty input is not a zstd frame".into()));
        }
        // The first frame's content size, when its writer knew it; zstd-jni's
        // streams leave it out.
        let declared = zstd_safe::get_frame_content_size(input).ok().flatten();
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(CompressionError::LimitExceeded {
                codec: CompressionType::Zstd,
                limit,
            });
        }
        let decoder = Decoder::with_buffer(input).map_err(|e| corrupt(e.to_string()))?;
        read_bounded(
            CompressionType::Zstd,
            decoder,
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
    fn level_range_is_the_librarys() {
        assert_eq!(Zstd::MIN_LEVEL, zstd_safe::min_c_level());
        assert_eq!(Zstd::MAX_LEVEL, zstd_safe::max_c_level());
        for ok in [Zstd::MIN_LEVEL, -1, 0, 3, 22] {
            assert_eq!(Zstd::new(ok).unwrap().level(), ok);
        }
        for bad in [Zstd::MIN_LEVEL - 1, 23, i32::MIN, i32::MAX] {
            assert!(matches!(
                Zstd::new(bad),
                Err(CompressionError::InvalidLevel {
                    codec: CompressionType::Zstd,
                    ..
                })
            ));
        }
        assert_eq!(Zstd::default().level(), 3);
    }

    /// A frame without a content size, as a streaming writer (zstd-jni) makes.
    fn streamed(data: &[u8]) -> Vec<u8> {
        let mut encoder = ::zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        std::io::Write::write_all(&mut encoder, data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn reads_frames_without_content_size_and_concatenated_frames() {
        let data = b"zstd without a declared size ".repeat(500);
        let frame = streamed(&data);
        assert!(matches!(
            zstd_safe::get_frame_content_size(&frame),
            Ok(None)
        ));
        let mut out = BytesMut::new();
        Zstd::default()
            .decompress(&frame, &mut out, data.len())
            .unwrap();
        assert_eq!(&out[..], &data[..]);

        let mut two = frame.clone();
        let mut second = BytesMut::new();
        Zstd::default()
            .compress(b"and a second frame", &mut second)
            .unwrap();
        two.extend_from_slice(&second);
        let mut out = BytesMut::new();
        Zstd::default()
            .decompress(&two, &mut out, usize::MAX)
            .unwrap();
        assert_eq!(&out[..], [&data[..], b"and a second frame"].concat());
    }

    #[test]
    fn limit_applies_with_and_without_a_declared_size() {
        let data = vec![1u8; 100_000];
        let mut sized = BytesMut::new();
        Zstd::default().compress(&data, &mut sized).unwrap();
        for frame in [&sized[..], &streamed(&data)[..]] {
            let mut out = BytesMut::from(&b"pre"[..]);
            assert_eq!(
                Zstd::default()
                    .decompress(frame, &mut out, 99_999)
                    .unwrap_err(),
                CompressionError::LimitExceeded {
                    codec: CompressionType::Zstd,
                    limit: 99_999
                }
            );
            assert_eq!(&out[..], b"pre");
            Zstd::default()
                .decompress(frame, &mut out, 100_000)
                .unwrap();
            assert_eq!(out.len(), 100_003);
        }
    }

    #[test]
    fn truncated_and_garbage_input_is_corrupt() {
        let mut frame = BytesMut::new();
        Zstd::default()
            .compress(&b"some bytes to compress ".repeat(40), &mut frame)
            .unwrap();
        let garbage = [&frame[..], b"garbage"].concat();
        for bad in [
            &frame[..frame.len() - 1],
            &frame[..5],
            b"not zstd at all",
            &garbage[..],
            &[][..],
        ] {
            let mut out = BytesMut::new();
            let err = Zstd::default()
                .decompress(bad, &mut out, 1 << 20)
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    CompressionError::Corrupt {
                        codec: CompressionType::Zstd,
                        ..
                    }
                ),
                "{err}"
            );
            assert!(out.is_empty());
        }
    }
}
