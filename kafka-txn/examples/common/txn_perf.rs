//! What every transactional benchmark client shares (ours in
//! `examples/txn_perf.rs`, the peers in `benches-peer`): the command line,
//! the payload, and the summary line `cargo xtask txn-perf` reads.

use std::time::Duration;

pub struct Args {
    pub topic: String,
    pub num_records: u64,
    pub record_size: usize,
    pub transaction_size: u64,
    pub props: Vec<(String, String)>,
}

fn usage(program: &str) -> ! {
    eprintln!(
        "usage: {program} --topic TOPIC --num-records N --record-size BYTES --transaction-size N \
         --producer-props k=v [k=v ...]   (transactional.id is required)"
    );
    std::process::exit(2)
}

pub fn parse_args(program: &str) -> Args {
    let mut a = Args {
        topic: String::new(),
        num_records: 0,
        record_size: 100,
        transaction_size: 1000,
        props: Vec::new(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let next = |i: usize| argv.get(i + 1).cloned().unwrap_or_else(|| usage(program));
        match argv[i].as_str() {
            "--topic" => a.topic = next(i),
            "--num-records" => a.num_records = next(i).parse().unwrap_or_else(|_| usage(program)),
            "--record-size" => a.record_size = next(i).parse().unwrap_or_else(|_| usage(program)),
            "--transaction-size" => {
                a.transaction_size = next(i).parse().unwrap_or_else(|_| usage(program))
            }
            "--producer-props" => {
                while let Some(kv) = argv.get(i + 1).filter(|s| !s.starts_with("--")) {
                    let (k, v) = kv.split_once('=').unwrap_or_else(|| usage(program));
                    a.props.push((k.into(), v.into()));
                    i += 1;
                }
                i -= 1;
            }
            _ => usage(program),
        }
        i += 2;
    }
    if a.topic.is_empty() || a.num_records == 0 || a.transaction_size == 0 {
        usage(program)
    }
    a
}

/// Random uppercase letters, as Kafka's ProducerPerformance fills its payload.
pub fn payload(size: usize) -> Vec<u8> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..size)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b'A' + (seed % 26) as u8
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

/// The summary line (the same as interop/java-txn-perf's).
pub fn print_summary(args: &Args, sent: u64, elapsed: Duration, commits_ms: &[f64]) {
    let secs = elapsed.as_secs_f64();
    let total: f64 = commits_ms.iter().sum();
    let mut sorted = commits_ms.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{sent} records sent, {:.1} records/sec ({:.2} MB/sec), {} transactions of {} records, {:.1} transactions/sec, commit latency {:.2} ms avg, {:.2} ms 50th, {:.2} ms 99th, {:.2} ms max.",
        sent as f64 / secs,
        sent as f64 * args.record_size as f64 / secs / (1024.0 * 1024.0),
        commits_ms.len(),
        args.transaction_size,
        commits_ms.len() as f64 / secs,
        total / commits_ms.len().max(1) as f64,
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.99),
        sorted.last().copied().unwrap_or(0.0),
    );
}
