//! One parser (nom, over `&[u8]`) and one writer (`BufMut`) per wire type.
//!
//! Parsers that return byte payloads take the `Bytes` that owns the input
//! (`owner`) so that payloads come back as zero-copy slices of it. Every
//! length read from the wire is checked against the input that remains
//! before anything is allocated.

mod types;
mod varint;

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes};
use nom::number::complete as num;

pub use types::{StrBytes, Uuid};
pub use varint::*;

use crate::ProtocolError;

/// The result of a parser of this crate.
pub type PResult<'a, T> = nom::IResult<&'a [u8], T, ProtocolError>;

/// Tagged fields that this version of the schema does not know, by tag, kept
/// so that a decoded message re-encodes to the same bytes.
pub type UnknownTaggedFields = BTreeMap<u32, Bytes>;

#[inline]
pub(crate) fn fail<'a, T>(e: ProtocolError) -> PResult<'a, T> {
    Err(nom::Err::Error(e))
}

macro_rules! fixed {
    ($($read:ident, $write:ident, $t:ty, $nom:ident, $put:ident;)*) => {$(
        /// Reads a big-endian fixed-width value.
        #[inline]
        pub fn $read(i: &[u8]) -> PResult<'_, $t> {
            num::$nom(i)
        }
        /// Writes a big-endian fixed-width value.
        #[inline]
        pub fn $write<B: BufMut>(b: &mut B, v: $t) {
            b.$put(v)
        }
    )*};
}

fixed! {
    read_i8, write_i8, i8, be_i8, put_i8;
    read_i16, write_i16, i16, be_i16, put_i16;
    read_i32, write_i32, i32, be_i32, put_i32;
    read_i64, write_i64, i64, be_i64, put_i64;
    read_u16, write_u16, u16, be_u16, put_u16;
    read_u32, write_u32, u32, be_u32, put_u32;
    read_f64, write_f64, f64, be_f64, put_f64;
}

/// Reads a boolean (any non-zero byte is true, as in the Java client).
#[inline]
pub fn read_bool(i: &[u8]) -> PResult<'_, bool> {
    let (i, b) = num::be_u8(i)?;
    Ok((i, b != 0))
}

/// Writes a boolean.
#[inline]
pub fn write_bool<B: BufMut>(b: &mut B, v: bool) {
    b.put_u8(v as u8)
}

/// Reads a 16-byte UUID.
#[inline]
pub fn read_uuid(i: &[u8]) -> PResult<'_, Uuid> {
    let (i, raw) = take(i, 16)?;
    let mut u = [0u8; 16];
    u.copy_from_slice(raw);
    Ok((i, Uuid(u)))
}

/// Writes a 16-byte UUID.
#[inline]
pub fn write_uuid<B: BufMut>(b: &mut B, v: &Uuid) {
    b.put_slice(&v.0)
}

/// Splits `n` bytes off the input.
#[inline]
pub fn take(i: &[u8], n: usize) -> PResult<'_, &[u8]> {
    if i.len() < n {
        return fail(ProtocolError::Truncated);
    }
    Ok((&i[n..], &i[..n]))
}

/// Zero-copy `Bytes` for a sub-slice of `owner`.
#[inline]
pub(crate) fn share(owner: &Bytes, slice: &[u8]) -> Bytes {
    if slice.is_empty() {
        Bytes::new()
    } else {
        owner.slice_ref(slice)
    }
}

/// Reads a length prefix: `int16`/`int32` in classic versions, `uvarint(len + 1)`
/// in flexible ones. Returns `None` for null. `wide` chooses int32 over int16.
#[inline]
fn read_len<'a>(
    i: &'a [u8],
    flexible: bool,
    wide: bool,
    what: &'static str,
) -> PResult<'a, Option<usize>> {
    let (i, len): (_, i64) = if flexible {
        let (i, n) = read_uvarint(i)?;
        (i, i64::from(n) - 1)
    } else if wide {
        let (i, n) = read_i32(i)?;
        (i, i64::from(n))
    } else {
        let (i, n) = read_i16(i)?;
        (i, i64::from(n))
    };
    match len {
        -1 => Ok((i, None)),
        n if n < 0 => fail(ProtocolError::InvalidLength { what, len: n }),
        n => {
            let n = n as usize;
            // A length never claims more than the remaining input: no allocation
            // driven by a hostile length can exceed the bytes we were given.
            if n > i.len() {
                return fail(ProtocolError::LengthExceedsInput {
                    what,
                    len: n,
                    remaining: i.len(),
                });
            }
            Ok((i, Some(n)))
        }
    }
}

