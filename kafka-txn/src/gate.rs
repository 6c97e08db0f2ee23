//! The transaction's gate in the producer core: the producer's I/O task
//! asks the transaction manager, under its lock, whether a partition's
//! batches may leave, and tells it of partitions that got a batch and of
//! batches that failed (at once, so that a failed record's transaction is
//! abortable before its delivery future says so, as in Java).

use std::sync::Arc;

use kafka_producer::core::{DrainGate, TopicPartition};
use kafka_producer::ProducerError;

use crate::client::Shared;

/// The producer core's view of the transaction manager.
pub(crate) struct TransactionGate {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for TransactionGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionGate").finish_non_exhaustive()
    }
}

impl TransactionGate {
    pub fn new(shared: Arc<Shared>) -> Self {
        TransactionGate { shared }
    }
}

impl DrainGate for TransactionGate {
    fn may_drain(&self, tp: &TopicPartition) -> bool {
        self.shared.with_manager(|m| m.may_send_to(tp))
    }

    fn batch_opened(&self, tp: &TopicPartition) -> Result<(), ProducerError> {
        // Outside a transaction (one being aborted, say) no batch opens: a
        // batch left open would take the next transaction's records without
        // its partition ever being added.
        self.shared
            .partition_used(tp.clone())
            .map_err(|_| ProducerError::TransactionAborted)
    }

    fn batch_failed(&self, _tp: &TopicPartition, error: &ProducerError) {
        self.shared.produce_failed(error);
    }

    fn producer_stopped(&self, error: &ProducerError) {
        self.shared.produce_failed(error);
    }

    fn produce_version_cap(&self) -> Option<i16> {
        self.shared.with_manager(|m| m.produce_version_cap())
    }
}
