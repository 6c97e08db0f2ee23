//! The producer's view of the cluster: brokers, and for each topic it sends
//! to, the leader of every partition; when to refresh it, and from which
//! broker.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::generated::metadata_request::MetadataRequestTopic;
use kafka_protocol::generated::{MetadataRequest, MetadataResponse};
use kafka_protocol::primitives::Uuid;
use kafka_protocol::ErrorCode;

use super::accumulator::Accumulator;
use super::backoff::ExponentialBackoff;
use super::sender::Nodes;
use crate::error::ProducerError;

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
    /// Replicas, in-sync replicas and offline replicas (node ids), for
    /// `partitions_for`; boxed slices (16 bytes each, no allocation when
    /// empty) because there may be 10,000 partitions.
    pub replicas: Box<[i32]>,
    pub isr: Box<[i32]>,
    pub offline: Box<[i32]>,
}

#[derive(Debug, Clone)]
pub(crate) struct TopicMeta {
    /// The topic name (shared with the maps keyed by it).
    pub name: Arc<str>,
    /// The topic's id (Metadata v10+; zero when the broker gave none), for
    /// Produce v13.
    pub topic_id: Uuid,
    pub partitions: Vec<PartitionMeta>,
    /// Partitions with a leader, for the partitioners.
    pub available: Vec<i32>,
    /// Of those, the partitions led in the client's rack (KIP-1123; empty
    /// unless `partitioner.rack.aware` and `client.rack` are set).
    pub in_rack: Vec<i32>,
    /// Last record for the topic: idle topics leave the metadata (metadata.max.idle.ms).
    pub last_used: Instant,
}

impl TopicMeta {
    /// `available`, and `in_rack` for a client in `rack` (brokers' racks
    /// in `racks`).
    fn refresh_available(&mut self, rack: Option<&str>, racks: &HashMap<i32, Arc<str>>) {
        self.available = self
            .partitions
            .iter()
            .enumerate()
            .filter(|(_, p)| p.leader >= 0)
            .map(|(i, _)| i as i32)
            .collect();
        self.in_rack = match rack {
            Some(rack) => self
                .available
                .iter()
                .copied()
                .filter(|p| {
                    let leader = self.partitions[*p as usize].leader;
                    racks.get(&leader).is_some_and(|r| &**r == rack)
                })
                .collect(),
            None => Vec::new(),
        };
    }

    /// The partitions the built-in partitioner picks keyless records'
    /// sticky partition among: those led in the client's rack when there
    /// are any (KIP-1123), else all with a leader.
    pub fn sticky_candidates(&self) -> &[i32] {
        if self.in_rack.is_empty() {
            &self.available
        } else {
            &self.in_rack
        }
    }
}

/// Whether a topic's new partition list moved a leader (or its epoch) or
/// changed the partition count: an answer that says something new.
fn moved(before: &[PartitionMeta], after: &[PartitionMeta]) -> bool {
    before.len() != after.len()
        || before
            .iter()
            .zip(after)
            .any(|(b, a)| b.leader != a.leader || b.leader_epoch != a.leader_epoch)
}

/// A topic's partitions from a Metadata response, indexed by partition: the
/// indexes must be exactly 0..n-1, each once (as Java sizes the topic from
/// the list's length), so a hostile index cannot size an allocation.
fn partition_list(
    list: &[kafka_protocol::generated::metadata_response::MetadataResponsePartition],
) -> Result<Vec<PartitionMeta>, String> {
    let n = list.len();
    let mut parts: Vec<Option<PartitionMeta>> = vec![None; n];
    for p in list {
        let slot = usize::try_from(p.partition_index)
            .ok()
            .and_then(|i| parts.get_mut(i))
            .ok_or_else(|| format!("partition index {} in a list of {n}", p.partition_index))?;
        if slot.is_some() {
            return Err(format!("partition {} listed twice", p.partition_index));
        }
        *slot = Some(PartitionMeta {
            leader: p.leader_id,
            leader_epoch: p.leader_epoch,
            replicas: p.replica_nodes.as_slice().into(),
            isr: p.isr_nodes.as_slice().into(),
            offline: p.offline_replicas.as_slice().into(),
        });
    }
    // Every index is in 0..n and none repeats, so all n slots are filled.
    Ok(parts.into_iter().flatten().collect())
}

