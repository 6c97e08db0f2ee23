//! confluent-kafka for Rust 1.0 (crates.io `confluent-kafka`) in
//! transactions of `--transaction-size` records, with the command line and
//! summary line of `kafka-txn`'s `txn_perf` example (the same source file
//! provides both), for `cargo xtask txn-perf`.

#[path = "../../../kafka-txn/examples/common/txn_perf.rs"]
mod common;

use std::collections::HashMap;
use std::time::Instant;

use confluent_kafka::common::serialization::ByteArraySerializer;
use confluent_kafka::producer::{KafkaProducer, Producer, ProducerConfig, ProducerRecord};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = common::parse_args("confluent_txn_perf");
    let props: HashMap<String, String> = args.props.iter().cloned().collect();
    let config = ProducerConfig::new(&props).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let producer = KafkaProducer::<Vec<u8>, Vec<u8>>::new(
        config,
        ByteArraySerializer::new(),
        ByteArraySerializer::new(),
    )
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let payload = common::payload(args.record_size);
    if let Err(e) = producer.init_transactions().await {
        eprintln!("init_transactions: {e}");
        std::process::exit(1)
    }
    let start = Instant::now();
    let mut commits = Vec::new();
    let mut sent = 0u64;
    while sent < args.num_records {
        producer.begin_transaction().expect("begin");
        let n = args.transaction_size.min(args.num_records - sent);
        for _ in 0..n {
            // The commit reports the transaction's outcome.
            let _ = producer
                .send(ProducerRecord::new(args.topic.clone(), Some(&payload[..])), None)
                .await
                .expect("send");
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
    let _ = producer.close().await;
}
