//! Decompression bombs: 100 MiB of zeros, compressed, decompressed with a
//! 1 MiB limit. Each must fail with `LimitExceeded` without the heap ever
//! holding much more than the limit.
//!
//! A counting global allocator measures the peak heap use of each call; the
//! tests of this binary take a lock so that nothing else allocates meanwhile.
//! (zstd's C library allocates its own window outside the Rust heap; it is
//! bounded by the frame's window size, 2 MiB for these frames.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use bytes::BytesMut;
use kafka_compression::{BuiltinCodec, Codec, CompressionError, CompressionType};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Held by each test: the peak counter is process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

const BOMB: u64 = 100 << 20;
const LIMIT: usize = 1 << 20;

fn zeros() -> impl Read {
    io::repeat(0).take(BOMB)
}

fn gzip_bomb() -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    io::copy(&mut zeros(), &mut enc).unwrap();
    enc.finish().unwrap()
}

/// One raw snappy block declaring 100 MiB: a zero literal then copies of 64
/// bytes at offset 1, as an encoder would write it.
fn snappy_raw_bomb() -> Vec<u8> {
    let mut block = Vec::new();
    let mut len = BOMB;
    while len >= 0x80 {
        block.push((len as u8) | 0x80);
        len >>= 7;
    }
    block.push(len as u8);
    block.extend_from_slice(&[0x00, 0x00]); // literal of 1 byte: 0
    let mut left = BOMB - 1;
    while left > 0 {
        let n = left.min(64);
        // copy with 2-byte offset, length n, offset 1
        block.extend_from_slice(&[(((n - 1) as u8) << 2) | 0b10, 1, 0]);
        left -= n;
    }
    block
}

/// snappy-java's framing: 3200 chunks of 32 KiB of zeros.
fn snappy_xerial_bomb() -> Vec<u8> {
    let chunk = snap::raw::Encoder::new()
        .compress_vec(&[0u8; 32 << 10])
        .unwrap();
    let mut framed = vec![
        0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
    ];
    for _ in 0..(BOMB >> 15) {
        framed.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        framed.extend_from_slice(&chunk);
    }
    framed
}

/// One LZ4 frame of 1600 independent 64 KiB blocks of zeros.
fn lz4_bomb() -> Vec<u8> {
    let mut one_block = BytesMut::new();
    kafka_compression::Lz4::default()
        .compress(&[0u8; 64 << 10], &mut one_block)
        .unwrap();
    // Header (7 bytes), one block, EndMark (4 bytes).
    let (header, rest) = one_block.split_at(7);
    let block = &rest[..rest.len() - 4];
    let mut frame = header.to_vec();
    for _ in 0..(BOMB >> 16) {
        frame.extend_from_slice(block);
    }
    frame.extend_from_slice(&[0; 4]);
    frame
}

/// A streamed zstd frame: no content size, as zstd-jni writes.
fn zstd_bomb() -> Vec<u8> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    io::copy(&mut zeros(), &mut enc).unwrap();
    enc.finish().unwrap()
}

#[test]
fn bombs_fail_at_the_limit_without_allocating_the_bomb() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let bombs = [
        (CompressionType::Gzip, "gzip", gzip_bomb()),
        (
            CompressionType::Snappy,
            "snappy raw block",
            snappy_raw_bomb(),
        ),
        (
            CompressionType::Snappy,
            "snappy xerial",
            snappy_xerial_bomb(),
        ),
        (CompressionType::Lz4, "lz4 frame", lz4_bomb()),
        (
            CompressionType::Zstd,
            "zstd without content size",
            zstd_bomb(),
        ),
    ];
    for (codec_type, what, bomb) in bombs {
        let codec = BuiltinCodec::new(codec_type, None).unwrap();
        // Small input, huge output.
        assert!(bomb.len() < (6 << 20), "{what}: {} bytes", bomb.len());

        let mut out = BytesMut::new();
        let before = CURRENT.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        let result = codec.decompress(&bomb, &mut out, LIMIT);
        let peak = PEAK.load(Ordering::SeqCst) - before;

        assert_eq!(
            result,
            Err(CompressionError::LimitExceeded {
                codec: codec_type,
                limit: LIMIT
            }),
            "{what}"
        );
        assert!(out.is_empty(), "{what}");
        // The output buffer never holds more room than the limit...
        assert!(
            out.capacity() <= LIMIT,
            "{what}: capacity {}",
            out.capacity()
        );
        // ...and the heap peaks below two limits: the buffer, plus the old one
        // while it grows, plus the decoder's small state.
        assert!(
            peak <= 2 * LIMIT + (256 << 10),
            "{what}: peak heap use {peak} bytes for a {LIMIT}-byte limit"
        );
        println!(
            "{what}: {} compressed bytes, peak heap {peak} bytes",
            bomb.len()
        );
    }
}

#[test]
fn bombs_decode_fully_with_a_large_enough_limit() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The hand-made bombs are valid data that decode to 100 MiB of zeros, not
    // garbage that fails for another reason. (The gzip and zstd ones come
    // straight from their encoders.)
    let mut out = BytesMut::new();
    let codec = BuiltinCodec::new(CompressionType::Lz4, None).unwrap();
    codec
        .decompress(&lz4_bomb(), &mut out, BOMB as usize)
        .unwrap();
    assert_eq!(out.len() as u64, BOMB);
    assert!(out.iter().all(|&b| b == 0));
    drop(out);

    let mut out = BytesMut::new();
    let codec = BuiltinCodec::new(CompressionType::Snappy, None).unwrap();
    for bomb in [snappy_raw_bomb(), snappy_xerial_bomb()] {
        out.clear();
        codec.decompress(&bomb, &mut out, BOMB as usize).unwrap();
        assert_eq!(out.len() as u64, BOMB);
        assert!(out.iter().all(|&b| b == 0));
    }
}
