//! The transaction coordinator and group offsets: transactional producer
//! ids and epochs (fencing), partitions and groups in a transaction, offsets
//! committed with it, and commit/abort markers written to each partition.
//! Transactions v1 (partitions added with AddPartitionsToTxn) and v2
//! (KIP-890: added by the first Produce, the epoch bumped by every EndTxn)
//! after the `transaction.version` the cluster finalizes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use kafka_protocol::generated::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::generated::find_coordinator_response::Coordinator;
use kafka_protocol::generated::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::generated::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::generated::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, InitProducerIdRequest, OffsetFetchRequest, OffsetFetchResponse,
    TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use kafka_protocol::primitives::StrBytes;
use kafka_protocol::ErrorCode;

use super::State;

/// One transactional id's state at the coordinator.
#[derive(Debug, Default)]
pub(crate) struct Txn {
    pub producer_id: i64,
    pub epoch: i16,
    /// The producer's `transaction.timeout.ms`, from InitProducerId.
    pub timeout: Duration,
    /// When the open transaction got its first partition or group.
    pub started: Option<Instant>,
    /// The epoch whose transaction the coordinator aborted on timeout (the
    /// epoch is now one more): with transactions v2 that producer's own
    /// abort is answered with success and the new epoch, as Kafka does.
    pub timed_out_epoch: Option<i16>,
    /// Partitions in the open transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// Groups in the open transaction, and the offsets sent for them.
    pub groups: BTreeSet<String>,
    pub pending_offsets: BTreeMap<(String, String, i32), i64>,
}

/// Coordinators and committed offsets.
#[derive(Debug, Default)]
pub(crate) struct Coordinators {
    pub txns: HashMap<String, Txn>,
    /// (group, topic, partition) -> committed offset.
    pub offsets: BTreeMap<(String, String, i32), i64>,
    /// Every transaction that ended, in the order it ended.
    pub ended: Vec<EndedTransaction>,
}

/// How a transaction ended, as
/// [`FakeCluster::transactions`](crate::FakeCluster::transactions) reports
/// it (an example is there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnOutcome {
    /// Committed by its producer (EndTxn).
    Committed,
    /// Aborted by its producer (EndTxn).
    Aborted,
    /// Aborted by the coordinator: a new producer with the same
    /// transactional id called InitProducerId.
    AbortedByFencing,
    /// Aborted by the coordinator: it stayed open longer than its
    /// producer's `transaction.timeout.ms`. The epoch is bumped, so the
    /// producer is fenced (PRODUCER_FENCED), as Kafka does.
    AbortedOnTimeout,
}

/// A transaction the coordinator ended, for inspection
/// ([`FakeCluster::transactions`](crate::FakeCluster::transactions), which
/// has an example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedTransaction {
    /// The producer's `transactional.id`.
    pub transactional_id: String,
    /// The producer id and the epoch of the transaction's control records:
    /// the producer's own, or one more after a timeout (the coordinator
    /// bumps it before aborting).
    pub producer_id: i64,
    /// See `producer_id`.
    pub producer_epoch: i16,
    /// How it ended.
    pub outcome: TxnOutcome,
    /// The partitions it wrote to (each got a control record).
    pub partitions: Vec<(String, i32)>,
    /// The consumer groups whose offsets it carried.
    pub groups: Vec<String>,
}

impl Txn {
    /// Notes that the open transaction has something in it.
    fn began(&mut self, now: Instant) {
        self.started.get_or_insert(now);
    }
}

fn s(b: &StrBytes) -> String {
    b.as_str().to_string()
}

impl State {
    /// Every key's coordinator is the first broker up.
    fn coordinator(&self) -> Option<(i32, u16)> {
        self.brokers.iter().find(|b| b.up).map(|b| (b.id, b.port))
    }

