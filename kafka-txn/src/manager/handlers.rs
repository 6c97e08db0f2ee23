//! What each coordinator response means (the Java client's handlers):
//! coordinator moves are rediscovered, retriable errors retried after
//! `retry.backoff.ms`, and the rest make the transaction abortable or the
//! producer fatal or fenced.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_producer::core::{Node, ProducerIdAndEpoch, TopicPartition};
use kafka_producer::{BrokerError, ErrorCode, FatalError, ProducerError};
use kafka_protocol::messages::ResponseKind;

use super::{CoordinatorKey, OperationKind, TransactionEvent, TransactionManager, TxnRequest};
use crate::error::TransactionError;
use crate::state::TransactionState;

/// Java's backoff for CONCURRENT_TRANSACTIONS on a transaction's first
/// AddPartitionsToTxn: the previous transaction is most likely still
/// writing its markers, which takes milliseconds.
const FIRST_ADD_CONCURRENT_BACKOFF: Duration = Duration::from_millis(20);

/// What a response's error code asks for.
enum Reaction {
    Done,
    /// The coordinator moved: find it again, then retry.
    Rediscover,
    /// Retry after a backoff.
    Retry(Duration),
    Abortable(TransactionError),
    Fatal(TransactionError),
}

fn message(m: Option<&kafka_protocol::primitives::StrBytes>) -> Option<Arc<str>> {
    m.map(|m| Arc::from(m.as_str()))
        .filter(|m: &Arc<str>| !m.is_empty())
}

fn fenced(code: ErrorCode, msg: Option<Arc<str>>) -> TransactionError {
    TransactionError::Fenced(BrokerError::new(code, msg))
}

fn fatal(code: ErrorCode, msg: Option<Arc<str>>) -> TransactionError {
    let b = BrokerError::new(code, msg);
    let e = match code {
        ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        | ErrorCode::CLUSTER_AUTHORIZATION_FAILED => FatalError::Unauthorized(b),
        ErrorCode::UNSUPPORTED_VERSION => FatalError::UnsupportedVersion(Arc::from(b.to_string())),
        ErrorCode::PRODUCER_FENCED | ErrorCode::INVALID_PRODUCER_ID_MAPPING => {
            FatalError::Fenced(b)
        }
        _ => FatalError::Broker(b),
    };
    TransactionError::fatal(ProducerError::Fatal(e))
}

fn abortable(code: ErrorCode, msg: Option<Arc<str>>) -> TransactionError {
    TransactionError::abortable(ProducerError::Broker(BrokerError::new(code, msg)))
}

