//! The bodies `broker.rs` runs against a real Kafka, run against
//! `kafka-fake` (3 brokers): one body, two clusters. No broker needed.

mod bodies;

use kafka_fake::FakeCluster;

async fn fake() -> FakeCluster {
    FakeCluster::builder()
        .brokers(3)
        .start()
        .await
        .expect("fake cluster")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_and_acks_round_trips_record_by_record() {
    let c = fake().await;
    bodies::every_codec_and_acks_round_trips_record_by_record(&c.bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_land_where_the_java_client_puts_them() {
    let c = fake().await;
    bodies::keys_land_where_the_java_client_puts_them(&c.bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_keys_keep_order_and_appear_once() {
    let c = fake().await;
    bodies::idempotent_keys_keep_order_and_appear_once(&c.bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_report_every_record_once_in_send_order() {
    let c = fake().await;
    bodies::callbacks_report_every_record_once_in_send_order(&c.bootstrap()).await
}