#[inline]
fn write_len<B: BufMut>(
    b: &mut B,
    len: Option<usize>,
    flexible: bool,
    wide: bool,
    what: &'static str,
) -> Result<(), ProtocolError> {
    match (len, flexible) {
        (None, true) => write_uvarint(b, 0),
        (None, false) if wide => write_i32(b, -1),
        (None, false) => write_i16(b, -1),
        (Some(n), true) => {
            let v = u32::try_from(n)
                .ok()
                .and_then(|n| n.checked_add(1))
                .ok_or(ProtocolError::TooLong { what, len: n })?;
            write_uvarint(b, v)
        }
        (Some(n), false) if wide => write_i32(
            b,
            i32::try_from(n).map_err(|_| ProtocolError::TooLong { what, len: n })?,
        ),
        (Some(n), false) => write_i16(
            b,
            i16::try_from(n).map_err(|_| ProtocolError::TooLong { what, len: n })?,
        ),
    }
    Ok(())
}

#[inline]
fn len_size(len: Option<usize>, flexible: bool, wide: bool) -> usize {
    if flexible {
        uvarint_size(len.map_or(0, |n| (n as u32).wrapping_add(1)))
    } else if wide {
        4
    } else {
        2
    }
}

/// Reads a nullable string (`STRING`/`COMPACT_STRING` with null allowed).
#[inline]
pub fn read_nullable_string<'a>(
    i: &'a [u8],
    owner: &Bytes,
    flexible: bool,
) -> PResult<'a, Option<StrBytes>> {
    let (i, len) = read_len(i, flexible, false, "string")?;
    match len {
        None => Ok((i, None)),
        Some(n) => {
            let (i, raw) = take(i, n)?;
            if std::str::from_utf8(raw).is_err() {
                return fail(ProtocolError::InvalidUtf8);
            }
            Ok((
                i,
                Some(StrBytes::from_utf8_unchecked_bytes(share(owner, raw))),
            ))
        }
    }
}

/// Reads a string that must not be null.
#[inline]
pub fn read_string<'a>(
    i: &'a [u8],
    owner: &Bytes,
    flexible: bool,
    field: &'static str,
    version: i16,
) -> PResult<'a, StrBytes> {
    match read_nullable_string(i, owner, flexible)? {
        (i, Some(s)) => Ok((i, s)),
        (_, None) => fail(ProtocolError::UnexpectedNull { field, version }),
    }
}

/// Writes a nullable string.
#[inline]
pub fn write_nullable_string<B: BufMut>(
    b: &mut B,
    v: Option<&StrBytes>,
    flexible: bool,
) -> Result<(), ProtocolError> {
    write_len(b, v.map(|s| s.len()), flexible, false, "string")?;
    if let Some(s) = v {
        b.put_slice(s.as_bytes());
    }
    Ok(())
}

/// Encoded size of a nullable string.
#[inline]
pub fn nullable_string_size(v: Option<&StrBytes>, flexible: bool) -> usize {
    let n = v.map(|s| s.len());
    len_size(n, flexible, false) + n.unwrap_or(0)
}

/// Reads nullable bytes (`BYTES`/`COMPACT_BYTES`, also `RECORDS`), zero-copy.
#[inline]
pub fn read_nullable_bytes<'a>(
    i: &'a [u8],
    owner: &Bytes,
    flexible: bool,
) -> PResult<'a, Option<Bytes>> {
    let (i, len) = read_len(i, flexible, true, "bytes")?;
    match len {
        None => Ok((i, None)),
        Some(n) => {
            let (i, raw) = take(i, n)?;
            Ok((i, Some(share(owner, raw))))
        }
    }
}

/// Reads bytes that must not be null.
#[inline]
pub fn read_bytes<'a>(
    i: &'a [u8],
    owner: &Bytes,
    flexible: bool,
    field: &'static str,
    version: i16,
) -> PResult<'a, Bytes> {
    match read_nullable_bytes(i, owner, flexible)? {
        (i, Some(s)) => Ok((i, s)),
        (_, None) => fail(ProtocolError::UnexpectedNull { field, version }),
    }
}

/// Writes nullable bytes.
#[inline]
pub fn write_nullable_bytes<B: BufMut>(
    b: &mut B,
    v: Option<&[u8]>,
    flexible: bool,
) -> Result<(), ProtocolError> {
    write_len(b, v.map(|s| s.len()), flexible, true, "bytes")?;
    if let Some(s) = v {
        b.put_slice(s);
    }
    Ok(())
}

/// Encoded size of nullable bytes.
#[inline]
pub fn nullable_bytes_size(v: Option<&[u8]>, flexible: bool) -> usize {
    let n = v.map(|s| s.len());
    len_size(n, flexible, true) + n.unwrap_or(0)
}

