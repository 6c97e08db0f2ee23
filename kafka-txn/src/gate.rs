//! The transaction's gate in the producer core: which partitions' batches
//! may leave. The producer's I/O task asks it, and tells it of partitions
//! that got a batch and of batches that failed, which it hands to the
//! transaction manager at once (so that a failed record's transaction is
//! abortable before its delivery future says so, as in Java). The
//! transaction task moves the gate.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use kafka_producer::core::{DrainGate, TopicPartition};
use kafka_producer::ProducerError;

use crate::client::Shared;

#[derive(Debug, Default)]
struct GateState {
    /// Batches may leave at all (a producer id is known; no fatal error).
    open: bool,
    /// Transactions v2: every partition may take batches at once.
    v2: bool,
    /// v1: partitions added to the transaction.
    added: HashSet<TopicPartition>,
    /// Partitions told to the manager in this transaction.
    reported: HashSet<TopicPartition>,
    cap: Option<i16>,
}

/// Shared by the producer core (through [`DrainGate`]) and the transaction task.
pub(crate) struct TransactionGate {
    state: Mutex<GateState>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for TransactionGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionGate").finish_non_exhaustive()
    }
}

impl TransactionGate {
    pub fn new(shared: Arc<Shared>) -> Self {
        TransactionGate {
            state: Mutex::new(GateState::default()),
            shared,
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        // Every update is a few field writes; a panic cannot leave them half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_open(&self, open: bool) {
        self.lock().open = open;
    }

    pub fn set_mode(&self, v2: bool, cap: Option<i16>) {
        let mut s = self.lock();
        s.v2 = v2;
        s.cap = cap;
    }

    pub fn add(&self, tps: impl IntoIterator<Item = TopicPartition>) {
        self.lock().added.extend(tps);
    }

    /// The transaction ended: no partition is in one.
    pub fn clear(&self) {
        let mut s = self.lock();
        s.added.clear();
        s.reported.clear();
    }
}

impl DrainGate for TransactionGate {
    fn may_drain(&self, tp: &TopicPartition) -> bool {
        let s = self.lock();
        s.open && (s.v2 || s.added.contains(tp))
    }

    fn batch_opened(&self, tp: &TopicPartition) {
        // The gate's lock is released before the manager's is taken: the
        // transaction task takes them the other way round.
        let new = self.lock().reported.insert(tp.clone());
        if new {
            self.shared.partition_used(tp.clone());
        }
    }

    fn batch_failed(&self, _tp: &TopicPartition, error: &ProducerError) {
        self.shared.produce_failed(error);
    }

    fn producer_stopped(&self, error: &ProducerError) {
        self.lock().open = false;
        self.shared.produce_failed(error);
    }

    fn produce_version_cap(&self) -> Option<i16> {
        self.lock().cap
    }
}
