//! A deterministic simulation of a Kafka cluster driving [`ProducerCore`]
//! with a fake clock (a base `Instant` plus simulated nanoseconds; nothing
//! sleeps), as the tokio driver would: `poll_transmit` after every input,
//! `handle_timeout` when `poll_timeout` says so, freed buffer memory back to
//! blocked senders.
//!
//! - Network: one ordered connection per node id (bootstrap ids have their
//!   own), as a Kafka connection: the broker handles its requests one after
//!   the other and answers in order. Faults per request: lost (it and the
//!   requests written after it vanish until the first times out), response
//!   lost (the connection resets after the broker acted: every unanswered
//!   request on it fails when the driver notices), broker stall (handled
//!   after the producer timed out: a zombie), extra response delay
//!   (reordering across connections), a response delivered twice, refused
//!   connections while a broker is down.
//! - Cluster (`cluster.rs`): three brokers, partitions with a leader and a
//!   log, the brokers' idempotence rules; leader moves (NOT_LEADER_OR_FOLLOWER,
//!   sometimes with the KIP-951 leader), producer state expiry, broker
//!   outages with leader failover, NOT_ENOUGH_REPLICAS (nothing written),
//!   NOT_ENOUGH_REPLICAS_AFTER_APPEND (written), MESSAGE_TOO_LARGE.
//! - Application: records over time (bursts, pauses; keyed, keyless,
//!   explicit partitions, an unknown topic, a partition that does not exist),
//!   buffer memory, a flush in the middle and one at the end.
//!
//! [`World::verify`] checks every record's outcome against the logs. Every
//! seed draws its own configuration and fault rates from the seed.
//! `SIM_SEED=n` runs one seed, `SIM_SEEDS=n` changes the number of seeds,
//! `SIM_TRACE=1` prints every step of the run.

pub mod cluster;
mod hostile;
pub mod rng;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_compression::CompressionType;
use std::sync::atomic::{AtomicU32, Ordering};

use kafka_producer::core::{
    Completion, FlushId, NeedsMemory, PendingRecord, ProducerCore, Transmit, TransportFailure,
};
use kafka_producer::partitioner::{ask, partition_for_key, Partitioner};
use kafka_producer::{
    Acks, ProducerConfig, ProducerError, ProducerRecord, RecordMetadata, UserHook,
};
use kafka_protocol::generated::{
    InitProducerIdRequest, InitProducerIdResponse, MetadataRequest, MetadataResponse,
    ProduceRequest, ProduceResponse,
};
use kafka_protocol::messages::{Message, RequestKind, ResponseKind};

use cluster::{broker_addr, broker_of_addr, BatchOutcome, Cluster, ProduceFaults};
use rng::Rng;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000 * MS;
/// Wire versions the simulated network encodes and decodes messages at.
const PRODUCE_VERSION: i16 = 13;
const METADATA_VERSION: i16 = 13;
const INIT_PRODUCER_ID_VERSION: i16 = 5;
/// Create timestamps are this plus the simulated time.
const EPOCH_MS: i64 = 1_750_000_000_000;
const EXISTING_TOPICS: [&str; 2] = ["orders", "events"];
const GHOST_TOPIC: &str = "ghost";

/// What a family of seeds looks like.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    pub idempotent: bool,
    /// delivery.timeout.ms is the minimum Java allows (linger + request
    /// timeout) and faults are heavier: records do fail.
    pub tight: bool,
    pub records: (u64, u64),
    /// acks=0 (idempotence off): no responses; offsets unknown.
    pub acks_zero: bool,
    /// The application closes the producer at a random time with a random timeout.
    pub close: bool,
    /// Sequences start a few records short of 2^31-1 under every epoch, so
    /// they wrap to 0 (and back, after every epoch bump).
    pub wrap: bool,
    /// A hostile broker changes one field of some responses (see `hostile.rs`).
    pub hostile: bool,
}

impl Profile {
    pub fn idempotent() -> Self {
        Profile {
            name: "idempotent",
            idempotent: true,
            tight: false,
            records: (150, 300),
            acks_zero: false,
            close: false,
            wrap: false,
            hostile: false,
        }
    }

    pub fn idempotent_tight() -> Self {
        Profile {
            name: "idempotent-tight",
            idempotent: true,
            tight: true,
            records: (100, 200),
            acks_zero: false,
            close: false,
            wrap: false,
            hostile: false,
        }
    }

    pub fn at_least_once() -> Self {
        Profile {
            name: "at-least-once",
            idempotent: false,
            tight: false,
            records: (100, 250),
            acks_zero: false,
            close: false,
            wrap: false,
            hostile: false,
        }
    }

    /// acks=0: every record completes (written, offset -1); a record is
    /// never written twice; losses are what acks=0 allows.
    pub fn acks_zero() -> Self {
        Profile {
            name: "acks-zero",
            acks_zero: true,
            ..Profile::at_least_once()
        }
    }

    /// Idempotent, closed mid-stream with `close(timeout)`: records sent
    /// after fail as closed, every record completes by the deadline, what
    /// was acked is in the log once.
    pub fn closing() -> Self {
        Profile {
            name: "closing",
            close: true,
            ..Profile::idempotent()
        }
    }

    /// A hostile broker (one field of one response at a time), some seeds
    /// idempotent, some not, some closed mid-stream: no panic, every record
    /// completes within its bound, buffer memory comes back.
    pub fn hostile(idempotent: bool) -> Self {
        Profile {
            name: if idempotent {
                "hostile-idempotent"
            } else {
                "hostile-acks-1"
            },
            hostile: true,
            close: true,
            idempotent,
            ..Profile::idempotent()
        }
    }

    /// Idempotent, sequences wrapping from 2^31-1 to 0 under faults.
    pub fn wrapping() -> Self {
        Profile {
            name: "wrapping",
            wrap: true,
            ..Profile::idempotent()
        }
    }
}

/// Network fault rates of one seed.
#[derive(Debug, Clone)]
struct NetFaults {
    /// Base one-way latency (ns).
    latency: u64,
    drop: f64,
    lose_response: f64,
    stall: f64,
    delay: f64,
    duplicate: f64,
}

/// Everything a seed decides before the run.
#[derive(Debug, Clone)]
struct Setup {
    config: ProducerConfig,
    topics: Vec<(&'static str, usize)>,
    net: NetFaults,
    produce: ProduceFaults,
    /// Mean time between cluster events (ns); 0 = none.
    leader_move_every: u64,
    expire_every: u64,
    outage_every: u64,
    outage_len: (u64, u64),
}

#[derive(Debug, Clone)]
struct Planned {
    record: ProducerRecord,
    at: u64,
    expect: Expect,
    hooks: Hooks,
}

/// The application's code around a record, each piece of which may panic:
/// `Some(panics)`.
#[derive(Debug, Clone, Copy, Default)]
struct Hooks {
    /// A delivery callback.
    callback: Option<bool>,
    /// The partitioner chooses its partition.
    partitioner: Option<bool>,
}

/// What the application's code panics with (kept quiet in the output).
const HOOK_PANIC: &str = "sim: the application's code panics";

/// The application's partitioner: panics for a record whose value starts
/// with '!', leaves the others to the built-in choice.
#[derive(Debug)]
struct SimPartitioner;

impl Partitioner for SimPartitioner {
    fn partition(&self, _: &str, _: Option<&[u8]>, value: Option<&[u8]>, _: i32) -> Option<i32> {
        if value.is_some_and(|v| v.first() == Some(&b'!')) {
            std::panic::panic_any(HOOK_PANIC);
        }
        None
    }
}

/// Panics of the application's code are expected: the default hook's
/// message for them would drown the output.
fn quiet_hook_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&HOOK_PANIC) {
                previous(info);
            }
        }));
    });
}

