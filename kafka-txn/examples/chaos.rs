//! The chaos runs behind `cargo xtask chaos`, against the 3-node cluster
//! `cargo xtask kafka up --brokers 3 --proxied` recorded under the
//! workspace's `target/kafka`:
//!
//! - `kill`: the idempotent producer (acks=all) streams keyed records to a
//!   topic of 6 partitions, replication 3, `min.insync.replicas=2`, while
//!   a random broker is SIGKILLed and restarted every few seconds;
//! - `pause`: the same through the testkit's proxies, with SIGSTOP/SIGCONT
//!   of a random broker, added latency, resets in the middle of Produce
//!   responses, resets and short blackholes;
//! - `copier`: the exactly-once copier (`copier.rs`, 30 % of its
//!   transactions aborted on purpose, restarted whenever it stops) while
//!   the transaction coordinator's broker or another is SIGKILLed.
//!
//! Each record's value names its key and per-key sequence; the log is read
//! back (read_committed for the copier's output) and counted: acknowledged,
//! failed, lost (acknowledged, absent), duplicated, out of order per key.
//! The last line, `chaos-result key=value ...`, is what xtask tabulates;
//! the exit status is 0 only with nothing lost or duplicated and per-key
//! order kept (for `copier`: the output is the input, each record once).
//!
//! ```sh
//! cargo run --release -p kafka-txn --example chaos -- kill --records 100000 --seconds 30 --seed 7
//! ```