/// What a Metadata response said about one topic we asked for.
pub(crate) enum TopicOutcome {
    Known,
    /// Retriable: not there (yet), leader election, ...
    Missing(ErrorCode),
    /// Not retriable (authorization, invalid name).
    Failed(ErrorCode),
}

#[derive(Debug)]
pub(crate) struct Metadata {
    pub bootstrap: Vec<String>,
    pub brokers: HashMap<i32, String>,
    /// The brokers' racks, as metadata gives them (only kept for a
    /// rack-aware partitioner).
    pub racks: HashMap<i32, Arc<str>>,
    /// The client's rack when the partitioner is rack-aware.
    rack: Option<Arc<str>>,
    pub topics: super::hash::FastMap<Arc<str>, TopicMeta>,
    /// Topics we send to but have no metadata for yet.
    pub wanted: HashSet<Arc<str>>,
    pub last_refresh: Option<Instant>,
    /// The last answer to a request for every topic (`metadata.max.age.ms`
    /// counts from it); answers for new topics alone do not move it.
    last_full: Option<Instant>,
    /// The request in flight asks for wanted topics alone.
    partial: bool,
    /// Set by errors that make our view stale.
    pub stale: bool,
    /// A Metadata request is in flight.
    in_flight: bool,
    /// No request before this (retry.backoff.ms after the last one).
    retry_at: Option<Instant>,
    retry_backoff: Duration,
    /// Answers in a row that moved no leader and brought no topic (Java's
    /// `equivalentResponseCount`): after the last of them, a refresh asked
    /// for by stale leaders waits `refresh_backoff` for that many attempts
    /// (`retry.backoff.ms` doubling up to `retry.backoff.max.ms`, without
    /// jitter); topics still wanted do not wait for it.
    equivalent: u32,
    refresh_backoff: ExponentialBackoff,
    max_age: Duration,
    max_idle: Duration,
    /// Why the last Metadata request failed in transport (cleared by an answer).
    last_error: Option<Arc<str>>,
    /// Topics the last answer refused for good (authorization, invalid
    /// name), for `partitions_for`; cleared when the topic is known.
    pub refused: HashMap<Arc<str>, ErrorCode>,
    /// `metadata.recovery.strategy=rebootstrap`: the
    /// `metadata.recovery.rebootstrap.trigger.ms`; `None` for `none`.
    recovery: Option<Duration>,
    /// Since when Metadata requests have failed (cleared by an answer).
    failing_since: Option<Instant>,
}

impl Metadata {
    pub fn new(
        bootstrap: Vec<String>,
        retry_backoff: Duration,
        retry_backoff_max: Duration,
        max_age: Duration,
        max_idle: Duration,
        rack: Option<Arc<str>>,
        recovery: Option<Duration>,
    ) -> Self {
        Metadata {
            bootstrap,
            brokers: HashMap::new(),
            racks: HashMap::new(),
            rack,
            topics: Default::default(),
            wanted: HashSet::new(),
            last_refresh: None,
            last_full: None,
            partial: false,
            stale: false,
            in_flight: false,
            retry_at: None,
            retry_backoff,
            equivalent: 0,
            refresh_backoff: ExponentialBackoff::new(retry_backoff, retry_backoff_max),
            max_age,
            max_idle,
            last_error: None,
            refused: HashMap::new(),
            recovery,
            failing_since: None,
        }
    }

    /// Forgets the brokers learned (KIP-899): the next Metadata request
    /// goes to `bootstrap.servers`, resolved again when connecting.
    pub fn rebootstrap(&mut self, why: &str) {
        tracing::info!(
            why,
            "rebootstrap: the brokers learned are dropped, bootstrap.servers asked"
        );
        self.brokers.clear();
        self.racks.clear();
        self.failing_since = None;
        // Asked again after retry.backoff.ms, as any failed request is.
        self.stale = true;
    }

    /// Whether the cluster may ask for a rebootstrap (strategy `rebootstrap`).
    pub fn rebootstraps(&self) -> bool {
        self.recovery.is_some()
    }

