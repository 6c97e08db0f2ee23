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
//!
//! `cargo xtask txn-perf` runs it beside the Java client and the peers.

#[path = "common/txn_perf.rs"]
mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_producer::ProducerRecord;
use kafka_txn::TransactionalProducer;

#[tokio::main]
async fn main() {
    let args = common::parse_args("txn_perf");
    let producer = TransactionalProducer::from_properties(
        args.props.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let payload = Bytes::from(common::payload(args.record_size));
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
    common::print_summary(&args, sent, start.elapsed(), &commits);
    producer.close(Duration::from_secs(30)).await;
}
