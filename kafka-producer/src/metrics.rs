//! The producer's metrics under the Java client's names: the
//! `producer-metrics` group and, per topic, `producer-topic-metrics`.
//!
//! The core counts as batches and requests move (never per record, never
//! behind a lock); [`Producer::metrics`](crate::Producer::metrics) asks the
//! I/O task for a snapshot. Rates are per second over the last 30 s (as
//! Java's default `metrics.sample.window.ms`), from samples the I/O task
//! keeps once a second. With the `metrics` feature the same values are
//! published every second through the [`metrics`](https://docs.rs/metrics)
//! facade, named `kafka.producer.<java name>` with a `client_id` label (and
//! `topic` for the per-topic group), so any exporter works.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::core::{CoreTotals, TopicTotals};

/// The `producer-metrics` names this producer reports.
pub const PRODUCER_METRICS: &[&str] = &[
    "batch-size-avg",
    "batch-size-max",
    "buffer-available-bytes",
    "buffer-total-bytes",
    "bufferpool-wait-time-ns-total",
    "compression-rate-avg",
    "outgoing-byte-rate",
    "outgoing-byte-total",
    "produce-throttle-time-avg",
    "produce-throttle-time-max",
    "record-error-rate",
    "record-error-total",
    "record-queue-time-avg",
    "record-queue-time-max",
    "record-retry-rate",
    "record-retry-total",
    "record-send-rate",
    "record-send-total",
    "records-per-request-avg",
    "request-latency-avg",
    "request-latency-max",
    "request-rate",
    "request-total",
    "requests-in-flight",
];

/// The `producer-topic-metrics` names, per topic.
pub const TOPIC_METRICS: &[&str] = &[
    "byte-rate",
    "byte-total",
    "compression-rate",
    "record-error-rate",
    "record-error-total",
    "record-retry-rate",
    "record-retry-total",
    "record-send-rate",
    "record-send-total",
];

/// A snapshot of the producer's metrics.
///
/// ```no_run
/// # async fn demo(producer: kafka_producer::Producer) -> Result<(), kafka_producer::ProducerError> {
/// let m = producer.metrics().await?;
/// println!("{} records sent, {:.0}/s", m.get("record-send-total").unwrap_or(0.0), m.get("record-send-rate").unwrap_or(0.0));
/// println!("events: {:?}", m.topic("events", "byte-total"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProducerMetrics {
    /// `producer-metrics`, by Java name (see [`PRODUCER_METRICS`]).
    pub producer: BTreeMap<&'static str, f64>,
    /// `producer-topic-metrics` of every topic sent to (see [`TOPIC_METRICS`]).
    pub topics: BTreeMap<String, BTreeMap<&'static str, f64>>,
}

impl ProducerMetrics {
    /// A `producer-metrics` value.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.producer.get(name).copied()
    }

    /// A `producer-topic-metrics` value of `topic`.
    pub fn topic(&self, topic: &str, name: &str) -> Option<f64> {
        self.topics.get(topic)?.get(name).copied()
    }
}

/// What the driver knows besides the core's counters.
pub(crate) struct DriverGauges {
    pub buffer_available: usize,
    pub buffer_total: usize,
    pub buffer_wait_ns: u64,
    pub bytes_written: u64,
    pub in_flight: usize,
}

/// The counters a rate is computed from.
#[derive(Clone, Default)]
struct Sample {
    records_sent: u64,
    records_failed: u64,
    records_retried: u64,
    requests: u64,
    bytes_written: u64,
    /// Per topic: (sent, bytes, retried, failed).
    topics: Vec<(String, [u64; 4])>,
}

impl Sample {
    fn of<'a>(
        t: &CoreTotals,
        bytes_written: u64,
        topics: impl Iterator<Item = (&'a str, &'a TopicTotals)>,
    ) -> Sample {
        Sample {
            records_sent: t.records_sent,
            records_failed: t.records_failed,
            records_retried: t.records_retried,
            requests: t.requests,
            bytes_written,
            topics: topics
                .map(|(name, x)| {
                    let v = [
                        x.records_sent,
                        x.bytes_sent,
                        x.records_retried,
                        x.records_failed,
                    ];
                    (name.to_string(), v)
                })
                .collect(),
        }
    }

    fn topic(&self, name: &str) -> [u64; 4] {
        self.topics
            .iter()
            .find(|(n, _)| n == name)
            .map_or([0; 4], |(_, v)| *v)
    }
}

/// How far back rates look.
const WINDOW: Duration = Duration::from_secs(30);

/// Samples of the last [`WINDOW`], one a second at most.
pub(crate) struct RateWindow {
    samples: VecDeque<(Instant, Sample)>,
}

impl RateWindow {
    pub fn new(now: Instant) -> Self {
        let mut samples = VecDeque::with_capacity(32);
        samples.push_back((now, Sample::default()));
        RateWindow { samples }
    }

