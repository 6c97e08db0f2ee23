//! The producer against a real Apache Kafka (`cargo xtask kafka up`; `cargo
//! xtask ci` starts one). Records are read back with Fetch through
//! `kafka-codec` and compared record by record.

use std::time::Duration;

use kafka_producer::{ErrorCode, Producer, ProducerError, ProducerRecord};
use kafka_testkit as testkit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

mod bodies;
use bodies::*;

fn bootstrap() -> String {
    testkit::cluster_env(ROOT)
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("no Kafka cluster: run `cargo xtask kafka up` first (or `cargo xtask ci`)")
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
    let (topic, _) = new_topic(&bootstrap(), "p-errors", 1).await;
    let p = producer(
        &bootstrap(),
        &[("max.request.size", "10000"), ("compression.type", "zstd")],
    );
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
    let p2 = producer(&bootstrap(), &[("max.request.size", "3000000")]);
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
    let p3 = producer(&bootstrap(), &[("max.block.ms", "1500")]);
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
    let (topic, info) = new_topic(&bootstrap(), "p-flush", 2).await;
    let p = producer(
        &bootstrap(),
        &[("linger.ms", "60000"), ("batch.size", "1000000")],
    );
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
    let (topic, _) = new_topic(&bootstrap(), "p-console", 1).await;
    let p = producer(&bootstrap(), &[("compression.type", "lz4")]);
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
/// The metrics snapshot against a real broker: counts equal what was sent,
/// rates are non-zero while sending, and nothing is left in flight or
/// buffered after a flush.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_sent() {
    let (topic, info) = new_topic(&bootstrap(), "metrics", 3).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_and_acks_round_trips_record_by_record() {
    bodies::every_codec_and_acks_round_trips_record_by_record(&bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_land_where_the_java_client_puts_them() {
    bodies::keys_land_where_the_java_client_puts_them(&bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_keys_keep_order_and_appear_once() {
    bodies::idempotent_keys_keep_order_and_appear_once(&bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_report_every_record_once_in_send_order() {
    bodies::callbacks_report_every_record_once_in_send_order(&bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interceptors_see_every_record_and_every_outcome() {
    bodies::interceptors_see_every_record_and_every_outcome(&bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_for_describes_every_partition() {
    bodies::partitions_for_describes_every_partition(&bootstrap()).await
}

#[cfg(feature = "otel")]
#[tokio::test]
async fn sends_carry_their_span_in_traceparent() {
    bodies::sends_carry_their_span_in_traceparent(&bootstrap()).await
}

/// Client telemetry (KIP-714) against the brokers' recording plugin: the
/// producer subscribes, pushes its metrics under Java's names at the
/// subscription's interval, and a last push at close; the pushed deltas of
/// each total add up to what `metrics()` reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_its_metrics_to_a_subscribing_broker() {
    use kafka_producer::metrics::{PRODUCER_METRICS, TOPIC_METRICS};
    use kafka_producer::telemetry::metric_name;
    let b = bootstrap();
    let (topic, _) = new_topic(&b, "telemetry", 2).await;
    let client_id = testkit::unique_topic("telemetry-client");
    let conn = testkit::connect(b.split(',').next().unwrap())
        .await
        .unwrap();
    testkit::telemetry::subscribe(
        &conn,
        &client_id,
        &client_id,
        &["org.apache.kafka.producer."],
        300,
    )
    .await
    .expect("client-metrics subscription");
    let p = producer(
        &b,
        &[
            ("client.id", &client_id),
            ("client.rack", "rack-z"),
            ("linger.ms", "1"),
        ],
    );
    let id = p
        .client_instance_id(Duration::from_secs(20))
        .await
        .unwrap()
        .expect("a client instance id from the broker");
    let mut deliveries = Vec::new();
    for i in 0..200 {
        let record = ProducerRecord::new(&topic).key(format!("k{i}")).value("v");
        deliveries.push(p.send(record).await.unwrap());
    }
    for d in deliveries {
        d.await.expect("delivered");
    }
    // Two pushes at least while the producer runs (300 ms apart).
    let pushes_with_totals = || {
        testkit::telemetry::pushed(ROOT, &id.0)
            .iter()
            .filter(|x| x.name == "org.apache.kafka.producer.record.send.total")
            .count()
    };
    for _ in 0..100 {
        if pushes_with_totals() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(pushes_with_totals() >= 2, "pushes while running");
    let metrics = p.metrics().await.unwrap();
    p.close(Duration::from_secs(10)).await;

    let pushed = testkit::telemetry::pushed(ROOT, &id.0);
    assert!(pushed.iter().all(|x| x.client_id == client_id));
    assert!(pushed.last().unwrap().terminating, "a last push at close");
    assert!(pushed.iter().all(|x| x.resource == "client_rack=rack-z"));
    // Every name is Java's name of a metric `metrics()` reports, and the
    // kinds are Java's: totals are monotonic delta sums, the rest gauges.
    let java: Vec<String> = PRODUCER_METRICS
        .iter()
        .map(|n| metric_name("producer-metrics", n))
        .chain(
            TOPIC_METRICS
                .iter()
                .map(|n| metric_name("producer-topic-metrics", n)),
        )
        .collect();
    for x in &pushed {
        assert!(
            java.contains(&x.name),
            "{} is not a producer metric",
            x.name
        );
        let expected = if x.name.ends_with(".total") {
            "sum/1/true"
        } else {
            "gauge"
        };
        assert_eq!(x.kind, expected, "{}", x.name);
        let topic_metric = x.name.starts_with("org.apache.kafka.producer.topic.");
        assert_eq!(
            x.attributes == format!("topic={topic}"),
            topic_metric,
            "{x:?}"
        );
    }
    for n in PRODUCER_METRICS {
        let name = metric_name("producer-metrics", n);
        assert!(pushed.iter().any(|x| x.name == name), "{name} never pushed");
    }
    // Deltas add up to the totals (nothing was sent after the snapshot).
    let sum = |name: &str| -> f64 {
        pushed
            .iter()
            .filter(|x| x.name == name)
            .map(|x| x.value)
            .sum()
    };
    assert_eq!(sum("org.apache.kafka.producer.record.send.total"), 200.0);
    assert_eq!(
        sum("org.apache.kafka.producer.record.send.total"),
        metrics.get("record-send-total").unwrap()
    );
    assert_eq!(
        sum("org.apache.kafka.producer.topic.record.send.total"),
        metrics.topic(&topic, "record-send-total").unwrap()
    );
    let last_gauge = |name: &str| {
        pushed
            .iter()
            .rev()
            .find(|x| x.name == name)
            .map(|x| x.value)
    };
    assert_eq!(
        last_gauge("org.apache.kafka.producer.buffer.total.bytes"),
        metrics.get("buffer-total-bytes")
    );
}

/// With `enable.metrics.push=false` nothing is pushed, even to a
/// subscription that matches, and there is no id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_telemetry_when_metrics_push_is_off() {
    let b = bootstrap();
    let (topic, _) = new_topic(&b, "telemetry-off", 1).await;
    let client_id = testkit::unique_topic("telemetry-off-client");
    let conn = testkit::connect(b.split(',').next().unwrap())
        .await
        .unwrap();
    testkit::telemetry::subscribe(&conn, &client_id, &client_id, &["*"], 100)
        .await
        .expect("client-metrics subscription");
    let p = producer(
        &b,
        &[("client.id", &client_id), ("enable.metrics.push", "false")],
    );
    let sent = p
        .send(ProducerRecord::new(&topic).value("v"))
        .await
        .unwrap();
    sent.await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    p.close(Duration::from_secs(5)).await;
    assert!(testkit::telemetry::pushed_by(ROOT, &client_id).is_empty());
    let err = p
        .client_instance_id(Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProducerError::Config(c) if c.keys == ["enable.metrics.push"]),
        "{err}"
    );
}
