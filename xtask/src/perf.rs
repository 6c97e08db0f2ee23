//! `cargo xtask perf-compare [--records N] [--record-size B] [--rounds R]
//! [--baseline PERF] [--only TEXT] [--throttle R] [--listeners L1,L2]
//! [--peers rdkafka,confluent,krafka|all] [--scale] [--data-dir DIR]`:
//! our producer (`kafka-producer`'s `perf` example, release build), Kafka's
//! own `ProducerPerformance` (kafka-tools jar) and, with `--peers`, the
//! peer crates' perf binaries of `benches-peer` (rust-rdkafka, confluent-kafka
//! for Rust, krafka: built only then, never in the default build or CI) on
//! the same local broker, same topic layout, same records (keyless, random
//! uppercase letters) and settings, alternating within each round (each
//! round starting one client later than the one before), in one session. Peers get Java's defaults spelled out (their own differ: say,
//! librdkafka's idempotence is off), mapped to their names by each binary.
//! After every run the topic's end offsets are read: a run whose records
//! did not all reach the broker is reported.
//!
//! Every run is timed by `/usr/bin/time`, so besides the summary line of
//! each client (records/s, latency) the table gives the client process's
//! CPU (user + sys) per million records and its peak RSS; per scenario it
//! prints the median of the rounds. `--baseline` adds another build of the
//! `perf` example (say, of an earlier commit) to every scenario, to check
//! that a change is not slower; `--only` keeps the scenarios whose name
//! contains TEXT. The latency scenario runs at half the records/s of the
//! slowest client of the lz4 scenario before it (or `--throttle R`); the
//! memory scenario sends 10,000,000 records once. `--listeners` runs every scenario over each of the
//! listeners `kafka up` starts (`PLAINTEXT`, the default, `SSL`,
//! `SASL_SSL`, ...): both clients get the same `client-<listener>.properties`
//! (`--producer.config`), so SASL_SSL is SCRAM-SHA-512 over TLS for both.
//!
//! `--data-dir DIR` passes the broker's logs to `kafka up --data-dir`
//! (a tmpfs such as `/dev/shm` keeps their pages from being reclaimed
//! mid-run).
//!
//! `--scale` runs the scale scenarios instead, all with Java's defaults:
//! keyed records (100,000 keys) over 6, 1,000 and 10,000 partitions and
//! over 100 topics of 60 partitions, then records of 10 B, 1 KiB, 100 KiB
//! and 1 MiB (`max.request.size` and the topic's `max.message.bytes` at 2
//! MiB for the last). There the Java client is `KeyedPerf` (Kafka's
//! ProducerPerformance has neither keys nor several topics), and each
//! scenario's topics are deleted after it. The table adds MB/s (of record
//! values) and CPU seconds per GB.

use std::collections::HashMap;
use std::process::Command;

use crate::perf_scale::Layout;
use crate::run_cmd;

/// How fast a scenario sends.
#[derive(Clone, Copy)]
enum Rate {
    /// As fast as each client can.
    Max,
    /// Half of the slowest client's records/s in the scenario named (run
    /// before it, same settings unthrottled), so every client can hold it:
    /// latency below saturation, where unthrottled latency is mostly time
    /// spent queued in buffer.memory.
    HalfOfSlowest(&'static str),
}

/// One scenario; every client gets exactly these settings.
struct Scenario {
    name: &'static str,
    rate: Rate,
    props: &'static [&'static str],
    /// Records per run, when not `--records`.
    records: Option<u64>,
    /// Rounds, when not `--rounds` (one for the long memory run).
    rounds: Option<usize>,
    /// Partitions, topics and keys.
    layout: Layout,
    /// Bytes per record, when not `--record-size`.
    record_size: Option<u64>,
    /// Configs of the scenario's topics.
    topic_configs: &'static [(&'static str, &'static str)],
    /// Run with `--scale` only (the Java client is then `KeyedPerf`).
    scale: bool,
}

/// What a scenario has unless it says otherwise.
const BASE: Scenario = Scenario {
    name: "",
    rate: Rate::Max,
    props: &[],
    records: None,
    rounds: None,
    layout: Layout::SIX,
    record_size: None,
    topic_configs: &[],
    scale: false,
};