impl TransactionManager {
    /// The reactions every handler shares, for the codes it does not treat
    /// on its own.
    fn common(&self, code: ErrorCode, msg: Option<Arc<str>>) -> Reaction {
        match code {
            ErrorCode::NONE => Reaction::Done,
            ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
                Reaction::Rediscover
            }
            c if c.is_retriable() => Reaction::Retry(self.config.retry_backoff),
            ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED => {
                Reaction::Fatal(fenced(code, msg))
            }
            ErrorCode::TRANSACTION_ABORTABLE => Reaction::Abortable(abortable(code, msg)),
            // KIP-360: recoverable with an epoch bump when the coordinator can.
            ErrorCode::UNKNOWN_PRODUCER_ID if self.capabilities.epoch_bump => {
                Reaction::Abortable(abortable(code, msg))
            }
            _ => Reaction::Fatal(fatal(code, msg)),
        }
    }

    /// Applies a reaction to `request`; returns whether it succeeded.
    fn react(&mut self, request: TxnRequest, reaction: Reaction, now: Instant) -> bool {
        match reaction {
            Reaction::Done => return true,
            Reaction::Rediscover => {
                self.forget_coordinator(&request);
                self.put_back(&request);
                self.retry(request, now, self.config.retry_backoff);
            }
            Reaction::Retry(backoff) => {
                self.put_back(&request);
                self.retry(request, now, backoff);
            }
            Reaction::Abortable(e) => {
                if matches!(request, TxnRequest::InitProducerId { .. })
                    || self.state == TransactionState::Aborting
                {
                    // Nothing left to abort with: the producer cannot go on.
                    self.fatal(e);
                } else {
                    if matches!(e.code(), Some(ErrorCode::UNKNOWN_PRODUCER_ID)) {
                        self.bump_required = true;
                    }
                    self.abortable(e);
                }
            }
            Reaction::Fatal(e) => self.fatal(e),
        }
        false
    }

    /// A request that goes again takes back what it had taken.
    fn put_back(&mut self, request: &TxnRequest) {
        if matches!(request, TxnRequest::AddPartitions) {
            let pending = std::mem::take(&mut self.pending_partitions);
            self.new_partitions.extend(pending);
        }
    }

    fn forget_coordinator(&mut self, request: &TxnRequest) {
        match request {
            TxnRequest::FindCoordinator(_) => {}
            TxnRequest::TxnOffsetCommit { group } => {
                self.group_coordinators.remove(&group.group_id);
            }
            _ => self.coordinator = None,
        }
    }

    pub(super) fn on_transport_failure(
        &mut self,
        request: TxnRequest,
        message: &str,
        now: Instant,
    ) {
        if matches!(request, TxnRequest::DescribeState { .. }) {
            self.completion_unknown(message);
            return;
        }
        tracing::debug!(
            ?request,
            error = message,
            "coordinator request failed; retrying"
        );
        if matches!(request, TxnRequest::EndTxn { .. }) {
            // It may have been applied: the next transaction gets a fresh epoch.
            self.end_outcome_unknown = true;
        }
        self.forget_coordinator(&request);
        self.put_back(&request);
        self.retry(request, now, self.config.retry_backoff);
    }

    pub(super) fn on_response(&mut self, request: TxnRequest, resp: ResponseKind, now: Instant) {
        match (request, resp) {
            (TxnRequest::FindCoordinator(key), ResponseKind::FindCoordinator(r)) => {
                let code = ErrorCode(r.error_code);
                let msg = message(r.error_message.as_ref());
                let reaction = match code {
                    ErrorCode::NONE => Reaction::Done,
                    c if c.is_retriable() => Reaction::Retry(self.config.retry_backoff),
                    ErrorCode::GROUP_AUTHORIZATION_FAILED | ErrorCode::TRANSACTION_ABORTABLE => {
                        Reaction::Abortable(abortable(code, msg))
                    }
                    _ => Reaction::Fatal(fatal(code, msg)),
                };
                let request = TxnRequest::FindCoordinator(key.clone());
                if self.react(request, reaction, now) {
                    let node = Node {
                        id: r.node_id,
                        addr: format!("{}:{}", r.host, r.port),
                    };
                    tracing::debug!(?key, node = node.id, addr = %node.addr, "coordinator");
                    match key {
                        CoordinatorKey::Transaction => self.coordinator = Some(node),
                        CoordinatorKey::Group(g) => {
                            self.group_coordinators.insert(g, node);
                        }
                    }
                }
            }
            (request @ TxnRequest::InitProducerId { .. }, ResponseKind::InitProducerId(r)) => {
                let mut code = ErrorCode(r.error_code);
                if code.is_ok() && (r.producer_id < 0 || r.producer_epoch < 0) {
                    // Not an answer (batches stamped so would not be
                    // transactional): as an unavailable coordinator, find it again.
                    tracing::warn!(
                        producer_id = r.producer_id,
                        epoch = r.producer_epoch,
                        "InitProducerId answered an invalid producer id"
                    );
                    code = ErrorCode::COORDINATOR_NOT_AVAILABLE;
                }
                let reaction = match code {
                    ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                    | ErrorCode::CLUSTER_AUTHORIZATION_FAILED => {
                        // As Java: the producer may call init_transactions
                        // again once the permissions are fixed.
                        let e = fatal(code, None);
                        self.transition(TransactionState::AbortableError);
                        self.transition(TransactionState::Uninitialized);
                        self.fail_operation(&e);
                        return;
                    }
                    _ => self.common(code, None),
                };
                if self.react(request, reaction, now) {
                    self.adopt(ProducerIdAndEpoch {
                        producer_id: r.producer_id,
                        epoch: r.producer_epoch,
                    });
                    self.initialized();
                }
            }
            (TxnRequest::AddPartitions, ResponseKind::AddPartitionsToTxn(r)) => {
                self.on_add_partitions(r, now)
            }
            (TxnRequest::AddOffsets { group }, ResponseKind::AddOffsetsToTxn(r)) => {
                let code = ErrorCode(r.error_code);
                let reaction = match code {
                    ErrorCode::GROUP_AUTHORIZATION_FAILED => {
                        Reaction::Abortable(abortable(code, None))
                    }
                    _ => self.common(code, None),
                };
                if self.react(
                    TxnRequest::AddOffsets {
                        group: group.clone(),
                    },
                    reaction,
                    now,
                ) {
                    self.transaction_started = true;
                    self.enqueue(TxnRequest::TxnOffsetCommit { group }, None);
                }
            }
            (TxnRequest::TxnOffsetCommit { group }, ResponseKind::TxnOffsetCommit(r)) => {
                self.on_txn_offset_commit(group, r, now)
            }
            (TxnRequest::DescribeState { attempt }, ResponseKind::DescribeTransactions(r)) => {
                self.on_describe_state(attempt, r, now)
            }
            (TxnRequest::EndTxn { commit }, ResponseKind::EndTxn(r)) => {
                let code = ErrorCode(r.error_code);
                let reaction = match code {
                    // KIP-588: a coordinator that aborted a transaction
                    // past transaction.timeout.ms bumped the epoch; the
                    // Produce that hit it said INVALID_PRODUCER_EPOCH. An
                    // epoch bump (InitProducerId with the current id and
                    // epoch) tells that case from fencing by another producer.
                    ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED
                        if !commit && self.stale_epoch_seen && self.capabilities.epoch_bump =>
                    {
                        tracing::info!("abort answered {code}: bumping the epoch to tell a timed-out transaction from fencing");
                        self.end_outcome_unknown = false;
                        self.bump_required = true;
                        self.end_transaction(false);
                        return;
                    }
                    ErrorCode::TRANSACTION_ABORTABLE if !commit => {
                        Reaction::Fatal(fatal(code, message(None)))
                    }
                    _ => self.common(code, None),
                };
                if self.react(TxnRequest::EndTxn { commit }, reaction, now) {
                    if r.producer_id >= 0 && r.producer_epoch >= 0 {
                        // EndTxn v5 (transactions v2): every transaction ends with a new epoch.
                        self.adopt(ProducerIdAndEpoch {
                            producer_id: r.producer_id,
                            epoch: r.producer_epoch,
                        });
                    }
                    self.end_transaction(commit);
                    if self.state == TransactionState::Ready {
                        self.watch_completion();
                    }
                }
            }
            (request, other) => {
                let e = TransactionError::fatal(ProducerError::Encoding(Arc::from(format!(
                    "a {} response to {request:?}",
                    other.api_key()
                ))));
                self.fatal(e);
            }
        }
    }

    /// InitProducerId done: the first one completes `init_transactions`, a
    /// bump after EndTxn completes the commit or abort that asked for it.
    fn initialized(&mut self) {
        if self.state != TransactionState::Initializing {
            return;
        }
        self.bump_required = false;
        self.v2 = self.capabilities.v2;
        let kind = match self.operation.as_ref().map(|o| o.kind) {
            Some(kind @ (OperationKind::Commit | OperationKind::Abort)) => Some(kind),
            Some(OperationKind::Init) => Some(OperationKind::Init),
            _ => None,
        };
        self.transition(TransactionState::Ready);
        if let Some(kind) = kind {
            self.complete_operation(kind, Ok(()));
        }
    }

    fn on_add_partitions(
        &mut self,
        r: kafka_protocol::generated::AddPartitionsToTxnResponse,
        now: Instant,
    ) {
        let mut unauthorized = Vec::new();
        let mut failed = Vec::new();
        for t in &r.results_by_topic_v3_and_below {
            for p in &t.results_by_partition {
                let code = ErrorCode(p.partition_error_code);
                let reaction = match code {
                    ErrorCode::NONE => continue,
                    ErrorCode::CONCURRENT_TRANSACTIONS if self.partitions.is_empty() => {
                        Reaction::Retry(FIRST_ADD_CONCURRENT_BACKOFF.min(self.config.retry_backoff))
                    }
                    ErrorCode::TOPIC_AUTHORIZATION_FAILED => {
                        unauthorized.push(format!("{}-{}", t.name.as_str(), p.partition_index));
                        continue;
                    }
                    ErrorCode::INVALID_TXN_STATE | ErrorCode::INVALID_PRODUCER_ID_MAPPING => {
                        Reaction::Fatal(fatal(code, None))
                    }
                    c if c.is_retriable()
                        || matches!(
                            c,
                            ErrorCode::NOT_COORDINATOR
                                | ErrorCode::COORDINATOR_NOT_AVAILABLE
                                | ErrorCode::INVALID_PRODUCER_EPOCH
                                | ErrorCode::PRODUCER_FENCED
                                | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                                | ErrorCode::TRANSACTION_ABORTABLE
                                | ErrorCode::UNKNOWN_PRODUCER_ID
                        ) =>
                    {
                        self.common(c, None)
                    }
                    c => {
                        failed.push(format!("{}-{}: {c}", t.name.as_str(), p.partition_index));
                        continue;
                    }
                };
                // The first partition that asks for more than "failed" decides.
                self.react(TxnRequest::AddPartitions, reaction, now);
                return;
            }
        }
        let pending = std::mem::take(&mut self.pending_partitions);
        if !unauthorized.is_empty() {
            let msg = Some(Arc::from(format!(
                "not authorized for {}",
                unauthorized.join(", ")
            )));
            self.abortable(abortable(ErrorCode::TOPIC_AUTHORIZATION_FAILED, msg));
        } else if !failed.is_empty() {
            let msg = Some(Arc::from(format!(
                "partitions not added: {}",
                failed.join(", ")
            )));
            self.abortable(abortable(ErrorCode::UNKNOWN_SERVER_ERROR, msg));
        } else {
            self.transaction_started = true;
            let added: Vec<TopicPartition> = pending.into_iter().collect();
            self.partitions.extend(added.iter().cloned());
            self.events
                .push_back(TransactionEvent::PartitionsAdded(added));
        }
    }

    fn on_txn_offset_commit(
        &mut self,
        group: crate::offsets::ConsumerGroupMetadata,
        r: kafka_protocol::generated::TxnOffsetCommitResponse,
        now: Instant,
    ) {
        let mut rediscover = false;
        for t in &r.topics {
            for p in &t.partitions {
                let code = ErrorCode(p.error_code);
                let tp = TopicPartition {
                    topic: Arc::from(t.name.as_str()),
                    partition: p.partition_index,
                };
                match code {
                    ErrorCode::NONE => {
                        if let Some(m) = self.pending_offsets.get_mut(&group.group_id) {
                            m.remove(&tp);
                        }
                    }
                    ErrorCode::NOT_COORDINATOR
                    | ErrorCode::COORDINATOR_NOT_AVAILABLE
                    | ErrorCode::REQUEST_TIMED_OUT => rediscover = true,
                    c if c.is_retriable() => {}
                    ErrorCode::GROUP_AUTHORIZATION_FAILED
                    | ErrorCode::FENCED_INSTANCE_ID
                    | ErrorCode::TRANSACTION_ABORTABLE
                    | ErrorCode::UNKNOWN_MEMBER_ID
                    | ErrorCode::ILLEGAL_GENERATION => {
                        self.abortable(abortable(code, None));
                        return;
                    }
                    ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED => {
                        self.fatal(fenced(code, None));
                        return;
                    }
                    c => {
                        self.fatal(fatal(c, None));
                        return;
                    }
                }
            }
        }
        let done = self
            .pending_offsets
            .get(&group.group_id)
            .is_none_or(|m| m.is_empty());
        if done {
            self.pending_offsets.remove(&group.group_id);
            self.complete_operation(OperationKind::SendOffsets, Ok(()));
        } else {
            let request = TxnRequest::TxnOffsetCommit { group };
            if rediscover {
                self.forget_coordinator(&request);
            }
            self.retry(request, now, self.config.retry_backoff);
        }
    }
}
