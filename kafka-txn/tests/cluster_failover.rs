//! Transactions on a 3-node cluster whose brokers are killed mid-commit:
//! the transaction coordinator's broker, then a partition leader. Each
//! transaction ends committed or aborted, never half, and the producer (or
//! a new one with the same transactional id) goes on.
//!
//! Needs `cargo xtask kafka up --brokers 3` (`cargo xtask ci` runs it so):
//! `cargo test -p kafka-txn --features broker-tests --test cluster_failover -- --ignored`.

use std::collections::BTreeSet;
use std::time::Duration;

use kafka_producer::{ErrorClass, ProducerRecord};
use kafka_protocol::generated::FindCoordinatorRequest;
use kafka_testkit::{self as testkit, TopicInfo};
use kafka_txn::TransactionalProducer;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn bootstrap() -> String {
    testkit::cluster_env(ROOT)
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("no Kafka cluster: run `cargo xtask kafka up --brokers 3` first")
}

fn producer(id: &str) -> TransactionalProducer {
    TransactionalProducer::from_properties([
        ("bootstrap.servers", bootstrap().as_str()),
        ("transactional.id", id),
        ("linger.ms", "2"),
        ("request.timeout.ms", "3000"),
        ("max.block.ms", "120000"),
        ("delivery.timeout.ms", "120000"),
    ])
    .unwrap()
}

/// The node id of the coordinator of `transactional_id`.
async fn coordinator(transactional_id: &str) -> i32 {
    for addr in bootstrap().split(',') {
        let Ok(conn) = testkit::connect(addr).await else {
            continue;
        };
        let req = FindCoordinatorRequest {
            key: transactional_id.to_string().into(),
            key_type: 1,
            ..Default::default()
        };
        if let Ok(r) = conn.send_version(&req, 3).await {
            if r.error_code == 0 {
                return r.node_id;
            }
        }
    }
    panic!("no coordinator for {transactional_id}");
}

async fn committed(topic: &str, info: &TopicInfo) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in 0..info.leaders.len() as i32 {
        // Leaders may have moved: ask every broker until one serves it.
        for addr in bootstrap().split(',') {
            let Ok(conn) = testkit::connect(addr).await else {
                continue;
            };
            if let Ok(records) =
                testkit::fetch_partition_isolated(&conn, topic, info, p, true).await
            {
                out.extend(records.into_iter().map(|r| {
                    String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()
                }));
                break;
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a 3-node cluster: cargo xtask kafka up --brokers 3"]
async fn brokers_killed_mid_commit_leave_each_transaction_whole() {
    let brokers = testkit::brokers(ROOT);
    assert_eq!(brokers.len(), 3, "a 3-node cluster");
    let admin = testkit::connect(bootstrap().split(',').next().unwrap())
        .await
        .unwrap();
    let topic = testkit::unique_topic("txn-failover");
    let info = testkit::create_topic(&admin, &topic, 6, 3).await.unwrap();
    drop(admin);
    let id = testkit::unique_topic("tid-failover");
    let mut p = producer(&id);
    p.init_transactions().await.unwrap();
    let mut expected = BTreeSet::new();

    for round in 0..3 {
        // Rounds 0 and 2: the coordinator's broker; round 1: another one
        // (a leader of some of the partitions).
        let coordinator = coordinator(&id).await;
        let victim = if round == 1 {
            brokers.iter().find(|b| b.node != coordinator).unwrap().node
        } else {
            coordinator
        };
        let mut broker = testkit::brokers(ROOT)
            .into_iter()
            .find(|b| b.node == victim)
            .expect("the victim is running");
        p.begin_transaction().unwrap();
        let mut values = BTreeSet::new();
        for i in 0..400 {
            let v = format!("r{round}-{i}");
            drop(
                p.send(ProducerRecord::new(topic.as_str()).value(v.clone()))
                    .await
                    .unwrap(),
            );
            values.insert(v);
        }
        let killer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            broker.kill();
            tokio::time::sleep(Duration::from_secs(5)).await;
            broker.restart().expect("restart");
            broker.wait_ready().await;
        });
        let outcome = p.commit_transaction().await;
        killer.await.unwrap();
        // Aborted: nothing of the round may be visible read_committed.
        let mut aborted = false;
        match &outcome {
            Ok(()) => {}
            Err(e) if e.class() == ErrorClass::Abortable => {
                p.abort_transaction().await.expect("abort");
                aborted = true;
            }
            Err(e) => {
                eprintln!("round {round}: {e}; a new producer takes over");
                p.close(Duration::from_secs(5)).await;
                p = producer(&id);
                p.init_transactions().await.unwrap();
            }
        }
        let seen = testkit::settled(|| committed(&topic, &info), Duration::from_secs(15)).await;
        let of_round: BTreeSet<String> = seen.intersection(&values).cloned().collect();
        assert!(
            of_round.is_empty() || of_round == values,
            "round {round} (broker {victim} killed, coordinator {coordinator}): {} of {} records visible",
            of_round.len(),
            values.len()
        );
        if outcome.is_ok() {
            assert_eq!(of_round, values, "round {round}: committed, so all visible");
        }
        assert!(
            !aborted || of_round.is_empty(),
            "round {round}: aborted, yet {} records visible",
            of_round.len()
        );
        expected.extend(of_round);
    }
    p.begin_transaction().unwrap();
    for i in 0..20 {
        let v = format!("after-{i}");
        drop(
            p.send(ProducerRecord::new(topic.as_str()).value(v.clone()))
                .await
                .unwrap(),
        );
        expected.insert(v);
    }
    p.commit_transaction()
        .await
        .expect("a transaction after the failovers");
    assert_eq!(
        testkit::settled(|| committed(&topic, &info), Duration::from_secs(15)).await,
        expected
    );
    p.close(Duration::from_secs(10)).await;
}
