//! Transactions over SASL_SSL on the real Kafka `cargo xtask kafka up`
//! starts: a committed and an aborted transaction, read back at
//! read_committed; refused credentials make init_transactions fail at once
//! with the reason.

use std::time::{Duration, Instant};

use kafka_codec::security::{SaslConfig, ScramMechanism, Secret, SecurityConfig};
use kafka_producer::config::ProducerConfig;
use kafka_producer::{ErrorClass, ProducerRecord};
use kafka_testkit::{self as testkit, SecuredCluster};
use kafka_txn::{TransactionState, TransactionalProducer};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_over_sasl_ssl() {
    let c = SecuredCluster::from_env(ROOT);
    let admin = testkit::connect(&c.addr("PLAINTEXT")).await.unwrap();
    let topic = testkit::unique_topic("txn-sasl-ssl");
    let info = testkit::create_topic(&admin, &topic, 2, 1).await.unwrap();
    for mechanism in ["SCRAM-SHA-512", "OAUTHBEARER"] {
        let p = TransactionalProducer::new(
            ProducerConfig::builder()
                .bootstrap_servers(c.bootstrap("SASL_SSL"))
                .security(c.config("SASL_SSL", Some(mechanism)))
                .transactional_id(testkit::unique_topic("txn-sasl-ssl-id"))
                .build()
                .unwrap(),
        )
        .unwrap();
        p.init_transactions().await.expect("init over SASL_SSL");
        p.begin_transaction().unwrap();
        let mut deliveries = Vec::new();
        for i in 0..20 {
            deliveries.push(
                p.send(
                    ProducerRecord::new(topic.as_str())
                        .key(format!("{i}"))
                        .value(format!("{mechanism}-commit-{i}")),
                )
                .await
                .unwrap(),
            );
        }
        p.commit_transaction().await.expect("commit over SASL_SSL");
        for d in deliveries {
            d.await.expect("committed record delivered");
        }
        p.begin_transaction().unwrap();
        let aborted = p
            .send(ProducerRecord::new(topic.as_str()).value(format!("{mechanism}-aborted")))
            .await
            .unwrap();
        p.abort_transaction().await.expect("abort over SASL_SSL");
        // Sent (and then aborted) or failed as aborted before it was sent.
        let _ = aborted.await;
        assert_eq!(p.state(), TransactionState::Ready);
        p.close(Duration::from_secs(10)).await;
    }
    // Read back over SASL_SSL as well, at read_committed.
    let conn = kafka_codec::Connection::connect(
        &c.addr("SASL_SSL"),
        kafka_codec::ConnectionConfig {
            security: c.config("SASL_SSL", Some("PLAIN")),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut want: Vec<String> = ["SCRAM-SHA-512", "OAUTHBEARER"]
        .iter()
        .flat_map(|m| (0..20).map(move |i| format!("{m}-commit-{i}")))
        .collect();
    want.sort();
    // The commit markers land just after EndTxn returns: read until they did (10 s at most).
    let mut values = Vec::new();
    for _ in 0..50 {
        values.clear();
        for partition in 0..2 {
            for r in testkit::fetch_partition_isolated(&conn, &topic, &info, partition, true)
                .await
                .unwrap()
            {
                values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
            }
        }
        values.sort();
        if values == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(values, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_fail_init_transactions_at_once() {
    let c = SecuredCluster::from_env(ROOT);
    let (user, _) = c.user();
    let p = TransactionalProducer::new(
        ProducerConfig::builder()
            .bootstrap_servers(c.bootstrap("SASL_SSL"))
            .security(SecurityConfig::sasl_ssl(
                c.tls(),
                SaslConfig::Scram {
                    mechanism: ScramMechanism::Sha256,
                    username: user,
                    password: Secret::new("wrong-4b7e"),
                },
            ))
            .transactional_id(testkit::unique_topic("txn-refused"))
            .build()
            .unwrap(),
    )
    .unwrap();
    let started = Instant::now();
    let e = p.init_transactions().await.expect_err("wrong password");
    assert!(e.to_string().contains("authentication failed"), "{e}");
    assert!(!e.to_string().contains("wrong-4b7e"));
    assert_eq!(e.class(), ErrorClass::InvalidConfiguration);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(p.state(), TransactionState::FatalError);
    p.close(Duration::from_secs(5)).await;
}
