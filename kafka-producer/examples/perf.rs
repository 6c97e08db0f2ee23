//! A producer benchmark that takes the arguments of Kafka's
//! `kafka-producer-perf-test.sh` and prints the same summary lines.
//!
//! ```sh
//! cargo run --release -p kafka-producer --example perf -- \
//!   --topic perf --num-records 1000000 --record-size 100 --throughput -1 \
//!   --producer-props bootstrap.servers=127.0.0.1:9092 acks=1 linger.ms=5
//! ```

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_producer::{Producer, ProducerError, ProducerRecord, RecordMetadata};

struct Args {
    topic: String,
    num_records: u64,
    record_size: usize,
    throughput: f64,
    props: Vec<(String, String)>,
    /// `--print-metrics`: the producer's metrics at the end, as ProducerPerformance prints them.
    print_metrics: bool,
    /// `--keys N`: record `i` has key `key-{i % N}` (murmur2 spreads them
    /// over every partition); none by default, as ProducerPerformance.
    keys: usize,
    /// `--topics T`: record `i` goes to topic `{topic}-{i % T}`; `--topic`
    /// itself when 1 (the default).
    topics: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: perf --topic TOPIC --num-records N --record-size BYTES --throughput RECORDS_PER_SEC(-1: unlimited) \
         --producer-props k=v [k=v ...] [--producer.config FILE] [--print-metrics] [--keys N] [--topics T]"
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
        keys: 0,
        topics: 1,
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
            "--keys" => a.keys = next(i).parse().unwrap_or_else(|_| usage()),
            "--topics" => a.topics = next(i).parse().unwrap_or_else(|_| usage()),
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() * 1000 + u64::from(d.subsec_millis()))
}

/// Latency statistics, kept as ProducerPerformance keeps them: every
/// record counted, one latency in `every` kept for the percentiles (at
/// most 500,000), a window printed every 5 s. Updated from the delivery
/// callbacks under one uncontended lock (they run on the producer's I/O
/// task).
struct Stats {
    start: Instant,
    record_size: u64,
    every: u64,
    tally: Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    count: u64,
    total_latency: u64,
    max_latency: u64,
    failed: u64,
    first_error: Option<String>,
    samples: Vec<u32>,
    window_count: u64,
    window_total: u64,
    window_max: u64,
}

static STATS: OnceLock<Stats> = OnceLock::new();

fn stats() -> &'static Stats {
    STATS.get().expect("stats are set before the first send")
}

impl Stats {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The delivery callback of every record. Its latency is the time from
/// `send` to the acknowledgement, in ms, as ProducerPerformance measures it:
/// the record's create time is taken by `send` (the topic uses CreateTime).
fn on_delivery(outcome: Result<RecordMetadata, ProducerError>) {
    let s = stats();
    match outcome {
        Ok(md) => {
            let latency = now_ms().saturating_sub(md.timestamp as u64);
            let mut t = s.tally();
            if t.count % s.every == 0 {
                t.samples.push(latency.min(u64::from(u32::MAX)) as u32);
            }
            t.count += 1;
            t.total_latency += latency;
            t.max_latency = t.max_latency.max(latency);
            t.window_count += 1;
            t.window_total += latency;
            t.window_max = t.window_max.max(latency);
        }
        Err(e) => {
            let mut t = s.tally();
            t.failed += 1;
            t.first_error.get_or_insert_with(|| e.to_string());
        }
    }
}

impl Stats {
    fn new(n: u64, record_size: usize) -> Self {
        let every = (n / n.min(500_000)).max(1);
        Stats {
            start: Instant::now(),
            record_size: record_size as u64,
            every,
            tally: Mutex::new(Tally {
                samples: Vec::with_capacity((n / every + 1) as usize),
                ..Tally::default()
            }),
        }
    }

    fn print_window(&self, secs: f64) {
        let (count, total, max) = {
            let mut t = self.tally();
            let w = (t.window_count, t.window_total, t.window_max);
            (t.window_count, t.window_total, t.window_max) = (0, 0, 0);
            w
        };
        let rate = count as f64 / secs;
        println!(
            "{count} records sent, {rate:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            rate * self.record_size as f64 / (1024.0 * 1024.0),
            total as f64 / count.max(1) as f64,
            max as f64
        );
    }

