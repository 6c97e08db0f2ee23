//! The async transactional coordinator client: a tokio task that drives a
//! [`TransactionManager`] over `kafka-codec` connections (one per
//! coordinator, discovered with FindCoordinator), usable alone by a client
//! built on the codec layer, and the engine of
//! [`TransactionalProducer`](crate::TransactionalProducer).
//!
//! ```no_run
//! use kafka_txn::{TransactionClient, TransactionConfig};
//! use kafka_txn::TopicPartition;
//!
//! # async fn demo() -> Result<(), kafka_txn::TransactionError> {
//! let config = TransactionConfig {
//!     transactional_id: "copier-1".into(),
//!     transaction_timeout: std::time::Duration::from_secs(60),
//!     retry_backoff: std::time::Duration::from_millis(100),
//!     bootstrap_servers: vec!["127.0.0.1:9092".into()],
//!     two_phase_commit: false,
//! };
//! let txn = TransactionClient::start(config, std::time::Duration::from_secs(60))?;
//! let producer = txn.init_transactions().await?; // id and epoch for the batches
//! txn.begin_transaction()?;
//! // v1: add partitions before producing to them (v2: the first Produce adds them).
//! txn.add_partitions(vec![TopicPartition { topic: "out".into(), partition: 0 }]).await?;
//! // ... Produce batches stamped with `producer` and the transactional flag ...
//! txn.commit_transaction().await?;
//! # let _ = producer; Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kafka_codec::{CodecError, Connection, ConnectionConfig};
use kafka_producer::config::ConnectionSetupTimeout;
use kafka_producer::core::{ProducerIdAndEpoch, TopicPartition, Transmit, TransportFailure};
use kafka_producer::{ProducerError, TransactionHandle};
use kafka_protocol::messages::ResponseKind;
use tokio::sync::{oneshot, Notify};

use crate::error::TransactionError;
use crate::manager::{OperationId, TransactionConfig, TransactionEvent, TransactionManager};
use crate::offsets::{ConsumerGroupMetadata, OffsetAndMetadata, PreparedTxnState};
use crate::state::TransactionState;

type Reply = oneshot::Sender<Result<(), TransactionError>>;

/// The manager and who waits for it, shared by the callers and the task.
struct Core {
    mgr: TransactionManager,
    waiters: Vec<(OperationId, Reply)>,
    /// Standalone `add_partitions` calls waiting for their partitions.
    partition_waiters: Vec<(Vec<TopicPartition>, Reply)>,
    /// A producer is linked: its batches must be done before EndTxn.
    linked: bool,
    closed: bool,
}

pub(crate) struct Shared {
    core: Mutex<Core>,
    /// Wakes the task: a call changed the manager.
    wake: Notify,
    /// The state, for checks that must not take the lock (every send).
    state: AtomicU8,
    max_block: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Core> {
        // Calls and the task only make whole state-machine steps under the lock.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the manager's state visible to lock-free readers (call with the lock held).
    fn publish(&self, core: &Core) {
        self.state
            .store(state_index(core.mgr.state()), Ordering::Release);
    }

    pub(crate) fn with_manager<T>(&self, f: impl FnOnce(&TransactionManager) -> T) -> T {
        f(&self.lock().mgr)
    }

    /// The producer started a batch for `tp`: it joins the transaction.
    pub(crate) fn partition_used(&self, tp: TopicPartition) -> Result<(), TransactionError> {
        let (known, added) = {
            let mut core = self.lock();
            let known = core.mgr.is_partition_added(&tp);
            // Outside a transaction (an abort under way) there is nothing to join.
            let added = core.mgr.add_partitions([tp]);
            self.publish(&core);
            (known, added)
        };
        if !known && added.is_ok() {
            self.wake.notify_one();
        }
        added
    }

    /// A batch failed for good: the transaction can no longer commit.
    pub(crate) fn produce_failed(&self, error: &ProducerError) {
        {
            let mut core = self.lock();
            core.mgr.produce_failed(error);
            self.publish(&core);
        }
        self.wake.notify_one();
    }
}

/// The producer a [`TransactionalProducer`](crate::TransactionalProducer) drives.
pub(crate) struct ProducerLink {
    pub handle: TransactionHandle,
}

/// The transactional coordinator client. Cheap to clone; clones share one task.
#[derive(Clone)]
pub struct TransactionClient {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for TransactionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionClient")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl TransactionClient {
    /// Starts the client's task (inside a tokio runtime). Calls that wait
    /// for the coordinator wait at most `max_block`.
    ///
    /// # Errors
    /// Outside a tokio runtime.
    pub fn start(config: TransactionConfig, max_block: Duration) -> Result<Self, TransactionError> {
        Self::start_with(config, max_block, ConnectionConfig::default())
    }

