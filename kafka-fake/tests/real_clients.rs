//! Clients other than ours against `kafka-fake` (feature `conformance`,
//! which `cargo xtask ci` turns on after preparing them): Kafka's own
//! console producer (the Java client, from the jars `cargo xtask kafka up`
//! recorded as KAFKA_LIBS) and librdkafka (the confluent-kafka package from
//! PyPI, in the virtualenv `cargo xtask ci` makes; KAFKA_FAKE_PYTHON names
//! its python). Both produce idempotently with every codec; the fake's log
//! must hold each record once, in order per key, and Kafka's console
//! consumer must read it back. librdkafka and the Java client
//! (`interop/java-txn-abort`) also commit one transaction and abort another:
//! read_committed readers (ours and Java's) see the first only.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use kafka_fake::{FakeCluster, TxnOutcome};
use kafka_protocol::messages::ApiKey;
use kafka_testkit as testkit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];

/// (key, value) of every record of `topic`, all partitions, per partition in order.
fn stored(cluster: &FakeCluster, topic: &str, partitions: i32) -> Vec<Vec<(String, String)>> {
    (0..partitions)
        .map(|p| {
            cluster
                .records(topic, p)
                .into_iter()
                .map(|r| {
                    let s =
                        |b: Option<bytes::Bytes>| String::from_utf8(b.unwrap().to_vec()).unwrap();
                    (s(r.key), s(r.value))
                })
                .collect()
        })
        .collect()
}

/// Values "<codec>-<i>" for i in 0..n, each once, in order per key
/// "<codec>-<i % 10>"; every record from an idempotent producer.
fn check(cluster: &FakeCluster, topic: &str, partitions: i32, n: usize) {
    let mut seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for part in stored(cluster, topic, partitions) {
        let mut last: BTreeMap<String, usize> = BTreeMap::new();
        for (key, value) in part {
            let (codec, i) = value.rsplit_once('-').unwrap();
            let i: usize = i.parse().unwrap();
            assert_eq!(key, format!("{codec}-{}", i % 10));
            if let Some(prev) = last.insert(key.clone(), i) {
                assert!(prev < i, "{key}: {prev} then {i}");
            }
            seen.entry(codec.to_string()).or_default().push(i);
        }
    }
    for codec in CODECS {
        let mut got = seen.remove(codec).unwrap_or_default();
        got.sort_unstable();
        assert_eq!(got, (0..n).collect::<Vec<_>>(), "{codec}: each record once");
    }
    for p in 0..partitions {
        assert!(cluster
            .records(topic, p)
            .iter()
            .all(|r| r.producer_id >= 0 && r.sequence >= 0));
    }
}

/// Runs Java (`JAVA_HOME`'s, else the one on the PATH) on Kafka's jars
/// with `args`, off the runtime's threads; fails the test on a non-zero exit.
async fn run_java(libs: &str, args: Vec<String>) {
    let java = std::env::var_os("JAVA_HOME")
        .map(|h| std::path::Path::new(&h).join("bin/java"))
        .unwrap_or_else(|| "java".into());
    let classpath = format!("{libs}/*");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(java)
            .arg("-cp")
            .arg(classpath)
            .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
            .args(args)
            .output()
    })
    .await
    .unwrap()
    .expect("java");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every record of `topic` (all `partitions`) as a reader at this
