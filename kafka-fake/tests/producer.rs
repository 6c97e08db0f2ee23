//! Our producer against the fake: records sent and read back (through the
//! fake's Fetch as well as its inspection), retriable errors injected,
//! leaders moved, a broker stopped, an older broker's versions, and bytes
//! no broker would accept.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_fake::{FakeCluster, Fault};
use kafka_producer::{Producer, ProducerError, ProducerRecord};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::ErrorCode;
use kafka_testkit as testkit;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn producer(cluster: &FakeCluster, extra: &[(&str, &str)]) -> Producer {
    let mut props = vec![
        ("bootstrap.servers".to_string(), cluster.bootstrap()),
        ("linger.ms".to_string(), "5".to_string()),
        ("retry.backoff.ms".to_string(), "10".to_string()),
    ];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Producer::from_properties(props).unwrap()
}

/// Sends `n` records keyed `k{i % 10}`, valued `v{i}`; returns each
/// record's (partition, offset).
async fn send(p: &Producer, topic: &str, n: usize) -> Vec<(i32, i64)> {
    send_range(p, topic, 0..n).await
}

/// As [`send`], records `range` of a longer run.
async fn send_range(p: &Producer, topic: &str, range: std::ops::Range<usize>) -> Vec<(i32, i64)> {
    let mut deliveries = Vec::new();
    for i in range {
        let r = ProducerRecord::new(topic)
            .key(format!("k{}", i % 10))
            .value(format!("v{i}"));
        deliveries.push(p.send(r).await.unwrap());
    }
    let mut out = Vec::new();
    for d in deliveries {
        let md = d.await.unwrap();
        out.push((md.partition, md.offset));
    }
    out
}

/// Every value stored, per partition in offset order.
fn stored(cluster: &FakeCluster, topic: &str, partitions: i32) -> BTreeMap<i32, Vec<String>> {
    (0..partitions)
        .map(|p| {
            let values = cluster
                .records(topic, p)
                .into_iter()
                .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
                .collect();
            (p, values)
        })
        .collect()
}

