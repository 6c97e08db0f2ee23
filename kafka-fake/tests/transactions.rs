//! Our transactional producer against the fake, with transactions v2
//! (Kafka 4.x, the default) and v1 (Kafka 3.x): commits and aborts as
//! `read_committed` and `read_uncommitted` readers see them through the
//! fake's Fetch, offsets committed with a transaction, and fencing.

use std::time::Duration;

use kafka_fake::{FakeCluster, TxnOutcome};
use kafka_producer::ProducerRecord;
use kafka_producer::TopicPartition;
use kafka_testkit as testkit;
use kafka_txn::{
    ConsumerGroupMetadata, OffsetAndMetadata, TransactionError, TransactionalProducer,
};

fn producer(cluster: &FakeCluster, id: &str) -> TransactionalProducer {
    TransactionalProducer::from_properties([
        ("bootstrap.servers", cluster.bootstrap()),
        ("transactional.id", id.to_string()),
        ("linger.ms", "5".to_string()),
        ("max.block.ms", "10000".to_string()),
    ])
    .expect("producer")
}

async fn send(p: &TransactionalProducer, topic: &str, values: &[&str]) {
    for v in values {
        let delivery = p
            .send(
                ProducerRecord::new(topic)
                    .key(v.to_string())
                    .value(v.to_string()),
            )
            .await
            .expect("send");
        // The transaction's end reports for every record.
        drop(delivery);
    }
}

/// Values of `topic` (every partition) as a reader with this isolation sees them.
async fn read(cluster: &FakeCluster, topic: &str, partitions: i32, committed: bool) -> Vec<String> {
    let conn = testkit::connect(&cluster.broker_addr(1).unwrap())
        .await
        .unwrap();
    let info = testkit::topic_info(&conn, topic).await.unwrap().unwrap();
    let mut out = Vec::new();
    for p in 0..partitions {
        let leader = testkit::connect(&info.leaders[p as usize]).await.unwrap();
        for r in testkit::fetch_partition_isolated(&leader, topic, &info, p, committed)
            .await
            .unwrap()
        {
            out.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    out.sort();
    out
}

async fn commit_and_abort(level: i16) {
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("out", 3)
        .topic("in", 1)
        .transaction_version(level)
        .start()
        .await
        .unwrap();
    let p = producer(&cluster, "tid");
    p.init_transactions().await.unwrap();
    assert_eq!(p.transaction_client().is_v2(), level >= 2, "level {level}");

    p.begin_transaction().unwrap();
    send(&p, "out", &["c1", "c2", "c3"]).await;
    let input = TopicPartition {
        topic: "in".into(),
        partition: 0,
    };
    let group = ConsumerGroupMetadata::new("copier");
    p.send_offsets_to_transaction([(input.clone(), OffsetAndMetadata::new(42))], &group)
        .await
        .unwrap();
    p.commit_transaction().await.unwrap();

    p.begin_transaction().unwrap();
    send(&p, "out", &["a1", "a2"]).await;
    p.send_offsets_to_transaction([(input, OffsetAndMetadata::new(99))], &group)
        .await
        .unwrap();
    // Written before the abort: in the log, with an abort marker after them.
    p.flush().await.unwrap();
    p.abort_transaction().await.unwrap();

    assert_eq!(read(&cluster, "out", 3, true).await, ["c1", "c2", "c3"]);
    assert_eq!(
        read(&cluster, "out", 3, false).await,
        ["a1", "a2", "c1", "c2", "c3"]
    );
    assert_eq!(
        cluster.committed_offset("copier", "in", 0),
        Some(42),
        "the abort kept 42"
    );
    let ended = cluster.transactions();
    let outcomes: Vec<_> = ended.iter().map(|t| t.outcome).collect();
    assert_eq!(outcomes, [TxnOutcome::Committed, TxnOutcome::Aborted]);
    for t in &ended {
        assert_eq!(t.transactional_id, "tid");
        assert_eq!(t.groups, ["copier"]);
        assert!(t.partitions.iter().all(|(topic, _)| topic == "out"));
    }
    p.close(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_and_abort_with_transactions_v2() {
    commit_and_abort(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_and_abort_with_transactions_v1() {
    commit_and_abort(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_fences_the_first_and_aborts_its_transaction() {
    let cluster = FakeCluster::builder()
        .topic("out", 1)
        .start()
        .await
        .unwrap();
    let first = producer(&cluster, "shared-id");
    first.init_transactions().await.unwrap();
    first.begin_transaction().unwrap();
    send(&first, "out", &["from-first"]).await;
    first.flush().await.unwrap();

    let second = producer(&cluster, "shared-id");
    second.init_transactions().await.unwrap();
    let err = first.commit_transaction().await.unwrap_err();
    assert!(matches!(err, TransactionError::Fenced(_)), "{err}");

    second.begin_transaction().unwrap();
    send(&second, "out", &["from-second"]).await;
    second.commit_transaction().await.unwrap();
    assert_eq!(read(&cluster, "out", 1, true).await, ["from-second"]);
    let outcomes: Vec<_> = cluster.transactions().iter().map(|t| t.outcome).collect();
    assert_eq!(
        outcomes,
        [TxnOutcome::AbortedByFencing, TxnOutcome::Committed]
    );
    second.close(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_open_past_its_timeout_is_aborted_and_its_producer_fenced() {
    let cluster = FakeCluster::builder()
        .topic("out", 1)
        .start()
        .await
        .unwrap();
    let p = TransactionalProducer::from_properties([
        ("bootstrap.servers", cluster.bootstrap()),
        ("transactional.id", "slow".to_string()),
        ("transaction.timeout.ms", "1000".to_string()),
    ])
    .unwrap();
    p.init_transactions().await.unwrap();
    p.begin_transaction().unwrap();
    send(&p, "out", &["late"]).await;
    p.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ended = cluster.transactions();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].outcome, TxnOutcome::AbortedOnTimeout);
    assert_eq!(ended[0].partitions, [("out".to_string(), 0)]);
    let err = p.commit_transaction().await.unwrap_err();
    assert!(matches!(err, TransactionError::Fenced(_)), "{err}");
    assert!(read(&cluster, "out", 1, true).await.is_empty());
    assert_eq!(read(&cluster, "out", 1, false).await, ["late"]);
}
