//! The body of the blackhole tests (`proxy_blackhole`, `proxy_blackhole_expiry`):
//! the leader of a partition behind a blackhole (through the testkit's
//! proxy) for a given time: every record completes within
//! `delivery.timeout.ms + request.timeout.ms`, acknowledged or expired;
//! records that could not be delivered before their delivery timeout expire
//! and are never written; partitions led by other brokers carry on; once the
//! blackhole lifts, records are delivered again (through a new connection);
//! what was acknowledged is in the log exactly once.

use std::time::{Duration, Instant};

use super::{Status, Tracker};
use kafka_producer::Producer;
use kafka_testkit::{self as testkit, ProxiedCluster};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// `request.timeout.ms` of the producer under test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(2000);
/// `delivery.timeout.ms` of the producer under test.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_millis(8000);
/// Scheduling on a loaded 2-core machine: outcomes are timed by a task.
const SLACK: Duration = Duration::from_secs(1);
const PARTITIONS: i32 = 3;
const KEYS: u64 = 12;

/// The test, with the leader of partition 0 behind a blackhole for `hole_for`.
pub async fn blackholed_leader(hole_for: Duration) {
    let env = testkit::cluster_env(ROOT);
    let direct = env.get("KAFKA_BOOTSTRAP").expect("KAFKA_BOOTSTRAP").clone();
    let nodes = direct.split(',').count();
    let proxies = ProxiedCluster::start(ROOT).await.expect("proxies");
    let admin = testkit::connect(direct.split(',').next().unwrap())
        .await
        .unwrap();
    let topic = testkit::unique_topic("blackhole");
    let info = testkit::create_topic(&admin, &topic, PARTITIONS, nodes.min(3) as i16)
        .await
        .unwrap();
    drop(admin);
    let victim = super::node_of(ROOT, &info.leaders[0]).expect("leader of partition 0");
    let victim_partitions: Vec<i32> = (0..PARTITIONS)
        .filter(|p| info.leaders[*p as usize] == info.leaders[0])
        .collect();
    let hole = proxies.node(victim).unwrap();

    let producer = Producer::from_properties([
        ("bootstrap.servers", proxies.bootstrap()),
        ("linger.ms", "5"),
        (
            "request.timeout.ms",
            &REQUEST_TIMEOUT.as_millis().to_string(),
        ),
        (
            "delivery.timeout.ms",
            &DELIVERY_TIMEOUT.as_millis().to_string(),
        ),
    ])
    .unwrap();
    let tracker = Tracker::new(DELIVERY_TIMEOUT + REQUEST_TIMEOUT + SLACK);
    let mut index = 0u64;
    let mut send = async |n: u64, pause: Duration| {
        let first = index;
        for _ in 0..n {
            let d = producer
                .send(super::record(&topic, index, KEYS, PARTITIONS))
                .await
                .expect("buffer space");
            tracker.track(index, d);
            index += 1;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        first..index
    };

    // 1. Every leader reachable: metadata and connections in place.
    let before = send(120, Duration::ZERO).await;
    producer.flush().await.unwrap();

    // 2. The leader of partition 0 blackholed.
    hole.blackhole(true);
    let started = Instant::now();

    let mut during = before.end..before.end;
    let mut sent_at = Vec::new();
    while started.elapsed() < hole_for {
        let at = Instant::now();
        let sent = send(KEYS, Duration::ZERO).await;
        sent_at.push((sent.clone(), at));
        during.end = sent.end;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hole.blackhole(false);
    let lifted = Instant::now();
    let accepted_at_lift = hole.stats().accepted;

    // 3. Lifted: everything is delivered again, on every partition.
    let after = send(240, Duration::from_millis(1)).await;
    producer.flush().await.unwrap();
    let outcomes = tracker.finish(Duration::from_secs(60)).await;
    producer.close(Duration::from_secs(10)).await;

    assert_eq!(outcomes.pending(), 0);

    assert!(
        outcomes.late.is_empty(),
        "outcomes later than delivery.timeout.ms + request.timeout.ms: {:?}",
        &outcomes.late[..outcomes.late.len().min(5)]
    );
    for (error, n) in &outcomes.errors {
        assert!(
            error.starts_with("record expired after"),
            "{n} records failed with something else than a delivery timeout: {error}"
        );
    }
    let acked = |range: std::ops::Range<u64>, on_victim: bool| {
        range
            .filter(|i| {
                victim_partitions.contains(&super::partition_of(*i, KEYS, PARTITIONS)) == on_victim
            })
            .map(|i| outcomes.status[i as usize])
            .fold((0, 0), |(a, n), s| {
                (a + u64::from(s == Status::Acked), n + 1)
            })
    };
    // Sent more than a delivery timeout before the lift: nothing could
    // have acknowledged them in time.
    let doomed: Vec<u64> = sent_at
        .iter()
        .filter(|(_, at)| *at + DELIVERY_TIMEOUT + Duration::from_millis(500) < lifted)
        .flat_map(|(range, _)| range.clone())
        .filter(|i| victim_partitions.contains(&super::partition_of(*i, KEYS, PARTITIONS)))
        .collect();
    assert_eq!(
        doomed.is_empty(),
        hole_for < DELIVERY_TIMEOUT + Duration::from_secs(1)
    );
    let expired = doomed
        .iter()
        .filter(|i| outcomes.status[**i as usize] == Status::Failed)
        .count();
    assert_eq!(
        expired,
        doomed.len(),
        "records behind the blackhole for their whole delivery timeout expire"
    );
    let (a, n) = acked(before.clone(), true);
    assert_eq!(a, n, "before the blackhole");
    let (a, n) = acked(after.clone(), true);
    assert_eq!(
        a, n,
        "records for the once blackholed leader are delivered again"
    );
    let (a, n) = acked(after, false);
    assert_eq!(a, n, "after the blackhole, other leaders");
    if victim_partitions.len() < PARTITIONS as usize {
        let (a, n) = acked(during, false);
        assert_eq!(a, n, "partitions of other leaders carry on meanwhile");
    }
    let stats = hole.stats();
    assert!(
        stats.blackholed >= 1,
        "the producer's connection lost bytes: {stats:?}"
    );
    assert!(
        stats.accepted > accepted_at_lift,
        "the producer reconnected after the blackhole: {stats:?}"
    );

    let log = super::read_topic(&direct, &topic, PARTITIONS).await;
    let report = super::check(&outcomes, KEYS, &log);
    println!("{report:?}, errors {:?}", outcomes.errors);
    assert_eq!(report.lost, 0, "acknowledged records missing: {report:?}");
    assert_eq!(report.duplicated, 0, "{report:?}");
    assert_eq!(report.out_of_order, 0, "{report:?}");
    assert_eq!(report.foreign, 0, "{report:?}");
    assert_eq!(
        report.failed_but_written, 0,
        "expired records never reached the broker, and must not be sent later: {report:?}"
    );
    assert_eq!(report.acked + report.failed, report.sent);
}
