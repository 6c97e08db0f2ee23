//! Completion bookkeeping: every record's reply goes through here, so the
//! count of records not complete yet, the flushes waiting for them and the
//! buffer memory to give back stay right whoever completes a record.

use std::collections::HashMap;

use super::batch::{BatchRecord, ProducerBatch};
use super::metrics::Metrics;
use super::PendingRecord;
use crate::error::ProducerError;
use crate::record::RecordMetadata;

/// Identifies a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlushId(u64);

struct FlushMarker {
    /// Records enqueued before the flush that are not complete yet.
    remaining: usize,
    /// Record ids below this belong to the flush.
    below: u64,
}

#[derive(Default)]
pub(crate) struct Flushes {
    /// Records accepted so far (the last id given).
    enqueued: u64,
    /// Records accepted and not complete yet.
    outstanding: usize,
    markers: HashMap<u64, FlushMarker>,
    next_flush_id: u64,
    /// Buffer memory freed and not yet taken by the driver.
    released_permits: usize,
    /// The producer's counters (every room that completes or sends records
    /// holds this room).
    pub metrics: Metrics,
}

impl Flushes {
    /// Counts a new record in; returns its id.
    pub fn enqueued(&mut self) -> u64 {
        self.enqueued += 1;
        self.outstanding += 1;
        self.enqueued
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

    /// Buffer memory freed since the last call.
    pub fn take_released_permits(&mut self) -> usize {
        std::mem::take(&mut self.released_permits)
    }

    /// Completes every record of `b` with `f(index, create_time)`.
    pub fn complete_batch(
        &mut self,
        b: ProducerBatch,
        f: impl FnMut(usize, i64) -> Result<RecordMetadata, ProducerError>,
    ) {
        self.settle(&b);
        b.complete(f);
    }

    /// Fails every record of `b` with `e`.
    pub fn fail_batch(&mut self, b: ProducerBatch, e: ProducerError) {
        tracing::debug!(error = %e, records = b.record_count, "batch failed");
        self.metrics
            .records_failed(&b.topic, b.records.len() as u64);
        self.settle(&b);
        b.complete(|_, _| Err(e.clone()));
    }

    /// Fails the records of `b` with `e` now and leaves it empty (it stays
    /// in flight until its request ends).
    pub fn fail_records_of(&mut self, b: &mut ProducerBatch, e: ProducerError) {
        let permits = std::mem::take(&mut b.permits);
        let records = std::mem::take(&mut b.records);
        self.metrics.records_failed(&b.topic, records.len() as u64);
        self.outstanding = self.outstanding.saturating_sub(records.len());
        self.settle_ids(records.iter().map(|r| r.record_id));
        self.released_permits += permits;
        for r in records {
            r.reply.send(Err(e.clone()));
        }
    }

    /// Fails a record that never reached a batch.
    pub fn fail_record(&mut self, rec: PendingRecord, id: u64, e: ProducerError) {
        self.metrics.records_failed(&rec.record.topic, 1);
        self.fail_reply(
            BatchRecord {
                reply: rec.reply,
                timestamp: rec.timestamp,
                record_id: id,
            },
            rec.permits,
            e,
        );
    }

    /// A record the batch format cannot hold (a length past i32::MAX).
    pub fn fail_unappendable(
        &mut self,
        topic: &str,
        e: kafka_protocol::ProtocolError,
        record: BatchRecord,
        permits: usize,
    ) {
        tracing::warn!(error = %e, "record cannot be written in a record batch");
        self.metrics.records_failed(topic, 1);
        let size = match e {
            kafka_protocol::ProtocolError::TooLong { len, .. } => len,
            _ => permits,
        };
        let e = ProducerError::RecordTooLarge {
            size,
            limit: i32::MAX as usize,
            limit_name: "the record batch format",
        };
        self.fail_reply(record, permits, e);
    }

    fn fail_reply(&mut self, record: BatchRecord, permits: usize, e: ProducerError) {
        self.outstanding = self.outstanding.saturating_sub(1);
        self.settle_ids([record.record_id].into_iter());
        self.released_permits += permits;
        record.reply.send(Err(e));
    }

    /// Bookkeeping when a batch's records complete.
    fn settle(&mut self, b: &ProducerBatch) {
        self.outstanding = self.outstanding.saturating_sub(b.records.len());
        self.settle_ids(b.records.iter().map(|r| r.record_id));
        self.released_permits += b.permits;
    }

    fn settle_ids(&mut self, ids: impl Iterator<Item = u64> + Clone) {
        if self.markers.is_empty() {
            return;
        }
        for f in self.markers.values_mut() {
            let inside = ids.clone().filter(|id| *id < f.below).count();
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
        let mut f = Flushes::default();
        let id = f.enqueued();
        let flush = f.begin();
        assert!(!f.is_flushed(flush));
        let (reply, mut delivery) = crate::delivery::channel();
        let e = kafka_protocol::ProtocolError::TooLong {
            what: "record key or value",
            len: 3_000_000_000,
        };
        let record = BatchRecord {
            reply,
            timestamp: 1,
            record_id: id,
        };
        f.fail_unappendable("t", e, record, 100);
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
