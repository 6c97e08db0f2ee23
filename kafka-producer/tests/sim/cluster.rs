//! The fake cluster: three brokers, topics of partitions, each partition a
//! leader and an append-only log, and the broker's idempotence rules.
//!
//! A partition's log and producer state are shared by its replicas (acks=all:
//! whatever was acknowledged is on every replica), so a leader move loses
//! nothing; only the leader answers Produce.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;
use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::produce_response::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::generated::{
    InitProducerIdRequest, InitProducerIdResponse, MetadataRequest, MetadataResponse,
    ProduceRequest, ProduceResponse,
};
use kafka_protocol::primitives::{StrBytes, Uuid};
use kafka_protocol::records::{DefaultCodecs, RecordBatches};
use kafka_protocol::ErrorCode;

use super::rng::Rng;

pub const BROKERS: [i32; 3] = [1, 2, 3];

pub const NONE: i16 = ErrorCode::NONE.0;
pub const CORRUPT_MESSAGE: i16 = ErrorCode::CORRUPT_MESSAGE.0;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0;
pub const NOT_LEADER_OR_FOLLOWER: i16 = ErrorCode::NOT_LEADER_OR_FOLLOWER.0;
pub const MESSAGE_TOO_LARGE: i16 = ErrorCode::MESSAGE_TOO_LARGE.0;
pub const NOT_ENOUGH_REPLICAS: i16 = ErrorCode::NOT_ENOUGH_REPLICAS.0;
pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND.0;
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0;
pub const DUPLICATE_SEQUENCE_NUMBER: i16 = ErrorCode::DUPLICATE_SEQUENCE_NUMBER.0;
pub const INVALID_PRODUCER_EPOCH: i16 = ErrorCode::INVALID_PRODUCER_EPOCH.0;
pub const UNKNOWN_PRODUCER_ID: i16 = ErrorCode::UNKNOWN_PRODUCER_ID.0;

pub fn broker_addr(id: i32) -> String {
    format!("b{id}:9092")
}

pub fn broker_of_addr(addr: &str) -> Option<i32> {
    let id: i32 = addr
        .strip_prefix('b')?
        .strip_suffix(":9092")?
        .parse()
        .ok()?;
    BROKERS.contains(&id).then_some(id)
}

/// One record in a partition's log.
#[derive(Debug, Clone)]
pub struct Entry {
    pub offset: i64,
    pub producer_id: i64,
    pub epoch: i16,
    /// The record's own sequence (base sequence + index), -1 without idempotence.
    pub sequence: i32,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// What the broker remembers of one producer on one partition.
#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    last_seq: i32,
    /// The last 5 batches: (first sequence, last sequence, base offset).
    recent: VecDeque<(i32, i32, i64)>,
}

#[derive(Debug)]
pub struct Partition {
    pub leader: i32,
    pub leader_epoch: i32,
    pub log: Vec<Entry>,
    producers: HashMap<i64, ProducerEntry>,
    /// Batches appended whose success the producer has not heard of yet
    /// (producer id, epoch, base sequence). Producer state is only expired
    /// while this is empty: a real broker expires it after long inactivity,
    /// never under a retry in progress.
    pub unresolved: HashSet<(i64, i16, i32)>,
}

#[derive(Debug)]
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<Partition>,
}

/// Knobs of the per-partition faults of a Produce request.
#[derive(Debug, Clone)]
pub struct ProduceFaults {
    /// NOT_ENOUGH_REPLICAS (nothing written).
    pub not_enough_replicas: f64,
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND (written, but the producer hears an error).
    pub after_append: f64,
    /// A NOT_LEADER_OR_FOLLOWER answer names the new leader (KIP-951).
    pub leader_hint: f64,
    /// Batches above this many bytes get MESSAGE_TOO_LARGE.
    pub max_message_bytes: usize,
}

/// What happened to one batch of a Produce request.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    pub topic: String,
    pub partition: i32,
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
    pub appended: bool,
    pub code: i16,
}

