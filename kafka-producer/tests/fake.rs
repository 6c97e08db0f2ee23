//! The bodies `broker.rs` runs against a real Kafka, run against
//! `kafka-fake` (3 brokers): one body, two clusters. No broker needed.

mod bodies;

use kafka_fake::{FakeCluster, Fault};
use kafka_producer::ErrorCode;
use kafka_protocol::messages::ApiKey;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interceptors_see_every_record_and_every_outcome() {
    let c = fake().await;
    bodies::interceptors_see_every_record_and_every_outcome(&c.bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_for_describes_every_partition() {
    let c = fake().await;
    bodies::partitions_for_describes_every_partition(&c.bootstrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_records_stay_in_the_clients_rack() {
    let c = FakeCluster::builder()
        .brokers(3)
        .broker_rack(1, "rack-a")
        .broker_rack(2, "rack-b")
        .broker_rack(3, "rack-b")
        .start()
        .await
        .expect("fake cluster");
    bodies::keyless_records_stay_in_the_clients_rack(&c.bootstrap()).await
}

#[cfg(feature = "otel")]
#[tokio::test]
async fn sends_carry_their_span_in_traceparent() {
    let c = fake().await;
    bodies::sends_carry_their_span_in_traceparent(&c.bootstrap()).await
}

/// The fake injects the faults itself.
struct FakeFaults<'a>(&'a FakeCluster);

impl bodies::ClusterFaults for FakeFaults<'_> {
    fn fail_produce_after_append(&self, code: ErrorCode, times: usize, brokers: &[i32]) {
        for &broker in brokers {
            self.0.inject(
                Fault::new(ApiKey::Produce, code)
                    .after_append()
                    .on_broker(broker)
                    .times(times),
            );
        }
    }

    fn unmet(&self) -> usize {
        self.0.pending_faults().len()
    }

    async fn move_leader(&self, topic: &str, partition: i32) -> i32 {
        let leader = self.0.leader(topic, partition).expect("a leader");
        let target = leader % 3 + 1;
        assert!(self.0.move_leader(topic, partition, target));
        target
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_writes_that_landed_appear_once() {
    let c = fake().await;
    bodies::retried_writes_that_landed_appear_once(&c.bootstrap(), &FakeFaults(&c)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_leaders_lose_and_duplicate_nothing() {
    let c = fake().await;
    bodies::moved_leaders_lose_and_duplicate_nothing(&c.bootstrap(), &FakeFaults(&c)).await
}
