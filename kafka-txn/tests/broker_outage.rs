//! Transactions while the single broker (also the coordinator) is killed
//! with SIGKILL and restarted: a transaction ends committed or aborted,
//! never half, and the producer goes on. One test function, so that nothing
//! else runs while the broker is down.

use std::collections::BTreeSet;
use std::time::Duration;

use kafka_producer::{ErrorClass, ProducerRecord};
use kafka_testkit::{self as testkit, TopicInfo};
use kafka_txn::{TransactionError, TransactionalProducer};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn bootstrap() -> String {
    testkit::cluster_env(ROOT)
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("no Kafka cluster: run `cargo xtask kafka up` first (or `cargo xtask ci`)")
}

fn producer(id: &str) -> TransactionalProducer {
    TransactionalProducer::from_properties([
        ("bootstrap.servers", bootstrap().as_str()),
        ("transactional.id", id),
        ("linger.ms", "2"),
        ("request.timeout.ms", "3000"),
        ("max.block.ms", "90000"),
        ("delivery.timeout.ms", "90000"),
    ])
    .unwrap()
}

async fn committed_values(topic: &str, info: &TopicInfo) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (p, leader) in info.leaders.iter().enumerate() {
        let conn = testkit::connect(leader).await.unwrap();
        for r in testkit::fetch_partition_isolated(&conn, topic, info, p as i32, true)
            .await
            .unwrap()
        {
            out.insert(
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned(),
            );
        }
    }
    out
}

/// Sends `prefix0..prefixN` in the open transaction; `flush` waits for them.
async fn send(
    p: &TransactionalProducer,
    topic: &str,
    prefix: &str,
    n: usize,
    flush: bool,
) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    for i in 0..n {
        let v = format!("{prefix}{i}");
        drop(
            p.send(ProducerRecord::new(topic).value(v.clone()))
                .await
                .unwrap(),
        );
        values.insert(v);
    }
    if flush {
        p.flush().await.unwrap();
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_killed_mid_transaction_leaves_it_whole_or_gone() {
    let b = bootstrap();
    assert!(
        !b.contains(','),
        "this test kills the only broker of a single-node cluster"
    );
    let admin = testkit::connect(&b).await.unwrap();
    let topic = testkit::unique_topic("txn-outage");
    let info = testkit::create_topic(&admin, &topic, 3, 1).await.unwrap();
    drop(admin);
    let id = testkit::unique_topic("tid-outage");
    let mut p = producer(&id);
    p.init_transactions().await.unwrap();
    let mut expected = BTreeSet::new();

    // Round 1: the records are written, then the broker dies before the commit.
    // Round 2: the broker dies while records are still being sent.
    for (round, flush_first) in [(1, true), (2, false)] {
        p.begin_transaction().unwrap();
        let values = send(&p, &topic, &format!("r{round}-"), 300, flush_first).await;
        let mut broker = testkit::brokers(ROOT).remove(0);
        broker.kill();
        let restarted = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            broker.restart().expect("restart the broker");
            broker.wait_ready().await;
        });
        let outcome = p.commit_transaction().await;
        restarted.await.unwrap();
        // What the round must show read_committed: all of it once committed,
        // none once aborted, all or none when a new instance took over.
        let mut must_show = Some(true);
        match outcome {
            Ok(()) => {}
            Err(e) if e.class() == ErrorClass::Abortable => {
                p.abort_transaction().await.expect("abort");
                must_show = Some(false);
            }
            Err(e) => {
                must_show = None;
                // Fenced or fatal: a new instance takes over; whatever this
                // transaction became, it is whole (checked below).
                eprintln!("round {round}: {e}; a new producer takes over");
                assert!(!matches!(e, TransactionError::InvalidState { .. }), "{e}");
                p.close(Duration::from_secs(5)).await;
                p = producer(&id);
                p.init_transactions().await.unwrap();
            }
        }
        let seen =
            testkit::settled(|| committed_values(&topic, &info), Duration::from_secs(10)).await;
        let of_round: BTreeSet<String> = seen.intersection(&values).cloned().collect();
        assert!(
            of_round.is_empty() || of_round == values,
            "round {round}: {} of {} records visible",
            of_round.len(),
            values.len()
        );
        match must_show {
            Some(true) => assert_eq!(of_round, values, "round {round}: committed, so all visible"),
            Some(false) => assert!(
                of_round.is_empty(),
                "round {round}: aborted, yet {} records visible",
                of_round.len()
            ),
            None => {}
        }
        if of_round == values {
            expected.extend(values);
        }
    }

    // And it goes on.
    p.begin_transaction().unwrap();
    expected.extend(send(&p, &topic, "after-", 50, false).await);
    p.commit_transaction()
        .await
        .expect("a transaction after the outages");
    assert_eq!(
        testkit::settled(|| committed_values(&topic, &info), Duration::from_secs(10)).await,
        expected
    );
    p.close(Duration::from_secs(10)).await;
}
