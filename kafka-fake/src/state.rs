//! The cluster's state and what each request does to it: a pure function of
//! (state, broker, request) to a response, with no I/O, so every rule here
//! is testable without a socket. The server (`server.rs`) only frames.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::generated::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::generated::create_topics_response::CreatableTopicResult;
use kafka_protocol::generated::delete_topics_response::DeletableTopicResult;
use kafka_protocol::generated::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::generated::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::produce_response::{
    LeaderIdAndEpoch, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::generated::{
    ApiVersionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, FetchRequest, FetchResponse, InitProducerIdRequest,
    InitProducerIdResponse, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest,
    MetadataResponse, ProduceRequest, ProduceResponse, SaslAuthenticateResponse,
    SaslHandshakeResponse,
};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind, VersionRange};
use kafka_protocol::primitives::{StrBytes, Uuid};
use kafka_protocol::records::RecordBatch;
use kafka_protocol::ErrorCode;

use crate::fault::Fault;
use crate::log::PartitionLog;
use crate::txn::Coordinators;

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
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&0x6b61_666b_615f_6661u64.to_be_bytes());
        id[8..].copy_from_slice(&self.next_topic_id.to_be_bytes());
        self.next_topic_id += 1;
        let parts = (0..partitions as usize)
            .map(|p| Partition {
                leader: up[p % up.len()],
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
        p.leader = broker;
        p.leader_epoch += 1;
        true
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
                    p.leader = alive[i % alive.len()];
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
        let i = self
            .faults
            .iter()
            .position(|f| f.matches(api, broker, partition))?;
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

    /// Answers one request `broker` received.
    pub fn handle(&mut self, broker: i32, version: i16, request: RequestKind) -> Answer {
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
            RequestKind::Metadata(r) => ResponseKind::Metadata(self.metadata(&r, fault)),
            RequestKind::CreateTopics(r) => {
                ResponseKind::CreateTopics(self.create_topics(&r, fault))
            }
            RequestKind::DeleteTopics(r) => {
                ResponseKind::DeleteTopics(self.delete_topics(&r, fault))
            }
            RequestKind::InitProducerId(r) => {
                ResponseKind::InitProducerId(self.init_producer_id(&r, fault))
            }
            RequestKind::FindCoordinator(r) => {
                ResponseKind::FindCoordinator(self.find_coordinator(version, &r, fault))
            }
            RequestKind::AddPartitionsToTxn(r) => {
                ResponseKind::AddPartitionsToTxn(self.add_partitions_to_txn(&r, fault))
            }
            RequestKind::AddOffsetsToTxn(r) => {
                ResponseKind::AddOffsetsToTxn(self.add_offsets_to_txn(&r, fault))
            }
            RequestKind::TxnOffsetCommit(r) => {
                ResponseKind::TxnOffsetCommit(self.txn_offset_commit(&r, fault))
            }
            RequestKind::EndTxn(r) => ResponseKind::EndTxn(self.end_txn(version, &r, fault)),
            RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(self.offset_fetch(&r, fault)),
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
                let response = self.produce(broker, version, &r, fault);
                if r.acks == 0 {
                    return Answer::Nothing;
                }
                ResponseKind::Produce(response)
            }
            RequestKind::ListOffsets(r) => {
                ResponseKind::ListOffsets(self.list_offsets(broker, version, &r, fault))
            }
            RequestKind::Fetch(r) => ResponseKind::Fetch(self.fetch(broker, &r, fault)),
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
                            replica_nodes: vec![p.leader],
                            isr_nodes: vec![p.leader],
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
                let result = match fault {
                    Some(code) => Err(code),
                    None if req.validate_only => Ok(Uuid::ZERO),
                    None => self.create_topic(t.name.as_str(), partitions),
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
                    replication_factor: 1,
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
                Some(&e) if e == req.producer_epoch && e < i16::MAX - 1 => {
                    Ok((req.producer_id, e + 1))
                }
                Some(&e) if e == req.producer_epoch => Ok((self.new_producer_id(), 0)),
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

    pub(crate) fn new_transactional_id(&mut self) -> i64 {
        self.new_producer_id()
    }

    fn new_producer_id(&mut self) -> i64 {
        self.next_producer_id += 1;
        self.next_producer_id
    }

    /// The error of a partition request at `broker`, before any data: an
    /// injected fault, an unknown partition, a broker that does not lead it.
    fn partition_error(
        &mut self,
        api: ApiKey,
        broker: i32,
        topic: &str,
        partition: i32,
        request_fault: Option<ErrorCode>,
    ) -> Result<(), (ErrorCode, Option<(i32, i32)>)> {
        if let Some(code) =
            request_fault.or_else(|| self.take_fault(api, broker, Some((topic, partition))))
        {
            return Err((code, None));
        }
        let Some(p) = self.partition_mut(topic, partition) else {
            return Err((ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None));
        };
        if p.leader != broker {
            return Err((
                ErrorCode::NOT_LEADER_OR_FOLLOWER,
                Some((p.leader, p.leader_epoch)),
            ));
        }
        Ok(())
    }

    fn produce(
        &mut self,
        broker: i32,
        version: i16,
        req: &ProduceRequest,
        fault: Option<ErrorCode>,
    ) -> ProduceResponse {
        let mut responses = Vec::new();
        let acks_valid = matches!(req.acks, -1..=1);
        for t in &req.topic_data {
            let topic = if t.name.is_empty() {
                self.topic_by_id(t.topic_id)
            } else {
                Some(name(&t.name))
            };
            let mut partitions = Vec::new();
            for p in &t.partition_data {
                let mut pr = PartitionProduceResponse {
                    index: p.index,
                    base_offset: -1,
                    log_append_time_ms: -1,
                    ..Default::default()
                };
                let result = match &topic {
                    None => Err((ErrorCode::UNKNOWN_TOPIC_ID, None)),
                    Some(_) if !acks_valid => Err((ErrorCode::INVALID_REQUIRED_ACKS, None)),
                    Some(topic) => self
                        .partition_error(ApiKey::Produce, broker, topic, p.index, fault)
                        .and_then(|()| {
                            let records = p.records.clone().unwrap_or_default();
                            if self.sink {
                                let part = self.partition_mut(topic, p.index).expect("checked");
                                return Ok(part.log.sink(&records));
                            }
                            // A transactional batch's partition must be in its
                            // transaction (v2: the Produce adds it).
                            if let Ok((b, _)) = RecordBatch::parse(&records) {
                                if b.is_transactional() {
                                    self.produce_adds_partition(
                                        b.producer_id,
                                        b.producer_epoch,
                                        topic,
                                        p.index,
                                        version,
                                    )
                                    .map_err(|code| (code, None))?;
                                }
                            }
                            let max = self.max_message_bytes;
                            let part = self.partition_mut(topic, p.index).expect("checked");
                            part.log.append(&records, max).map_err(|code| (code, None))
                        }),
                };
                match result {
                    Ok(offset) => pr.base_offset = offset,
                    Err((code, leader)) => {
                        pr.error_code = code.0;
                        if let Some((leader_id, leader_epoch)) = leader {
                            pr.current_leader = LeaderIdAndEpoch {
                                leader_id,
                                leader_epoch,
                                ..Default::default()
                            };
                        }
                    }
                }
                partitions.push(pr);
            }
            responses.push(TopicProduceResponse {
                name: t.name.clone(),
                topic_id: t.topic_id,
                partition_responses: partitions,
                ..Default::default()
            });
        }
        ProduceResponse {
            responses,
            throttle_time_ms: self.throttle_ms,
            ..Default::default()
        }
    }

    fn list_offsets(
        &mut self,
        broker: i32,
        version: i16,
        req: &ListOffsetsRequest,
        fault: Option<ErrorCode>,
    ) -> ListOffsetsResponse {
        let mut topics = Vec::new();
        for t in &req.topics {
            let topic = name(&t.name);
            let mut partitions = Vec::new();
            for p in &t.partitions {
                let mut pr = ListOffsetsPartitionResponse {
                    partition_index: p.partition_index,
                    timestamp: -1,
                    offset: -1,
                    ..Default::default()
                };
                match self.partition_error(
                    ApiKey::ListOffsets,
                    broker,
                    &topic,
                    p.partition_index,
                    fault,
                ) {
                    Err((code, _)) => pr.error_code = code.0,
                    Ok(()) => {
                        let part = self
                            .partition_mut(&topic, p.partition_index)
                            .expect("checked");
                        if version >= 4 {
                            pr.leader_epoch = part.leader_epoch;
                        }
                        pr.offset = match p.timestamp {
                            // Latest (and latest tiered): the log end.
                            -1 | -5 => part.log.end_offset(),
                            // Earliest (and earliest local): the log start.
                            -2 | -4 => 0,
                            ts if ts >= 0 => part.log.offset_for_time(ts).unwrap_or(-1),
                            _ => part.log.end_offset(),
                        };
                    }
                }
                partitions.push(pr);
            }
            topics.push(ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions,
                ..Default::default()
            });
        }
        ListOffsetsResponse {
            throttle_time_ms: self.throttle_ms,
            topics,
            ..Default::default()
        }
    }

    fn fetch(
        &mut self,
        broker: i32,
        req: &FetchRequest,
        fault: Option<ErrorCode>,
    ) -> FetchResponse {
        let mut budget = usize::try_from(req.max_bytes).unwrap_or(0).max(1);
        let mut responses = Vec::new();
        for t in &req.topics {
            let topic = if t.topic.is_empty() {
                self.topic_by_id(t.topic_id)
            } else {
                Some(name(&t.topic))
            };
            let mut partitions = Vec::new();
            for p in &t.partitions {
                let mut pd = PartitionData {
                    partition_index: p.partition,
                    high_watermark: -1,
                    last_stable_offset: -1,
                    log_start_offset: -1,
                    preferred_read_replica: -1,
                    ..Default::default()
                };
                let checked = match &topic {
                    None => Err((ErrorCode::UNKNOWN_TOPIC_ID, None)),
                    Some(topic) => {
                        self.partition_error(ApiKey::Fetch, broker, topic, p.partition, fault)
                    }
                };
                match checked {
                    Err((code, _)) => pd.error_code = code.0,
                    Ok(()) => {
                        let topic = topic.as_deref().expect("checked");
                        let log = &self.partition_mut(topic, p.partition).expect("checked").log;
                        let end = log.end_offset();
                        let lso = log.last_stable_offset();
                        pd.high_watermark = end;
                        pd.last_stable_offset = lso;
                        pd.log_start_offset = 0;
                        if p.fetch_offset < 0 || p.fetch_offset > end {
                            pd.error_code = ErrorCode::OFFSET_OUT_OF_RANGE.0;
                        } else {
                            let max = usize::try_from(p.partition_max_bytes)
                                .unwrap_or(0)
                                .min(budget);
                            // read_committed stops at the last stable offset and names the
                            // aborted transactions to skip.
                            let committed = req.isolation_level == 1;
                            let upto = if committed { lso } else { i64::MAX };
                            let data = log.read(p.fetch_offset, upto, max);
                            if committed {
                                pd.aborted_transactions = Some(
                                    log.aborted_in(p.fetch_offset, upto)
                                        .into_iter()
                                        .map(|(producer_id, first_offset)| AbortedTransaction {
                                            producer_id,
                                            first_offset,
                                            ..Default::default()
                                        })
                                        .collect(),
                                );
                            }
                            budget = budget.saturating_sub(data.len());
                            pd.records = Some(data);
                        }
                    }
                }
                partitions.push(pd);
            }
            responses.push(FetchableTopicResponse {
                topic: t.topic.clone(),
                topic_id: t.topic_id,
                partitions,
                ..Default::default()
            });
        }
        FetchResponse {
            throttle_time_ms: self.throttle_ms,
            responses,
            ..Default::default()
        }
    }
}

/// Whether a Fetch response carries no record (a long poll waits then).
pub(crate) fn fetch_is_empty(resp: &FetchResponse) -> bool {
    resp.responses
        .iter()
        .flat_map(|t| &t.partitions)
        .all(|p| p.error_code == 0 && p.records.as_ref().is_none_or(|r| r.is_empty()))
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafka_protocol::generated::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::generated::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::generated::ApiVersionsRequest;

    use super::*;

    fn state() -> State {
        let mut s = State::new(vec![BrokerInfo {
            id: 1,
            port: 9092,
            up: true,
        }]);
        s.create_topic("t", 2).unwrap();
        s.throttle_ms = 5;
        s
    }

    /// A request of `api` naming topic "t" partition 0 where it names any.
    fn request(api: ApiKey) -> RequestKind {
        match api {
            ApiKey::Produce => RequestKind::Produce(ProduceRequest {
                acks: -1,
                topic_data: vec![TopicProduceData {
                    name: "t".into(),
                    partition_data: vec![PartitionProduceData::default()],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ApiKey::Fetch => RequestKind::Fetch(FetchRequest {
                max_bytes: 1 << 20,
                topics: vec![FetchTopic {
                    topic: "t".into(),
                    partitions: vec![FetchPartition {
                        partition_max_bytes: 1 << 20,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ApiKey::ListOffsets => RequestKind::ListOffsets(ListOffsetsRequest {
                topics: vec![ListOffsetsTopic {
                    name: "t".into(),
                    partitions: vec![ListOffsetsPartition {
                        timestamp: -1,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ApiKey::Metadata => RequestKind::Metadata(MetadataRequest::default()),
            ApiKey::ApiVersions => RequestKind::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::CreateTopics => RequestKind::CreateTopics(CreateTopicsRequest::default()),
            ApiKey::DeleteTopics => RequestKind::DeleteTopics(DeleteTopicsRequest::default()),
            ApiKey::InitProducerId => RequestKind::InitProducerId(InitProducerIdRequest {
                producer_id: -1,
                producer_epoch: -1,
                ..Default::default()
            }),
            ApiKey::FindCoordinator => RequestKind::FindCoordinator(Default::default()),
            ApiKey::AddPartitionsToTxn => RequestKind::AddPartitionsToTxn(Default::default()),
            ApiKey::AddOffsetsToTxn => RequestKind::AddOffsetsToTxn(Default::default()),
            ApiKey::TxnOffsetCommit => RequestKind::TxnOffsetCommit(Default::default()),
            ApiKey::EndTxn => RequestKind::EndTxn(Default::default()),
            ApiKey::OffsetFetch => RequestKind::OffsetFetch(Default::default()),
            ApiKey::SaslHandshake => RequestKind::SaslHandshake(Default::default()),
            ApiKey::SaslAuthenticate => RequestKind::SaslAuthenticate(Default::default()),
            other => unreachable!("{other} is not served"),
        }
    }

    #[test]
    fn every_answer_encodes_at_every_version_served() {
        let mut s = state();
        for (api, _) in SERVED {
            let range = s.served(*api).unwrap();
            for version in range.min..=range.max {
                let Answer::Respond(resp) = s.handle(1, version, request(*api)) else {
                    panic!("{api} v{version}: no answer");
                };
                let mut b = BytesMut::new();
                resp.encode(&mut b, version)
                    .unwrap_or_else(|e| panic!("{api} v{version}: {e}"));
            }
        }
    }

    #[test]
    fn versions_can_be_capped_to_play_an_older_broker() {
        let mut s = state();
        assert_eq!(s.served(ApiKey::Produce).unwrap().max, 13);
        s.max_versions.insert(ApiKey::Produce, 9);
        assert_eq!(s.served(ApiKey::Produce).unwrap().max, 9);
        assert!(
            s.served(ApiKey::JoinGroup).is_none(),
            "groups are not served"
        );
        let advertised = s.api_versions();
        let produce = advertised.api_keys.iter().find(|k| k.api_key == 0).unwrap();
        assert_eq!((produce.min_version, produce.max_version), (3, 9));
    }

    #[test]
    fn a_partition_not_led_here_names_its_leader() {
        let mut s = state();
        s.brokers.push(BrokerInfo {
            id: 2,
            port: 9093,
            up: true,
        });
        s.move_leader("t", 0, 2);
        let Answer::Respond(ResponseKind::Produce(resp)) =
            s.handle(1, 13, request(ApiKey::Produce))
        else {
            panic!("a Produce answer")
        };
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(ErrorCode(p.error_code), ErrorCode::NOT_LEADER_OR_FOLLOWER);
        assert_eq!(
            (p.current_leader.leader_id, p.current_leader.leader_epoch),
            (2, 1)
        );
    }
}
