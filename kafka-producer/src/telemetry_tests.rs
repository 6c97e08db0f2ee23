//! The OTLP payload, read back by a protobuf reader written for the test
//! (the real-Kafka test reads it with Java's OpenTelemetry classes).

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A protobuf field: number and value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Varint(u64),
    Fixed64(u64),
    Bytes(Vec<u8>),
}

fn read_varint(b: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*at];
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn fields(b: &[u8]) -> Vec<(u32, Value)> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        let key = read_varint(b, &mut at);
        let field = (key >> 3) as u32;
        let value = match key & 7 {
            0 => Value::Varint(read_varint(b, &mut at)),
            1 => {
                let v = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
                at += 8;
                Value::Fixed64(v)
            }
            2 => {
                let n = read_varint(b, &mut at) as usize;
                at += n;
                Value::Bytes(b[at - n..at].to_vec())
            }
            w => panic!("wire type {w}"),
        };
        out.push((field, value));
    }
    out
}

fn all(b: &[u8], field: u32) -> Vec<Vec<u8>> {
    fields(b)
        .into_iter()
        .filter(|(f, _)| *f == field)
        .filter_map(|(_, v)| match v {
            Value::Bytes(b) => Some(b),
            _ => None,
        })
        .collect()
}

fn one(b: &[u8], field: u32) -> Option<Value> {
    fields(b)
        .into_iter()
        .find(|(f, _)| *f == field)
        .map(|(_, v)| v)
}

fn string(b: &[u8], field: u32) -> String {
    match one(b, field) {
        Some(Value::Bytes(s)) => String::from_utf8(s).unwrap(),
        other => panic!("field {field}: {other:?}"),
    }
}

fn key_values(b: &[u8], field: u32) -> BTreeMap<String, String> {
    all(b, field)
        .iter()
        .map(|kv| (string(kv, 1), string(&all(kv, 2)[0], 1)))
        .collect()
}

/// A decoded metric: name, attributes, value, start time, and
/// `Some(temporality)` for a sum.
#[derive(Debug, PartialEq)]
struct Decoded {
    name: String,
    attributes: BTreeMap<String, String>,
    value: f64,
    start: Option<u64>,
    time: u64,
    sum: Option<u64>,
}

/// The resource attributes and every metric of a payload.
fn decode(payload: &[u8]) -> (BTreeMap<String, String>, Vec<Decoded>) {
    let rms = all(payload, 1);
    assert_eq!(rms.len(), 1, "one ResourceMetrics");
    let resource = key_values(&all(&rms[0], 1)[0], 1);
    let scopes = all(&rms[0], 2);
    assert_eq!(scopes.len(), 1, "one ScopeMetrics");
    let mut out = Vec::new();
    for m in all(&scopes[0], 2) {
        let name = string(&m, 1);
        let (body, sum) = match (all(&m, 5).pop(), all(&m, 7).pop()) {
            (Some(g), None) => (g, None),
            (None, Some(s)) => {
                assert_eq!(one(&s, 3), Some(Value::Varint(1)), "monotonic");
                let Some(Value::Varint(t)) = one(&s, 2) else {
                    panic!("temporality")
                };
                (s, Some(t))
            }
            other => panic!("{name}: {other:?}"),
        };
        let points = all(&body, 1);
        assert_eq!(points.len(), 1);
        let p = &points[0];
        let fixed = |f| match one(p, f) {
            Some(Value::Fixed64(v)) => Some(v),
            None => None,
            other => panic!("{other:?}"),
        };
        out.push(Decoded {
            name,
            attributes: key_values(p, 7),
            value: f64::from_bits(fixed(4).expect("as_double")),
            start: fixed(2),
            time: fixed(3).expect("time"),
            sum,
        });
    }
    (resource, out)
}

fn sample() -> ProducerMetrics {
    let mut m = ProducerMetrics::default();
    m.producer.insert("record-send-total", 10.0);
    m.producer.insert("record-send-rate", 2.5);
    m.producer.insert("request-latency-avg", 1.25);
    let mut t = BTreeMap::new();
    t.insert("byte-total", 1000.0);
    t.insert("byte-rate", 12.0);
    m.topics.insert("events".into(), t);
    m
}

fn encoding<'a>(
    selector: &'a Selector,
    delta: bool,
    now_ns: u64,
    resource: &'a [(&'static str, String)],
) -> Encoding<'a> {
    Encoding {
        selector,
        delta,
        now_ns,
        start_ns: 1_000,
        resource,
    }
}

