//! Client telemetry (KIP-714): the producer pushes its metrics to the
//! cluster when the cluster asks for them.
//!
//! With `enable.metrics.push=true` (Java's default) the producer asks a
//! broker for its telemetry subscription (`GetTelemetrySubscriptions`).
//! A cluster subscribes clients to metrics with a `client-metrics`
//! configuration (`kafka-client-metrics.sh`), and only a broker with a
//! telemetry plugin (a `metric.reporters` class implementing Kafka's
//! `ClientTelemetry`) offers these requests at all; elsewhere nothing is
//! sent after the first refused attempt, which is retried every 5 minutes
//! as Java does.
//!
//! When subscribed, the producer sends `PushTelemetry` at the interval the
//! broker asks (the first push at 0.5 to 1.5 times it, so that clients
//! started together spread out), and a last one, marked terminating, when
//! it closes. The payload is an OpenTelemetry `MetricsData` (OTLP
//! protobuf), compressed with the first codec the broker accepts that this
//! build has, holding the metrics of [`Producer::metrics`] under the names
//! Java gives them ([`metric_name`]): `org.apache.kafka.producer.` and the
//! `producer-metrics` name with dots for dashes, and
//! `org.apache.kafka.producer.topic.` for `producer-topic-metrics`, with a
//! `topic` attribute. As in Java, `*-total` counters are monotonic sums
//! (delta or cumulative, as the subscription says), every other metric a
//! gauge, `client_id` is left out of the attributes (the broker knows it),
//! and the resource carries `client_rack` and `transactional_id` when set.
//! The subscription's metric names are prefixes (`*` for all).
//!
//! [`Producer::client_instance_id`] waits for the id the broker gives this
//! client, the key under which a telemetry backend files its metrics.
//!
//! ```no_run
//! # async fn demo(producer: kafka_producer::Producer) -> Result<(), kafka_producer::ProducerError> {
//! use std::time::Duration;
//! match producer.client_instance_id(Duration::from_secs(5)).await? {
//!     Some(id) => println!("this producer's metrics are filed under {id}"),
//!     None => println!("no broker subscribed this client to metrics (yet)"),
//! }
//! # Ok(()) }
//! ```
//!
//! [`Producer::metrics`]: crate::Producer::metrics
//! [`Producer::client_instance_id`]: crate::Producer::client_instance_id

use std::collections::HashMap;

use crate::metrics::ProducerMetrics;

/// The name Java's telemetry gives a metric of `group`: Kafka's domain,
/// the group without its `-metrics` suffix, then the name, lower case
/// with dots for dashes.
///
/// ```
/// use kafka_producer::telemetry::metric_name;
/// assert_eq!(
///     metric_name("producer-metrics", "record-send-total"),
///     "org.apache.kafka.producer.record.send.total"
/// );
/// assert_eq!(
///     metric_name("producer-topic-metrics", "byte-rate"),
///     "org.apache.kafka.producer.topic.byte.rate"
/// );
/// ```
pub fn metric_name(group: &str, name: &str) -> String {
    let clean = |s: &str| s.to_lowercase().replace('-', ".");
    let group = clean(group).replace(".metrics", "");
    format!("org.apache.kafka.{group}.{}", clean(name))
}

/// Which metrics a subscription asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    None,
    All,
    /// Names starting with one of these.
    Prefixes(Vec<String>),
}

impl Selector {
    /// As Java reads `RequestedMetrics`: empty asks for nothing, a lone
    /// `*` for everything, anything else lists name prefixes.
    pub fn from_requested(requested: &[String]) -> Self {
        match requested {
            [] => Selector::None,
            [one] if one == "*" => Selector::All,
            list => Selector::Prefixes(list.to_vec()),
        }
    }

    pub fn selects(&self, name: &str) -> bool {
        match self {
            Selector::None => false,
            Selector::All => true,
            Selector::Prefixes(p) => p.iter().any(|p| name.starts_with(p.as_str())),
        }
    }
}

/// What a delta sum is computed from: the value and time of the last push.
#[derive(Debug, Default)]
pub(crate) struct SumLedger {
    last: HashMap<(String, Option<String>), (f64, u64)>,
}

impl SumLedger {
    /// Forgets every last value (the temporality changed).
    pub fn reset(&mut self) {
        self.last.clear();
    }
}