/// Keys of the keyed scale scenarios: ten or more per partition at 10,000.
const SCALE_KEYS: u64 = 100_000;

const fn keyed(partitions: i32, topics: u32) -> Layout {
    Layout {
        partitions,
        topics,
        keys: SCALE_KEYS,
    }
}

const LZ4: &str = "acks=all, idempotent, lz4";

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "acks=1, no compression, idempotence off",
        rate: Rate::Max,
        props: &[
            "acks=1",
            "enable.idempotence=false",
            "linger.ms=5",
            "batch.size=65536",
        ],
        records: None,
        rounds: None,
        ..BASE
    },
    Scenario {
        name: "acks=all, idempotent, no compression",
        rate: Rate::Max,
        props: &["acks=all", "linger.ms=5", "batch.size=65536"],
        records: None,
        rounds: None,
        ..BASE
    },
    Scenario {
        name: LZ4,
        rate: Rate::Max,
        props: &[
            "acks=all",
            "linger.ms=5",
            "batch.size=65536",
            "compression.type=lz4",
        ],
        records: None,
        rounds: None,
        ..BASE
    },
    Scenario {
        name: "acks=all, idempotent, zstd",
        rate: Rate::Max,
        props: &[
            "acks=all",
            "linger.ms=5",
            "batch.size=65536",
            "compression.type=zstd",
        ],
        records: None,
        rounds: None,
        ..BASE
    },
    Scenario {
        name: "Java defaults (acks=all, idempotent, linger 5, 16 KiB batches)",
        rate: Rate::Max,
        props: &[],
        records: None,
        rounds: None,
        ..BASE
    },
    Scenario {
        name: "acks=all, idempotent, lz4, throttled to half the slowest client's rate (latency)",
        rate: Rate::HalfOfSlowest(LZ4),
        props: &[
            "acks=all",
            "linger.ms=5",
            "batch.size=65536",
            "compression.type=lz4",
        ],
        records: None,
        rounds: None,
        ..BASE
    },
    Scenario {
        name: "memory: 10,000,000 records, Java defaults",
        rate: Rate::Max,
        props: &[],
        records: Some(10_000_000),
        rounds: Some(1),
        ..BASE
    },
    // Java's defaults in every scale scenario, so that only the layout or
    // the record size changes.
    Scenario {
        name: "scale: keyed, 6 partitions",
        layout: keyed(6, 1),
        scale: true,
        ..BASE
    },
    Scenario {
        name: "scale: keyed, 1,000 partitions",
        layout: keyed(1_000, 1),
        scale: true,
        ..BASE
    },
    // One broker on a small machine writes a few thousand records per
    // second spread over thousands of partitions, whatever the client:
    // fewer records, one round.
    Scenario {
        name: "scale: keyed, 10,000 partitions",
        layout: keyed(10_000, 1),
        records: Some(100_000),
        rounds: Some(1),
        scale: true,
        ..BASE
    },
    Scenario {
        name: "scale: keyed, 100 topics of 60 partitions",
        layout: keyed(60, 100),
        records: Some(100_000),
        rounds: Some(1),
        scale: true,
        ..BASE
    },
    Scenario {
        name: "scale: 10-byte records",
        record_size: Some(10),
        scale: true,
        ..BASE
    },
    Scenario {
        name: "scale: 1 KiB records",
        record_size: Some(1024),
        records: Some(500_000),
        scale: true,
        ..BASE
    },
    Scenario {
        name: "scale: 100 KiB records",
        record_size: Some(100 * 1024),
        records: Some(5_000),
        topic_configs: BOUNDED,
        scale: true,
        ..BASE
    },
    Scenario {
        name: "scale: 1 MiB records",
        record_size: Some(1024 * 1024),
        records: Some(500),
        props: &["max.request.size=2097152"],
        topic_configs: &[
            ("max.message.bytes", "2097152"),
            BOUNDED[0],
            BOUNDED[1],
            BOUNDED[2],
        ],
        scale: true,
        ..BASE
    },
];

