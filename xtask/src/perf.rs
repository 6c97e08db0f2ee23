//! `cargo xtask perf-compare [--records N] [--record-size B] [--baseline PERF]`:
//! our producer (`kafka-producer`'s `perf` example, release build) and
//! Kafka's own `ProducerPerformance` (kafka-tools jar) on the same local
//! broker, same topic layout and settings, one after the other, in one
//! session. Prints both summary lines per scenario, for BENCHMARKS.md.
//! `--baseline` adds another build of the `perf` example (say, of an
//! earlier commit) to every scenario, to check a change is not slower.

use std::process::Command;

use crate::run_cmd;

/// (name, target records/s (-1: as fast as possible), producer properties) of
/// each scenario; both clients get exactly these. The throttled scenario
/// compares latency below saturation: unthrottled, both fill buffer.memory and
/// latency is mostly time spent queued in it.
const SCENARIOS: &[(&str, &str, &[&str])] = &[
    (
        "acks=1, no compression, idempotence off",
        "-1",
        &[
            "acks=1",
            "enable.idempotence=false",
            "linger.ms=5",
            "batch.size=65536",
        ],
    ),
    (
        "acks=all, idempotent, no compression",
        "-1",
        &["acks=all", "linger.ms=5", "batch.size=65536"],
    ),
    (
        "acks=all, idempotent, lz4",
        "-1",
        &[
            "acks=all",
            "linger.ms=5",
            "batch.size=65536",
            "compression.type=lz4",
        ],
    ),
    (
        "acks=all, idempotent, zstd",
        "-1",
        &[
            "acks=all",
            "linger.ms=5",
            "batch.size=65536",
            "compression.type=zstd",
        ],
    ),
    (
        "Java defaults (acks=all, idempotent, linger 5, 16 KiB batches)",
        "-1",
        &[],
    ),
    (
        "acks=all, idempotent, lz4, throttled to 200k records/s (latency)",
        "200000",
        &[
            "acks=all",
            "linger.ms=5",
            "batch.size=65536",
            "compression.type=lz4",
        ],
    ),
];

pub fn run(args: &[String]) -> Result<(), String> {
    let mut records = "2000000".to_string();
    let mut size = "100".to_string();
    let mut baseline: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--records" => records = it.next().ok_or("--records needs a number")?.clone(),
            "--record-size" => size = it.next().ok_or("--record-size needs a number")?.clone(),
            "--baseline" => baseline = Some(it.next().ok_or("--baseline needs a path")?.clone()),
            other => return Err(format!("perf-compare: unknown argument {other}")),
        }
    }
    let ours = crate::build_producer_example("perf")?;
    let cluster = crate::kafka::up(&crate::kafka::UpOptions::default())?;
    let result = (|| {
        let cp = format!("{}/*", cluster.libs.display());
        for (n, (name, throughput, props)) in SCENARIOS.iter().enumerate() {
            let topic = format!("perf-{n}");
            run_cmd(
                crate::kafka::java()
                    .args([
                        "-cp",
                        &cp,
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                        "org.apache.kafka.tools.TopicCommand",
                    ])
                    .args([
                        "--bootstrap-server",
                        &cluster.bootstrap,
                        "--create",
                        "--topic",
                        &topic,
                        "--partitions",
                        "6",
                        "--replication-factor",
                        "1",
                    ]),
            )?;
            let mut all_props = vec![format!("bootstrap.servers={}", cluster.bootstrap)];
            all_props.extend(props.iter().map(|s| s.to_string()));
            println!("\n### {name} ({records} records of {size} bytes, 6 partitions)");
            let common = [
                "--topic",
                &topic,
                "--num-records",
                &records,
                "--record-size",
                &size,
                "--throughput",
                throughput,
                "--producer-props",
            ];
            print!("kafka-rs:  ");
            let out = Command::new(&ours)
                .args(common)
                .args(&all_props)
                .output()
                .map_err(|e| e.to_string())?;
            println!("{}", last_line(&out.stdout));
            if let Some(baseline) = &baseline {
                print!("baseline:  ");
                let out = Command::new(baseline)
                    .args(common)
                    .args(&all_props)
                    .output()
                    .map_err(|e| format!("{baseline}: {e}"))?;
                println!("{}", last_line(&out.stdout));
            }
            print!("Java {}:  ", cluster.version);
            let out = crate::kafka::java()
                .args([
                    "-Xmx1g",
                    "-cp",
                    &cp,
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "org.apache.kafka.tools.ProducerPerformance",
                ])
                .args(common)
                .args(&all_props)
                .output()
                .map_err(|e| e.to_string())?;
            println!("{}", last_line(&out.stdout));
        }
        Ok(())
    })();
    crate::kafka::down()?;
    result
}

fn last_line(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .rfind(|l| l.contains("records sent"))
        .unwrap_or("(no summary line)")
        .to_string()
}
