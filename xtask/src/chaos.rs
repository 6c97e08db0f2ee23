//! `cargo xtask chaos [--records N] [--seconds S] [--seed X] [--short]
//! [--only kill,pause,copier]`: the producer and the exactly-once copier
//! against a 3-node cluster under faults (kafka-txn's `chaos` example, built
//! in release mode; see its docs for the three scenarios). Reuses a running
//! 3-node cluster with the `PROXIED` listener, else starts one and stops it
//! afterwards. Prints one table row per scenario and fails unless every
//! scenario lost nothing, duplicated nothing and kept per-key order (the
//! copier: output == input, each record once).
//!
//! `--short` (what `cargo xtask ci` runs): 30,000 records over 12 s of
//! faults per producer scenario, 5,000 for the copier.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use crate::kafka::{self, UpOptions};

struct Options {
    records: u64,
    copier_records: Option<u64>,
    seconds: u64,
    seed: u64,
    only: Vec<String>,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut o = Options {
        records: 1_000_000,
        copier_records: None,
        seconds: 120,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1),
        only: vec!["kill".into(), "pause".into(), "copier".into()],
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|s| s.parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match a.as_str() {
            "--records" => o.records = number("--records")?,
            "--copier-records" => o.copier_records = Some(number("--copier-records")?),
            "--seconds" => o.seconds = number("--seconds")?,
            "--seed" => o.seed = number("--seed")?,
            "--short" => {
                o.records = 30_000;
                o.copier_records = Some(5_000);
                o.seconds = 12;
            }
            "--only" => {
                o.only = it
                    .next()
                    .ok_or("--only needs kill, pause and/or copier")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            other => return Err(format!("chaos: unknown argument {other}")),
        }
    }
    // The copier is slower than the producer by far: a fifth of the records.
    let copier_records = o.copier_records.unwrap_or((o.records / 5).max(1));
    let exe = crate::build_example("kafka-txn", "chaos")?;

    let started_here = if reusable() {
        println!("chaos: reusing the running 3-node cluster");
        false
    } else {
        kafka::up(&UpOptions {
            brokers: 3,
            proxied: true,
            ..Default::default()
        })?;
        true
    };
    println!("chaos: seed {}", o.seed);
    let mut rows = Vec::new();
    for (i, scenario) in o.only.iter().enumerate() {
        let records = if scenario == "copier" {
            copier_records
        } else {
            o.records
        };
        println!(
            "==> chaos {scenario}: {records} records, {} s of faults",
            o.seconds
        );
        let out = Command::new(&exe)
            .args([
                scenario.as_str(),
                "--records",
                &records.to_string(),
                "--seconds",
                &o.seconds.to_string(),
                "--seed",
                &(o.seed + i as u64).to_string(),
            ])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        print!("{text}");
        let row: BTreeMap<String, String> = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("chaos-result "))
            .map(fields)
            .unwrap_or_else(|| {
                BTreeMap::from([
                    ("scenario".to_string(), scenario.clone()),
                    ("ok".to_string(), "false".to_string()),
                    ("error".to_string(), format!("exited with {}", out.status)),
                ])
            });
        rows.push((row, out.status.success()));
    }
    if started_here {
        kafka::down()?;
    }
    print_table(&rows);
    let failed: Vec<String> = rows
        .iter()
        .filter(|(r, ok)| !ok || r.get("ok").map(String::as_str) != Some("true"))
        .map(|(r, _)| r.get("scenario").cloned().unwrap_or_default())
        .collect();
    if failed.is_empty() {
        println!("chaos: nothing lost, nothing duplicated, per-key order kept");
        Ok(())
    } else {
        Err(format!("chaos: failed scenarios: {}", failed.join(", ")))
    }
}

/// `key=value` pairs; a value may be `"quoted with spaces"`.
fn fields(line: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = line.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let (value, next) = match after.strip_prefix('"') {
            Some(q) => q.split_once('"').unwrap_or((q, "")),
            None => after.split_once(' ').unwrap_or((after, "")),
        };
        out.insert(key.trim().to_string(), value.to_string());
        rest = next.trim_start();
    }
    out
}

fn print_table(rows: &[(BTreeMap<String, String>, bool)]) {
    let columns = [
        "scenario",
        "sent",
        "acked",
        "failed",
        "lost",
        "duplicated",
        "out_of_order",
        "failed_but_written",
        "late",
        "faults",
        "seconds",
        "ok",
    ];
    println!();
    println!("| {} |", columns.join(" | "));
    println!("|{}|", columns.map(|_| "---").join("|"));
    for (r, _) in rows {
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| r.get(*c).map(String::as_str).unwrap_or("-"))
            .collect();
        println!("| {} |", cells.join(" | "));
    }
    println!();
    for (r, _) in rows {
        let extra: Vec<String> = r
            .iter()
            .filter(|(k, _)| !columns.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "{}: {}",
            r.get("scenario").map(String::as_str).unwrap_or("?"),
            extra.join(" ")
        );
    }
}

/// A running 3-node cluster with the `PROXIED` listener, all nodes alive.
fn reusable() -> bool {
    let Some(env) = kafka::recorded() else {
        return false;
    };
    let pids: Vec<u32> = env
        .get("KAFKA_PIDS")
        .map(|p| p.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    pids.len() == 3
        && pids.iter().all(|p| kafka::is_running(*p))
        && (1..=3).all(|n| env.contains_key(&format!("KAFKA_PROXIED_{n}")))
}
