//! What `perf-compare --scale` adds to the scenarios: topics of many
//! partitions (and many topics) made with one CreateTopics request, the
//! Java client's keyed perf program (`interop/java-perf/KeyedPerf.java`,
//! compiled against the started Kafka's jars), and the topics' removal
//! after each scenario so that gigabytes of records do not pile up.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kafka_codec::{Connection, ConnectionConfig};
use kafka_protocol::generated::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::generated::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::generated::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, MetadataRequest,
};
use kafka_protocol::primitives::StrBytes;
use kafka_protocol::ErrorCode;

use crate::{root, run_cmd};

/// The controller takes at most 10,000 records per operation: bigger
/// topics are created at this size, then grown.
const PARTITIONS_PER_CREATE: i32 = 5_000;

/// Where records go in a scenario.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub partitions: i32,
    /// Topics `{topic}-0` .. (`1`: the topic itself).
    pub topics: u32,
    /// Distinct keys (`0`: keyless records).
    pub keys: u64,
}

impl Layout {
    pub const SIX: Layout = Layout {
        partitions: 6,
        topics: 1,
        keys: 0,
    };

    pub fn names(&self, topic: &str) -> Vec<String> {
        if self.topics <= 1 {
            vec![topic.to_string()]
        } else {
            (0..self.topics).map(|t| format!("{topic}-{t}")).collect()
        }
    }

    /// GetOffsetShell's `--topic`: a regular expression for all of them.
    pub fn pattern(&self, topic: &str) -> String {
        if self.topics <= 1 {
            topic.to_string()
        } else {
            format!("{topic}-[0-9]+")
        }
    }

    /// The perf tools' arguments for it.
    pub fn args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if self.keys > 0 {
            a.extend(["--keys".to_string(), self.keys.to_string()]);
        }
        if self.topics > 1 {
            a.extend(["--topics".to_string(), self.topics.to_string()]);
        }
        a
    }
}

fn block_on<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(f)
}

async fn connect(bootstrap: &str) -> Result<Connection, String> {
    let config = ConnectionConfig {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(120),
        client_id: Some("xtask-perf".into()),
        ..Default::default()
    };
    let addr = bootstrap.split(',').next().unwrap_or(bootstrap);
    Connection::connect(addr, config)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))
}

/// A topic's result in a CreateTopics, CreatePartitions or DeleteTopics answer.
fn check(what: &str, name: &str, code: i16, message: Option<&StrBytes>) -> Result<(), String> {
    match ErrorCode(code) {
        ErrorCode::NONE => Ok(()),
        c => Err(format!(
            "{what} {name}: {c} {}",
            message.map_or("", |m| m.as_str())
        )),
    }
}

/// Creates the layout's topics (with `configs`) and waits until metadata
/// names a leader for every partition.
pub fn create_topics(
    bootstrap: &str,
    topic: &str,
    layout: Layout,
    configs: &[(&str, &str)],
) -> Result<(), String> {
    let names = layout.names(topic);
    block_on(async {
        let conn = connect(bootstrap).await?;
        let first = layout.partitions.min(PARTITIONS_PER_CREATE);
        let resp = conn
            .send(&CreateTopicsRequest {
                topics: names
                    .iter()
                    .map(|n| CreatableTopic {
                        name: n.clone().into(),
                        num_partitions: first,
                        replication_factor: 1,
                        configs: configs
                            .iter()
                            .map(|(k, v)| CreatableTopicConfig {
                                name: k.to_string().into(),
                                value: Some(v.to_string().into()),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                timeout_ms: 120_000,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        for t in &resp.topics {
            check(
                "CreateTopics",
                t.name.as_str(),
                t.error_code,
                t.error_message.as_ref(),
            )?;
        }
        let mut count = first;
        while count < layout.partitions {
            count = (count + PARTITIONS_PER_CREATE).min(layout.partitions);
            let resp = conn
                .send(&CreatePartitionsRequest {
                    topics: names
                        .iter()
                        .map(|n| CreatePartitionsTopic {
                            name: n.clone().into(),
                            count,
                            assignments: None,
                            ..Default::default()
                        })
                        .collect(),
                    timeout_ms: 120_000,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            for t in &resp.results {
                check(
                    "CreatePartitions",
                    t.name.as_str(),
                    t.error_code,
                    t.error_message.as_ref(),
                )?;
            }
        }
        for _ in 0..600 {
            let md = conn
                .send(&MetadataRequest {
                    topics: Some(
                        names
                            .iter()
                            .map(|n| {
                                kafka_protocol::generated::metadata_request::MetadataRequestTopic {
                                    name: Some(n.clone().into()),
                                    ..Default::default()
                                }
                            })
                            .collect(),
                    ),
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            let led: usize = md
                .topics
                .iter()
                .map(|t| t.partitions.iter().filter(|p| p.leader_id >= 0).count())
                .sum();
            if led == names.len() * layout.partitions as usize {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(format!("{topic}: not every partition got a leader"))
    })
}

/// Deletes the layout's topics (their records would fill the disk).
pub fn delete_topics(bootstrap: &str, topic: &str, layout: Layout) -> Result<(), String> {
    let names = layout.names(topic);
    block_on(async {
        let conn = connect(bootstrap).await?;
        let resp = conn
            .send(&DeleteTopicsRequest {
                topic_names: names.iter().map(|n| n.clone().into()).collect(),
                timeout_ms: 120_000,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        for r in &resp.responses {
            let name = r.name.as_ref().map_or("", |n| n.as_str());
            check("DeleteTopics", name, r.error_code, r.error_message.as_ref())?;
        }
        Ok(())
    })
}

/// Compiles `KeyedPerf.java` against `libs` (once per Kafka version) and
/// returns the command that runs it.
pub fn java_keyed_perf(libs: &Path, version: &str) -> Result<Vec<String>, String> {
    let out: PathBuf = root().join("target/java-perf").join(version);
    let source = root().join("interop/java-perf/KeyedPerf.java");
    let class = out.join("KeyedPerf.class");
    let stale = match (std::fs::metadata(&class), std::fs::metadata(&source)) {
        (Ok(c), Ok(s)) => c.modified().ok() < s.modified().ok(),
        _ => true,
    };
    let cp = format!("{}/*", libs.display());
    if stale {
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        run_cmd(Command::new("javac").args([
            "-cp",
            &cp,
            "-d",
            &out.display().to_string(),
            &source.display().to_string(),
        ]))?;
    }
    Ok(vec![
        crate::kafka::java_path(),
        "-Xmx1g".into(),
        "-cp".into(),
        format!("{}:{cp}", out.display()),
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn".into(),
        "KeyedPerf".into(),
    ])
}