    /// The Metadata request to send now, and where, if a refresh is due
    /// (topics wanted, a stale view, or `metadata.max.age.ms`).
    pub fn poll_request(&mut self, now: Instant, nodes: &Nodes) -> Option<(Node, MetadataRequest)> {
        if self.in_flight || self.bootstrap.is_empty() && self.brokers.is_empty() {
            return None;
        }
        let aged = self
            .last_full
            .is_some_and(|t| now.duration_since(t) >= self.max_age);
        let due = !self.wanted.is_empty() || self.stale || aged;
        if !due || self.next_allowed().is_some_and(|r| now < r) {
            return None;
        }
        if aged {
            // As Java: a periodic refresh starts the count again.
            self.equivalent = 0;
        }
        // KIP-1102: no metadata for the trigger time from the brokers known.
        if let (Some(trigger), Some(since)) = (self.recovery, self.failing_since) {
            if !self.brokers.is_empty() && now.duration_since(since) >= trigger {
                self.rebootstrap("no metadata for metadata.recovery.rebootstrap.trigger.ms");
            }
        }
        let node = self.pick_node(now, nodes)?;
        self.in_flight = true;
        self.retry_at = Some(super::later(now, self.retry_backoff));
        // As Java's partial update: new topics alone, unless the known
        // ones need asking too.
        self.partial = !self.wanted.is_empty() && !self.stale && !aged;
        Some((node, self.request()))
    }

    /// The Metadata request failed in transport; `error` says how (it goes
    /// into the error of records that time out waiting for metadata).
    pub fn request_failed(&mut self, now: Instant, error: Option<&str>) {
        self.in_flight = false;
        self.failing_since.get_or_insert(now);
        self.retry_at = Some(super::later(now, self.retry_backoff));
        self.last_error = error.map(Arc::from);
    }

    /// No request before this: the retry backoff and, unless a topic is
    /// wanted, the backoff of answers that said nothing new.
    fn next_allowed(&self) -> Option<Instant> {
        let quiet = (self.equivalent > 0 && self.wanted.is_empty())
            .then(|| {
                let wait = self.refresh_backoff.delay_by(self.equivalent, 1.0);
                self.last_refresh.map(|last| super::later(last, wait))
            })
            .flatten();
        self.retry_at.max(quiet)
    }

    /// Why the last Metadata request failed, while no later one succeeded.
    pub fn last_error(&self) -> Option<Arc<str>> {
        self.last_error.clone()
    }

    /// The error of a record that waited `waited` (`max.block.ms`) for
    /// metadata of `topic` that knows its (explicit) `partition`.
    pub fn not_known(
        &self,
        topic: String,
        partition: Option<i32>,
        waited: Duration,
    ) -> ProducerError {
        match (self.topics.get(topic.as_str()), partition) {
            (Some(meta), Some(partition)) => ProducerError::InvalidPartition {
                topic,
                partition,
                partitions: meta.partitions.len() as i32,
            },
            _ => ProducerError::TopicNotFound {
                topic,
                waited,
                last_error: self.last_error(),
            },
        }
    }

    /// A record needs `topic`'s metadata. A topic not asked for yet is
    /// asked for at once, whatever the backoff since the last request (as
    /// Java's `requestUpdateForNewTopics`): a producer's first record to
    /// each of many topics would otherwise wait `retry.backoff.ms` each.
    pub fn want(&mut self, topic: Arc<str>) {
        let known = self.topics.contains_key(&topic);
        if self.wanted.insert(topic) && !known {
            self.retry_at = None;
        }
    }

    /// A topic is not in the metadata yet: ask again after the backoff.
    pub fn retry_topic(&mut self, topic: Arc<str>, now: Instant) {
        self.wanted.insert(topic);
        self.retry_at = Some(super::later(now, self.retry_backoff));
    }

    /// A reachable node for metadata or InitProducerId: the known broker with
    /// the fewest requests in flight, else a bootstrap address (re-bootstrap
    /// when every known broker is backing off).
    pub fn pick_node(&self, now: Instant, nodes: &Nodes) -> Option<Node> {
        let candidates = self.candidates();
        candidates
            .iter()
            .filter(|n| n.id >= 0 && nodes.reachable(n.id, now))
            .min_by_key(|n| nodes.in_flight(n.id))
            .or_else(|| {
                // With metadata.recovery.strategy=none, bootstrap.servers
                // serve only until brokers are known (Java's rule).
                let bootstrap_allowed = self.brokers.is_empty() || self.recovery.is_some();
                candidates
                    .iter()
                    .filter(|_| bootstrap_allowed)
                    .find(|n| n.id < 0 && nodes.reachable(n.id, now))
            })
            .cloned()
    }