#[test]
fn names_kinds_and_attributes_are_javas() {
    let all = Selector::All;
    let resource = [("client_rack", "rack-a".to_string())];
    let mut ledger = SumLedger::default();
    let payload = encode(
        &sample(),
        &encoding(&all, false, 5_000, &resource),
        &mut ledger,
    );
    let (res, metrics) = decode(&payload);
    assert_eq!(res.get("client_rack").map(String::as_str), Some("rack-a"));
    let by_name: BTreeMap<_, _> = metrics.iter().map(|d| (d.name.as_str(), d)).collect();
    let total = by_name["org.apache.kafka.producer.record.send.total"];
    assert_eq!(total.sum, Some(2), "cumulative");
    assert_eq!(
        (total.value, total.start, total.time),
        (10.0, Some(1_000), 5_000)
    );
    let rate = by_name["org.apache.kafka.producer.record.send.rate"];
    assert_eq!((rate.sum, rate.value, rate.start), (None, 2.5, None));
    let topic = by_name["org.apache.kafka.producer.topic.byte.total"];
    assert_eq!(
        topic.attributes.get("topic").map(String::as_str),
        Some("events")
    );
    assert!(by_name.contains_key("org.apache.kafka.producer.topic.byte.rate"));
    assert!(metrics
        .iter()
        .all(|d| !d.attributes.contains_key("client_id")));
    assert_eq!(metrics.len(), 5);
}

#[test]
fn delta_sums_count_from_the_last_push() {
    let all = Selector::All;
    let mut ledger = SumLedger::default();
    let mut m = sample();
    let first = decode(&encode(&m, &encoding(&all, true, 5_000, &[]), &mut ledger)).1;
    let total = |ds: &[Decoded]| {
        let d = ds
            .iter()
            .find(|d| d.name == "org.apache.kafka.producer.record.send.total")
            .unwrap();
        (d.value, d.start, d.sum)
    };
    assert_eq!(total(&first), (10.0, Some(1_000), Some(1)));
    m.producer.insert("record-send-total", 25.0);
    let second = decode(&encode(&m, &encoding(&all, true, 9_000, &[]), &mut ledger)).1;
    assert_eq!(total(&second), (15.0, Some(5_000), Some(1)));
    ledger.reset();
    let third = decode(&encode(&m, &encoding(&all, true, 9_500, &[]), &mut ledger)).1;
    assert_eq!(total(&third), (25.0, Some(1_000), Some(1)));
}

#[test]
fn the_subscription_selects_by_prefix() {
    let requested =
        |v: &[&str]| Selector::from_requested(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(requested(&[]), Selector::None);
    assert_eq!(requested(&["*"]), Selector::All);
    let topic_only = requested(&["org.apache.kafka.producer.topic."]);
    let mut ledger = SumLedger::default();
    let (_, ms) = decode(&encode(
        &sample(),
        &encoding(&topic_only, false, 1, &[]),
        &mut ledger,
    ));
    assert_eq!(ms.len(), 2);
    assert!(ms
        .iter()
        .all(|d| d.name.starts_with("org.apache.kafka.producer.topic.")));
    let (_, none) = decode(&encode(
        &sample(),
        &encoding(&Selector::None, false, 1, &[]),
        &mut ledger,
    ));
    assert!(none.is_empty());
}

proptest! {
    /// Any values and topic names come back as they went in.
    #[test]
    fn values_and_topics_round_trip(
        values in proptest::collection::btree_map("[a-z]{1,8}", any::<f64>().prop_filter("not NaN", |v| !v.is_nan()), 0..6),
        now in any::<u64>(),
    ) {
        let mut m = ProducerMetrics::default();
        for (topic, v) in &values {
            let mut t = BTreeMap::new();
            t.insert("record-send-rate", *v);
            m.topics.insert(topic.clone(), t);
        }
        let all = Selector::All;
        let mut ledger = SumLedger::default();
        let (_, ms) = decode(&encode(&m, &encoding(&all, false, now, &[]), &mut ledger));
        let back: BTreeMap<String, f64> = ms
            .iter()
            .map(|d| (d.attributes["topic"].clone(), d.value))
            .collect();
        prop_assert_eq!(back, values);
        prop_assert!(ms.iter().all(|d| d.time == now));
    }
}