    fn print_final(&self) {
        let secs = self.start.elapsed().as_secs_f64();
        let mut t = self.tally();
        let count = t.count;
        t.samples.sort_unstable();
        let samples = &t.samples;
        let pct = |p: f64| -> u32 {
            samples
                .get(((p * samples.len() as f64) as usize).min(samples.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
        };
        println!(
            "{count} records sent, {:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            count as f64 / secs,
            (count * self.record_size) as f64 / secs / (1024.0 * 1024.0),
            t.total_latency as f64 / count.max(1) as f64,
            t.max_latency as f64,
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999)
        );
        if t.failed > 0 {
            println!(
                "{} records failed; first error: {}",
                t.failed,
                t.first_error.as_deref().unwrap_or("?")
            );
        }
    }
}

/// Holds `--throughput` (records/s) as ProducerPerformance's
/// `ThroughputThrottler` does: once the rate so far (on the millisecond
/// clock read before each send) is above the target, each record adds
/// 1/target s of sleep deficit, slept off in one go once it reaches 2 ms.
struct Throttle {
    target: f64,
    start_ms: u64,
    per_record: Duration,
    deficit: Duration,
}

impl Throttle {
    /// The shortest sleep of Java's throttler.
    const MIN_SLEEP: Duration = Duration::from_millis(2);

    fn new(target: f64) -> Self {
        Throttle {
            target,
            start_ms: now_ms(),
            per_record: if target > 0.0 {
                Duration::from_secs_f64(1.0 / target)
            } else {
                Duration::ZERO
            },
            deficit: Duration::ZERO,
        }
    }

    /// How long to sleep before sending record `i` (`i` records sent so
    /// far) at `now_ms`; zero mostly.
    fn wait_before(&mut self, i: u64, now_ms: u64) -> Duration {
        if i == 0 {
            return Duration::ZERO;
        }
        let elapsed_ms = now_ms.saturating_sub(self.start_ms) as f64;
        if elapsed_ms <= 0.0 || (i as f64) / (elapsed_ms / 1000.0) <= self.target {
            return Duration::ZERO;
        }
        self.deficit += self.per_record;
        if self.deficit < Self::MIN_SLEEP {
            return Duration::ZERO;
        }
        std::mem::take(&mut self.deficit)
    }
}

#[tokio::main]
async fn main() {
    // PERF_LOG=debug (or info, ...): the producer's log on stderr.
    if let Ok(level) = std::env::var("PERF_LOG") {
        use tracing_subscriber::layer::SubscriberExt;
        let level: tracing::Level = level.parse().expect("PERF_LOG: a tracing level");
        let filter =
            tracing_subscriber::filter::Targets::new().with_target("kafka_producer", level);
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .with(filter);
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
    }
    let args = parse_args();
    let producer =
        match Producer::from_properties(args.props.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1)
            }
        };
    // Random uppercase letters, as ProducerPerformance fills its payload;
    // one buffer for the whole run, as Java reuses its byte array.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let payload: Vec<u8> = (0..args.record_size)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b'A' + (seed % 26) as u8
        })
        .collect();
    let payload = Bytes::from_static(Box::leak(payload.into_boxed_slice()));
    if STATS
        .set(Stats::new(args.num_records, args.record_size))
        .is_err()
    {
        unreachable!("stats are set once");
    }
    // A window every 5 s, as ProducerPerformance prints them.
    let window = tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        let mut last = Instant::now();
        loop {
            tick.tick().await;
            stats().print_window(last.elapsed().as_secs_f64());
            last = Instant::now();
        }
    });

    let topics: Vec<std::sync::Arc<str>> = if args.topics <= 1 {
        vec![args.topic.as_str().into()]
    } else {
        (0..args.topics)
            .map(|t| format!("{}-{t}", args.topic).into())
            .collect()
    };
    let (n, throughput, sender) = (args.num_records, args.throughput, producer.clone());
    // The send loop runs as a task of the runtime, as an application's
    // producing task would.
    // Keys made before the clock starts: no allocation per record.
    let keys: Vec<Bytes> = (0..args.keys)
        .map(|k| Bytes::from(format!("key-{k}")))
        .collect();
    let sending = tokio::spawn(async move {
        let mut throttle = (throughput > 0.0).then(|| Throttle::new(throughput));
        for i in 0..n {
            let topic = &topics[(i % topics.len() as u64) as usize];
            let mut record = ProducerRecord::new(topic).value(payload.clone());
            if !keys.is_empty() {
                record.key = Some(keys[(i % keys.len() as u64) as usize].clone());
            }
            if let Some(throttle) = throttle.as_mut() {
                // The throttle's clock reading is the record's create time,
                // as the producer would read it in `send`.
                let now = now_ms();
                let wait = throttle.wait_before(i, now);
                record.timestamp = Some(if wait.is_zero() {
                    now as i64
                } else {
                    tokio::time::sleep(wait).await;
                    now_ms() as i64
                });
            }
            if let Err(e) = sender.send_with_callback(record, on_delivery).await {
                eprintln!("send failed: {e}");
                break;
            }
        }
    });
    sending.await.expect("the send loop");
    producer.flush().await.ok();
    window.abort();
    stats().print_final();
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