/// Topic configs of the large-record scenarios: each round writes half a
/// gigabyte or more, and a broker holding all of it (in memory on a tmpfs,
/// in page cache on disk) slowed every client run after run. Old segments
/// go within seconds (the broker checks every 5 s: `kafka up`).
const BOUNDED: &[(&str, &str)] = &[
    ("retention.bytes", "134217728"),
    ("segment.bytes", "33554432"),
    ("file.delete.delay.ms", "1000"),
];

/// Java's producer defaults, given to the peers explicitly.
const JAVA_DEFAULTS: &[&str] = &[
    "acks=all",
    "enable.idempotence=true",
    "linger.ms=5",
    "batch.size=16384",
    "buffer.memory=33554432",
    "compression.type=none",
];

/// The sum of the topic's end offsets (Kafka's GetOffsetShell).
fn end_offsets(cp: &str, bootstrap: &str, topic: &str) -> Result<i64, String> {
    let out = crate::kafka::java()
        .args([
            "-cp",
            cp,
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "org.apache.kafka.tools.GetOffsetShell",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
        ])
        .output()
        .map_err(|e| format!("GetOffsetShell: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.rsplit(':').next()?.trim().parse::<i64>().ok())
        .sum())
}

/// What one run of one client measured.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    records_per_sec: f64,
    avg_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cpu_secs: f64,
    peak_rss_mib: f64,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut records = "2000000".to_string();
    let mut size = "100".to_string();
    let mut rounds: Option<usize> = None;
    let mut baseline: Option<String> = None;
    let mut data_dir: Option<std::path::PathBuf> = None;
    let mut only: Option<String> = None;
    let mut listeners = vec!["PLAINTEXT".to_string()];
    let mut peers: Vec<String> = Vec::new();
    let mut throttle: Option<f64> = None;
    let mut scale = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--records" => records = it.next().ok_or("--records needs a number")?.clone(),
            "--record-size" => size = it.next().ok_or("--record-size needs a number")?.clone(),
            "--rounds" => {
                rounds = Some(
                    it.next()
                        .and_then(|s| s.parse().ok())
                        .filter(|n| *n > 0)
                        .ok_or("--rounds needs a positive number")?,
                )
            }
            "--data-dir" => data_dir = Some(it.next().ok_or("--data-dir needs a folder")?.into()),
            "--baseline" => baseline = Some(it.next().ok_or("--baseline needs a path")?.clone()),
            "--only" => only = Some(it.next().ok_or("--only needs a text")?.clone()),
            "--scale" => scale = true,
            "--throttle" => {
                throttle = Some(
                    it.next()
                        .and_then(|s| s.parse().ok())
                        .filter(|r: &f64| *r > 0.0)
                        .ok_or("--throttle needs records per second")?,
                )
            }
            "--listeners" => {
                listeners = it
                    .next()
                    .ok_or("--listeners needs a list such as PLAINTEXT,SASL_SSL")?
                    .split(',')
                    .map(|s| s.trim().to_ascii_uppercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "--peers" => {
                let list = it
                    .next()
                    .ok_or("--peers needs a list such as rdkafka,confluent,krafka")?;
                peers = if list == "all" {
                    vec!["rdkafka".into(), "confluent".into(), "krafka".into()]
                } else {
                    list.split(',').map(|s| s.trim().to_string()).collect()
                };
                for p in &peers {
                    if !["rdkafka", "confluent", "krafka"].contains(&p.as_str()) {
                        return Err(format!("--peers: unknown peer {p}"));
                    }
                }
            }
            other => return Err(format!("perf-compare: unknown argument {other}")),
        }
    }
    let default_records: u64 = records.parse().map_err(|_| "--records needs a number")?;
    let ours = crate::build_producer_example("perf")?;
    let mut peer_bins = Vec::new();
    for p in &peers {
        let bin = format!("{p}_perf");
        peer_bins.push((p.clone(), crate::txn_perf::build_peer(&bin, p)?));
    }
    let cluster = crate::kafka::up(&crate::kafka::UpOptions {
        data_dir,
        ..Default::default()
    })?;
    let result = (|| {
        let cp = format!("{}/*", cluster.libs.display());
        let java = crate::kafka::java_path();
        let java_keyed = if scale {
            crate::perf_scale::java_keyed_perf(&cluster.libs, &cluster.version)?
        } else {
            Vec::new()
        };
        let mut clients: Vec<(String, Vec<String>)> =
            vec![("kafka-rs".into(), vec![ours.display().to_string()])];
        if let Some(b) = &baseline {
            clients.push(("baseline".into(), vec![b.clone()]));
        }
        clients.push((
            format!("Java {}", cluster.version),
            [
                java.as_str(),
                "-Xmx1g",
                "-cp",
                &cp,
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "org.apache.kafka.tools.ProducerPerformance",
            ]
            .map(String::from)
            .to_vec(),
        ));
        for (p, bin) in &peer_bins {
            let name = match p.as_str() {
                "rdkafka" => "rust-rdkafka 0.39",
                "confluent" => "confluent-kafka 1.0",
                _ => "krafka 0.28",
            };
            clients.push((name.into(), vec![bin.display().to_string()]));
        }
        let recorded = crate::kafka::recorded().unwrap_or_default();
        let mut summary = Vec::new();
        let scenarios = SCENARIOS
            .iter()
            .enumerate()
            .flat_map(|s| listeners.iter().map(move |l| (s, l)));
        // Median records/s of every client, per (scenario, listener).
        let mut rates: HashMap<(&str, &str), Vec<f64>> = HashMap::new();
        for ((n, sc), listener) in scenarios {
            let scenario = sc.name;
            if sc.scale != scale
                || only
                    .as_ref()
                    .is_some_and(|o| !scenario.contains(o.as_str()))
            {
                continue;
            }
            let size = sc.record_size.map_or(size.clone(), |s| s.to_string());
            let throughput = match (sc.rate, throttle) {
                (Rate::Max, _) => "-1".to_string(),
                (Rate::HalfOfSlowest(_), Some(r)) => format!("{r:.0}"),
                (Rate::HalfOfSlowest(of), None) => {
                    let slowest = rates
                        .get(&(of, listener.as_str()))
                        .and_then(|r| r.iter().copied().reduce(f64::min))
                        .ok_or_else(|| {
                            format!("{scenario}: run \"{of}\" first, or give --throttle")
                        })?;
                    format!("{:.0}", slowest / 2.0)
                }
            };
            let records = sc.records.unwrap_or(default_records).to_string();
            let n_records = records.parse::<f64>().unwrap_or(1.0);
            // `--rounds` wins over a scenario's own count.
            let rounds = rounds.or(sc.rounds).unwrap_or(1);
            let name = match (listener.as_str(), sc.rate) {
                ("PLAINTEXT", Rate::Max) => scenario.to_string(),
                ("PLAINTEXT", _) => format!("{scenario}: {throughput} records/s"),
                (_, Rate::Max) => format!("{scenario}, over {listener}"),
                _ => format!("{scenario}: {throughput} records/s, over {listener}"),
            };
            let topic = format!("perf-{n}-{}", listener.to_ascii_lowercase());
            let layout = sc.layout;
            if sc.scale {
                crate::perf_scale::create_topics(
                    &cluster.bootstrap,
                    &topic,
                    layout,
                    sc.topic_configs,
                )?;
            } else {
                create_topic(&cp, &cluster.bootstrap, &topic)?;
            }
            let offsets_of = layout.pattern(&topic);
            let (bootstrap, config_file) = if listener == "PLAINTEXT" {
                (cluster.bootstrap.clone(), None)
            } else {
                let bootstrap = recorded
                    .get(&format!("KAFKA_{listener}_BOOTSTRAP"))
                    .cloned()
                    .ok_or_else(|| format!("the cluster has no {listener} listener"))?;
                let dir = recorded
                    .get("KAFKA_SECURITY_DIR")
                    .cloned()
                    .unwrap_or_default();
                let file = format!("{dir}/client-{}.properties", listener.to_ascii_lowercase());
                (bootstrap, Some(file))
            };
            let mut all_props = vec![format!("bootstrap.servers={bootstrap}")];
            all_props.extend(sc.props.iter().map(|s| s.to_string()));
            println!(
                "\n### {name} ({records} records of {size} bytes, {} topic(s) of {} partitions, {} keys, {rounds} round(s))",
                layout.topics, layout.partitions, layout.keys
            );
            let mut common: Vec<String> = Vec::new();
            if let Some(file) = &config_file {
                common.push("--producer.config".into());
                common.push(file.clone());
            }
            common.extend::<Vec<String>>(
                [
                    "--topic",
                    &topic,
                    "--num-records",
                    &records,
                    "--record-size",
                    &size,
                    "--throughput",
                    &throughput,
                    "--producer-props",
                ]
                .map(String::from)
                .to_vec(),
            );
            // Before --producer-props, which takes every argument after it.
            let at = common.len() - 1;
            common.splice(at..at, layout.args());
            let mut runs: Vec<Vec<Run>> = vec![Vec::new(); clients.len()];
            // Java's defaults spelled out for peers whose own differ; the
            // scenario's settings come after and win.
            let mut peer_props: Vec<String> = JAVA_DEFAULTS.iter().map(|s| s.to_string()).collect();
            peer_props.extend(all_props.iter().cloned());
            // A warm-up on the new topic first (not measured), so that the
            // first client of round 1 does not pay for the broker's JIT
            // and the topic's first segment.
            let mut warm_up = common.clone();
            if let Some(i) = warm_up.iter().position(|a| a == "--num-records") {
                warm_up[i + 1] = (n_records as u64 / 5).clamp(1, 200_000).to_string();
            }
            timed(&clients[0].1, &warm_up, &all_props)?;
            let mut on_broker = end_offsets(&cp, &cluster.bootstrap, &offsets_of)?;
            for round in 1..=rounds {
                // Each round starts one client later: on this machine the
                // broker's pace drifts within a scenario (the first runs on
                // a new topic of thousands of partitions are the fast
                // ones), so no client keeps the same place every round.
                let order = (0..clients.len()).map(|k| (k + round - 1) % clients.len());
                for c in order {
                    let (client, cmd) = &clients[c];
                    let is_peer = c >= clients.len() - peer_bins.len();
                    let props = if is_peer { &peer_props } else { &all_props };
                    // ProducerPerformance has no keys and one topic.
                    let cmd = if sc.scale && client.starts_with("Java") {
                        &java_keyed
                    } else {
                        cmd
                    };
                    let (line, cpu, rss) = timed(cmd, &common, props)?;
                    let now = end_offsets(&cp, &cluster.bootstrap, &offsets_of)?;
                    let written = now - on_broker;
                    on_broker = now;
                    if written as f64 != n_records {
                        println!(
                            "round {round} {client}: the broker got {written} records of {records}"
                        );
                    }
                    println!(
                        "round {round} {client}: {line}  [cpu {cpu:.2} s, peak rss {rss:.0} MiB]"
                    );
                    let mut r = parse_summary(&line).unwrap_or_default();
                    r.cpu_secs = cpu;
                    r.peak_rss_mib = rss;
                    runs[c].push(r);
                }
            }
            for (c, (client, _)) in clients.iter().enumerate() {
                let m = median_run(&runs[c], n_records);
                rates
                    .entry((scenario, listener.as_str()))
                    .or_default()
                    .push(m.records_per_sec);
                let bytes = size.parse::<f64>().unwrap_or(0.0);
                summary.push((name.to_string(), client.clone(), m, bytes));
            }
            if sc.scale {
                crate::perf_scale::delete_topics(&cluster.bootstrap, &topic, layout)?;
            }
        }
        println!(
            "\n| scenario | client | records/s | MB/s | CPU s / 1M records | CPU s / GB | latency avg / p50 / p99 / max ms | peak RSS MiB |\n|---|---|---:|---:|---:|---:|---|---:|"
        );
        for (scenario, client, m, bytes) in summary {
            // CPU per GB of record values (cpu_secs is per million records).
            let per_gb = m.cpu_secs * 1000.0 / bytes.max(1.0);
            println!(
                "| {scenario} | {client} | {:.1}k | {:.1} | {:.2} | {per_gb:.2} | {:.1} / {:.0} / {:.0} / {:.0} | {:.0} |",
                m.records_per_sec / 1000.0,
                m.records_per_sec * bytes / 1e6,
                m.cpu_secs,
                m.avg_ms,
                m.p50_ms,
                m.p99_ms,
                m.max_ms,
                m.peak_rss_mib
            );
        }
        Ok(())
    })();
    crate::kafka::down()?;
    result
}