/// What decoding one message may allocate for its arrays: a multiple of the
/// input's size. An element takes at least one byte on the wire but may be
/// a hundred in memory; without a bound, a 100 MiB frame of empty elements
/// would become gigabytes of structs. Legitimate messages stay far below
/// (a Metadata or Produce response allocates 1-4x its size).
pub struct DecodeBudget {
    outer: Option<(usize, usize)>,
}

/// How many bytes of arrays decoding may allocate per input byte.
pub const DECODE_BUDGET_FACTOR: usize = 16;

thread_local! {
    /// (input length, bytes left) of the message being decoded on this thread.
    static BUDGET: std::cell::Cell<Option<(usize, usize)>> = const { std::cell::Cell::new(None) };
}

impl DecodeBudget {
    /// Starts the budget of a message of `input` bytes (a nested decode
    /// keeps the outer one); it ends when the guard drops.
    pub fn enter(input: usize) -> DecodeBudget {
        let outer = BUDGET.with(|b| b.get());
        if outer.is_none() {
            let budget = input.saturating_mul(DECODE_BUDGET_FACTOR).max(64 * 1024);
            BUDGET.with(|b| b.set(Some((input, budget))));
        }
        DecodeBudget { outer }
    }

    /// Takes `bytes` from the current budget (none outside [`enter`](Self::enter)).
    fn charge(bytes: usize) -> Result<(), nom::Err<ProtocolError>> {
        BUDGET.with(|b| match b.get() {
            None => Ok(()),
            Some((input, left)) => match left.checked_sub(bytes) {
                Some(left) => {
                    b.set(Some((input, left)));
                    Ok(())
                }
                None => Err(nom::Err::Error(ProtocolError::AllocationBudget {
                    input,
                    budget: input.saturating_mul(DECODE_BUDGET_FACTOR).max(64 * 1024),
                })),
            },
        })
    }
}

impl Drop for DecodeBudget {
    fn drop(&mut self) {
        let outer = self.outer;
        BUDGET.with(|b| b.set(outer));
    }
}

/// Reads a nullable array, each element with `elem`.
///
/// The count is checked against the remaining input (every element takes at
/// least one byte), so a hostile count cannot make us reserve memory.
#[inline]
pub fn read_nullable_array<'a, T>(
    i: &'a [u8],
    flexible: bool,
    mut elem: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Option<Vec<T>>> {
    let (mut i, len) = read_len(i, flexible, true, "array")?;
    let Some(n) = len else { return Ok((i, None)) };
    DecodeBudget::charge(n.saturating_mul(std::mem::size_of::<T>()))?;
    // Reserve no more than the remaining input could describe in bytes.
    let mut out = Vec::with_capacity(n.min(i.len() / std::mem::size_of::<T>().max(1)));
    for _ in 0..n {
        let (rest, v) = elem(i)?;
        i = rest;
        out.push(v);
    }
    Ok((i, Some(out)))
}

/// Reads an array that must not be null.
#[inline]
pub fn read_array<'a, T>(
    i: &'a [u8],
    flexible: bool,
    field: &'static str,
    version: i16,
    elem: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    match read_nullable_array(i, flexible, elem)? {
        (i, Some(v)) => Ok((i, v)),
        (_, None) => fail(ProtocolError::UnexpectedNull { field, version }),
    }
}

/// Writes a nullable array, each element with `elem`.
#[inline]
pub fn write_nullable_array<B: BufMut, T>(
    b: &mut B,
    v: Option<&[T]>,
    flexible: bool,
    mut elem: impl FnMut(&mut B, &T) -> Result<(), ProtocolError>,
) -> Result<(), ProtocolError> {
    write_len(b, v.map(|s| s.len()), flexible, true, "array")?;
    for e in v.into_iter().flatten() {
        elem(b, e)?;
    }
    Ok(())
}

/// Encoded size of a nullable array.
#[inline]
pub fn nullable_array_size<T>(
    v: Option<&[T]>,
    flexible: bool,
    mut elem: impl FnMut(&T) -> Result<usize, ProtocolError>,
) -> Result<usize, ProtocolError> {
    let mut n = len_size(v.map(|s| s.len()), flexible, true);
    for e in v.into_iter().flatten() {
        n += elem(e)?;
    }
    Ok(n)
}

