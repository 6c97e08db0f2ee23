//! RecordBatch v2 writer: records are appended in their final wire form after
//! a reserved header, and `finish` back-fills the header and the CRC in place.

use bytes::{BufMut, Bytes, BytesMut};

use kafka_compression::{Codec, CompressionType};

use super::{
    attributes, BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, MAGIC_V2, OFFSET_ATTRIBUTES, OFFSET_CRC,
};
use crate::primitives::{varint_size, varlong_size, write_varint, write_varlong};
use crate::ProtocolError;

/// Header fields decided when the batch is finished (drained), not when
/// records are appended. `Default` is a plain non-idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchParams {
    /// Base offset; 0 for a producer (the broker assigns offsets).
    pub base_offset: i64,
    /// Partition leader epoch; -1 for a producer.
    pub partition_leader_epoch: i32,
    /// Producer id, or -1 when not idempotent.
    pub producer_id: i64,
    /// Producer epoch, or -1 when not idempotent.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1 when not idempotent.
    pub base_sequence: i32,
    /// Part of a transaction.
    pub transactional: bool,
    /// Holds a control record (brokers write these; tests too).
    pub control: bool,
}

impl Default for BatchParams {
    fn default() -> Self {
        BatchParams {
            base_offset: 0,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            control: false,
        }
    }
}

/// Encoded size of one record (length prefix included).
pub fn record_size<'h, H>(
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: H,
) -> usize
where
    H: IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
{
    let (body, _) = record_body_size(timestamp_delta, offset_delta, key, value, headers);
    varint_size(body as i32) + body
}

#[inline]
fn bytes_size(b: Option<&[u8]>) -> usize {
    match b {
        None => 1,
        Some(b) => varint_size(b.len() as i32) + b.len(),
    }
}

/// Size of a record without its length prefix, and its header count.
#[inline]
fn record_body_size<'h, H>(
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: H,
) -> (usize, i32)
where
    H: IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
{
    let mut count = 0i32;
    let mut headers_size = 0usize;
    for (k, v) in headers {
        count += 1;
        headers_size += bytes_size(Some(k.as_bytes())) + bytes_size(v);
    }
    let size = 1
        + varlong_size(timestamp_delta)
        + varint_size(offset_delta)
        + bytes_size(key)
        + bytes_size(value)
        + varint_size(count)
        + headers_size;
    (size, count)
}

#[inline]
fn put_bytes(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        None => write_varint(buf, -1),
        Some(b) => {
            write_varint(buf, b.len() as i32);
            buf.put_slice(b);
        }
    }
}

/// Builds one RecordBatch v2 in place.
///
/// ```
/// use kafka_protocol::records::{BatchParams, RecordBatch, RecordBatchWriter};
///
/// let mut w = RecordBatchWriter::new(1024);
/// w.append(1_700_000_000_000, Some(b"key"), Some(b"value"), [("trace", Some(&b"1"[..]))])?;
/// w.append(1_700_000_000_005, None, None, [])?; // a tombstone without key
/// let batch = w.finish(BatchParams { producer_id: 7, producer_epoch: 0, base_sequence: 0, ..Default::default() }, None)?;
///
/// let (parsed, rest) = RecordBatch::parse(&batch)?;
/// assert!(rest.is_empty());
/// let records: Vec<_> = parsed.records()?.collect::<Result<_, _>>()?;
/// assert_eq!(records[0].key, Some(&b"key"[..]));
/// assert_eq!(records[1].value, None);
/// assert_eq!(records[1].offset_delta, 1);
/// # Ok::<(), kafka_protocol::ProtocolError>(())
/// ```
#[derive(Debug)]
pub struct RecordBatchWriter {
    buf: BytesMut,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl RecordBatchWriter {
    /// A writer whose buffer starts with room for `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self::with_buffer(BytesMut::with_capacity(capacity.max(BATCH_HEADER_SIZE)))
    }

