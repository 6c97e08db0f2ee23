//! A producer benchmark that takes the arguments of Kafka's
//! `kafka-producer-perf-test.sh` and prints the same summary lines.
//!
//! ```sh
//! cargo run --release -p kafka-producer --example perf -- \
//!   --topic perf --num-records 1000000 --record-size 100 --throughput -1 \
//!   --producer-props bootstrap.servers=127.0.0.1:9092 acks=1 linger.ms=5
//! ```

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use kafka_producer::{DeliveryFuture, Producer, ProducerRecord};
use tokio::sync::mpsc;

struct Args {
    topic: String,
    num_records: u64,
    record_size: usize,
    throughput: f64,
    props: Vec<(String, String)>,
    /// `--print-metrics`: the producer's metrics at the end, as ProducerPerformance prints them.
    print_metrics: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: perf --topic TOPIC --num-records N --record-size BYTES --throughput RECORDS_PER_SEC(-1: unlimited) \
         --producer-props k=v [k=v ...] [--producer.config FILE] [--print-metrics]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        topic: String::new(),
        num_records: 0,
        record_size: 100,
        throughput: -1.0,
        props: Vec::new(),
        print_metrics: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let next = |i: usize| argv.get(i + 1).cloned().unwrap_or_else(|| usage());
        match argv[i].as_str() {
            "--topic" => a.topic = next(i),
            "--num-records" => a.num_records = next(i).parse().unwrap_or_else(|_| usage()),
            "--record-size" => a.record_size = next(i).parse().unwrap_or_else(|_| usage()),
            "--throughput" => a.throughput = next(i).parse().unwrap_or_else(|_| usage()),
            "--producer.config" => {
                let text = std::fs::read_to_string(next(i)).unwrap_or_else(|e| {
                    eprintln!("cannot read producer config: {e}");
                    std::process::exit(2)
                });
                for line in text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                {
                    if let Some((k, v)) = line.split_once('=') {
                        a.props.push((k.trim().into(), v.trim().into()));
                    }
                }
            }
            "--print-metrics" => {
                a.print_metrics = true;
                i -= 1;
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

/// Latency statistics, as ProducerPerformance keeps them.
struct Stats {
    start: Instant,
    count: u64,
    bytes: u64,
    latencies: Vec<u32>,
    total_latency: u64,
    max_latency: u32,
    window_start: Instant,
    window_count: u64,
    window_bytes: u64,
    window_total: u64,
    window_max: u32,
    failed: u64,
    first_error: Option<String>,
}

impl Stats {
    fn new(n: u64) -> Self {
        let now = Instant::now();
        Stats {
            start: now,
            count: 0,
            bytes: 0,
            latencies: Vec::with_capacity(n.min(50_000_000) as usize),
            total_latency: 0,
            max_latency: 0,
            window_start: now,
            window_count: 0,
            window_bytes: 0,
            window_total: 0,
            window_max: 0,
            failed: 0,
            first_error: None,
        }
    }

    fn record(&mut self, latency_ms: u32, bytes: usize) {
        self.count += 1;
        self.bytes += bytes as u64;
        self.total_latency += u64::from(latency_ms);
        self.max_latency = self.max_latency.max(latency_ms);
        self.latencies.push(latency_ms);
        self.window_count += 1;
        self.window_bytes += bytes as u64;
        self.window_total += u64::from(latency_ms);
        self.window_max = self.window_max.max(latency_ms);
        if self.window_start.elapsed() >= Duration::from_secs(5) {
            self.print_window();
        }
    }

    fn print_window(&mut self) {
        let secs = self.window_start.elapsed().as_secs_f64();
        let rate = self.window_count as f64 / secs;
        let mb = self.window_bytes as f64 / secs / (1024.0 * 1024.0);
        if std::io::stdout().is_terminal() {
            print!("\r\x1b[2K");
        }
        println!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            self.window_count,
            rate,
            mb,
            self.window_total as f64 / self.window_count.max(1) as f64,
            f64::from(self.window_max)
        );
        self.window_start = Instant::now();
        self.window_count = 0;
        self.window_bytes = 0;
        self.window_total = 0;
        self.window_max = 0;
    }

    fn print_final(&mut self) {
        let secs = self.start.elapsed().as_secs_f64();
        self.latencies.sort_unstable();
        let pct = |p: f64| -> u32 {
            if self.latencies.is_empty() {
                0
            } else {
                self.latencies
                    [((p * self.latencies.len() as f64) as usize).min(self.latencies.len() - 1)]
            }
        };
        println!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            self.count as f64 / secs,
            self.bytes as f64 / secs / (1024.0 * 1024.0),
            self.total_latency as f64 / self.count.max(1) as f64,
            f64::from(self.max_latency),
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999)
        );
        if self.failed > 0 {
            println!(
                "{} records failed; first error: {}",
                self.failed,
                self.first_error.as_deref().unwrap_or("?")
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let producer =
        match Producer::from_properties(args.props.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1)
            }
        };
    // Random uppercase letters, as ProducerPerformance fills its payload.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let payload: Bytes = (0..args.record_size)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b'A' + (seed % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into();

    // Deliveries are awaited concurrently in one task, so each latency is
    // measured when its own record completes.
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, DeliveryFuture)>();
    let n = args.num_records;
    let size = args.record_size;
    let collector = tokio::spawn(async move {
        let mut stats = Stats::new(n);
        let mut pending = FuturesUnordered::new();
        let mut open = true;
        let progress = std::io::stdout().is_terminal();
        let mut last_bar = Instant::now();
        loop {
            tokio::select! {
                item = rx.recv(), if open => match item {
                    Some((sent, fut)) => pending.push(async move { (sent, fut.await) }),
                    None => open = false,
                },
                Some((sent, result)) = pending.next(), if !pending.is_empty() => {
                    match result {
                        Ok(_) => stats.record(sent.elapsed().as_millis() as u32, size),
                        Err(e) => {
                            stats.failed += 1;
                            stats.first_error.get_or_insert_with(|| e.to_string());
                        }
                    }
                    if progress && last_bar.elapsed() >= Duration::from_millis(200) {
                        last_bar = Instant::now();
                        let done = stats.count + stats.failed;
                        let width = 40;
                        let filled = (done * width / n.max(1)) as usize;
                        print!("\r[{}{}] {done}/{n}", "#".repeat(filled), " ".repeat(width as usize - filled));
                        let _ = std::io::stdout().flush();
                    }
                }
                else => break,
            }
        }
        if progress {
            print!("\r\x1b[2K");
        }
        stats
    });

