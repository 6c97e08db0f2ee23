//! RecordBatch v2 reader: header, CRC check, lazy record iteration with keys,
//! values and headers borrowed from the batch buffer.

use bytes::{Bytes, BytesMut};

use kafka_compression::CompressionType;

use super::codec::CodecRegistry;
use super::{
    attributes, TimestampType, BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, MAGIC_V2, OFFSET_ATTRIBUTES,
};
use crate::primitives::{
    fail, read_i16, read_i32, read_i64, read_i8, read_u32, read_varint, read_varlong, share, take,
    PResult,
};
use crate::ProtocolError;

/// A parsed RecordBatch v2 header with its records section as on the wire
/// (compressed when the attributes name a codec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the `batch_length` field.
    pub batch_length: i32,
    /// Leader epoch of the partition when the batch was appended.
    pub partition_leader_epoch: i32,
    /// Always 2.
    pub magic: i8,
    /// CRC-32C of bytes 21 to the end (verified by [`RecordBatch::parse`]).
    pub crc: u32,
    /// Attribute bits, see [`super::attributes`].
    pub attributes: i16,
    /// Offset delta of the last record.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp of the batch.
    pub max_timestamp: i64,
    /// Producer id, -1 when not idempotent.
    pub producer_id: i64,
    /// Producer epoch, -1 when not idempotent.
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 when not idempotent.
    pub base_sequence: i32,
    /// Number of records.
    pub record_count: i32,
    /// The records section, zero-copy from the input.
    pub records: Bytes,
}

impl RecordBatch {
    /// Parses one batch from the front of `buf` and verifies its CRC; returns
    /// the batch and the bytes after it.
    pub fn parse(buf: &Bytes) -> Result<(RecordBatch, Bytes), ProtocolError> {
        let (rest, batch) = Self::parse_from(buf, buf)?;
        let rest = share(buf, rest);
        Ok((batch, rest))
    }

