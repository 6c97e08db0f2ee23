//! Connections reset (RST) in the middle of Produce responses, again and
//! again, through the testkit's proxy: the idempotent producer (the
//! default) retries what it could not read, and every record is
//! acknowledged, in the log exactly once, in order per key. One test
//! function: the proxies take the ports the brokers advertise.

mod faults;

use std::collections::BTreeSet;
use std::time::Duration;

use faults::Tracker;
use kafka_producer::Producer;
use kafka_protocol::messages::ApiKey;
use kafka_testkit::{self as testkit, ProxiedCluster};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const PARTITIONS: i32 = 3;
const KEYS: u64 = 12;
const PER_ROUND: u64 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_mid_produce_response_lose_and_duplicate_nothing() {
    let env = testkit::cluster_env(ROOT);
    let direct = env.get("KAFKA_BOOTSTRAP").expect("KAFKA_BOOTSTRAP").clone();
    let nodes = direct.split(',').count();
    let rounds: u64 = std::env::var("RESET_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let proxies = ProxiedCluster::start(ROOT).await.expect("proxies");
    let admin = testkit::connect(direct.split(',').next().unwrap())
        .await
        .unwrap();
    let topic = testkit::unique_topic("resets");
    let info = testkit::create_topic(&admin, &topic, PARTITIONS, nodes.min(3) as i16)
        .await
        .unwrap();
    drop(admin);
    // Every partition gets records each round, so every leader answers a
    // Produce after its proxy was armed.
    let leaders: BTreeSet<i32> = info
        .leaders
        .iter()
        .map(|l| faults::node_of(ROOT, l).expect("a node of the cluster"))
        .collect();

    let producer = Producer::from_properties([
        ("bootstrap.servers", proxies.bootstrap()),
        ("linger.ms", "5"),
        ("batch.size", "4096"),
        ("request.timeout.ms", "5000"),
        ("delivery.timeout.ms", "120000"),
    ])
    .unwrap();
    let tracker = Tracker::new(Duration::from_secs(125));
    let mut index = 0u64;
    for round in 0..rounds {
        for node in &leaders {
            // From just past the header to well into the partition responses.
            let after = 8 + ((round * 7 + u64::from(node.unsigned_abs())) % 48) as usize;
            proxies
                .node(*node)
                .unwrap()
                .reset_mid_response(Some(ApiKey::Produce), after);
        }
        for _ in 0..PER_ROUND {
            let d = producer
                .send(faults::record(&topic, index, KEYS, PARTITIONS))
                .await
                .expect("buffer space");
            tracker.track(index, d);
            index += 1;
        }
        producer.flush().await.unwrap();
        for node in &leaders {
            assert!(
                !proxies.node(*node).unwrap().mid_response_armed(),
                "round {round}: no Produce response of node {node} went through its proxy"
            );
        }
    }
    let outcomes = tracker.finish(Duration::from_secs(60)).await;
    producer.close(Duration::from_secs(10)).await;

    let cut: u64 = proxies
        .handles()
        .iter()
        .map(|h| h.stats().mid_frame_resets)
        .sum();
    assert_eq!(
        cut,
        rounds * leaders.len() as u64,
        "one cut per leader and round"
    );
    assert_eq!(
        outcomes.acked(),
        rounds * PER_ROUND,
        "every record acknowledged; failures: {:?}",
        outcomes.errors
    );
    let log = faults::read_topic(&direct, &topic, PARTITIONS).await;
    let report = faults::check(&outcomes, KEYS, &log);
    println!("{report:?} after {cut} resets mid-response");
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.duplicated, 0, "written twice: {report:?}");
    assert_eq!(report.out_of_order, 0, "{report:?}");
    assert_eq!(report.foreign, 0, "{report:?}");
    assert_eq!(
        log.iter().map(Vec::len).sum::<usize>() as u64,
        rounds * PER_ROUND
    );
}