/// How a push encodes its metrics.
pub(crate) struct Encoding<'a> {
    pub selector: &'a Selector,
    pub delta: bool,
    /// Wall-clock time of the push and of the producer's start, in ns.
    pub now_ns: u64,
    pub start_ns: u64,
    /// Resource attributes (`client_rack`, `transactional_id`).
    pub resource: &'a [(&'static str, String)],
}

/// One data point, as the payload carries it.
struct Point<'a> {
    name: String,
    topic: Option<&'a str>,
    value: f64,
}

/// The OTLP `MetricsData` of the selected metrics of `m`: one resource,
/// one scope, one metric per name and topic.
pub(crate) fn encode(m: &ProducerMetrics, e: &Encoding<'_>, ledger: &mut SumLedger) -> Vec<u8> {
    let mut points = Vec::new();
    for (name, v) in &m.producer {
        points.push(Point {
            name: metric_name("producer-metrics", name),
            topic: None,
            value: *v,
        });
    }
    for (topic, values) in &m.topics {
        for (name, v) in values {
            points.push(Point {
                name: metric_name("producer-topic-metrics", name),
                topic: Some(topic),
                value: *v,
            });
        }
    }
    let mut metrics = Vec::new();
    for p in points.iter().filter(|p| e.selector.selects(&p.name)) {
        let mut point = Vec::new();
        if let Some(topic) = p.topic {
            message(&mut point, 7, |kv| key_value(kv, "topic", topic));
        }
        let mut body = Vec::new();
        // Java's Meter totals (CumulativeSum, CumulativeCount) are sums.
        if p.name.ends_with(".total") {
            let (start, value) = if e.delta {
                let key = (p.name.clone(), p.topic.map(str::to_owned));
                let last = ledger.last.insert(key, (p.value, e.now_ns));
                last.map_or((e.start_ns, p.value), |(v, at)| (at, p.value - v))
            } else {
                (e.start_ns, p.value)
            };
            fixed64(&mut point, 2, start);
            fixed64(&mut point, 3, e.now_ns);
            double(&mut point, 4, value);
            message(&mut body, 1, |b| b.extend_from_slice(&point));
            // AGGREGATION_TEMPORALITY_DELTA = 1, _CUMULATIVE = 2.
            varint_field(&mut body, 2, if e.delta { 1 } else { 2 });
            varint_field(&mut body, 3, 1);
        } else {
            fixed64(&mut point, 3, e.now_ns);
            double(&mut point, 4, p.value);
            message(&mut body, 1, |b| b.extend_from_slice(&point));
        }
        message(&mut metrics, 2, |mm| {
            bytes_field(mm, 1, p.name.as_bytes());
            // Metric.gauge = 5, Metric.sum = 7.
            let field = if p.name.ends_with(".total") { 7 } else { 5 };
            message(mm, field, |b| b.extend_from_slice(&body));
        });
    }
    let mut out = Vec::new();
    message(&mut out, 1, |rm| {
        message(rm, 1, |resource| {
            for (k, v) in e.resource {
                message(resource, 1, |kv| key_value(kv, k, v));
            }
        });
        message(rm, 2, |scope| scope.extend_from_slice(&metrics));
    });
    out
}

// ------------------------------------------------------------ protobuf

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    tag(out, field, 0);
    varint(out, v);
}

fn fixed64(out: &mut Vec<u8>, field: u32, v: u64) {
    tag(out, field, 1);
    out.extend_from_slice(&v.to_le_bytes());
}

fn double(out: &mut Vec<u8>, field: u32, v: f64) {
    tag(out, field, 1);
    out.extend_from_slice(&v.to_le_bytes());
}

fn bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    tag(out, field, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A nested message: written aside, then length-prefixed.
fn message(out: &mut Vec<u8>, field: u32, write: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    write(&mut inner);
    bytes_field(out, field, &inner);
}

/// A `KeyValue` with a string `AnyValue`.
fn key_value(out: &mut Vec<u8>, key: &str, value: &str) {
    bytes_field(out, 1, key.as_bytes());
    message(out, 2, |any| bytes_field(any, 1, value.as_bytes()));
}

#[cfg(test)]
#[path = "telemetry_tests.rs"]
mod tests;
