//! The transaction manager: a pure state machine (no sockets, no clock)
//! that decides which coordinator request comes next, in the manner of
//! the producer core.
//!
//! # Call order
//!
//! 1. Calls: [`init_transactions`](TransactionManager::init_transactions),
//!    [`begin_transaction`](TransactionManager::begin_transaction),
//!    [`add_partitions`](TransactionManager::add_partitions),
//!    [`send_offsets`](TransactionManager::send_offsets),
//!    [`begin_commit`](TransactionManager::begin_commit),
//!    [`begin_abort`](TransactionManager::begin_abort),
//!    [`prepare_transaction`](TransactionManager::prepare_transaction);
//!    producer news: [`batches_done`](TransactionManager::batches_done),
//!    [`produce_failed`](TransactionManager::produce_failed); network news:
//!    [`handle_response`](TransactionManager::handle_response),
//!    [`handle_connected`](TransactionManager::handle_connected),
//!    [`handle_timeout`](TransactionManager::handle_timeout).
//! 2. After any of them: [`poll_transmit`](TransactionManager::poll_transmit)
//!    until `None` (at most one request is in flight, as in Java), then
//!    [`poll_event`](TransactionManager::poll_event) until `None` (what the
//!    producer must do), then the results of pending operations
//!    ([`take_result`](TransactionManager::take_result)).
//! 3. Sleep until [`poll_timeout`](TransactionManager::poll_timeout).
//!
//! Every transmit gets exactly one `handle_response`.

mod handlers;
mod requests;
pub use requests::TXN_VERSIONS;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use kafka_codec::BrokerVersions;
use kafka_producer::core::{
    version_cap, Node, ProducerIdAndEpoch, TopicPartition, Transmit, TransportFailure,
};
use kafka_producer::{ErrorClass, ProducerConfig, ProducerError};
use kafka_protocol::messages::{ApiKey, ResponseKind};
use kafka_protocol::primitives::StrBytes;

use crate::error::TransactionError;
use crate::offsets::{ConsumerGroupMetadata, OffsetAndMetadata, PreparedTxnState};
use crate::state::TransactionState;

/// The settings a transaction manager runs with.
#[derive(Debug, Clone)]
pub struct TransactionConfig {
    /// `transactional.id`.
    pub transactional_id: String,
    /// `transaction.timeout.ms`, sent in InitProducerId.
    pub transaction_timeout: Duration,
    /// `retry.backoff.ms`: the wait before a coordinator request is retried.
    pub retry_backoff: Duration,
    /// `bootstrap.servers`: where to look for coordinators.
    pub bootstrap_servers: Vec<String>,
    /// `transaction.two.phase.commit.enable` (KIP-939).
    pub two_phase_commit: bool,
}

impl TransactionConfig {
    /// The transaction settings of a producer configuration.
    ///
    /// # Errors
    /// When `transactional.id` is not set.
    pub fn from_producer(config: &ProducerConfig) -> Result<Self, TransactionError> {
        let transactional_id = config.transactional_id.clone().ok_or_else(|| {
            TransactionError::InvalidArgument(
                "a transactional producer needs transactional.id".into(),
            )
        })?;
        Ok(TransactionConfig {
            transactional_id,
            transaction_timeout: config.transaction_timeout,
            retry_backoff: config.retry_backoff,
            bootstrap_servers: config.bootstrap_servers.clone(),
            two_phase_commit: config.transaction_two_phase_commit_enable,
        })
    }
}

/// What the producer must do, decided by the manager.
#[derive(Debug, Clone)]
pub enum TransactionEvent {
    /// Batches from now on carry this producer id and epoch (sequences restart).
    ProducerId(ProducerIdAndEpoch),
    /// These partitions joined the transaction: their batches may leave.
    PartitionsAdded(Vec<TopicPartition>),
    /// The transaction cannot commit: fail the records not sent yet.
    AbortUnsent(TransactionError),
}

/// Identifies a call whose outcome comes later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationId(u64);

/// The calls that wait for the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OperationKind {
    Init,
    SendOffsets,
    Commit,
    Abort,
}

impl OperationKind {
    fn name(self) -> &'static str {
        match self {
            OperationKind::Init => "init_transactions",
            OperationKind::SendOffsets => "send_offsets_to_transaction",
            OperationKind::Commit => "commit_transaction",
            OperationKind::Abort => "abort_transaction",
        }
    }
}

