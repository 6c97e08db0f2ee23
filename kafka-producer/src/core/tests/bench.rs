//! A scripted cluster around one [`ProducerCore`]: every request is seen
//! (with the producer stamps of its batches), and each test decides per
//! request whether it is answered as a healthy broker would, with a
//! response of its own, a transport failure, or not at all (held).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::generated::{InitProducerIdResponse, MetadataResponse, ProduceResponse};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kafka_protocol::records::RecordBatch;

use crate::core::{PendingRecord, ProducerCore, Transmit, TransportFailure};
use crate::{DeliveryFuture, ProducerConfig, ProducerRecord};

/// A request the core sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub node: i32,
    pub addr: String,
    pub api: ApiKey,
    /// Per batch of a Produce: (partition, producer epoch, base sequence).
    pub stamps: Vec<(i32, i16, i32)>,
}

/// What happens to one request.
#[allow(clippy::large_enum_variant)] // test code: moved once per request
pub enum Answer {
    /// As a healthy broker: metadata, a producer id, every batch acked.
    Healthy,
    /// Never answered (until the test hands it back with `answer_held`).
    Hold,
    /// A transport failure; `true` when the connection could not be made.
    Fail(bool),
    Respond(ResponseKind),
}

pub struct Bench {
    pub core: ProducerCore,
    pub now: Instant,
    /// What Metadata requests are answered with.
    pub metadata: MetadataResponse,
    pub held: Vec<Transmit>,
    pub log: Vec<Sent>,
    offsets: HashMap<(String, i32), i64>,
}

/// A Metadata response: brokers `b<id>:9092`, and per topic its
/// partitions as (index, leader, leader epoch).
/// A partition in [`cluster`]: (index, leader, leader epoch).
pub type PartitionSpec = (i32, i32, i32);

/// A partition's part of a Produce answer: (index, error, KIP-951 leader and epoch).
pub type PartitionAnswer = (i32, kafka_protocol::ErrorCode, Option<(i32, i32)>);

