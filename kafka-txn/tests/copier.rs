//! The exactly-once copier (`examples/copier.rs`) killed with SIGKILL at
//! random moments and restarted with the same transactional id, as Kafka's
//! own transactions system test bounces its copiers: the output, read at
//! `read_committed`, holds every input record exactly once.
//!
//! The copier runs in a child process: this test binary runs itself again
//! with `copier_child` (an ignored test that does nothing unless
//! `COPIER_CHILD_ARGS` is set). `COPIER_KILLS` sets the number of kills
//! (default 12); the seed of the kill times is printed.

#[path = "../examples/copier.rs"]
#[allow(dead_code)]
mod copier;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kafka_producer::{Producer, ProducerRecord};
use kafka_testkit::{self as testkit, TopicInfo};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const INPUT_RECORDS: usize = 20_000;

fn bootstrap() -> String {
    testkit::cluster_env(ROOT)
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("no Kafka cluster: run `cargo xtask kafka up` first (or `cargo xtask ci`)")
}

/// The copier, when this binary was started as a child by the test below.
#[test]
#[ignore = "the copier process of `copier_survives_random_kills_exactly_once`"]
fn copier_child() {
    let Ok(args) = std::env::var("COPIER_CHILD_ARGS") else {
        return;
    };
    let args: Vec<String> = args.split(' ').map(str::to_string).collect();
    let config = copier::CopierConfig::from_args(&args).expect("copier arguments");
    let rt = tokio::runtime::Runtime::new().unwrap();
    match rt.block_on(copier::run(&config)) {
        Ok(stats) => {
            println!("copier done: {stats:?}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("copier failed: {e}");
            std::process::exit(1)
        }
    }
}

fn spawn_copier(args: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "copier_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("COPIER_CHILD_ARGS", args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the copier")
}

async fn read_committed(topic: &str, info: &TopicInfo) -> Vec<String> {
    let mut keys = Vec::new();
    for (p, leader) in info.leaders.iter().enumerate() {
        let conn = testkit::connect(leader).await.unwrap();
        for r in testkit::fetch_partition_isolated(&conn, topic, info, p as i32, true)
            .await
            .unwrap()
        {
            keys.push(String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned());
        }
    }
    keys
}

/// Whether a transaction with records in `topic` is open (a partition's
/// last stable offset is behind its high watermark).
async fn transaction_open(topic: &str, info: &TopicInfo) -> bool {
    for (p, leader) in info.leaders.iter().enumerate() {
        let conn = testkit::connect(leader).await.unwrap();
        let (lso, hw) = testkit::stable_and_high(&conn, topic, info, p as i32)
            .await
            .unwrap();
        if lso < hw {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copier_survives_random_kills_exactly_once() {
    let admin = testkit::connect(bootstrap().split(',').next().unwrap())
        .await
        .unwrap();
    let input = testkit::unique_topic("copier-in");
    let output = testkit::unique_topic("copier-out");
    testkit::create_topic(&admin, &input, 3, 1).await.unwrap();
    let out_info = testkit::create_topic(&admin, &output, 3, 1).await.unwrap();

    let p = Producer::from_properties([
        ("bootstrap.servers", bootstrap().as_str()),
        ("linger.ms", "5"),
    ])
    .unwrap();
    let mut deliveries = Vec::with_capacity(INPUT_RECORDS);
    for i in 0..INPUT_RECORDS {
        let r = ProducerRecord::new(input.as_str())
            .key(format!("k{i}"))
            .value(format!("v{i}"));
        deliveries.push(p.send(r).await.unwrap());
    }
    for d in deliveries {
        d.await.expect("input written");
    }
    p.close(Duration::from_secs(10)).await;

    let args = format!(
        "--bootstrap {} --input {input} --output {output} --transactional-id {} --group {} --transaction-size 100 --abort-percent 10 --hold-ms 100",
        bootstrap(),
        testkit::unique_topic("copier-tid"),
        testkit::unique_topic("copier-group"),
    );
    let kills: usize = std::env::var("COPIER_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("kill times seed: {seed}");
    // Per kill: whether the output grew since the last one, and whether the
    // copier was killed with a transaction open (records written, neither
    // committed nor aborted).
    let (mut progressed, mut mid_transaction) = (0, 0);
    let mut committed = 0;
    for n in 0..kills {
        let mut child = spawn_copier(&args);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Killed somewhere between its start-up and a few transactions in.
        let after = Duration::from_millis(800 + seed % 3000);
        tokio::time::sleep(after).await;
        if let Some(status) = child.try_wait().unwrap() {
            panic!("copier {n} ended by itself before its kill: {status}");
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("the killed copier's status");
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "copier {n}: {status}");
        }
        let open = transaction_open(&output, &out_info).await;
        let now = read_committed(&output, &out_info).await.len();
        println!("kill {n} after {after:?}: {now} records committed, a transaction open: {open}");
        progressed += usize::from(now > committed);
        mid_transaction += usize::from(open);
        committed = now;
    }
    // Most copiers commit before their kill, and kills land in the middle
    // of transactions (about 60 % of them, with transactions held open for
    // 100 ms): otherwise the test would prove little.
    assert!(
        progressed * 2 >= kills,
        "only {progressed} of {kills} copiers committed anything before their kill"
    );
    assert!(
        mid_transaction * 4 >= kills,
        "only {mid_transaction} of {kills} kills landed in the middle of a transaction"
    );
    // The last one runs until the input is copied and idle.
    let mut last = spawn_copier(&format!("{args} --exit-when-idle-ms 4000"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = last.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the last copier did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(status.success(), "the last copier failed: {status}");

    let keys = testkit::settled(
        || read_committed(&output, &out_info),
        Duration::from_secs(10),
    )
    .await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for k in keys {
        *counts.entry(k).or_default() += 1;
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(
        duplicated.is_empty(),
        "duplicates in the output: {duplicated:?}"
    );
    let missing: Vec<String> = (0..INPUT_RECORDS)
        .map(|i| format!("k{i}"))
        .filter(|k| !counts.contains_key(k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "input records missing from the output: {missing:?}"
    );
    assert_eq!(
        counts.len(),
        INPUT_RECORDS,
        "no record that was not in the input"
    );
}
