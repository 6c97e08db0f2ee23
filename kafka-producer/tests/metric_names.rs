//! Every metric name the producer reports is the Java client's (the names
//! Java 4.1.1 registers, written by `interop/java-metrics`).

use std::collections::BTreeSet;

use kafka_producer::metrics::{PRODUCER_METRICS, TOPIC_METRICS};
use kafka_producer::{Producer, ProducerRecord};

fn java(group: &str) -> BTreeSet<String> {
    include_str!("vectors/java_producer_metrics.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(g, _)| *g == group)
        .map(|(_, name)| name.to_string())
        .collect()
}

#[test]
fn our_names_are_javas() {
    let producer = java("producer-metrics");
    for name in PRODUCER_METRICS {
        assert!(
            producer.contains(*name),
            "{name} is not a Java producer-metrics name"
        );
    }
    let topic = java("producer-topic-metrics");
    for name in TOPIC_METRICS {
        assert!(
            topic.contains(*name),
            "{name} is not a Java producer-topic-metrics name"
        );
    }
}

/// A snapshot holds exactly the documented names, for the producer and for
/// a topic sent to (here, without a broker: the record only waits).
#[tokio::test]
async fn a_snapshot_has_every_documented_name() {
    let producer = Producer::from_properties([
        ("bootstrap.servers", "127.0.0.1:1"),
        ("max.block.ms", "200"),
    ])
    .unwrap();
    let delivery = producer
        .send(ProducerRecord::new("t").value("v"))
        .await
        .unwrap();
    let _ = delivery.await;
    let m = producer.metrics().await.unwrap();
    let names: Vec<&str> = m.producer.keys().copied().collect();
    assert_eq!(names, PRODUCER_METRICS);
    assert_eq!(m.get("record-error-total"), Some(1.0));
    let topic: Vec<&str> = m.topics["t"].keys().copied().collect();
    assert_eq!(topic, TOPIC_METRICS);
    assert_eq!(m.topic("t", "record-error-total"), Some(1.0));
    producer.close(std::time::Duration::from_secs(1)).await;
}