/// Gives some records a callback and some the application's partitioner,
/// a share of each panicking (a stream of its own, so the rest of the plan
/// is the same with or without hooks).
fn assign_hooks(plan: &mut [Planned], rng: &mut Rng) {
    for p in plan.iter_mut() {
        if rng.chance(0.2) {
            p.hooks.callback = Some(rng.chance(0.3));
        }
        if p.expect == Expect::Deliver && p.record.partition.is_none() && rng.chance(0.1) {
            let panics = rng.chance(0.3);
            p.hooks.partitioner = Some(panics);
            if panics {
                p.expect = Expect::PartitionerPanic;
                let mut value = b"!".to_vec();
                value.extend_from_slice(p.record.value.as_deref().unwrap_or_default());
                p.record.value = Some(Bytes::from(value));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An existing topic: delivered, or (tight profile) failed with a reason.
    Deliver,
    /// A topic the cluster does not have: TopicNotFound after max.block.ms.
    TopicNotFound,
    /// An explicit partition that does not exist.
    InvalidPartition,
    /// The application's partitioner panics for it.
    PartitionerPanic,
}

#[derive(Debug, Clone)]
enum Resp {
    Metadata(MetadataResponse),
    InitProducerId(InitProducerIdResponse),
    Produce(ProduceResponse),
}

impl Resp {
    fn into_core(self) -> Option<ResponseKind> {
        Some(match self {
            Resp::Metadata(r) => ResponseKind::Metadata(r),
            Resp::InitProducerId(r) => ResponseKind::InitProducerId(r),
            Resp::Produce(r) => ResponseKind::Produce(r),
        })
    }
}

#[derive(Debug)]
enum Req {
    Metadata(MetadataRequest),
    InitProducerId(InitProducerIdRequest),
    /// The request and the version it was sent at.
    Produce(ProduceRequest, i16),
}

#[derive(Debug)]
enum Ev {
    Send(usize),
    MidFlush,
    Process {
        id: u64,
        conn: i32,
        gen: u64,
        broker: i32,
        req: Req,
        lose: bool,
        duplicate: bool,
    },
    Deliver {
        id: u64,
        result: Result<Resp, TransportFailure>,
    },
    DeliverAgain {
        id: u64,
        resp: Resp,
    },
    Timeout {
        id: u64,
    },
    NodeUp(i32, u64),
    /// A request without response (acks=0) is written.
    Written {
        id: u64,
    },
    Close,
    CloseDeadline,
    MoveLeader,
    Expire,
    Outage,
    Failover(i32),
    Recover(i32),
}

/// The driver's connection to one node id (bootstrap ids are connections of
/// their own). Like a Kafka connection it is ordered: the broker works
/// through its requests one after the other and answers them in order.
#[derive(Debug, Default)]
struct Conn {
    broker: i32,
    /// Generation of the current TCP connection.
    gen: u64,
    open: bool,
    /// A request was lost: it and every later request on this connection
    /// vanish, until the first of them times out and the connection is
    /// dropped.
    black_hole: bool,
    busy_until: u64,
    last_response: u64,
    /// The connection broke; the driver learns it at this time (until then
    /// it keeps writing requests into it).
    reset_at: Option<u64>,
}

/// A request the core sent, from the network's point of view.
#[derive(Debug)]
struct Sent {
    conn: i32,
    /// The TCP connection (generation) it was written to.
    gen: u64,
    /// The core heard of it (response, failure or timeout).
    settled: bool,
    /// Produce: the partitions in it.
    partitions: Vec<(String, i32)>,
    /// Produce: what the broker did with each batch.
    outcomes: Vec<BatchOutcome>,
}

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub records: usize,
    pub delivered: usize,
    pub failed: BTreeMap<String, usize>,
    pub requests: u64,
    pub produce_requests: u64,
    pub faults: BTreeMap<&'static str, u64>,
    pub codes: BTreeMap<i16, u64>,
    pub leader_moves: u64,
    pub expirations: u64,
    pub outages: u64,
    pub duplicates_in_log: usize,
    pub final_epoch: i16,
    pub attempts: u64,
    pub sim_time: Duration,
}

struct World {
    /// When the application called close, and its deadline (simulated ns).
    close: Option<(u64, u64)>,
    seed: u64,
    profile: Profile,
    setup: Setup,
    trace: bool,
    base: Instant,
    now: u64,
    core: ProducerCore,
    cluster: Cluster,
    net_rng: Rng,
    chaos_rng: Rng,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Ev>,
    next_event: u64,
    sent: BTreeMap<u64, Sent>,
    conns: BTreeMap<i32, Conn>,
    next_gen: u64,
    conn_produce_in_flight: HashMap<i32, usize>,
    partition_in_flight: HashMap<(String, i32), usize>,
    awaiting_process: HashMap<(String, i32), usize>,
    chaos_until: u64,
    // The application.
    plan: Vec<Planned>,
    replies: Vec<Option<kafka_producer::DeliveryFuture>>,
    results: Vec<Option<(Result<RecordMetadata, ProducerError>, u64)>>,
    enqueued_at: Vec<Option<u64>>,
    pending: Vec<usize>,
    blocked: VecDeque<usize>,
    enqueued: usize,
    /// Outcomes abandoned on this thread before the run (a record the core
    /// dropped instead of answering shows as one more).
    abandoned_at_start: u64,
    /// Per record, how often its delivery callback was called.
    callback_calls: Arc<Vec<AtomicU32>>,
    /// Per record not taken yet, the buffer memory it holds, and what more
    /// it waits for.
    held: Vec<usize>,
    wants: Vec<usize>,
    available: usize,
    flushes: Vec<(FlushId, usize)>,
    final_flush: Option<FlushId>,
    last_reply_poll: u64,
    violations: Vec<String>,
    summary: Summary,
}

/// Runs the seeds of a profile (or `SIM_SEED`) and fails with every failing
/// seed and how to replay it.
pub fn run_profile(profile: Profile, default_seeds: u64, test_name: &str) {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.trim().parse().expect("SIM_SEED must be a number")],
        Err(_) => {
            let n = std::env::var("SIM_SEEDS")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(default_seeds);
            (1..=n).collect()
        }
    };
    let single = seeds.len() == 1;
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut total = Summary::default();
    for &seed in &seeds {
        let p = profile.clone();
        let outcome = std::panic::catch_unwind(move || run_seed(p, seed));
        match outcome {
            Ok(Ok(s)) => {
                if single {
                    eprintln!("[{}] seed {seed}: {s:#?}", profile.name);
                }
                total.records += s.records;
                total.delivered += s.delivered;
                for (k, v) in s.failed {
                    *total.failed.entry(k).or_default() += v;
                }
                for (k, v) in s.faults {
                    *total.faults.entry(k).or_default() += v;
                }
                for (k, v) in s.codes {
                    *total.codes.entry(k).or_default() += v;
                }
                total.requests += s.requests;
                total.produce_requests += s.produce_requests;
                total.leader_moves += s.leader_moves;
                total.expirations += s.expirations;
                total.outages += s.outages;
                total.duplicates_in_log += s.duplicates_in_log;
                total.attempts += s.attempts;
                total.sim_time += s.sim_time;
                total.final_epoch = total.final_epoch.max(s.final_epoch);
            }
            Ok(Err(e)) => failures.push(format!("seed {seed}: {e}")),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("seed {seed}: panicked: {msg}"));
            }
        }
    }
    eprintln!(
        "[{}] {} seeds in {:.1?} (wall): {} records, {} delivered, failed {:?}; {} requests ({} produce, {} attempts); \
         faults {:?}; broker codes {:?}; {} leader moves, {} expirations, {} outages; highest epoch {}; \
         {} duplicates in logs; {:.0?} simulated",
        profile.name,
        seeds.len(),
        started.elapsed(),
        total.records,
        total.delivered,
        total.failed,
        total.requests,
        total.produce_requests,
        total.attempts,
        total.faults,
        total.codes,
        total.leader_moves,
        total.expirations,
        total.outages,
        total.final_epoch,
        total.duplicates_in_log,
        total.sim_time,
    );
    if !failures.is_empty() {
        let first: Vec<u64> = failures
            .iter()
            .filter_map(|f| f.strip_prefix("seed ")?.split(':').next()?.parse().ok())
            .collect();
        panic!(
            "{} of {} seeds failed in profile {}:\n{}\nreplay one with: SIM_SEED={} SIM_TRACE=1 cargo test -p kafka-producer --test simulation {test_name} -- --nocapture",
            failures.len(),
            seeds.len(),
            profile.name,
            failures.join("\n"),
            first.first().copied().unwrap_or(0),
        );
    }
}

