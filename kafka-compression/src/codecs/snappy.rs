//! snappy (codec id 2).
//!
//! Writes one raw snappy block, as librdkafka and franz-go do. Reads both a
//! raw block and the xerial framing that the Java client writes: the magic
//! `82 53 4E 41 50 50 59 00`, an int32 version, an int32 minimum compatible
//! version, then chunks of `int32 BE length + raw snappy block`.

use bytes::BytesMut;
use snap::raw::{decompress_len, max_compress_len, Decoder, Encoder};

use crate::bounded::resize_within;
use crate::{Codec, CompressionError, CompressionType};

/// The first 8 bytes of a stream written by snappy-java's `SnappyOutputStream`.
pub(crate) const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// Magic, version and minimum compatible version.
const XERIAL_HEADER_LEN: usize = 16;

/// A snappy block cannot expand by more than 64 bytes per 3-byte copy
/// element; anything declaring more is rejected before allocating.
const MAX_EXPANSION: usize = 32;

/// The snappy codec, backed by the `snap` crate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Snappy;

impl Snappy {
    /// The snappy codec (it has no levels).
    pub const fn new() -> Self {
        Self
    }
}

impl Codec for Snappy {
    fn compression_type(&self) -> CompressionType {
        CompressionType::Snappy
    }

    fn compress(&self, input: &[u8], out: &mut BytesMut) -> Result<(), CompressionError> {
        let bound = max_compress_len(input.len());
        if bound == 0 {
            return Err(CompressionError::compress_failed(
                CompressionType::Snappy,
                format!(
                    "{} bytes is more than one snappy block can hold",
                    input.len()
                ),
            ));
        }
        let start = out.len();
        out.resize(start + bound, 0);
        match Encoder::new().compress(input, &mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(CompressionError::compress_failed(
                    CompressionType::Snappy,
                    e,
                ))
            }
        }
    }

    fn decompress(
        &self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), CompressionError> {
        let start = out.len();
        let result = if input.is_empty() {
            Err(corrupt("empty input is not a snappy block"))
        } else if input.starts_with(&XERIAL_MAGIC) {
            decompress_xerial(input, out, limit)
        } else {
            decompress_block(&mut Decoder::new(), input, out, limit).map(drop)
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

fn corrupt(detail: impl ToString) -> CompressionError {
    CompressionError::corrupt(CompressionType::Snappy, detail)
}

/// Appends one raw block to `out`, checking the length it declares against
/// `room` before allocating. Returns the number of bytes appended.
fn decompress_block(
    decoder: &mut Decoder,
    block: &[u8],
    out: &mut BytesMut,
    room: usize,
) -> Result<usize, CompressionError> {
    if block.is_empty() {
        return Err(corrupt("empty snappy block"));
    }
    let len = decompress_len(block).map_err(corrupt)?;
    if len > room {
        return Err(CompressionError::LimitExceeded {
            codec: CompressionType::Snappy,
            limit: room,
        });
    }
    if len > block.len().saturating_mul(MAX_EXPANSION) {
        return Err(corrupt(format!(
            "a {}-byte block declares {len} bytes, more than snappy can encode in it",
            block.len()
        )));
    }
    let at = out.len();
    resize_within(out, at + len, at.saturating_add(room));
    let n = decoder.decompress(block, &mut out[at..]).map_err(corrupt)?;
    if n != len {
        return Err(corrupt(format!("block declares {len} bytes but holds {n}")));
    }
    Ok(n)
}

fn read_be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks the xerial header at the start of `input`.
fn check_xerial_header(input: &[u8]) -> Result<(), CompressionError> {
    let (Some(version), Some(_min_compatible)) = (read_be_u32(input, 8), read_be_u32(input, 12))
    else {
        return Err(corrupt("truncated xerial snappy header"));
    };
    // snappy-java rejects streams whose version is below its minimum
    // compatible version, 1.
    if version as i32 <= 0 {
        return Err(corrupt(format!(
            "unsupported xerial snappy version {}",
            version as i32
        )));
    }
    Ok(())
}

fn decompress_xerial(
    input: &[u8],
    out: &mut BytesMut,
    limit: usize,
) -> Result<(), CompressionError> {
    let limit_exceeded = || CompressionError::LimitExceeded {
        codec: CompressionType::Snappy,
        limit,
    };
    let mut decoder = Decoder::new();
    let mut written = 0usize;
    let mut pos = 0usize;
    while pos < input.len() {
        let rest = &input[pos..];
        if rest.starts_with(&XERIAL_MAGIC) {
            // The stream starts here, or another stream was appended (snappy-java
            // reads concatenated streams the same way).
            check_xerial_header(rest)?;
            pos += XERIAL_HEADER_LEN;
            continue;
        }
        let chunk_len = read_be_u32(rest, 0).ok_or_else(|| {
            corrupt(format!(
                "{} trailing bytes after the last chunk",
                rest.len()
            ))
        })?;
        if chunk_len > i32::MAX as u32 {
            return Err(corrupt(format!(
                "negative chunk length {}",
                chunk_len as i32
            )));
        }
        let chunk = rest.get(4..4 + chunk_len as usize).ok_or_else(|| {
            corrupt(format!(
                "chunk of {chunk_len} bytes is truncated to {}",
                rest.len() - 4
            ))
        })?;
        written += decompress_block(&mut decoder, chunk, out, limit - written).map_err(|e| {
            if matches!(e, CompressionError::LimitExceeded { .. }) {
                limit_exceeded()
            } else {
                e
            }
        })?;
        pos += 4 + chunk.len();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `chunks` the way snappy-java's `SnappyOutputStream` does.
    fn xerial(chunks: &[&[u8]]) -> Vec<u8> {
        let mut framed = XERIAL_MAGIC.to_vec();
        framed.extend_from_slice(&1i32.to_be_bytes());
        framed.extend_from_slice(&1i32.to_be_bytes());
        for chunk in chunks {
            let block = Encoder::new().compress_vec(chunk).unwrap();
            framed.extend_from_slice(&(block.len() as u32).to_be_bytes());
            framed.extend_from_slice(&block);
        }
        framed
    }

    fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, CompressionError> {
        let mut out = BytesMut::from(&b"pre"[..]);
        let result = Snappy.decompress(input, &mut out, limit);
        if result.is_err() {
            assert_eq!(&out[..], b"pre", "output restored after an error");
        }
        result.map(|()| out[3..].to_vec())
    }

    #[test]
    fn writes_a_raw_block() {
        let mut out = BytesMut::new();
        Snappy.compress(b"abcabcabcabc", &mut out).unwrap();
        assert_eq!(out[0], 12, "a raw block starts with the varint length");
        assert_eq!(
            Decoder::new().decompress_vec(&out).unwrap(),
            b"abcabcabcabc"
        );
    }

    #[test]
    fn reads_xerial_framing_with_several_chunks_and_streams() {
        let a = vec![1u8; 40_000];
        let b = b"second chunk".to_vec();
        let mut framed = xerial(&[&a, &b]);
        assert_eq!(
            decompress(&framed, 1 << 20).unwrap(),
            [&a[..], &b[..]].concat()
        );
        // A second stream appended to the first.
        framed.extend_from_slice(&xerial(&[b"third"]));
        assert_eq!(
            decompress(&framed, 1 << 20).unwrap(),
            [&a[..], &b[..], b"third"].concat()
        );
        // A header alone holds nothing.
        assert_eq!(decompress(&xerial(&[]), 10).unwrap(), b"");
    }

    #[test]
    fn xerial_limit_counts_all_chunks() {
        let framed = xerial(&[&[5u8; 600], &[6u8; 600]]);
        assert_eq!(decompress(&framed, 1200).unwrap().len(), 1200);
        assert_eq!(
            decompress(&framed, 1199).unwrap_err(),
            CompressionError::LimitExceeded {
                codec: CompressionType::Snappy,
                limit: 1199
            }
        );
    }

    #[test]
    fn declared_length_is_checked_before_allocating() {
        // A 5-byte block claiming 2^32-1 bytes.
        let bomb = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(
            decompress(&bomb, 1 << 20),
            Err(CompressionError::LimitExceeded { limit: 1048576, .. })
        ));
        // Under the limit but impossible for the block's size.
        assert!(matches!(
            decompress(&[0x80, 0x80, 0x04], usize::MAX),
            Err(CompressionError::Corrupt { .. })
        ));
    }

    #[test]
    fn malformed_xerial_is_corrupt() {
        let good = xerial(&[b"payload payload payload"]);
        let mut negative = good.clone();
        negative[16..20].copy_from_slice(&(-5i32).to_be_bytes());
        let mut version0 = good.clone();
        version0[8..12].copy_from_slice(&0i32.to_be_bytes());
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated header", good[..12].to_vec()),
            ("truncated chunk", good[..good.len() - 1].to_vec()),
            ("trailing bytes", [&good[..], &[0, 0]].concat()),
            ("negative length", negative),
            ("version 0", version0),
            ("empty chunk", [&good[..16], &[0, 0, 0, 0]].concat()),
            ("empty input", vec![]),
        ];
        for (what, bytes) in cases {
            assert!(
                matches!(
                    decompress(&bytes, 1 << 20),
                    Err(CompressionError::Corrupt { .. })
                ),
                "{what}"
            );
        }
    }
}
