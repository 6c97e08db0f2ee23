//! Every duration and size the configuration accepts works end to end,
//! without a broker: the I/O task must neither overflow a deadline nor
//! refuse a large buffer.memory.

use std::time::Duration;

use kafka_producer::{Producer, ProducerError, ProducerRecord};

/// `close(Duration::MAX)`, "wait for everything", waits for the buffered
/// record's own outcome (here: no metadata within max.block.ms) instead of
/// killing the I/O task and failing it as closed.
#[tokio::test]
async fn close_with_the_longest_timeout_waits_for_outcomes() {
    let producer = Producer::from_properties([
        ("bootstrap.servers", "127.0.0.1:1"),
        ("max.block.ms", "300"),
        ("buffer.memory", &i64::MAX.to_string()),
    ])
    .expect("buffer.memory up to Java's long maximum is accepted");
    let delivery = producer
        .send(ProducerRecord::new("t").value("v"))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), producer.close(Duration::MAX))
        .await
        .expect("close returns once nothing is left");
    match delivery.await {
        Err(ProducerError::TopicNotFound { waited, .. }) => {
            assert!(waited >= Duration::from_millis(300))
        }
        other => panic!("expected the metadata timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn the_largest_buffer_memory_counts_what_is_buffered() {
    let producer = Producer::from_properties([
        ("bootstrap.servers", "127.0.0.1:1"),
        ("buffer.memory", &i64::MAX.to_string()),
        ("max.block.ms", "200"),
    ])
    .unwrap();
    assert_eq!(producer.buffered_bytes(), 0);
    // try_send cannot wait for the topic's metadata: the record waits in
    // the producer, holding its size of buffer memory.
    let delivery = producer
        .try_send(ProducerRecord::new("t").value(vec![0u8; 1000]))
        .unwrap();
    assert!(producer.buffered_bytes() >= 1000);
    let _ = delivery.await;
    producer.close(Duration::from_secs(5)).await;
}

/// After `close`, every way of sending fails at once with `Closed`, and a
/// callback given to a send that failed is never called.
#[tokio::test]
async fn sends_after_close_fail_with_closed() {
    let producer = Producer::from_properties([
        ("bootstrap.servers", "127.0.0.1:1"),
        ("max.block.ms", "200"),
    ])
    .unwrap();
    producer.close(Duration::from_secs(5)).await;
    let called = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = called.clone();
    let sent = producer
        .send_with_callback(ProducerRecord::new("t").value("v"), move |_| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst)
        })
        .await;
    assert!(matches!(sent, Err(ProducerError::Closed)), "{sent:?}");
    assert!(matches!(
        producer.send(ProducerRecord::new("t").value("v")).await,
        Err(ProducerError::Closed)
    ));
    assert!(matches!(
        producer.try_send(ProducerRecord::new("t").value("v")),
        Err(ProducerError::Closed)
    ));
    assert!(!called.load(std::sync::atomic::Ordering::SeqCst));
}
