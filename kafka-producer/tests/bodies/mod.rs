//! Test bodies run against a real Kafka (`broker.rs`) and against
//! `kafka-fake` (`fake.rs`): one body, two clusters, given by their
//! bootstrap address. Records are read back with Fetch through the test kit.

#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_codec::Connection;
use kafka_producer::{ErrorCode, Producer, ProducerError, ProducerRecord};
use kafka_testkit::{self as testkit, FetchedRecord, TopicInfo};

mod hooks;
#[cfg(feature = "otel")]
mod traced;
mod under_faults;
// Each test binary runs a part of the bodies.
#[allow(unused_imports)]
pub use hooks::*;
#[cfg(feature = "otel")]
#[allow(unused_imports)]
pub use traced::*;
#[allow(unused_imports)]
pub use under_faults::*;

pub async fn admin(b: &str) -> Connection {
    testkit::connect(b.split(',').next().unwrap())
        .await
        .expect("connect")
}

pub async fn new_topic(b: &str, prefix: &str, partitions: i32) -> (String, TopicInfo) {
    new_replicated_topic(b, prefix, partitions, 1).await
}

pub async fn new_replicated_topic(
    b: &str,
    prefix: &str,
    partitions: i32,
    replicas: i16,
) -> (String, TopicInfo) {
    let name = testkit::unique_topic(prefix);
    let info = testkit::create_topic(&admin(b).await, &name, partitions, replicas)
        .await
        .expect("create topic");
    (name, info)
}

pub async fn read_all(topic: &str, info: &TopicInfo) -> Vec<Vec<FetchedRecord>> {
    let mut out = Vec::new();
    for (p, leader) in info.leaders.iter().enumerate() {
        let conn = testkit::connect(leader).await.unwrap();
        out.push(
            testkit::fetch_partition(&conn, topic, info, p as i32)
                .await
                .unwrap_or_else(|e| panic!("fetch {topic}-{p}: {e}")),
        );
    }
    out
}