    /// nom parser of one batch over `i`, a slice of `owner`.
    pub fn parse_from<'a>(i: &'a [u8], owner: &Bytes) -> PResult<'a, RecordBatch> {
        let whole = i;
        let (i, base_offset) = read_i64(i)?;
        let (i, batch_length) = read_i32(i)?;
        if batch_length < (BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) as i32 {
            return fail(ProtocolError::MalformedBatch(
                "batch length shorter than the header",
            ));
        }
        let total = BATCH_LOG_OVERHEAD + batch_length as usize;
        if whole.len() < total {
            return fail(ProtocolError::Truncated);
        }
        let (i, partition_leader_epoch) = read_i32(i)?;
        let (i, magic) = read_i8(i)?;
        if magic != MAGIC_V2 {
            return fail(ProtocolError::UnsupportedMagic(magic));
        }
        let (i, crc) = read_u32(i)?;
        let computed = crc32c::crc32c(&whole[OFFSET_ATTRIBUTES..total]);
        if computed != crc {
            return fail(ProtocolError::CrcMismatch {
                stored: crc,
                computed,
            });
        }
        let (i, attributes) = read_i16(i)?;
        let (i, last_offset_delta) = read_i32(i)?;
        let (i, base_timestamp) = read_i64(i)?;
        let (i, max_timestamp) = read_i64(i)?;
        let (i, producer_id) = read_i64(i)?;
        let (i, producer_epoch) = read_i16(i)?;
        let (i, base_sequence) = read_i32(i)?;
        let (i, record_count) = read_i32(i)?;
        if record_count < 0 {
            return fail(ProtocolError::MalformedBatch("negative record count"));
        }
        let (i, records) = take(i, total - BATCH_HEADER_SIZE)?;
        debug_assert_eq!(whole.len() - i.len(), total);
        Ok((
            i,
            RecordBatch {
                base_offset,
                batch_length,
                partition_leader_epoch,
                magic,
                crc,
                attributes,
                last_offset_delta,
                base_timestamp,
                max_timestamp,
                producer_id,
                producer_epoch,
                base_sequence,
                record_count,
                records: share(owner, records),
            },
        ))
    }

    /// The compression codec of the records section.
    pub fn compression(&self) -> Result<CompressionType, ProtocolError> {
        CompressionType::from_attributes(self.attributes).map_err(|_| {
            ProtocolError::UnknownCompression(
                (self.attributes & CompressionType::ATTRIBUTES_MASK) as u8,
            )
        })
    }

    /// Which clock the timestamps come from.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & attributes::LOG_APPEND_TIME != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Whether the batch is part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & attributes::TRANSACTIONAL != 0
    }

    /// Whether the batch holds a control record (a transaction marker).
    pub fn is_control(&self) -> bool {
        self.attributes & attributes::CONTROL != 0
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Iterates the records of an uncompressed batch; a compressed one is an
    /// error (use [`RecordBatch::decompressed_records`]).
    pub fn records(&self) -> Result<Records<'_>, ProtocolError> {
        match self.compression()? {
            CompressionType::None => Ok(self.records_in(&self.records)),
            other => Err(ProtocolError::UnknownCompression(other.id())),
        }
    }

    /// The uncompressed records section: the section itself when the batch
    /// is not compressed, else its decompression (at most `limit` bytes) with
    /// the codec `codecs` gives for it.
    pub fn decompressed_records(
        &self,
        codecs: &dyn CodecRegistry,
        limit: usize,
    ) -> Result<Bytes, ProtocolError> {
        let compression = self.compression()?;
        if compression == CompressionType::None {
            return Ok(self.records.clone());
        }
        let codec = codecs
            .codec(compression)
            .ok_or(ProtocolError::UnknownCompression(compression.id()))?;
        let mut out = BytesMut::new();
        codec.decompress(&self.records, &mut out, limit)?;
        Ok(out.freeze())
    }

    /// Iterates the records of an uncompressed records `section` of this batch
    /// (for example the output of [`RecordBatch::decompressed_records`]).
    pub fn records_in<'a>(&self, section: &'a [u8]) -> Records<'a> {
        Records {
            rest: section,
            remaining: self.record_count,
            base_offset: self.base_offset,
            base_timestamp: self.base_timestamp,
            log_append_time: (self.timestamp_type() == TimestampType::LogAppendTime)
                .then_some(self.max_timestamp),
            failed: false,
        }
    }
}

/// Iterates the batches of a records blob (a Produce or Fetch `records`
/// field). A partial batch at the end, which brokers may send in a Fetch
/// response, ends the iteration; see [`RecordBatches::trailing_bytes`].
#[derive(Debug, Clone)]
pub struct RecordBatches {
    rest: Bytes,
    failed: bool,
}

impl RecordBatches {
    /// Batches of `records`.
    pub fn new(records: Bytes) -> Self {
        RecordBatches {
            rest: records,
            failed: false,
        }
    }

    /// Bytes left over after the last complete batch.
    pub fn trailing_bytes(&self) -> usize {
        self.rest.len()
    }
}

impl Iterator for RecordBatches {
    type Item = Result<RecordBatch, ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.len() < BATCH_LOG_OVERHEAD {
            return None;
        }
        let len = i32::from_be_bytes([self.rest[8], self.rest[9], self.rest[10], self.rest[11]]);
        if len >= 0 && self.rest.len() < BATCH_LOG_OVERHEAD + len as usize {
            return None;
        }
        match RecordBatch::parse(&self.rest) {
            Ok((batch, rest)) => {
                self.rest = rest;
                Some(Ok(batch))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// One record, borrowing its key, value and headers from the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// Offset relative to the batch's base offset.
    pub offset_delta: i32,
    /// Timestamp relative to the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Absolute offset (base offset + delta).
    pub offset: i64,
    /// Absolute timestamp (the batch's max timestamp under LogAppendTime).
    pub timestamp: i64,
    /// Key, `None` for null.
    pub key: Option<&'a [u8]>,
    /// Value, `None` for null (a tombstone).
    pub value: Option<&'a [u8]>,
    /// Headers, parsed on demand.
    pub headers: Headers<'a>,
}

/// The headers of a record, parsed when iterated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers<'a> {
    count: i32,
    raw: &'a [u8],
}

impl<'a> Headers<'a> {
    /// Number of headers.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates the headers; malformed bytes give one error, then the end.
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter {
            rest: self.raw,
            remaining: self.count,
            failed: false,
        }
    }
}

