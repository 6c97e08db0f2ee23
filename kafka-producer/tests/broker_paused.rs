//! The idempotent producer streaming while the leader of a partition is
//! stopped (SIGSTOP: its sockets stay open, nothing is answered) for longer
//! than the controller's broker session timeout, then continued (SIGCONT):
//! every outcome within `delivery.timeout.ms + request.timeout.ms`, no
//! acknowledged record lost, none written twice, per-key order kept, and
//! everything sent after the broker came back is acknowledged. One test
//! function, so that nothing else runs while a broker is stopped.

mod faults;

use std::time::{Duration, Instant};

use faults::{Status, Tracker};
use kafka_producer::Producer;
use kafka_testkit as testkit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(40);
/// Scheduling on a loaded 2-core machine: outcomes are timed by a task.
const SLACK: Duration = Duration::from_secs(2);
const PAUSE: Duration = Duration::from_secs(12);
const PARTITIONS: i32 = 3;
const KEYS: u64 = 9;

/// Continues the broker even when an assertion fails first.
struct Resume(testkit::Broker);

impl Drop for Resume {
    fn drop(&mut self) {
        self.0.resume();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_leader_then_continued() {
    let env = testkit::cluster_env(ROOT);
    let direct = env.get("KAFKA_BOOTSTRAP").expect("KAFKA_BOOTSTRAP").clone();
    let nodes = direct.split(',').count();
    let admin = testkit::connect(direct.split(',').next().unwrap())
        .await
        .unwrap();
    let topic = testkit::unique_topic("paused");
    let min_isr = if nodes >= 3 { "2" } else { "1" };
    let info = testkit::create_topic_with(
        &admin,
        &topic,
        PARTITIONS,
        nodes.min(3) as i16,
        &[("min.insync.replicas", min_isr)],
    )
    .await
    .unwrap();
    drop(admin);
    let victim = faults::node_of(ROOT, &info.leaders[0]).expect("leader of partition 0");
    let broker = testkit::brokers(ROOT)
        .into_iter()
        .find(|b| b.node == victim)
        .unwrap();

    let producer = Producer::from_properties([
        ("bootstrap.servers", direct.as_str()),
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
    let mut stream = async |lasting: Duration| {
        let started = Instant::now();
        let first = index;
        while started.elapsed() < lasting {
            let d = producer
                .send(faults::record(&topic, index, KEYS, PARTITIONS))
                .await
                .expect("buffer space");
            tracker.track(index, d);
            index += 1;
            if index % KEYS == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        first..index
    };
    stream(Duration::from_secs(3)).await;
    broker.pause();
    let paused = Resume(broker);
    stream(PAUSE).await;
    drop(paused);
    let after = stream(Duration::from_secs(5)).await;
    producer.flush().await.unwrap();
    let outcomes = tracker.finish(Duration::from_secs(90)).await;
    producer.close(Duration::from_secs(10)).await;

    assert_eq!(outcomes.pending(), 0);
    assert!(
        outcomes.late.is_empty(),
        "outcomes later than delivery.timeout.ms + request.timeout.ms: {:?} (slowest {:?})",
        &outcomes.late[..outcomes.late.len().min(5)],
        outcomes.slowest
    );
    for (error, n) in &outcomes.errors {
        assert!(
            error.starts_with("record expired after"),
            "{n} records failed with something else than a delivery timeout: {error}"
        );
    }
    let failed_after: Vec<u64> = after
        .filter(|i| outcomes.status[*i as usize] != Status::Acked)
        .take(5)
        .collect();
    assert!(
        failed_after.is_empty(),
        "records sent after SIGCONT not acknowledged: {failed_after:?}"
    );
    testkit::brokers(ROOT)
        .into_iter()
        .find(|b| b.node == victim)
        .unwrap()
        .wait_ready()
        .await;
    let log = faults::read_topic(&direct, &topic, PARTITIONS).await;
    let report = faults::check(&outcomes, KEYS, &log);
    println!(
        "node {victim} stopped for {PAUSE:?}: {report:?}, errors {:?}",
        outcomes.errors
    );
    assert_eq!(report.lost, 0, "acknowledged records missing: {report:?}");
    assert_eq!(report.duplicated, 0, "{report:?}");
    assert_eq!(report.out_of_order, 0, "{report:?}");
    assert_eq!(report.foreign, 0, "{report:?}");
    assert_eq!(report.acked + report.failed, report.sent);
}
