//! Completion bookkeeping: every record's outcome goes through here, so the
//! count of records not complete yet, the flushes waiting for them, the
//! buffer memory to give back and the wakers and callbacks to run stay
//! right whoever completes a record.

use std::collections::HashMap;
use std::sync::Arc;

use super::batch::{BufferPool, ProducerBatch};
use super::metrics::Metrics;
use crate::delivery::{
    Completion, DeliveryCallback, DeliveryFuture, OutcomeSlot, PendingCallback, Resolution,
};
use crate::error::ProducerError;

/// Identifies a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlushId(u64);

struct FlushMarker {
    /// Records enqueued before the flush that are not complete yet.
    remaining: usize,
    /// Record ids below this belong to the flush.
    below: u64,
}

/// A record that never reached a batch, for its failure.
pub(crate) struct Unbatched {
    pub topic: Arc<str>,
    pub id: u64,
    pub timestamp: i64,
    pub permits: usize,
    pub callback: Option<DeliveryCallback>,
    /// Its own outcome, if it waited for metadata (its future reads it).
    pub slot: Option<OutcomeSlot>,
}

/// Every record from the moment it is accepted until its outcome has run.
pub(crate) struct Completions {
    /// Records accepted so far (the last id given).
    enqueued: u64,
    /// Records accepted and not complete yet.
    outstanding: usize,
    markers: HashMap<u64, FlushMarker>,
    next_flush_id: u64,
    /// Buffer memory freed and not yet taken by the driver.
    released_permits: usize,
    /// Resolved outcomes whose futures to wake and callbacks to run, for
    /// the driver to take.
    to_run: Vec<Completion>,
    /// The producer's counters (every room that completes or sends records
    /// holds this room).
    pub metrics: Metrics,
    /// Batch buffers for reuse: batches take them when they open and give
    /// them back here when they are done.
    pub pool: BufferPool,
}

impl Completions {
    pub fn new(pool: BufferPool) -> Self {
        Completions {
            enqueued: 0,
            outstanding: 0,
            markers: HashMap::new(),
            next_flush_id: 0,
            released_permits: 0,
            to_run: Vec::new(),
            metrics: Metrics::default(),
            pool,
        }
    }

    /// Counts a new record in; returns its id.
    pub fn enqueued(&mut self) -> u64 {
        self.enqueued += 1;
        self.outstanding += 1;
        self.enqueued
    }

    /// Takes back the last record counted in (it was handed back to wait
    /// for buffer memory); its id goes to the next record.
    pub fn withdraw(&mut self) {
        self.enqueued -= 1;
        self.outstanding -= 1;
    }

    /// Buffer memory a record or batch no longer needs.
    pub fn release(&mut self, permits: usize) {
        self.released_permits += permits;
    }

    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// Whether a flush waits for records (every batch is then ready, as
    /// Java's `flushesInProgress`).
    pub fn in_progress(&self) -> bool {
        !self.markers.is_empty()
    }

    /// A flush of every record accepted so far.
    pub fn begin(&mut self) -> FlushId {
        let id = FlushId(self.next_flush_id);
        self.next_flush_id += 1;
        if self.outstanding > 0 {
            self.markers.insert(
                id.0,
                FlushMarker {
                    remaining: self.outstanding,
                    below: self.enqueued + 1,
                },
            );
        }
        id
    }

    pub fn is_flushed(&self, id: FlushId) -> bool {
        !self.markers.contains_key(&id.0)
    }

    /// Buffer memory freed since the last call (by records, batches and
    /// the pool).
    pub fn take_released_permits(&mut self) -> usize {
        std::mem::take(&mut self.released_permits) + self.pool.take_released()
    }