/// Each of the `n` values exactly once, and per key in send order.
fn assert_exactly_once_in_order(stored: &BTreeMap<i32, Vec<String>>, n: usize) {
    let mut seen = vec![0usize; n];
    for values in stored.values() {
        let mut last_of_key: BTreeMap<usize, usize> = BTreeMap::new();
        for v in values {
            let i: usize = v[1..].parse().unwrap();
            seen[i] += 1;
            if let Some(prev) = last_of_key.insert(i % 10, i) {
                assert!(prev < i, "key k{} out of order: {prev} then {i}", i % 10);
            }
        }
    }
    let wrong: Vec<_> = seen.iter().enumerate().filter(|(_, c)| **c != 1).collect();
    assert!(wrong.is_empty(), "not exactly once: {wrong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_stored_and_read_back_with_every_codec() {
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("t", 6)
        .start()
        .await
        .unwrap();
    let mut total = 0;
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let p = producer(&cluster, &[("compression.type", codec)]);
        let placed = send(&p, "t", 200).await;
        p.close(Duration::from_secs(5)).await;
        for (partition, offset) in placed {
            let r = &cluster.records("t", partition)[offset as usize];
            assert_eq!(r.offset, offset);
            assert!(
                r.producer_id >= 0 && r.sequence >= 0,
                "idempotent by default"
            );
        }
        total += 200;
    }
    let all: usize = stored(&cluster, "t", 6).values().map(Vec::len).sum();
    assert_eq!(all, total);
    // The same records through the fake's Fetch, as a consumer reads them.
    let leader = cluster.leader("t", 2).unwrap();
    let conn = testkit::connect(&cluster.broker_addr(leader).unwrap())
        .await
        .unwrap();
    let info = testkit::topic_info(&conn, "t").await.unwrap().unwrap();
    let fetched = testkit::fetch_partition(&conn, "t", &info, 2)
        .await
        .unwrap();
    let values: Vec<String> = fetched
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(values, stored(&cluster, "t", 6)[&2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_errors_are_retried_without_duplicates() {
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("t", 3)
        .start()
        .await
        .unwrap();
    cluster.inject(Fault::new(ApiKey::Produce, ErrorCode::NOT_ENOUGH_REPLICAS).times(3));
    cluster.inject(
        Fault::new(ApiKey::Produce, ErrorCode::REQUEST_TIMED_OUT)
            .for_partition("t", 1)
            .times(2),
    );
    let p = producer(&cluster, &[]);
    send(&p, "t", 300).await;
    p.close(Duration::from_secs(5)).await;
    assert!(cluster.pending_faults().is_empty(), "every fault was met");
    assert_exactly_once_in_order(&stored(&cluster, "t", 3), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closed_and_silent_connections_lose_nothing() {
    let cluster = FakeCluster::builder().topic("t", 1).start().await.unwrap();
    // A short request timeout: a silenced connection is given up on soon.
    let p = producer(&cluster, &[("request.timeout.ms", "1500")]);
    send(&p, "t", 50).await;
    let connections = |c: &FakeCluster| {
        c.requests()
            .iter()
            .filter(|r| r.api == ApiKey::ApiVersions)
            .count()
    };
    let before = connections(&cluster);
    // The broker sends FIN and reads on: the producer sees the end of the
    // stream and connects again.
    cluster.half_close_connections(1);
    send_range(&p, "t", 50..100).await;
    let after_half_close = connections(&cluster);
    assert!(after_half_close > before, "a new connection after the FIN");
    // Nothing is answered on the open connections any more: the producer
    // gives up on them after its request timeout and sends again.
    cluster.silence_connections(1);
    let started = std::time::Instant::now();
    send_range(&p, "t", 100..150).await;
    p.close(Duration::from_secs(5)).await;
    assert!(
        connections(&cluster) > after_half_close,
        "a new connection after the silence"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "the silenced request was waited for"
    );
    assert_exactly_once_in_order(&stored(&cluster, "t", 1), 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_for_a_missing_topic_gives_up_after_max_block() {
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("t", 2)
        .auto_create_topics(false)
        .start()
        .await
        .unwrap();
    let p = producer(&cluster, &[("max.block.ms", "500")]);
    let started = std::time::Instant::now();
    let err = p.partitions_for("missing").await.unwrap_err();
    assert!(matches!(err, ProducerError::TopicNotFound { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    // A replicated topic: replicas on consecutive brokers, all in sync,
    // and a stopped broker leaves the in-sync replicas for the offline ones.
    let conn = testkit::connect(&cluster.broker_addr(1).unwrap())
        .await
        .unwrap();
    let name = testkit::unique_topic("replicated");
    testkit::create_topic(&conn, &name, 3, 3).await.unwrap();
    let parts = p.partitions_for(&name).await.unwrap();
    assert!(parts.iter().all(|x| x.replicas.len() == 3
        && x.in_sync_replicas.len() == 3
        && x.offline_replicas.is_empty()));
    cluster.stop_broker(2);
    let fresh = producer(&cluster, &[]);
    let parts = fresh.partitions_for(&name).await.unwrap();
    for x in &parts {
        assert_eq!(x.replicas.len(), 3);
        assert!(x.in_sync_replicas.iter().all(|n| n.id != 2), "{x:?}");
        let offline: Vec<i32> = x.offline_replicas.iter().map(|n| n.id).collect();
        assert_eq!(offline, [2], "{x:?}");
        assert_ne!(x.leader.as_ref().unwrap().id, 2);
    }
}

/// The whole cluster moves to new addresses; only `bootstrap.servers` (a
/// proxy, as a DNS name would be) follows it. With
/// `metadata.recovery.strategy=rebootstrap` (the default) the producer goes
/// back to it and delivers; with `none` it keeps asking the brokers it
/// knew, and the records time out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_moves_is_found_again_through_bootstrap_servers() {
    for (strategy, delivered) in [("rebootstrap", true), ("none", false)] {
        let old = FakeCluster::builder()
            .brokers(2)
            .topic("t", 2)
            .start()
            .await
            .unwrap();
        let first = old.broker_addr(1).unwrap().parse().unwrap();
        let bootstrap = testkit::Proxy::start(0, first).await.unwrap();
        let p = Producer::from_properties([
            ("bootstrap.servers", bootstrap.addr().to_string()),
            ("metadata.recovery.strategy", strategy.to_string()),
            ("delivery.timeout.ms", "4000".to_string()),
            ("request.timeout.ms", "1000".to_string()),
            ("linger.ms", "0".to_string()),
            ("reconnect.backoff.max.ms", "200".to_string()),
        ])
        .unwrap();
        send(&p, "t", 10).await;
        // The cluster moves: new brokers on new ports, the old ones gone.
        drop(old);
        let new = FakeCluster::builder()
            .brokers(2)
            .topic("t", 2)
            .start()
            .await
            .unwrap();
        bootstrap
            .handle()
            .set_upstream(new.broker_addr(1).unwrap().parse().unwrap());
        let d = p
            .send(ProducerRecord::new("t").key("k").value("after"))
            .await
            .unwrap();
        let outcome = d.await;
        assert_eq!(outcome.is_ok(), delivered, "{strategy}: {outcome:?}");
        let stored: usize = (0..2).map(|p| new.records("t", p).len()).sum();
        assert_eq!(stored, usize::from(delivered), "{strategy}");
        p.close(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_retriable_error_fails_the_records_it_answers() {
    let cluster = FakeCluster::builder().topic("t", 1).start().await.unwrap();
    cluster.inject(Fault::new(
        ApiKey::Produce,
        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
    ));
    let p = producer(&cluster, &[("linger.ms", "0")]);
    let d = p
        .send(ProducerRecord::new("t").value("refused"))
        .await
        .unwrap();
    let err = d.await.unwrap_err();
    assert!(
        matches!(err, ProducerError::Broker(_) | ProducerError::Fatal(_)),
        "{err}"
    );
    assert!(
        err.to_string().contains("TOPIC_AUTHORIZATION_FAILED"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_leaders_and_a_stopped_broker_lose_nothing() {
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("t", 3)
        .start()
        .await
        .unwrap();
    let p = producer(&cluster, &[]);
    send(&p, "t", 100).await;
    // Every partition moves to the next broker; the old leaders refuse.
    for partition in 0..3 {
        let leader = cluster.leader("t", partition).unwrap();
        cluster.move_leader("t", partition, leader % 3 + 1);
    }
    let second = send(&p, "t", 100);
    let offsets = second.await;
    assert_eq!(offsets.len(), 100);
    cluster.stop_broker(1);
    let third = send(&p, "t", 100).await;
    assert_eq!(third.len(), 100);
    p.close(Duration::from_secs(5)).await;
    cluster.restart_broker(1).await.unwrap();
    let all = stored(&cluster, "t", 3);
    assert_eq!(all.values().map(Vec::len).sum::<usize>(), 300);
    let moved = cluster
        .requests()
        .iter()
        .filter(|r| r.api == ApiKey::Metadata)
        .count();
    assert!(moved >= 2, "leaders learned again from Metadata");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_broker_gets_topic_names() {
    for (cap, expected) in [(None, 13), (Some(12), 12), (Some(9), 9)] {
        let mut b = FakeCluster::builder().topic("t", 1);
        if let Some(v) = cap {
            b = b.max_version(ApiKey::Produce, v);
        }
        let cluster = b.start().await.unwrap();
        let p = producer(&cluster, &[]);
        send(&p, "t", 10).await;
        p.close(Duration::from_secs(5)).await;
        let versions: Vec<i16> = cluster
            .requests()
            .iter()
            .filter(|r| r.api == ApiKey::Produce)
            .map(|r| r.version)
            .collect();
        assert!(!versions.is_empty());
        assert!(versions.iter().all(|v| *v == expected), "{versions:?}");
        assert_eq!(cluster.records("t", 0).len(), 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bytes_close_the_connection_and_nothing_else() {
    let cluster = FakeCluster::builder().topic("t", 1).start().await.unwrap();
    let addr = cluster.broker_addr(1).unwrap();
    let garbage: [&[u8]; 4] = [
        // A frame too short for a header.
        &[0, 0, 0, 2, 0, 0],
        // Produce v9 whose body is cut short.
        &[0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0xff, 0xff],
        // An unknown API key.
        &[0, 0, 0, 8, 0x7f, 0x00, 0, 0, 0, 0, 0, 1],
        // A negative size.
        &[0xff, 0xff, 0xff, 0xff],
    ];
    for bytes in garbage {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(bytes).await.unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("the fake closes rather than waits")
            .unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
    }
    // The cluster still serves.
    let p = producer(&cluster, &[]);
    assert_eq!(send(&p, "t", 5).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_partition_reads_back_empty_within_its_fetch_wait() {
    let cluster = FakeCluster::builder().topic("t", 1).start().await.unwrap();
    let conn = testkit::connect(&cluster.bootstrap()).await.unwrap();
    let info = testkit::topic_info(&conn, "t").await.unwrap().unwrap();
    let started = std::time::Instant::now();
    let fetched = testkit::fetch_partition(&conn, "t", &info, 0)
        .await
        .unwrap();
    assert!(fetched.is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plain_and_scram_authenticate_and_refuse() {
    let cluster = FakeCluster::builder()
        .brokers(2)
        .topic("t", 2)
        .sasl_users([("alice", "alice-secret")])
        .start()
        .await
        .unwrap();
    let module = |m: &str| {
        if m == "PLAIN" {
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        } else {
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        }
    };
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let jaas = format!(
            r#"{} required username="alice" password="alice-secret";"#,
            module(mechanism)
        );
        let p = producer(
            &cluster,
            &[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", mechanism),
                ("sasl.jaas.config", &jaas),
            ],
        );
        assert_eq!(send(&p, "t", 20).await.len(), 20, "{mechanism}");
        p.close(Duration::from_secs(5)).await;
        // A wrong password stops the producer with an authentication error.
        let jaas = format!(
            r#"{} required username="alice" password="wrong";"#,
            module(mechanism)
        );
        let p = producer(
            &cluster,
            &[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", mechanism),
                ("sasl.jaas.config", &jaas),
                ("linger.ms", "0"),
                ("max.block.ms", "5000"),
            ],
        );
        let outcome = match p.send(ProducerRecord::new("t").value("x")).await {
            Err(e) => Err(e),
            Ok(delivery) => delivery.await.map(|_| ()),
        };
        let err = outcome.expect_err("a wrong password is refused");
        assert!(
            err.to_string().to_lowercase().contains("authentication"),
            "{mechanism}: {err}"
        );
    }
    let stored: usize = (0..2).map(|p| cluster.records("t", p).len()).sum();
    assert_eq!(stored, 60);
    // Without authenticating, a request other than ApiVersions closes the connection.
    let mut s = tokio::net::TcpStream::connect(cluster.broker_addr(1).unwrap())
        .await
        .unwrap();
    // Metadata v12, correlation 1, client id "x", no topics (null), tagged fields.
    s.write_all(&[0, 0, 0, 15, 0, 3, 0, 12, 0, 0, 0, 1, 0, 1, b'x', 0, 0, 1, 0])
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed before authentication");
}
