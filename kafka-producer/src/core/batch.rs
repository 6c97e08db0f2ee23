//! A producer batch: records of one partition, built directly in wire form,
//! the delivery replies of its records, and where it is in its life.

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kafka_compression::Codec;
use kafka_protocol::records::{set_producer_state, BatchParams, RecordBatchWriter};

use super::sequences::SequenceStamp;
use crate::delivery::{DeliveryCallback, DeliveryFuture, OutcomeSlot, PendingCallback};

/// Identifies a batch within its partition queue.
pub(crate) type BatchId = u64;

/// Where a batch is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchState {
    /// Takes more records.
    Open,
    /// Takes no more records (full, flushed, or a later batch started);
    /// waits to be drained.
    Closed,
    /// In a Produce request that has no answer yet.
    InFlight,
    /// An attempt failed; it may be sent again once `until` passed.
    Backoff { until: Instant },
}

/// The producer id, epoch and base sequence of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// Never drained by an idempotent producer.
    Unassigned,
    /// Written into the batch at its last drain.
    Assigned(SequenceStamp),
    /// It had one, but its partition's sequences restarted (a new producer
    /// id or epoch): the next drain assigns a new one.
    Stale,
}

impl Stamp {
    /// Whether the batch ever got a sequence (so failing it leaves a gap).
    pub fn was_assigned(self) -> bool {
        !matches!(self, Stamp::Unassigned)
    }

    pub fn assigned(self) -> Option<SequenceStamp> {
        match self {
            Stamp::Assigned(s) => Some(s),
            _ => None,
        }
    }
}

/// The wire bytes of a batch: still being appended to, or finished
/// (compressed, CRC'd) at its first drain.
enum Contents {
    Building(RecordBatchWriter),
    Finished(Bytes),
}

pub(crate) struct ProducerBatch {
    pub id: BatchId,
    /// Its topic (shared with the partition's key), for the per-topic metrics.
    pub topic: Arc<str>,
    contents: Contents,
    /// Its records' ids (for flushes), in offset order.
    pub record_ids: Vec<u64>,
    /// The outcome its records' futures read; `None` once resolved early
    /// (records failed while the batch stays in flight).
    pub outcome: Option<OutcomeSlot>,
    /// Callbacks of its records, in record order.
    pub callbacks: Vec<PendingCallback>,
    /// Buffer memory the batch holds, released (or kept with its buffer in
    /// the pool) when it completes: its buffer's whole capacity when
    /// `prepaid`, else the sum of its records' estimates.
    pub permits: usize,
    /// Opened with buffer memory for a whole buffer (as Java's
    /// `BufferPool.allocate`): records appended to it hold none of their
    /// own. Otherwise (a batch opened for a record that waited for its
    /// topic's metadata, where nothing may wait for memory) it holds its
    /// records' memory and grows with them.
    pub prepaid: bool,
    pub record_count: i32,
    pub created_at: Instant,
    /// Produce attempts made (first send and retries).
    pub attempts: u32,
    pub state: BatchState,
    pub stamp: Stamp,
    /// An attempt ended without telling whether the broker wrote the batch
    /// (transport failure, timeout, NOT_ENOUGH_REPLICAS_AFTER_APPEND): until
    /// a definite answer it is retried only with its own stamp, which the
    /// broker recognises as a duplicate.
    pub maybe_written: bool,
    /// delivery.timeout.ms passed while the batch was in flight: its records
    /// were failed then (as Java's Sender expires in-flight batches); the
    /// batch stays until its request ends, for the sequence bookkeeping.
    pub expired_in_flight: bool,
    pub last_error: Option<Arc<str>>,
    /// Uncompressed size, for request sizing.
    pub size: usize,
}

impl ProducerBatch {
    /// A batch built in `buffer` (from the [`BufferPool`]).
    pub fn new(
        id: BatchId,
        topic: Arc<str>,
        partition: i32,
        buffer: BytesMut,
        now: Instant,
    ) -> Self {
        ProducerBatch {
            id,
            outcome: Some(OutcomeSlot::new(topic.clone(), partition)),
            topic,
            contents: Contents::Building(RecordBatchWriter::with_buffer(buffer)),
            record_ids: Vec::new(),
            callbacks: Vec::new(),
            permits: 0,
            prepaid: false,
            record_count: 0,
            created_at: now,
            attempts: 0,
            state: BatchState::Open,
            stamp: Stamp::Unassigned,
            maybe_written: false,
            expired_in_flight: false,
            last_error: None,
            size: kafka_protocol::records::BATCH_HEADER_SIZE,
        }
    }

    pub fn is_open(&self) -> bool {
        self.state == BatchState::Open
    }

    pub fn in_flight(&self) -> bool {
        self.state == BatchState::InFlight
    }

    /// Takes no more records.
    pub fn close(&mut self) {
        if self.state == BatchState::Open {
            self.state = BatchState::Closed;
        }
    }