    /// As [`start`](Self::start), connecting with `connection` (TLS and
    /// SASL settings, timeouts, client id).
    ///
    /// # Errors
    /// Outside a tokio runtime.
    pub fn start_with(
        config: TransactionConfig,
        max_block: Duration,
        connection: ConnectionConfig,
    ) -> Result<Self, TransactionError> {
        Self::start_linked(Self::shared(config, max_block, false), None, connection)
    }

    /// The manager and its waiters, before the task runs (a linked
    /// producer's gate needs them first).
    pub(crate) fn shared(
        config: TransactionConfig,
        max_block: Duration,
        linked: bool,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            core: Mutex::new(Core {
                mgr: TransactionManager::new(config),
                waiters: Vec::new(),
                partition_waiters: Vec::new(),
                linked,
                closed: false,
            }),
            wake: Notify::new(),
            state: AtomicU8::new(state_index(TransactionState::Uninitialized)),
            max_block,
        })
    }

    pub(crate) fn start_linked(
        shared: Arc<Shared>,
        link: Option<ProducerLink>,
        connection: ConnectionConfig,
    ) -> Result<Self, TransactionError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| TransactionError::fatal(ProducerError::NoRuntime))?;
        runtime.spawn(run(shared.clone(), link, connection));
        Ok(TransactionClient { shared })
    }

    /// The state.
    pub fn state(&self) -> TransactionState {
        TransactionState::ALL[usize::from(self.shared.state.load(Ordering::Acquire))]
    }

    /// The producer id and epoch batches must carry now.
    pub fn producer_id_and_epoch(&self) -> Option<ProducerIdAndEpoch> {
        self.shared.lock().mgr.producer_id_and_epoch()
    }

    /// The highest Produce version the transaction may use (Some(11)
    /// without transactions v2).
    pub fn produce_version_cap(&self) -> Option<i16> {
        self.shared.lock().mgr.produce_version_cap()
    }

    /// Whether the current transaction runs on transactions v2 (KIP-890).
    pub fn is_v2(&self) -> bool {
        self.shared.lock().mgr.is_v2()
    }

    /// The error behind an abortable or fatal state.
    pub(crate) fn last_error(&self) -> Option<TransactionError> {
        self.shared.lock().mgr.last_error().cloned()
    }

    /// Runs `start` on the manager, then waits (at most `max_block`) for
    /// the outcome of the operation it started.
    async fn operation(
        &self,
        name: &'static str,
        start: impl FnOnce(&mut TransactionManager) -> Result<Option<OperationId>, TransactionError>,
    ) -> Result<(), TransactionError> {
        let rx = {
            let mut core = self.shared.lock();
            if core.closed {
                return Err(TransactionError::Closed);
            }
            let started = start(&mut core.mgr);
            self.shared.publish(&core);
            let Some(op) = started? else {
                return Ok(());
            };
            let (tx, rx) = oneshot::channel();
            core.waiters.push((op, tx));
            rx
        };
        self.shared.wake.notify_one();
        let started = Instant::now();
        match tokio::time::timeout(self.shared.max_block, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(TransactionError::Closed),
            Err(_) => Err(TransactionError::Timeout {
                operation: name,
                waited: started.elapsed(),
            }),
        }
    }

    fn local(
        &self,
        f: impl FnOnce(&mut TransactionManager) -> Result<(), TransactionError>,
    ) -> Result<(), TransactionError> {
        let r = {
            let mut core = self.shared.lock();
            if core.closed {
                return Err(TransactionError::Closed);
            }
            let r = f(&mut core.mgr);
            self.shared.publish(&core);
            r
        };
        self.shared.wake.notify_one();
        r
    }

    /// Finds the transaction coordinator and gets a producer id and epoch
    /// (InitProducerId), fencing older producers with the same
    /// transactional id and completing what they left open.
    pub async fn init_transactions(&self) -> Result<ProducerIdAndEpoch, TransactionError> {
        self.operation("init_transactions", |m| {
            m.init_transactions(false).map(Some)
        })
        .await?;
        self.producer_id_and_epoch()
            .ok_or(TransactionError::InvalidState {
                operation: "init_transactions",
                state: self.state(),
            })
    }

    /// Opens a transaction (nothing is sent).
    pub fn begin_transaction(&self) -> Result<(), TransactionError> {
        self.local(|m| m.begin_transaction())
    }

    /// Adds partitions to the transaction before anything is produced to
    /// them: AddPartitionsToTxn without transactions v2, nothing with it.
    pub async fn add_partitions(&self, tps: Vec<TopicPartition>) -> Result<(), TransactionError> {
        let rx = {
            let mut core = self.shared.lock();
            core.mgr.add_partitions(tps.iter().cloned())?;
            if tps.iter().all(|tp| core.mgr.is_partition_added(tp)) {
                return Ok(());
            }
            let (tx, rx) = oneshot::channel();
            core.partition_waiters.push((tps, tx));
            rx
        };
        self.shared.wake.notify_one();
        let started = Instant::now();
        match tokio::time::timeout(self.shared.max_block, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(TransactionError::Closed),
            Err(_) => Err(TransactionError::Timeout {
                operation: "add_partitions",
                waited: started.elapsed(),
            }),
        }
    }

    /// Commits consumer offsets with the transaction (KIP-447).
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), TransactionError> {
        let group = group.clone();
        self.operation("send_offsets_to_transaction", |m| {
            m.send_offsets(offsets, group)
        })
        .await
    }

    /// EndTxn(commit). A standalone caller must have finished producing.
    pub async fn commit_transaction(&self) -> Result<(), TransactionError> {
        self.end(true).await
    }

    /// EndTxn(abort). A standalone caller must have finished producing.
    pub async fn abort_transaction(&self) -> Result<(), TransactionError> {
        self.end(false).await
    }

    pub(crate) async fn end(&self, commit: bool) -> Result<(), TransactionError> {
        let linked = self.shared.lock().linked;
        if commit {
            self.operation("commit_transaction", |m| m.begin_commit(linked).map(Some))
                .await
        } else {
            self.operation("abort_transaction", |m| m.begin_abort(linked).map(Some))
                .await
        }
    }

    /// Two-phase commit (KIP-939): keeps the flushed transaction open.
    pub fn prepare_transaction(&self) -> Result<PreparedTxnState, TransactionError> {
        let r = {
            let mut core = self.shared.lock();
            let r = core.mgr.prepare_transaction();
            self.shared.publish(&core);
            r
        };
        self.shared.wake.notify_one();
        r
    }

    /// Commits the prepared transaction if `prepared` is it, else aborts.
    pub async fn complete_transaction(
        &self,
        prepared: PreparedTxnState,
    ) -> Result<(), TransactionError> {
        self.operation("complete_transaction", |m| {
            m.complete_transaction(prepared).map(Some)
        })
        .await
    }

    /// Stops the task; pending calls fail with [`TransactionError::Closed`].
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

