//! Building each coordinator request, and where it goes.

use kafka_producer::core::{Node, TopicPartition};
use kafka_protocol::generated::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::generated::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::generated::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, DescribeTransactionsRequest, EndTxnRequest,
    FindCoordinatorRequest, InitProducerIdRequest, TxnOffsetCommitRequest,
};
use kafka_protocol::messages::{ApiKey, RequestKind};
use kafka_protocol::primitives::StrBytes;

use super::{CoordinatorKey, Target, TransactionManager, TxnRequest};

/// The coordinator requests, with the highest version this code implements
/// (see `kafka_producer::core::PRODUCER_VERSIONS` for why a table): a newer
/// broker's higher versions stay out of use.
pub const TXN_VERSIONS: &[(ApiKey, i16)] = &[
    // v3: one key (Kafka 2.x and later); v4+ batches keys.
    (ApiKey::FindCoordinator, 3),
    // v6 (two-phase commit) is unstable in Kafka 4.4.
    (ApiKey::InitProducerId, 5),
    // v4+ is for brokers, not clients.
    (ApiKey::AddPartitionsToTxn, 3),
    (ApiKey::AddOffsetsToTxn, 4),
    // v6 (KIP-1319) names topics by id only.
    (ApiKey::TxnOffsetCommit, 5),
    (ApiKey::EndTxn, 5),
    (ApiKey::DescribeTransactions, 0),
];

/// EndTxn and TxnOffsetCommit without transactions v2 (v5 means v2).
const LAST_VERSION_BEFORE_V2: i16 = 4;

impl TransactionManager {
    pub(super) fn target(&mut self, request: &TxnRequest) -> Target {
        match request {
            TxnRequest::FindCoordinator(_) => Target::Node(self.any_node()),
            TxnRequest::TxnOffsetCommit { group } => {
                match self.group_coordinators.get(&group.group_id) {
                    Some(node) => Target::Node(node.clone()),
                    None => Target::Discover(CoordinatorKey::Group(group.group_id.clone())),
                }
            }
            _ => match &self.coordinator {
                Some(node) => Target::Node(node.clone()),
                None => Target::Discover(CoordinatorKey::Transaction),
            },
        }
    }

    /// A broker to ask for coordinators: the bootstrap servers in turn.
    fn any_node(&mut self) -> Node {
        let servers = &self.config.bootstrap_servers;
        let i = self.next_bootstrap % servers.len().max(1);
        self.next_bootstrap = self.next_bootstrap.wrapping_add(1);
        Node {
            id: -(i as i32) - 1,
            addr: servers.get(i).cloned().unwrap_or_default(),
        }
    }

    /// The request body and its version cap (below [`TXN_VERSIONS`]);
    /// `None` when nothing is left to send (the partitions were added
    /// meanwhile, say).
    pub(super) fn build(&mut self, request: &TxnRequest) -> Option<(RequestKind, Option<i16>)> {
        let tid = self.transactional_id.clone();
        let (producer_id, producer_epoch) =
            self.producer.map_or((-1, -1), |p| (p.producer_id, p.epoch));
        let v1_cap = (!self.v2).then_some(LAST_VERSION_BEFORE_V2);
        Some(match request {
            TxnRequest::FindCoordinator(key) => {
                let (key, key_type) = match key {
                    CoordinatorKey::Transaction => (tid, 1),
                    CoordinatorKey::Group(g) => (StrBytes::from_string(g.clone()), 0),
                };
                let req = FindCoordinatorRequest {
                    key,
                    key_type,
                    ..Default::default()
                };
                (RequestKind::FindCoordinator(req), None)
            }
            TxnRequest::InitProducerId { bump } => {
                let (producer_id, producer_epoch) = if *bump {
                    (producer_id, producer_epoch)
                } else {
                    (-1, -1)
                };
                let req = InitProducerIdRequest {
                    transactional_id: Some(tid),
                    transaction_timeout_ms: i32::try_from(
                        self.config.transaction_timeout.as_millis(),
                    )
                    .unwrap_or(i32::MAX),
                    producer_id,
                    producer_epoch,
                    ..Default::default()
                };
                (RequestKind::InitProducerId(req), None)
            }
            TxnRequest::AddPartitions => {
                if self.new_partitions.is_empty() {
                    return None;
                }
                self.pending_partitions = std::mem::take(&mut self.new_partitions);
                let req = AddPartitionsToTxnRequest {
                    v3_and_below_transactional_id: tid,
                    v3_and_below_producer_id: producer_id,
                    v3_and_below_producer_epoch: producer_epoch,
                    v3_and_below_topics: by_topic(&self.pending_partitions),
                    ..Default::default()
                };
                (RequestKind::AddPartitionsToTxn(req), None)
            }
            TxnRequest::AddOffsets { group } => {
                let req = AddOffsetsToTxnRequest {
                    transactional_id: tid,
                    producer_id,
                    producer_epoch,
                    group_id: StrBytes::from_string(group.group_id.clone()),
                    ..Default::default()
                };
                (RequestKind::AddOffsetsToTxn(req), None)
            }
            TxnRequest::TxnOffsetCommit { group } => {
                let offsets = self.pending_offsets.get(&group.group_id)?;
                let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
                for (tp, o) in offsets {
                    let p = TxnOffsetCommitRequestPartition {
                        partition_index: tp.partition,
                        committed_offset: o.offset,
                        committed_leader_epoch: o.leader_epoch.unwrap_or(-1),
                        committed_metadata: o.metadata.clone().map(StrBytes::from_string),
                        ..Default::default()
                    };
                    match topics.iter_mut().find(|t| t.name.as_str() == &*tp.topic) {
                        Some(t) => t.partitions.push(p),
                        None => topics.push(TxnOffsetCommitRequestTopic {
                            name: StrBytes::from_string(tp.topic.to_string()),
                            partitions: vec![p],
                            ..Default::default()
                        }),
                    }
                }
                let req = TxnOffsetCommitRequest {
                    transactional_id: tid,
                    group_id: StrBytes::from_string(group.group_id.clone()),
                    producer_id,
                    producer_epoch,
                    generation_id_or_member_epoch: group.generation_id,
                    member_id: StrBytes::from_string(group.member_id.clone()),
                    group_instance_id: group.group_instance_id.clone().map(StrBytes::from_string),
                    topics,
                    ..Default::default()
                };
                (RequestKind::TxnOffsetCommit(req), v1_cap)
            }
            TxnRequest::EndTxn { commit } => {
                let req = EndTxnRequest {
                    transactional_id: tid,
                    producer_id,
                    producer_epoch,
                    committed: *commit,
                    ..Default::default()
                };
                (RequestKind::EndTxn(req), v1_cap)
            }
            TxnRequest::DescribeState { .. } => {
                let req = DescribeTransactionsRequest {
                    transactional_ids: vec![tid],
                    ..Default::default()
                };
                (RequestKind::DescribeTransactions(req), None)
            }
        })
    }
}

/// Partitions grouped by topic, as AddPartitionsToTxn lists them.
fn by_topic<'a>(tps: impl IntoIterator<Item = &'a TopicPartition>) -> Vec<AddPartitionsToTxnTopic> {
    let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
    for tp in tps {
        match topics.iter_mut().find(|t| t.name.as_str() == &*tp.topic) {
            Some(t) => t.partitions.push(tp.partition),
            None => topics.push(AddPartitionsToTxnTopic {
                name: StrBytes::from_string(tp.topic.to_string()),
                partitions: vec![tp.partition],
                ..Default::default()
            }),
        }
    }
    topics
}
