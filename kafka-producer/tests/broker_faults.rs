//! The bodies under faults (`bodies/under_faults.rs`) against a real Kafka
//! of 3 nodes behind the testkit's proxies: Produce responses of written
//! records rewritten into errors by the proxies, and leaders moved by a
//! reassignment and a preferred election. `fake.rs` runs the same bodies
//! against `kafka-fake`.
//!
//! Also rack-aware partitioning (KIP-1123), the cluster's node 1 being
//! alone in its rack. Ignored by default (they need 3 nodes); `cargo xtask
//! ci` runs them on its 3-node cluster with `--ignored`. One test function
//! uses the proxies: they take the ports the brokers advertise.

mod bodies;

use kafka_producer::ErrorCode;
use kafka_testkit::{self as testkit, ProxiedCluster};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

struct ProxiedFaults {
    proxies: ProxiedCluster,
    /// The brokers' own listener, for the operator's requests.
    direct: String,
}

impl bodies::ClusterFaults for ProxiedFaults {
    fn fail_produce_after_append(&self, code: ErrorCode, times: usize, brokers: &[i32]) {
        for &node in brokers {
            let h = self.proxies.node(node).expect("a proxy per node");
            h.fail_produce_responses(code.0, times as u64);
        }
    }

    fn unmet(&self) -> usize {
        self.proxies
            .handles()
            .iter()
            .map(|h| h.pending_failed_produces() as usize)
            .sum()
    }

    async fn move_leader(&self, topic: &str, partition: i32) -> i32 {
        let conn = testkit::connect(&self.direct).await.expect("connect");
        testkit::move_leader(&conn, topic, partition)
            .await
            .expect("leader moved")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs 3 nodes: cargo xtask ci runs it on its 3-node cluster"]
async fn bodies_under_faults_on_three_nodes() {
    let env = testkit::cluster_env(ROOT);
    let direct = env.get("KAFKA_BOOTSTRAP").expect("KAFKA_BOOTSTRAP");
    assert!(
        direct.split(',').count() >= 3,
        "needs a cluster of 3 nodes: cargo xtask kafka up --brokers 3"
    );
    let faults = ProxiedFaults {
        proxies: ProxiedCluster::start(ROOT).await.expect("proxies"),
        direct: direct.split(',').next().unwrap().to_string(),
    };
    let b = faults.proxies.bootstrap().to_string();
    bodies::retried_writes_that_landed_appear_once(&b, &faults).await;
    let rewritten: u64 = faults
        .proxies
        .handles()
        .iter()
        .map(|h| h.stats().failed_produces)
        .sum();
    assert!(rewritten >= 3, "the proxies answered {rewritten} errors");
    bodies::moved_leaders_lose_and_duplicate_nothing(&b, &faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs 3 nodes in two racks: cargo xtask ci runs it on its 3-node cluster"]
async fn keyless_records_stay_in_the_clients_rack_on_three_nodes() {
    let env = testkit::cluster_env(ROOT);
    let direct = env.get("KAFKA_BOOTSTRAP").expect("KAFKA_BOOTSTRAP");
    assert!(direct.split(',').count() >= 3, "needs a cluster of 3 nodes");
    bodies::keyless_records_stay_in_the_clients_rack(direct).await;
}
