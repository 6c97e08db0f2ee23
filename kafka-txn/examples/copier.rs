//! An exactly-once copier, as in Kafka's own transactions system test: it
//! reads an input topic at `read_committed`, writes every record to an
//! output topic in transactions of `--transaction-size` records, and
//! commits its input offsets with each transaction
//! (`send_offsets_to_transaction`). On an abortable error it aborts and
//! rewinds to the last committed offsets; killed and restarted with the
//! same transactional id, it fences its old self and goes on from the
//! committed offsets, so the output holds every input record exactly once.
//!
//! ```sh
//! cargo run -p kafka-txn --example copier -- --bootstrap 127.0.0.1:9092 \
//!     --input in --output out --transactional-id copier-1 --group copier
//! ```
//!
//! Options: `--transaction-size N` (default 500), `--abort-percent P`
//! (deliberately abort about P % of the transactions, default 0),
//! `--exit-when-idle-ms MS` (exit once the input is read to its end and
//! nothing new came for that long; default: run forever),
//! `--hold-ms MS` (keep each transaction open that long once its records
//! are written, as a slow processing step would: kills then land inside
//! transactions; default 0).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_codec::{CodecError, Connection, ConnectionConfig};
use kafka_producer::{ErrorClass, ProducerRecord};
use kafka_protocol::generated::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::generated::metadata_request::MetadataRequestTopic;
use kafka_protocol::generated::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::generated::{
    FetchRequest, FindCoordinatorRequest, MetadataRequest, OffsetFetchRequest,
};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::primitives::Uuid;
use kafka_protocol::records::{DefaultCodecs, ReadCommitted, RecordBatches};
use kafka_protocol::ErrorCode;
use kafka_txn::TopicPartition;
use kafka_txn::{
    ConsumerGroupMetadata, OffsetAndMetadata, TransactionError, TransactionalProducer,
};

/// The copier's settings.
#[derive(Debug, Clone)]
pub struct CopierConfig {
    pub bootstrap: String,
    pub input: String,
    pub output: String,
    pub transactional_id: String,
    pub group: String,
    pub transaction_size: usize,
    pub abort_percent: u32,
    pub exit_when_idle: Option<Duration>,
    pub hold: Duration,
}

