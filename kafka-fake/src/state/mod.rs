//! The cluster's state and what each request does to it: a pure function of
//! (state, broker, request) to a response, with no I/O, so every rule here
//! is testable without a socket. The server (`server.rs`) only frames.
//! Here: the cluster (brokers, topics, leaders, faults) and its admin
//! APIs; the data path is in `records`, the transaction coordinator in
//! `txn`.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::generated::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::generated::create_topics_response::CreatableTopicResult;
use kafka_protocol::generated::delete_topics_response::DeletableTopicResult;
use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::{
    ApiVersionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, InitProducerIdRequest, InitProducerIdResponse, MetadataRequest,
    MetadataResponse, SaslAuthenticateResponse, SaslHandshakeResponse,
};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind, VersionRange};
use kafka_protocol::primitives::{StrBytes, Uuid};
use kafka_protocol::ErrorCode;

use crate::fault::Fault;
use crate::log::PartitionLog;

mod records;
mod txn;

pub(crate) use records::fetch_is_empty;
use txn::Coordinators;
pub use txn::{EndedTransaction, TxnOutcome};

/// The APIs the fake answers, each over the stable range of the schemas
/// (lowered by [`FakeClusterBuilder::max_version`](crate::FakeClusterBuilder::max_version)).
/// ApiVersions stops at v4: v5's cluster id check (KIP-1242) is not done here.
/// Consumer groups are not served beyond OffsetFetch of offsets committed
/// with a transaction.
pub(crate) const SERVED: &[(ApiKey, i16)] = &[
    (ApiKey::Produce, 13),
    (ApiKey::Fetch, 18),
    (ApiKey::ListOffsets, 11),
    (ApiKey::Metadata, 13),
    (ApiKey::ApiVersions, 4),
    (ApiKey::CreateTopics, 7),
    (ApiKey::DeleteTopics, 6),
    (ApiKey::InitProducerId, 5),
    (ApiKey::FindCoordinator, 6),
    // v4+ is broker-to-broker.
    (ApiKey::AddPartitionsToTxn, 3),
    (ApiKey::AddOffsetsToTxn, 4),
    // v6 names topics by id only.
    (ApiKey::TxnOffsetCommit, 5),
    (ApiKey::EndTxn, 5),
    // v10 names topics by id only.
    (ApiKey::OffsetFetch, 9),
    // v0 sends raw SASL tokens after the handshake: only v1 is served.
    (ApiKey::SaslHandshake, 1),
    (ApiKey::SaslAuthenticate, 2),
];

/// Lowest versions served above the schemas' own.
const SERVED_MIN: &[(ApiKey, i16)] = &[(ApiKey::SaslHandshake, 1)];

/// Kafka's default `message.max.bytes`.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_048_588;

/// The most partitions a fake cluster holds, all topics together.
pub const MAX_PARTITIONS: usize = 100_000;

/// A request the cluster received, for tests to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLogEntry {
    /// The broker that received it.
    pub broker: i32,
    /// Its API.
    pub api: ApiKey,
    /// Its version.
    pub version: i16,
}

/// What the server does with a request.
// One per request, moved once: not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Answer {
    /// Write this response.
    Respond(ResponseKind),
    /// Nothing to write (a Produce with acks=0).
    Nothing,
}

#[derive(Debug)]
pub(crate) struct Partition {
    pub leader: i32,
    pub leader_epoch: i32,
    /// The brokers holding a replica (the fake keeps one log: replicas are
    /// what metadata reports and where a leader may move).
    pub replicas: Vec<i32>,
    pub log: PartitionLog,
}

#[derive(Debug)]
pub(crate) struct Topic {
    pub id: Uuid,
    pub partitions: Vec<Partition>,
}

#[derive(Debug, Clone)]
pub(crate) struct BrokerInfo {
    pub id: i32,
    pub port: u16,
    pub up: bool,
    /// `broker.rack`, if any.
    pub rack: Option<String>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub brokers: Vec<BrokerInfo>,
    pub topics: BTreeMap<String, Topic>,
    pub auto_create: bool,
    pub default_partitions: i32,
    pub max_versions: HashMap<ApiKey, i16>,
    pub faults: Vec<Fault>,
    pub throttle_ms: i32,
    /// Kafka's `message.max.bytes`: the largest batch a Produce may carry.
    pub max_message_bytes: usize,
    pub requests: Vec<RequestLogEntry>,
    /// Users (name, password) every connection must authenticate as, with
    /// SASL; `None`: no SASL.
    pub sasl_users: Option<std::collections::BTreeMap<String, String>>,
    /// Acknowledge Produce without checking or storing (see `sink`).
    pub sink: bool,
    /// The finalized `transaction.version` (2: KIP-890's transactions v2).
    pub transaction_version: i16,
    pub coordinators: Coordinators,
    next_producer_id: i64,
    producer_epochs: HashMap<i64, i16>,
    /// The clock transaction timeouts are measured on, moved by the
    /// server before each request (`advance_clock`).
    now: std::time::Instant,
    next_topic_id: u64,
}

