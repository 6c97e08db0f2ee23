//! The transaction's gate in the producer core: which partitions' batches
//! may leave, and the news the core has for the transaction manager
//! (partitions that got batches, batches that failed). The producer's I/O
//! task asks it; the transaction task reads the news and moves the gate.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use kafka_producer::core::{DrainGate, TopicPartition};
use kafka_producer::ProducerError;
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct GateState {
    /// Batches may leave at all (not after a fatal error).
    open: bool,
    /// Transactions v2: every partition may take batches at once.
    v2: bool,
    /// v1: partitions added to the transaction.
    added: HashSet<TopicPartition>,
    /// Partitions reported to the manager in this transaction.
    reported: HashSet<TopicPartition>,
    /// News for the manager.
    opened: Vec<TopicPartition>,
    failures: Vec<ProducerError>,
    cap: Option<i16>,
}

/// The news the gate collected since the last look.
#[derive(Debug, Default)]
pub(crate) struct GateNews {
    pub opened: Vec<TopicPartition>,
    pub failures: Vec<ProducerError>,
}

/// Shared by the producer core (through [`DrainGate`]) and the transaction task.
#[derive(Debug, Default)]
pub(crate) struct TransactionGate {
    state: Mutex<GateState>,
    /// Wakes the transaction task when there is news.
    news: Notify,
}

impl TransactionGate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        // Every update is a few field writes; a panic cannot leave them half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the core has news.
    pub async fn news(&self) {
        self.news.notified().await
    }

    pub fn take_news(&self) -> GateNews {
        let mut s = self.lock();
        GateNews {
            opened: std::mem::take(&mut s.opened),
            failures: std::mem::take(&mut s.failures),
        }
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
        s.opened.clear();
    }
}

impl DrainGate for TransactionGate {
    fn may_drain(&self, tp: &TopicPartition) -> bool {
        let s = self.lock();
        s.open && (s.v2 || s.added.contains(tp))
    }

    fn batch_opened(&self, tp: &TopicPartition) {
        let mut s = self.lock();
        if s.reported.insert(tp.clone()) {
            s.opened.push(tp.clone());
            drop(s);
            self.news.notify_one();
        }
    }

    fn batch_failed(&self, _tp: &TopicPartition, error: &ProducerError) {
        self.lock().failures.push(error.clone());
        self.news.notify_one();
    }

    fn producer_stopped(&self, error: &ProducerError) {
        let mut s = self.lock();
        s.open = false;
        s.failures.push(error.clone());
        drop(s);
        self.news.notify_one();
    }

    fn produce_version_cap(&self) -> Option<i16> {
        self.lock().cap
    }
}