/// Reads until `expected` records are there: with acks=0 the broker may
/// still be appending when the producer is done.
pub async fn read_expecting(
    topic: &str,
    info: &TopicInfo,
    expected: usize,
) -> Vec<Vec<FetchedRecord>> {
    for _ in 0..50 {
        let logs = read_all(topic, info).await;
        if logs.iter().map(Vec::len).sum::<usize>() >= expected {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    read_all(topic, info).await
}

pub fn producer(b: &str, props: &[(&str, &str)]) -> Producer {
    let mut all: Vec<(&str, &str)> = vec![("bootstrap.servers", b)];
    all.extend_from_slice(props);
    Producer::from_properties(all).expect("valid producer config")
}

/// A record whose every field can be checked after the round trip.
pub fn test_record(topic: &str, n: usize) -> ProducerRecord {
    let mut r =
        ProducerRecord::new(topic).timestamp(1_700_000_000_000 + (n as i64 % 7) * 1000 - 3000);
    if n % 5 != 0 {
        r = r.key(format!("key-{}", n % 13));
    }
    if n % 11 != 3 {
        r = r.value(format!("value-{n}-{}", "x".repeat(n % 200)));
    }
    if n % 3 == 0 {
        r = r
            .header("h", Some(format!("{n}")))
            .header("null-header", None::<Bytes>);
    }
    r
}

pub fn count_values(logs: &[Vec<FetchedRecord>]) -> HashMap<Bytes, usize> {
    let mut m = HashMap::new();
    for r in logs.iter().flatten() {
        if let Some(v) = &r.value {
            *m.entry(v.clone()).or_default() += 1;
        }
    }
    m
}

pub async fn every_codec_and_acks_round_trips_record_by_record(b: &str) {
    for compression in ["none", "gzip", "snappy", "lz4", "zstd"] {
        for acks in ["0", "1", "all"] {
            let (topic, info) = new_topic(b, &format!("p-{compression}-{acks}"), 3).await;
            let p = producer(
                b,
                &[
                    ("compression.type", compression),
                    ("acks", acks),
                    ("linger.ms", "5"),
                    ("batch.size", "4096"),
                ],
            );
            let n = 300;
            let mut deliveries = Vec::new();
            for i in 0..n {
                deliveries.push(p.send(test_record(&topic, i)).await.unwrap());
            }
            let mut acked = Vec::new();
            for d in deliveries {
                acked.push(
                    d.await
                        .unwrap_or_else(|e| panic!("{compression}/acks={acks}: {e}")),
                );
            }
            p.close(Duration::from_secs(10)).await;
            let logs = read_expecting(&topic, &info, n).await;
            assert_eq!(
                logs.iter().map(Vec::len).sum::<usize>(),
                n,
                "{compression}/acks={acks}"
            );
            for (i, md) in acked.iter().enumerate() {
                let want = test_record(&topic, i);
                let log = &logs[md.partition as usize];
                let got = if acks == "0" {
                    assert_eq!(md.offset, -1, "acks=0 gives no offset");
                    // Without offsets, find the record by its distinct value/key/timestamp.
                    log.iter()
                        .find(|r| {
                            r.value == want.value
                                && r.key == want.key
                                && r.timestamp == want.timestamp.unwrap()
                        })
                        .expect("record present")
                } else {
                    &log[md.offset as usize]
                };
                assert_eq!(got.key, want.key, "{compression}/acks={acks} record {i}");
                assert_eq!(got.value, want.value);
                assert_eq!(got.headers, want.headers);
                assert_eq!(got.timestamp, want.timestamp.unwrap());
                assert_eq!(md.timestamp, want.timestamp.unwrap());
            }
        }
    }
}

pub async fn keys_land_where_the_java_client_puts_them(b: &str) {
    // Keys and partitions for 7 partitions from the Java client's own partitioner.
    let vectors = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/murmur2_java.csv"
    ))
    .unwrap();
    let header: Vec<&str> = vectors.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "n7")
        .expect("a column for 7 partitions");
    let (topic, _) = new_topic(b, "p-keys", 7).await;
    let p = producer(b, &[]);
    let mut checked = 0;
    for line in vectors.lines().skip(1).filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split(',').collect();
        let key = hex(cols[0]);
        let want: i32 = cols[col].parse().unwrap();
        let md = p
            .send(ProducerRecord::new(&topic).key(key).value("v"))
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(md.partition, want, "key {}", cols[0]);
        checked += 1;
    }
    assert!(checked > 100);
    p.close(Duration::from_secs(10)).await;
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub async fn idempotent_keys_keep_order_and_appear_once(b: &str) {
    let (topic, info) = new_topic(b, "p-order", 3).await;
    let p = producer(
        b,
        &[
            ("linger.ms", "1"),
            ("batch.size", "2048"),
            ("max.in.flight.requests.per.connection", "5"),
        ],
    );
    let n = 3000;
    let mut deliveries = Vec::new();
    for i in 0..n {
        let r = ProducerRecord::new(&topic)
            .key(format!("k{}", i % 10))
            .value(format!("{i}"));
        deliveries.push(p.send(r).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    p.close(Duration::from_secs(10)).await;
    // Every record was acknowledged, so every one is in the log, once.
    let logs = read_expecting(&topic, &info, n).await;
    assert_once_in_key_order(&logs, n);
}

/// Records valued `0..n` (decimal) are each in the logs once, and each
/// key's values grow along its partition.
pub fn assert_once_in_key_order(logs: &[Vec<FetchedRecord>], n: usize) {
    let counts = count_values(logs);
    assert_eq!(counts.len(), n, "every acknowledged record is in the log");
    let repeated: Vec<_> = counts.iter().filter(|(_, c)| **c != 1).collect();
    assert!(
        repeated.is_empty(),
        "{} records in the log more than once, such as {:?}",
        repeated.len(),
        &repeated[..repeated.len().min(5)]
    );
    for log in logs {
        let mut last: HashMap<Bytes, u64> = HashMap::new();
        for r in log {
            let v: u64 = std::str::from_utf8(r.value.as_ref().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            let k = r.key.clone().unwrap();
            if let Some(prev) = last.insert(k, v) {
                assert!(prev < v, "per-key order broken: {prev} then {v}");
            }
        }
    }
}

/// `send_with_callback`: every record's callback runs once, with the offset
/// the broker holds it at; callbacks of a partition run in send order; a
/// record the broker refuses gets its error there too.
pub async fn callbacks_report_every_record_once_in_send_order(b: &str) {
    let (topic, info) = new_topic(b, "callbacks", 3).await;
    let p = producer(b, &[("linger.ms", "5"), ("batch.size", "4096")]);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let n = 3000usize;
    for i in 0..n {
        let record = ProducerRecord::new(&topic)
            .key(format!("k{}", i % 17))
            .value(format!("v{i}"));
        let seen = seen.clone();
        p.send_with_callback(record, move |outcome| {
            let md = outcome.expect("delivered");
            seen.lock().unwrap().push((i, md.partition, md.offset));
        })
        .await
        .unwrap();
    }
    p.flush().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), n, "one callback per record");
    // Per partition, callbacks in send order and offsets growing.
    let mut last: HashMap<i32, (usize, i64)> = HashMap::new();
    for &(i, partition, offset) in &seen {
        if let Some(&(pi, po)) = last.get(&partition) {
            assert!(
                i > pi && offset > po,
                "partition {partition}: {i}@{offset} after {pi}@{po}"
            );
        }
        last.insert(partition, (i, offset));
    }
    // The broker holds each record where its callback said.
    let logs = read_all(&topic, &info).await;
    assert_eq!(logs.iter().map(Vec::len).sum::<usize>(), n);
    for &(i, partition, offset) in &seen {
        let r = logs[partition as usize]
            .iter()
            .find(|r| r.offset == offset)
            .unwrap_or_else(|| panic!("record {i} not at {partition}@{offset}"));
        assert_eq!(r.value.as_deref(), Some(format!("v{i}").as_bytes()));
    }
    // A record too large for the broker: the callback gets the error.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let big = ProducerRecord::new(&topic).value(vec![b'x'; 2 * 1024 * 1024]);
    let big_producer = producer(b, &[("max.request.size", "4194304")]);
    big_producer
        .send_with_callback(big, move |outcome| {
            let _ = tx.send(outcome);
        })
        .await
        .unwrap();
    match rx.await.expect("the callback ran") {
        Err(ProducerError::Broker(b)) => assert_eq!(b.code, ErrorCode::MESSAGE_TOO_LARGE),
        other => panic!("expected MESSAGE_TOO_LARGE, got {other:?}"),
    }
    p.close(Duration::from_secs(10)).await;
    big_producer.close(Duration::from_secs(10)).await;
}
