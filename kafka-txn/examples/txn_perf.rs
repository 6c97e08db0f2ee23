//! A transactional producer benchmark: `--num-records` records of
//! `--record-size` bytes (random uppercase letters, as Kafka's
//! ProducerPerformance) in transactions of `--transaction-size` records
//! each, committed one after the other. Prints throughput and the commit
//! latency (the `commit_transaction` call: flush, then EndTxn).
//!
//! ```sh
//! cargo run --release -p kafka-txn --example txn_perf -- --topic perf \
//!   --num-records 1000000 --record-size 100 --transaction-size 1000 \
//!   --producer-props bootstrap.servers=127.0.0.1:9092 transactional.id=perf-1 compression.type=lz4
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_producer::ProducerRecord;
use kafka_txn::TransactionalProducer;

struct Args {
    topic: String,
    num_records: u64,
    record_size: usize,
    transaction_size: u64,
    props: Vec<(String, String)>,
}

fn usage() -> ! {
    eprintln!(
        "usage: txn_perf --topic TOPIC --num-records N --record-size BYTES --transaction-size N \
         --producer-props k=v [k=v ...]   (transactional.id is required)"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        topic: String::new(),
        num_records: 0,
        record_size: 100,
        transaction_size: 1000,
        props: Vec::new(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let next = |i: usize| argv.get(i + 1).cloned().unwrap_or_else(|| usage());
        match argv[i].as_str() {
            "--topic" => a.topic = next(i),
            "--num-records" => a.num_records = next(i).parse().unwrap_or_else(|_| usage()),
            "--record-size" => a.record_size = next(i).parse().unwrap_or_else(|_| usage()),
            "--transaction-size" => {
                a.transaction_size = next(i).parse().unwrap_or_else(|_| usage())
            }
            "--producer-props" => {
                while let Some(kv) = argv.get(i + 1).filter(|s| !s.starts_with("--")) {
                    let (k, v) = kv.split_once('=').unwrap_or_else(|| usage());
                    a.props.push((k.into(), v.into()));
                    i += 1;
                }
                i -= 1;
            }
            _ => usage(),
        }
        i += 2;
    }
    if a.topic.is_empty() || a.num_records == 0 || a.transaction_size == 0 {
        usage()
    }
    a
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let producer = TransactionalProducer::from_properties(
        args.props.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let payload: Bytes = (0..args.record_size)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b'A' + (seed % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into();
    if let Err(e) = producer.init_transactions().await {
        eprintln!("init_transactions: {e}");
        std::process::exit(1)
    }
    let topic: std::sync::Arc<str> = args.topic.as_str().into();
    let start = Instant::now();
    let mut commits: Vec<f64> = Vec::new();
    let mut sent = 0u64;
    while sent < args.num_records {
        producer.begin_transaction().expect("begin");
        let n = args.transaction_size.min(args.num_records - sent);
        for _ in 0..n {
            let record = ProducerRecord {
                topic: topic.clone(),
                value: Some(payload.clone()),
                ..Default::default()
            };
            // The commit reports the transaction's outcome.
            drop(producer.send(record).await.expect("send"));
        }
        let t = Instant::now();
        if let Err(e) = producer.commit_transaction().await {
            eprintln!("commit failed: {e}");
            std::process::exit(1)
        }
        commits.push(t.elapsed().as_secs_f64() * 1000.0);
        sent += n;
    }
    let secs = start.elapsed().as_secs_f64();
    let total: f64 = commits.iter().sum();
    let mut sorted = commits.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{sent} records sent, {:.1} records/sec ({:.2} MB/sec), {} transactions of {} records, {:.1} transactions/sec, commit latency {:.2} ms avg, {:.2} ms 50th, {:.2} ms 99th, {:.2} ms max.",
        sent as f64 / secs,
        sent as f64 * args.record_size as f64 / secs / (1024.0 * 1024.0),
        commits.len(),
        args.transaction_size,
        commits.len() as f64 / secs,
        total / commits.len().max(1) as f64,
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
        sorted.last().copied().unwrap_or(0.0),
    );
    producer.close(Duration::from_secs(30)).await;
}
