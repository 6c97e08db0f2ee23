//! What every peer producer's perf binary shares with Kafka's
//! `ProducerPerformance` (and our `perf` example): its command line, its
//! payload (random uppercase letters), its throttle, and its summary line,
//! which `cargo xtask perf-compare` reads. Beyond ProducerPerformance, as
//! our `perf` example: `--keys N` (record i keyed `key-{i % N}`, so that
//! the default partitioner spreads them over every partition) and
//! `--topics T` (record i to topic `{topic}-{i % T}`).

#![allow(dead_code)] // each binary uses what its client needs

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Args {
    pub topic: String,
    pub num_records: u64,
    pub record_size: usize,
    pub throughput: f64,
    /// Java property names and values, in command-line order.
    pub props: Vec<(String, String)>,
    /// Distinct keys (0: keyless).
    pub keys: u64,
    /// Topics (1: `--topic` itself).
    pub topics: u64,
}

impl Args {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The keys, made before the clock starts (record i gets `i % len`).
    pub fn key_list(&self) -> Vec<Vec<u8>> {
        (0..self.keys).map(|k| format!("key-{k}").into_bytes()).collect()
    }

    /// The topics (record i goes to `i % len`).
    pub fn topic_list(&self) -> Vec<String> {
        if self.topics <= 1 {
            return vec![self.topic.clone()];
        }
        (0..self.topics).map(|t| format!("{}-{t}", self.topic)).collect()
    }
}

/// Record `i`'s entry of a list made by `key_list` or `topic_list`.
pub fn nth<T>(list: &[T], i: u64) -> Option<&T> {
    (!list.is_empty()).then(|| &list[(i % list.len() as u64) as usize])
}

pub fn parse_args(name: &str) -> Args {
    let usage = || -> ! {
        eprintln!(
            "usage: {name} --topic T --num-records N --record-size B --throughput R(-1: unlimited) \
             [--keys N] [--topics T] --producer-props k=v ... [--producer.config FILE]"
        );
        std::process::exit(2)
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        topic: String::new(),
        num_records: 0,
        record_size: 100,
        throughput: -1.0,
        props: Vec::new(),
        keys: 0,
        topics: 1,
    };
    let mut i = 0;
    while i < argv.len() {
        let next = |i: usize| argv.get(i + 1).cloned().unwrap_or_else(|| usage());
        match argv[i].as_str() {
            "--topic" => a.topic = next(i),
            "--num-records" => a.num_records = next(i).parse().unwrap_or_else(|_| usage()),
            "--record-size" => a.record_size = next(i).parse().unwrap_or_else(|_| usage()),
            "--throughput" => a.throughput = next(i).parse().unwrap_or_else(|_| usage()),
            "--keys" => a.keys = next(i).parse().unwrap_or_else(|_| usage()),
            "--topics" => a.topics = next(i).parse().unwrap_or_else(|_| usage()),
            "--producer.config" => {
                let text = std::fs::read_to_string(next(i)).unwrap_or_else(|_| usage());
                for line in text.lines().map(str::trim) {
                    if line.starts_with('#') || line.is_empty() {
                        continue;
                    }
                    if let Some((k, v)) = line.split_once('=') {
                        a.props.push((k.trim().into(), v.trim().into()));
                    }
                }
            }
            "--producer-props" => {
                while let Some(kv) = argv.get(i + 1).filter(|s| !s.starts_with("--")) {
                    let (k, v) = kv.split_once('=').unwrap_or_else(|| usage());
                    a.props.push((k.into(), v.into()));
                    i += 1;
                }
                i -= 1;
            }
            _ => usage(),
        }
        i += 2;
    }
    if a.topic.is_empty() || a.num_records == 0 {
        usage()
    }
    a
}

/// ProducerPerformance's payload: random uppercase letters.
pub fn payload(size: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b'A' + (state % 26) as u8
        })
        .collect()
}

