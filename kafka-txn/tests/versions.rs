//! The version of each API the producer stack uses against the running
//! broker, pinned per Kafka release (`KAFKA_VERSION`, written by `cargo
//! xtask kafka up`): Kafka 4.4.0 (the default) and 3.9.1 (the
//! transactions-v1 run of `cargo xtask txn-compat`). A newer broker must
//! never be spoken to in a version this code does not implement; raising a
//! version is a change this test makes visible.

use kafka_producer::core::{version_cap, PRODUCER_VERSIONS};
use kafka_protocol::messages::ApiKey;
use kafka_testkit as testkit;
use kafka_txn::TXN_VERSIONS;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// (API, version used) per release, for every request the stack sends.
fn expected(release: &str) -> Vec<(ApiKey, i16)> {
    use ApiKey::*;
    match release {
        "4.4.0" => vec![
            (ApiVersions, 5),
            (Produce, 13),
            (Metadata, 13),
            (InitProducerId, 5),
            // Offered because `kafka up` loads a telemetry plugin.
            (GetTelemetrySubscriptions, 0),
            (PushTelemetry, 0),
            (FindCoordinator, 3),
            (AddPartitionsToTxn, 3),
            (AddOffsetsToTxn, 4),
            (TxnOffsetCommit, 5),
            (EndTxn, 5),
            (DescribeTransactions, 0),
        ],
        "3.9.1" => vec![
            (ApiVersions, 4),
            (Produce, 11),
            (Metadata, 12),
            (InitProducerId, 5),
            // Offered because `kafka up` loads a telemetry plugin.
            (GetTelemetrySubscriptions, 0),
            (PushTelemetry, 0),
            (FindCoordinator, 3),
            (AddPartitionsToTxn, 3),
            (AddOffsetsToTxn, 4),
            (TxnOffsetCommit, 4),
            (EndTxn, 4),
            (DescribeTransactions, 0),
        ],
        other => panic!("no versions pinned for Kafka {other}: add them here"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_used_against_this_release_are_pinned() {
    let env = testkit::cluster_env(ROOT);
    let bootstrap = env
        .get("KAFKA_BOOTSTRAP")
        .expect("no Kafka cluster: run `cargo xtask kafka up` first (or `cargo xtask ci`)");
    let release = env.get("KAFKA_VERSION").expect("KAFKA_VERSION").clone();
    let conn = testkit::connect(bootstrap).await.unwrap();
    let versions = conn.versions();
    let mut used = Vec::new();
    // The codec's own request: at the top both sides speak.
    used.push((
        ApiKey::ApiVersions,
        versions.negotiate(ApiKey::ApiVersions).unwrap(),
    ));
    for table in [PRODUCER_VERSIONS, TXN_VERSIONS] {
        for (api, _) in table {
            if used.iter().any(|(a, _)| a == api) {
                continue;
            }
            let cap = version_cap(table, *api, None);
            used.push((*api, versions.negotiate_at_most(*api, cap).unwrap()));
        }
    }
    assert_eq!(used, expected(&release), "Kafka {release}");
}
