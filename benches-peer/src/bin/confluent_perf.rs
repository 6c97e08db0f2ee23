//! confluent-kafka for Rust 1.0 with ProducerPerformance's command line and
//! summary line, for `cargo xtask perf-compare --peers confluent`. It takes
//! Java's property names as they are; latency through its callbacks.

#[path = "common/producer_perf.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use confluent_kafka::common::serialization::ByteArraySerializer;
use confluent_kafka::producer::{callback, KafkaProducer, Producer, ProducerConfig, ProducerRecord};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = common::parse_args("confluent_perf");
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
    let stats = Arc::new(common::Stats::new(args.num_records));
    let payload = common::payload(args.record_size);
    let (keys, topics) = (args.key_list(), args.topic_list());
    let mut throttle = common::Throttle::new(args.throughput);
    for i in 0..args.num_records {
        let wait = throttle.wait_before(i);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let sent = Instant::now();
        let s = stats.clone();
        let cb = callback::new(move |_md, err| match err {
            None => s.acked(i, sent),
            Some(e) => s.failed(e),
        });
        if let Err(e) = producer
            .send(
                ProducerRecord::with_key(
                    common::nth(&topics, i).cloned().unwrap_or_default(),
                    common::nth(&keys, i).map(|k| &k[..]),
                    Some(&payload[..]),
                ),
                Some(Box::new(cb)),
            )
            .await
        {
            stats.failed(&e);
        }
    }
    let _ = Producer::flush(&producer).await;
    stats.print_final(args.record_size);
    let _ = producer.close().await;
}
