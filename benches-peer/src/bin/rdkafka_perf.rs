//! rust-rdkafka 0.39 (librdkafka 2.12) with ProducerPerformance's command
//! line and summary line, for `cargo xtask perf-compare --peers rdkafka`.
//! A ThreadedProducer with a delivery callback: librdkafka's fastest path.

#[path = "common/producer_perf.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, ClientContext};

struct Ctx(Arc<common::Stats>);

impl ClientContext for Ctx {}

impl ProducerContext for Ctx {
    type DeliveryOpaque = Box<(u64, Instant)>;
    fn delivery(&self, r: &DeliveryResult<'_>, sent: Self::DeliveryOpaque) {
        match r {
            Ok(_) => self.0.acked(sent.0, sent.1),
            Err((e, _)) => self.0.failed(e),
        }
    }
}

fn main() {
    let args = common::parse_args("rdkafka_perf");
    let mut config = ClientConfig::new();
    for (k, v) in &args.props {
        // Java's names mostly are librdkafka's; buffer.memory is not.
        match k.as_str() {
            "buffer.memory" => {
                let kb = v.parse::<u64>().unwrap_or(33_554_432) / 1024;
                config.set("queue.buffering.max.kbytes", kb.to_string());
                // Memory, not a record count, bounds the queue (as Java's).
                config.set("queue.buffering.max.messages", "2147483647");
            }
            // librdkafka's name for the largest request.
            "max.request.size" => {
                config.set("message.max.bytes", v);
            }
            _ => {
                config.set(k, v);
            }
        }
    }
    let stats = Arc::new(common::Stats::new(args.num_records));
    let producer: ThreadedProducer<Ctx> = config
        .create_with_context(Ctx(stats.clone()))
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    let payload = common::payload(args.record_size);
    let (keys, topics) = (args.key_list(), args.topic_list());
    let mut throttle = common::Throttle::new(args.throughput);
    for i in 0..args.num_records {
        let wait = throttle.wait_before(i);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let topic = common::nth(&topics, i).map_or("", String::as_str);
        let mut record = BaseRecord::<[u8], [u8], _>::with_opaque_to(topic, Box::new((i, Instant::now())))
            .payload(&payload[..]);
        if let Some(key) = common::nth(&keys, i) {
            record = record.key(&key[..]);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err((e, _)) => {
                    stats.failed(&e);
                    break;
                }
            }
        }
    }
    let _ = producer.flush(Duration::from_secs(120));
    stats.print_final(args.record_size);
}