/// One seed: plan, run, check.
pub fn run_seed(profile: Profile, seed: u64) -> Result<Summary, String> {
    let trace = std::env::var("SIM_TRACE").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut plan_rng = Rng::new(seed, 1);
    let setup = make_setup(&profile, &mut plan_rng);
    let mut plan = make_plan(&profile, &setup, &mut plan_rng);
    assign_hooks(&mut plan, &mut Rng::new(seed, 4));
    quiet_hook_panics();
    if trace {
        eprintln!("seed {seed} setup: {setup:#?}");
    }
    let config = Arc::new(setup.config.clone());
    let mut core =
        ProducerCore::new(config, seed).map_err(|e| format!("ProducerCore::new: {e}"))?;
    let mut chaos_rng = Rng::new(seed, 3);
    let mut cluster = Cluster::new(&setup.topics, profile.idempotent, &mut chaos_rng);
    cluster.acks_zero = profile.acks_zero;
    if profile.wrap {
        let first = i32::MAX - plan_rng.range(0, 40) as i32;
        core.start_sequences_at(first);
        cluster.first_sequence = first;
    }
    let n = plan.len();
    let available = setup.config.buffer_memory;
    let mut w = World {
        close: None,
        seed,
        profile,
        setup,
        trace,
        base: Instant::now(),
        now: 0,
        core,
        cluster,
        net_rng: Rng::new(seed, 2),
        chaos_rng,
        queue: BinaryHeap::new(),
        events: HashMap::new(),
        next_event: 0,
        sent: BTreeMap::new(),
        conns: BTreeMap::new(),
        next_gen: 0,
        conn_produce_in_flight: HashMap::new(),
        partition_in_flight: HashMap::new(),
        awaiting_process: HashMap::new(),
        chaos_until: 0,
        plan,
        replies: (0..n).map(|_| None).collect(),
        results: (0..n).map(|_| None).collect(),
        enqueued_at: vec![None; n],
        pending: Vec::new(),
        blocked: VecDeque::new(),
        enqueued: 0,
        abandoned_at_start: kafka_producer::core::abandoned_outcomes(),
        callback_calls: Arc::new((0..n).map(|_| AtomicU32::new(0)).collect()),
        held: vec![0; n],
        wants: vec![0; n],
        available,
        flushes: Vec::new(),
        final_flush: None,
        last_reply_poll: 0,
        violations: Vec::new(),
        summary: Summary {
            records: n,
            ..Default::default()
        },
    };
    w.run()?;
    w.verify()
}

fn make_setup(profile: &Profile, rng: &mut Rng) -> Setup {
    let tight = profile.tight;
    let linger = Duration::from_millis(rng.range(0, 10));
    let request_timeout = Duration::from_millis(rng.range(800, 3000));
    let delivery_timeout = if tight {
        linger + request_timeout
    } else {
        Duration::from_secs(120)
    };
    let batch_size = rng.range(1024, 4096) as usize;
    let compression = [
        CompressionType::None,
        CompressionType::None,
        CompressionType::Lz4,
        CompressionType::Snappy,
        CompressionType::Zstd,
        CompressionType::Gzip,
    ][rng.index(6)];
    let mut b = ProducerConfig::builder()
        .bootstrap_servers(broker_addr(1) + "," + &broker_addr(2) + "," + &broker_addr(3))
        .linger(linger)
        .batch_size(batch_size)
        .request_timeout(request_timeout)
        .delivery_timeout(delivery_timeout)
        .buffer_memory(rng.range(16 << 10, 256 << 10) as usize)
        .max_block(Duration::from_millis(rng.range(20_000, 30_000)))
        .compression_type(compression);
    if rng.chance(0.5) {
        b = b.metadata_max_age(Duration::from_millis(rng.range(300, 3000)));
    }
    b = if profile.acks_zero {
        b.acks(Acks::Zero)
            .enable_idempotence(false)
            .max_in_flight_requests_per_connection(rng.range(1, 5) as usize)
    } else if profile.idempotent {
        b.acks(Acks::All).max_in_flight_requests_per_connection(5)
    } else {
        b.acks(Acks::One)
            .enable_idempotence(false)
            .max_in_flight_requests_per_connection(rng.range(1, 5) as usize)
    };
    let config = b.build().expect("a valid simulation config");
    assert_eq!(config.enable_idempotence, profile.idempotent);
    // Fault intensity varies per seed: calm, normal and stormy seeds.
    let storm = if tight {
        1.5 + rng.unit() * 2.0
    } else {
        [0.0, 0.5, 1.0, 1.0, 2.0][rng.index(5)]
    };
    let net = NetFaults {
        latency: rng.range(100_000, 2 * MS),
        drop: 0.02 * storm,
        lose_response: 0.03 * storm,
        stall: 0.005 * storm,
        delay: 0.1 * storm.min(1.0),
        duplicate: 0.02 * storm,
    };
    let produce = ProduceFaults {
        not_enough_replicas: 0.02 * storm,
        after_append: 0.015 * storm,
        leader_hint: rng.unit(),
        // Sometimes below batch.size: MESSAGE_TOO_LARGE splits; always
        // above a single record's batch.
        max_message_bytes: if rng.chance(0.3) {
            rng.range(1024, 3072) as usize
        } else {
            1 << 20
        },
    };
    let every = |rng: &mut Rng, lo: u64, hi: u64| {
        if storm == 0.0 {
            0
        } else {
            (rng.range(lo, hi) as f64 / storm) as u64 * MS
        }
    };
    let leader_move_every = every(rng, 100, 600);
    let expire_every = every(rng, 100, 800);
    let outage_every = if rng.chance(0.6) {
        every(rng, 500, 3000)
    } else {
        0
    };
    let topics = vec![
        (EXISTING_TOPICS[0], rng.range(3, 8) as usize),
        (EXISTING_TOPICS[1], rng.range(1, 4) as usize),
    ];
    Setup {
        config,
        topics,
        net,
        produce,
        leader_move_every,
        expire_every,
        outage_every,
        outage_len: (50 * MS, if tight { 3 * SEC } else { 1500 * MS }),
    }
}

fn make_plan(profile: &Profile, setup: &Setup, rng: &mut Rng) -> Vec<Planned> {
    let n = rng.range(profile.records.0, profile.records.1) as usize;
    let keys = rng.range(1, 30);
    let keyed_share = rng.unit();
    let mut t = 0u64;
    let mut plan = Vec::with_capacity(n + 4);
    for i in 0..n {
        // Bursts, steady arrivals and pauses.
        let r = rng.unit();
        t += if r < 0.3 {
            0
        } else if r < 0.97 {
            (rng.exp(3.0) * MS as f64) as u64
        } else {
            rng.range(50, 500) * MS
        };
        let (topic, partitions) = setup.topics[if rng.chance(0.7) { 0 } else { 1 }];
        let mut record = ProducerRecord::new(topic);
        if rng.chance(keyed_share) {
            record = record.key(format!("key-{}", rng.range(0, keys)));
        }
        if rng.chance(0.05) {
            record = record.partition(rng.index(partitions) as i32);
        }
        let pad = rng.range(8, 400) as usize;
        let mut value = format!("r{i:06}-").into_bytes();
        value.extend((0..pad).map(|j| b'a' + ((i + j) % 26) as u8));
        if rng.chance(0.1) {
            record = record.header("i", Some(format!("{i}")));
        }
        record = record.value(value);
        plan.push(Planned {
            record,
            at: t,
            expect: Expect::Deliver,
            hooks: Hooks::default(),
        });
    }
    // A topic that does not exist, and a partition that does not exist.
    if rng.chance(0.3) {
        for _ in 0..rng.range(1, 3) {
            let at = rng.range(0, t.max(1));
            let i = plan.len();
            let record = ProducerRecord::new(GHOST_TOPIC).value(format!("r{i:06}-ghost"));
            plan.push(Planned {
                record,
                at,
                expect: Expect::TopicNotFound,
                hooks: Hooks::default(),
            });
        }
    }
    if rng.chance(0.2) {
        let at = rng.range(0, t.max(1));
        let i = plan.len();
        let record = ProducerRecord::new(EXISTING_TOPICS[0])
            .partition(99)
            .value(format!("r{i:06}-nowhere"));
        plan.push(Planned {
            record,
            at,
            expect: Expect::InvalidPartition,
            hooks: Hooks::default(),
        });
    }
    // Send order is time order; the index is the send order.
    plan.sort_by_key(|p| p.at);
    for (i, p) in plan.iter_mut().enumerate() {
        let v = p.record.value.as_ref().expect("every record has a value");
        let tail = v
            .iter()
            .position(|b| *b == b'-')
            .expect("a dash after the index");
        let mut value = format!("r{i:06}").into_bytes();
        value.extend_from_slice(&v[tail..]);
        p.record.value = Some(Bytes::from(value));
    }
    plan
}

impl World {
    fn instant(&self) -> Instant {
        self.base + Duration::from_nanos(self.now)
    }

    fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.base).as_nanos() as u64
    }

    fn schedule(&mut self, at: u64, ev: Ev) {
        let id = self.next_event;
        self.next_event += 1;
        self.queue.push(Reverse((at.max(self.now), id)));
        self.events.insert(id, ev);
    }

    fn log(&self, what: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("{:>12.3} ms  {}", self.now as f64 / MS as f64, what());
        }
    }

    fn fault(&mut self, name: &'static str) {
        *self.summary.faults.entry(name).or_default() += 1;
    }

    fn latency(&mut self) -> u64 {
        let base = self.setup.net.latency as f64;
        (base * (0.5 + self.net_rng.unit())) as u64
    }

    fn run(&mut self) -> Result<(), String> {
        for i in 0..self.plan.len() {
            let at = self.plan[i].at;
            self.schedule(at, Ev::Send(i));
        }
        let last_send = self.plan.last().map_or(0, |p| p.at);
        let mid = self.chaos_rng.range(0, last_send.max(1));
        self.schedule(mid, Ev::MidFlush);
        if self.profile.close {
            let at = self.chaos_rng.range(0, last_send.max(1) * 5 / 4);
            self.schedule(at, Ev::Close);
        }
        self.chaos_until = last_send + self.chaos_rng.range(0, 3 * SEC);
        for ev in [Ev::MoveLeader, Ev::Expire, Ev::Outage] {
            self.schedule_chaos(ev);
        }
        let c = &self.setup.config;
        let bound = last_send
            + c.max_block.as_nanos() as u64
            + c.delivery_timeout.as_nanos() as u64
            + 3 * (c.request_timeout.as_nanos() as u64 + SEC)
            + self.setup.outage_len.1
            + 30 * SEC;
        let mut timeout_handled_at: Option<u64> = None;
        let mut steps = 0u64;
        loop {
            self.pump();
            self.check_flushes();
            if self.done() {
                break;
            }
            steps += 1;
            if self.now > bound || steps > 5_000_000 {
                return Err(format!(
                    "no end: {} records outstanding at {:.3} s simulated after {steps} steps (bound {:.3} s); {} blocked",
                    self.core.outstanding(),
                    self.now as f64 / SEC as f64,
                    bound as f64 / SEC as f64,
                    self.blocked.len()
                ));
            }
            let core_at = self.core.poll_timeout().map(|t| self.ns(t));
            let core_due = match core_at {
                Some(t) if t <= self.now && timeout_handled_at == Some(self.now) => {
                    // A driver would sleep until a time that has passed and wake
                    // at once, again and again: a busy loop.
                    return Err(format!(
                        "busy loop: after handle_timeout at {:.3} ms the core asks to be woken at {:.3} ms again",
                        self.now as f64 / MS as f64,
                        t as f64 / MS as f64
                    ));
                }
                other => other.map(|t| t.max(self.now)),
            };
            let next_event = self.queue.peek().map(|Reverse((t, _))| *t);
            match (core_due, next_event) {
                (None, None) => {
                    return Err(format!(
                        "stuck: {} records outstanding at {:.3} s, nothing in the network and no timeout \
                         from the core (a driver would sleep forever)",
                        self.core.outstanding(),
                        self.now as f64 / SEC as f64,
                    ))
                }
                (Some(t), e) if e.is_none_or(|e| t <= e) => {
                    self.advance(t);
                    self.core.handle_timeout(self.instant());
                    timeout_handled_at = Some(self.now);
                }
                _ => {
                    let Reverse((t, id)) = self.queue.pop().expect("peeked");
                    self.advance(t);
                    let ev = self.events.remove(&id).expect("an event per id");
                    self.handle(ev);
                    // New input: a deadline that passed may be due again.
                    timeout_handled_at = None;
                }
            }
        }
        self.poll_replies();
        self.summary.sim_time = Duration::from_nanos(self.now);
        Ok(())
    }

    fn advance(&mut self, t: u64) {
        if t > self.now {
            if t - self.last_reply_poll >= 5 * MS {
                self.poll_replies();
                self.last_reply_poll = self.now;
            }
            self.now = t;
        }
    }

    fn done(&self) -> bool {
        self.enqueued == self.plan.len()
            && self.core.outstanding() == 0
            && self.final_flush.is_some()
            && self.flushes.is_empty()
    }

    /// What the driver does after every input: send what the core wants sent,
    /// return freed buffer memory, let blocked senders in.
    fn pump(&mut self) {
        loop {
            // As the driver: the partitioner is asked outside the core, for
            // records that waited for their topic's metadata.
            let now = self.instant();
            for record in self.core.take_awaiting_partitioner() {
                let choice = match record.needs_partitioner() {
                    true => ask(&SimPartitioner, record.record(), record.partitions()),
                    false => Ok(None),
                };
                self.core.partitioned(record, choice, now);
            }
            // As the driver: while anyone waits for memory (Java's rule),
            // or less than a batch is free.
            let pressure =
                !self.blocked.is_empty() || self.available < self.setup.config.batch_size;
            self.core.set_memory_pressure(pressure);
            while let Some(t) = self.core.poll_transmit(self.instant()) {
                self.transmit(t);
            }
            self.core
                .take_completions()
                .into_iter()
                .for_each(Completion::run);
            let released = self.core.take_released_permits();
            self.available += released;
            if self.available > self.setup.config.buffer_memory {
                self.violations.push(format!(
                    "buffer memory over-released: {} of {} available",
                    self.available, self.setup.config.buffer_memory
                ));
                self.available = self.setup.config.buffer_memory;
            }
            let mut progressed = false;
            while let Some(&i) = self.blocked.front() {
                if self.available < self.wants[i] {
                    break;
                }
                self.blocked.pop_front();
                if !self.enqueue(i) {
                    // It needs more now (its batch's buffer, say): first in line still.
                    self.blocked.push_front(i);
                    break;
                }
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }

    /// As the driver's send: offers the record to the core; when it needs
    /// buffer memory (to open a batch, or to wait for metadata), takes it
    /// from what is free and offers again. `false` when not enough is free:
    /// the record waits in line for `wants[i]` bytes.
    fn enqueue(&mut self, i: usize) -> bool {
        loop {
            let rec = self.pending_record(i);
            let now = self.instant();
            let rx = match rec {
                Err((rec, e)) => self.core.refuse(rec, e),
                Ok(rec) => match self.core.try_enqueue(rec, || now) {
                    Ok(enqueued) => enqueued,
                    Err(NeedsMemory { needed, .. }) => {
                        let extra = needed.saturating_sub(self.held[i]);
                        if self.available < extra {
                            self.wants[i] = extra;
                            return false;
                        }
                        self.available -= extra;
                        self.held[i] += extra;
                        continue;
                    }
                },
            }
            .delivery;
            self.accepted(i, rx);
            return true;
        }
    }

    /// Record `i` as the driver offers it, holding `held[i]` of buffer
    /// memory; `Err` when its partitioner failed it.
    #[allow(clippy::result_large_err)]
    fn pending_record(
        &mut self,
        i: usize,
    ) -> Result<PendingRecord, (PendingRecord, ProducerError)> {
        let p = &self.plan[i];
        let mut rec = PendingRecord::new(
            p.record.clone(),
            EPOCH_MS + (self.now / MS) as i64,
            self.held[i],
        );
        if let Some(panics) = p.hooks.callback {
            let calls = self.callback_calls.clone();
            rec.callback = Some(Box::new(move |_| {
                calls[i].fetch_add(1, Ordering::SeqCst);
                if panics {
                    std::panic::panic_any(HOOK_PANIC);
                }
            }));
        }
        // As the driver: the partitioner is asked before the append when
        // the partition count is known, else once metadata came.
        let mut refused = None;
        if p.hooks.partitioner.is_some() {
            match self.core.partition_count(&p.record.topic) {
                Some(n) => match ask(&SimPartitioner, &rec.record, n) {
                    Ok(choice) => rec.record.partition = choice,
                    Err(e) => refused = Some(e),
                },
                None => rec.awaits_partitioner = true,
            }
        }
        match refused {
            Some(e) => Err((rec, e)),
            None => Ok(rec),
        }
    }

    /// Record `i` was taken.
    fn accepted(&mut self, i: usize, rx: kafka_producer::DeliveryFuture) {
        self.log(|| format!("app: enqueue record {i} ({})", self.plan[i].record.topic));
        self.held[i] = 0;
        self.replies[i] = Some(rx);
        self.enqueued_at[i] = Some(self.now);
        self.pending.push(i);
        self.enqueued += 1;
        if self.enqueued == self.plan.len() {
            let id = self.core.begin_flush();
            self.log(|| format!("app: final flush {id:?}"));
            self.flushes.push((id, self.enqueued));
            self.final_flush = Some(id);
        }
    }

    fn poll_replies(&mut self) {
        let now = self.now;
        let mut still = Vec::with_capacity(self.pending.len());
        for i in std::mem::take(&mut self.pending) {
            let rx = self.replies[i]
                .as_mut()
                .expect("a receiver for an enqueued record");
            match rx.try_recv() {
                Ok(r) => {
                    self.results[i] = Some((r, now));
                    self.replies[i] = None;
                }
                Err(kafka_producer::TryRecvError::Empty) => still.push(i),
            }
        }
        self.pending = still;
        let abandoned = kafka_producer::core::abandoned_outcomes();
        if abandoned != self.abandoned_at_start {
            self.violations.push(format!(
                "{} outcomes dropped without an answer",
                abandoned - self.abandoned_at_start
            ));
            self.abandoned_at_start = abandoned;
        }
    }

    fn check_flushes(&mut self) {
        if self.flushes.iter().all(|(id, _)| !self.core.flushed(*id)) {
            return;
        }
        self.poll_replies();
        let mut open = Vec::new();
        for (id, before) in std::mem::take(&mut self.flushes) {
            if !self.core.flushed(id) {
                open.push((id, before));
                continue;
            }
            self.log(|| format!("app: flush {id:?} done"));
            if let Some(i) =
                (0..before).find(|i| self.enqueued_at[*i].is_some() && self.results[*i].is_none())
            {
                self.violations.push(format!(
                    "flush {id:?} complete while record {i} (enqueued before it) is not"
                ));
            }
        }
        self.flushes = open;
    }

    fn schedule_chaos(&mut self, ev: Ev) {
        let mean = match ev {
            Ev::MoveLeader => self.setup.leader_move_every,
            Ev::Expire => self.setup.expire_every,
            Ev::Outage => self.setup.outage_every,
            _ => unreachable!("not a chaos event"),
        };
        if mean == 0 {
            return;
        }
        let at = self.now + self.chaos_rng.exp(mean as f64) as u64;
        if at <= self.chaos_until {
            self.schedule(at, ev);
        }
    }

    // ------------------------------------------------------------ network

    fn transmit(&mut self, t: Transmit) {
        self.summary.requests += 1;
        let Transmit {
            request_id: id,
            node,
            request,
            max_version,
            ..
        } = t;
        let req = match request {
            RequestKind::Metadata(r) => Req::Metadata(wire(&r, METADATA_VERSION)),
            RequestKind::InitProducerId(r) => {
                Req::InitProducerId(wire(&r, INIT_PRODUCER_ID_VERSION))
            }
            RequestKind::Produce(r) => {
                // A 4.4 broker: v13, unless the producer capped the request
                // (a topic without a known id goes by name, v12).
                let v = max_version.map_or(PRODUCE_VERSION, |m| m.min(PRODUCE_VERSION));
                let mut r = wire(&r, v);
                // The broker knows each id's name; the bookkeeping here goes by
                // name (an id no topic has stays nameless: UNKNOWN_TOPIC_ID).
                for td in r.topic_data.iter_mut().filter(|td| td.name.is_empty()) {
                    if let Some(t) = self.cluster.topics.iter().find(|t| t.id == td.topic_id) {
                        td.name = kafka_protocol::primitives::StrBytes::from_string(t.name.clone());
                    }
                }
                Req::Produce(r, v)
            }
            other => {
                self.violations
                    .push(format!("request {id}: unexpected {:?}", other.api_key()));
                return;
            }
        };
        let Some(broker) = broker_of_addr(&node.addr) else {
            if self.profile.hostile {
                // An address a hostile broker made up: nobody listens there.
                let f = TransportFailure {
                    message: format!("connect to {} refused", node.addr),
                    connect_failed: true,
                    authentication: false,
                };
                self.sent.insert(
                    id,
                    Sent {
                        conn: node.id,
                        gen: 0,
                        settled: false,
                        partitions: Vec::new(),
                        outcomes: Vec::new(),
                    },
                );
                let at = self.now + MS;
                self.schedule(at, Ev::Deliver { id, result: Err(f) });
                return;
            }
            self.violations
                .push(format!("request {id} to unknown address {}", node.addr));
            return;
        };
        if node.id >= 0 && node.id != broker && !self.profile.hostile {
            self.violations.push(format!(
                "node {} has address {} of broker {broker}",
                node.id, node.addr
            ));
        }
        let conn = node.id;
        let mut partitions = Vec::new();
        if let Req::Produce(r, _) = &req {
            self.summary.produce_requests += 1;
            for td in &r.topic_data {
                for pd in &td.partition_data {
                    partitions.push((td.name.as_str().to_string(), pd.index));
                }
            }
            let n = self.conn_produce_in_flight.entry(conn).or_default();
            *n += 1;
            let n = *n;
            let max = self.setup.config.max_in_flight_requests_per_connection;
            if n > max {
                self.violations.push(format!(
                    "{n} Produce requests in flight to node {conn} (max.in.flight {max})"
                ));
            }
            for key in &partitions {
                let n = self.partition_in_flight.entry(key.clone()).or_default();
                *n += 1;
                if self.profile.idempotent && *n > 5 {
                    let n = *n;
                    self.violations.push(format!(
                        "{n} batches of {}-{} in flight (at most 5 with idempotence)",
                        key.0, key.1
                    ));
                }
            }
        }
        self.log(|| {
            format!(
                "send {id} to node {conn} ({}): {}",
                node.addr,
                describe(&req)
            )
        });
        let alive = self.cluster.alive[&broker];
        let c = self.conns.entry(conn).or_default();
        c.broker = broker;
        if c.reset_at.is_some_and(|r| self.now >= r) {
            c.open = false;
        }
        if let (true, Some(reset_at)) = (c.open, c.reset_at) {
            // The connection broke but the driver does not know yet: the
            // request is written into it and fails with the others.
            let gen = c.gen;
            self.sent.insert(
                id,
                Sent {
                    conn,
                    gen,
                    settled: false,
                    partitions,
                    outcomes: Vec::new(),
                },
            );
            self.fault("request on a broken connection");
            let f = TransportFailure {
                message: "connection reset".into(),
                connect_failed: false,
                authentication: false,
            };
            self.schedule(reset_at, Ev::Deliver { id, result: Err(f) });
            return;
        }
        if !alive {
            c.open = false;
            self.sent.insert(
                id,
                Sent {
                    conn,
                    gen: 0,
                    settled: false,
                    partitions,
                    outcomes: Vec::new(),
                },
            );
            self.fault("connect refused");
            let at = self.now + self.net_rng.range(200_000, 5 * MS);
            let f = TransportFailure {
                message: format!("connect to {} refused", node.addr),
                connect_failed: true,
                authentication: false,
            };
            self.schedule(at, Ev::Deliver { id, result: Err(f) });
            return;
        }
        if !c.open {
            self.next_gen += 1;
            *c = Conn {
                broker,
                gen: self.next_gen,
                open: true,
                ..Conn::default()
            };
            let gen = c.gen;
            let at = self.now + self.latency() / 2;
            self.schedule(at, Ev::NodeUp(conn, gen));
        }
        let c = &self.conns[&conn];
        let (gen, black_hole, busy_until) = (c.gen, c.black_hole, c.busy_until);
        self.sent.insert(
            id,
            Sent {
                conn,
                gen,
                settled: false,
                partitions: partitions.clone(),
                outcomes: Vec::new(),
            },
        );
        // The connection's own request timeout (the driver's is request.timeout.ms + 1 s).
        let timeout = self.setup.config.request_timeout.as_nanos() as u64 + SEC;
        self.schedule(self.now + timeout, Ev::Timeout { id });
        if matches!(&req, Req::Produce(r, _) if r.acks == 0) {
            // No response: the driver reports it once it is in the socket,
            // whatever becomes of it.
            let at = self.now + self.latency() / 4;
            self.schedule(at, Ev::Written { id });
        }
        if black_hole {
            self.fault("request lost behind a lost one");
            return;
        }
        if self.net_rng.chance(self.setup.net.drop) {
            self.fault("request lost");
            self.conns.get_mut(&conn).expect("just opened").black_hole = true;
            return;
        }
        let mut at = (self.now + self.latency()).max(busy_until);
        if self.net_rng.chance(self.setup.net.stall) {
            self.fault("broker stall");
            at += (timeout as f64 * (0.3 + 1.2 * self.net_rng.unit())) as u64;
        }
        self.conns.get_mut(&conn).expect("just opened").busy_until = at;
        let lose = self.net_rng.chance(self.setup.net.lose_response);
        let duplicate = self.net_rng.chance(self.setup.net.duplicate);
        if matches!(req, Req::Produce(..)) {
            for key in partitions {
                *self.awaiting_process.entry(key).or_default() += 1;
            }
        }
        self.schedule(
            at,
            Ev::Process {
                id,
                conn,
                gen,
                broker,
                req,
                lose,
                duplicate,
            },
        );
    }

    fn settle(&mut self, id: u64) -> bool {
        let Some(s) = self.sent.get_mut(&id) else {
            return false;
        };
        if s.settled {
            return false;
        }
        s.settled = true;
        if !s.partitions.is_empty() {
            if let Some(n) = self.conn_produce_in_flight.get_mut(&s.conn) {
                *n -= 1;
            }
            for key in &s.partitions {
                if let Some(n) = self.partition_in_flight.get_mut(key) {
                    *n -= 1;
                }
            }
        }
        true
    }

    /// The connection breaks: every request on it not answered yet fails at `at`.
    fn reset_conn(&mut self, conn: i32, at: u64, why: &str) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.open || c.reset_at.is_some() {
            return;
        }
        c.reset_at = Some(at);
        let gen = c.gen;
        let victims: Vec<u64> = self
            .sent
            .iter()
            .filter(|(_, s)| !s.settled && s.conn == conn && s.gen == gen)
            .map(|(id, _)| *id)
            .collect();
        self.log(|| format!("connection to node {conn} reset ({why}): fails {victims:?}"));
        for id in victims {
            let f = TransportFailure {
                message: format!("connection reset: {why}"),
                connect_failed: false,
                authentication: false,
            };
            self.schedule(at, Ev::Deliver { id, result: Err(f) });
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Send(i) => {
                if !self.blocked.is_empty() || !self.enqueue(i) {
                    self.log(|| format!("app: record {i} waits for buffer memory"));
                    self.blocked.push_back(i);
                }
            }
            Ev::MidFlush => {
                let id = self.core.begin_flush();
                self.log(|| format!("app: flush {id:?} of {} records", self.enqueued));
                self.flushes.push((id, self.enqueued));
            }
            Ev::Process {
                id,
                conn,
                gen,
                broker,
                req,
                lose,
                duplicate,
            } => self.process(id, conn, gen, broker, req, lose, duplicate),
            Ev::Deliver { id, result } => {
                if !self.settle(id) {
                    // Timed out or failed already: the connection dropped the late response.
                    self.log(|| format!("late response to {id} dropped"));
                    return;
                }
                if let Ok(Resp::Produce(r)) = &result {
                    self.resolve(id, r);
                }
                self.log(|| format!("deliver {id}: {}", describe_result(&result)));
                let result = result.map(Resp::into_core);
                self.core.handle_response(id, result, self.instant());
            }
            Ev::DeliverAgain { id, resp } => {
                self.log(|| format!("deliver {id} again: {}", describe_result(&Ok(resp.clone()))));
                self.core
                    .handle_response(id, Ok(resp.into_core()), self.instant());
            }
            Ev::Timeout { id } => {
                if self.settle(id) {
                    self.log(|| format!("request {id} timed out"));
                    let f = TransportFailure {
                        message: "request timed out".into(),
                        connect_failed: false,
                        authentication: false,
                    };
                    self.core.handle_response(id, Err(f), self.instant());
                    // A connection that swallows requests is given up at its first timeout.
                    let (conn, gen) = (self.sent[&id].conn, self.sent[&id].gen);
                    if self
                        .conns
                        .get(&conn)
                        .is_some_and(|c| c.open && c.gen == gen && c.black_hole)
                    {
                        self.reset_conn(conn, self.now, "requests vanished");
                    }
                }
            }
            Ev::Written { id } => {
                if self.settle(id) {
                    self.log(|| format!("request {id} written (no response)"));
                    self.core.handle_response(id, Ok(None), self.instant());
                }
            }
            Ev::Close => {
                let timeout = self.chaos_rng.range(0, 3 * SEC);
                self.log(|| format!("app: close({} ms)", timeout / MS));
                self.core.begin_close(self.instant());
                self.close = Some((self.now, self.now + timeout));
                self.schedule(self.now + timeout, Ev::CloseDeadline);
            }
            Ev::CloseDeadline => {
                // As the driver: what is left at the deadline fails as closed.
                if self.core.outstanding() > 0 {
                    self.log(|| {
                        format!(
                            "app: close deadline, {} records left",
                            self.core.outstanding()
                        )
                    });
                    self.core.abort_all(ProducerError::Closed);
                }
                self.poll_replies();
            }
            Ev::NodeUp(conn, gen) => {
                if self
                    .conns
                    .get(&conn)
                    .is_some_and(|c| c.open && c.gen == gen)
                {
                    self.core.handle_connected(conn);
                }
            }
            Ev::MoveLeader => {
                let t = self.chaos_rng.index(self.cluster.topics.len());
                let p = self
                    .chaos_rng
                    .index(self.cluster.topics[t].partitions.len());
                self.cluster.move_leader(t, p, &mut self.chaos_rng);
                let part = &self.cluster.topics[t].partitions[p];
                self.log(|| {
                    format!(
                        "chaos: leader of {}-{p} is now {}",
                        self.cluster.topics[t].name, part.leader
                    )
                });
                self.schedule_chaos(Ev::MoveLeader);
            }
            Ev::Expire => {
                let t = self.chaos_rng.index(self.cluster.topics.len());
                let p = self
                    .chaos_rng
                    .index(self.cluster.topics[t].partitions.len());
                let key = (self.cluster.topics[t].name.clone(), p as i32);
                let quiet = self.cluster.topics[t].partitions[p].unresolved.is_empty()
                    && self.awaiting_process.get(&key).copied().unwrap_or(0) == 0;
                if quiet && self.cluster.expire_producers(t, p) {
                    self.log(|| format!("chaos: producer state of {}-{} expired", key.0, key.1));
                }
                self.schedule_chaos(Ev::Expire);
            }
            Ev::Outage => {
                let live = self.cluster.live_brokers();
                if live.len() > 1 {
                    let b = live[self.chaos_rng.index(live.len())];
                    self.cluster.alive.insert(b, false);
                    self.cluster.stats.outages += 1;
                    let (lo, hi) = self.setup.outage_len;
                    let len = self.chaos_rng.range(lo, hi);
                    let failover = self.chaos_rng.range(10 * MS, 300 * MS);
                    self.log(|| format!("chaos: broker {b} down for {} ms", len / MS));
                    let conns: Vec<i32> = self
                        .conns
                        .iter()
                        .filter(|(_, c)| c.broker == b)
                        .map(|(k, _)| *k)
                        .collect();
                    for c in conns {
                        let at = self.now + self.latency();
                        self.reset_conn(c, at, "broker down");
                    }
                    self.schedule(self.now + failover, Ev::Failover(b));
                    self.schedule(self.now + len, Ev::Recover(b));
                }
                self.schedule_chaos(Ev::Outage);
            }
            Ev::Failover(b) => {
                if !self.cluster.alive[&b] {
                    self.log(|| format!("chaos: leaders move off broker {b}"));
                    self.cluster.failover(b, &mut self.chaos_rng);
                }
            }
            Ev::Recover(b) => {
                self.log(|| format!("chaos: broker {b} is back"));
                self.cluster.alive.insert(b, true);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn process(
        &mut self,
        id: u64,
        conn: i32,
        gen: u64,
        broker: i32,
        req: Req,
        lose: bool,
        duplicate: bool,
    ) {
        if let Req::Produce(r, _) = &req {
            for td in &r.topic_data {
                for pd in &td.partition_data {
                    if let Some(n) = self
                        .awaiting_process
                        .get_mut(&(td.name.as_str().to_string(), pd.index))
                    {
                        *n -= 1;
                    }
                }
            }
        }
        if !self
            .conns
            .get(&conn)
            .is_some_and(|c| c.open && c.gen == gen && c.reset_at.is_none())
        {
            // The connection broke before the broker read the request.
            self.log(|| format!("request {id} never reached broker {broker}"));
            return;
        }
        let resp = match req {
            Req::Metadata(r) => Resp::Metadata(wire(&self.cluster.metadata(&r), METADATA_VERSION)),
            Req::InitProducerId(r) => Resp::InitProducerId(wire(
                &self.cluster.init_producer_id(&r),
                INIT_PRODUCER_ID_VERSION,
            )),
            Req::Produce(r, version) => {
                let (resp, outcomes) =
                    self.cluster
                        .produce(broker, &r, &self.setup.produce, &mut self.net_rng);
                self.log(|| format!("broker {broker} handles {id}: {outcomes:?}"));
                if let Some(s) = self.sent.get_mut(&id) {
                    s.outcomes = outcomes;
                }
                if r.acks == 0 {
                    return;
                }
                Resp::Produce(wire(&resp, version))
            }
        };
        let mut result = Ok(resp);
        if self.profile.hostile && self.net_rng.chance(0.2) {
            let Ok(resp) = result else { unreachable!() };
            let (mutated, what) = hostile::mutate(resp, &mut self.net_rng);
            self.fault(what);
            result = match mutated {
                hostile::Mutated::Response(r) => Ok(r),
                // The driver's decode error: a failed request.
                hostile::Mutated::Garbled => Err(TransportFailure {
                    message: "response does not decode".into(),
                    connect_failed: false,
                    authentication: false,
                }),
            };
        }
        let mut at = self.now + self.latency();
        if self.net_rng.chance(self.setup.net.delay) {
            self.fault("response delayed");
            at += self.net_rng.range(MS, 40 * MS);
        }
        // Responses of one connection arrive in order.
        let c = self.conns.get_mut(&conn).expect("open above");
        at = at.max(c.last_response);
        c.last_response = at;
        if lose {
            self.fault("response lost");
            self.reset_conn(conn, at, "after the request was written");
            return;
        }
        if let (true, Ok(resp)) = (duplicate, &result) {
            self.fault("response duplicated");
            let again = at + self.net_rng.range(0, 20 * MS);
            self.schedule(
                again,
                Ev::DeliverAgain {
                    id,
                    resp: resp.clone(),
                },
            );
        }
        self.schedule(at, Ev::Deliver { id, result });
    }

    /// The producer heard of these batches' success: their sequences are
    /// resolved (producer state may expire again).
    fn resolve(&mut self, id: u64, resp: &ProduceResponse) {
        let Some(s) = self.sent.get(&id) else { return };
        let mut done = Vec::new();
        for t in &resp.responses {
            for p in &t.partition_responses {
                if p.error_code != cluster::NONE
                    && p.error_code != cluster::DUPLICATE_SEQUENCE_NUMBER
                {
                    continue;
                }
                if let Some(o) = s
                    .outcomes
                    .iter()
                    .find(|o| o.topic == t.name.as_str() && o.partition == p.index)
                {
                    done.push((
                        o.topic.clone(),
                        o.partition,
                        (o.producer_id, o.epoch, o.base_sequence),
                    ));
                }
            }
        }
        for (topic, partition, stamp) in done {
            if let Some(p) = self.cluster.partition_mut(&topic, partition) {
                p.unresolved.remove(&stamp);
            }
        }
    }

    // ------------------------------------------------------------- checks

    fn verify(mut self) -> Result<Summary, String> {
        let mut errors = std::mem::take(&mut self.violations);
        errors.append(&mut self.cluster.violations);
        let idempotent = self.profile.idempotent;
        // A broker that lies about outcomes: only the bounds are checked.
        let hostile = self.profile.hostile;
        let c = &self.setup.config;
        // Where every value is in the logs.
        let mut found: HashMap<Bytes, Vec<(String, i32, i64)>> = HashMap::new();
        for t in &self.cluster.topics {
            for (pi, p) in t.partitions.iter().enumerate() {
                let mut seqs = HashSet::new();
                for (o, e) in p.log.iter().enumerate() {
                    if e.offset != o as i64 {
                        errors.push(format!(
                            "{}-{pi}: offset {} at position {o}",
                            t.name, e.offset
                        ));
                    }
                    if e.producer_id >= 0
                        && !seqs.insert((e.producer_id, e.epoch, e.sequence))
                        && !hostile
                    {
                        errors.push(format!(
                            "{}-{pi}: (producer {}, epoch {}, sequence {}) twice in the log",
                            t.name, e.producer_id, e.epoch, e.sequence
                        ));
                    }
                    if let Some(v) = &e.value {
                        found.entry(v.clone()).or_default().push((
                            t.name.clone(),
                            pi as i32,
                            e.offset,
                        ));
                    }
                }
            }
        }
        let planned: HashMap<&Bytes, &str> = self
            .plan
            .iter()
            .filter_map(|p| Some((p.record.value.as_ref()?, &*p.record.topic)))
            .collect();
        for (value, places) in found.iter().filter(|_| !hostile) {
            match planned.get(value) {
                None => errors.push(format!("a record nobody sent is in the logs at {places:?}")),
                Some(topic) if places.iter().any(|(t, _, _)| t != topic) => errors.push(format!(
                    "a record of {topic} is in another topic: {places:?}"
                )),
                Some(_) => {}
            }
        }
        let mut by_partition: BTreeMap<(String, i32), Vec<(usize, i64)>> = BTreeMap::new();
        let mut key_partition: HashMap<(String, Bytes), i32> = HashMap::new();
        for (i, p) in self.plan.iter().enumerate() {
            let value = p.record.value.clone().expect("a value");
            let copies = found.get(&value).map_or(0, Vec::len);
            if copies > 0 && p.expect != Expect::Deliver && !hostile {
                errors.push(format!("record {i} ({:?}) is in the logs", p.expect));
            }
            if copies > 1 {
                self.summary.duplicates_in_log += copies - 1;
                if idempotent && !hostile {
                    errors.push(format!(
                        "record {i} is {copies} times in the logs: {:?}",
                        found[&value]
                    ));
                }
            }
            let Some((result, completed)) = &self.results[i] else {
                errors.push(format!(
                    "record {i} never completed (enqueued at {:?} ns)",
                    self.enqueued_at[i]
                ));
                continue;
            };
            let enqueued = self.enqueued_at[i].expect("completed records were enqueued");
            let limit = c.max_block
                + c.delivery_timeout
                + c.request_timeout
                + Duration::from_secs(1)
                + Duration::from_millis(10);
            if completed - enqueued > limit.as_nanos() as u64 {
                errors.push(format!(
                    "record {i} completed {:.3} s after it was sent (delivery.timeout.ms {:?})",
                    (completed - enqueued) as f64 / SEC as f64,
                    c.delivery_timeout
                ));
            }
            let after_close = self.close.is_some_and(|(at, _)| enqueued >= at);
            if let Some((at, deadline)) = self.close {
                if enqueued < at && *completed > deadline {
                    errors.push(format!(
                        "record {i} completed {:.3} ms after close's deadline",
                        (completed - deadline) as f64 / MS as f64
                    ));
                }
            }
            if after_close || matches!(result, Err(ProducerError::Closed)) {
                let fatal_before = self.profile.hostile
                    && matches!(result, Err(ProducerError::Fatal(_)))
                    && self.core.fatal_error().is_some();
                if !matches!(result, Err(ProducerError::Closed)) && after_close && !fatal_before {
                    errors.push(format!(
                        "record {i}, sent after close, got {result:?} instead of Closed"
                    ));
                }
                if after_close && copies > 0 {
                    errors.push(format!("record {i}, sent after close, is in the logs"));
                }
                // Failed at close's deadline: it may or may not be in the log.
                *self.summary.failed.entry("Closed".into()).or_default() += 1;
                continue;
            }
            if self.profile.hostile {
                // A broker that lies about outcomes: only the bounds hold.
                match result {
                    Ok(_) => self.summary.delivered += 1,
                    Err(e) => {
                        let kind = format!("{:?}", e.class());
                        *self.summary.failed.entry(kind).or_default() += 1;
                    }
                }
                continue;
            }
            if self.profile.acks_zero {
                match result {
                    Ok(md) if md.offset == -1 && p.expect == Expect::Deliver => {
                        self.summary.delivered += 1;
                        if copies == 0 {
                            *self
                                .summary
                                .failed
                                .entry("lost (acks=0)".into())
                                .or_default() += 1;
                        }
                    }
                    Ok(md) => errors.push(format!("record {i}: acks=0 gave {md:?}")),
                    Err(e) if p.expect == Expect::Deliver => {
                        *self
                            .summary
                            .failed
                            .entry(format!("acks=0: {e}"))
                            .or_default() += 1;
                    }
                    Err(_) => {}
                }
                if copies > 1 {
                    errors.push(format!("record {i}: acks=0 wrote it {copies} times"));
                }
                continue;
            }
            match (result, p.expect) {
                (Ok(md), Expect::Deliver) => {
                    self.summary.delivered += 1;
                    if *md.topic != *p.record.topic {
                        errors.push(format!(
                            "record {i}: acked for topic {} instead of {}",
                            md.topic, p.record.topic
                        ));
                        continue;
                    }
                    if let Some(want) = p.record.partition {
                        if md.partition != want {
                            errors.push(format!(
                                "record {i}: partition {} instead of the explicit {want}",
                                md.partition
                            ));
                        }
                    } else if let Some(k) = &p.record.key {
                        let n = self
                            .cluster
                            .topic(&p.record.topic)
                            .map_or(0, |t| t.partitions.len())
                            as i32;
                        let want = partition_for_key(k, n);
                        if md.partition != want {
                            errors.push(format!(
                                "record {i}: key {k:?} went to partition {} instead of {want}",
                                md.partition
                            ));
                        }
                        let first = *key_partition
                            .entry((p.record.topic.to_string(), k.clone()))
                            .or_insert(md.partition);
                        if first != md.partition {
                            errors.push(format!(
                                "record {i}: key {k:?} in partitions {first} and {}",
                                md.partition
                            ));
                        }
                    }
                    let entry = self
                        .cluster
                        .topic(&md.topic)
                        .and_then(|t| t.partitions.get(md.partition as usize))
                        .and_then(|p| p.log.get(usize::try_from(md.offset).ok()?));
                    match entry {
                        Some(e) if e.value.as_ref() == Some(&value) && e.key == p.record.key => {}
                        Some(e) => errors.push(format!(
                            "record {i}: acked at {}-{}@{} which holds record {:?}",
                            md.topic,
                            md.partition,
                            md.offset,
                            e.value
                                .as_ref()
                                .map(|v| String::from_utf8_lossy(&v[..7.min(v.len())]).to_string())
                        )),
                        None => errors.push(format!(
                            "record {i}: acked at {}-{}@{}, not in the log",
                            md.topic, md.partition, md.offset
                        )),
                    }
                    by_partition
                        .entry((md.topic.to_string(), md.partition))
                        .or_default()
                        .push((i, md.offset));
                }
                (Err(e), Expect::Deliver) => {
                    let kind = match e {
                        ProducerError::DeliveryTimeout {
                            last_error,
                            attempts,
                            ..
                        } => {
                            if last_error.as_deref().is_some_and(str::is_empty) {
                                errors.push(format!("record {i}: delivery timeout without a reason ({attempts} attempts)"));
                            }
                            "DeliveryTimeout".to_string()
                        }
                        ProducerError::Broker(b) => format!("Broker({})", b.code),
                        other => {
                            errors.push(format!(
                                "record {i}: failed with an unexpected error: {other}"
                            ));
                            format!("unexpected: {other}")
                        }
                    };
                    if !self.profile.tight {
                        errors.push(format!("record {i}: failed with generous timeouts: {e}"));
                    }
                    *self.summary.failed.entry(kind).or_default() += 1;
                }
                (Ok(md), expect) => errors.push(format!(
                    "record {i}: expected {expect:?}, delivered to {md:?}"
                )),
                (Err(e), Expect::TopicNotFound) => {
                    if !matches!(e, ProducerError::TopicNotFound { .. }) {
                        errors.push(format!("record {i}: expected TopicNotFound, got {e}"));
                    }
                    *self
                        .summary
                        .failed
                        .entry("TopicNotFound (expected)".into())
                        .or_default() += 1;
                }
                (Err(e), Expect::PartitionerPanic) => {
                    if !matches!(
                        e,
                        ProducerError::UserCodePanicked {
                            hook: UserHook::Partitioner,
                            ..
                        }
                    ) {
                        errors.push(format!(
                            "record {i}: expected the partitioner's panic, got {e}"
                        ));
                    }
                    *self
                        .summary
                        .failed
                        .entry("partitioner panicked (expected)".into())
                        .or_default() += 1;
                }
                (Err(e), Expect::InvalidPartition) => {
                    if !matches!(e, ProducerError::InvalidPartition { .. }) {
                        errors.push(format!("record {i}: expected InvalidPartition, got {e}"));
                    }
                    *self
                        .summary
                        .failed
                        .entry("InvalidPartition (expected)".into())
                        .or_default() += 1;
                }
            }
        }
        // Every record with a callback heard of its outcome once, whether
        // the callback panicked or not; the others never.
        self.core
            .take_completions()
            .into_iter()
            .for_each(Completion::run);
        for (i, p) in self.plan.iter().enumerate() {
            let calls = self.callback_calls[i].load(Ordering::SeqCst);
            let want = u32::from(p.hooks.callback.is_some() && self.results[i].is_some());
            if calls != want {
                errors.push(format!(
                    "record {i}: its callback ran {calls} times, not {want}"
                ));
            }
        }
        if idempotent {
            // Per partition, acknowledged records are in send order.
            for ((topic, partition), mut acked) in by_partition {
                acked.sort_by_key(|(i, _)| *i);
                for w in acked.windows(2) {
                    if w[1].1 <= w[0].1 {
                        errors.push(format!(
                            "{topic}-{partition}: record {} (offset {}) was sent before record {} (offset {})",
                            w[0].0, w[0].1, w[1].0, w[1].1
                        ));
                    }
                }
            }
        }
        // Free pooled buffers keep theirs (as Java's free list).
        let back = self.available + self.core.pooled_permits();
        if back != c.buffer_memory {
            errors.push(format!(
                "buffer memory leaked: {back} of {} bytes back",
                c.buffer_memory
            ));
        }
        if let Some(e) = self.core.fatal_error().filter(|_| !self.profile.hostile) {
            errors.push(format!("the producer went fatal: {e}"));
        }
        let stats = &self.cluster.stats;
        self.summary.codes = stats.codes.iter().map(|(k, v)| (*k, *v)).collect();
        self.summary.leader_moves = stats.leader_moves;
        self.summary.expirations = stats.expirations;
        self.summary.outages = stats.outages;
        self.summary.final_epoch = self.core.producer_id_and_epoch().map_or(-1, |p| p.epoch);
        self.summary.attempts = self.core.produce_attempts();
        if errors.is_empty() {
            return Ok(self.summary);
        }
        let mut msg = format!(
            "{} problems (seed {}, profile {}):",
            errors.len(),
            self.seed,
            self.profile.name
        );
        for e in errors.iter().take(12) {
            let _ = write!(msg, "\n    {e}");
        }
        if errors.len() > 12 {
            let _ = write!(msg, "\n    ...");
        }
        let _ = write!(msg, "\n    summary: {:?}", self.summary);
        Err(msg)
    }
}

/// Encodes and decodes a message at `version`, as the wire would.
fn wire<M: Message>(m: &M, version: i16) -> M {
    let bytes = m
        .to_bytes(version)
        .unwrap_or_else(|e| panic!("cannot encode {} v{version}: {e}", M::NAME));
    M::decode(&bytes, version)
        .unwrap_or_else(|e| panic!("cannot decode {} v{version}: {e}", M::NAME))
}

fn describe(req: &Req) -> String {
    match req {
        Req::Metadata(_) => "Metadata".into(),
        Req::InitProducerId(_) => "InitProducerId".into(),
        Req::Produce(r, _) => {
            let mut s = "Produce".to_string();
            for t in &r.topic_data {
                for p in &t.partition_data {
                    let stamp = p
                        .records
                        .as_ref()
                        .and_then(|b| kafka_protocol::records::RecordBatch::parse(b).ok())
                        .map(|(b, _)| {
                            format!(
                                "pid {} epoch {} seq {} n {}",
                                b.producer_id, b.producer_epoch, b.base_sequence, b.record_count
                            )
                        })
                        .unwrap_or_default();
                    let _ = write!(s, " [{}-{} {stamp}]", t.name.as_str(), p.index);
                }
            }
            s
        }
    }
}

fn describe_result(r: &Result<Resp, TransportFailure>) -> String {
    match r {
        Err(f) => format!(
            "failure: {}{}",
            f.message,
            if f.connect_failed { " (connect)" } else { "" }
        ),
        Ok(Resp::Metadata(m)) => {
            let leaders: Vec<String> = m
                .topics
                .iter()
                .map(|t| {
                    let ls: Vec<i32> = t.partitions.iter().map(|p| p.leader_id).collect();
                    format!(
                        "{}:{}{:?}",
                        t.name.as_ref().map_or("?", |n| n.as_str()),
                        t.error_code,
                        ls
                    )
                })
                .collect();
            format!("Metadata {leaders:?}")
        }
        Ok(Resp::InitProducerId(r)) => format!(
            "InitProducerId {} epoch {}",
            r.producer_id, r.producer_epoch
        ),
        Ok(Resp::Produce(r)) => {
            let mut s = "Produce".to_string();
            for t in &r.responses {
                for p in &t.partition_responses {
                    let _ = write!(
                        s,
                        " [{}-{} code {} offset {}",
                        t.name.as_str(),
                        p.index,
                        p.error_code,
                        p.base_offset
                    );
                    if p.current_leader.leader_id >= 0 {
                        let _ = write!(s, " leader {}", p.current_leader.leader_id);
                    }
                    s.push(']');
                }
            }
            s
        }
    }
}
