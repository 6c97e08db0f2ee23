//! krafka 0.28 with ProducerPerformance's command line and summary line,
//! for `cargo xtask perf-compare --peers krafka`. Java's property names are
//! mapped onto its typed builder; others are refused.

#[path = "common/producer_perf.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use krafka::producer::Acks;
use krafka::{Compression, Kafka, Record};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = common::parse_args("krafka_perf");
    let fail = |what: &str| -> ! {
        eprintln!("{what}");
        std::process::exit(1)
    };
    let bootstrap = args.get("bootstrap.servers").unwrap_or_else(|| fail("bootstrap.servers is required"));
    let kafka = Kafka::builder(bootstrap)
        .client_id("krafka-perf")
        .connect()
        .await
        .unwrap_or_else(|e| fail(&e.to_string()));
    let mut b = kafka.producer();
    for (k, v) in &args.props {
        b = match k.as_str() {
            "bootstrap.servers" => b,
            "acks" => b.acks(match v.as_str() {
                "all" | "-1" => Acks::All,
                "1" => Acks::Leader,
                "0" => Acks::None,
                other => fail(&format!("acks={other}")),
            }),
            "enable.idempotence" => b.idempotent(v == "true"),
            "linger.ms" => b.linger(Duration::from_millis(v.parse().unwrap_or(5))),
            "batch.size" => b.batch_size(v.parse().unwrap_or(16384)),
            "buffer.memory" => b.buffer_memory(v.parse().unwrap_or(32 << 20)),
            "max.request.size" => b.max_request_size(v.parse().unwrap_or(1 << 20)),
            "compression.type" => b.compression(match v.as_str() {
                "none" => Compression::None,
                "gzip" => Compression::Gzip,
                "snappy" => Compression::Snappy,
                "lz4" => Compression::Lz4,
                "zstd" => Compression::Zstd,
                other => fail(&format!("compression.type={other}")),
            }),
            other => fail(&format!("krafka_perf does not map {other}")),
        };
    }
    let producer = b.build().await.unwrap_or_else(|e| fail(&e.to_string()));
    let stats = Arc::new(common::Stats::new(args.num_records));
    let payload = Bytes::from(common::payload(args.record_size));
    let keys: Vec<Bytes> = args.key_list().into_iter().map(Bytes::from).collect();
    let topics = args.topic_list();
    let mut throttle = common::Throttle::new(args.throughput);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let collector = {
        let stats = stats.clone();
        tokio::spawn(async move {
            let mut pending = futures_util::stream::FuturesUnordered::new();
            loop {
                tokio::select! {
                    Some((i, sent, handle)) = rx.recv() => pending.push(async move {
                        let r: krafka::Result<_> = handle.await;
                        (i, sent, r)
                    }),
                    Some((i, sent, r)) = futures_util::StreamExt::next(&mut pending), if !pending.is_empty() => match r {
                        Ok(_) => stats.acked(i, sent),
                        Err(e) => stats.failed(&e),
                    },
                    else => break,
                }
            }
        })
    };
    for i in 0..args.num_records {
        let wait = throttle.wait_before(i);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let sent = Instant::now();
        let mut record = Record::new(common::nth(&topics, i).cloned().unwrap_or_default(), payload.clone());
        if let Some(key) = common::nth(&keys, i) {
            record = record.key(key.clone());
        }
        match producer.enqueue(record).await {
            Ok(handle) => {
                let _ = tx.send((i, sent, handle));
            }
            Err(e) => stats.failed(&e),
        }
    }
    drop(tx);
    let _ = producer.flush().await;
    let _ = collector.await;
    stats.print_final(args.record_size);
    let _ = producer.close().await;
}