fn state_index(s: TransactionState) -> u8 {
    TransactionState::ALL
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0) as u8
}

type Answer = Pin<Box<dyn Future<Output = Dispatched> + Send>>;

/// The producer's flush a commit or an abort waits for.
type Flush = Pin<Box<dyn Future<Output = Result<(), ProducerError>> + Send>>;

/// A request's answer, and the connection it opened, if any (or the
/// address it failed to connect to).
struct Dispatched {
    request_id: u64,
    result: Result<Option<ResponseKind>, TransportFailure>,
    opened: Option<(String, Connection)>,
    connect_failed: Option<String>,
}

/// The connection settings of the next attempt to `addr`: its set-up
/// timeout grows with the attempts that failed in a row, as the
/// producer's connections do (`socket.connection.setup.timeout.ms`, `.max.ms`).
fn attempt_config(
    connection: &ConnectionConfig,
    setup: &mut ConnectionSetupTimeout,
    failures: &HashMap<String, u32>,
    addr: &str,
) -> ConnectionConfig {
    let mut config = connection.clone();
    config.connect_timeout = setup.after_failures(failures.get(addr).copied().unwrap_or(0));
    config
}

/// The task: sends what the manager asks, feeds back answers, the
/// producer's news and time, and wakes the callers.
async fn run(shared: Arc<Shared>, link: Option<ProducerLink>, connection: ConnectionConfig) {
    let mut connections: HashMap<String, Connection> = HashMap::new();
    let mut setup = ConnectionSetupTimeout::new(&connection);
    let mut failures: HashMap<String, u32> = HashMap::new();
    let mut answer: Option<Answer> = None;
    let mut flush: Option<Flush> = None;
    loop {
        let now = Instant::now();
        let wake_at = {
            let mut core = shared.lock();
            if core.closed {
                for (_, w) in core.waiters.drain(..) {
                    let _ = w.send(Err(TransactionError::Closed));
                }
                for (_, w) in core.partition_waiters.drain(..) {
                    let _ = w.send(Err(TransactionError::Closed));
                }
                return;
            }
            if answer.is_none() {
                if let Some(t) = core.mgr.poll_transmit(now) {
                    let config = attempt_config(&connection, &mut setup, &failures, &t.node.addr);
                    answer = Some(dispatch(t, &connections, config));
                }
            }
            while let Some(ev) = core.mgr.poll_event() {
                if let Some(link) = &link {
                    apply(link, ev);
                }
            }

            if link.is_some() && flush.is_none() && core.mgr.waits_for_batches() {
                let handle = link.as_ref().map(|l| l.handle.clone());
                flush = handle.map(|h| Box::pin(async move { h.flush().await }) as Flush);
            }
            // The state first: a caller woken by its answer reads it.
            shared.publish(&core);
            complete_waiters(&mut core);
            core.mgr.poll_timeout()
        };
        let sleep = async {
            match wake_at {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            d = async { answer.as_mut().expect("guarded").await }, if answer.is_some() => {
                answer = None;
                if let Some((addr, conn)) = d.opened {
                    shared.lock().mgr.handle_connected(conn.versions());
                    failures.remove(&addr);
                    connections.insert(addr, conn);
                }
                if let Some(addr) = d.connect_failed {
                    *failures.entry(addr).or_default() += 1;
                }
                shared.lock().mgr.handle_response(d.request_id, d.result, Instant::now());
            }
            r = async { flush.as_mut().expect("guarded").await }, if flush.is_some() => {
                flush = None;
                if let Err(e) = r {
                    shared.lock().mgr.produce_failed(&e);
                }
                shared.lock().mgr.batches_done();
            }
            _ = shared.wake.notified() => {}
            _ = sleep => shared.lock().mgr.handle_timeout(Instant::now()),
        }
    }
}

/// Hands the producer what the manager decided.
fn apply(link: &ProducerLink, ev: TransactionEvent) {
    match ev {
        TransactionEvent::ProducerId(p) => {
            let _ = link.handle.adopt_producer_id(p);
        }
        // The gate's answer changed: the producer looks at its batches again.
        TransactionEvent::PartitionsAdded(_) => {
            let _ = link.handle.wake();
        }
        TransactionEvent::AbortUnsent(_) => {
            let _ = link.handle.abort_unsent(ProducerError::TransactionAborted);
        }
    }
}

/// Answers the callers whose operations are done.
fn complete_waiters(core: &mut Core) {
    let mut i = 0;
    while i < core.waiters.len() {
        let op = core.waiters[i].0;
        match core.mgr.take_result(op) {
            Some(r) => {
                let (_, w) = core.waiters.swap_remove(i);
                let _ = w.send(r);
            }
            None if core.mgr.is_pending(op) => i += 1,
            None => {
                // Taken by an earlier waiter of the same call.
                let (_, w) = core.waiters.swap_remove(i);
                let _ = w.send(Ok(()));
            }
        }
    }
    let state = core.mgr.state();
    let error = core.mgr.last_error().cloned();
    let mut i = 0;
    while i < core.partition_waiters.len() {
        let done = core.partition_waiters[i]
            .0
            .iter()
            .all(|tp| core.mgr.is_partition_added(tp));
        let failed = matches!(
            state,
            TransactionState::AbortableError | TransactionState::FatalError
        );
        if done || failed {
            let (_, w) = core.partition_waiters.swap_remove(i);
            let _ = w.send(match (done, &error) {
                (true, _) => Ok(()),
                (false, Some(e)) => Err(e.clone()),
                (false, None) => Err(TransactionError::InvalidState {
                    operation: "add_partitions",
                    state,
                }),
            });
        } else {
            i += 1;
        }
    }
}

/// Sends `t` on the connection to its node (connecting first when needed).
fn dispatch(
    t: Transmit,
    connections: &HashMap<String, Connection>,
    config: ConnectionConfig,
) -> Answer {
    let cached = connections
        .get(&t.node.addr)
        .filter(|c| !c.is_closed())
        .cloned();
    Box::pin(async move {
        let request_id = t.request_id;
        let (conn, opened) = match cached {
            Some(c) => (c, None),
            None => match Connection::connect(&t.node.addr, config).await {
                Ok(c) => (c.clone(), Some((t.node.addr.clone(), c))),
                Err(e) => {
                    return Dispatched {
                        request_id,
                        result: Err(failure(e, true)),
                        opened: None,
                        connect_failed: Some(t.node.addr),
                    }
                }
            },
        };
        let result = match conn.request_kind_negotiated(&t.request, t.max_version) {
            Ok(answer) => answer.await.map_err(|e| {
                if matches!(e, CodecError::RequestTimeout { .. }) {
                    conn.close(&e.to_string());
                }
                failure(e, false)
            }),
            Err(e) => Err(failure(e, false)),
        };
        Dispatched {
            request_id,
            result,
            opened,
            connect_failed: None,
        }
    })
}

fn failure(e: CodecError, connect_failed: bool) -> TransportFailure {
    TransportFailure::from_codec(&e, connect_failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinator_connections_grow_their_setup_timeout_per_failure() {
        let connection = ConnectionConfig {
            connect_timeout: Duration::from_secs(1),
            connect_timeout_max: Duration::from_secs(3),
            ..ConnectionConfig::default()
        };
        let mut setup = ConnectionSetupTimeout::new(&connection);
        let failures = HashMap::from([("down:9092".to_string(), 1), ("gone:9092".to_string(), 9)]);
        let ms = |setup: &mut ConnectionSetupTimeout, addr: &str| {
            attempt_config(&connection, setup, &failures, addr)
                .connect_timeout
                .as_millis()
        };
        for _ in 0..50 {
            assert!((800..1_200).contains(&ms(&mut setup, "up:9092")));
            assert!((1_600..2_400).contains(&ms(&mut setup, "down:9092")));
            assert!((2_400..=3_000).contains(&ms(&mut setup, "gone:9092")));
        }
    }
}