    /// metadata.max.idle.ms: topics without a record for that long leave
    /// the metadata (and its refreshes) unless they still hold batches.
    pub fn forget_idle(&mut self, now: Instant, acc: &Accumulator) {
        let idle = self.max_idle;
        self.topics.retain(|name, meta| {
            now.duration_since(meta.last_used) < idle || acc.holds_batches_of(name)
        });
    }

    /// When a refresh may be due: the retry backoff (while something is
    /// wanted or stale), an idle topic to forget, `metadata.max.age.ms`.
    pub fn wake_times(&self, records_waiting: bool) -> impl Iterator<Item = Instant> + '_ {
        let retry = self
            .next_allowed()
            .filter(|_| records_waiting || !self.wanted.is_empty() || self.stale);
        let idle = self
            .topics
            .values()
            .map(|m| m.last_used)
            .min()
            .map(|oldest| super::later(oldest, self.max_idle));
        let age = self.last_full.map(|last| super::later(last, self.max_age));
        retry.into_iter().chain(idle).chain(age)
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

    fn request(&self) -> MetadataRequest {
        let known = (!self.partial).then(|| self.topics.keys());
        let mut names: Vec<&Arc<str>> = known.into_iter().flatten().chain(&self.wanted).collect();
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
        self.in_flight = false;
        self.last_error = None;
        self.failing_since = None;
        if !resp.brokers.is_empty() {
            self.brokers = resp
                .brokers
                .iter()
                .map(|b| (b.node_id, format!("{}:{}", b.host, b.port)))
                .collect();
            if self.rack.is_some() {
                self.racks = resp
                    .brokers
                    .iter()
                    .filter_map(|b| Some((b.node_id, Arc::from(b.rack.as_ref()?.as_str()))))
                    .collect();
            }
        }
        let mut outcomes = Vec::new();
        let mut invalid = false;
        let mut news = false;
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
                    let parts = match partition_list(&t.partitions) {
                        Ok(parts) => parts,
                        Err(why) => {
                            // Not a view to act on: keep what we knew (if
                            // anything) and ask again after the backoff.
                            let why = format!("invalid metadata for topic {name}: {why}");
                            tracing::warn!(%why, "ignoring a topic's partition list");
                            self.last_error = Some(Arc::from(why));
                            invalid = true;
                            if !self.topics.contains_key(&key) {
                                outcomes.push((
                                    key,
                                    TopicOutcome::Missing(ErrorCode::UNKNOWN_SERVER_ERROR),
                                ));
                            }
                            continue;
                        }
                    };
                    let before = self.topics.get(&key);
                    news |= before.is_none_or(|m| moved(&m.partitions, &parts));
                    let last_used = before.map_or(now, |m| m.last_used);
                    let mut meta = TopicMeta {
                        name: key.clone(),
                        topic_id: t.topic_id,
                        partitions: parts,
                        available: Vec::new(),
                        in_rack: Vec::new(),
                        last_used,
                    };
                    meta.refresh_available(self.rack.as_deref(), &self.racks);
                    self.topics.insert(key.clone(), meta);
                    self.wanted.remove(&key);
                    self.refused.remove(&key);
                    outcomes.push((key, TopicOutcome::Known));
                }
                code => {
                    let code = ErrorCode(code);
                    // No partitions yet, unknown (auto-creation may be on),
                    // an election: ask again.
                    if code.is_ok() || code.is_retriable() {
                        outcomes.push((key, TopicOutcome::Missing(code)))
                    } else {
                        self.refused.insert(key.clone(), code);
                        outcomes.push((key, TopicOutcome::Failed(code)))
                    }
                }
            }
        }
        self.last_refresh = Some(now);
        if !self.partial || self.last_full.is_none() {
            self.last_full = Some(now);
        }
        // An answer for new topics alone says nothing of the known ones.
        self.stale = invalid || self.partial && self.stale;
        self.equivalent = if news {
            0
        } else {
            self.equivalent.saturating_add(1)
        };
        outcomes
    }

    /// KIP-951: a Produce response named the new leader of a partition.
    /// Taken only when its epoch is newer than ours and its broker is known.
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
        if leader < 0 || epoch <= p.leader_epoch || !self.brokers.contains_key(&leader) {
            return false;
        }
        p.leader = leader;
        p.leader_epoch = epoch;
        t.refresh_available(self.rack.as_deref(), &self.racks);
        true
    }
}
