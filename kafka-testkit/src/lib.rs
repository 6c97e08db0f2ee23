//! The project's test kit, for tests, examples and tools that talk to a
//! real cluster (not published): find the cluster `cargo xtask kafka up`
//! started ([`cluster_env`], [`brokers`], [`SecuredCluster`] for its TLS and
//! SASL listeners), create and delete topics, read a partition back, a
//! fault-injecting TCP [`proxy`] in front of each broker, and the
//! [`ledger`] that checks what was delivered against what the log holds.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::generated::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::generated::delete_topics_request::DeleteTopicState;
use kafka_protocol::generated::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::generated::metadata_request::MetadataRequestTopic;
use kafka_protocol::generated::{
    CreateTopicsRequest, DeleteTopicsRequest, FetchRequest, MetadataRequest,
};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::primitives::Uuid;
use kafka_protocol::records::{DefaultCodecs, ReadCommitted, RecordBatches};

use kafka_codec::{CodecError, Connection, ConnectionConfig};

mod brokers;
pub mod leaders;
pub mod ledger;
pub mod logged;
pub mod proxy;
mod secured;
pub mod telemetry;

pub use brokers::{brokers, Broker};
pub use leaders::move_leader;
pub use proxy::{ProxiedCluster, Proxy, ProxyHandle};
pub use secured::SecuredCluster;

/// The variables `cargo xtask kafka up` records (`KAFKA_BOOTSTRAP`,
/// `KAFKA_LIBS`, `KAFKA_PIDS`, `KAFKA_NODE_<id>`), read from
/// `target/kafka/cluster/cluster.env` under `workspace_root`, overridden by
/// the process environment.
pub fn cluster_env(workspace_root: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let file = format!("{workspace_root}/target/kafka/cluster/cluster.env");
    if let Ok(text) = std::fs::read_to_string(file) {
        for (k, v) in text.lines().filter_map(|l| l.split_once('=')) {
            env.insert(k.to_string(), v.to_string());
        }
    }
    for k in ["KAFKA_BOOTSTRAP", "KAFKA_LIBS"] {
        if let Ok(v) = std::env::var(k) {
            env.insert(k.to_string(), v);
        }
    }
    env
}

/// A topic name unique to this process and moment.
pub fn unique_topic(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A topic's id and the leader of each partition.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    /// The topic id.
    pub id: Uuid,
    /// Leader address (`host:port`) of each partition, by index.
    pub leaders: Vec<String>,
}

/// Creates a topic and waits until every partition has a leader.
pub async fn create_topic(
    conn: &Connection,
    name: &str,
    partitions: i32,
    replication: i16,
) -> Result<TopicInfo, CodecError> {
    create_topic_with(conn, name, partitions, replication, &[]).await
}