    let topic: std::sync::Arc<str> = args.topic.as_str().into();
    let start = Instant::now();
    for i in 0..args.num_records {
        if args.throughput > 0.0 {
            // Throttle as ProducerPerformance does: never ahead of the target rate.
            let due = start + Duration::from_secs_f64(i as f64 / args.throughput);
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
        }
        let record = ProducerRecord {
            topic: topic.clone(),
            value: Some(payload.clone()),
            ..Default::default()
        };
        let sent = Instant::now();
        match producer.send(record).await {
            Ok(fut) => {
                let _ = tx.send((sent, fut));
            }
            Err(e) => {
                eprintln!("send failed: {e}");
                break;
            }
        }
    }
    drop(tx);
    producer.flush().await.ok();
    let mut stats = collector.await.expect("collector");
    stats.print_final();
    if args.print_metrics {
        print_metrics(&producer).await;
    }
    producer.close(Duration::from_secs(30)).await;
}

/// As ProducerPerformance's `--print-metrics`: `group:name:{tags}  : value`,
/// sorted, one per line.
async fn print_metrics(producer: &Producer) {
    let Ok(m) = producer.metrics().await else {
        return;
    };
    let client = &producer.config().client_id;
    let mut lines: Vec<(String, f64)> = m
        .producer
        .iter()
        .map(|(name, v)| {
            (
                format!("producer-metrics:{name}:{{client-id={client}}}"),
                *v,
            )
        })
        .collect();
    for (topic, values) in &m.topics {
        lines.extend(values.iter().map(|(name, v)| {
            (
                format!("producer-topic-metrics:{name}:{{client-id={client}, topic={topic}}}"),
                *v,
            )
        }));
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    println!();
    println!("{:<width$} : Value", "Metric Name");
    for (k, v) in lines {
        println!("{k:<width$} : {v:.3}");
    }
}