fn name(s: &StrBytes) -> String {
    s.as_str().to_string()
}

impl State {
    pub fn new(brokers: Vec<BrokerInfo>) -> Self {
        State {
            brokers,
            topics: BTreeMap::new(),
            auto_create: true,
            default_partitions: 1,
            max_versions: HashMap::new(),
            faults: Vec::new(),
            throttle_ms: 0,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            requests: Vec::new(),
            sasl_users: None,
            sink: false,
            transaction_version: 2,
            coordinators: Coordinators::default(),
            next_producer_id: 1000,
            producer_epochs: HashMap::new(),
            now: std::time::Instant::now(),
            next_topic_id: 1,
        }
    }

    /// The versions served of `api`, if any.
    pub fn served(&self, api: ApiKey) -> Option<VersionRange> {
        let (_, top) = SERVED.iter().find(|(k, _)| *k == api)?;
        let stable = api.stable_versions();
        let min = SERVED_MIN
            .iter()
            .find(|(k, _)| *k == api)
            .map_or(stable.min, |(_, v)| *v);
        let mut max = stable.max.min(*top);
        if let Some(cap) = self.max_versions.get(&api) {
            max = max.min(*cap);
        }
        (min <= max).then_some(VersionRange { min, max })
    }

    pub fn api_versions(&self) -> ApiVersionsResponse {
        ApiVersionsResponse {
            api_keys: SERVED
                .iter()
                .filter_map(|(api, _)| {
                    let r = self.served(*api)?;
                    Some(ApiVersion {
                        api_key: *api as i16,
                        min_version: r.min,
                        max_version: r.max,
                        ..Default::default()
                    })
                })
                .collect(),
            throttle_time_ms: self.throttle_ms,
            supported_features: vec![SupportedFeatureKey {
                name: "transaction.version".into(),
                min_version: 0,
                max_version: 2,
                ..Default::default()
            }],
            finalized_features_epoch: 1,
            finalized_features: vec![FinalizedFeatureKey {
                name: "transaction.version".into(),
                min_version_level: self.transaction_version,
                max_version_level: self.transaction_version,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// Creates a topic with its leaders spread over the brokers that are up.
    pub fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<Uuid, ErrorCode> {
        self.create_replicated_topic(topic, partitions, 1)
    }

    /// A topic whose partitions have `replication` replicas each, on
    /// consecutive brokers (the first one leads), as Kafka spreads them.
    pub fn create_replicated_topic(
        &mut self,
        topic: &str,
        partitions: i32,
        replication: i16,
    ) -> Result<Uuid, ErrorCode> {
        if self.topics.contains_key(topic) {
            return Err(ErrorCode::TOPIC_ALREADY_EXISTS);
        }
        if topic.is_empty() {
            return Err(ErrorCode::INVALID_TOPIC_EXCEPTION);
        }
        // The whole cluster holds at most MAX_PARTITIONS: a request cannot
        // make the fake allocate without bound.
        let held: usize = self.topics.values().map(|t| t.partitions.len()).sum();
        if partitions <= 0 || held + partitions as usize > MAX_PARTITIONS {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        let up: Vec<i32> = self.brokers.iter().filter(|b| b.up).map(|b| b.id).collect();
        if up.is_empty() {
            return Err(ErrorCode::BROKER_NOT_AVAILABLE);
        }
        let replication = usize::try_from(replication).unwrap_or(0);
        if replication == 0 || replication > up.len() {
            return Err(ErrorCode::INVALID_REPLICATION_FACTOR);
        }
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&0x6b61_666b_615f_6661u64.to_be_bytes());
        id[8..].copy_from_slice(&self.next_topic_id.to_be_bytes());
        self.next_topic_id += 1;
        let parts = (0..partitions as usize)
            .map(|p| Partition {
                leader: up[p % up.len()],
                replicas: (0..replication).map(|r| up[(p + r) % up.len()]).collect(),
                leader_epoch: 0,
                log: PartitionLog::default(),
            })
            .collect();
        self.topics.insert(
            topic.to_string(),
            Topic {
                id: Uuid(id),
                partitions: parts,
            },
        );
        Ok(Uuid(id))
    }

    /// Moves a partition's leader to `broker`, with a new leader epoch.
    pub fn move_leader(&mut self, topic: &str, partition: i32, broker: i32) -> bool {
        let Some(p) = self.partition_mut(topic, partition) else {
            return false;
        };
        // A broker outside the replicas becomes one (a reassignment).
        if !p.replicas.contains(&broker) {
            p.replicas.push(broker);
        }
        p.leader = broker;
        p.leader_epoch += 1;
        true
    }

    /// Whether `broker` is a broker of the cluster that is up.
    fn broker_up(&self, broker: i32) -> bool {
        self.brokers.iter().any(|b| b.id == broker && b.up)
    }

    /// Marks a broker down or up; a broker going down hands its partitions
    /// to the next broker that is up, as Kafka's controller elects a new
    /// leader.
    pub fn set_up(&mut self, broker: i32, up: bool) {
        for b in self.brokers.iter_mut().filter(|b| b.id == broker) {
            b.up = up;
        }
        if up {
            return;
        }
        let alive: Vec<i32> = self.brokers.iter().filter(|b| b.up).map(|b| b.id).collect();
        if alive.is_empty() {
            return;
        }
        for t in self.topics.values_mut() {
            for (i, p) in t.partitions.iter_mut().enumerate() {
                if p.leader == broker {
                    // Another replica that is up, else any broker up.
                    let next = p.replicas.iter().copied().find(|r| alive.contains(r));
                    p.leader = next.unwrap_or(alive[i % alive.len()]);
                    if !p.replicas.contains(&p.leader) {
                        p.replicas.push(p.leader);
                    }
                    p.leader_epoch += 1;
                }
            }
        }
    }

    pub fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut Partition> {
        let t = self.topics.get_mut(topic)?;
        t.partitions.get_mut(usize::try_from(partition).ok()?)
    }

    fn topic_by_id(&self, id: Uuid) -> Option<String> {
        self.topics
            .iter()
            .find(|(_, t)| t.id == id && id != Uuid::ZERO)
            .map(|(n, _)| n.clone())
    }

    /// Takes one use of the first fault matching `api` on `broker`, for
    /// `partition` when given (else only faults for no partition in particular).
    fn take_fault(
        &mut self,
        api: ApiKey,
        broker: i32,
        partition: Option<(&str, i32)>,
    ) -> Option<ErrorCode> {
        self.take_matching_fault(api, broker, partition, false)
    }

    /// As [`take_fault`](Self::take_fault), for the faults answered after
    /// the request took effect ([`Fault::after_append`]).
    fn take_fault_after_append(
        &mut self,
        api: ApiKey,
        broker: i32,
        partition: Option<(&str, i32)>,
    ) -> Option<ErrorCode> {
        self.take_matching_fault(api, broker, partition, true)
    }

    fn take_matching_fault(
        &mut self,
        api: ApiKey,
        broker: i32,
        partition: Option<(&str, i32)>,
        after_append: bool,
    ) -> Option<ErrorCode> {
        let i = self
            .faults
            .iter()
            .position(|f| f.matches(api, broker, partition, after_append))?;
        let code = self.faults[i].code;
        self.faults[i].remaining -= 1;
        if self.faults[i].remaining == 0 {
            self.faults.remove(i);
        }
        Some(code)
    }

    /// Notes a request `broker` received, for inspection.
    pub fn log(&mut self, broker: i32, api: ApiKey, version: i16) {
        self.requests.push(RequestLogEntry {
            broker,
            api,
            version,
        });
    }

    /// Every transaction the coordinator ended, in order.
    pub fn ended_transactions(&self) -> &[EndedTransaction] {
        &self.coordinators.ended
    }

    /// Answers one request `broker` received.
    pub fn handle(&mut self, broker: i32, version: i16, request: &RequestKind) -> Answer {
        let api = request.api_key();
        let fault = self.take_fault(api, broker, None);
        let response = match request {
            RequestKind::ApiVersions(_) => {
                let mut r = self.api_versions();
                if let Some(code) = fault {
                    r.error_code = code.0;
                }
                ResponseKind::ApiVersions(r)
            }
            RequestKind::Metadata(r) => ResponseKind::Metadata(self.metadata(r, fault)),
            RequestKind::CreateTopics(r) => {
                ResponseKind::CreateTopics(self.create_topics(r, fault))
            }
            RequestKind::DeleteTopics(r) => {
                ResponseKind::DeleteTopics(self.delete_topics(r, fault))
            }
            RequestKind::InitProducerId(r) => {
                ResponseKind::InitProducerId(self.init_producer_id(r, fault))
            }
            RequestKind::FindCoordinator(r) => {
                ResponseKind::FindCoordinator(self.find_coordinator(version, r, fault))
            }
            RequestKind::AddPartitionsToTxn(r) => {
                ResponseKind::AddPartitionsToTxn(self.add_partitions_to_txn(r, fault))
            }
            RequestKind::AddOffsetsToTxn(r) => {
                ResponseKind::AddOffsetsToTxn(self.add_offsets_to_txn(r, fault))
            }
            RequestKind::TxnOffsetCommit(r) => {
                ResponseKind::TxnOffsetCommit(self.txn_offset_commit(r, fault))
            }
            RequestKind::EndTxn(r) => ResponseKind::EndTxn(self.end_txn(version, r, fault)),
            RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(self.offset_fetch(r, fault)),
            // The server answers these when its listener takes SASL; here
            // they come out of turn, or to a listener without SASL.
            RequestKind::SaslHandshake(_) => ResponseKind::SaslHandshake(SaslHandshakeResponse {
                error_code: fault.unwrap_or(ErrorCode::ILLEGAL_SASL_STATE).0,
                ..Default::default()
            }),
            RequestKind::SaslAuthenticate(_) => {
                ResponseKind::SaslAuthenticate(SaslAuthenticateResponse {
                    error_code: fault.unwrap_or(ErrorCode::ILLEGAL_SASL_STATE).0,
                    ..Default::default()
                })
            }
            RequestKind::Produce(r) => {
                let response = self.produce(broker, version, r, fault);
                if r.acks == 0 {
                    return Answer::Nothing;
                }
                ResponseKind::Produce(response)
            }
            RequestKind::ListOffsets(r) => {
                ResponseKind::ListOffsets(self.list_offsets(broker, version, r, fault))
            }
            RequestKind::Fetch(r) => ResponseKind::Fetch(self.fetch(broker, r, fault)),
            // The server only hands over the APIs of `SERVED`.
            other => unreachable!("{} is not served", other.api_key()),
        };
        Answer::Respond(response)
    }

    fn broker_list(&self) -> Vec<MetadataResponseBroker> {
        self.brokers
            .iter()
            .filter(|b| b.up)
            .map(|b| MetadataResponseBroker {
                node_id: b.id,
                host: "127.0.0.1".into(),
                port: i32::from(b.port),
                rack: b.rack.clone().map(StrBytes::from_string),
                ..Default::default()
            })
            .collect()
    }

    fn metadata(&mut self, req: &MetadataRequest, fault: Option<ErrorCode>) -> MetadataResponse {
        let mut resp = MetadataResponse {
            throttle_time_ms: self.throttle_ms,
            brokers: self.broker_list(),
            cluster_id: Some("kafka-fake".into()),
            controller_id: self.brokers.iter().find(|b| b.up).map_or(-1, |b| b.id),
            ..Default::default()
        };
        if let Some(code) = fault {
            resp.error_code = code.0;
        }
        let names: Vec<(Option<String>, Uuid)> = match &req.topics {
            None => self
                .topics
                .keys()
                .map(|n| (Some(n.clone()), Uuid::ZERO))
                .collect(),
            Some(ts) => ts
                .iter()
                .map(|t| (t.name.as_ref().map(name), t.topic_id))
                .collect(),
        };
        for (topic, id) in names {
            let topic = topic.or_else(|| self.topic_by_id(id));
            let Some(topic) = topic else {
                resp.topics.push(MetadataResponseTopic {
                    error_code: ErrorCode::UNKNOWN_TOPIC_ID.0,
                    topic_id: id,
                    ..Default::default()
                });
                continue;
            };
            if !self.topics.contains_key(&topic)
                && self.auto_create
                && req.allow_auto_topic_creation
            {
                let _ = self.create_topic(&topic, self.default_partitions);
            }
            let entry = match self.topics.get(&topic) {
                None => MetadataResponseTopic {
                    error_code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0,
                    name: Some(topic.into()),
                    ..Default::default()
                },
                Some(t) => MetadataResponseTopic {
                    name: Some(topic.into()),
                    topic_id: t.id,
                    partitions: t
                        .partitions
                        .iter()
                        .enumerate()
                        .map(|(i, p)| MetadataResponsePartition {
                            partition_index: i as i32,
                            leader_id: p.leader,
                            leader_epoch: p.leader_epoch,
                            replica_nodes: p.replicas.clone(),
                            // Every replica of a broker that is up is in sync;
                            // the others are offline, as KRaft reports replicas
                            // of a fenced broker.
                            isr_nodes: p
                                .replicas
                                .iter()
                                .copied()
                                .filter(|r| self.broker_up(*r))
                                .collect(),
                            offline_replicas: p
                                .replicas
                                .iter()
                                .copied()
                                .filter(|r| !self.broker_up(*r))
                                .collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                },
            };
            resp.topics.push(entry);
        }
        resp
    }

    fn create_topics(
        &mut self,
        req: &CreateTopicsRequest,
        fault: Option<ErrorCode>,
    ) -> CreateTopicsResponse {
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let partitions = if t.num_partitions < 0 {
                    self.default_partitions
                } else {
                    t.num_partitions
                };
                // -1: the broker's default.replication.factor, 1.
                let replication = if t.replication_factor < 0 {
                    1
                } else {
                    t.replication_factor
                };
                let result = match fault {
                    Some(code) => Err(code),
                    None if req.validate_only => Ok(Uuid::ZERO),
                    None => self.create_replicated_topic(t.name.as_str(), partitions, replication),
                };
                let (topic_id, error_code) = match result {
                    Ok(id) => (id, 0),
                    Err(code) => (Uuid::ZERO, code.0),
                };
                CreatableTopicResult {
                    name: t.name.clone(),
                    topic_id,
                    error_code,
                    num_partitions: partitions,
                    replication_factor: replication,
                    ..Default::default()
                }
            })
            .collect();
        CreateTopicsResponse {
            throttle_time_ms: self.throttle_ms,
            topics,
            ..Default::default()
        }
    }

    fn delete_topics(
        &mut self,
        req: &DeleteTopicsRequest,
        fault: Option<ErrorCode>,
    ) -> DeleteTopicsResponse {
        let mut wanted: Vec<(Option<String>, Uuid)> = req
            .topic_names
            .iter()
            .map(|n| (Some(name(n)), Uuid::ZERO))
            .collect();
        wanted.extend(
            req.topics
                .iter()
                .map(|t| (t.name.as_ref().map(name), t.topic_id)),
        );
        let responses = wanted
            .into_iter()
            .map(|(topic, id)| {
                let topic = topic.or_else(|| self.topic_by_id(id));
                let error = match (&topic, fault) {
                    (_, Some(code)) => code,
                    (Some(t), None) if self.topics.remove(t).is_some() => ErrorCode::NONE,
                    _ => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                };
                DeletableTopicResult {
                    name: topic.map(StrBytes::from_string),
                    topic_id: id,
                    error_code: error.0,
                    ..Default::default()
                }
            })
            .collect();
        DeleteTopicsResponse {
            throttle_time_ms: self.throttle_ms,
            responses,
            ..Default::default()
        }
    }

    fn init_producer_id(
        &mut self,
        req: &InitProducerIdRequest,
        fault: Option<ErrorCode>,
    ) -> InitProducerIdResponse {
        let mut resp = InitProducerIdResponse {
            throttle_time_ms: self.throttle_ms,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        let outcome = if let Some(code) = fault {
            Err(code)
        } else if let Some(tid) = req.transactional_id.as_ref().filter(|t| !t.is_empty()) {
            self.init_transactional(tid.as_str(), req)
        } else if req.producer_id >= 0 {
            // KIP-360: the producer bumps its own epoch after an error.
            match self.producer_epochs.get(&req.producer_id) {
                Some(&e) if e == req.producer_epoch => Ok(self.next_epoch(req.producer_id, e)),
                _ => Err(ErrorCode::INVALID_PRODUCER_EPOCH),
            }
        } else {
            Ok((self.new_producer_id(), 0))
        };
        match outcome {
            Ok((id, epoch)) => {
                self.producer_epochs.insert(id, epoch);
                resp.producer_id = id;
                resp.producer_epoch = epoch;
            }
            Err(code) => resp.error_code = code.0,
        }
        resp
    }

    /// The epoch after `epoch`, or a new producer id when the epoch would
    /// overflow (as Kafka's coordinator does).
    pub(crate) fn next_epoch(&mut self, producer_id: i64, epoch: i16) -> (i64, i16) {
        if epoch < i16::MAX - 1 {
            (producer_id, epoch + 1)
        } else {
            (self.new_producer_id(), 0)
        }
    }

    pub(crate) fn new_producer_id(&mut self) -> i64 {
        self.next_producer_id += 1;
        self.next_producer_id
    }
}

#[cfg(test)]
mod tests;
