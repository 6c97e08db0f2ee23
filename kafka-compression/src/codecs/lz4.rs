//! lz4 (codec id 3): the LZ4 frame format (magic `0x184D2204`), not the bare
//! block format.
//!
//! Written exactly as the Java client's `Lz4BlockOutputStream` does: 64 KiB
//! maximum blocks, independent blocks, no block checksum, no content size, no
//! content checksum. Read: any valid frame (every block size, linked or
//! independent blocks, block and content checksums, a content size,
//! skippable frames, several frames in a row), decoded straight into the
//! caller's buffer.

use std::cell::RefCell;

use bytes::BytesMut;
use lz4_flex::block::{
    compress_into_with_table, decompress_into, decompress_into_with_dict, get_maximum_output_size,
    CompressTable, DecompressError,
};
use twox_hash::XxHash32;

use crate::bounded::{initial_size, reserve_within};
use crate::{Codec, CompressionError, CompressionType};

/// Magic number of an LZ4 frame, little endian on the wire.
const MAGIC: u32 = 0x184D_2204;

/// Skippable frames use the magics `0x184D2A50` to `0x184D2A5F`.
const SKIPPABLE_MAGIC_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;

/// FLG: version 01, independent blocks, no checksums, no content size.
const JAVA_FLG: u8 = 0b0110_0000;
/// BD: maximum block size id 4 (64 KiB).
const JAVA_BD: u8 = 0b0100_0000;

/// The frame header the Java client writes: magic, FLG, BD and the header
/// checksum `(xxh32(FLG, BD) >> 8) & 0xFF` (checked by a unit test).
const JAVA_HEADER: [u8; 7] = [0x04, 0x22, 0x4D, 0x18, JAVA_FLG, JAVA_BD, 0x82];

/// Block size the Java client uses.
const BLOCK_SIZE: usize = 64 * 1024;

/// A block size word with this bit set stores its block uncompressed.
const UNCOMPRESSED_BIT: u32 = 0x8000_0000;

/// Back-references of linked blocks reach at most this far.
const WINDOW: usize = 64 * 1024;

/// The lz4 codec, backed by `lz4_flex` (block format) with the frame layer
/// written here.
///
/// The level is validated against Java's range (1-17, default 9) and kept for
/// configuration parity, but `lz4_flex` has one compression mode, the fast
/// LZ4 compressor that Java uses at its default level 9. Java switches to
/// LZ4 HC for other levels; here they compress the same as level 9. The
/// output is a valid frame either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lz4 {
    level: i32,
}

impl Lz4 {
    /// Lowest level Java accepts.
    pub const MIN_LEVEL: i32 = 1;
    /// Highest level Java accepts.
    pub const MAX_LEVEL: i32 = 17;
    /// Java's default level.
    pub const DEFAULT_LEVEL: i32 = 9;

    /// An lz4 codec with a Java `compression.lz4.level` (1 to 17).
    ///
    /// # Errors
    /// [`CompressionError::InvalidLevel`] outside 1 to 17.
    pub fn new(level: i32) -> Result<Self, CompressionError> {
        let valid_level = (Self::MIN_LEVEL..=Self::MAX_LEVEL).contains(&level);
        let level =
            CompressionError::check_level(CompressionType::Lz4, level, valid_level, "1 to 17")?;
        Ok(Self { level })
    }

    /// The configured level (see the type's docs on what it changes).
    pub fn level(&self) -> i32 {
        self.level
    }
}

impl Default for Lz4 {
    /// Java's default level, 9.
    fn default() -> Self {
        Self {
            level: Self::DEFAULT_LEVEL,
        }
    }
}

impl Codec for Lz4 {
    fn compression_type(&self) -> CompressionType {
        CompressionType::Lz4
    }

