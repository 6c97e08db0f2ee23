//! Counters behind the Java client's `producer-metrics` and
//! `producer-topic-metrics` groups, kept by the rooms as batches and
//! requests move (never per record) and read as a snapshot on request.

use std::sync::Arc;
use std::time::Duration;

use super::hash::FastMap;

/// Running totals of the producer (monotonic, except the maxima).
#[derive(Debug, Default, Clone)]
pub struct CoreTotals {
    /// Records in Produce requests (first sends and retries): record-send-total.
    pub records_sent: u64,
    /// Records sent again: record-retry-total.
    pub records_retried: u64,
    /// Records that failed for good: record-error-total.
    pub records_failed: u64,
    /// Batches sent (first sends and retries).
    pub batches_sent: u64,
    /// Their wire bytes: batch-size-avg.
    pub batch_bytes: u64,
    /// The largest: batch-size-max.
    pub batch_bytes_max: u64,
    /// Sum over batches of compressed / uncompressed size: compression-rate-avg.
    pub compression_ratio_sum: f64,
    /// Produce requests sent: records-per-request-avg.
    pub produce_requests: u64,
    /// Every request sent: request-rate, request-total.
    pub requests: u64,
    /// Requests answered (or failed).
    pub responses: u64,
    /// Their latency summed: request-latency-avg.
    pub latency_total: Duration,
    /// The longest: request-latency-max.
    pub latency_max: Duration,
    /// Batches sent for the first time (the queue times' count).
    pub first_sends: u64,
    /// Time from a batch's first record to its first send, summed:
    /// record-queue-time-avg.
    pub queue_time_total: Duration,
    /// The longest: record-queue-time-max.
    pub queue_time_max: Duration,
    /// Produce responses (each has a throttle time, often 0).
    pub throttled_responses: u64,
    /// Their throttle times summed: produce-throttle-time-avg.
    pub throttle_ms_total: u64,
    /// The longest: produce-throttle-time-max.
    pub throttle_ms_max: u64,
}

/// Running totals of one topic.
#[derive(Debug, Default, Clone)]
pub struct TopicTotals {
    /// record-send-total of the topic.
    pub records_sent: u64,
    /// byte-total: wire bytes of its batches.
    pub bytes_sent: u64,
    /// record-retry-total.
    pub records_retried: u64,
    /// record-error-total.
    pub records_failed: u64,
    /// Batches sent.
    pub batches_sent: u64,
    /// Sum of compressed / uncompressed per batch: compression-rate.
    pub compression_ratio_sum: f64,
}

/// The counters, owned by the core.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub totals: CoreTotals,
    pub topics: FastMap<Arc<str>, TopicTotals>,
}

impl Metrics {
    /// A batch of `records` (`bytes` on the wire, `uncompressed` before
    /// compression) of `topic` goes into a Produce request.
    pub fn batch_sent(
        &mut self,
        topic: &Arc<str>,
        records: u64,
        bytes: u64,
        uncompressed: u64,
        retry: bool,
        queued: Option<Duration>,
    ) {
        let ratio = if uncompressed > 0 {
            bytes as f64 / uncompressed as f64
        } else {
            1.0
        };
        let t = &mut self.totals;
        t.records_sent += records;
        t.batches_sent += 1;
        t.batch_bytes += bytes;
        t.batch_bytes_max = t.batch_bytes_max.max(bytes);
        t.compression_ratio_sum += ratio;
        if retry {
            t.records_retried += records;
        }
        if let Some(q) = queued {
            t.first_sends += 1;
            t.queue_time_total += q;
            t.queue_time_max = t.queue_time_max.max(q);
        }
        let topic = match self.topics.get_mut(topic) {
            Some(x) => x,
            None => self.topics.entry(topic.clone()).or_default(),
        };
        topic.records_sent += records;
        topic.bytes_sent += bytes;
        topic.batches_sent += 1;
        topic.compression_ratio_sum += ratio;
        if retry {
            topic.records_retried += records;
        }
    }

    /// `records` of `topic` failed for good.
    pub fn records_failed(&mut self, topic: &str, records: u64) {
        self.totals.records_failed += records;
        if let Some(t) = self.topics.get_mut(topic) {
            t.records_failed += records;
        } else {
            self.topics
                .entry(Arc::from(topic))
                .or_default()
                .records_failed += records;
        }
    }

    /// A request was answered (or failed) `latency` after it was sent.
    pub fn answered(&mut self, latency: Duration) {
        let t = &mut self.totals;
        t.responses += 1;
        t.latency_total += latency;
        t.latency_max = t.latency_max.max(latency);
    }

    pub fn throttled(&mut self, ms: i32) {
        let ms = ms.max(0) as u64;
        let t = &mut self.totals;
        t.throttled_responses += 1;
        t.throttle_ms_total += ms;
        t.throttle_ms_max = t.throttle_ms_max.max(ms);
    }
}
