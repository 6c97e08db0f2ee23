//! The quickstart's producing side (run by `cargo xtask quickstart`, which
//! starts and stops the broker): creates a topic, produces a million records
//! idempotently with lz4, prints the throughput, reads every record back and
//! checks it.
//!
//! `cargo run --release -p kafka-producer --example quickstart -- BOOTSTRAP [RECORDS]`

use std::time::{Duration, Instant};

use kafka_producer::{Producer, ProducerRecord};
use kafka_testkit as testkit;

const PARTITIONS: i32 = 6;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bootstrap = args
        .next()
        .or_else(|| std::env::var("KAFKA_BOOTSTRAP").ok())
        .expect("usage: quickstart BOOTSTRAP [RECORDS]");
    let records = args
        .next()
        .map(|s| s.parse().expect("RECORDS is a number"))
        .unwrap_or(1_000_000);
    if let Err(e) = produce_and_check(&bootstrap, records).await {
        eprintln!("quickstart failed: {e}");
        std::process::exit(1);
    }
}

fn value(i: usize) -> String {
    // About 100 bytes, recognisable when read back.
    format!("{{\"record\":{i:>9},\"payload\":\"{}\"}}", "q".repeat(70))
}

async fn produce_and_check(bootstrap: &str, records: usize) -> Result<(), String> {
    let admin = testkit::connect(bootstrap)
        .await
        .map_err(|e| e.to_string())?;
    let topic = "quickstart";
    let info = testkit::create_topic(&admin, topic, PARTITIONS, 1)
        .await
        .map_err(|e| e.to_string())?;
    println!("quickstart: topic {topic} with {PARTITIONS} partitions on {bootstrap}");

    let producer = Producer::from_properties([
        ("bootstrap.servers", bootstrap),
        ("compression.type", "lz4"),
        ("enable.idempotence", "true"),
        ("acks", "all"),
        ("linger.ms", "5"),
        ("batch.size", "65536"),
    ])
    .map_err(|e| e.to_string())?;

    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<kafka_producer::DeliveryFuture>(100_000);
    let checker = tokio::spawn(async move {
        let mut failed = 0usize;
        let mut first_error: Option<String> = None;
        while let Some(d) = rx.recv().await {
            if let Err(e) = d.await {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
        (failed, first_error)
    });
    for i in 0..records {
        let r = ProducerRecord::new(topic)
            .key(format!("key-{}", i % 1000))
            .value(value(i));
        let d = producer.send(r).await.map_err(|e| e.to_string())?;
        tx.send(d).await.map_err(|e| e.to_string())?;
    }
    drop(tx);
    producer.flush().await.map_err(|e| e.to_string())?;
    let (failed, first_error) = checker.await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    producer.close(Duration::from_secs(30)).await;
    if failed > 0 {
        return Err(format!(
            "{failed} records failed; first error: {}",
            first_error.unwrap_or_default()
        ));
    }
    let mb = (records * value(0).len()) as f64 / (1024.0 * 1024.0);
    println!(
        "quickstart: produced {records} records (idempotent, lz4, acks=all) in {:.2?}: {:.0} records/s, {:.1} MB/s",
        elapsed,
        records as f64 / elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64()
    );

    // Read everything back: each record exactly once, intact.
    let mut seen = vec![false; records];
    let mut total = 0usize;
    for (p, leader) in info.leaders.iter().enumerate() {
        let conn = testkit::connect(leader).await.map_err(|e| e.to_string())?;
        let log = testkit::fetch_partition(&conn, topic, &info, p as i32)
            .await
            .map_err(|e| e.to_string())?;
        for r in log {
            let v = r.value.ok_or("a record without value")?;
            let text = std::str::from_utf8(&v).map_err(|e| e.to_string())?;
            let i: usize = text[10..19]
                .trim()
                .parse()
                .map_err(|_| format!("unexpected value {text}"))?;
            if i >= records || seen[i] || text != value(i) {
                return Err(format!("record {i} duplicated or damaged"));
            }
            let key = format!("key-{}", i % 1000);
            if r.key.as_deref() != Some(key.as_bytes()) {
                return Err(format!("record {i} has the wrong key"));
            }
            seen[i] = true;
            total += 1;
        }
    }
    if total != records {
        return Err(format!("read back {total} of {records} records"));
    }
    println!("quickstart: read back all {total} records from {PARTITIONS} partitions; each present exactly once and intact");
    Ok(())
}