struct Operation {
    id: OperationId,
    kind: OperationKind,
    result: Option<Result<(), TransactionError>>,
}

/// Which coordinator a FindCoordinator looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CoordinatorKey {
    Transaction,
    Group(String),
}

/// A request waiting to be sent.
#[derive(Debug, Clone)]
pub(crate) enum TxnRequest {
    FindCoordinator(CoordinatorKey),
    /// With `bump`, the current producer id and epoch (KIP-360).
    InitProducerId {
        bump: bool,
    },
    AddPartitions,
    AddOffsets {
        group: ConsumerGroupMetadata,
    },
    TxnOffsetCommit {
        group: ConsumerGroupMetadata,
    },
    EndTxn {
        commit: bool,
    },
    /// DescribeTransactions of our id, until the coordinator has written
    /// the markers of the transaction that just ended (see `completion`).
    DescribeState {
        attempt: u32,
    },
}

impl TxnRequest {
    /// Java's order: coordinators first, the epoch bump after EndTxn.
    fn priority(&self) -> u8 {
        match self {
            TxnRequest::FindCoordinator(_) => 0,
            TxnRequest::InitProducerId { bump: false } => 1,
            // Before the next transaction's requests, which it holds back.
            TxnRequest::DescribeState { .. } => 2,
            TxnRequest::AddPartitions
            | TxnRequest::AddOffsets { .. }
            | TxnRequest::TxnOffsetCommit { .. } => 3,
            TxnRequest::EndTxn { .. } => 4,
            TxnRequest::InitProducerId { bump: true } => 5,
        }
    }
}

#[derive(Debug, Clone)]
struct Queued {
    request: TxnRequest,
    not_before: Option<Instant>,
}

/// What transactions v2 needs from the cluster (KIP-890 part 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Capabilities {
    /// Finalized `transaction.version >= 2`, Produce >= 12, EndTxn >= 5 and
    /// TxnOffsetCommit >= 5 negotiated.
    v2: bool,
    /// The coordinator bumps epochs on InitProducerId (v3+, KIP-360).
    epoch_bump: bool,
    /// DescribeTransactions (KIP-664, Kafka 3.0).
    describe: bool,
}

/// The transactional coordinator client's state machine. See the module
/// documentation for the call order.
pub struct TransactionManager {
    config: TransactionConfig,
    transactional_id: StrBytes,
    state: TransactionState,
    producer: Option<ProducerIdAndEpoch>,
    /// Transactions v2 for the current (or next) transaction.
    v2: bool,
    capabilities: Capabilities,
    coordinator: Option<Node>,
    group_coordinators: BTreeMap<String, Node>,
    /// Partitions in the transaction (v1: added; v2: sent to).
    partitions: BTreeSet<TopicPartition>,
    /// v1: partitions to add, and those in the AddPartitionsToTxn in flight.
    new_partitions: BTreeSet<TopicPartition>,
    pending_partitions: BTreeSet<TopicPartition>,
    /// Offsets waiting for TxnOffsetCommit, per group.
    pending_offsets: BTreeMap<String, BTreeMap<TopicPartition, OffsetAndMetadata>>,
    /// Something joined the transaction: EndTxn must be sent.
    transaction_started: bool,
    queue: Vec<Queued>,
    in_flight: Option<(u64, TxnRequest)>,
    next_request_id: u64,
    next_bootstrap: usize,
    operation: Option<Operation>,
    next_operation_id: u64,
    /// The producer has nothing in flight: EndTxn may go.
    batches_done: bool,
    /// The next transaction must start with a fresh epoch (InitProducerId
    /// with the current id and epoch): an outcome was not known, a
    /// sequence may be unresolved, or v1 gives way to v2.
    bump_required: bool,
    /// An EndTxn attempt ended without an answer.
    end_outcome_unknown: bool,
    /// A Produce answered INVALID_PRODUCER_EPOCH: maybe the coordinator
    /// aborted a transaction that outlived its timeout (and bumped the
    /// epoch), maybe another producer fenced this one.
    stale_epoch_seen: bool,
    last_error: Option<TransactionError>,
    events: VecDeque<TransactionEvent>,
    prepared: Option<PreparedTxnState>,
    /// DescribeTransactions was refused (no DESCRIBE permission, say): the
    /// end of a transaction is no longer watched.
    describe_refused: bool,
}

