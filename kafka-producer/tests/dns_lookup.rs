//! `client.dns.lookup=resolve_canonical_bootstrap_servers_only` against
//! `kafka-fake` (no broker needed): the bootstrap address 127.0.0.1 is
//! connected to by its canonical name, and records are delivered.

use std::time::Duration;

use kafka_fake::FakeCluster;
use kafka_producer::{Producer, ProducerRecord};
use kafka_testkit::logged::Logged;
use tracing_subscriber::layer::SubscriberExt;

// One thread, so the producer's tasks log to this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn bootstrap_addresses_are_connected_to_by_their_canonical_names() {
    let logged = Logged::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(logged.clone()));
    let cluster = FakeCluster::builder()
        .brokers(1)
        .topic("dns", 1)
        .start()
        .await
        .unwrap();
    let bootstrap = cluster.bootstrap();
    let canonical = kafka_codec::canonical_addresses(&bootstrap, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        !canonical[0].starts_with("127.0.0.1:"),
        "127.0.0.1 has no name here: {canonical:?}"
    );
    let producer = Producer::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        (
            "client.dns.lookup",
            "resolve_canonical_bootstrap_servers_only",
        ),
    ])
    .unwrap();
    let delivered = producer
        .send(ProducerRecord::new("dns").value("v"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(delivered.offset, 0);
    producer.close(Duration::from_secs(5)).await;
    assert_eq!(cluster.records("dns", 0).len(), 1);
    let lines = logged.lines();
    let by_name = format!("canonical={}", canonical[0]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&by_name) && l.contains(&format!("bootstrap={bootstrap}"))),
        "no connection by {by_name}: {lines:?}"
    );
}