    pub(crate) fn find_coordinator(
        &mut self,
        version: i16,
        req: &FindCoordinatorRequest,
        fault: Option<ErrorCode>,
    ) -> FindCoordinatorResponse {
        let found = match fault {
            Some(code) => Err(code),
            None => self
                .coordinator()
                .ok_or(ErrorCode::COORDINATOR_NOT_AVAILABLE),
        };
        let (error_code, node_id, port) = match found {
            Ok((id, port)) => (0, id, i32::from(port)),
            Err(code) => (code.0, -1, -1),
        };
        let mut resp = FindCoordinatorResponse {
            throttle_time_ms: self.throttle_ms,
            ..Default::default()
        };
        if version < 4 {
            resp.error_code = error_code;
            resp.node_id = node_id;
            resp.host = "127.0.0.1".into();
            resp.port = port;
            return resp;
        }
        // v4+ asks for several keys at once.
        resp.coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| Coordinator {
                key: k.clone(),
                node_id,
                host: "127.0.0.1".into(),
                port,
                error_code,
                ..Default::default()
            })
            .collect();
        resp
    }

    /// InitProducerId with a transactional id: a new producer id, or the
    /// next epoch of the id's producer (fencing the previous one, whose open
    /// transaction is aborted).
    pub(crate) fn init_transactional(
        &mut self,
        tid: &str,
        req: &InitProducerIdRequest,
    ) -> Result<(i64, i16), ErrorCode> {
        if let Some(t) = self.coordinators.txns.get(tid) {
            if req.producer_id >= 0
                && (req.producer_id, req.producer_epoch) != (t.producer_id, t.epoch)
            {
                return Err(ErrorCode::PRODUCER_FENCED);
            }
        }
        let existing = self
            .coordinators
            .txns
            .get(tid)
            .map(|t| (t.producer_id, t.epoch));
        let (pid, epoch) = match existing {
            Some((pid, epoch)) => {
                self.end_open(tid, TxnOutcome::AbortedByFencing);
                self.next_epoch(pid, epoch)
            }
            None => (self.new_producer_id(), 0),
        };
        let t = self.coordinators.txns.entry(tid.to_string()).or_default();
        t.producer_id = pid;
        t.epoch = epoch;
        t.timeout = Duration::from_millis(u64::try_from(req.transaction_timeout_ms).unwrap_or(0));
        Ok((pid, epoch))
    }

    /// Checks that (pid, epoch) is the transactional id's current producer.
    fn current(&self, tid: &str, pid: i64, epoch: i16) -> Result<(), ErrorCode> {
        match self.coordinators.txns.get(tid) {
            None => Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING),
            Some(t) if t.producer_id != pid => Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING),
            Some(t) if epoch < t.epoch => Err(ErrorCode::PRODUCER_FENCED),
            Some(t) if epoch != t.epoch => Err(ErrorCode::INVALID_PRODUCER_EPOCH),
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn add_partitions_to_txn(
        &mut self,
        req: &AddPartitionsToTxnRequest,
        fault: Option<ErrorCode>,
    ) -> AddPartitionsToTxnResponse {
        let tid = s(&req.v3_and_below_transactional_id);
        let check = fault.map_or_else(
            || {
                self.current(
                    &tid,
                    req.v3_and_below_producer_id,
                    req.v3_and_below_producer_epoch,
                )
            },
            Err,
        );
        let mut results = Vec::new();
        for t in &req.v3_and_below_topics {
            let topic = s(&t.name);
            let mut parts = Vec::new();
            for p in &t.partitions {
                let code = match check {
                    Err(code) => code,
                    Ok(()) if self.partition_mut(&topic, *p).is_none() => {
                        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                    }
                    Ok(()) => {
                        let now = self.now;
                        let txn = self.coordinators.txns.get_mut(&tid).expect("checked");
                        txn.began(now);
                        txn.partitions.insert((topic.clone(), *p));
                        ErrorCode::NONE
                    }
                };
                parts.push(AddPartitionsToTxnPartitionResult {
                    partition_index: *p,
                    partition_error_code: code.0,
                    ..Default::default()
                });
            }
            results.push(AddPartitionsToTxnTopicResult {
                name: t.name.clone(),
                results_by_partition: parts,
                ..Default::default()
            });
        }
        AddPartitionsToTxnResponse {
            throttle_time_ms: self.throttle_ms,
            results_by_topic_v3_and_below: results,
            ..Default::default()
        }
    }

    pub(crate) fn add_offsets_to_txn(
        &mut self,
        req: &AddOffsetsToTxnRequest,
        fault: Option<ErrorCode>,
    ) -> AddOffsetsToTxnResponse {
        let tid = s(&req.transactional_id);
        let result = fault.map_or_else(
            || self.current(&tid, req.producer_id, req.producer_epoch),
            Err,
        );
        if result.is_ok() {
            let now = self.now;
            let txn = self.coordinators.txns.get_mut(&tid).expect("checked");
            txn.began(now);
            txn.groups.insert(s(&req.group_id));
        }
        AddOffsetsToTxnResponse {
            throttle_time_ms: self.throttle_ms,
            error_code: result.err().map_or(0, |c| c.0),
            ..Default::default()
        }
    }

    pub(crate) fn txn_offset_commit(
        &mut self,
        req: &TxnOffsetCommitRequest,
        fault: Option<ErrorCode>,
    ) -> TxnOffsetCommitResponse {
        let tid = s(&req.transactional_id);
        let group = s(&req.group_id);
        let check = fault
            .map_or_else(
                || self.current(&tid, req.producer_id, req.producer_epoch),
                Err,
            )
            .and_then(|()| {
                let in_txn = self.coordinators.txns[&tid].groups.contains(&group);
                // v2 adds the group implicitly; v1 needs AddOffsetsToTxn first.
                if in_txn || self.transaction_version >= 2 {
                    Ok(())
                } else {
                    Err(ErrorCode::INVALID_TXN_STATE)
                }
            });
        let mut topics = Vec::new();
        for t in &req.topics {
            let mut parts = Vec::new();
            for p in &t.partitions {
                let code = match check {
                    Err(code) => code,
                    Ok(()) => {
                        let txn = self.coordinators.txns.get_mut(&tid).expect("checked");
                        txn.groups.insert(group.clone());
                        txn.pending_offsets.insert(
                            (group.clone(), s(&t.name), p.partition_index),
                            p.committed_offset,
                        );
                        ErrorCode::NONE
                    }
                };
                parts.push(TxnOffsetCommitResponsePartition {
                    partition_index: p.partition_index,
                    error_code: code.0,
                    ..Default::default()
                });
            }
            topics.push(TxnOffsetCommitResponseTopic {
                name: t.name.clone(),
                topic_id: t.topic_id,
                partitions: parts,
                ..Default::default()
            });
        }
        TxnOffsetCommitResponse {
            throttle_time_ms: self.throttle_ms,
            topics,
            ..Default::default()
        }
    }

    pub(crate) fn end_txn(
        &mut self,
        version: i16,
        req: &EndTxnRequest,
        fault: Option<ErrorCode>,
    ) -> EndTxnResponse {
        let tid = s(&req.transactional_id);
        let mut resp = EndTxnResponse {
            throttle_time_ms: self.throttle_ms,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        let v2 = version >= 5;
        if v2 && !req.committed {
            if let Some(t) = self.coordinators.txns.get_mut(&tid) {
                let late_abort = t.producer_id == req.producer_id
                    && t.timed_out_epoch == Some(req.producer_epoch);
                if late_abort && fault.is_none() {
                    // The coordinator already aborted it: done, and the
                    // producer goes on with the epoch the abort bumped.
                    t.timed_out_epoch = None;
                    resp.producer_id = t.producer_id;
                    resp.producer_epoch = t.epoch;
                    return resp;
                }
            }
        }
        let check = fault
            .map_or_else(
                || self.current(&tid, req.producer_id, req.producer_epoch),
                Err,
            )
            .and_then(|()| {
                let t = &self.coordinators.txns[&tid];
                let empty = t.partitions.is_empty() && t.groups.is_empty();
                // v1 has nothing to end in an empty transaction.
                if empty && !v2 {
                    Err(ErrorCode::INVALID_TXN_STATE)
                } else {
                    Ok(())
                }
            });
        if let Err(code) = check {
            resp.error_code = code.0;
            return resp;
        }
        let outcome = if req.committed {
            TxnOutcome::Committed
        } else {
            TxnOutcome::Aborted
        };
        self.end_open(&tid, outcome);
        if v2 {
            // KIP-890: every transaction ends with a new epoch.
            let t = &self.coordinators.txns[&tid];
            let (pid, epoch) = self.next_epoch(t.producer_id, t.epoch);
            let t = self.coordinators.txns.get_mut(&tid).expect("checked");
            t.producer_id = pid;
            t.epoch = epoch;
            let t = &self.coordinators.txns[&tid];
            resp.producer_id = t.producer_id;
            resp.producer_epoch = t.epoch;
        }
        resp
    }

    /// Writes the markers of `tid`'s open transaction and applies (commit)
    /// or drops (abort) its offsets.
    fn end_open(&mut self, tid: &str, outcome: TxnOutcome) {
        let Some(t) = self.coordinators.txns.get_mut(tid) else {
            return;
        };
        let partitions = std::mem::take(&mut t.partitions);
        let offsets = std::mem::take(&mut t.pending_offsets);
        let groups = std::mem::take(&mut t.groups);
        t.started = None;
        let (pid, epoch) = (t.producer_id, t.epoch);
        let commit = outcome == TxnOutcome::Committed;
        for (topic, p) in &partitions {
            if let Some(part) = self.partition_mut(topic, *p) {
                part.log.write_marker(pid, epoch, commit);
            }
        }
        if commit {
            self.coordinators.offsets.extend(offsets);
        }
        if !partitions.is_empty() || !groups.is_empty() {
            self.coordinators.ended.push(EndedTransaction {
                transactional_id: tid.to_string(),
                producer_id: pid,
                producer_epoch: epoch,
                outcome,
                partitions: partitions.into_iter().collect(),
                groups: groups.into_iter().collect(),
            });
        }
    }

    /// Moves the clock to `now` and aborts every transaction open longer
    /// than its timeout, bumping its epoch (the producer is fenced).
    pub(crate) fn advance_clock(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let expired: Vec<String> = self
            .coordinators
            .txns
            .iter()
            .filter(|(_, t)| {
                t.started
                    .is_some_and(|s| self.now.duration_since(s) > t.timeout)
            })
            .map(|(tid, _)| tid.clone())
            .collect();
        for tid in expired {
            // The epoch first: the markers carry the new one, so a late
            // Produce of the old producer is refused.
            let t = &self.coordinators.txns[&tid];
            let (pid, epoch) = self.next_epoch(t.producer_id, t.epoch);
            self.producer_epochs.insert(pid, epoch);
            let t = self.coordinators.txns.get_mut(&tid).expect("listed");
            t.timed_out_epoch = (t.producer_id == pid).then_some(t.epoch);
            t.producer_id = pid;
            t.epoch = epoch;
            self.end_open(&tid, TxnOutcome::AbortedOnTimeout);
        }
    }

    /// Transactions v2: a transactional Produce adds its partition.
    pub(crate) fn produce_adds_partition(
        &mut self,
        pid: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
        produce_version: i16,
    ) -> Result<(), ErrorCode> {
        let Some((_, t)) = self
            .coordinators
            .txns
            .iter_mut()
            .find(|(_, t)| t.producer_id == pid)
        else {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        };
        // As the partition's log answers a batch of an older epoch (the
        // coordinator's markers carry the newer one).
        if epoch < t.epoch {
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        let key = (topic.to_string(), partition);
        if t.partitions.contains(&key) {
            return Ok(());
        }
        if self.transaction_version >= 2 && produce_version >= 12 {
            t.began(self.now);
            t.partitions.insert(key);
            Ok(())
        } else {
            Err(ErrorCode::INVALID_TXN_STATE)
        }
    }

    pub(crate) fn offset_fetch(
        &mut self,
        req: &OffsetFetchRequest,
        fault: Option<ErrorCode>,
    ) -> OffsetFetchResponse {
        let lookup = |state: &State, group: &str, topic: &str, p: i32| -> (i64, ErrorCode) {
            if let Some(code) = fault {
                return (-1, code);
            }
            let unstable = req.require_stable
                && state.coordinators.txns.values().any(|t| {
                    t.pending_offsets
                        .contains_key(&(group.to_string(), topic.to_string(), p))
                });
            if unstable {
                return (-1, ErrorCode::UNSTABLE_OFFSET_COMMIT);
            }
            let key = (group.to_string(), topic.to_string(), p);
            (
                state.coordinators.offsets.get(&key).copied().unwrap_or(-1),
                ErrorCode::NONE,
            )
        };
        let mut resp = OffsetFetchResponse {
            throttle_time_ms: self.throttle_ms,
            ..Default::default()
        };
        // v0-7: one group; v8+: several.
        let group = s(&req.group_id);
        for t in req.topics.iter().flatten() {
            let topic = s(&t.name);
            resp.topics.push(OffsetFetchResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partition_indexes
                    .iter()
                    .map(|p| {
                        let (offset, code) = lookup(self, &group, &topic, *p);
                        OffsetFetchResponsePartition {
                            partition_index: *p,
                            committed_offset: offset,
                            committed_leader_epoch: -1,
                            error_code: code.0,
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            });
        }
        for g in &req.groups {
            let group = s(&g.group_id);
            let topics = g
                .topics
                .iter()
                .flatten()
                .map(|t| {
                    let topic = s(&t.name);
                    OffsetFetchResponseTopics {
                        name: t.name.clone(),
                        topic_id: t.topic_id,
                        partitions: t
                            .partition_indexes
                            .iter()
                            .map(|p| {
                                let (offset, code) = lookup(self, &group, &topic, *p);
                                OffsetFetchResponsePartitions {
                                    partition_index: *p,
                                    committed_offset: offset,
                                    committed_leader_epoch: -1,
                                    error_code: code.0,
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        ..Default::default()
                    }
                })
                .collect();
            resp.groups.push(OffsetFetchResponseGroup {
                group_id: g.group_id.clone(),
                topics,
                ..Default::default()
            });
        }
        resp
    }
}