impl<'a> IntoIterator for &Headers<'a> {
    type Item = Result<Header<'a>, ProtocolError>;
    type IntoIter = HeaderIter<'a>;
    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// One record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Header key (UTF-8).
    pub key: &'a str,
    /// Header value, `None` for null.
    pub value: Option<&'a [u8]>,
}

/// Iterator over the headers of a record.
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    rest: &'a [u8],
    remaining: i32,
    failed: bool,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Result<Header<'a>, ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.remaining <= 0 {
            return None;
        }
        self.remaining -= 1;
        let parsed = (|| {
            let (i, key) = read_varint_bytes(self.rest)?;
            let key = key.ok_or(ProtocolError::MalformedBatch("null header key"))?;
            let key = std::str::from_utf8(key).map_err(|_| ProtocolError::InvalidUtf8)?;
            let (i, value) = read_varint_bytes(i)?;
            if self.remaining == 0 && !i.is_empty() {
                return Err(ProtocolError::MalformedBatch("bytes after the last header"));
            }
            self.rest = i;
            Ok(Header { key, value })
        })();
        if parsed.is_err() {
            self.failed = true;
        }
        Some(parsed)
    }
}

fn read_varint_bytes(i: &[u8]) -> Result<(&[u8], Option<&[u8]>), ProtocolError> {
    let (i, len) = read_varint(i)?;
    match len {
        -1 => Ok((i, None)),
        n if n < 0 => Err(ProtocolError::InvalidLength {
            what: "record field",
            len: i64::from(n),
        }),
        n => {
            let (i, b) = take(i, n as usize)?;
            Ok((i, Some(b)))
        }
    }
}

/// Lazy iterator over the records of a batch.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
    remaining: i32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    failed: bool,
}

/// Fast-path readers over a slice and a position: `None` on anything that is
/// not a well-formed value, in which case the caller re-parses with the nom
/// parsers, which say what is wrong. Each accepts exactly what its nom
/// counterpart accepts and returns the same value.
mod fast {
    /// As `primitives::read_uvarint`: at most 5 bytes, the fifth at most 0x0f.
    #[inline(always)]
    pub(super) fn uvarint(b: &[u8], at: &mut usize) -> Option<u32> {
        let mut value = 0u32;
        for n in 0..5 {
            let byte = *b.get(*at + n)?;
            if n == 4 && byte > 0x0f {
                return None;
            }
            value |= u32::from(byte & 0x7f) << (7 * n);
            if byte & 0x80 == 0 {
                *at += n + 1;
                return Some(value);
            }
        }
        None
    }

    /// As `primitives::read_uvarlong`: at most 10 bytes, the tenth at most 0x01.
    #[inline(always)]
    pub(super) fn uvarlong(b: &[u8], at: &mut usize) -> Option<u64> {
        let mut value = 0u64;
        for n in 0..10 {
            let byte = *b.get(*at + n)?;
            if n == 9 && byte > 0x01 {
                return None;
            }
            value |= u64::from(byte & 0x7f) << (7 * n);
            if byte & 0x80 == 0 {
                *at += n + 1;
                return Some(value);
            }
        }
        None
    }

    /// As `primitives::read_varint`.
    #[inline(always)]
    pub(super) fn varint(b: &[u8], at: &mut usize) -> Option<i32> {
        let u = uvarint(b, at)?;
        Some(((u >> 1) as i32) ^ -((u & 1) as i32))
    }

