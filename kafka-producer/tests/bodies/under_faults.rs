//! Bodies under injected faults, on either cluster: the fake injects them
//! itself; on a real Kafka of 3 nodes the testkit's proxies rewrite
//! responses and leaders are moved as an operator moves them.

use std::time::Duration;

use kafka_producer::{ErrorCode, ProducerRecord};
use kafka_testkit as testkit;

use super::{admin, assert_once_in_key_order, new_replicated_topic, producer, read_expecting};

/// The faults a body injects, whichever cluster it runs on.
#[allow(async_fn_in_trait)] // used through generics only
pub trait ClusterFaults {
    /// Each of `brokers` answers its next `times` Produce responses with
    /// `code` for every partition, after the records were written.
    fn fail_produce_after_append(&self, code: ErrorCode, times: usize, brokers: &[i32]);
    /// Produce failures armed and not used yet.
    fn unmet(&self) -> usize;
    /// Moves the leader of `topic`-`partition` to another broker; the new
    /// leader's id.
    async fn move_leader(&self, topic: &str, partition: i32) -> i32;
}

const PARTITIONS: i32 = 3;

fn keyed(topic: &str, i: usize) -> ProducerRecord {
    ProducerRecord::new(topic)
        .key(format!("k{}", i % 12))
        .value(format!("{i}"))
}

/// Writes that landed but were answered with a retriable error are sent
/// again: the broker recognises the idempotent retries, so every record
/// is in the log once, in order per key.
pub async fn retried_writes_that_landed_appear_once(b: &str, faults: &impl ClusterFaults) {
    let (topic, info) = new_replicated_topic(b, "after-append", PARTITIONS, 3).await;
    let p = producer(
        b,
        &[
            ("linger.ms", "5"),
            ("batch.size", "4096"),
            ("retry.backoff.ms", "10"),
        ],
    );
    // The leaders, each of which gets Produce requests.
    let conn = admin(b).await;
    let mut leaders = Vec::new();
    for partition in 0..PARTITIONS {
        let (leader, _) = testkit::leaders::replicas(&conn, &topic, partition)
            .await
            .unwrap();
        if !leaders.contains(&leader) {
            leaders.push(leader);
        }
    }
    faults.fail_produce_after_append(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND, 3, &leaders);
    let n = 1500;
    let mut deliveries = Vec::new();
    for i in 0..n {
        deliveries.push(p.send(keyed(&topic, i)).await.unwrap());
    }
    for d in deliveries {
        d.await.expect("delivered after its retries");
    }
    p.close(Duration::from_secs(10)).await;
    assert_eq!(faults.unmet(), 0, "every armed failure was answered");
    let logs = read_expecting(&topic, &info, n).await;
    assert_once_in_key_order(&logs, n);
}

/// Every partition's leader moves while records are in flight: the old
/// leaders refuse, the producer learns the new ones, and nothing is lost,
/// duplicated or reordered per key.
pub async fn moved_leaders_lose_and_duplicate_nothing(b: &str, faults: &impl ClusterFaults) {
    let (topic, _) = new_replicated_topic(b, "moved-leaders", PARTITIONS, 3).await;
    let p = producer(
        b,
        &[
            ("linger.ms", "5"),
            ("batch.size", "4096"),
            ("retry.backoff.ms", "10"),
        ],
    );
    let n = 1500;
    let mut deliveries = Vec::new();
    for i in 0..n / 2 {
        deliveries.push(p.send(keyed(&topic, i)).await.unwrap());
    }
    let conn = admin(b).await;
    let mut moved = Vec::new();
    for partition in 0..PARTITIONS {
        let before = testkit::leaders::replicas(&conn, &topic, partition)
            .await
            .unwrap()
            .0;
        let after = faults.move_leader(&topic, partition).await;
        assert_ne!(before, after, "{topic}-{partition} has a new leader");
        moved.push(after);
    }
    for i in n / 2..n {
        deliveries.push(p.send(keyed(&topic, i)).await.unwrap());
    }
    for d in deliveries {
        d.await.expect("delivered by the new leaders");
    }
    // The producer's metadata names the new leaders among 3 replicas.
    for part in p.partitions_for(&topic).await.expect("metadata") {
        let leader = part.leader.expect("a leader").id;
        assert_eq!(Some(&leader), moved.get(part.partition as usize));
        assert_eq!(part.replicas.len(), 3);
    }
    p.close(Duration::from_secs(10)).await;
    let info = testkit::topic_info(&conn, &topic)
        .await
        .unwrap()
        .expect("leaders");
    let logs = read_expecting(&topic, &info, n).await;
    assert_once_in_key_order(&logs, n);
}