#[path = "copier.rs"]
#[allow(dead_code)]
mod copier;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_producer::{Producer, ProducerRecord};
use kafka_protocol::generated::metadata_request::MetadataRequestTopic;
use kafka_protocol::generated::{FindCoordinatorRequest, MetadataRequest};
use kafka_protocol::messages::ApiKey;
use kafka_testkit::ledger::{self, Outcomes, Report, Status, Tracker};
use kafka_testkit::{self as testkit, ProxiedCluster};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const PARTITIONS: i32 = 6;
const REPLICATION: i16 = 3;
const KEYS: u64 = 600;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
struct Args {
    scenario: String,
    records: u64,
    seconds: u64,
    seed: u64,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        scenario: args
            .first()
            .cloned()
            .ok_or("a scenario: kill, pause or copier")?,
        records: 100_000,
        seconds: 30,
        seed: 1,
    };
    let mut it = args[1..].iter();
    while let Some(k) = it.next() {
        let v = it.next().ok_or(format!("{k} needs a value"))?;
        let n: u64 = v.parse().map_err(|e| format!("{k} {v}: {e}"))?;
        match k.as_str() {
            "--records" => a.records = n,
            "--seconds" => a.seconds = n,
            "--seed" => a.seed = n | 1,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// xorshift64: the fault schedule follows from `--seed`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

/// Faults injected, by kind.
#[derive(Debug, Default, Clone)]
struct FaultCount(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl FaultCount {
    fn add(&self, kind: &'static str) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }

    fn total(&self) -> u64 {
        self.0.lock().map(|m| m.values().sum()).unwrap_or(0)
    }

    fn detail(&self) -> String {
        self.0
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    }
}

/// Sleeps `d`, or less when `stop` is set.
async fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Acquire) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn direct_bootstrap() -> Result<String, String> {
    let bootstrap = testkit::cluster_env(ROOT)
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .ok_or("no cluster: `cargo xtask kafka up --brokers 3 --proxied`")?;
    if bootstrap.split(',').count() < 3 {
        return Err(format!(
            "chaos needs 3 brokers, the cluster has {bootstrap}"
        ));
    }
    Ok(bootstrap)
}

async fn create_topic(bootstrap: &str, prefix: &str) -> Result<String, String> {
    let admin = testkit::connect(bootstrap.split(',').next().unwrap_or_default())
        .await
        .map_err(|e| e.to_string())?;
    let topic = testkit::unique_topic(prefix);
    testkit::create_topic_with(
        &admin,
        &topic,
        PARTITIONS,
        REPLICATION,
        &[("min.insync.replicas", "2")],
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(topic)
}

/// Waits (up to a minute) until every partition of `topics` has its full
/// ISR again, so that the next kill never leaves a partition below
/// `min.insync.replicas` for long.
async fn wait_isr(bootstrap: &str, topics: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut full = false;
        for addr in bootstrap.split(',') {
            let Ok(conn) = testkit::connect(addr).await else {
                continue;
            };
            let req = MetadataRequest {
                topics: Some(
                    topics
                        .iter()
                        .map(|t| MetadataRequestTopic {
                            name: Some(t.clone().into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            };
            if let Ok(md) = conn.send(&req).await {
                full = md.topics.iter().all(|t| {
                    t.error_code == 0
                        && t.partitions
                            .iter()
                            .all(|p| p.isr_nodes.len() == REPLICATION as usize)
                });
            }
            break;
        }
        if full {
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// SIGKILLs a broker (the `victim` picks which), restarts it after a
/// moment, and waits until it serves and the ISRs are full again; until
/// `stop`.
async fn kill_loop(
    mut rng: Rng,
    stop: Arc<AtomicBool>,
    faults: FaultCount,
    bootstrap: String,
    topics: Vec<String>,
    victim: impl Fn(&mut Rng) -> std::pin::Pin<Box<dyn std::future::Future<Output = usize> + Send>>,
) {
    loop {
        sleep_unless(&stop, rng.millis(1500, 4000)).await;
        if stop.load(Ordering::Acquire) {
            return;
        }
        let brokers = testkit::brokers(ROOT);
        if brokers.len() < 3 {
            eprintln!("chaos: a broker is missing from cluster.env; no more kills");
            return;
        }
        let i = victim(&mut rng).await % brokers.len();
        let mut b = brokers[i].clone();
        b.kill();
        faults.add("sigkill");
        tokio::time::sleep(rng.millis(300, 2500)).await;
        if let Err(e) = b.restart() {
            eprintln!("chaos: cannot restart node {}: {e}", b.node);
            return;
        }
        b.wait_ready().await;
        wait_isr(&bootstrap, &topics).await;
    }
}

/// The idempotent producer streaming `records` records, spread over at
/// least `seconds`, each outcome tracked.
async fn stream(producer: &Producer, topic: &str, records: u64, seconds: u64) -> Tracker {
    let tracker = Tracker::new(DELIVERY_TIMEOUT + REQUEST_TIMEOUT);
    let started = Instant::now();
    let per_sec = records as f64 / seconds.max(1) as f64;
    for i in 0..records {
        let (key, value, partition) = ledger::key_value(i, KEYS, PARTITIONS);
        let r = ProducerRecord::new(topic)
            .partition(partition)
            .key(key)
            .value(value);
        match producer.send(r).await {
            Ok(d) => tracker.track(i, d),
            // Buffer full for max.block.ms: the record failed at send.
            Err(e) => tracker.track(i, std::future::ready(Err::<(), _>(e))),
        }
        if i % 500 == 0 {
            let due = Duration::from_secs_f64(i as f64 / per_sec);
            if let Some(ahead) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(ahead).await;
            }
        }
    }
    tracker
}

/// What one scenario found.
struct Summary {
    report: Report,
    outcomes: Outcomes,
    faults: FaultCount,
    extra: String,
    started: Instant,
}

impl Summary {
    fn clean(&self, scenario: &str) -> bool {
        let r = &self.report;
        if scenario == "copier" {
            // Output == input, each record once.
            r.lost == 0 && r.duplicated == 0 && r.foreign == 0
        } else {
            r.is_clean() && self.outcomes.pending() == 0
        }
    }

    fn print(&self, scenario: &str) -> bool {
        let r = &self.report;
        let ok = self.clean(scenario);
        println!(
            "chaos-result scenario={scenario} sent={} acked={} failed={} lost={} duplicated={} out_of_order={} failed_but_written={} late={} faults={} seconds={:.0} ok={ok} detail={}{}",
            r.sent,
            r.acked,
            r.failed,
            r.lost,
            r.duplicated,
            r.out_of_order,
            r.failed_but_written,
            self.outcomes.late.len(),
            self.faults.total(),
            self.started.elapsed().as_secs_f64(),
            self.faults.detail(),
            self.extra,
        );
        if !self.outcomes.errors.is_empty() {
            println!("errors: {:?}", self.outcomes.errors);
        }
        ok
    }
}

fn producer(bootstrap: &str) -> Result<Producer, String> {
    Producer::from_properties([
        ("bootstrap.servers", bootstrap),
        ("acks", "all"),
        ("linger.ms", "5"),
        ("compression.type", "lz4"),
        (
            "request.timeout.ms",
            &REQUEST_TIMEOUT.as_millis().to_string(),
        ),
        (
            "delivery.timeout.ms",
            &DELIVERY_TIMEOUT.as_millis().to_string(),
        ),
    ])
    .map_err(|e| e.to_string())
}

async fn kill(a: &Args) -> Result<Summary, String> {
    let started = Instant::now();
    let bootstrap = direct_bootstrap()?;
    let topic = create_topic(&bootstrap, "chaos-kill").await?;
    let p = producer(&bootstrap)?;
    let faults = FaultCount::default();
    let stop = Arc::new(AtomicBool::new(false));
    let killer = tokio::spawn(kill_loop(
        Rng(a.seed),
        stop.clone(),
        faults.clone(),
        bootstrap.clone(),
        vec![topic.clone()],
        |rng| {
            let i = rng.below(3) as usize;
            Box::pin(async move { i })
        },
    ));
    let tracker = stream(&p, &topic, a.records, a.seconds).await;
    let flushed = p.flush().await;
    stop.store(true, Ordering::Release);
    let _ = killer.await;
    let outcomes = tracker.finish(DELIVERY_TIMEOUT * 2).await;
    p.close(Duration::from_secs(30)).await;
    flushed.map_err(|e| format!("flush: {e}"))?;
    let log = ledger::read_topic(&bootstrap, &topic, PARTITIONS).await;
    let report = ledger::check(&outcomes, KEYS, &log);
    Ok(Summary {
        report,
        outcomes,
        faults,
        extra: String::new(),
        started,
    })
}

async fn pause(a: &Args) -> Result<Summary, String> {
    let started = Instant::now();
    let bootstrap = direct_bootstrap()?;
    let proxies = ProxiedCluster::start(ROOT)
        .await
        .map_err(|e| e.to_string())?;
    let topic = create_topic(&bootstrap, "chaos-pause").await?;
    let p = producer(proxies.bootstrap())?;
    let faults = FaultCount::default();
    let stop = Arc::new(AtomicBool::new(false));
    let handles = proxies.handles();
    let chaos = {
        let (stop, faults, bootstrap, topic) = (
            stop.clone(),
            faults.clone(),
            bootstrap.clone(),
            topic.clone(),
        );
        let mut rng = Rng(a.seed);
        tokio::spawn(async move {
            while !stop.load(Ordering::Acquire) {
                sleep_unless(&stop, rng.millis(1000, 3000)).await;
                if stop.load(Ordering::Acquire) {
                    break;
                }
                let node = rng.below(3) as usize;
                let proxy = &handles[node % handles.len()];
                match rng.below(5) {
                    0 => {
                        let brokers = testkit::brokers(ROOT);
                        let Some(b) = brokers.get(node) else { continue };
                        b.pause();
                        faults.add("sigstop");
                        // Below the broker session timeout (9 s) mostly, above it sometimes.
                        tokio::time::sleep(rng.millis(1000, 10_000)).await;
                        b.resume();
                        b.wait_ready().await;
                        wait_isr(&bootstrap, std::slice::from_ref(&topic)).await;
                    }
                    1 => {
                        proxy.set_latency(rng.millis(10, 120));
                        faults.add("latency");
                        tokio::time::sleep(rng.millis(1000, 4000)).await;
                        proxy.set_latency(Duration::ZERO);
                    }
                    2 => {
                        proxy.reset_mid_response(Some(ApiKey::Produce), 8 + rng.below(80) as usize);
                        faults.add("mid-frame-armed");
                    }
                    3 => {
                        proxy.blackhole(true);
                        faults.add("blackhole");
                        tokio::time::sleep(rng.millis(500, 3000)).await;
                        proxy.blackhole(false);
                    }
                    _ => {
                        proxy.reset();
                        faults.add("reset");
                    }
                }
            }
        })
    };
    let tracker = stream(&p, &topic, a.records, a.seconds).await;
    let flushed = p.flush().await;
    stop.store(true, Ordering::Release);
    let _ = chaos.await;
    let outcomes = tracker.finish(DELIVERY_TIMEOUT * 2).await;
    p.close(Duration::from_secs(30)).await;
    flushed.map_err(|e| format!("flush: {e}"))?;
    let fired: u64 = proxies
        .handles()
        .iter()
        .map(|h| h.stats().mid_frame_resets)
        .sum();
    let connections: u64 = proxies.handles().iter().map(|h| h.stats().accepted).sum();
    let log = ledger::read_topic(&bootstrap, &topic, PARTITIONS).await;
    let report = ledger::check(&outcomes, KEYS, &log);
    Ok(Summary {
        report,
        outcomes,
        faults,
        extra: format!(" mid-frame-fired={fired} proxy-connections={connections}"),
        started,
    })
}

/// The node (index into `testkit::brokers`) of the coordinator of
/// `transactional_id`, or a random node when it cannot be found.
async fn coordinator_index(bootstrap: &str, transactional_id: &str, fallback: usize) -> usize {
    for addr in bootstrap.split(',') {
        let Ok(conn) = testkit::connect(addr).await else {
            continue;
        };
        let req = FindCoordinatorRequest {
            key: transactional_id.to_string().into(),
            key_type: 1,
            ..Default::default()
        };
        if let Ok(r) = conn.send_version(&req, 3).await {
            if r.error_code == 0 {
                if let Some(i) = testkit::brokers(ROOT)
                    .iter()
                    .position(|b| b.node == r.node_id)
                {
                    return i;
                }
            }
        }
    }
    fallback
}

async fn copier_scenario(a: &Args) -> Result<Summary, String> {
    let started = Instant::now();
    let bootstrap = direct_bootstrap()?;
    let input = create_topic(&bootstrap, "chaos-in").await?;
    let output = create_topic(&bootstrap, "chaos-out").await?;
    // The input, written before any fault.
    let p = producer(&bootstrap)?;
    let tracker = stream(&p, &input, a.records, 0).await;
    p.flush()
        .await
        .map_err(|e| format!("writing the input: {e}"))?;
    let written = tracker.finish(DELIVERY_TIMEOUT).await;
    p.close(Duration::from_secs(30)).await;
    if written.acked() != a.records {
        return Err(format!("input not written: {:?}", written.errors));
    }

    let transactional_id = testkit::unique_topic("chaos-copier");
    let args = format!(
        "--bootstrap {bootstrap} --input {input} --output {output} --transactional-id {transactional_id} --group {} --transaction-size 500 --abort-percent 30 --exit-when-idle-ms 5000",
        testkit::unique_topic("chaos-group"),
    );
    let faults = FaultCount::default();
    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let (b, tid) = (bootstrap.clone(), transactional_id.clone());
        tokio::spawn(kill_loop(
            Rng(a.seed),
            stop.clone(),
            faults.clone(),
            bootstrap.clone(),
            vec![input.clone(), output.clone()],
            move |rng| {
                // Half the kills hit the transaction coordinator.
                let (b, tid, coin, other) = (b.clone(), tid.clone(), rng.below(2), rng.below(3));
                Box::pin(async move {
                    if coin == 0 {
                        coordinator_index(&b, &tid, other as usize).await
                    } else {
                        other as usize
                    }
                })
            },
        ))
    };
    let fault_deadline = Instant::now() + Duration::from_secs(a.seconds);
    let give_up = Instant::now() + Duration::from_secs(a.seconds + 1800);
    let mut runs = 0u64;
    let mut last_error = String::new();
    let (mut committed, mut aborted) = (0u64, 0u64);
    let mut idle_reruns = 0u64;
    let mut killer = Some(killer);
    // Every input record was acknowledged: the output is compared with that.
    let outcomes = Outcomes {
        status: vec![Status::Acked; a.records as usize],
        ..Outcomes::default()
    };
    let (report, committed_records) = loop {
        if Instant::now() >= fault_deadline {
            stop.store(true, Ordering::Release);
        }
        if Instant::now() >= give_up {
            stop.store(true, Ordering::Release);
            return Err(format!(
                "the copier did not finish; last error: {last_error}"
            ));
        }
        runs += 1;
        let child =
            tokio::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
                .arg("copier-child")
                .args(args.split(' '))
                .kill_on_drop(true)
                .output();
        // A copier stuck for minutes is a finding too: say so, and go on with a new one.
        let out = match tokio::time::timeout(Duration::from_secs(300), child).await {
            Ok(out) => out.map_err(|e| format!("cannot start the copier: {e}"))?,
            Err(_) => {
                last_error = "a copier run made no progress for 300 s and was killed".into();
                faults.add("copier-stuck");
                continue;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(stats) = text.lines().find_map(|l| l.strip_prefix("copier: ")) {
            let field = |name: &str| {
                stats
                    .split(name)
                    .nth(1)
                    .and_then(|s| {
                        s.trim_start_matches([':', ' '])
                            .split([',', ' ', '}'])
                            .next()
                    })
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            committed = field("committed_transactions");
            aborted = field("aborted_transactions");
        }
        if out.status.success() {
            // Idle: the copier thinks it copied everything. Faults stop;
            // the output is read once the cluster is whole again.
            stop.store(true, Ordering::Release);
            if let Some(k) = killer.take() {
                let _ = k.await;
            }
            let log = testkit::settled(
                || ledger::read_topic_isolated(&bootstrap, &output, PARTITIONS, true),
                Duration::from_secs(30),
            )
            .await;
            let report = ledger::check(&outcomes, KEYS, &log);
            // A copier whose input connection went to a moved leader reads
            // nothing and stops as idle: one more run, without faults, goes on
            // from the committed offsets.
            if report.lost == 0 || Instant::now() >= give_up {
                break (report, log.iter().map(Vec::len).sum::<usize>());
            }
            idle_reruns += 1;
            continue;
        }
        last_error = String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        faults.add("copier-restart");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Records of aborted transactions (on purpose, or after an abortable
    // error): in the log, hidden from read_committed.
    let all_records: usize = ledger::read_topic(&bootstrap, &output, PARTITIONS)
        .await
        .iter()
        .map(Vec::len)
        .sum();
    let aborted_records = all_records.saturating_sub(committed_records);
    Ok(Summary {
        report,
        outcomes,
        faults,
        extra: format!(
            " aborted-records={aborted_records} aborted-percent={:.0} copier-runs={runs} idle-reruns={idle_reruns} last-run-committed-txns={committed} last-run-aborted-txns={aborted}{}",
            100.0 * aborted_records as f64 / all_records.max(1) as f64,
            if last_error.is_empty() {
                String::new()
            } else {
                format!(" last-copier-error=\"{last_error}\"")
            }
        ),
        started,
    })
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("copier-child") {
        return copier::main_with(&argv[1..]);
    }
    let a = match parse(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("chaos: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match a.scenario.as_str() {
            "kill" => kill(&a).await,
            "pause" => pause(&a).await,
            "copier" => copier_scenario(&a).await,
            other => Err(format!("unknown scenario {other}: kill, pause or copier")),
        }
    });
    match result {
        Ok(summary) if summary.print(&a.scenario) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            println!(
                "chaos-result scenario={} ok=false error=\"{e}\"",
                a.scenario
            );
            ExitCode::FAILURE
        }
    }
}
