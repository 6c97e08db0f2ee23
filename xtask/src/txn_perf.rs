//! `cargo xtask txn-perf [--sizes 10,100,1000,10000] [--rounds R] [--peers
//! confluent] [--baseline TXN_PERF] [--version V]`: transactional throughput on one local broker, for
//! transactions of each size (records of 100 bytes, lz4), ours
//! (`kafka-txn`'s `txn_perf` example) beside the Java client
//! (`interop/java-txn-perf/TxnPerf.java`, Kafka's own jars) and, with
//! `--peers confluent`, confluent-kafka for Rust 1.0 (`benches-peer`,
//! built only then); `--baseline` adds another build of the example (say,
//! of an earlier commit) to every size; `--version 3.9.1` runs against a
//! Kafka without transactions v2. The clients alternate within each round; each runs
//! under `/usr/bin/time` (client CPU, peak RSS); the table holds medians.
//!
//! Java's `ProducerPerformance --transaction-duration-ms` commits by time,
//! not by count, so the Java side is a small program with the same loop and
//! summary line as ours.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, run_cmd};

#[derive(Debug, Clone, Copy, Default)]
struct TxnRun {
    records_per_sec: f64,
    txns_per_sec: f64,
    commit_avg_ms: f64,
    commit_p50_ms: f64,
    commit_p99_ms: f64,
    cpu_secs: f64,
    peak_rss_mib: f64,
}