    /// Appends a record if the batch is open and stays within `limit`
    /// bytes (an empty batch takes any record: oversized records get a
    /// batch of their own); returns its index in the batch, `None` when it
    /// does not fit, or the error of a record the wire format cannot hold
    /// (the caller fails it with a reason and settles its memory).
    #[allow(clippy::too_many_arguments)]
    pub fn append<'h, H>(
        &mut self,
        limit: usize,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: H,
        record_id: u64,
        permits: usize,
    ) -> Result<Option<u32>, kafka_protocol::ProtocolError>
    where
        H: IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
        H::IntoIter: Clone,
    {
        let Contents::Building(w) = &mut self.contents else {
            return Ok(None);
        };
        if self.state != BatchState::Open
            || !w.append_within(limit, timestamp, key, value, headers)?
        {
            return Ok(None);
        }
        self.size = w.size_in_bytes();
        let index = self.record_count as u32;
        self.record_count += 1;
        self.record_ids.push(record_id);
        self.permits += permits;
        Ok(Some(index))
    }

    /// How the sender of record `index` (created at `timestamp`) hears of
    /// it: a future, and the callback if one was given.
    pub fn deliver_to(
        &mut self,
        index: u32,
        timestamp: i64,
        callback: Option<DeliveryCallback>,
    ) -> DeliveryFuture {
        self.add_callback(index, timestamp, callback);
        self.outcome
            .as_ref()
            .expect("an open batch has its outcome")
            .future(index, timestamp)
    }

    /// Keeps record `index`'s callback, if it has one, for the batch's
    /// completion.
    pub fn add_callback(&mut self, index: u32, timestamp: i64, callback: Option<DeliveryCallback>) {
        if let Some(callback) = callback {
            self.callbacks.push(PendingCallback {
                index,
                timestamp,
                callback,
            });
        }
    }

    /// The wire bytes with `stamp` applied: finishes (and compresses) the
    /// batch on its first drain; later drains reuse the bytes and re-patch
    /// producer state only when it changed (after an epoch bump).
    pub fn wire_bytes(
        &mut self,
        stamp: Stamp,
        transactional: bool,
        codec: Option<&dyn Codec>,
        pool: &mut BufferPool,
    ) -> Result<Bytes, kafka_protocol::ProtocolError> {
        let s = stamp.assigned();
        let bytes = match std::mem::replace(&mut self.contents, Contents::Finished(Bytes::new())) {
            Contents::Building(w) => {
                let params = match s {
                    Some(s) => BatchParams {
                        producer_id: s.producer.producer_id,
                        producer_epoch: s.producer.epoch,
                        base_sequence: s.base_sequence,
                        transactional,
                        ..BatchParams::default()
                    },
                    None => BatchParams::default(),
                };
                // Compressed into a pooled buffer; the one the records were
                // built in goes back to the pool at once.
                // The buffer memory of the spare (if any) goes with the
                // records' buffer back to the pool; the batch's own stays
                // with the batch, which now holds the compressed buffer.
                let (spare, spare_permits) = match codec {
                    Some(c)
                        if c.compression_type()
                            != kafka_protocol::records::CompressionType::None =>
                    {
                        pool.take(0)
                    }
                    _ => (BytesMut::new(), 0),
                };
                let (batch, spare) = w.finish_reusing(params, codec, spare)?;
                pool.give(spare, spare_permits);
                batch.freeze()
            }
            Contents::Finished(bytes) if self.stamp == stamp => bytes,
            Contents::Finished(bytes) => {
                let mut buf = bytes
                    .try_into_mut()
                    .unwrap_or_else(|b| BytesMut::from(&b[..]));
                let (pid, epoch, seq) = s.map_or((-1, -1, -1), |s| {
                    (s.producer.producer_id, s.producer.epoch, s.base_sequence)
                });
                set_producer_state(&mut buf, pid, epoch, seq)?;
                buf.freeze()
            }
        };
        self.stamp = stamp;
        self.contents = Contents::Finished(bytes.clone());
        Ok(bytes)
    }

    /// Its buffer, for reuse, once the batch is done (nothing else holds it).
    pub fn take_buffer(&mut self) -> Option<BytesMut> {
        match std::mem::replace(&mut self.contents, Contents::Finished(Bytes::new())) {
            Contents::Building(w) => Some(w.into_buffer()),
            Contents::Finished(b) => b.try_into_mut().ok(),
        }
    }

    /// The finished bytes, if the batch was ever drained.
    pub fn finished(&self) -> Option<&Bytes> {
        match &self.contents {
            Contents::Finished(b) => Some(b),
            Contents::Building(_) => None,
        }
    }
}

impl Drop for ProducerBatch {
    /// A batch dropped with callbacks still waiting (the producer itself
    /// dropped without a close) tells them so, as its futures hear it.
    fn drop(&mut self) {
        for c in self.callbacks.drain(..) {
            crate::delivery::run_callback(c.callback, Err(crate::error::ProducerError::Closed));
        }
    }
}