    /// As `primitives::read_varlong`.
    #[inline(always)]
    pub(super) fn varlong(b: &[u8], at: &mut usize) -> Option<i64> {
        let u = uvarlong(b, at)?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// As `read_varint_bytes`: -1 is null, other negative lengths fail.
    #[inline(always)]
    #[allow(clippy::option_option)]
    pub(super) fn bytes<'a>(b: &'a [u8], at: &mut usize) -> Option<Option<&'a [u8]>> {
        match varint(b, at)? {
            -1 => Some(None),
            n if n < 0 => None,
            n => {
                let end = at.checked_add(n as usize)?;
                let s = b.get(*at..end)?;
                *at = end;
                Some(Some(s))
            }
        }
    }
}

impl<'a> Records<'a> {
    /// One record, read without building an error on the way (the common
    /// case); `None` when the record is malformed, so that
    /// [`Records::parse_record`] reports why. Accepts exactly what
    /// `parse_record` accepts, with the same result.
    #[inline(always)]
    fn parse_record_fast(&self) -> Option<(Record<'a>, &'a [u8])> {
        let rest = self.rest;
        let mut at = 0;
        let len = fast::varint(rest, &mut at)?;
        if len < 0 {
            return None;
        }
        let end = at.checked_add(len as usize)?;
        let body = rest.get(at..end)?;
        let after = &rest[end..];
        // Attributes (unused), then the fields.
        body.first()?;
        let mut at = 1;
        let timestamp_delta = fast::varlong(body, &mut at)?;
        let offset_delta = fast::varint(body, &mut at)?;
        let key = fast::bytes(body, &mut at)?;
        let value = fast::bytes(body, &mut at)?;
        let count = fast::varint(body, &mut at)?;
        let i = &body[at..];
        if count < 0 || count as usize > i.len() / 2 || (count == 0 && !i.is_empty()) {
            return None;
        }
        Some((
            Record {
                offset_delta,
                timestamp_delta,
                offset: self.base_offset.wrapping_add(i64::from(offset_delta)),
                timestamp: self
                    .log_append_time
                    .unwrap_or(self.base_timestamp.wrapping_add(timestamp_delta)),
                key,
                value,
                headers: Headers { count, raw: i },
            },
            after,
        ))
    }

    /// Why the record at the front of `rest` is malformed: the fast path
    /// rejected it, and the nom parser, which accepts the same records, says
    /// what is wrong. Kept out of line so that a record comes back from
    /// [`Records::next`] in registers.
    #[cold]
    #[inline(never)]
    fn record_error(&self) -> ProtocolError {
        match self.parse_record_slow() {
            Err(e) => e,
            // Unreachable while both readers accept the same records (a test
            // checks it); an error rather than a panic all the same.
            Ok(_) => ProtocolError::MalformedBatch("record rejected by the fast reader"),
        }
    }

    /// The reference parser of one record (nom, with precise errors); returns
    /// the record and the bytes after it.
    fn parse_record_slow(&self) -> Result<(Record<'a>, &'a [u8]), ProtocolError> {
        let (i, len) = read_varint(self.rest)?;
        if len < 0 {
            return Err(ProtocolError::InvalidLength {
                what: "record",
                len: i64::from(len),
            });
        }
        let (after, body) = take(i, len as usize)?;
        let (i, _attributes) = read_i8(body)?;
        let (i, timestamp_delta) = read_varlong(i)?;
        let (i, offset_delta) = read_varint(i)?;
        let (i, key) = read_varint_bytes(i)?;
        let (i, value) = read_varint_bytes(i)?;
        let (i, count) = read_varint(i)?;
        if count < 0 || count as usize > i.len() / 2 {
            return Err(ProtocolError::MalformedBatch(
                "header count does not fit the record",
            ));
        }
        if count == 0 && !i.is_empty() {
            return Err(ProtocolError::MalformedBatch(
                "bytes after the record's last field",
            ));
        }
        Ok((
            Record {
                offset_delta,
                timestamp_delta,
                offset: self.base_offset.wrapping_add(i64::from(offset_delta)),
                timestamp: self
                    .log_append_time
                    .unwrap_or(self.base_timestamp.wrapping_add(timestamp_delta)),
                key,
                value,
                headers: Headers { count, raw: i },
            },
            after,
        ))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, ProtocolError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.remaining == 0 {
            if self.rest.is_empty() {
                return None;
            }
            self.failed = true;
            return Some(Err(ProtocolError::MalformedBatch(
                "bytes after the last record",
            )));
        }
        self.remaining -= 1;
        match self.parse_record_fast() {
            Some((record, after)) => {
                self.rest = after;
                Some(Ok(record))
            }
            None => {
                self.failed = true;
                Some(Err(self.record_error()))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining as usize + 1))
    }
}