    /// Futures to wake and callbacks to run since the last call.
    pub fn take_completions(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.to_run)
    }

    /// Every record of `b` was written at `base_offset + index`.
    pub fn complete_batch(&mut self, mut b: ProducerBatch, base_offset: i64, log_append_time: i64) {
        self.settle(&b);
        let resolution = Resolution::Acked {
            base_offset,
            log_append_time,
        };
        self.resolve_batch(&mut b, resolution);
        self.recycle(&mut b);
    }

    /// Fails every record of `b` with `e`.
    pub fn fail_batch(&mut self, mut b: ProducerBatch, e: ProducerError) {
        tracing::debug!(error = %e, records = b.record_count, "batch failed");
        self.metrics
            .records_failed(&b.topic, b.record_ids.len() as u64);
        self.settle(&b);
        self.resolve_batch(&mut b, Resolution::Failed(e));
        self.recycle(&mut b);
    }

    /// Fails the records of `b` with `e` now and leaves it empty (it stays
    /// in flight until its request ends).
    pub fn fail_records_of(&mut self, b: &mut ProducerBatch, e: ProducerError) {
        self.metrics
            .records_failed(&b.topic, b.record_ids.len() as u64);
        // Its buffer memory comes back now, with its records (the batch
        // may be dropped unanswered once its request ends).
        self.settle(b);
        self.released_permits += std::mem::take(&mut b.permits);
        b.record_ids.clear();
        self.resolve_batch(b, Resolution::Failed(e));
    }

    /// The records of `b` moved to other batches (a split); their futures
    /// follow `parts`, their callbacks went with them.
    pub fn forward_batch(&mut self, b: &mut ProducerBatch, parts: Vec<crate::delivery::Forward>) {
        self.resolve_batch(b, Resolution::Forwarded(parts));
        self.recycle(b);
    }

    /// A buffer for at least `capacity` bytes, for a batch that holds its
    /// records' memory (a pooled buffer's own memory comes back).
    pub fn fresh_buffer(&mut self, capacity: usize) -> bytes::BytesMut {
        let (buffer, permits) = self.pool.take(capacity);
        self.released_permits += permits;
        buffer
    }

    /// A batch that is done gives its buffer back to the pool, with its
    /// buffer memory when it was paid for whole; other memory it held
    /// comes back.
    fn recycle(&mut self, b: &mut ProducerBatch) {
        let permits = std::mem::take(&mut b.permits);
        match b.take_buffer() {
            Some(buffer) if b.prepaid => self.pool.give(buffer, permits),
            Some(buffer) => {
                self.pool.give(buffer, 0);
                self.released_permits += permits;
            }
            None => self.released_permits += permits,
        }
    }

    fn resolve_batch(&mut self, b: &mut ProducerBatch, resolution: Resolution) {
        if let Some(slot) = b.outcome.take() {
            let (outcome, wakers) = slot.resolve(resolution);
            let callbacks = std::mem::take(&mut b.callbacks);
            self.to_run
                .extend(Completion::new(outcome, wakers, callbacks));
        }
    }

    /// A record that waited for metadata joined a batch: its future follows
    /// `to`.
    pub fn forward_record(&mut self, slot: OutcomeSlot, to: crate::delivery::Forward) {
        let (outcome, wakers) = slot.resolve(Resolution::Forwarded(vec![to]));
        self.to_run
            .extend(Completion::new(outcome, wakers, Vec::new()));
    }

    /// Fails a record that never reached a batch; returns its future.
    pub fn fail_record(&mut self, r: Unbatched, e: ProducerError) -> DeliveryFuture {
        self.metrics.records_failed(&r.topic, 1);
        self.outstanding = self.outstanding.saturating_sub(1);
        self.settle_ids(std::slice::from_ref(&r.id));
        self.released_permits += r.permits;
        let slot = r
            .slot
            .unwrap_or_else(|| OutcomeSlot::new(r.topic.clone(), -1));
        let future = slot.future(0, r.timestamp);
        let callbacks = r
            .callback
            .map(|callback| PendingCallback {
                index: 0,
                timestamp: r.timestamp,
                callback,
            })
            .into_iter()
            .collect();
        let (outcome, wakers) = slot.resolve(Resolution::Failed(e));
        self.to_run
            .extend(Completion::new(outcome, wakers, callbacks));
        future
    }

    /// Fails a record that waited for metadata: its sender holds its
    /// future already.
    pub fn fail_waiting(&mut self, r: Unbatched, e: ProducerError) {
        drop(self.fail_record(r, e));
    }

    /// A record the batch format cannot hold (a length past i32::MAX).
    pub fn fail_unappendable(
        &mut self,
        e: kafka_protocol::ProtocolError,
        r: Unbatched,
    ) -> DeliveryFuture {
        tracing::warn!(error = %e, "record cannot be written in a record batch");
        let size = match e {
            kafka_protocol::ProtocolError::TooLong { len, .. } => len,
            _ => r.permits,
        };
        let e = ProducerError::RecordTooLarge {
            size,
            limit: i32::MAX as usize,
            limit_name: "the record batch format",
        };
        self.fail_record(r, e)
    }

    /// Bookkeeping when a batch's records complete (its buffer memory
    /// comes back when the batch is done: [`recycle`](Self::recycle)).
    fn settle(&mut self, b: &ProducerBatch) {
        self.outstanding = self.outstanding.saturating_sub(b.record_ids.len());
        self.settle_ids(&b.record_ids);
    }

    fn settle_ids(&mut self, ids: &[u64]) {
        if self.markers.is_empty() {
            return;
        }
        for f in self.markers.values_mut() {
            let inside = ids.iter().filter(|id| **id < f.below).count();
            f.remaining = f.remaining.saturating_sub(inside);
        }
        self.markers.retain(|_, f| f.remaining > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_the_batch_format_rejects_fails_with_a_reason_and_settles() {
        let mut f = Completions::new(BufferPool::new(1024, 1 << 20));
        let id = f.enqueued();
        let flush = f.begin();
        assert!(!f.is_flushed(flush));
        let e = kafka_protocol::ProtocolError::TooLong {
            what: "record key or value",
            len: 3_000_000_000,
        };
        let record = Unbatched {
            topic: Arc::from("t"),
            id,
            timestamp: 1,
            permits: 100,
            callback: None,
            slot: None,
        };
        let mut delivery = f.fail_unappendable(e, record);
        assert!(matches!(
            delivery.try_recv(),
            Ok(Err(ProducerError::RecordTooLarge {
                size: 3_000_000_000,
                ..
            }))
        ));
        assert!(f.is_flushed(flush), "the flush does not wait for it");
        assert_eq!(
            f.take_released_permits(),
            100,
            "its buffer memory comes back"
        );
        assert_eq!(f.outstanding(), 0);
    }
}
