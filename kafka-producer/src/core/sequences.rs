//! Idempotence bookkeeping (Java's `TransactionManager` sequence part): the
//! producer id and epoch, each partition's next and last acknowledged
//! sequence, and the local epoch bump of KIP-360.

use std::time::{Duration, Instant};

use kafka_protocol::generated::{InitProducerIdRequest, InitProducerIdResponse};
use kafka_protocol::ErrorCode;

use super::accumulator::Accumulator;
use super::batch::{ProducerBatch, Stamp};
use super::hash::FastMap;
use super::TopicPartition;
use crate::error::{broker_error, ProducerError};

/// A producer id and its epoch, as InitProducerId returned them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerIdAndEpoch {
    /// The producer id.
    pub producer_id: i64,
    /// Its epoch.
    pub epoch: i16,
}

/// The producer id, epoch and base sequence written into a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SequenceStamp {
    pub producer: ProducerIdAndEpoch,
    pub base_sequence: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProducerIdState {
    /// Not idempotent.
    Disabled,
    /// Transactional: the id comes from outside (`adopt`), from the
    /// transaction coordinator; none yet.
    External,
    /// Need one; ask when `retry_at` passed (at once when `None`).
    Needed { retry_at: Option<Instant> },
    /// InitProducerId in flight.
    Requested,
    /// Known.
    Ready(ProducerIdAndEpoch),
}

/// One partition's sequences.
#[derive(Debug, Default)]
struct PartitionSequences {
    /// Next sequence to assign.
    next: i32,
    /// Sequence of the last acknowledged record.
    last_acked: Option<i32>,
    /// The producer id and epoch this partition's sequences belong to when
    /// they are not the producer's current ones: an epoch bump found a batch
    /// here that may already be in the log, and restarting its sequence at 0
    /// under the new epoch would write it twice. The partition keeps its
    /// sequences (the broker deduplicates the retries) until a later bump
    /// finds it clean.
    held: Option<ProducerIdAndEpoch>,
}

impl PartitionSequences {
    /// The sequence the broker expects next.
    fn next_expected(&self) -> i32 {
        self.last_acked.map_or(0, |s| increment_sequence(s, 1))
    }
}

/// The idempotence room. Without idempotence it stamps nothing.
pub(crate) struct Sequences {
    state: ProducerIdState,
    partitions: FastMap<TopicPartition, PartitionSequences>,
    /// An epoch bump waits until nothing is in flight.
    bump_pending: bool,
    /// Epochs are bumped by the transaction coordinator, never locally.
    transactional: bool,
    retry_backoff: Duration,
    transaction_timeout_ms: i32,
}

impl Sequences {
    pub fn new(
        idempotent: bool,
        transactional: bool,
        retry_backoff: Duration,
        transaction_timeout: Duration,
    ) -> Self {
        Sequences {
            state: if transactional {
                ProducerIdState::External
            } else if idempotent {
                ProducerIdState::Needed { retry_at: None }
            } else {
                ProducerIdState::Disabled
            },
            partitions: FastMap::default(),
            bump_pending: false,
            transactional,
            retry_backoff,
            transaction_timeout_ms: i32::try_from(transaction_timeout.as_millis())
                .unwrap_or(i32::MAX),
        }
    }

    pub fn is_idempotent(&self) -> bool {
        self.state != ProducerIdState::Disabled
    }

    /// The producer id and epoch, once known.
    pub fn current(&self) -> Option<ProducerIdAndEpoch> {
        match self.state {
            ProducerIdState::Ready(p) => Some(p),
            _ => None,
        }
    }

    /// Whether batches may be drained: idempotence off, or a producer id is
    /// known and no epoch bump is waiting.
    pub fn ready_to_send(&self) -> bool {
        match self.state {
            ProducerIdState::Disabled => true,
            ProducerIdState::Ready(_) => !self.bump_pending,
            _ => false,
        }
    }

    // ------------------------------------------------------------ producer id

    /// Whether an InitProducerId should go now.
    pub fn wants_producer_id(&self, now: Instant) -> bool {
        matches!(self.state, ProducerIdState::Needed { retry_at } if retry_at.is_none_or(|r| now >= r))
    }