    /// Keeps a sample when the last one is a second old.
    pub fn maybe_sample<'a>(
        &mut self,
        now: Instant,
        totals: &CoreTotals,
        bytes_written: u64,
        topics: impl Iterator<Item = (&'a str, &'a TopicTotals)>,
    ) -> bool {
        if self
            .samples
            .back()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) < Duration::from_secs(1))
        {
            return false;
        }
        self.samples
            .push_back((now, Sample::of(totals, bytes_written, topics)));
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.samples.pop_front();
        }
        true
    }

    /// The snapshot: totals and averages from the counters, rates over the window.
    pub fn snapshot<'a>(
        &self,
        now: Instant,
        t: &CoreTotals,
        g: &DriverGauges,
        topics: impl Iterator<Item = (&'a str, &'a TopicTotals)>,
    ) -> ProducerMetrics {
        let (since, old) = self
            .samples
            .front()
            .map(|(at, s)| (*at, s.clone()))
            .unwrap_or((now, Sample::default()));
        let secs = now.saturating_duration_since(since).as_secs_f64().max(1e-3);
        let rate = |now_v: u64, then: u64| now_v.saturating_sub(then) as f64 / secs;
        let avg = |sum: f64, n: u64| if n == 0 { 0.0 } else { sum / n as f64 };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut p = BTreeMap::new();
        p.insert("batch-size-avg", avg(t.batch_bytes as f64, t.batches_sent));
        p.insert("batch-size-max", t.batch_bytes_max as f64);
        p.insert("buffer-available-bytes", g.buffer_available as f64);
        p.insert("buffer-total-bytes", g.buffer_total as f64);
        p.insert("bufferpool-wait-time-ns-total", g.buffer_wait_ns as f64);
        p.insert(
            "compression-rate-avg",
            avg(t.compression_ratio_sum, t.batches_sent),
        );
        p.insert(
            "outgoing-byte-rate",
            rate(g.bytes_written, old.bytes_written),
        );
        p.insert("outgoing-byte-total", g.bytes_written as f64);
        p.insert(
            "produce-throttle-time-avg",
            avg(t.throttle_ms_total as f64, t.throttled_responses),
        );
        p.insert("produce-throttle-time-max", t.throttle_ms_max as f64);
        p.insert(
            "record-error-rate",
            rate(t.records_failed, old.records_failed),
        );
        p.insert("record-error-total", t.records_failed as f64);
        p.insert(
            "record-queue-time-avg",
            avg(ms(t.queue_time_total), t.first_sends),
        );
        p.insert("record-queue-time-max", ms(t.queue_time_max));
        p.insert(
            "record-retry-rate",
            rate(t.records_retried, old.records_retried),
        );
        p.insert("record-retry-total", t.records_retried as f64);
        p.insert("record-send-rate", rate(t.records_sent, old.records_sent));
        p.insert("record-send-total", t.records_sent as f64);
        p.insert(
            "records-per-request-avg",
            avg(t.records_sent as f64, t.produce_requests),
        );
        p.insert("request-latency-avg", avg(ms(t.latency_total), t.responses));
        p.insert("request-latency-max", ms(t.latency_max));
        p.insert("request-rate", rate(t.requests, old.requests));
        p.insert("request-total", t.requests as f64);
        p.insert("requests-in-flight", g.in_flight as f64);
        let topics = topics
            .map(|(name, x)| {
                let then = old.topic(name);
                let mut m = BTreeMap::new();
                m.insert("byte-rate", rate(x.bytes_sent, then[1]));
                m.insert("byte-total", x.bytes_sent as f64);
                m.insert(
                    "compression-rate",
                    avg(x.compression_ratio_sum, x.batches_sent),
                );
                m.insert("record-error-rate", rate(x.records_failed, then[3]));
                m.insert("record-error-total", x.records_failed as f64);
                m.insert("record-retry-rate", rate(x.records_retried, then[2]));
                m.insert("record-retry-total", x.records_retried as f64);
                m.insert("record-send-rate", rate(x.records_sent, then[0]));
                m.insert("record-send-total", x.records_sent as f64);
                (name.to_string(), m)
            })
            .collect();
        ProducerMetrics {
            producer: p,
            topics,
        }
    }
}

/// Publishes a snapshot through the `metrics` facade.
#[cfg(feature = "metrics")]
pub(crate) fn publish(client_id: &str, m: &ProducerMetrics) {
    for (name, v) in &m.producer {
        metrics::gauge!(format!("kafka.producer.{name}"), "client_id" => client_id.to_string())
            .set(*v);
    }
    for (topic, values) in &m.topics {
        for (name, v) in values {
            metrics::gauge!(
                format!("kafka.producer.topic.{name}"),
                "client_id" => client_id.to_string(),
                "topic" => topic.clone()
            )
            .set(*v);
        }
    }
}
