//! Connections through the testkit's proxy, counted: the producer closes a
//! connection idle for `connections.max.idle.ms` and opens one again for
//! the next record; a half-open connection (the broker side gone, nothing
//! answered) costs a request timeout, then a new connection delivers. One
//! test function: the proxies take the ports the brokers advertise.

use std::time::{Duration, Instant};

use kafka_producer::{Producer, ProducerRecord};
use kafka_testkit::{self as testkit, ProxiedCluster, ProxyHandle};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const MAX_IDLE: Duration = Duration::from_millis(1500);

fn open(handles: &[ProxyHandle]) -> u64 {
    handles.iter().map(|h| h.stats().open).sum()
}

fn accepted(handles: &[ProxyHandle]) -> u64 {
    handles.iter().map(|h| h.stats().accepted).sum()
}

async fn wait_open(handles: &[ProxyHandle], want: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let n = open(handles);
        if n == want || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_close_and_reopen() {
    let env = testkit::cluster_env(ROOT);
    let direct = env.get("KAFKA_BOOTSTRAP").expect("KAFKA_BOOTSTRAP").clone();
    let proxies = ProxiedCluster::start(ROOT).await.expect("proxies");
    let handles = proxies.handles();
    let admin = testkit::connect(direct.split(',').next().unwrap())
        .await
        .unwrap();
    let topic = testkit::unique_topic("idle");
    testkit::create_topic(&admin, &topic, 1, 1).await.unwrap();
    drop(admin);

    let producer = Producer::from_properties([
        ("bootstrap.servers", proxies.bootstrap()),
        ("connections.max.idle.ms", &MAX_IDLE.as_millis().to_string()),
        ("request.timeout.ms", "2000"),
        ("delivery.timeout.ms", "30000"),
        ("linger.ms", "0"),
    ])
    .unwrap();
    let send = |i: u32| {
        let p = &producer;
        let topic = &topic;
        async move {
            p.send(ProducerRecord::new(topic.as_str()).value(format!("r{i}")))
                .await
                .expect("buffer space")
                .await
                .unwrap_or_else(|e| panic!("record {i}: {e}"))
        }
    };
    send(0).await;
    assert!(open(&handles) >= 1, "the record went through a proxy");

    for round in 1..=3 {
        // Idle: the producer closes every connection it holds.
        let left = wait_open(&handles, 0, MAX_IDLE * 4).await;
        assert_eq!(left, 0, "round {round}: connections left open after idling");
        let before = accepted(&handles);
        send(round).await;
        assert_eq!(
            accepted(&handles) - before,
            1,
            "round {round}: one new connection, to the partition's leader"
        );
    }

    // Half-open: the record's request is never answered; after
    // request.timeout.ms the producer gives up that connection and
    // delivers through a new one.
    // (The disconnect may also send a metadata request to another broker.)
    let info = testkit::topic_info(
        &testkit::connect(direct.split(',').next().unwrap())
            .await
            .unwrap(),
        &topic,
    )
    .await
    .unwrap()
    .expect("a leader");
    let leader = testkit::brokers(ROOT)
        .into_iter()
        .find(|b| b.addr() == info.leaders[0])
        .expect("the leader's node");
    let leader = proxies.node(leader.node).unwrap();
    let before = leader.stats().accepted;
    for h in &handles {
        h.half_open();
    }
    send(10).await;
    let half: u64 = handles.iter().map(|h| h.stats().half_opened).sum();
    assert_eq!(half, 1, "the one open connection went half-open");
    assert_eq!(
        leader.stats().accepted - before,
        1,
        "one new connection to the leader after the half-open one"
    );
    producer.close(Duration::from_secs(10)).await;
    let left = wait_open(&handles, 0, Duration::from_secs(5)).await;
    assert_eq!(left, 0, "close() closes the producer's connections");
}