/// Batch buffers for reuse, as Java's `BufferPool`: a new batch takes one,
/// a batch that is done gives its buffer back. Buffers of `batch.size`
/// cycle through the pool instead of the allocator, which would otherwise
/// spread them over its per-thread arenas (the sender's thread builds a
/// batch, the I/O task frees it) and hold far more memory than is in use.
///
/// A pooled buffer keeps the buffer memory (`buffer.memory` bytes) it was
/// paid with, as Java's free list counts against `buffer.memory`: a batch
/// that takes it needs no more. Buffers the pool lets go (full, trimmed
/// while senders wait for memory) give their memory back through
/// [`take_released`](Self::take_released).
pub(crate) struct BufferPool {
    /// Free buffers, each with the buffer memory it holds (0 for one
    /// allocated outside the accounting: a compression spare).
    free: Vec<(BytesMut, usize)>,
    /// The capacity of a pooled buffer: `batch.size`.
    size: usize,
    /// At most this many free buffers are kept.
    max_free: usize,
    /// Buffer memory of buffers let go, for the driver to give back.
    released: usize,
}

impl BufferPool {
    /// Free buffers kept, in bytes at most (a burst's buffers beyond it go
    /// back to the allocator).
    const MAX_FREE_BYTES: usize = 8 * 1024 * 1024;

    pub fn new(batch_size: usize, buffer_memory: usize) -> Self {
        // A batch of batch.size 0 (or tiny) still needs its header.
        let size = batch_size.max(kafka_protocol::records::BATCH_HEADER_SIZE + 64);
        BufferPool {
            free: Vec::new(),
            size,
            max_free: (buffer_memory.min(Self::MAX_FREE_BYTES) / size).max(2),
            released: 0,
        }
    }

    /// A buffer for at least `capacity` bytes (a pooled one when that is
    /// within `batch.size`), and the buffer memory it holds.
    pub fn take(&mut self, capacity: usize) -> (BytesMut, usize) {
        if capacity > self.size {
            return (BytesMut::with_capacity(capacity), 0);
        }
        self.free
            .pop()
            .unwrap_or_else(|| (BytesMut::with_capacity(self.size), 0))
    }

    /// The buffer memory held by a pooled buffer, if one is free.
    pub fn free_permits(&self) -> Option<usize> {
        self.free.last().map(|(_, p)| *p)
    }

    /// Takes back a buffer no longer used, holding `permits` of buffer
    /// memory: kept if it is a pool's size and there is room, else let go.
    pub fn give(&mut self, mut buffer: BytesMut, permits: usize) {
        let cap = buffer.capacity();
        if cap >= self.size && cap <= 2 * self.size && self.free.len() < self.max_free {
            buffer.clear();
            self.free.push((buffer, permits));
        } else {
            self.released += permits;
        }
    }

    /// Lets every free buffer go (senders wait for buffer memory).
    pub fn trim(&mut self) {
        self.released += self.free.drain(..).map(|(_, p)| p).sum::<usize>();
    }

    /// Buffer memory of the buffers let go since the last call.
    pub fn take_released(&mut self) -> usize {
        std::mem::take(&mut self.released)
    }

    /// Buffer memory held by free buffers.
    pub fn held(&self) -> usize {
        self.free.iter().map(|(_, p)| p).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_compression::{BuiltinCodec, CompressionType};

    fn batch(pool: &mut BufferPool, id: u64) -> ProducerBatch {
        let mut b = ProducerBatch::new(id, Arc::from("t"), 0, pool.take(4096).0, Instant::now());
        let index = b.append(4096, 1, None, Some(&b"value"[..]), [], id, 64);
        assert_eq!(index.unwrap(), Some(0));
        b
    }

    /// A batch's buffer comes back to the pool when the batch is done and
    /// nothing else holds it, compressed or not; a compressed batch gives
    /// the buffer its records were built in back as soon as it is finished.
    #[test]
    fn buffers_cycle_through_the_pool() {
        let lz4 = BuiltinCodec::new(CompressionType::Lz4, None).unwrap();
        for codec in [None, Some(&lz4 as &dyn Codec)] {
            let mut pool = BufferPool::new(4096, 1 << 20);
            let mut b = batch(&mut pool, 1);
            let in_request = b
                .wire_bytes(Stamp::Unassigned, false, codec, &mut pool)
                .unwrap();
            assert_eq!(pool.free.len(), usize::from(codec.is_some()));
            assert!(
                b.take_buffer().is_none(),
                "not while a request holds its bytes"
            );
            drop(in_request);
            let mut b = batch(&mut pool, 2);
            drop(
                b.wire_bytes(Stamp::Unassigned, false, codec, &mut pool)
                    .unwrap(),
            );
            let buffer = b.take_buffer().expect("a done batch gives its buffer back");
            assert!(buffer.capacity() >= 4096);
            let before = pool.free.len();
            pool.give(buffer, 4096);
            assert_eq!(pool.free.len(), before + 1);
            assert_eq!(pool.held(), 4096, "the buffer keeps its memory");
            pool.trim();
            assert_eq!(pool.take_released(), 4096, "and gives it back when let go");
        }
    }
}