impl TransactionManager {
    /// A manager for `config`, in state [`TransactionState::Uninitialized`].
    pub fn new(config: TransactionConfig) -> Self {
        TransactionManager {
            transactional_id: StrBytes::from_string(config.transactional_id.clone()),
            config,
            state: TransactionState::Uninitialized,
            producer: None,
            v2: false,
            capabilities: Capabilities::default(),
            coordinator: None,
            group_coordinators: BTreeMap::new(),
            partitions: BTreeSet::new(),
            new_partitions: BTreeSet::new(),
            pending_partitions: BTreeSet::new(),
            pending_offsets: BTreeMap::new(),
            transaction_started: false,
            queue: Vec::new(),
            in_flight: None,
            next_request_id: 1,
            next_bootstrap: 0,
            operation: None,
            next_operation_id: 1,
            batches_done: true,
            bump_required: false,
            end_outcome_unknown: false,
            stale_epoch_seen: false,
            last_error: None,
            events: VecDeque::new(),
            prepared: None,
            describe_refused: false,
        }
    }

    /// The state.
    pub fn state(&self) -> TransactionState {
        self.state
    }

    /// The producer id and epoch, once initialized.
    pub fn producer_id_and_epoch(&self) -> Option<ProducerIdAndEpoch> {
        self.producer
    }

    /// Whether the current transaction runs on transactions v2.
    pub fn is_v2(&self) -> bool {
        self.v2
    }

    /// Whether `tp` is in the transaction.
    pub fn is_partition_added(&self, tp: &TopicPartition) -> bool {
        self.partitions.contains(tp)
    }

    /// Whether a batch of `tp` may be sent now (the producer's drain gate):
    /// a producer id is known, the producer is not fatal, and the partition
    /// is in the transaction (v1: added; v2: sent to).
    pub fn may_send_to(&self, tp: &TopicPartition) -> bool {
        self.producer.is_some()
            && self.state != TransactionState::FatalError
            && self.partitions.contains(tp)
            && !self.previous_end_completing()
    }

    /// The highest Produce version the producer may use now.
    pub fn produce_version_cap(&self) -> Option<i16> {
        if self.v2 {
            None
        } else {
            Some(LAST_PRODUCE_VERSION_BEFORE_V2)
        }
    }

    /// The error that put the manager in an error state.
    pub fn last_error(&self) -> Option<&TransactionError> {
        self.last_error.as_ref()
    }

    // ---------------------------------------------------------- producer news

    /// The producer has no batch left in flight: a waiting EndTxn may go.
    pub fn batches_done(&mut self) {
        self.batches_done = true;
    }

    /// Whether an EndTxn waits for [`batches_done`](Self::batches_done).
    pub fn waits_for_batches(&self) -> bool {
        !self.batches_done
            && self
                .queue
                .iter()
                .any(|q| matches!(q.request, TxnRequest::EndTxn { .. }))
    }

    /// A batch failed for good (or the producer stopped): the transaction
    /// can no longer commit.
    pub fn produce_failed(&mut self, error: &ProducerError) {
        if error.code() == Some(kafka_protocol::ErrorCode::INVALID_PRODUCER_EPOCH) {
            self.stale_epoch_seen = true;
        }
        if matches!(self.in_flight, Some((_, TxnRequest::EndTxn { .. }))) {
            // EndTxn goes only once every batch is done: a failure now
            // cannot be of this transaction, whose outcome the coordinator
            // is deciding.
            tracing::debug!(error = %error, "a batch failed while EndTxn was in flight");
            return;
        }
        let class = error.class();
        match self.state {
            TransactionState::FatalError | TransactionState::Aborting => {}
            _ if matches!(class, ErrorClass::Fatal | ErrorClass::InvalidConfiguration)
                && matches!(error, ProducerError::Fatal(_)) =>
            {
                let e = TransactionError::from(error.clone());
                self.fatal(e);
            }
            TransactionState::InTransaction
            | TransactionState::Committing
            | TransactionState::PreparedTransaction
            | TransactionState::AbortableError => {
                // A failed batch leaves an unresolved sequence (and maybe a
                // request still in the network): without v2, the next
                // transaction starts with a fresh epoch.
                if !self.v2 && self.state != TransactionState::Committing {
                    self.bump_required = true;
                }
                self.abortable(TransactionError::abortable(error.clone()));
            }
            _ => {}
        }
    }