/// As [`create_topic`], with topic configs (say `("min.insync.replicas", "2")`).
pub async fn create_topic_with(
    conn: &Connection,
    name: &str,
    partitions: i32,
    replication: i16,
    configs: &[(&str, &str)],
) -> Result<TopicInfo, CodecError> {
    let req = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.to_string().into(),
            num_partitions: partitions,
            replication_factor: replication,
            configs: configs
                .iter()
                .map(|(k, v)| CreatableTopicConfig {
                    name: k.to_string().into(),
                    value: Some(v.to_string().into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        timeout_ms: 30_000,
        ..Default::default()
    };
    let resp = conn.send(&req).await?;
    if let Some(t) = resp.topics.first() {
        if t.error_code != 0 {
            return Err(CodecError::Disconnected(
                format!(
                    "CreateTopics {name} failed with {}: {:?}",
                    kafka_protocol::ErrorCode(t.error_code),
                    t.error_message
                )
                .into(),
            ));
        }
    }
    for _ in 0..300 {
        if let Some(info) = topic_info(conn, name).await? {
            // Metadata can name a leader a moment before it serves the
            // partition: wait until every partition answers a Fetch.
            if partitions_ready(name, &info).await {
                return Ok(info);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(CodecError::Disconnected(
        format!("topic {name} got no leaders").into(),
    ))
}

async fn partitions_ready(name: &str, info: &TopicInfo) -> bool {
    for (p, leader) in info.leaders.iter().enumerate() {
        let Ok(conn) = connect(leader).await else {
            return false;
        };
        let Ok(version) = conn.versions().negotiate(ApiKey::Fetch) else {
            return false;
        };
        let t = fetch_topic(version, name, info, p as i32, 0, 1);
        let req = FetchRequest {
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: 1,
            topics: vec![t],
            ..Default::default()
        };
        match conn.send(&req).await {
            Ok(r)
                if r.error_code == 0
                    && r.responses
                        .iter()
                        .flat_map(|t| &t.partitions)
                        .all(|p| p.error_code == 0) => {}
            _ => return false,
        }
    }
    true
}

/// The topic's id and leaders, once every partition has a leader.
pub async fn topic_info(conn: &Connection, name: &str) -> Result<Option<TopicInfo>, CodecError> {
    let md = conn
        .send(&MetadataRequest {
            topics: Some(vec![MetadataRequestTopic {
                name: Some(name.to_string().into()),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .await?;
    let Some(t) = md.topics.first() else {
        return Ok(None);
    };
    if t.error_code != 0 || t.partitions.is_empty() || t.partitions.iter().any(|p| p.leader_id < 0)
    {
        return Ok(None);
    }
    let mut leaders = vec![String::new(); t.partitions.len()];
    for p in &t.partitions {
        let Some(b) = md.brokers.iter().find(|b| b.node_id == p.leader_id) else {
            return Ok(None);
        };
        leaders[p.partition_index as usize] = format!("{}:{}", b.host, b.port);
    }
    Ok(Some(TopicInfo {
        id: t.topic_id,
        leaders,
    }))
}

/// Deletes a topic.
pub async fn delete_topic(conn: &Connection, name: &str) -> Result<(), CodecError> {
    let version = conn.versions().negotiate(ApiKey::DeleteTopics)?;
    let mut req = DeleteTopicsRequest {
        timeout_ms: 30_000,
        ..Default::default()
    };
    if version >= 6 {
        req.topics = vec![DeleteTopicState {
            name: Some(name.to_string().into()),
            ..Default::default()
        }];
    } else {
        req.topic_names = vec![name.to_string().into()];
    }
    conn.send(&req).await?;
    Ok(())
}

/// A record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRecord {
    /// Offset.
    pub offset: i64,
    /// Timestamp.
    pub timestamp: i64,
    /// Key.
    pub key: Option<Bytes>,
    /// Value.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Producer id of its batch.
    pub producer_id: i64,
    /// Its batch is part of a transaction.
    pub transactional: bool,
}

/// Reads a partition from offset 0 up to its end (as seen when reading
/// stops), decompressing any codec; `conn` must be connected to the leader.
/// Every record, as a `read_uncommitted` reader sees them.
pub async fn fetch_partition(
    conn: &Connection,
    topic: &str,
    info: &TopicInfo,
    partition: i32,
) -> Result<Vec<FetchedRecord>, CodecError> {
    fetch_partition_isolated(conn, topic, info, partition, false).await
}

/// The part of a Fetch request for one partition of `topic` (by id from
/// Fetch v13 on, by name before).
fn fetch_topic(
    version: i16,
    topic: &str,
    info: &TopicInfo,
    partition: i32,
    fetch_offset: i64,
    partition_max_bytes: i32,
) -> FetchTopic {
    let mut t = FetchTopic {
        partitions: vec![FetchPartition {
            partition,
            fetch_offset,
            partition_max_bytes,
            ..Default::default()
        }],
        ..Default::default()
    };
    if version >= 13 {
        t.topic_id = info.id;
    } else {
        t.topic = topic.to_string().into();
    }
    t
}

/// A partition's high watermark and last stable offset (`lso < hw` while
/// a transaction with records in the partition is open); `conn` must be
/// connected to the leader.
pub async fn stable_and_high(
    conn: &Connection,
    topic: &str,
    info: &TopicInfo,
    partition: i32,
) -> Result<(i64, i64), CodecError> {
    let version = conn.versions().negotiate(ApiKey::Fetch)?;
    let t = fetch_topic(version, topic, info, partition, 0, 1);
    let req = FetchRequest {
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 1,
        isolation_level: 1,
        topics: vec![t],
        ..Default::default()
    };
    let resp = conn.send(&req).await?;
    let p = resp
        .responses
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| CodecError::Disconnected("empty fetch response".into()))?;
    if p.error_code != 0 {
        return Err(CodecError::Disconnected(
            format!("fetch error {}", p.error_code).into(),
        ));
    }
    Ok((p.last_stable_offset, p.high_watermark))
}

/// As [`fetch_partition`]; with `read_committed`, only what a
/// `read_committed` reader sees (up to the last stable offset, without
/// aborted transactions).
pub async fn fetch_partition_isolated(
    conn: &Connection,
    topic: &str,
    info: &TopicInfo,
    partition: i32,
    read_committed: bool,
) -> Result<Vec<FetchedRecord>, CodecError> {
    let version = conn.versions().negotiate(ApiKey::Fetch)?;
    let codecs = DefaultCodecs::default();
    let mut out = Vec::new();
    let mut offset = 0i64;
    let mut empty_rounds = 0;
    while empty_rounds < 3 {
        let t = fetch_topic(version, topic, info, partition, offset, 4 << 20);
        let req = FetchRequest {
            max_wait_ms: 200,
            min_bytes: 1,
            max_bytes: 16 << 20,
            isolation_level: i8::from(read_committed),
            topics: vec![t],
            ..Default::default()
        };
        let resp = conn.send(&req).await?;
        let p = resp
            .responses
            .first()
            .and_then(|t| t.partitions.first())
            .ok_or_else(|| CodecError::Disconnected("empty fetch response".into()))?;
        if p.error_code != 0 {
            return Err(CodecError::Disconnected(
                format!("fetch error {}", p.error_code).into(),
            ));
        }
        let before = out.len();
        let mut filter = ReadCommitted::new(
            p.aborted_transactions
                .iter()
                .flatten()
                .map(|a| (a.producer_id, a.first_offset)),
        );
        for b in RecordBatches::new(p.records.clone().unwrap_or_default()) {
            let b = b?;
            let keep = !read_committed || filter.keep(&b)?;
            if b.is_control() || !keep {
                offset = offset.max(b.last_offset() + 1);
                continue;
            }
            let section = b.decompressed_records(&codecs, 64 << 20)?;
            for r in b.records_in(&section) {
                let r = r?;
                if r.offset < offset {
                    continue;
                }
                let mut headers = Vec::new();
                for h in &r.headers {
                    let h = h?;
                    headers.push((h.key.to_string(), h.value.map(Bytes::copy_from_slice)));
                }
                out.push(FetchedRecord {
                    offset: r.offset,
                    timestamp: r.timestamp,
                    key: r.key.map(Bytes::copy_from_slice),
                    value: r.value.map(Bytes::copy_from_slice),
                    headers,
                    producer_id: b.producer_id,
                    transactional: b.is_transactional(),
                });
                offset = r.offset + 1;
            }
        }
        if out.len() == before {
            empty_rounds += 1;
        } else {
            empty_rounds = 0;
        }
        let end = if read_committed {
            p.last_stable_offset
        } else {
            p.high_watermark
        };
        if end >= 0 && offset >= end {
            break;
        }
    }
    Ok(out)
}

/// Reads with `read` until two reads 300 ms apart agree, and returns
/// that read. A `read_committed` view needs it: EndTxn returns once the
/// coordinator decided, and each partition's commit marker lands a moment
/// later.
///
/// # Panics
/// When the reads still change after `max_wait`: a test must not go on
/// with a view that had not settled.
pub async fn settled<T, F, Fut>(mut read: F, max_wait: Duration) -> T
where
    T: PartialEq,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + max_wait;
    let mut last = read().await;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let next = read().await;
        if next == last {
            return next;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "reads still changed after {max_wait:?}: the view never settled"
        );
        last = next;
    }
}

/// Connects with default settings.
pub async fn connect(addr: &str) -> Result<Connection, CodecError> {
    Connection::connect(addr, ConnectionConfig::default()).await
}

/// Reads `max_messages` records of `topic` from the beginning with Kafka's
/// own console consumer (from the jar folder `libs` that `cargo xtask kafka
/// up` records), printing keys, and headers when asked. Returns the record
/// lines (key and value separated by a tab, headers first when printed).
pub fn console_consumer(
    libs: &str,
    bootstrap: &str,
    topic: &str,
    max_messages: usize,
    print_headers: bool,
) -> Result<Vec<String>, String> {
    console_consumer_with(libs, bootstrap, topic, max_messages, print_headers, &[])
}

/// As [`console_consumer`], with more of its arguments (say
/// `["--isolation-level", "read_committed"]`).
pub fn console_consumer_with(
    libs: &str,
    bootstrap: &str,
    topic: &str,
    max_messages: usize,
    print_headers: bool,
    extra: &[&str],
) -> Result<Vec<String>, String> {
    let java = std::env::var_os("JAVA_HOME")
        .map(|h| std::path::Path::new(&h).join("bin/java"))
        .unwrap_or_else(|| "java".into());
    let out = std::process::Command::new(java)
        .arg("-cp")
        .arg(format!("{libs}/*"))
        .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
        .arg("org.apache.kafka.tools.consumer.ConsoleConsumer")
        .args([
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--from-beginning",
        ])
        .args([
            "--max-messages",
            &max_messages.to_string(),
            "--timeout-ms",
            "60000",
        ])
        .args([
            "--property",
            "print.key=true",
            "--property",
            &format!("print.headers={print_headers}"),
        ])
        .args(extra)
        .output()
        .map_err(|e| format!("cannot run Kafka's console consumer: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "console consumer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Some releases print a deprecation notice (without a tab) first.
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains('\t'))
        .map(str::to_string)
        .collect())
}