    /// The InitProducerId request (after [`wants_producer_id`](Self::wants_producer_id)).
    pub fn request(&mut self) -> InitProducerIdRequest {
        self.state = ProducerIdState::Requested;
        InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: self.transaction_timeout_ms,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        }
    }

    /// When a producer id request may go again.
    pub fn next_wake(&self) -> Option<Instant> {
        match self.state {
            ProducerIdState::Needed { retry_at } => retry_at,
            _ => None,
        }
    }

    /// The InitProducerId request failed in transport: ask again later.
    pub fn request_failed(&mut self, now: Instant) {
        self.state = ProducerIdState::Needed {
            retry_at: Some(now + self.retry_backoff),
        };
    }

    /// Applies an InitProducerId response; a non-retriable error is returned
    /// (the producer cannot go on without an id).
    pub fn on_response(
        &mut self,
        resp: &InitProducerIdResponse,
        now: Instant,
        acc: &mut Accumulator,
    ) -> Result<(), ProducerError> {
        let code = ErrorCode(resp.error_code);
        if code == ErrorCode::NONE {
            tracing::debug!(
                producer_id = resp.producer_id,
                epoch = resp.producer_epoch,
                "producer id"
            );
            self.adopt(
                ProducerIdAndEpoch {
                    producer_id: resp.producer_id,
                    epoch: resp.producer_epoch,
                },
                acc,
            );
            Ok(())
        } else if code.is_retriable() {
            self.request_failed(now);
            Ok(())
        } else {
            Err(broker_error(code, None, 1))
        }
    }

    /// Takes a producer id and epoch (from InitProducerId, or from outside
    /// for transactions) and restarts the sequences.
    pub fn adopt(&mut self, producer: ProducerIdAndEpoch, acc: &mut Accumulator) {
        let old = self.current();
        self.state = ProducerIdState::Ready(producer);
        self.reset(old, acc);
    }

    // ----------------------------------------------------------------- stamps

    /// The stamp batch `b` of `tp` goes with: its own when it got it under
    /// the partition's producer id and epoch (a retry keeps its sequence),
    /// else the partition's next sequences. Unassigned without idempotence.
    pub fn stamp_for(&mut self, tp: &TopicPartition, b: &ProducerBatch) -> Stamp {
        let Some(current) = self.current() else {
            return Stamp::Unassigned;
        };
        let seq = self.partitions.entry(tp.clone()).or_default();
        let producer = seq.held.unwrap_or(current);
        match b.stamp {
            Stamp::Assigned(s) if s.producer == producer => b.stamp,
            _ => {
                let s = SequenceStamp {
                    producer,
                    base_sequence: seq.next,
                };
                seq.next = increment_sequence(seq.next, b.record_count);
                Stamp::Assigned(s)
            }
        }
    }

    /// Batch `b` of `tp` was acknowledged.
    pub fn acked(&mut self, tp: &TopicPartition, b: &ProducerBatch) {
        if let (Some(s), Some(seq)) = (b.stamp.assigned(), self.partitions.get_mut(tp)) {
            seq.last_acked = Some(increment_sequence(s.base_sequence, b.record_count - 1));
        }
    }

    /// Whether `b` is the batch the broker expects next on `tp`: then an
    /// OUT_OF_ORDER_SEQUENCE_NUMBER for it is a real gap.
    pub fn is_next_in_line(&self, tp: &TopicPartition, b: &ProducerBatch) -> bool {
        match (b.stamp.assigned(), self.partitions.get(tp)) {
            (Some(s), Some(seq)) => s.base_sequence == seq.next_expected(),
            (Some(s), None) => s.base_sequence == 0,
            _ => false,
        }
    }

    /// A sent batch of `tp` failed for good. If it was next in line, the
    /// next batch is now: an OUT_OF_ORDER_SEQUENCE_NUMBER for it then means
    /// the failed batch is not in the log (a real gap), as Java's
    /// unresolved sequences.
    pub fn gave_up(&mut self, tp: &TopicPartition, b: &ProducerBatch) {
        let (Some(s), Some(seq)) = (b.stamp.assigned(), self.partitions.get_mut(tp)) else {
            return;
        };
        if b.attempts > 0 && s.base_sequence == seq.next_expected() {
            seq.last_acked = Some(increment_sequence(s.base_sequence, b.record_count - 1));
        }
    }

    // ------------------------------------------------------------ epoch bump

    /// Whether the producer is transactional (its epoch is bumped by the
    /// coordinator: a failed batch makes the transaction abortable instead).
    pub fn is_transactional(&self) -> bool {
        self.transactional
    }

    /// A sequence may be unresolved on the broker: bump the epoch once
    /// nothing is in flight. A transactional producer leaves it to its
    /// coordinator (the failed batch made the transaction abortable; the
    /// abort bumps the epoch).
    pub fn request_bump(&mut self) {
        if self.is_idempotent() && !self.transactional {
            self.bump_pending = true;
        }
    }

    /// KIP-360: an idempotent producer bumps its epoch locally once nothing
    /// is in flight; partitions restart their sequences at 0. When the epoch
    /// would overflow, it asks for a new producer id instead.
    pub fn maybe_bump(&mut self, produce_in_flight: bool, acc: &mut Accumulator) {
        let ProducerIdState::Ready(current) = self.state else {
            return;
        };
        if !self.bump_pending || produce_in_flight {
            return;
        }
        self.bump_pending = false;
        if current.epoch >= i16::MAX - 1 {
            tracing::info!(
                producer_id = current.producer_id,
                "epoch exhausted; asking for a new producer id"
            );
            self.state = ProducerIdState::Needed { retry_at: None };
        } else {
            let bumped = ProducerIdAndEpoch {
                epoch: current.epoch + 1,
                ..current
            };
            tracing::info!(
                producer_id = bumped.producer_id,
                epoch = bumped.epoch,
                "bumped producer epoch"
            );
            self.state = ProducerIdState::Ready(bumped);
        }
        self.reset(Some(current), acc);
    }

    /// Restarts every partition's sequences at 0 for a new producer id or
    /// epoch, except in partitions holding a batch that may already be in
    /// the log (they keep `old`, see [`PartitionSequences::held`]).
    fn reset(&mut self, old: Option<ProducerIdAndEpoch>, acc: &mut Accumulator) {
        for (tp, queue) in acc.queues_mut() {
            let held = old.filter(|_| queue.batches.iter().any(|b| b.maybe_written));
            if let Some(old) = held {
                self.partitions
                    .entry(tp.clone())
                    .or_default()
                    .held
                    .get_or_insert(old);
                continue;
            }
            if let Some(seq) = self.partitions.get_mut(tp) {
                *seq = PartitionSequences::default();
            }
            // Batches that already got a sequence get a new one at their next drain.
            for b in queue.batches.iter_mut() {
                if !b.in_flight() && b.stamp.was_assigned() {
                    b.stamp = Stamp::Stale;
                }
            }
        }
    }
}

/// Sequences wrap from 2^31-1 to 0.
pub(crate) fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

#[cfg(test)]
mod tests {
    use super::increment_sequence;

    #[test]
    fn sequences_wrap() {
        assert_eq!(increment_sequence(0, 5), 5);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }
}