fn parse_line(line: &str) -> Option<TxnRun> {
    let before = |unit: &str| -> Option<f64> {
        let end = line.find(unit)?;
        let start = line[..end]
            .trim_end()
            .rfind([' ', '('])
            .map_or(0, |i| i + 1);
        line[start..end].trim().parse().ok()
    };
    Some(TxnRun {
        records_per_sec: before(" records/sec")?,
        txns_per_sec: before(" transactions/sec")?,
        commit_avg_ms: before(" ms avg")?,
        commit_p50_ms: before(" ms 50th")?,
        commit_p99_ms: before(" ms 99th")?,
        ..TxnRun::default()
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) fn build_peer(bin: &str, feature: &str) -> Result<PathBuf, String> {
    let manifest = root().join("benches-peer/Cargo.toml");
    run_cmd(Command::new("cargo").args([
        "build",
        "--release",
        "--manifest-path",
        &manifest.display().to_string(),
        "--features",
        feature,
        "--bin",
        bin,
    ]))?;
    Ok(root().join("benches-peer/target/release").join(bin))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut sizes: Vec<u64> = vec![10, 100, 1000, 10_000];
    let mut baseline: Option<String> = None;
    let mut up = crate::kafka::UpOptions::default();
    let mut rounds = 3usize;
    let mut peers: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sizes" => {
                sizes = it
                    .next()
                    .ok_or("--sizes needs a list")?
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse()
                            .map_err(|_| format!("--sizes: {s} is not a number"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--rounds" => {
                rounds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--rounds needs a positive number")?
            }
            "--peers" => {
                peers = it
                    .next()
                    .ok_or("--peers needs a list (confluent)")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--baseline" => baseline = Some(it.next().ok_or("--baseline needs a path")?.clone()),
            "--version" => up.version = it.next().ok_or("--version needs a Kafka version")?.clone(),
            other => return Err(format!("txn-perf: unknown argument {other}")),
        }
    }
    let ours = crate::build_example("kafka-txn", "txn_perf")?;
    let mut clients: Vec<(String, Vec<String>)> =
        vec![("kafka-rs".into(), vec![ours.display().to_string()])];
    if let Some(b) = baseline {
        clients.push(("baseline".into(), vec![b]));
    }
    for peer in &peers {
        match peer.as_str() {
            "confluent" => clients.push((
                "confluent-kafka 1.0".into(),
                vec![build_peer("confluent_txn_perf", "confluent")?
                    .display()
                    .to_string()],
            )),
            other => {
                return Err(format!(
                    "txn-perf: no transactional peer {other:?} (confluent)"
                ))
            }
        }
    }
    let cluster = crate::kafka::up(&up)?;
    let result = (|| {
        let cp = format!("{}/*", cluster.libs.display());
        clients.push((
            format!("Java {}", cluster.version),
            vec![
                crate::kafka::java_path(),
                "-Xmx1g".into(),
                "-cp".into(),
                cp.clone(),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn".into(),
                root()
                    .join("interop/java-txn-perf/TxnPerf.java")
                    .display()
                    .to_string(),
            ],
        ));
        let mut rows = Vec::new();
        for &size in &sizes {
            // About 200 transactions per run, at least 1,000,000 records for big ones.
            let records = (size * 200).min(1_000_000).max(size * 100);
            let topic = format!("txn-perf-{size}");
            crate::perf::create_topic(&cp, &cluster.bootstrap, &topic)?;
            println!("\n### transactions of {size} records ({records} records of 100 bytes, lz4, 6 partitions, {rounds} round(s))");
            let mut runs: Vec<Vec<TxnRun>> = vec![Vec::new(); clients.len()];
            for round in 1..=rounds {
                for (c, (name, cmd)) in clients.iter().enumerate() {
                    let common: Vec<String> = [
                        "--topic",
                        &topic,
                        "--num-records",
                        &records.to_string(),
                        "--record-size",
                        "100",
                        "--transaction-size",
                        &size.to_string(),
                        "--producer-props",
                    ]
                    .map(String::from)
                    .to_vec();
                    let props = vec![
                        format!("bootstrap.servers={}", cluster.bootstrap),
                        format!("transactional.id=txn-perf-{c}-{size}-{round}"),
                        "compression.type=lz4".to_string(),
                        "linger.ms=5".to_string(),
                        "batch.size=65536".to_string(),
                    ];
                    let (line, cpu, rss) = crate::perf::timed(cmd, &common, &props)?;
                    println!(
                        "round {round} {name}: {line}  [cpu {cpu:.2} s, peak rss {rss:.0} MiB]"
                    );
                    // A failed run is reported and left out of the medians.
                    let Some(mut r) = parse_line(&line) else {
                        continue;
                    };
                    r.cpu_secs = cpu * 1_000_000.0 / records as f64;
                    r.peak_rss_mib = rss;
                    runs[c].push(r);
                }
            }
            for (c, (name, _)) in clients.iter().enumerate() {
                let m = |f: fn(&TxnRun) -> f64| median(runs[c].iter().map(f).collect());
                rows.push((
                    size,
                    name.clone(),
                    TxnRun {
                        records_per_sec: m(|r| r.records_per_sec),
                        txns_per_sec: m(|r| r.txns_per_sec),
                        commit_avg_ms: m(|r| r.commit_avg_ms),
                        commit_p50_ms: m(|r| r.commit_p50_ms),
                        commit_p99_ms: m(|r| r.commit_p99_ms),
                        cpu_secs: m(|r| r.cpu_secs),
                        peak_rss_mib: m(|r| r.peak_rss_mib),
                    },
                ));
            }
        }
        println!(
            "\n| records per transaction | client | records/s | transactions/s | commit latency avg / p50 / p99 ms | CPU s / 1M records | peak RSS MiB |\n|---:|---|---:|---:|---|---:|---:|"
        );
        for (size, name, r) in rows {
            println!(
                "| {size} | {name} | {:.0}k | {:.1} | {:.1} / {:.1} / {:.1} | {:.2} | {:.0} |",
                r.records_per_sec / 1000.0,
                r.txns_per_sec,
                r.commit_avg_ms,
                r.commit_p50_ms,
                r.commit_p99_ms,
                r.cpu_secs,
                r.peak_rss_mib
            );
        }
        Ok(())
    })();
    crate::kafka::down()?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_line() {
        let line = "20000 records sent, 4979.2 records/sec (0.47 MB/sec), 200 transactions of 100 records, 49.8 transactions/sec, commit latency 19.54 ms avg, 19.20 ms 50th, 31.00 ms 99th, 40.10 ms max.";
        let r = parse_line(line).unwrap();
        assert_eq!(r.records_per_sec, 4979.2);
        assert_eq!(r.txns_per_sec, 49.8);
        assert_eq!(
            (r.commit_avg_ms, r.commit_p50_ms, r.commit_p99_ms),
            (19.54, 19.2, 31.0)
        );
    }
}