pub(crate) fn create_topic(cp: &str, bootstrap: &str, topic: &str) -> Result<(), String> {
    run_cmd(
        crate::kafka::java()
            .args([
                "-cp",
                cp,
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "org.apache.kafka.tools.TopicCommand",
            ])
            .args([
                "--bootstrap-server",
                bootstrap,
                "--create",
                "--topic",
                topic,
                "--partitions",
                "6",
                "--replication-factor",
                "1",
            ]),
    )
}

/// Runs `cmd common props` under `/usr/bin/time`; returns the client's
/// summary line, its CPU seconds (user + sys) and its peak RSS in MiB.
pub(crate) fn timed(
    cmd: &[String],
    common: &[String],
    props: &[String],
) -> Result<(String, f64, f64), String> {
    // A client that hangs is killed after 5 minutes (and reported).
    let out = Command::new("/usr/bin/time")
        .args(["-f", "@@time %U %S %M", "timeout", "300"])
        .args(cmd)
        .args(common)
        .args(props)
        .output()
        .map_err(|e| format!("{}: {e}", cmd[0]))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (cpu, rss) = stderr
        .lines()
        .rfind(|l| l.starts_with("@@time "))
        .and_then(|l| {
            let f: Vec<f64> = l[7..].split(' ').filter_map(|x| x.parse().ok()).collect();
            (f.len() == 3).then(|| (f[0] + f[1], f[2] / 1024.0))
        })
        .ok_or_else(|| format!("{}: no timing in its output: {stderr}", cmd[0]))?;
    let mut line = last_line(&out.stdout);
    if !line.contains("records sent") {
        // Say why: the client's last words.
        let why: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("@@time ") && !l.trim().is_empty())
            .collect();
        line = format!("{line}: {}", why[why.len().saturating_sub(3)..].join(" / "));
    }
    Ok((line, cpu, rss))
}