/// Holds `--throughput` (records/s) as ProducerPerformance's
/// `ThroughputThrottler` does: once the rate so far (on a millisecond
/// clock) is above the target, each record adds 1/target s of sleep
/// deficit, slept off in one go once it reaches 2 ms.
pub struct Throttle {
    target: f64,
    start: Instant,
    per_record: Duration,
    deficit: Duration,
}

/// The shortest sleep of Java's throttler.
const MIN_SLEEP: Duration = Duration::from_millis(2);

impl Throttle {
    pub fn new(target: f64) -> Self {
        Throttle {
            target,
            start: Instant::now(),
            per_record: if target > 0.0 {
                Duration::from_secs_f64(1.0 / target)
            } else {
                Duration::ZERO
            },
            deficit: Duration::ZERO,
        }
    }

    /// How long to sleep before sending record `i` (`i` records sent so
    /// far); zero mostly.
    pub fn wait_before(&mut self, i: u64) -> Duration {
        if self.target <= 0.0 || i == 0 {
            return Duration::ZERO;
        }
        let elapsed_ms = self.start.elapsed().as_millis() as f64;
        if elapsed_ms <= 0.0 || (i as f64) / (elapsed_ms / 1000.0) <= self.target {
            return Duration::ZERO;
        }
        self.deficit += self.per_record;
        if self.deficit < MIN_SLEEP {
            return Duration::ZERO;
        }
        std::mem::take(&mut self.deficit)
    }
}

/// Latencies of acknowledged records (every one counted, a sample kept for
/// the percentiles, as ProducerPerformance samples), shared with callbacks.
/// A latency is measured as ProducerPerformance measures it: the
/// difference of two millisecond clock readings (send, acknowledgement),
/// here on a monotonic clock's millisecond grid.
pub struct Stats {
    start: Instant,
    count: AtomicU64,
    errors: AtomicU64,
    sum_ms: AtomicU64,
    max_ms: AtomicU64,
    every: u64,
    samples: Mutex<Vec<u32>>,
}

impl Stats {
    pub fn new(num_records: u64) -> Self {
        Stats {
            start: Instant::now(),
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            sum_ms: AtomicU64::new(0),
            max_ms: AtomicU64::new(0),
            every: (num_records / num_records.min(500_000)).max(1),
            samples: Mutex::new(Vec::with_capacity(500_001)),
        }
    }

    /// Record `i`, sent at `sent`, was acknowledged now.
    pub fn acked(&self, i: u64, sent: Instant) {
        let now_ms = self.start.elapsed().as_millis() as u64;
        let sent_ms = sent.saturating_duration_since(self.start).as_millis() as u64;
        let ms = now_ms.saturating_sub(sent_ms);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
        self.max_ms.fetch_max(ms, Ordering::Relaxed);
        if i % self.every == 0 {
            if let Ok(mut s) = self.samples.lock() {
                s.push(ms as u32);
            }
        }
    }

    pub fn failed(&self, e: &dyn std::fmt::Display) {
        if self.errors.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("send failed: {e}");
        }
    }

    /// The summary line, as ProducerPerformance prints it.
    pub fn print_final(&self, size: usize) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let n = self.count.load(Ordering::Relaxed);
        let rate = n as f64 / elapsed;
        let mb = rate * size as f64 / (1024.0 * 1024.0);
        let avg = self.sum_ms.load(Ordering::Relaxed) as f64 / n.max(1) as f64;
        let max = self.max_ms.load(Ordering::Relaxed) as f64;
        let mut s = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        s.sort_unstable();
        let pct = |p: f64| s.get(((s.len() as f64 * p) as usize).min(s.len().saturating_sub(1))).copied().unwrap_or(0);
        println!(
            "{n} records sent, {rate:.1} records/sec ({mb:.2} MB/sec), {avg:.2} ms avg latency, {max:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999)
        );
        let errors = self.errors.load(Ordering::Relaxed);
        if errors > 0 {
            eprintln!("{errors} records failed");
        }
    }
}