    fn compress(&self, input: &[u8], out: &mut BytesMut) -> Result<(), CompressionError> {
        let start = out.len();
        // Each block's bound, the last one's for its own length: a small
        // input needs a small buffer (a caller reusing buffers of about the
        // input's size keeps them).
        let block_bound = |len: usize| 4 + get_maximum_output_size(len).max(len);
        let (full, last) = (input.len() / BLOCK_SIZE, input.len() % BLOCK_SIZE);
        let bound = JAVA_HEADER.len()
            + full * block_bound(BLOCK_SIZE)
            + if last > 0 { block_bound(last) } else { 0 }
            + 4;
        // One zero fill for the whole frame; the unused tail is cut at the end.
        out.resize(start + bound, 0);
        let mut pos = start;
        out[pos..pos + JAVA_HEADER.len()].copy_from_slice(&JAVA_HEADER);
        pos += JAVA_HEADER.len();
        let mut table = if input.len() >= u16::MAX as usize {
            CompressTable::large()
        } else {
            CompressTable::small()
        };
        for block in input.chunks(BLOCK_SIZE) {
            let body = pos + 4;
            let max = get_maximum_output_size(block.len());
            let compressed =
                match compress_into_with_table(block, &mut out[body..body + max], &mut table) {
                    Ok(n) => n,
                    Err(e) => {
                        out.truncate(start);
                        return Err(CompressionError::compress_failed(CompressionType::Lz4, e));
                    }
                };
            // Like Java: a block that does not shrink is stored as it is.
            let word = if compressed < block.len() {
                compressed as u32
            } else {
                out[body..body + block.len()].copy_from_slice(block);
                block.len() as u32 | UNCOMPRESSED_BIT
            };
            out[pos..body].copy_from_slice(&word.to_le_bytes());
            pos = body + (word & !UNCOMPRESSED_BIT) as usize;
        }
        // EndMark.
        out[pos..pos + 4].copy_from_slice(&[0; 4]);
        out.truncate(pos + 4);
        Ok(())
    }