pub fn cluster(brokers: &[i32], topics: &[(&str, &[PartitionSpec])]) -> MetadataResponse {
    MetadataResponse {
        brokers: brokers
            .iter()
            .map(|&id| MetadataResponseBroker {
                node_id: id,
                host: format!("b{id}").into(),
                port: 9092,
                ..Default::default()
            })
            .collect(),
        topics: topics
            .iter()
            .map(|(name, parts)| MetadataResponseTopic {
                name: Some(name.to_string().into()),
                partitions: parts
                    .iter()
                    .map(|&(index, leader, epoch)| MetadataResponsePartition {
                        partition_index: index,
                        leader_id: leader,
                        leader_epoch: epoch,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

impl Bench {
    /// A core with `props` over the defaults of these tests (bootstrap
    /// `b1:9092`, linger.ms 0), answered with `metadata`.
    pub fn new(props: &[(&str, &str)], metadata: MetadataResponse) -> Bench {
        let mut all = vec![("bootstrap.servers", "b1:9092"), ("linger.ms", "0")];
        all.extend_from_slice(props);
        let config = ProducerConfig::from_properties(all).unwrap();
        Bench {
            core: ProducerCore::new(Arc::new(config), 11).unwrap(),
            now: Instant::now(),
            metadata,
            held: Vec::new(),
            log: Vec::new(),
            offsets: HashMap::new(),
        }
    }

    /// Hands the core a record of `topic` (explicit partition, key).
    pub fn send(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&str>,
    ) -> DeliveryFuture {
        let mut record = ProducerRecord::new(topic).value("v");
        record.partition = partition;
        if let Some(k) = key {
            record = record.key(k.to_string());
        }
        let now = self.now;
        self.core
            .enqueue(PendingRecord::new(record, 1, 64), || now)
            .delivery
    }

    /// The healthy broker's answer to `t`.
    pub fn healthy(&mut self, t: &Transmit) -> ResponseKind {
        match &t.request {
            RequestKind::Metadata(_) => ResponseKind::Metadata(self.metadata.clone()),
            RequestKind::InitProducerId(_) => {
                ResponseKind::InitProducerId(InitProducerIdResponse {
                    producer_id: 7,
                    producer_epoch: 0,
                    ..Default::default()
                })
            }
            RequestKind::Produce(r) => {
                let responses = r
                    .topic_data
                    .iter()
                    .map(|td| TopicProduceResponse {
                        name: td.name.clone(),
                        partition_responses: td
                            .partition_data
                            .iter()
                            .map(|p| {
                                let at = self
                                    .offsets
                                    .entry((td.name.to_string(), p.index))
                                    .or_default();
                                let base_offset = *at;
                                *at += 1000;
                                PartitionProduceResponse {
                                    index: p.index,
                                    base_offset,
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect();
                ResponseKind::Produce(ProduceResponse {
                    responses,
                    ..Default::default()
                })
            }
            other => panic!("unexpected request {:?}", other.api_key()),
        }
    }

    /// Polls every request out of the core and answers each with `f`.
    pub fn step(&mut self, mut f: impl FnMut(&mut Bench, &Transmit) -> Answer) {
        while let Some(t) = self.core.poll_transmit(self.now) {
            self.log.push(sent(&t));
            match f(self, &t) {
                Answer::Healthy => {
                    let r = self.healthy(&t);
                    self.core
                        .handle_response(t.request_id, Ok(Some(r)), self.now);
                }
                Answer::Hold => self.held.push(t),
                Answer::Fail(connect_failed) => {
                    let failure = TransportFailure {
                        message: "test".into(),
                        connect_failed,
                        authentication: false,
                    };
                    self.core
                        .handle_response(t.request_id, Err(failure), self.now);
                }
                Answer::Respond(r) => {
                    self.core
                        .handle_response(t.request_id, Ok(Some(r)), self.now)
                }
            }
        }
    }

    /// Answers every request as a healthy broker.
    pub fn run(&mut self) {
        self.step(|_, _| Answer::Healthy);
    }

    /// Moves the clock and lets the core expire what is due.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.core.handle_timeout(self.now);
    }

    /// Answers the held requests as a healthy broker, oldest first.
    pub fn answer_held(&mut self) {
        for t in std::mem::take(&mut self.held) {
            let r = self.healthy(&t);
            self.core
                .handle_response(t.request_id, Ok(Some(r)), self.now);
        }
    }

    /// The Produce requests seen so far.
    pub fn produces(&self) -> Vec<&Sent> {
        self.log
            .iter()
            .filter(|s| s.api == ApiKey::Produce)
            .collect()
    }
}

/// A Produce response with one partition's `error` and, when given, its
/// current leader (KIP-951).
pub fn produce_error(topic: &str, partitions: &[PartitionAnswer]) -> ResponseKind {
    ResponseKind::Produce(ProduceResponse {
        responses: vec![TopicProduceResponse {
            name: topic.to_string().into(),
            partition_responses: partitions
                .iter()
                .map(|&(index, code, leader)| {
                    let mut p = PartitionProduceResponse {
                        index,
                        error_code: code.0,
                        base_offset: -1,
                        ..Default::default()
                    };
                    if let Some((leader_id, leader_epoch)) = leader {
                        p.current_leader.leader_id = leader_id;
                        p.current_leader.leader_epoch = leader_epoch;
                    }
                    p
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    })
}

pub(super) fn sent(t: &Transmit) -> Sent {
    let stamps = match &t.request {
        RequestKind::Produce(r) => r
            .topic_data
            .iter()
            .flat_map(|td| td.partition_data.iter())
            .filter_map(|p| {
                let (batch, _) = RecordBatch::parse(p.records.as_ref()?).ok()?;
                Some((p.index, batch.producer_epoch, batch.base_sequence))
            })
            .collect(),
        _ => Vec::new(),
    };
    Sent {
        node: t.node.id,
        addr: t.node.addr.clone(),
        api: t.request.api_key(),
        stamps,
    }
}

/// How long a test lets pass at most, stepping by the core's own timeouts.
pub fn drive(
    bench: &mut Bench,
    total: Duration,
    mut f: impl FnMut(&mut Bench, &Transmit) -> Answer,
) {
    let end = bench.now + total;
    while bench.now < end {
        bench.step(&mut f);
        let next = bench
            .core
            .poll_timeout()
            .unwrap_or(end)
            .max(bench.now + Duration::from_millis(1))
            .min(end);
        bench.now = next;
        bench.core.handle_timeout(bench.now);
    }
}
