//! MESSAGE_TOO_LARGE: a batch split in two halves that take its place.

use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::records::{DefaultCodecs, RecordBatch};

use super::Accumulator;
use crate::core::batch::{ProducerBatch, Stamp};
use crate::core::completion::Completions;
use crate::core::sequences::{increment_sequence, SequenceStamp};
use crate::core::TopicPartition;
use crate::delivery::Forward;

impl Accumulator {
    /// MESSAGE_TOO_LARGE: splits batch `b` (taken from `tp`'s queue at
    /// `pos`) in two halves and re-queues them in its place (as Java's
    /// split, the halves take the original's sequences, so batches after it
    /// keep theirs). Gives the batch back when it cannot be split (one
    /// record, or never finished); `None` when the halves are queued.
    pub fn split(
        &mut self,
        tp: &TopicPartition,
        pos: usize,
        mut b: ProducerBatch,
        now: Instant,
        completions: &mut Completions,
    ) -> Option<ProducerBatch> {
        let records = match b.finished().map(split_records) {
            Some(Ok(r)) if b.record_count > 1 && r.len() == b.record_ids.len() => r,
            _ => return Some(b),
        };
        let half = (records.len() / 2).max(1);
        let per_record_permits = b.permits / records.len().max(1);
        let mut callbacks = std::mem::take(&mut b.callbacks).into_iter().peekable();
        let mut new_batches = Vec::new();
        let mut parts = Vec::new();
        for (c, chunk) in records.chunks(half).enumerate() {
            let id = self.next_batch_id;
            self.next_batch_id += 1;
            let size = chunk.iter().map(|r| r.size).sum::<usize>() + 128;
            let mut nb = ProducerBatch::new(
                id,
                tp.topic.clone(),
                tp.partition,
                completions.fresh_buffer(size),
                now,
            );
            nb.created_at = b.created_at;
            // The halves were sent as part of the original: an expiry of one
            // leaves its sequences unresolved, as the original's would.
            nb.attempts = b.attempts;
            let first = (c * half) as u32;
            for (n, r) in chunk.iter().enumerate() {
                let original = first + n as u32;
                let headers: Vec<(&str, Option<&[u8]>)> = r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_deref()))
                    .collect();
                let id = b.record_ids[original as usize];
                // The records came out of a batch, so they fit in one.
                let index = nb
                    .append(
                        usize::MAX,
                        r.timestamp,
                        r.key.as_deref(),
                        r.value.as_deref(),
                        headers,
                        id,
                        per_record_permits,
                    )
                    .ok()
                    .flatten()
                    .unwrap_or(n as u32);
                while let Some(mut cb) = callbacks.next_if(|cb| cb.index == original) {
                    cb.index = index;
                    nb.callbacks.push(cb);
                }
            }
            if let Some(slot) = &nb.outcome {
                parts.push(Forward {
                    from: first,
                    ..slot.forward_to(0)
                });
            }
            nb.close();
            new_batches.push(nb);
        }
        if let Some(last) = new_batches.last_mut() {
            last.permits += b.permits - per_record_permits * records.len();
        }
        // The halves hold the original's buffer memory now.
        b.permits = 0;
        // The original's futures follow their records to the halves.
        completions.forward_batch(&mut b, parts);
        match b.stamp {
            Stamp::Assigned(s) => {
                let mut sequence = s.base_sequence;
                for nb in new_batches.iter_mut() {
                    nb.stamp = Stamp::Assigned(SequenceStamp {
                        base_sequence: sequence,
                        ..s
                    });
                    sequence = increment_sequence(sequence, nb.record_count);
                }
            }
            other => new_batches.iter_mut().for_each(|nb| nb.stamp = other),
        }
        let q = self.queues.entry(tp);
        // In place of the original, before the batches that came after it.
        let pos = pos.min(q.batches.len());
        let created = new_batches.first().map(|nb| nb.created_at);
        for (n, nb) in new_batches.into_iter().enumerate() {
            q.batches.insert(pos + n, nb);
        }
        // Batches sent after the original may still be in flight.
        q.gapped |= q.in_flight > 0;
        if let Some(created) = created {
            let at = crate::core::later(created, self.config.delivery_timeout);
            super::lower_floor(&mut self.expiry_floor, at);
        }
        None
    }
}

struct SplitRecord {
    /// Create time, ms since the epoch.
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Vec<(String, Option<Bytes>)>,
    size: usize,
}

/// The records of a finished batch, for a split.
fn split_records(batch: &Bytes) -> Result<Vec<SplitRecord>, kafka_protocol::ProtocolError> {
    let (parsed, _) = RecordBatch::parse(batch)?;
    let section = parsed.decompressed_records(&DefaultCodecs::default(), 256 * 1024 * 1024)?;
    let mut out = Vec::new();
    for r in parsed.records_in(&section) {
        let r = r?;
        let mut headers = Vec::new();
        for h in &r.headers {
            let h = h?;
            headers.push((h.key.to_string(), h.value.map(Bytes::copy_from_slice)));
        }
        let size = r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len) + 32;
        out.push(SplitRecord {
            timestamp: parsed.base_timestamp.saturating_add(r.timestamp_delta),
            key: r.key.map(Bytes::copy_from_slice),
            value: r.value.map(Bytes::copy_from_slice),
            headers,
            size,
        });
    }
    Ok(out)
}