/// Reads a nullable struct: an int8 marker (-1 null, 1 present), then the struct.
#[inline]
pub fn read_nullable_struct<'a, T>(
    i: &'a [u8],
    read: impl FnOnce(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Option<T>> {
    let (i, marker) = read_i8(i)?;
    match marker {
        -1 => Ok((i, None)),
        1 => {
            let (i, v) = read(i)?;
            Ok((i, Some(v)))
        }
        m => fail(ProtocolError::InvalidLength {
            what: "nullable struct marker",
            len: i64::from(m),
        }),
    }
}

/// Writes a nullable struct with its int8 marker.
#[inline]
pub fn write_nullable_struct<B: BufMut, T>(
    b: &mut B,
    v: Option<&T>,
    write: impl FnOnce(&mut B, &T) -> Result<(), ProtocolError>,
) -> Result<(), ProtocolError> {
    match v {
        None => {
            write_i8(b, -1);
            Ok(())
        }
        Some(v) => {
            write_i8(b, 1);
            write(b, v)
        }
    }
}

/// Encoded size of a nullable struct.
#[inline]
pub fn nullable_struct_size<T>(
    v: Option<&T>,
    size: impl FnOnce(&T) -> Result<usize, ProtocolError>,
) -> Result<usize, ProtocolError> {
    Ok(1 + v.map(size).transpose()?.unwrap_or(0))
}

/// Reads a tagged-field section. `known` is called for each tag with its
/// payload and returns `Ok(false)` for tags it does not know; those are kept.
#[inline]
pub fn read_tagged_fields<'a>(
    i: &'a [u8],
    owner: &Bytes,
    mut known: impl FnMut(u32, &'a [u8]) -> Result<bool, ProtocolError>,
) -> PResult<'a, UnknownTaggedFields> {
    let (mut i, count) = read_uvarint(i)?;
    let mut unknown = UnknownTaggedFields::new();
    for _ in 0..count {
        let (rest, tag) = read_uvarint(i)?;
        let (rest, size) = read_uvarint(rest)?;
        let (rest, data) = take(rest, size as usize)?;
        i = rest;
        if !known(tag, data).map_err(nom::Err::Error)? {
            unknown.insert(tag, share(owner, data));
        }
    }
    Ok((i, unknown))
}

/// Decodes a whole tagged-field payload with `parse`; leftover bytes are an error.
#[inline]
pub fn read_tagged_value<'a, T>(
    data: &'a [u8],
    parse: impl FnOnce(&'a [u8]) -> PResult<'a, T>,
) -> Result<T, ProtocolError> {
    let (rest, v) = parse(data)?;
    if !rest.is_empty() {
        return Err(ProtocolError::TrailingBytes(rest.len()));
    }
    Ok(v)
}

/// Writes a tagged-field section: known fields (already in ascending tag
/// order) merged with the unknown ones kept from decoding.
pub struct TaggedFieldsWriter<'u> {
    unknown: std::iter::Peekable<std::collections::btree_map::Iter<'u, u32, Bytes>>,
}

impl<'u> TaggedFieldsWriter<'u> {
    /// Writes the field count and prepares to write the fields.
    #[inline]
    pub fn begin<B: BufMut>(
        b: &mut B,
        known_count: usize,
        unknown: &'u UnknownTaggedFields,
    ) -> Self {
        write_uvarint(b, (known_count + unknown.len()) as u32);
        TaggedFieldsWriter {
            unknown: unknown.iter().peekable(),
        }
    }

    #[inline]
    fn flush_below<B: BufMut>(&mut self, b: &mut B, tag: u32) {
        while let Some((&t, data)) = self.unknown.next_if(|(&t, _)| t < tag) {
            write_uvarint(b, t);
            write_uvarint(b, data.len() as u32);
            b.put_slice(data);
        }
    }

    /// Writes one known field of `size` bytes with `write`.
    #[inline]
    pub fn field<B: BufMut>(
        &mut self,
        b: &mut B,
        tag: u32,
        size: usize,
        write: impl FnOnce(&mut B) -> Result<(), ProtocolError>,
    ) -> Result<(), ProtocolError> {
        self.flush_below(b, tag);
        write_uvarint(b, tag);
        write_uvarint(
            b,
            u32::try_from(size).map_err(|_| ProtocolError::TooLong {
                what: "tagged field",
                len: size,
            })?,
        );
        write(b)
    }

    /// Writes the unknown fields with tags above every known one.
    #[inline]
    pub fn finish<B: BufMut>(mut self, b: &mut B) {
        self.flush_below(b, u32::MAX);
        if let Some((&t, data)) = self.unknown.next() {
            write_uvarint(b, t);
            write_uvarint(b, data.len() as u32);
            b.put_slice(data);
        }
    }
}

/// Encoded size of one tagged field of `size` payload bytes.
#[inline]
pub fn tagged_field_size(tag: u32, size: usize) -> usize {
    uvarint_size(tag) + uvarint_size(size as u32) + size
}

/// Encoded size of a tagged-field section's count and its unknown fields.
#[inline]
pub fn unknown_tagged_fields_size(known_count: usize, unknown: &UnknownTaggedFields) -> usize {
    uvarint_size((known_count + unknown.len()) as u32)
        + unknown
            .iter()
            .map(|(&t, d)| tagged_field_size(t, d.len()))
            .sum::<usize>()
}

#[cfg(test)]
mod tests;