/// The fast record reader must accept exactly the records the nom reader
/// accepts, with the same result.
#[cfg(test)]
mod fast_path_tests {
    use bytes::Bytes;

    use super::{RecordBatch, Records};
    use crate::records::{BatchParams, RecordBatchWriter};

    fn same(records: &Records<'_>, what: &str) {
        let fast = records.parse_record_fast();
        let slow = records.parse_record_slow();
        match (fast, slow) {
            (Some(f), Ok(s)) => assert_eq!(f, s, "{what}"),
            (None, Err(_)) => {}
            (f, s) => panic!("{what}: fast {f:?}, slow {s:?}"),
        }
    }

    fn batch() -> RecordBatch {
        let mut w = RecordBatchWriter::new(256);
        w.append(
            1_000,
            Some(b"key"),
            Some(b"value"),
            [("h", Some(&b"v"[..])), ("n", None)],
        )
        .unwrap();
        w.append(-5_000_000_000, None, None, []).unwrap();
        w.append(7, Some(b""), Some(&[0xab; 300]), []).unwrap();
        let bytes = w.finish(BatchParams::default(), None).unwrap();
        RecordBatch::parse(&bytes).unwrap().0
    }

    #[test]
    fn valid_records() {
        let b = batch();
        let mut records = b.records().unwrap();
        loop {
            same(&records, "valid");
            match records.next() {
                Some(r) => {
                    r.unwrap();
                }
                None => break,
            }
        }
    }

    #[test]
    fn mutated_and_truncated_records() {
        let b = batch();
        let section = b.records.to_vec();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Interesting bytes: varint continuation, the fifth/tenth byte limits,
        // zigzag -1, negative lengths.
        const SPECIAL: [u8; 10] = [0x00, 0x01, 0x02, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x03, 0x81];
        for round in 0..20_000 {
            let mut m = section.clone();
            for _ in 0..1 + next() % 4 {
                // Half of the time among the fields of the first records.
                let span = if next() % 2 == 0 { 48 } else { m.len() };
                let at = (next() as usize) % span;
                m[at] = if next() % 2 == 0 {
                    SPECIAL[(next() % 10) as usize]
                } else {
                    next() as u8
                };
            }
            let cut = if round % 3 == 0 {
                (next() as usize) % (m.len() + 1)
            } else {
                m.len()
            };
            let m = Bytes::from(m[..cut].to_vec());
            let mut records = b.records_in(&m);
            for _ in 0..4 {
                same(&records, "mutated");
                match records.next() {
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn long_varints() {
        let b = batch();
        // Record length as a 5-byte varint, fifth byte at the limit and past it.
        for fifth in [0x00, 0x0f, 0x10, 0x80] {
            let m = [0x80, 0x80, 0x80, 0x80, fifth, 0, 0, 0, 0, 0, 0, 0];
            same(&b.records_in(&m), "5-byte length");
        }
        // A record whose timestamp delta is a 10-byte varlong.
        for tenth in [0x00, 0x01, 0x02] {
            let mut body = vec![0u8]; // attributes
            body.extend_from_slice(&[0x81; 9]);
            body.push(tenth);
            body.extend_from_slice(&[0, 1, 1, 0]); // offset 0, null key, null value, no headers
            let mut m = vec![(body.len() as u8) << 1];
            m.extend_from_slice(&body);
            same(&b.records_in(&m), "10-byte timestamp delta");
        }
    }
}
