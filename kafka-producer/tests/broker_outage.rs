//! The producer while the (single) broker is killed and restarted, or stopped.
//! One test function, so that nothing else runs while the broker is down.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_producer::{Producer, ProducerError, ProducerRecord};
use kafka_testkit as testkit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn env() -> HashMap<String, String> {
    testkit::cluster_env(ROOT).into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_and_restarted_then_stopped() {
    let bootstrap = env()
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("KAFKA_BOOTSTRAP");
    assert!(
        !bootstrap.contains(','),
        "this test kills the only broker of a single-node cluster"
    );
    let admin = testkit::connect(&bootstrap).await.unwrap();
    let topic = testkit::unique_topic("outage");
    let info = testkit::create_topic(&admin, &topic, 3, 1).await.unwrap();
    drop(admin);

    // 1. Idempotent production through a SIGKILL and restart: every
    //    acknowledged record is in the log exactly once, per-key order holds.
    let producer = Producer::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        ("linger.ms", "2"),
        ("batch.size", "4096"),
        ("request.timeout.ms", "5000"),
        ("delivery.timeout.ms", "120000"),
    ])
    .unwrap();
    let total = 6000;
    let mut deliveries = Vec::new();
    let broker = testkit::brokers(ROOT).remove(0);
    for i in 0..total {
        if i == total / 3 {
            broker.kill();
            let mut broker = broker.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                broker.restart().expect("restart the broker");
            });
        }
        let r = ProducerRecord::new(&topic)
            .key(format!("k{}", i % 17))
            .value(format!("{i}"));
        deliveries.push((i, producer.send(r).await.unwrap()));
        if i % 500 == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut acked = 0;
    for (i, d) in deliveries {
        match d.await {
            Ok(_) => acked += 1,
            Err(e) => panic!("record {i} failed despite a generous delivery timeout: {e}"),
        }
    }
    assert_eq!(acked, total);
    producer.close(Duration::from_secs(10)).await;
    broker.wait_ready().await;
    let mut seen: HashMap<Bytes, usize> = HashMap::new();
    for (p, leader) in info.leaders.iter().enumerate() {
        let conn = testkit::connect(leader).await.unwrap();
        let log = testkit::fetch_partition(&conn, &topic, &info, p as i32)
            .await
            .unwrap();
        let mut last: HashMap<Bytes, u64> = HashMap::new();
        for r in log {
            let v = r.value.clone().unwrap();
            *seen.entry(v.clone()).or_default() += 1;
            let n: u64 = std::str::from_utf8(&v).unwrap().parse().unwrap();
            if let Some(prev) = last.insert(r.key.clone().unwrap(), n) {
                assert!(
                    prev < n,
                    "per-key order broken across the restart: {prev} then {n}"
                );
            }
        }
    }
    assert_eq!(seen.len(), total, "every acknowledged record is present");
    assert!(seen.values().all(|c| *c == 1), "no record written twice");

    // 2. A stopped broker: sends wait for buffer space (bounded by buffer.memory
    //    and max.block.ms), and buffered records time out after delivery.timeout.ms.
    let buffer = 64 * 1024;
    let producer = Producer::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        ("buffer.memory", &buffer.to_string()),
        ("max.block.ms", "500"),
        ("linger.ms", "5"),
        ("request.timeout.ms", "1000"),
        ("delivery.timeout.ms", "3000"),
    ])
    .unwrap();
    // A working producer first (metadata known), then the broker goes away.
    for i in 0..5 {
        producer
            .send(ProducerRecord::new(&topic).value(format!("before-{i}")))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let mut broker = testkit::brokers(ROOT).remove(0);
    broker.kill();
    let started = Instant::now();
    let mut waiting = Vec::new();
    let mut blocked = None;
    for i in 0..10_000 {
        match producer
            .send(ProducerRecord::new(&topic).value(vec![i as u8; 1000]))
            .await
        {
            Ok(d) => waiting.push(d),
            Err(e) => {
                blocked = Some(e);
                break;
            }
        }
        assert!(
            producer.buffered_bytes() <= buffer,
            "memory stays within buffer.memory"
        );
    }
    let blocked = blocked.expect("sends block once the buffer is full");
    assert!(
        matches!(blocked, ProducerError::BufferExhausted { .. }),
        "{blocked}"
    );
    assert!(
        !waiting.is_empty() && waiting.len() < 70,
        "about buffer.memory worth of records buffered, got {}",
        waiting.len()
    );
    for d in waiting {
        let e = d.await.unwrap_err();
        assert!(matches!(e, ProducerError::DeliveryTimeout { .. }), "{e}");
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(2500) && waited < Duration::from_secs(30),
        "timed out after {waited:?}"
    );
    // The I/O task returns memory right after completing the records.
    let deadline = Instant::now() + Duration::from_secs(5);
    while producer.buffered_bytes() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        producer.buffered_bytes(),
        0,
        "failed records give their memory back"
    );
    producer.close(Duration::from_secs(1)).await;
    broker.restart().expect("restart the broker");
    broker.wait_ready().await;
}