    // ----------------------------------------------------------- network news

    /// A connection to a broker is up, with its API versions and features:
    /// whether transactions v2 may be used.
    pub fn handle_connected(&mut self, versions: &BrokerVersions) {
        let at_least = |api: ApiKey, v: i16| versions.negotiate(api).is_ok_and(|n| n >= v);
        let feature = versions
            .finalized_feature("transaction.version")
            .is_some_and(|f| f.max_version_level >= 2);
        self.capabilities = Capabilities {
            v2: feature
                && at_least(ApiKey::Produce, 12)
                && at_least(ApiKey::EndTxn, 5)
                && at_least(ApiKey::TxnOffsetCommit, 5),
            epoch_bump: at_least(ApiKey::InitProducerId, 3),
            describe: at_least(ApiKey::DescribeTransactions, 0),
        };
    }

    /// Retries wait for their backoff; nothing else depends on time.
    pub fn handle_timeout(&mut self, _now: Instant) {}

    /// When a queued request may go.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        self.queue.iter().filter_map(|q| q.not_before).min()
    }

    /// What the producer must do next.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.events.pop_front()
    }

    /// The outcome of `op`, once known (taken once).
    pub fn take_result(&mut self, op: OperationId) -> Option<Result<(), TransactionError>> {
        let o = self.operation.as_mut().filter(|o| o.id == op)?;
        let result = o.result.take()?;
        self.operation = None;
        Some(result)
    }

    /// Whether `op` is still under way.
    pub fn is_pending(&self, op: OperationId) -> bool {
        self.operation.as_ref().is_some_and(|o| o.id == op)
    }

    // ---------------------------------------------------------------- output

    /// The next coordinator request, if one may go now.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if self.in_flight.is_some() {
            return None;
        }
        if self.state == TransactionState::FatalError {
            self.queue.clear();
            return None;
        }
        if !self.new_partitions.is_empty()
            && self.pending_partitions.is_empty()
            && !self
                .queue
                .iter()
                .any(|q| matches!(q.request, TxnRequest::AddPartitions))
        {
            self.enqueue(TxnRequest::AddPartitions, None);
        }
        loop {
            let pos = self.next_queued(now)?;
            let request = self.queue[pos].request.clone();
            if let TxnRequest::EndTxn { commit } = request {
                if !self.transaction_started {
                    // Nothing joined the transaction: the coordinator has
                    // nothing to end (v1 would answer INVALID_TXN_STATE).
                    self.queue.remove(pos);
                    self.end_transaction(commit);
                    continue;
                }
            }
            let node =
                match self.target(&request) {
                    Target::Node(node) => node,
                    Target::Discover(key) => {
                        if !self.queue.iter().any(
                            |q| matches!(&q.request, TxnRequest::FindCoordinator(k) if *k == key),
                        ) {
                            self.enqueue(TxnRequest::FindCoordinator(key), None);
                        }
                        continue;
                    }
                };
            self.queue.remove(pos);
            let Some((body, cap)) = self.build(&request) else {
                continue;
            };
            let max_version = version_cap(requests::TXN_VERSIONS, body.api_key(), cap);
            let request_id = self.next_request_id;
            self.next_request_id += 1;
            self.in_flight = Some((request_id, request));
            return Some(Transmit {
                request_id,
                node,
                request: body,
                max_version,
                not_after: None,
            });
        }
    }

    /// The answer to the request in flight.
    pub fn handle_response(
        &mut self,
        request_id: u64,
        result: Result<Option<ResponseKind>, TransportFailure>,
        now: Instant,
    ) {
        let Some((id, request)) = self.in_flight.take() else {
            return;
        };
        if id != request_id {
            self.in_flight = Some((id, request));
            return;
        }
        match result {
            Ok(Some(resp)) => self.on_response(request, resp, now),
            Ok(None) => self.on_transport_failure(request, "no response", now),
            // Refused credentials or certificates: retrying is refused the same way.
            Err(f) if f.authentication => self.fatal(TransactionError::fatal(
                ProducerError::Fatal(kafka_producer::FatalError::Authentication(
                    std::sync::Arc::from(f.message.as_str()),
                )),
            )),
            Err(f) => self.on_transport_failure(request, &f.message, now),
        }
    }

    // --------------------------------------------------------------- helpers

    fn next_queued(&self, now: Instant) -> Option<usize> {
        let pos = self
            .queue
            .iter()
            .enumerate()
            .min_by_key(|(i, q)| (q.request.priority(), *i))
            .map(|(i, _)| i)?;
        let q = &self.queue[pos];
        if q.not_before.is_some_and(|t| now < t) {
            return None;
        }
        // EndTxn waits until nothing of the transaction is in flight.
        if matches!(q.request, TxnRequest::EndTxn { .. }) && !self.batches_done {
            return None;
        }
        Some(pos)
    }

    fn enqueue(&mut self, request: TxnRequest, not_before: Option<Instant>) {
        self.queue.push(Queued {
            request,
            not_before,
        });
    }

    fn retry(&mut self, request: TxnRequest, now: Instant, backoff: Duration) {
        // Saturating: retry.backoff.max.ms may be up to i64::MAX ms.
        let at = now
            .checked_add(backoff)
            .unwrap_or(now + Duration::from_secs(86_400));
        self.enqueue(request, Some(at));
    }

    fn start_operation(&mut self, kind: OperationKind) -> OperationId {
        let id = OperationId(self.next_operation_id);
        self.next_operation_id += 1;
        self.operation = Some(Operation {
            id,
            kind,
            result: None,
        });
        id
    }

    /// The pending operation of `kind` (a call made again after a timeout
    /// waits for the same outcome), or an error if another one is pending.
    fn pending(&self, kind: OperationKind) -> Result<Option<OperationId>, TransactionError> {
        match &self.operation {
            Some(o) if o.kind == kind && o.result.is_none() => Ok(Some(o.id)),
            Some(o) if o.result.is_none() => Err(TransactionError::PendingOperation {
                operation: kind.name(),
                pending: o.kind.name(),
            }),
            _ => Ok(None),
        }
    }

    fn check_no_pending(&self, operation: &'static str) -> Result<(), TransactionError> {
        match &self.operation {
            Some(o) if o.result.is_none() => Err(TransactionError::PendingOperation {
                operation,
                pending: o.kind.name(),
            }),
            _ => Ok(()),
        }
    }

    fn check_state(
        &self,
        operation: &'static str,
        allowed: &[TransactionState],
    ) -> Result<(), TransactionError> {
        if allowed.contains(&self.state) {
            return Ok(());
        }
        if matches!(
            self.state,
            TransactionState::AbortableError | TransactionState::FatalError
        ) {
            return Err(self.error_for_call());
        }
        Err(TransactionError::InvalidState {
            operation,
            state: self.state,
        })
    }

    /// The error a call gets in an error state: the one that caused it.
    fn error_for_call(&self) -> TransactionError {
        self.last_error
            .clone()
            .unwrap_or(TransactionError::InvalidState {
                operation: "this call",
                state: self.state,
            })
    }

    fn complete_operation(&mut self, kind: OperationKind, result: Result<(), TransactionError>) {
        if let Some(o) = self.operation.as_mut() {
            if o.kind == kind && o.result.is_none() {
                o.result = Some(result);
            }
        }
    }

    /// Fails whatever operation is pending with `e`.
    fn fail_operation(&mut self, e: &TransactionError) {
        if let Some(o) = self.operation.as_mut() {
            if o.result.is_none() {
                o.result = Some(Err(e.clone()));
            }
        }
    }

    fn transition(&mut self, to: TransactionState) {
        debug_assert!(
            self.state.may_become(to) || self.state == to,
            "{:?} -> {to:?}",
            self.state
        );
        if !self.state.may_become(to) {
            // A bug, not a network condition: stop rather than go on in an
            // unknown state.
            let e = TransactionError::InvalidState {
                operation: "an internal transition",
                state: self.state,
            };
            self.last_error = Some(e.clone());
            self.state = TransactionState::FatalError;
            self.fail_operation(&e);
            return;
        }
        if !matches!(
            to,
            TransactionState::AbortableError | TransactionState::FatalError
        ) {
            self.last_error = None;
        }
        self.state = to;
    }

    /// The transaction can no longer commit: pending calls fail with `e`,
    /// unsent records fail; only an abort goes on.
    fn abortable(&mut self, e: TransactionError) {
        match self.state {
            TransactionState::Aborting | TransactionState::FatalError => return,
            TransactionState::Initializing if self.producer.is_none() => {
                // The first init failed: no transaction to abort; init may
                // be called again (as Java after an abortable init error).
                self.queue.clear();
                self.transition(TransactionState::AbortableError);
                self.transition(TransactionState::Uninitialized);
                self.fail_operation(&e);
                return;
            }
            TransactionState::Initializing => {
                // The epoch bump after a transaction cannot be aborted.
                self.fatal(e);
                return;
            }
            TransactionState::AbortableError => {}
            _ => self.transition(TransactionState::AbortableError),
        }
        if self.state != TransactionState::AbortableError {
            return;
        }
        if self.last_error.is_none() {
            self.last_error = Some(e.clone());
            self.events
                .push_back(TransactionEvent::AbortUnsent(e.clone()));
        }
        // Only an abort goes on (and finding the coordinator it needs).
        self.queue.retain(|q| {
            matches!(
                q.request,
                TxnRequest::FindCoordinator(CoordinatorKey::Transaction)
                    | TxnRequest::EndTxn { commit: false }
                    | TxnRequest::DescribeState { .. }
            )
        });
        self.new_partitions.clear();
        self.fail_operation(&e);
    }

    /// The producer cannot go on.
    fn fatal(&mut self, e: TransactionError) {
        if self.state == TransactionState::FatalError {
            return;
        }
        self.transition(TransactionState::FatalError);
        self.last_error = Some(e.clone());
        self.events
            .push_back(TransactionEvent::AbortUnsent(e.clone()));
        self.queue.clear();
        self.fail_operation(&e);
    }

    /// Queues EndTxn for the transaction (when something joined it).
    fn begin_end(&mut self, commit: bool, wait_for_batches: bool) {
        self.batches_done = !wait_for_batches;
        if commit && !self.new_partitions.is_empty() {
            self.enqueue(TxnRequest::AddPartitions, None);
        }
        self.enqueue(TxnRequest::EndTxn { commit }, None);
    }

    /// EndTxn done (or not needed): the next transaction's epoch, then Ready.
    fn end_transaction(&mut self, committed: bool) {
        self.partitions.clear();
        self.new_partitions.clear();
        self.pending_partitions.clear();
        self.pending_offsets.clear();
        self.transaction_started = false;
        self.prepared = None;
        if self.capabilities.v2 != self.v2 && self.capabilities.v2 {
            // v1 gives way to v2 at a transaction boundary, with a fresh epoch.
            self.bump_required = true;
        }
        if self.end_outcome_unknown && !self.v2 {
            self.bump_required = true;
        }
        self.end_outcome_unknown = false;
        self.stale_epoch_seen = false;
        if self.bump_required && !self.capabilities.epoch_bump {
            // Going on with the same epoch would let a delayed request of
            // this transaction land in the next one.
            let e = TransactionError::fatal(ProducerError::Fatal(kafka_producer::FatalError::UnsupportedVersion(
                "the next transaction needs a fresh epoch, and the coordinator cannot bump one \
                 (InitProducerId v3, Kafka 2.5)"
                    .into(),
            )));
            self.fatal(e);
        } else if self.bump_required {
            self.transition(TransactionState::Initializing);
            self.enqueue(TxnRequest::InitProducerId { bump: true }, None);
        } else {
            self.bump_required = false;
            self.v2 = self.capabilities.v2;
            self.transition(TransactionState::Ready);
            let kind = if committed {
                OperationKind::Commit
            } else {
                OperationKind::Abort
            };
            self.complete_operation(kind, Ok(()));
        }
    }

    fn adopt(&mut self, producer: ProducerIdAndEpoch) {
        if self.producer != Some(producer) {
            self.producer = Some(producer);
            self.events
                .push_back(TransactionEvent::ProducerId(producer));
        }
    }
}

/// The highest Produce version a transaction may use without transactions
/// v2 (v12 tells the broker to add partitions implicitly).
pub const LAST_PRODUCE_VERSION_BEFORE_V2: i16 = 11;

/// Where a request goes.
enum Target {
    Node(Node),
    /// Its coordinator must be found first.
    Discover(CoordinatorKey),
}

mod calls;
mod completion;
#[cfg(test)]
mod completion_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