    fn decompress(
        &self,
        input: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), CompressionError> {
        let start = out.len();
        let result = decompress_frames(input, out, limit);
        shrink_scratch();
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

thread_local! {
    /// Where blocks are decoded before being copied to the caller's buffer.
    ///
    /// Safe code can only hand the decoder initialised memory. Decoding in
    /// place would mean zero-filling the caller's buffer before every block;
    /// a reused scratch block is filled once per thread and the copy out of
    /// it (hot in cache) is cheaper than that fill.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Scratch space kept between calls. Frames with larger blocks (256 KiB to
/// 4 MiB, which the Java client never writes) grow it for one call.
const SCRATCH_KEPT: usize = BLOCK_SIZE;

/// Runs `f` on `len` initialised scratch bytes.
fn with_scratch<T>(len: usize, f: impl FnOnce(&mut [u8]) -> T) -> T {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => {
            if scratch.len() < len {
                scratch.resize(len.max(SCRATCH_KEPT), 0);
            }
            f(&mut scratch[..len])
        }
        // Not reachable (no re-entrant calls), but never worth a panic.
        Err(_) => f(&mut vec![0; len]),
    })
}

/// Gives back what a frame with large blocks added to the scratch space.
fn shrink_scratch() {
    SCRATCH.with(|scratch| {
        if let Ok(mut scratch) = scratch.try_borrow_mut() {
            if scratch.len() > SCRATCH_KEPT {
                scratch.truncate(SCRATCH_KEPT);
                scratch.shrink_to_fit();
            }
        }
    });
}

fn corrupt(detail: impl ToString) -> CompressionError {
    CompressionError::corrupt(CompressionType::Lz4, detail)
}

/// A cursor over the input that turns running out of bytes into an error.
struct Input<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], CompressionError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| corrupt(format!("input ends inside the {what}")))?;
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(taken)
    }

    fn u32_le(&mut self, what: &str) -> Result<u32, CompressionError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn is_empty(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// What a frame descriptor says.
struct Descriptor {
    independent_blocks: bool,
    block_checksums: bool,
    content_checksum: bool,
    content_size: Option<u64>,
    max_block_size: usize,
}

fn read_descriptor(input: &mut Input<'_>) -> Result<Descriptor, CompressionError> {
    let fixed = input.take(2, "frame descriptor")?;
    let (flg, bd) = (fixed[0], fixed[1]);
    if flg >> 6 != 0b01 {
        return Err(corrupt(format!("unsupported frame version {}", flg >> 6)));
    }
    if flg & 0b10 != 0 || bd & 0b1000_1111 != 0 {
        return Err(corrupt("reserved descriptor bits are set"));
    }
    if flg & 0b1 != 0 {
        return Err(corrupt("frames that need a dictionary are not supported"));
    }
    let max_block_size = match (bd >> 4) & 0b111 {
        4 => 64 * 1024,
        5 => 256 * 1024,
        6 => 1024 * 1024,
        7 => 4 * 1024 * 1024,
        id => return Err(corrupt(format!("invalid maximum block size id {id}"))),
    };
    let content_size = if flg & 0b1000 != 0 {
        let b = input.take(8, "content size")?;
        Some(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    } else {
        None
    };
    let descriptor_end = input.pos;
    let checksum = input.take(1, "header checksum")?[0];
    let descriptor = &input.bytes
        [descriptor_end - 2 - if content_size.is_some() { 8 } else { 0 }..descriptor_end];
    if (XxHash32::oneshot(0, descriptor) >> 8) as u8 != checksum {
        return Err(corrupt("frame header checksum mismatch"));
    }
    Ok(Descriptor {
        independent_blocks: flg & 0b10_0000 != 0,
        block_checksums: flg & 0b1_0000 != 0,
        content_checksum: flg & 0b100 != 0,
        content_size,
        max_block_size,
    })
}

fn decompress_frames(
    input: &[u8],
    out: &mut BytesMut,
    limit: usize,
) -> Result<(), CompressionError> {
    if input.is_empty() {
        return Err(corrupt("empty input is not an LZ4 frame"));
    }
    let mut input = Input {
        bytes: input,
        pos: 0,
    };
    let end_max = out.len().saturating_add(limit);
    while !input.is_empty() {
        let magic = input.u32_le("frame magic")?;
        if magic & SKIPPABLE_MAGIC_MASK == SKIPPABLE_MAGIC {
            let len = input.u32_le("skippable frame size")?;
            input.take(len as usize, "skippable frame")?;
            continue;
        }
        if magic != MAGIC {
            return Err(corrupt(format!("not an LZ4 frame (magic {magic:#010x})")));
        }
        let descriptor = read_descriptor(&mut input)?;
        if descriptor.content_size.unwrap_or(0) > (end_max - out.len()) as u64 {
            return Err(CompressionError::LimitExceeded {
                codec: CompressionType::Lz4,
                limit,
            });
        }
        let hint = initial_size(
            input.bytes.len() - input.pos,
            descriptor.content_size,
            end_max - out.len(),
        );
        reserve_within(out, hint, end_max);
        decompress_blocks(&mut input, &descriptor, out, end_max, limit)?;
    }
    Ok(())
}

fn decompress_blocks(
    input: &mut Input<'_>,
    frame: &Descriptor,
    out: &mut BytesMut,
    end_max: usize,
    limit: usize,
) -> Result<(), CompressionError> {
    let limit_exceeded = CompressionError::LimitExceeded {
        codec: CompressionType::Lz4,
        limit,
    };
    let frame_start = out.len();
    loop {
        let word = input.u32_le("block size")?;
        if word == 0 {
            break;
        }
        let size = (word & !UNCOMPRESSED_BIT) as usize;
        if size > frame.max_block_size {
            return Err(corrupt(format!(
                "block of {size} bytes exceeds the frame's maximum of {}",
                frame.max_block_size
            )));
        }
        let data = input.take(size, "block")?;
        if frame.block_checksums {
            let expected = input.u32_le("block checksum")?;
            if XxHash32::oneshot(0, data) != expected {
                return Err(corrupt("block checksum mismatch"));
            }
        }
        let at = out.len();
        let room = end_max - at;
        if word & UNCOMPRESSED_BIT != 0 {
            if size > room {
                return Err(limit_exceeded.clone());
            }
            reserve_within(out, size, end_max);
            out.extend_from_slice(data);
            continue;
        }
        // No block decodes to more than this: the frame's maximum, or what
        // the limit still allows (a block that needs more fails with
        // OutputTooSmall).
        let capacity = frame.max_block_size.min(room);
        let decoded = with_scratch(capacity, |scratch| {
            let n = if frame.independent_blocks || at == frame_start {
                decompress_into(data, scratch)?
            } else {
                let dict = &out[at.saturating_sub(WINDOW).max(frame_start)..];
                decompress_into_with_dict(data, scratch, dict)?
            };
            reserve_within(out, n, end_max);
            out.extend_from_slice(&scratch[..n]);
            Ok(())
        });
        match decoded {
            Ok(()) => {}
            Err(DecompressError::OutputTooSmall { .. }) if capacity < frame.max_block_size => {
                return Err(limit_exceeded.clone())
            }
            Err(e) => return Err(corrupt(format!("bad block: {e}"))),
        }
    }
    let content = &out[frame_start..];
    if let Some(expected) = frame.content_size {
        if content.len() as u64 != expected {
            return Err(corrupt(format!(
                "frame declares {expected} bytes of content but holds {}",
                content.len()
            )));
        }
    }
    if frame.content_checksum {
        let expected = input.u32_le("content checksum")?;
        if XxHash32::oneshot(0, content) != expected {
            return Err(corrupt("content checksum mismatch"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, CompressionError> {
        let mut out = BytesMut::from(&b"pre"[..]);
        let result = Lz4::default().decompress(input, &mut out, limit);
        if result.is_err() {
            assert_eq!(&out[..], b"pre", "output restored after an error");
        }
        result.map(|()| out[3..].to_vec())
    }

    /// Builds a frame by hand with any flags, for reader tests.
    fn frame(
        flg: u8,
        bd: u8,
        content_size: Option<u64>,
        blocks: &[(bool, Vec<u8>)],
        content: &[u8],
    ) -> Vec<u8> {
        let mut f = MAGIC.to_le_bytes().to_vec();
        let mut descriptor = vec![flg, bd];
        if let Some(size) = content_size {
            descriptor.extend_from_slice(&size.to_le_bytes());
        }
        f.extend_from_slice(&descriptor);
        f.push((XxHash32::oneshot(0, &descriptor) >> 8) as u8);
        for (compressed, data) in blocks {
            let word = data.len() as u32 | if *compressed { 0 } else { UNCOMPRESSED_BIT };
            f.extend_from_slice(&word.to_le_bytes());
            f.extend_from_slice(data);
            if flg & 0b1_0000 != 0 {
                f.extend_from_slice(&XxHash32::oneshot(0, data).to_le_bytes());
            }
        }
        f.extend_from_slice(&[0; 4]);
        if flg & 0b100 != 0 {
            f.extend_from_slice(&XxHash32::oneshot(0, content).to_le_bytes());
        }
        f
    }

    #[test]
    fn java_header_checksum_is_right() {
        assert_eq!(
            (XxHash32::oneshot(0, &[JAVA_FLG, JAVA_BD]) >> 8) as u8,
            JAVA_HEADER[6]
        );
        assert_eq!(&JAVA_HEADER[..4], &MAGIC.to_le_bytes());
    }

    #[test]
    fn writes_java_flags_and_64k_blocks() {
        let input: Vec<u8> = (0..200_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 1000) as u8)
            .collect();
        let mut out = BytesMut::new();
        Lz4::default().compress(&input, &mut out).unwrap();
        assert_eq!(&out[..7], &JAVA_HEADER);
        assert_eq!(
            &out[out.len() - 4..],
            &[0; 4],
            "EndMark, no content checksum"
        );
        // Walk the blocks: 4 of them (3 x 64 KiB + rest), none larger than 64 KiB.
        let mut pos = 7;
        let mut blocks = 0;
        loop {
            let word = u32::from_le_bytes(out[pos..pos + 4].try_into().unwrap());
            pos += 4;
            if word == 0 {
                break;
            }
            let size = (word & !UNCOMPRESSED_BIT) as usize;
            assert!(size <= BLOCK_SIZE);
            pos += size;
            blocks += 1;
        }
        assert_eq!(pos, out.len());
        assert_eq!(blocks, 4);
        assert_eq!(decompress(&out, usize::MAX).unwrap(), input);
    }

    #[test]
    fn incompressible_blocks_are_stored() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut out = BytesMut::new();
        Lz4::default().compress(&noise, &mut out).unwrap();
        let word = u32::from_le_bytes(out[7..11].try_into().unwrap());
        assert_eq!(word, 5000 | UNCOMPRESSED_BIT);
        assert_eq!(decompress(&out, 5000).unwrap(), noise);
        assert!(matches!(
            decompress(&out, 4999),
            Err(CompressionError::LimitExceeded { limit: 4999, .. })
        ));
    }

    #[test]
    fn reads_frames_with_every_option() {
        let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog. ".repeat(3000);
        // Linked blocks: the second block refers back into the first.
        let first = &text[..70_000];
        let second = &text[70_000..];
        let block1 = lz4_flex::block::compress(first);
        let block2 = lz4_flex::block::compress_with_dict(second, &first[first.len() - WINDOW..]);
        for flg in [0b0100_0000u8, 0b0101_0100, 0b0100_1100, 0b0101_1100] {
            let size = (flg & 0b1000 != 0).then_some(text.len() as u64);
            // BD 5: 256 KiB blocks.
            let f = frame(
                flg,
                0x50,
                size,
                &[(true, block1.clone()), (true, block2.clone())],
                &text,
            );
            assert_eq!(decompress(&f, usize::MAX).unwrap(), text, "flg {flg:#x}");
        }
        // Several frames, a skippable frame between them, and a stored block.
        let mut two = frame(0x60, 0x40, None, &[(false, b"raw ".to_vec())], b"raw ");
        two.extend_from_slice(&0x184D_2A5Bu32.to_le_bytes());
        two.extend_from_slice(&3u32.to_le_bytes());
        two.extend_from_slice(b"xyz");
        two.extend_from_slice(&frame(
            0x60,
            0x70,
            None,
            &[(true, lz4_flex::block::compress(b"data data data data"))],
            b"",
        ));
        assert_eq!(decompress(&two, 100).unwrap(), b"raw data data data data");
    }

    #[test]
    fn rejects_malformed_frames() {
        let good = frame(
            0x64,
            0x40,
            None,
            &[(true, lz4_flex::block::compress(&[9u8; 1000]))],
            &[9u8; 1000],
        );
        assert_eq!(decompress(&good, 1000).unwrap(), vec![9u8; 1000]);
        let flip = |at: usize| {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            bad
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            (
                "block format, not a frame",
                lz4_flex::block::compress(b"hello hello hello"),
            ),
            ("bad magic", flip(0)),
            ("header checksum", flip(6)),
            ("content checksum", flip(good.len() - 1)),
            ("missing EndMark", good[..good.len() - 8].to_vec()),
            ("truncated block", good[..14].to_vec()),
            ("trailing garbage", [&good[..], &[1, 2]].concat()),
            ("version 0", frame(0x24, 0x40, None, &[], b"")),
            ("dictionary id", frame(0x61, 0x40, None, &[], b"")),
            ("block size id 3", frame(0x60, 0x30, None, &[], b"")),
            ("reserved BD bit", frame(0x60, 0x41, None, &[], b"")),
            (
                "block over the maximum",
                frame(0x60, 0x40, None, &[(false, vec![0; 65537])], b""),
            ),
            (
                "content size mismatch",
                frame(0x68, 0x40, Some(7), &[(false, b"123456".to_vec())], b""),
            ),
            ("block checksum", {
                let mut f = frame(0x70, 0x40, None, &[(false, b"abc".to_vec())], b"");
                f[11] ^= 1;
                f
            }),
            (
                "bad compressed block",
                frame(0x60, 0x40, None, &[(true, vec![0xF0, 1, 2])], b""),
            ),
        ];
        for (what, bytes) in cases {
            assert!(
                matches!(
                    decompress(&bytes, 1 << 20),
                    Err(CompressionError::Corrupt {
                        codec: CompressionType::Lz4,
                        ..
                    })
                ),
                "{what}: {:?}",
                decompress(&bytes, 1 << 20)
            );
        }
    }

    #[test]
    fn limit_cuts_compressed_blocks_without_growing_past_it() {
        let input = vec![3u8; 300_000];
        let mut compressed = BytesMut::new();
        Lz4::default().compress(&input, &mut compressed).unwrap();
        assert_eq!(decompress(&compressed, 300_000).unwrap().len(), 300_000);
        for limit in [0, 1, 65_535, 65_536, 299_999] {
            let mut out = BytesMut::new();
            let err = Lz4::default()
                .decompress(&compressed, &mut out, limit)
                .unwrap_err();
            assert_eq!(
                err,
                CompressionError::LimitExceeded {
                    codec: CompressionType::Lz4,
                    limit
                }
            );
            assert!(
                out.capacity() <= 2 * limit.max(64),
                "limit {limit}: capacity {}",
                out.capacity()
            );
        }
    }

    #[test]
    fn levels_follow_java() {
        for ok in [1, 9, 17] {
            assert_eq!(Lz4::new(ok).unwrap().level(), ok);
        }
        for bad in [0, -1, 18] {
            assert!(matches!(
                Lz4::new(bad),
                Err(CompressionError::InvalidLevel {
                    codec: CompressionType::Lz4,
                    ..
                })
            ));
        }
        assert_eq!(Lz4::default().level(), 9);
    }
}