fn last_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .rfind(|l| l.contains("records sent"))
        .unwrap_or("(no summary line)")
        .to_string()
}

/// Reads ProducerPerformance's summary line (ours prints the same).
fn parse_summary(line: &str) -> Option<Run> {
    let number_before = |unit: &str| -> Option<f64> {
        let end = line.find(unit)?;
        let start = line[..end]
            .trim_end()
            .rfind([' ', '('])
            .map_or(0, |i| i + 1);
        line[start..end].trim().parse().ok()
    };
    Some(Run {
        records_per_sec: number_before(" records/sec")?,
        avg_ms: number_before(" ms avg latency")?,
        max_ms: number_before(" ms max latency")?,
        p50_ms: number_before(" ms 50th")?,
        p99_ms: number_before(" ms 99th")?,
        ..Run::default()
    })
}

/// The median of each measure over the rounds (CPU per million records).
fn median_run(runs: &[Run], records: f64) -> Run {
    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }
    let m = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    Run {
        records_per_sec: m(|r| r.records_per_sec),
        avg_ms: m(|r| r.avg_ms),
        p50_ms: m(|r| r.p50_ms),
        p99_ms: m(|r| r.p99_ms),
        max_ms: m(|r| r.max_ms),
        cpu_secs: m(|r| r.cpu_secs) * 1_000_000.0 / records,
        peak_rss_mib: m(|r| r.peak_rss_mib),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_line() {
        let line = "2000000 records sent, 481972.9 records/sec (45.96 MB/sec), 371.48 ms avg latency, 765.00 ms max latency, 352 ms 50th, 589 ms 95th, 686 ms 99th, 743 ms 99.9th.";
        let r = parse_summary(line).unwrap();
        assert_eq!(r.records_per_sec, 481972.9);
        assert_eq!(
            (r.avg_ms, r.max_ms, r.p50_ms, r.p99_ms),
            (371.48, 765.0, 352.0, 686.0)
        );
    }
}