/// isolation level fetches it from the fake.
async fn fetch_isolated(
    cluster: &FakeCluster,
    topic: &str,
    partitions: i32,
    read_committed: bool,
) -> Vec<testkit::FetchedRecord> {
    let conn = testkit::connect(&cluster.broker_addr(1).unwrap())
        .await
        .unwrap();
    let info = testkit::topic_info(&conn, topic).await.unwrap().unwrap();
    let mut out = Vec::new();
    for p in 0..partitions {
        let leader = testkit::connect(&info.leaders[p as usize]).await.unwrap();
        out.extend(
            testkit::fetch_partition_isolated(&leader, topic, &info, p, read_committed)
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkas_console_producer_writes_to_the_fake() {
    let env = testkit::cluster_env(ROOT);
    let libs = env
        .get("KAFKA_LIBS")
        .expect("KAFKA_LIBS: run `cargo xtask kafka up` (or `cargo xtask ci`) for Kafka's jars");
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("java", 3)
        .start()
        .await
        .unwrap();
    let n = 200;
    for codec in CODECS {
        let java = std::env::var_os("JAVA_HOME")
            .map(|h| std::path::Path::new(&h).join("bin/java"))
            .unwrap_or_else(|| "java".into());
        let mut child = Command::new(java)
            .arg("-cp")
            .arg(format!("{libs}/*"))
            .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
            .arg("org.apache.kafka.tools.ConsoleProducer")
            .args([
                "--bootstrap-server",
                &cluster.bootstrap(),
                "--topic",
                "java",
            ])
            .args(["--compression-codec", codec])
            .args([
                "--property",
                "parse.key=true",
                "--property",
                "key.separator=:",
            ])
            .args(["--producer-property", "enable.idempotence=true"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("java");
        let mut stdin = child.stdin.take().unwrap();
        for i in 0..n {
            writeln!(stdin, "{codec}-{}:{codec}-{i}", i % 10).unwrap();
        }
        drop(stdin);
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            out.status.success(),
            "{codec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    check(&cluster, "java", 3, n);
    // Kafka's console consumer reads each partition back (assigned, no
    // group), record for record.
    for p in 0..3 {
        let stored = stored(&cluster, "java", 3).remove(p as usize);
        let partition = p.to_string();
        let lines = testkit::console_consumer_with(
            libs,
            &cluster.bootstrap(),
            "java",
            stored.len(),
            false,
            &["--partition", &partition],
        )
        .expect("console consumer");
        let read: Vec<(String, String)> = lines
            .iter()
            .map(|l| {
                let (k, v) = l.split_once('\t').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        assert_eq!(read, stored, "partition {p}");
    }
    // Java's transactional producer (ProducerPerformance commits a
    // transaction every 50 ms and at the end): every record committed.
    cluster.create_topic("java-txn", 2).unwrap();
    let args = [
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        "java-txn",
        "--num-records",
        "1000",
        "--record-size",
        "50",
        "--throughput",
        "-1",
        "--transactional-id",
        "java-txn-perf",
        "--transaction-duration-ms",
        "50",
        "--producer-props",
    ];
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.push(format!("bootstrap.servers={}", cluster.bootstrap()));
    run_java(libs, args).await;
    let committed = fetch_isolated(&cluster, "java-txn", 2, true).await;
    assert!(committed.iter().all(|r| r.transactional));
    assert_eq!(
        committed.len(),
        1000,
        "every transaction of Java's producer committed"
    );
    // The Java client asked ApiVersions v5 first: the fake serves v4, so the
    // exchange went through the broker's UNSUPPORTED_VERSION answer.
    let produce = cluster
        .requests()
        .iter()
        .filter(|r| r.api == ApiKey::Produce)
        .count();
    assert!(produce > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javas_transactional_producer_commits_and_aborts_on_the_fake() {
    let env = testkit::cluster_env(ROOT);
    let libs = env
        .get("KAFKA_LIBS")
        .expect("KAFKA_LIBS: run `cargo xtask kafka up` (or `cargo xtask ci`) for Kafka's jars")
        .clone();
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("java-ca", 3)
        .topic("input", 1)
        .start()
        .await
        .unwrap();
    let n = 100;
    let args = vec![
        format!("{ROOT}/interop/java-txn-abort/CommitAbort.java"),
        cluster.bootstrap(),
        "java-ca".to_string(),
        n.to_string(),
    ];
    run_java(&libs, args).await;
    let mut committed: Vec<String> = fetch_isolated(&cluster, "java-ca", 3, true)
        .await
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
        .collect();
    let all = fetch_isolated(&cluster, "java-ca", 3, false).await.len();
    committed.sort();
    let mut want: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    want.sort();
    assert_eq!(
        committed, want,
        "read_committed: the committed transaction only"
    );
    assert_eq!(all, 2 * n, "read_uncommitted: both transactions' records");
    let outcomes: Vec<_> = cluster.transactions().iter().map(|t| t.outcome).collect();
    assert_eq!(outcomes, [TxnOutcome::Committed, TxnOutcome::Aborted]);
    assert_eq!(
        cluster.committed_offset("java-group", "input", 0),
        Some(42),
        "the aborted transaction's offset was dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_writes_to_the_fake() {
    let python = std::env::var("KAFKA_FAKE_PYTHON").expect(
        "KAFKA_FAKE_PYTHON: the python of a virtualenv with confluent-kafka (`cargo xtask ci` makes it)",
    );
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("rdkafka", 3)
        .topic("rdkafka-txn", 2)
        .start()
        .await
        .unwrap();
    let n = 200;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/librdkafka_produce.py"
    );
    let bootstrap = cluster.bootstrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args([script, &bootstrap, "rdkafka", &n.to_string()])
            .output()
    })
    .await
    .unwrap()
    .expect("python");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    check(&cluster, "rdkafka", 3, n);
    // Its transactions: both in the log, only the committed one for a
    // read_committed reader of the fake's Fetch.
    let conn = testkit::connect(&cluster.broker_addr(1).unwrap())
        .await
        .unwrap();
    let info = testkit::topic_info(&conn, "rdkafka-txn")
        .await
        .unwrap()
        .unwrap();
    let mut committed = 0;
    let mut all = 0;
    for p in 0..2 {
        let leader = testkit::connect(&info.leaders[p as usize]).await.unwrap();
        for read_committed in [true, false] {
            let records =
                testkit::fetch_partition_isolated(&leader, "rdkafka-txn", &info, p, read_committed)
                    .await
                    .unwrap();
            for r in records {
                assert!(r.transactional);
                let v = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
                if read_committed {
                    assert!(v.starts_with("committed-"), "{v} read_committed");
                    committed += 1;
                } else {
                    all += 1;
                }
            }
        }
    }
    assert_eq!((committed, all), (n, 2 * n));
    // Kafka's console consumer at read_committed sees the same.
    let env = testkit::cluster_env(ROOT);
    let libs = env
        .get("KAFKA_LIBS")
        .expect("KAFKA_LIBS: run `cargo xtask kafka up` (or `cargo xtask ci`) for Kafka's jars");
    let mut java_committed = 0;
    for p in 0..2 {
        let expected = testkit::fetch_partition_isolated(
            &testkit::connect(&info.leaders[p as usize]).await.unwrap(),
            "rdkafka-txn",
            &info,
            p,
            true,
        )
        .await
        .unwrap()
        .len();
        let partition = p.to_string();
        let lines = testkit::console_consumer_with(
            libs,
            &cluster.bootstrap(),
            "rdkafka-txn",
            expected,
            false,
            &[
                "--partition",
                &partition,
                "--isolation-level",
                "read_committed",
            ],
        )
        .expect("console consumer");
        assert!(
            lines.iter().all(|l| l.contains("\tcommitted-")),
            "{lines:?}"
        );
        java_committed += lines.len();
    }
    assert_eq!(java_committed, n);
}
