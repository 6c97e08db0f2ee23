//! The producer's view of the cluster: brokers, and for each topic it sends
//! to, the leader of every partition.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::generated::metadata_request::MetadataRequestTopic;
use kafka_protocol::generated::{MetadataRequest, MetadataResponse};

/// A broker to talk to: its node id (negative for bootstrap addresses) and address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Node {
    /// Node id; bootstrap servers get -1, -2, ... as in the Java client.
    pub id: i32,
    /// `host:port`.
    pub addr: String,
}

#[derive(Debug, Clone)]
pub(crate) struct PartitionMeta {
    pub leader: i32,
    pub leader_epoch: i32,
}

#[derive(Debug, Clone)]
pub(crate) struct TopicMeta {
    /// The topic name (shared with the maps keyed by it).
    pub name: Arc<str>,
    pub partitions: Vec<PartitionMeta>,
    /// Partitions with a leader, for the partitioners.
    pub available: Vec<i32>,
    /// Last record for the topic: idle topics leave the metadata (metadata.max.idle.ms).
    pub last_used: Instant,
}

impl TopicMeta {
    fn refresh_available(&mut self) {
        self.available = self
            .partitions
            .iter()
            .enumerate()
            .filter(|(_, p)| p.leader >= 0)
            .map(|(i, _)| i as i32)
            .collect();
    }
}

/// What a Metadata response said about one topic we asked for.
pub(crate) enum TopicOutcome {
    Known,
    /// Retriable: not there (yet), leader election, ...
    Missing(i16),
    /// Not retriable (authorization, invalid name).
    Failed(i16),
}

#[derive(Debug, Default)]
pub(crate) struct Metadata {
    pub bootstrap: Vec<String>,
    pub brokers: HashMap<i32, String>,
    pub topics: super::hash::FastMap<Arc<str>, TopicMeta>,
    /// Topics we send to but have no metadata for yet.
    pub wanted: HashSet<Arc<str>>,
    pub last_refresh: Option<Instant>,
    /// Set by errors that make our view stale.
    pub stale: bool,
}

impl Metadata {
    pub fn new(bootstrap: Vec<String>) -> Self {
        Metadata {
            bootstrap,
            ..Default::default()
        }
    }

    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let p = self.topics.get(topic)?.partitions.get(partition as usize)?;
        (p.leader >= 0).then_some(p.leader)
    }

    pub fn node(&self, id: i32) -> Option<Node> {
        if id < 0 {
            let i = (-id - 1) as usize;
            return self.bootstrap.get(i).map(|a| Node {
                id,
                addr: a.clone(),
            });
        }
        self.brokers.get(&id).map(|a| Node {
            id,
            addr: a.clone(),
        })
    }

    /// Known brokers, then bootstrap addresses (used when none is known or
    /// every known one failed: re-bootstrap).
    pub fn candidates(&self) -> Vec<Node> {
        let mut v: Vec<Node> = self
            .brokers
            .iter()
            .map(|(id, a)| Node {
                id: *id,
                addr: a.clone(),
            })
            .collect();
        v.sort_by_key(|n| n.id);
        v.extend(self.bootstrap.iter().enumerate().map(|(i, a)| Node {
            id: -(i as i32) - 1,
            addr: a.clone(),
        }));
        v
    }

    pub fn request(&self) -> MetadataRequest {
        let mut names: Vec<&Arc<str>> = self.topics.keys().chain(self.wanted.iter()).collect();
        names.sort();
        names.dedup();
        MetadataRequest {
            topics: Some(
                names
                    .into_iter()
                    .map(|n| MetadataRequestTopic {
                        name: Some(n.to_string().into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            // As the Java producer: a broker with auto-creation on may create the topic.
            allow_auto_topic_creation: true,
            ..Default::default()
        }
    }

    /// Applies a response; returns what it said of each topic asked for.
    pub fn update(
        &mut self,
        resp: &MetadataResponse,
        now: Instant,
    ) -> Vec<(Arc<str>, TopicOutcome)> {
        if !resp.brokers.is_empty() {
            self.brokers = resp
                .brokers
                .iter()
                .map(|b| (b.node_id, format!("{}:{}", b.host, b.port)))
                .collect();
        }
        let mut outcomes = Vec::new();
        for t in &resp.topics {
            let Some(name) = t.name.as_ref() else {
                continue;
            };
            let key: Arc<str> = self
                .topics
                .get_key_value(name.as_str())
                .map(|(k, _)| k.clone())
                .or_else(|| self.wanted.get(name.as_str()).cloned())
                .unwrap_or_else(|| Arc::from(name.as_str()));
            match t.error_code {
                0 if !t.partitions.is_empty() => {
                    let n = t
                        .partitions
                        .iter()
                        .map(|p| p.partition_index)
                        .max()
                        .unwrap_or(-1)
                        + 1;
                    let mut parts = vec![
                        PartitionMeta {
                            leader: -1,
                            leader_epoch: -1
                        };
                        n.max(0) as usize
                    ];
                    for p in &t.partitions {
                        if p.partition_index >= 0 {
                            parts[p.partition_index as usize] = PartitionMeta {
                                leader: p.leader_id,
                                leader_epoch: p.leader_epoch,
                            };
                        }
                    }
                    let last_used = self.topics.get(&key).map_or(now, |m| m.last_used);
                    let mut meta = TopicMeta {
                        name: key.clone(),
                        partitions: parts,
                        available: Vec::new(),
                        last_used,
                    };
                    meta.refresh_available();
                    self.topics.insert(key.clone(), meta);
                    self.wanted.remove(&key);
                    outcomes.push((key, TopicOutcome::Known));
                }
                0 | 3 | 5 => outcomes.push((key, TopicOutcome::Missing(t.error_code))),
                code if crate::error::ErrorCode(code).is_retriable() => {
                    outcomes.push((key, TopicOutcome::Missing(code)))
                }
                code => outcomes.push((key, TopicOutcome::Failed(code))),
            }
        }
        self.last_refresh = Some(now);
        self.stale = false;
        outcomes
    }

    /// KIP-951: a Produce response named the new leader of a partition.
    pub fn apply_leader_hint(
        &mut self,
        topic: &str,
        partition: i32,
        leader: i32,
        epoch: i32,
    ) -> bool {
        let Some(t) = self.topics.get_mut(topic) else {
            return false;
        };
        let Some(p) = t.partitions.get_mut(partition as usize) else {
            return false;
        };
        if leader < 0 || epoch < p.leader_epoch || !self.brokers.contains_key(&leader) {
            return false;
        }
        p.leader = leader;
        p.leader_epoch = epoch;
        t.refresh_available();
        true
    }
}
