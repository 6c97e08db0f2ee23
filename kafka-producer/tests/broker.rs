//! The producer against a real Apache Kafka (`cargo xtask kafka up`; `cargo
//! xtask ci` starts one). Records are read back with Fetch through
//! `kafka-codec` and compared record by record.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_codec::Connection;
use kafka_producer::{ErrorCode, Producer, ProducerError, ProducerRecord};
use kafka_testkit::{self as testkit, FetchedRecord, TopicInfo};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn bootstrap() -> String {
    testkit::cluster_env(ROOT)
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("no Kafka cluster: run `cargo xtask kafka up` first (or `cargo xtask ci`)")
}

async fn admin() -> Connection {
    let b = bootstrap();
    testkit::connect(b.split(',').next().unwrap())
        .await
        .expect("connect")
}

async fn new_topic(prefix: &str, partitions: i32) -> (String, TopicInfo) {
    let name = testkit::unique_topic(prefix);
    let info = testkit::create_topic(&admin().await, &name, partitions, 1)
        .await
        .expect("create topic");
    (name, info)
}

async fn read_all(topic: &str, info: &TopicInfo) -> Vec<Vec<FetchedRecord>> {
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
async fn read_expecting(topic: &str, info: &TopicInfo, expected: usize) -> Vec<Vec<FetchedRecord>> {
    for _ in 0..50 {
        let logs = read_all(topic, info).await;
        if logs.iter().map(Vec::len).sum::<usize>() >= expected {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    read_all(topic, info).await
}

fn producer(props: &[(&str, &str)]) -> Producer {
    let b = bootstrap();
    let mut all: Vec<(&str, &str)> = vec![("bootstrap.servers", b.as_str())];
    all.extend_from_slice(props);
    Producer::from_properties(all).expect("valid producer config")
}

/// A record whose every field can be checked after the round trip.
fn test_record(topic: &str, n: usize) -> ProducerRecord {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_and_acks_round_trips_record_by_record() {
    for compression in ["none", "gzip", "snappy", "lz4", "zstd"] {
        for acks in ["0", "1", "all"] {
            let (topic, info) = new_topic(&format!("p-{compression}-{acks}"), 3).await;
            let p = producer(&[
                ("compression.type", compression),
                ("acks", acks),
                ("linger.ms", "5"),
                ("batch.size", "4096"),
            ]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_land_where_the_java_client_puts_them() {
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
    let (topic, _) = new_topic("p-keys", 7).await;
    let p = producer(&[]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_errors() {
    // Invalid configuration: conflicting keys are named.
    let err = Producer::from_properties([
        ("bootstrap.servers", "127.0.0.1:1"),
        ("enable.idempotence", "true"),
        ("acks", "1"),
    ])
    .unwrap_err();
    assert!(
        matches!(&err, ProducerError::Config(m) if m.message.contains("acks") && m.message.contains("enable.idempotence") && m.keys.len() == 2),
        "{err}"
    );
    let err =
        Producer::from_properties([("bootstrap.servers", "127.0.0.1:1"), ("no.such.key", "1")])
            .unwrap_err();
    assert!(
        matches!(&err, ProducerError::Config(m) if m.message.contains("no.such.key") && m.keys == ["no.such.key"]),
        "{err}"
    );

    // Record too large: checked on the uncompressed size before anything is buffered.
    let (topic, _) = new_topic("p-errors", 1).await;
    let p = producer(&[("max.request.size", "10000"), ("compression.type", "zstd")]);
    let err = p
        .send(ProducerRecord::new(&topic).value(vec![0u8; 20_000]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProducerError::RecordTooLarge {
                limit_name: "max.request.size",
                ..
            }
        ),
        "{err}"
    );

    // A record the broker rejects as too large (max.message.bytes 1 MiB by default).
    let p2 = producer(&[("max.request.size", "3000000")]);
    let err = p2
        .send(ProducerRecord::new(&topic).value(vec![1u8; 2_000_000]))
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProducerError::Broker(b) if b.code == ErrorCode::MESSAGE_TOO_LARGE),
        "MESSAGE_TOO_LARGE expected, got {err}"
    );

    // Unknown topic with auto-creation off: waits max.block.ms, then fails naming the topic.
    let p3 = producer(&[("max.block.ms", "1500")]);
    let started = std::time::Instant::now();
    let err = p3
        .send(ProducerRecord::new("no-such-topic-xyz").value("v"))
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProducerError::TopicNotFound { topic, .. } if topic == "no-such-topic-xyz"),
        "{err}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1400));

    // An explicit partition the topic does not have: as Java, it waits
    // max.block.ms for metadata that knows it, then fails naming it.
    let err = p3
        .send(ProducerRecord::new(&topic).partition(9).value("v"))
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProducerError::InvalidPartition {
                partition: 9,
                partitions: 1,
                ..
            }
        ),
        "{err}"
    );
    for p in [p, p2, p3] {
        p.close(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_waits_and_close_leaves_nothing_hanging() {
    let (topic, info) = new_topic("p-flush", 2).await;
    let p = producer(&[("linger.ms", "60000"), ("batch.size", "1000000")]);
    let mut deliveries = Vec::new();
    for i in 0..50 {
        deliveries.push(
            p.send(ProducerRecord::new(&topic).value(format!("v{i}")))
                .await
                .unwrap(),
        );
    }
    // linger.ms is a minute: only flush makes these go now.
    tokio::time::timeout(Duration::from_secs(20), p.flush())
        .await
        .expect("flush returns")
        .unwrap();
    for d in deliveries {
        assert!(d.await.is_ok());
    }
    // Close with records still lingering: they are delivered (or failed), never left pending.
    let mut later = Vec::new();
    for i in 0..10 {
        later.push(
            p.send(ProducerRecord::new(&topic).value(format!("late{i}")))
                .await
                .unwrap(),
        );
    }
    p.close(Duration::from_secs(20)).await;
    for d in later {
        d.await.expect("delivered during close");
    }
    assert!(matches!(
        p.send(ProducerRecord::new(&topic).value("after")).await,
        Err(ProducerError::Closed) | Ok(_)
    ));
    let logs = read_all(&topic, &info).await;
    assert_eq!(logs.iter().map(Vec::len).sum::<usize>(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_console_consumer_reads_our_records() {
    let env = testkit::cluster_env(ROOT);
    let libs = env.get("KAFKA_LIBS").expect("KAFKA_LIBS").clone();
    let (topic, _) = new_topic("p-console", 1).await;
    let p = producer(&[("compression.type", "lz4")]);
    for i in 0..3 {
        p.send(
            ProducerRecord::new(&topic)
                .key(format!("k{i}"))
                .value(format!("hello {i}")),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    }
    p.close(Duration::from_secs(5)).await;
    let lines = testkit::console_consumer(&libs, &bootstrap(), &topic, 3, false).unwrap();
    assert_eq!(lines, ["k0\thello 0", "k1\thello 1", "k2\thello 2"]);
}

/// Counts how often each value appears across the topic.
fn count_values(logs: &[Vec<FetchedRecord>]) -> HashMap<Bytes, usize> {
    let mut m = HashMap::new();
    for r in logs.iter().flatten() {
        if let Some(v) = &r.value {
            *m.entry(v.clone()).or_default() += 1;
        }
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_keys_keep_order_and_appear_once() {
    let (topic, info) = new_topic("p-order", 3).await;
    let p = producer(&[
        ("linger.ms", "1"),
        ("batch.size", "2048"),
        ("max.in.flight.requests.per.connection", "5"),
    ]);
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
    let counts = count_values(&logs);
    assert_eq!(counts.len(), n, "every acknowledged record is in the log");
    assert!(counts.values().all(|c| *c == 1));
    for log in &logs {
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

/// The metrics snapshot against a real broker: counts equal what was sent,
/// rates are non-zero while sending, and nothing is left in flight or
/// buffered after a flush.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_sent() {
    let (topic, info) = new_topic("metrics", 3).await;
    let producer = Producer::from_properties([
        ("bootstrap.servers", bootstrap().as_str()),
        ("linger.ms", "5"),
        ("batch.size", "4096"),
        ("compression.type", "lz4"),
        ("max.block.ms", "3000"),
    ])
    .unwrap();
    let total = 5000;
    let mut during = None;
    let mut deliveries = Vec::with_capacity(total);
    for i in 0..total {
        let r = ProducerRecord::new(&topic)
            .key(format!("k{}", i % 10))
            .value(format!("value {i:05} {}", "x".repeat(90)));
        deliveries.push(producer.send(r).await.unwrap());
        if i == total / 2 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            during = Some(producer.metrics().await.unwrap());
        }
    }
    for d in deliveries {
        d.await.unwrap();
    }
    let during = during.unwrap();
    for name in ["record-send-rate", "request-rate", "outgoing-byte-rate"] {
        assert!(
            during.get(name).unwrap() > 0.0,
            "{name} while sending: {during:?}"
        );
    }
    assert!(during.topic(&topic, "record-send-rate").unwrap() > 0.0);
    let m = producer.metrics().await.unwrap();
    let sent = m.get("record-send-total").unwrap() - m.get("record-retry-total").unwrap();
    assert_eq!(sent, total as f64, "{m:?}");
    assert_eq!(m.get("record-error-total"), Some(0.0));
    assert_eq!(m.topic(&topic, "record-send-total"), Some(total as f64));
    assert_eq!(m.get("requests-in-flight"), Some(0.0));
    assert_eq!(
        m.get("buffer-available-bytes"),
        m.get("buffer-total-bytes"),
        "every byte of buffer memory is back"
    );
    let bytes = m.topic(&topic, "byte-total").unwrap();
    assert!(bytes > 0.0);
    assert!(
        m.get("outgoing-byte-total").unwrap() > bytes,
        "requests carry more than their batches"
    );
    assert!(m.get("batch-size-avg").unwrap() > 0.0);
    assert!(m.get("batch-size-max").unwrap() >= m.get("batch-size-avg").unwrap());
    let ratio = m.get("compression-rate-avg").unwrap();
    assert!(
        ratio > 0.0 && ratio < 1.0,
        "lz4 of repetitive values: {ratio}"
    );
    assert!(m.get("request-latency-avg").unwrap() > 0.0);
    assert!(m.get("records-per-request-avg").unwrap() >= 1.0);
    // A record that fails counts as an error of its topic.
    let missing = producer
        .send(ProducerRecord::new(&topic).partition(99).value("v"))
        .await
        .unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(30), missing)
        .await
        .expect("fails after max.block.ms")
        .is_err());
    let m = producer.metrics().await.unwrap();
    assert_eq!(m.get("record-error-total"), Some(1.0));
    assert_eq!(m.topic(&topic, "record-error-total"), Some(1.0));
    let logs = read_all(&topic, &info).await;
    assert_eq!(logs.iter().map(Vec::len).sum::<usize>(), total);
    producer.close(Duration::from_secs(10)).await;
}

/// `send_with_callback`: every record's callback runs once, with the offset
/// the broker holds it at; callbacks of a partition run in send order; a
/// record the broker refuses gets its error there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_report_every_record_once_in_send_order() {
    let (topic, info) = new_topic("callbacks", 3).await;
    let p = producer(&[("linger.ms", "5"), ("batch.size", "4096")]);
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
    let big_producer = producer(&[("max.request.size", "4194304")]);
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