#[derive(Debug)]
pub struct Cluster {
    pub alive: HashMap<i32, bool>,
    pub topics: Vec<Topic>,
    next_producer_id: i64,
    pub idempotent: bool,
    /// The sequence a new producer epoch starts at (0 as Kafka; tests of the
    /// wrap move it near 2^31-1).
    pub first_sequence: i32,
    /// The producer sends acks=0.
    pub acks_zero: bool,
    /// Protocol rules the producer broke (each one fails the seed).
    pub violations: Vec<String>,
    /// Counters for the summary.
    pub stats: ClusterStats,
}

#[derive(Debug, Default, Clone)]
pub struct ClusterStats {
    pub appended_batches: u64,
    pub codes: HashMap<i16, u64>,
    pub leader_moves: u64,
    pub expirations: u64,
    pub outages: u64,
}

impl Cluster {
    pub fn new(topics: &[(&str, usize)], idempotent: bool, rng: &mut Rng) -> Self {
        let topics = topics
            .iter()
            .enumerate()
            .map(|(t, (name, n))| Topic {
                name: name.to_string(),
                id: Uuid([t as u8 + 1; 16]),
                partitions: (0..*n)
                    .map(|_| Partition {
                        leader: BROKERS[rng.index(BROKERS.len())],
                        leader_epoch: 0,
                        log: Vec::new(),
                        producers: HashMap::new(),
                        unresolved: HashSet::new(),
                    })
                    .collect(),
            })
            .collect();
        Cluster {
            alive: BROKERS.iter().map(|b| (*b, true)).collect(),
            topics,
            next_producer_id: 1000,
            idempotent,
            first_sequence: 0,
            acks_zero: false,
            violations: Vec::new(),
            stats: ClusterStats::default(),
        }
    }

    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.name == name)
    }

    pub fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut Partition> {
        let t = self.topics.iter_mut().find(|t| t.name == topic)?;
        t.partitions.get_mut(usize::try_from(partition).ok()?)
    }

    pub fn live_brokers(&self) -> Vec<i32> {
        BROKERS.iter().copied().filter(|b| self.alive[b]).collect()
    }

    /// Moves the leadership of one partition to another live broker.
    pub fn move_leader(&mut self, topic: usize, partition: usize, rng: &mut Rng) {
        let live = self.live_brokers();
        let p = &mut self.topics[topic].partitions[partition];
        let others: Vec<i32> = live.into_iter().filter(|b| *b != p.leader).collect();
        if others.is_empty() {
            return;
        }
        p.leader = others[rng.index(others.len())];
        p.leader_epoch += 1;
        self.stats.leader_moves += 1;
    }

    /// Moves every leadership off a dead broker (the controller's failover).
    pub fn failover(&mut self, broker: i32, rng: &mut Rng) {
        for t in 0..self.topics.len() {
            for p in 0..self.topics[t].partitions.len() {
                if self.topics[t].partitions[p].leader == broker {
                    self.move_leader(t, p, rng);
                }
            }
        }
    }

    /// Forgets the producer state of one partition (producer.id.expiration.ms).
    pub fn expire_producers(&mut self, topic: usize, partition: usize) -> bool {
        let p = &mut self.topics[topic].partitions[partition];
        if p.producers.is_empty() {
            return false;
        }
        p.producers.clear();
        self.stats.expirations += 1;
        true
    }

    pub fn metadata(&self, req: &MetadataRequest) -> MetadataResponse {
        let brokers = self
            .live_brokers()
            .into_iter()
            .map(|id| MetadataResponseBroker {
                node_id: id,
                host: StrBytes::from_string(format!("b{id}")),
                port: 9092,
                ..Default::default()
            })
            .collect();
        let names: Vec<String> = match &req.topics {
            Some(ts) => ts
                .iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.as_str().to_string()))
                .collect(),
            None => self.topics.iter().map(|t| t.name.clone()).collect(),
        };
        let topics = names
            .into_iter()
            .map(|name| match self.topic(&name) {
                Some(t) => MetadataResponseTopic {
                    error_code: NONE,
                    name: Some(StrBytes::from_string(name)),
                    topic_id: t.id,
                    partitions: t
                        .partitions
                        .iter()
                        .enumerate()
                        .map(|(i, p)| MetadataResponsePartition {
                            error_code: NONE,
                            partition_index: i as i32,
                            leader_id: p.leader,
                            leader_epoch: p.leader_epoch,
                            replica_nodes: BROKERS.to_vec(),
                            isr_nodes: BROKERS.to_vec(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                },
                None => MetadataResponseTopic {
                    error_code: UNKNOWN_TOPIC_OR_PARTITION,
                    name: Some(StrBytes::from_string(name)),
                    ..Default::default()
                },
            })
            .collect();
        MetadataResponse {
            brokers,
            cluster_id: Some("sim".into()),
            controller_id: 1,
            topics,
            ..Default::default()
        }
    }

    pub fn init_producer_id(&mut self, req: &InitProducerIdRequest) -> InitProducerIdResponse {
        if req.transactional_id.is_some() {
            self.violations
                .push("InitProducerId with a transactional id from an idempotent producer".into());
        }
        let id = self.next_producer_id;
        self.next_producer_id += 1;
        InitProducerIdResponse {
            error_code: NONE,
            producer_id: id,
            producer_epoch: 0,
            ..Default::default()
        }
    }

    /// Handles a Produce request at `broker`.
    pub fn produce(
        &mut self,
        broker: i32,
        req: &ProduceRequest,
        faults: &ProduceFaults,
        rng: &mut Rng,
    ) -> (ProduceResponse, Vec<BatchOutcome>) {
        let expected_acks = if self.idempotent {
            -1
        } else if self.acks_zero {
            0
        } else {
            1
        };
        if req.acks != expected_acks {
            self.violations.push(format!(
                "Produce with acks={} (expected {expected_acks})",
                req.acks
            ));
        }
        if req.transactional_id.is_some() {
            self.violations
                .push("Produce with a transactional id".into());
        }
        let mut outcomes = Vec::new();
        let mut responses = Vec::new();
        let mut hinted_nodes = HashSet::new();
        for td in &req.topic_data {
            // v13 names the topic by id only; an id no topic has is
            // UNKNOWN_TOPIC_ID for each of its partitions.
            let name = if td.name.is_empty() {
                match self.topics.iter().find(|t| t.id == td.topic_id) {
                    Some(t) => t.name.clone(),
                    None => {
                        // A garbled Metadata response can teach the producer a
                        // wrong id: the broker's answer, not a violation.
                        *self
                            .stats
                            .codes
                            .entry(ErrorCode::UNKNOWN_TOPIC_ID.0)
                            .or_default() += td.partition_data.len() as u64;
                        responses.push(TopicProduceResponse {
                            topic_id: td.topic_id,
                            partition_responses: td
                                .partition_data
                                .iter()
                                .map(|pd| PartitionProduceResponse {
                                    index: pd.index,
                                    error_code: ErrorCode::UNKNOWN_TOPIC_ID.0,
                                    base_offset: -1,
                                    ..Default::default()
                                })
                                .collect(),
                            ..Default::default()
                        });
                        continue;
                    }
                }
            } else {
                td.name.as_str().to_string()
            };
            let mut partition_responses = Vec::new();
            for pd in &td.partition_data {
                let mut pr = PartitionProduceResponse {
                    index: pd.index,
                    base_offset: -1,
                    ..Default::default()
                };
                let (code, outcome) = self.produce_partition(
                    broker,
                    &name,
                    pd.index,
                    pd.records.as_ref(),
                    faults,
                    rng,
                    &mut pr,
                );
                pr.error_code = code;
                *self.stats.codes.entry(code).or_default() += 1;
                if code == NOT_LEADER_OR_FOLLOWER && pr.current_leader.leader_id >= 0 {
                    hinted_nodes.insert(pr.current_leader.leader_id);
                }
                if let Some(o) = outcome {
                    outcomes.push(o);
                }
                partition_responses.push(pr);
            }
            responses.push(TopicProduceResponse {
                name: StrBytes::from_string(name),
                topic_id: td.topic_id,
                partition_responses,
                ..Default::default()
            });
        }
        let mut node_endpoints: Vec<NodeEndpoint> = hinted_nodes
            .into_iter()
            .map(|id| NodeEndpoint {
                node_id: id,
                host: StrBytes::from_string(format!("b{id}")),
                port: 9092,
                ..Default::default()
            })
            .collect();
        node_endpoints.sort_by_key(|e| e.node_id);
        (
            ProduceResponse {
                responses,
                node_endpoints,
                ..Default::default()
            },
            outcomes,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn produce_partition(
        &mut self,
        broker: i32,
        topic: &str,
        index: i32,
        records: Option<&Bytes>,
        faults: &ProduceFaults,
        rng: &mut Rng,
        pr: &mut PartitionProduceResponse,
    ) -> (i16, Option<BatchOutcome>) {
        let idempotent = self.idempotent;
        let start = self.first_sequence;
        let Some(p) = self.partition_mut(topic, index) else {
            return (UNKNOWN_TOPIC_OR_PARTITION, None);
        };
        if p.leader != broker {
            let (leader_id, leader_epoch) = (p.leader, p.leader_epoch);
            if rng.chance(faults.leader_hint) {
                pr.current_leader = LeaderIdAndEpoch {
                    leader_id,
                    leader_epoch,
                    ..Default::default()
                };
            }
            return (NOT_LEADER_OR_FOLLOWER, None);
        }
        let Some(records) = records else {
            self.violations
                .push(format!("{topic}-{index}: Produce without records"));
            return (CORRUPT_MESSAGE, None);
        };
        let mut batches = RecordBatches::new(records.clone());
        let batch = match (batches.next(), batches.next(), batches.trailing_bytes()) {
            (Some(Ok(b)), None, 0) => b,
            other => {
                let what = match other {
                    (Some(Err(e)), _, _) => format!("unreadable batch: {e}"),
                    (None, _, _) => "no batch".to_string(),
                    _ => "more than one batch, or trailing bytes".to_string(),
                };
                self.violations.push(format!("{topic}-{index}: {what}"));
                return (CORRUPT_MESSAGE, None);
            }
        };
        let section = match batch.decompressed_records(&DefaultCodecs::default(), 64 << 20) {
            Ok(s) => s,
            Err(e) => {
                self.violations
                    .push(format!("{topic}-{index}: cannot decompress: {e}"));
                return (CORRUPT_MESSAGE, None);
            }
        };
        let mut recs = Vec::new();
        for r in batch.records_in(&section) {
            match r {
                Ok(r) => recs.push((
                    r.key.map(Bytes::copy_from_slice),
                    r.value.map(Bytes::copy_from_slice),
                )),
                Err(e) => {
                    self.violations
                        .push(format!("{topic}-{index}: bad record: {e}"));
                    return (CORRUPT_MESSAGE, None);
                }
            }
        }
        let (pid, epoch, first) = (batch.producer_id, batch.producer_epoch, batch.base_sequence);
        let count = batch.record_count;
        if recs.len() != count as usize || recs.is_empty() || batch.last_offset_delta != count - 1 {
            self.violations.push(format!(
                "{topic}-{index}: record count {count}, last offset delta {}, {} records decoded",
                batch.last_offset_delta,
                recs.len()
            ));
            return (CORRUPT_MESSAGE, None);
        }
        if batch.is_transactional() || batch.is_control() {
            self.violations
                .push(format!("{topic}-{index}: transactional or control batch"));
        }
        if idempotent && (pid < 0 || epoch < 0 || first < 0) {
            self.violations.push(format!("{topic}-{index}: idempotent batch without producer state ({pid}, {epoch}, {first})"));
            return (CORRUPT_MESSAGE, None);
        }
        if !idempotent && (pid, epoch, first) != (-1, -1, -1) {
            self.violations.push(format!("{topic}-{index}: non-idempotent batch with producer state ({pid}, {epoch}, {first})"));
        }
        let mut outcome = BatchOutcome {
            topic: topic.to_string(),
            partition: index,
            producer_id: pid,
            epoch,
            base_sequence: first,
            appended: false,
            code: NONE,
        };
        if records.len() > faults.max_message_bytes {
            outcome.code = MESSAGE_TOO_LARGE;
            return (MESSAGE_TOO_LARGE, Some(outcome));
        }
        if rng.chance(faults.not_enough_replicas) {
            outcome.code = NOT_ENOUGH_REPLICAS;
            return (NOT_ENOUGH_REPLICAS, Some(outcome));
        }
        let last = if pid >= 0 {
            add_sequence(first, count - 1)
        } else {
            -1
        };
        let p = self.partition_mut(topic, index).expect("checked above");
        if pid >= 0 {
            // The broker's rules (ProducerStateManager), as the simulation specifies them.
            let code = match p.producers.get(&pid) {
                None if first == start => NONE,
                None => UNKNOWN_PRODUCER_ID,
                Some(s) if epoch > s.epoch => {
                    if first == start {
                        NONE
                    } else {
                        OUT_OF_ORDER_SEQUENCE_NUMBER
                    }
                }
                Some(s) if epoch < s.epoch => INVALID_PRODUCER_EPOCH,
                Some(s) => {
                    if let Some(&(_, _, base)) =
                        s.recent.iter().find(|(f, l, _)| *f == first && *l == last)
                    {
                        pr.base_offset = base;
                        outcome.code = DUPLICATE_SEQUENCE_NUMBER;
                        return (DUPLICATE_SEQUENCE_NUMBER, Some(outcome));
                    }
                    if first == add_sequence(s.last_seq, 1) {
                        NONE
                    } else {
                        OUT_OF_ORDER_SEQUENCE_NUMBER
                    }
                }
            };
            if code != NONE {
                outcome.code = code;
                return (code, Some(outcome));
            }
        }
        // Append.
        let base = p.log.len() as i64;
        for (i, (key, value)) in recs.into_iter().enumerate() {
            let sequence = if pid >= 0 {
                add_sequence(first, i as i32)
            } else {
                -1
            };
            p.log.push(Entry {
                offset: base + i as i64,
                producer_id: pid,
                epoch,
                sequence,
                key,
                value,
            });
        }
        if pid >= 0 {
            let entry = p.producers.entry(pid).or_insert(ProducerEntry {
                epoch,
                last_seq: -1,
                recent: VecDeque::new(),
            });
            if entry.epoch != epoch {
                entry.epoch = epoch;
                entry.recent.clear();
            }
            entry.last_seq = last;
            entry.recent.push_back((first, last, base));
            if entry.recent.len() > 5 {
                entry.recent.pop_front();
            }
            p.unresolved.insert((pid, epoch, first));
        }
        self.stats.appended_batches += 1;
        pr.base_offset = base;
        outcome.appended = true;
        if rng.chance(faults.after_append) {
            outcome.code = NOT_ENOUGH_REPLICAS_AFTER_APPEND;
            return (NOT_ENOUGH_REPLICAS_AFTER_APPEND, Some(outcome));
        }
        (NONE, Some(outcome))
    }
}

/// Sequences wrap from 2^31-1 to 0.
pub fn add_sequence(seq: i32, n: i32) -> i32 {
    ((i64::from(seq) + i64::from(n)) % (i64::from(i32::MAX) + 1)) as i32
}
