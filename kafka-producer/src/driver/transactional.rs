//! The seam a transactional producer's owner (`kafka-txn`) drives the
//! producer through: the core asks the owner's [`DrainGate`] before a batch
//! leaves, and the owner hands the I/O task what its coordinator decided.

use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Command, Producer, Shared};
use crate::config::ProducerConfig;
use crate::core::{DrainGate, ProducerIdAndEpoch};
use crate::error::ProducerError;

/// What a transactional producer's owner holds besides the [`Producer`]:
/// the ways to move the producer along with its transaction.
#[derive(Clone)]
pub struct TransactionHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for TransactionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionHandle").finish_non_exhaustive()
    }
}

impl Producer {
    /// A producer for `config` with `transactional.id` set, whose batches
    /// leave only when `gate` allows, and the handle its owner (the
    /// transaction manager) drives it with. The producer has no producer id
    /// until [`TransactionHandle::adopt_producer_id`]; its Produce requests
    /// carry the transactional id and its batches the transactional flag.
    ///
    /// # Errors
    /// [`ProducerError::Config`] when `transactional.id` is not set.
    pub fn transactional(
        config: ProducerConfig,
        gate: Arc<dyn DrainGate>,
    ) -> Result<(Producer, TransactionHandle), ProducerError> {
        Self::transactional_with_partitioner(config, gate, None)
    }

    /// As [`transactional`](Self::transactional), asking `partitioner`
    /// first for records without a partition.
    pub fn transactional_with_partitioner(
        config: ProducerConfig,
        gate: Arc<dyn DrainGate>,
        partitioner: Option<Arc<dyn crate::Partitioner>>,
    ) -> Result<(Producer, TransactionHandle), ProducerError> {
        if config.transactional_id.is_none() {
            return Err(crate::config::ConfigError::new(
                [crate::config::keys::TRANSACTIONAL_ID],
                "a transactional producer needs transactional.id",
            )
            .into());
        }
        let producer = Producer::start(config, partitioner, Some(gate))?;
        let handle = TransactionHandle {
            shared: producer.shared.clone(),
        };
        Ok((producer, handle))
    }
}

impl TransactionHandle {
    fn command(&self, c: Command) -> Result<(), ProducerError> {
        self.shared
            .commands
            .send(c)
            .map_err(|_| ProducerError::Closed)
    }

    /// Batches from now on carry `producer` (from InitProducerId or EndTxn
    /// v5); every partition's sequences restart.
    pub fn adopt_producer_id(&self, producer: ProducerIdAndEpoch) -> Result<(), ProducerError> {
        self.command(Command::AdoptProducerId(producer))
    }

    /// Fails the records not sent yet with `error` (the transaction is being
    /// aborted); batches in flight or waiting for a retry go on.
    pub fn abort_unsent(&self, error: ProducerError) -> Result<(), ProducerError> {
        self.command(Command::AbortUnsent(error))
    }

    /// The gate's answer changed (partitions joined the transaction): the
    /// I/O task looks at the ready batches again.
    pub fn wake(&self) -> Result<(), ProducerError> {
        self.command(Command::Wake)
    }

    /// Waits until every record sent before this call is complete
    /// (delivered or failed): nothing of the transaction is in flight then.
    pub async fn flush(&self) -> Result<(), ProducerError> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Flush(tx))?;
        rx.await.map_err(|_| ProducerError::Closed)
    }
}
