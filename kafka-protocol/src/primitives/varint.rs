//! Varints: the unsigned ones of flexible protocol versions and the zigzag
//! ones of records.

use bytes::BufMut;

use super::PResult;
use crate::ProtocolError;

/// Reads an unsigned varint of at most 5 bytes (lengths, counts, tags).
#[inline]
pub fn read_uvarint(i: &[u8]) -> PResult<'_, u32> {
    let mut value: u32 = 0;
    for (n, &b) in i.iter().enumerate().take(5) {
        // The fifth byte may only carry the top 4 bits.
        if n == 4 && b > 0x0f {
            return Err(nom::Err::Error(ProtocolError::VarintTooLong {
                max_bytes: 5,
            }));
        }
        value |= u32::from(b & 0x7f) << (7 * n);
        if b & 0x80 == 0 {
            return Ok((&i[n + 1..], value));
        }
    }
    if i.len() >= 5 {
        Err(nom::Err::Error(ProtocolError::VarintTooLong {
            max_bytes: 5,
        }))
    } else {
        Err(nom::Err::Error(ProtocolError::Truncated))
    }
}

/// Reads an unsigned varint of at most 10 bytes.
#[inline]
pub fn read_uvarlong(i: &[u8]) -> PResult<'_, u64> {
    let mut value: u64 = 0;
    for (n, &b) in i.iter().enumerate().take(10) {
        if n == 9 && b > 0x01 {
            return Err(nom::Err::Error(ProtocolError::VarintTooLong {
                max_bytes: 10,
            }));
        }
        value |= u64::from(b & 0x7f) << (7 * n);
        if b & 0x80 == 0 {
            return Ok((&i[n + 1..], value));
        }
    }
    if i.len() >= 10 {
        Err(nom::Err::Error(ProtocolError::VarintTooLong {
            max_bytes: 10,
        }))
    } else {
        Err(nom::Err::Error(ProtocolError::Truncated))
    }
}

/// Reads a zigzag-encoded signed varint (record fields).
#[inline]
pub fn read_varint(i: &[u8]) -> PResult<'_, i32> {
    let (i, u) = read_uvarint(i)?;
    Ok((i, ((u >> 1) as i32) ^ -((u & 1) as i32)))
}

/// Reads a zigzag-encoded signed varlong (record timestamps).
#[inline]
pub fn read_varlong(i: &[u8]) -> PResult<'_, i64> {
    let (i, u) = read_uvarlong(i)?;
    Ok((i, ((u >> 1) as i64) ^ -((u & 1) as i64)))
}

/// Writes an unsigned varint.
#[inline]
pub fn write_uvarint<B: BufMut>(b: &mut B, mut v: u32) {
    while v >= 0x80 {
        b.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    b.put_u8(v as u8);
}

/// Writes an unsigned varlong.
#[inline]
pub fn write_uvarlong<B: BufMut>(b: &mut B, mut v: u64) {
    while v >= 0x80 {
        b.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    b.put_u8(v as u8);
}

/// Writes a zigzag-encoded signed varint.
#[inline]
pub fn write_varint<B: BufMut>(b: &mut B, v: i32) {
    write_uvarint(b, ((v << 1) ^ (v >> 31)) as u32)
}

/// Writes a zigzag-encoded signed varlong.
#[inline]
pub fn write_varlong<B: BufMut>(b: &mut B, v: i64) {
    write_uvarlong(b, ((v << 1) ^ (v >> 63)) as u64)
}

/// Encoded size of an unsigned varint: one byte per started group of 7
/// bits, at least one.
///
/// Counted with comparisons rather than `leading_zeros`: without `lzcnt` in
/// the target features that is a `bsr`, slow on some CPUs (a record batch
/// writer takes six sizes per record).
#[inline]
pub const fn uvarint_size(v: u32) -> usize {
    1 + (v >= 1 << 7) as usize
        + (v >= 1 << 14) as usize
        + (v >= 1 << 21) as usize
        + (v >= 1 << 28) as usize
}

/// Encoded size of an unsigned varlong.
#[inline]
pub const fn uvarlong_size(v: u64) -> usize {
    if v < 1 << 28 {
        // The common case (record timestamp deltas): as a varint.
        uvarint_size(v as u32)
    } else {
        5 + (v >= 1 << 35) as usize
            + (v >= 1 << 42) as usize
            + (v >= 1 << 49) as usize
            + (v >= 1 << 56) as usize
            + (v >= 1 << 63) as usize
    }
}

/// Encoded size of a zigzag varint.
#[inline]
pub const fn varint_size(v: i32) -> usize {
    uvarint_size(((v << 1) ^ (v >> 31)) as u32)
}

/// Encoded size of a zigzag varlong.
#[inline]
pub const fn varlong_size(v: i64) -> usize {
    uvarlong_size(((v << 1) ^ (v >> 63)) as u64)
}