impl CopierConfig {
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        let mut c = CopierConfig {
            bootstrap: String::new(),
            input: String::new(),
            output: String::new(),
            transactional_id: String::new(),
            group: String::new(),
            transaction_size: 500,
            abort_percent: 0,
            exit_when_idle: None,
            hold: Duration::ZERO,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--bootstrap" => c.bootstrap = value()?,
                "--input" => c.input = value()?,
                "--output" => c.output = value()?,
                "--transactional-id" => c.transactional_id = value()?,
                "--group" => c.group = value()?,
                "--transaction-size" => {
                    c.transaction_size = value()?.parse().map_err(|e| format!("{e}"))?
                }
                "--abort-percent" => {
                    c.abort_percent = value()?.parse().map_err(|e| format!("{e}"))?
                }
                "--hold-ms" => {
                    c.hold = Duration::from_millis(value()?.parse().map_err(|e| format!("{e}"))?)
                }
                "--exit-when-idle-ms" => {
                    c.exit_when_idle = Some(Duration::from_millis(
                        value()?.parse().map_err(|e| format!("{e}"))?,
                    ))
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        if [
            &c.bootstrap,
            &c.input,
            &c.output,
            &c.transactional_id,
            &c.group,
        ]
        .iter()
        .any(|s| s.is_empty())
        {
            return Err(
                "--bootstrap, --input, --output, --transactional-id and --group are required"
                    .into(),
            );
        }
        Ok(c)
    }
}

/// One input partition: its leader's connection and the next offset to read.
struct InputPartition {
    index: i32,
    conn: Connection,
    position: i64,
    /// The topic's id (Fetch v13+ names topics by id).
    topic_id: Uuid,
}

/// What the copier did.
#[derive(Debug, Default, Clone, Copy)]
pub struct CopierStats {
    pub committed_transactions: u64,
    pub aborted_transactions: u64,
    pub copied_records: u64,
}

/// Runs the copier until the input is idle (when asked) or an error it
/// cannot go on from (fenced, fatal).
pub async fn run(c: &CopierConfig) -> Result<CopierStats, String> {
    let producer = TransactionalProducer::from_properties([
        ("bootstrap.servers", c.bootstrap.as_str()),
        ("transactional.id", c.transactional_id.as_str()),
        ("compression.type", "lz4"),
        ("linger.ms", "5"),
    ])
    .map_err(|e| e.to_string())?;
    // Fences the previous instance and completes what it left open.
    producer
        .init_transactions()
        .await
        .map_err(|e| e.to_string())?;
    let group = ConsumerGroupMetadata::new(c.group.clone());
    let mut inputs = open_inputs(c).await.map_err(|e| e.to_string())?;
    let committed = committed_offsets(c, inputs.len())
        .await
        .map_err(|e| e.to_string())?;
    for p in inputs.iter_mut() {
        p.position = committed.get(&p.index).copied().unwrap_or(0).max(0);
    }
    let output: Arc<str> = Arc::from(c.output.as_str());
    let mut stats = CopierStats::default();
    let mut rng = (std::process::id() as u64) << 16 | 1;
    let mut idle_since = Instant::now();
    loop {
        // Read up to a transaction's worth.
        let mut batch: Vec<(Option<bytes::Bytes>, Option<bytes::Bytes>)> = Vec::new();
        let mut next = BTreeMap::new();
        for p in inputs.iter_mut() {
            if batch.len() >= c.transaction_size {
                break;
            }
            let (records, position) =
                fetch_committed(p, &c.input, c.transaction_size - batch.len())
                    .await
                    .map_err(|e| e.to_string())?;
            if position != p.position {
                next.insert(p.index, (p.position, position));
            }
            batch.extend(records);
        }
        if next.is_empty() {
            if c.exit_when_idle
                .is_some_and(|idle| idle_since.elapsed() >= idle)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        idle_since = Instant::now();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let deliberate_abort = (rng % 100) < u64::from(c.abort_percent);
        let outcome = copy_one(
            &producer,
            &output,
            &c.input,
            &group,
            &batch,
            &next,
            Finish {
                abort: deliberate_abort,
                hold: c.hold,
            },
        )
        .await;
        match outcome {
            Ok(true) => {
                stats.committed_transactions += 1;
                stats.copied_records += batch.len() as u64;
                for p in inputs.iter_mut() {
                    if let Some((_, to)) = next.get(&p.index) {
                        p.position = *to;
                    }
                }
            }
            // Aborted (on purpose, or on an abortable error): rewind, i.e.
            // keep the positions of the last commit.
            Ok(false) => stats.aborted_transactions += 1,
            Err(e) if e.class() == ErrorClass::Abortable => {
                producer
                    .abort_transaction()
                    .await
                    .map_err(|e| e.to_string())?;
                stats.aborted_transactions += 1;
            }
            Err(e) => return Err(format!("cannot go on: {e}")),
        }
    }
    producer.close(Duration::from_secs(30)).await;
    Ok(stats)
}

/// How a transaction ends: aborted on purpose, and held open that long once
/// its records are written.
struct Finish {
    abort: bool,
    hold: Duration,
}

/// One transaction: the records, the input offsets, commit (or abort when
/// asked). `Ok(true)` when committed.
async fn copy_one(
    producer: &TransactionalProducer,
    output: &Arc<str>,
    input: &str,
    group: &ConsumerGroupMetadata,
    records: &[(Option<bytes::Bytes>, Option<bytes::Bytes>)],
    next: &BTreeMap<i32, (i64, i64)>,
    Finish { abort, hold }: Finish,
) -> Result<bool, TransactionError> {
    producer.begin_transaction()?;
    for (key, value) in records {
        let mut r = ProducerRecord::new(output.clone());
        r.key = key.clone();
        r.value = value.clone();
        // Each record's outcome is the transaction's: a failed one makes
        // the commit fail as abortable.
        drop(producer.send(r).await?);
    }
    let offsets = next.iter().map(|(p, (_, to))| {
        (
            TopicPartition {
                topic: Arc::from(input),
                partition: *p,
            },
            OffsetAndMetadata::new(*to),
        )
    });
    producer.send_offsets_to_transaction(offsets, group).await?;
    if !hold.is_zero() {
        producer.flush().await?;
        tokio::time::sleep(hold).await;
    }
    if abort {
        producer.flush().await?;
        producer.abort_transaction().await?;
        return Ok(false);
    }
    producer.commit_transaction().await?;
    Ok(true)
}

async fn open_inputs(c: &CopierConfig) -> Result<Vec<InputPartition>, CodecError> {
    let boot = Connection::connect(first(&c.bootstrap), ConnectionConfig::default()).await?;
    let meta = boot
        .send(&MetadataRequest {
            topics: Some(vec![MetadataRequestTopic {
                name: Some(c.input.clone().into()),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .await?;
    let brokers: BTreeMap<i32, String> = meta
        .brokers
        .iter()
        .map(|b| (b.node_id, format!("{}:{}", b.host, b.port)))
        .collect();
    let topic = meta
        .topics
        .first()
        .filter(|t| t.error_code == 0)
        .ok_or_else(|| CodecError::Disconnected(format!("no metadata for {}", c.input).into()))?;
    let mut out = Vec::new();
    for p in &topic.partitions {
        let addr = brokers
            .get(&p.leader_id)
            .ok_or_else(|| CodecError::Disconnected("no leader".into()))?;
        out.push(InputPartition {
            index: p.partition_index,
            conn: Connection::connect(addr, ConnectionConfig::default()).await?,
            position: 0,
            topic_id: topic.topic_id,
        });
    }
    out.sort_by_key(|p| p.index);
    Ok(out)
}

fn first(bootstrap: &str) -> &str {
    bootstrap.split(',').next().unwrap_or(bootstrap)
}

/// The group's committed offsets, per input partition (KIP-447: stable
/// offsets only, so that a transaction still being completed is waited for).
async fn committed_offsets(
    c: &CopierConfig,
    partitions: usize,
) -> Result<BTreeMap<i32, i64>, CodecError> {
    let boot = Connection::connect(first(&c.bootstrap), ConnectionConfig::default()).await?;
    loop {
        let fc = boot
            .send_version(
                &FindCoordinatorRequest {
                    key: c.group.clone().into(),
                    key_type: 0,
                    ..Default::default()
                },
                3,
            )
            .await?;
        if fc.error_code != 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let coordinator = Connection::connect(
            &format!("{}:{}", fc.host, fc.port),
            ConnectionConfig::default(),
        )
        .await?;
        let req = OffsetFetchRequest {
            groups: vec![OffsetFetchRequestGroup {
                group_id: c.group.clone().into(),
                topics: Some(vec![OffsetFetchRequestTopics {
                    name: c.input.clone().into(),
                    partition_indexes: (0..partitions as i32).collect(),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            require_stable: true,
            ..Default::default()
        };
        // v10 (KIP-848) names topics by id only; this asks by name.
        let version = coordinator
            .versions()
            .negotiate_at_most(ApiKey::OffsetFetch, Some(9))?;
        let resp = coordinator.send_version(&req, version).await?;
        let Some(g) = resp.groups.first() else {
            return Ok(BTreeMap::new());
        };
        let unstable = ErrorCode(g.error_code).is_retriable()
            || g.topics
                .iter()
                .flat_map(|t| &t.partitions)
                .any(|p| ErrorCode(p.error_code).is_retriable());
        if unstable {
            // UNSTABLE_OFFSET_COMMIT: a transaction with offsets is still being completed.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        return Ok(g
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|p| (p.partition_index, p.committed_offset))
            .collect());
    }
}

type KeyValue = (Option<bytes::Bytes>, Option<bytes::Bytes>);

/// Up to `max` committed records of one partition from `position`; and the
/// position after them (past aborted records and markers too).
async fn fetch_committed(
    input: &InputPartition,
    topic: &str,
    max: usize,
) -> Result<(Vec<KeyValue>, i64), CodecError> {
    let (conn, partition, position) = (&input.conn, input.index, input.position);
    let version = conn.versions().negotiate(ApiKey::Fetch)?;
    let mut t = FetchTopic {
        partitions: vec![FetchPartition {
            partition,
            fetch_offset: position,
            partition_max_bytes: 1 << 20,
            ..Default::default()
        }],
        ..Default::default()
    };
    if version >= 13 {
        t.topic_id = input.topic_id;
    } else {
        t.topic = topic.to_string().into();
    }
    let resp = conn
        .send(&FetchRequest {
            max_wait_ms: 100,
            min_bytes: 1,
            max_bytes: 4 << 20,
            isolation_level: 1,
            topics: vec![t],
            ..Default::default()
        })
        .await?;
    let Some(p) = resp.responses.first().and_then(|t| t.partitions.first()) else {
        return Ok((Vec::new(), position));
    };
    if p.error_code != 0 {
        return Ok((Vec::new(), position));
    }
    let mut filter = ReadCommitted::new(
        p.aborted_transactions
            .iter()
            .flatten()
            .map(|a| (a.producer_id, a.first_offset)),
    );
    let codecs = DefaultCodecs::default();
    let mut out = Vec::new();
    let mut next = position;
    'batches: for b in RecordBatches::new(p.records.clone().unwrap_or_default()) {
        let b = b?;
        if b.last_offset() < next {
            continue;
        }
        if !filter.keep(&b)? {
            next = b.last_offset() + 1;
            continue;
        }
        let section = b.decompressed_records(&codecs, 64 << 20)?;
        for r in b.records_in(&section) {
            let r = r?;
            if r.offset < next {
                continue;
            }
            if out.len() >= max {
                break 'batches;
            }
            out.push((
                r.key.map(bytes::Bytes::copy_from_slice),
                r.value.map(bytes::Bytes::copy_from_slice),
            ));
            next = r.offset + 1;
        }
    }
    Ok((out, next))
}

#[allow(dead_code)]
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    main_with(&args)
}

/// The copier's command line (without the program name): runs it, prints
/// its stats, exit status 0 when it stopped because its input was idle.
pub fn main_with(args: &[String]) -> std::process::ExitCode {
    let config = match CopierConfig::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("copier: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match rt.block_on(run(&config)) {
        Ok(stats) => {
            println!("copier: {stats:?}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("copier: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