    /// A writer that reuses `buf` (cleared first), e.g. from a buffer pool.
    pub fn with_buffer(mut buf: BytesMut) -> Self {
        buf.clear();
        // Reserved for the header, filled in by `finish`.
        buf.put_bytes(0, BATCH_HEADER_SIZE);
        RecordBatchWriter {
            buf,
            count: 0,
            base_timestamp: 0,
            max_timestamp: i64::MIN,
        }
    }

    /// Number of records appended.
    pub fn record_count(&self) -> i32 {
        self.count
    }

    /// Whether no record was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of the batch so far (header included), uncompressed.
    pub fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Bytes the batch would hold after appending this record, for the
    /// "does it still fit" check of an accumulator.
    pub fn size_after<'h, H>(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: H,
    ) -> usize
    where
        H: IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
    {
        let delta = if self.count == 0 {
            0
        } else {
            timestamp.wrapping_sub(self.base_timestamp)
        };
        self.buf.len() + record_size(delta, self.count, key, value, headers)
    }

    /// Appends one record. `headers` are (key, nullable value) pairs and are
    /// walked twice (size, then bytes), so they must be cheap to clone.
    #[inline]
    pub fn append<'h, H>(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: H,
    ) -> Result<(), ProtocolError>
    where
        H: IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
        H::IntoIter: Clone,
    {
        self.append_within(usize::MAX, timestamp, key, value, headers)
            .map(|_| ())
    }

    /// Appends one record if the batch stays within `limit` bytes (an
    /// empty batch takes any record); `Ok(false)`, with nothing written,
    /// when it would not. The record's size is worked out once, for the
    /// check and the write: an accumulator's "does it still fit" costs
    /// nothing extra.
    #[inline]
    pub fn append_within<'h, H>(
        &mut self,
        limit: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: H,
    ) -> Result<bool, ProtocolError>
    where
        H: IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
        H::IntoIter: Clone,
    {
        if self.count == i32::MAX {
            return Err(ProtocolError::TooLong {
                what: "record count",
                len: self.count as usize,
            });
        }
        let (key_len, value_len) = (key.map_or(0, <[u8]>::len), value.map_or(0, <[u8]>::len));
        if key_len > i32::MAX as usize || value_len > i32::MAX as usize {
            return Err(ProtocolError::TooLong {
                what: "record key or value",
                len: if key_len > i32::MAX as usize {
                    key_len
                } else {
                    value_len
                },
            });
        }
        let base_timestamp = if self.count == 0 {
            timestamp
        } else {
            self.base_timestamp
        };
        let timestamp_delta = timestamp.wrapping_sub(base_timestamp);
        let offset_delta = self.count;
        let headers = headers.into_iter();
        let (body, header_count) =
            record_body_size(timestamp_delta, offset_delta, key, value, headers.clone());
        if body > i32::MAX as usize {
            return Err(ProtocolError::TooLong {
                what: "record",
                len: body,
            });
        }
        if self.count > 0 && self.buf.len() + varint_size(body as i32) + body > limit {
            return Ok(false);
        }
        self.base_timestamp = base_timestamp;
        let buf = &mut self.buf;
        // Exactly the record: a buffer sized for its batch never reallocates.
        buf.reserve(varint_size(body as i32) + body);
        write_varint(buf, body as i32);
        buf.put_u8(0); // record attributes: unused
        write_varlong(buf, timestamp_delta);
        write_varint(buf, offset_delta);
        put_bytes(buf, key);
        put_bytes(buf, value);
        write_varint(buf, header_count);
        for (k, v) in headers {
            put_bytes(buf, Some(k.as_bytes()));
            put_bytes(buf, v);
        }
        self.count += 1;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        Ok(true)
    }

    /// Finishes the batch: compresses the records section with `codec` (if
    /// given), then fills the header and the CRC-32C in place. Returns the
    /// batch ready to be placed in a Produce request.
    pub fn finish(
        self,
        params: BatchParams,
        codec: Option<&dyn Codec>,
    ) -> Result<Bytes, ProtocolError> {
        self.finish_mut(params, codec).map(BytesMut::freeze)
    }

    /// As [`RecordBatchWriter::finish`], returning the mutable buffer (so that
    /// header fields can still be patched, see [`set_producer_state`]).
    pub fn finish_mut(
        self,
        params: BatchParams,
        codec: Option<&dyn Codec>,
    ) -> Result<BytesMut, ProtocolError> {
        let compressed_size = (self.buf.len().saturating_sub(BATCH_HEADER_SIZE)) / 2 + 64;
        let spare = match codec {
            Some(c) if c.compression_type() != CompressionType::None => {
                BytesMut::with_capacity(BATCH_HEADER_SIZE + compressed_size)
            }
            _ => BytesMut::new(),
        };
        self.finish_reusing(params, codec, spare)
            .map(|(batch, _)| batch)
    }

    /// As [`RecordBatchWriter::finish_mut`], for a caller that keeps
    /// buffers for reuse: a compressed batch is written into `spare`
    /// (emptied first), and the buffer the records were built in comes back
    /// as the new spare; an uncompressed batch is the records' buffer, and
    /// `spare` comes back untouched. Returns (batch, spare).
    pub fn finish_reusing(
        self,
        params: BatchParams,
        codec: Option<&dyn Codec>,
        mut spare: BytesMut,
    ) -> Result<(BytesMut, BytesMut), ProtocolError> {
        if self.count == 0 {
            return Err(ProtocolError::MalformedBatch(
                "a batch needs at least one record",
            ));
        }
        let (mut buf, spare, compression) = match codec {
            Some(c) if c.compression_type() != CompressionType::None => {
                spare.clear();
                spare.put_bytes(0, BATCH_HEADER_SIZE);
                c.compress(&self.buf[BATCH_HEADER_SIZE..], &mut spare)?;
                (spare, self.buf, c.compression_type())
            }
            _ => (self.buf, spare, CompressionType::None),
        };
        let batch_length = buf.len() - BATCH_LOG_OVERHEAD;
        let batch_length = i32::try_from(batch_length).map_err(|_| ProtocolError::TooLong {
            what: "record batch",
            len: batch_length,
        })?;
        let mut attrs = compression.id() as i16;
        if params.transactional {
            attrs |= attributes::TRANSACTIONAL;
        }
        if params.control {
            attrs |= attributes::CONTROL;
        }
        let mut h = &mut buf[..BATCH_HEADER_SIZE];
        h.put_i64(params.base_offset);
        h.put_i32(batch_length);
        h.put_i32(params.partition_leader_epoch);
        h.put_i8(MAGIC_V2);
        h.put_u32(0); // CRC, below
        h.put_i16(attrs);
        h.put_i32(self.count - 1);
        h.put_i64(self.base_timestamp);
        h.put_i64(self.max_timestamp);
        h.put_i64(params.producer_id);
        h.put_i16(params.producer_epoch);
        h.put_i32(params.base_sequence);
        h.put_i32(self.count);
        write_crc(&mut buf);
        Ok((buf, spare))
    }

    /// The buffer the records are built in, for reuse (the batch is
    /// dropped unfinished).
    pub fn into_buffer(self) -> BytesMut {
        self.buf
    }
}

/// Rewrites producer id, epoch and base sequence of a finished batch and
/// recomputes its CRC: what a producer does when a retried batch gets a new
/// epoch or sequences are reset.
pub fn set_producer_state(
    batch: &mut [u8],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Result<(), ProtocolError> {
    if batch.len() < BATCH_HEADER_SIZE {
        return Err(ProtocolError::Truncated);
    }
    let mut h = &mut batch[43..57];
    h.put_i64(producer_id);
    h.put_i16(producer_epoch);
    h.put_i32(base_sequence);
    write_crc(batch);
    Ok(())
}

fn write_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[OFFSET_ATTRIBUTES..]);
    batch[OFFSET_CRC..OFFSET_ATTRIBUTES].copy_from_slice(&crc.to_be_bytes());
}
