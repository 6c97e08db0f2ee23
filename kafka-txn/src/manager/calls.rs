//! The calls a user makes (init, begin, add partitions, offsets, commit,
//! abort, two-phase commit): each checks the state, moves it, and queues the
//! coordinator requests it needs; the rest of the manager sends them.

use super::*;

impl TransactionManager {
    /// Starts InitProducerId (fencing older producers with this
    /// transactional id, and completing any transaction they left open).
    /// `keep_prepared` is KIP-939's recovery of a prepared transaction.
    pub fn init_transactions(
        &mut self,
        keep_prepared: bool,
    ) -> Result<OperationId, TransactionError> {
        if let Some(id) = self.pending(OperationKind::Init)? {
            return Ok(id);
        }
        if keep_prepared {
            return Err(TransactionError::InvalidArgument(
                "keeping a prepared transaction needs InitProducerId v6 (KIP-939), which this \
                 client's schema set and Kafka 4.4's stable API versions do not have"
                    .into(),
            ));
        }
        self.check_state("init_transactions", &[TransactionState::Uninitialized])?;
        self.transition(TransactionState::Initializing);
        self.enqueue(TxnRequest::InitProducerId { bump: false }, None);
        Ok(self.start_operation(OperationKind::Init))
    }

    /// Opens a transaction (local: nothing is sent).
    pub fn begin_transaction(&mut self) -> Result<(), TransactionError> {
        self.check_no_pending("begin_transaction")?;
        self.check_state("begin_transaction", &[TransactionState::Ready])?;
        self.transition(TransactionState::InTransaction);
        Ok(())
    }

    /// Partitions the producer started batches for. In v1 they are added
    /// with AddPartitionsToTxn before their batches may leave; in v2 the
    /// first Produce adds them.
    pub fn add_partitions(
        &mut self,
        tps: impl IntoIterator<Item = TopicPartition>,
    ) -> Result<(), TransactionError> {
        // During a commit too: a batch started just before it must join.
        self.check_state(
            "send",
            &[
                TransactionState::InTransaction,
                TransactionState::Committing,
            ],
        )?;
        let mut added = Vec::new();
        for tp in tps {
            if self.partitions.contains(&tp) || self.pending_partitions.contains(&tp) {
                continue;
            }
            if self.v2 {
                self.partitions.insert(tp.clone());
                self.transaction_started = true;
                added.push(tp);
            } else {
                self.new_partitions.insert(tp);
            }
        }
        if !added.is_empty() {
            self.events
                .push_back(TransactionEvent::PartitionsAdded(added));
        }
        Ok(())
    }

    /// Commits consumer offsets with the transaction (KIP-447): v1
    /// AddOffsetsToTxn then TxnOffsetCommit; v2 TxnOffsetCommit alone.
    pub fn send_offsets(
        &mut self,
        offsets: impl IntoIterator<Item = (TopicPartition, OffsetAndMetadata)>,
        group: ConsumerGroupMetadata,
    ) -> Result<Option<OperationId>, TransactionError> {
        if group.group_id.is_empty() {
            return Err(TransactionError::InvalidArgument(
                "the group id is empty".into(),
            ));
        }
        if group.generation_id > 0 && group.member_id.is_empty() {
            return Err(TransactionError::InvalidArgument(
                "a group generation needs its member id".into(),
            ));
        }
        if let Some(id) = self.pending(OperationKind::SendOffsets)? {
            return Ok(Some(id));
        }
        self.check_state(
            "send_offsets_to_transaction",
            &[TransactionState::InTransaction],
        )?;
        let offsets: Vec<_> = offsets.into_iter().collect();
        if offsets.is_empty() {
            return Ok(None);
        }
        self.pending_offsets
            .entry(group.group_id.clone())
            .or_default()
            .extend(offsets);
        if self.v2 {
            self.transaction_started = true;
            self.enqueue(TxnRequest::TxnOffsetCommit { group }, None);
        } else {
            self.enqueue(TxnRequest::AddOffsets { group }, None);
        }
        Ok(Some(self.start_operation(OperationKind::SendOffsets)))
    }

    /// Starts the commit. With `wait_for_batches`, EndTxn waits for
    /// [`batches_done`](Self::batches_done) (the producer flushed).
    pub fn begin_commit(
        &mut self,
        wait_for_batches: bool,
    ) -> Result<OperationId, TransactionError> {
        if let Some(id) = self.pending(OperationKind::Commit)? {
            return Ok(id);
        }
        if self.state == TransactionState::AbortableError {
            return Err(self.error_for_call());
        }
        self.check_state(
            "commit_transaction",
            &[
                TransactionState::InTransaction,
                TransactionState::PreparedTransaction,
            ],
        )?;
        self.transition(TransactionState::Committing);
        self.begin_end(true, wait_for_batches);
        Ok(self.start_operation(OperationKind::Commit))
    }

    /// Starts the abort: the records not sent yet fail, then (after
    /// [`batches_done`](Self::batches_done) when `wait_for_batches`) EndTxn.
    pub fn begin_abort(&mut self, wait_for_batches: bool) -> Result<OperationId, TransactionError> {
        if let Some(id) = self.pending(OperationKind::Abort)? {
            return Ok(id);
        }
        self.check_state(
            "abort_transaction",
            &[
                TransactionState::InTransaction,
                TransactionState::PreparedTransaction,
                TransactionState::AbortableError,
            ],
        )?;
        self.transition(TransactionState::Aborting);
        self.new_partitions.clear();
        self.events
            .push_back(TransactionEvent::AbortUnsent(TransactionError::abortable(
                ProducerError::TransactionAborted,
            )));
        self.begin_end(false, wait_for_batches);
        Ok(self.start_operation(OperationKind::Abort))
    }

    /// Two-phase commit (KIP-939): the transaction is flushed (the caller
    /// made sure) and kept open until `complete_transaction`; nothing is
    /// sent. Returns the state to keep with the application's own.
    pub fn prepare_transaction(&mut self) -> Result<PreparedTxnState, TransactionError> {
        if !self.config.two_phase_commit {
            return Err(TransactionError::InvalidArgument(
                "prepare_transaction needs transaction.two.phase.commit.enable=true".into(),
            ));
        }
        self.check_no_pending("prepare_transaction")?;
        self.check_state("prepare_transaction", &[TransactionState::InTransaction])?;
        self.transition(TransactionState::PreparedTransaction);
        let prepared = PreparedTxnState(self.producer);
        self.prepared = Some(prepared);
        Ok(prepared)
    }

    /// Completes a prepared transaction: commit when `prepared` is the one
    /// this producer prepared, else abort (KIP-939).
    pub fn complete_transaction(
        &mut self,
        prepared: PreparedTxnState,
    ) -> Result<OperationId, TransactionError> {
        self.check_state(
            "complete_transaction",
            &[TransactionState::PreparedTransaction],
        )?;
        if self.prepared == Some(prepared) {
            self.begin_commit(false)
        } else {
            self.begin_abort(false)
        }
    }
}
