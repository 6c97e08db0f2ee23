//! Appending decompressed bytes to the caller's buffer without ever holding
//! more than the caller's limit.

// Each helper serves only some codecs; builds with a subset of the features
// leave the others unused.
#![cfg_attr(
    not(all(feature = "gzip", feature = "lz4", feature = "zstd")),
    allow(dead_code)
)]

use std::io::{self, Read};

use bytes::BytesMut;

use crate::{CompressionError, CompressionType};

/// First growth of the output when the codec cannot say how much to expect.
const MIN_STEP: usize = 8 * 1024;

/// Bytes read on the side when the output is full, to learn whether the
/// stream has ended without growing the output first.
const PROBE: usize = 512;

/// Reads `reader` to its end, appending what it yields to `out`.
///
/// At most `limit` bytes are appended: one more and the call fails with
/// [`CompressionError::LimitExceeded`]. `size_hint` is how many bytes the
/// codec expects (a length declared in the input, or a guess); it only sets
/// the first allocation, which is also capped by `limit`. On error `out` is
/// truncated back to its length at entry.
pub(crate) fn read_bounded<R: Read>(
    codec: CompressionType,
    mut reader: R,
    out: &mut BytesMut,
    limit: usize,
    size_hint: usize,
) -> Result<(), CompressionError> {
    let start = out.len();
    match fill(codec, &mut reader, out, start, limit, size_hint) {
        Ok(end) => {
            out.truncate(end);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Returns the end of the decoded bytes in `out`; `out` may be longer (zero
/// filled space that was not used).
fn fill<R: Read>(
    codec: CompressionType,
    reader: &mut R,
    out: &mut BytesMut,
    start: usize,
    limit: usize,
    size_hint: usize,
) -> Result<usize, CompressionError> {
    let end_max = start.saturating_add(limit);
    let mut filled = start;
    let mut step = size_hint.max(MIN_STEP);
    if size_hint > 0 {
        // Give the decoder the whole expected output at once: zstd, for one,
        // decodes a frame in a single pass (no internal buffering) only when
        // its first call sees room for all of it.
        resize_within(out, start.saturating_add(size_hint.min(limit)), end_max);
    }
    loop {
        if filled == out.len() {
            // Full (or nothing allocated yet): read a little on the side so a
            // stream that ends exactly here costs no extra allocation.
            let mut probe = [0u8; PROBE];
            let n = read_some(codec, reader, &mut probe)?;
            if n == 0 {
                return Ok(filled);
            }
            let room = end_max - filled;
            if n > room {
                return Err(CompressionError::LimitExceeded { codec, limit });
            }
            // Each byte is zeroed once: `resize` only initialises new space.
            let grow = step.max(n).min(room);
            resize_within(out, filled + grow, end_max);
            out[filled..filled + n].copy_from_slice(&probe[..n]);
            filled += n;
            // Grow geometrically from here on: the next step is what was
            // decoded so far.
            step = filled - start;
            continue;
        }
        let n = read_some(codec, reader, &mut out[filled..])?;
        if n == 0 {
            return Ok(filled);
        }
        filled += n;
    }
}

/// `out.reserve(additional)`, except that the capacity never grows past
/// `max_capacity` (at least `out.len() + additional`).
///
/// `BytesMut` grows like `Vec`, to at least twice its capacity; near the
/// limit that would allocate up to twice the limit. There the bytes move to
/// a buffer of exactly `max_capacity` instead (the copy a reallocation makes
/// anyway), which is still no more than doubling would have allocated.
pub(crate) fn reserve_within(out: &mut BytesMut, additional: usize, max_capacity: usize) {
    let needed = out.len().saturating_add(additional);
    debug_assert!(needed <= max_capacity);
    if needed <= out.capacity() {
        return;
    }
    if out.capacity().saturating_mul(2) > max_capacity {
        let mut exact = BytesMut::with_capacity(max_capacity);
        exact.extend_from_slice(out);
        *out = exact;
    } else {
        out.reserve(additional);
    }
}

/// `out.resize(new_len, 0)` with the capacity capped as in [`reserve_within`].
pub(crate) fn resize_within(out: &mut BytesMut, new_len: usize, max_capacity: usize) {
    if let Some(additional) = new_len.checked_sub(out.len()) {
        reserve_within(out, additional, max_capacity);
    }
    out.resize(new_len, 0);
}

fn read_some<R: Read>(
    codec: CompressionType,
    reader: &mut R,
    buf: &mut [u8],
) -> Result<usize, CompressionError> {
    loop {
        match reader.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CompressionError::corrupt(codec, e)),
        }
    }
}

/// A first allocation for `input_len` compressed bytes: the length the input
/// declares when it is plausible, else a small multiple of the input, never
/// more than `limit`.
pub(crate) fn initial_size(input_len: usize, declared: Option<u64>, limit: usize) -> usize {
    // No codec here inflates beyond ~1:1032 (deflate's best case) in practice
    // for declared sizes we trust; past that the declaration is a guess we do
    // not allocate up front.
    const TRUSTED_RATIO: usize = 1032;
    let cap = input_len.saturating_mul(TRUSTED_RATIO);
    let guess = match declared {
        Some(n) if n <= cap as u64 => n as usize,
        _ => input_len.saturating_mul(4),
    };
    guess.min(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out `total` bytes of `0xAB`, at most `chunk` per call,
    /// interrupting every other call.
    struct Trickle {
        left: usize,
        chunk: usize,
        interrupt: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.left.min(self.chunk).min(buf.len());
            buf[..n].fill(0xAB);
            self.left -= n;
            Ok(n)
        }
    }

    fn trickle(total: usize, chunk: usize) -> Trickle {
        Trickle {
            left: total,
            chunk,
            interrupt: false,
        }
    }

    #[test]
    fn reads_everything_up_to_the_limit() {
        for (total, limit, hint) in [
            (0, 0, 0),
            (0, 10, 0),
            (10, 10, 0),
            (100_000, 100_000, 0),
            (100_000, 100_000, 100_000),
            (100_000, 1 << 20, 7),
            (PROBE, PROBE, 0),
        ] {
            let mut out = BytesMut::from(&b"head"[..]);
            read_bounded(
                CompressionType::Gzip,
                trickle(total, 3000),
                &mut out,
                limit,
                hint,
            )
            .unwrap();
            assert_eq!(out.len(), 4 + total);
            assert_eq!(&out[..4], b"head");
            assert!(out[4..].iter().all(|&b| b == 0xAB));
        }
    }

    #[test]
    fn one_byte_past_the_limit_fails_and_restores_the_buffer() {
        for (total, limit, hint) in [(1, 0, 0), (11, 10, 0), (100_001, 100_000, 100_000)] {
            let mut out = BytesMut::from(&b"head"[..]);
            let err = read_bounded(
                CompressionType::Zstd,
                trickle(total, 999),
                &mut out,
                limit,
                hint,
            )
            .unwrap_err();
            assert_eq!(
                err,
                CompressionError::LimitExceeded {
                    codec: CompressionType::Zstd,
                    limit
                }
            );
            assert_eq!(&out[..], b"head");
        }
    }

    #[test]
    fn capacity_never_passes_the_limit() {
        for limit in [1, 1000, 8 * 1024, 100_000, 1 << 20] {
            let mut out = BytesMut::from(&b"head"[..]);
            let result = read_bounded(
                CompressionType::Gzip,
                trickle(limit + 1, 7000),
                &mut out,
                limit,
                0,
            );
            assert!(matches!(
                result,
                Err(CompressionError::LimitExceeded { .. })
            ));
            assert!(
                out.capacity() <= 4 + limit,
                "limit {limit}: capacity {}",
                out.capacity()
            );
        }
    }

    #[test]
    fn resize_within_keeps_the_bytes() {
        let mut out = BytesMut::with_capacity(10);
        out.extend_from_slice(b"0123456789");
        resize_within(&mut out, 15, 15);
        assert_eq!(&out[..], b"0123456789\0\0\0\0\0");
        assert_eq!(out.capacity(), 15);
        resize_within(&mut out, 40, 1000);
        assert_eq!(out.len(), 40);
        assert_eq!(&out[..10], b"0123456789");
    }

    #[test]
    fn an_exact_hint_allocates_once() {
        let mut out = BytesMut::new();
        read_bounded(
            CompressionType::Lz4,
            trickle(300_000, 1 << 20),
            &mut out,
            1 << 30,
            300_000,
        )
        .unwrap();
        assert_eq!(out.len(), 300_000);
        assert!(out.capacity() < 2 * 300_000, "capacity {}", out.capacity());
    }

    #[test]
    fn reader_errors_are_corruption() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::InvalidData, "bad block"))
            }
        }
        let mut out = BytesMut::from(&b"x"[..]);
        let err = read_bounded(CompressionType::Gzip, Broken, &mut out, 100, 0).unwrap_err();
        assert!(
            matches!(err, CompressionError::Corrupt { ref detail, .. } if detail.contains("bad block"))
        );
        assert_eq!(&out[..], b"x");
    }

    #[test]
    fn initial_size_trusts_only_plausible_declarations() {
        assert_eq!(initial_size(100, Some(5000), 1 << 20), 5000);
        assert_eq!(initial_size(100, Some(5000), 1000), 1000);
        assert_eq!(initial_size(100, Some(u64::MAX), 1 << 20), 400);
        assert_eq!(initial_size(100, None, 1 << 20), 400);
    }
}
