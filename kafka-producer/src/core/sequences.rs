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
#[derive(Debug)]
struct PartitionSequences {
    /// Next sequence to assign.
    next: i32,
    /// Sequence of the last acknowledged record.
    last_acked: Option<i32>,
    /// The producer id and epoch this partition's sequences belong to when
    /// they are not the producer's current ones. An epoch bump found
    /// batches in flight here (restarting at 0 under the new epoch before
    /// they end would reorder them), or a batch that may already be in the
    /// log (restarting its sequence would write it twice; the broker
    /// deduplicates retries under the old one). The partition moves to the
    /// current epoch once neither is left (as Java's per-partition
    /// `maybeUpdateProducerIdAndEpoch`): other partitions never wait for it.
    held: Option<ProducerIdAndEpoch>,
    /// The producer id a batch of this partition was acknowledged under,
    /// at any epoch: the broker then holds state for it here, and refuses
    /// a new epoch's batch that does not start at sequence 0.
    known_to: Option<i64>,
}

impl PartitionSequences {
    /// Sequences of a new producer id or epoch, from `first` (0 but in tests).
    fn starting_at(first: i32) -> Self {
        PartitionSequences {
            next: first,
            last_acked: (first != 0).then(|| increment_sequence(first, i32::MAX)),
            held: None,
            known_to: None,
        }
    }

    /// These sequences restarted from `first`, for a new epoch or producer
    /// id; what the broker knows of the partition stays.
    fn restart(&mut self, first: i32) {
        *self = PartitionSequences {
            known_to: self.known_to,
            ..PartitionSequences::starting_at(first)
        };
    }

    /// The sequence the broker expects next.
    fn next_expected(&self) -> i32 {
        self.last_acked.map_or(0, |s| increment_sequence(s, 1))
    }
}

/// The idempotence room. Without idempotence it stamps nothing.
pub(crate) struct Sequences {
    state: ProducerIdState,
    partitions: FastMap<TopicPartition, PartitionSequences>,
    /// A local epoch bump was asked for.
    bump_pending: bool,
    /// Some partition's sequences are held at an older epoch.
    any_held: bool,
    /// Epochs are bumped by the transaction coordinator, never locally.
    transactional: bool,
    retry_backoff: Duration,
    transaction_timeout_ms: i32,
    /// Where a new epoch's sequences start: 0, as brokers expect; tests move
    /// it near 2^31-1 to reach the wrap to 0.
    first_sequence: i32,
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
            any_held: false,
            transactional,
            retry_backoff,
            transaction_timeout_ms: i32::try_from(transaction_timeout.as_millis())
                .unwrap_or(i32::MAX),
            first_sequence: 0,
        }
    }

    /// See [`ProducerCore::start_sequences_at`](crate::core::ProducerCore::start_sequences_at).
    pub fn start_sequences_at(&mut self, first: i32) {
        self.first_sequence = first;
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
    /// known (partitions still held at an older epoch are asked one by one,
    /// [`may_drain`](Self::may_drain)).
    pub fn ready_to_send(&self) -> bool {
        matches!(
            self.state,
            ProducerIdState::Disabled | ProducerIdState::Ready(_)
        )
    }

    /// Whether `tp`, with `in_flight` requests in flight, may send a batch:
    /// a partition held at an older epoch sends nothing until its in-flight
    /// batches end (then it moves to the current epoch, or retries what may
    /// be in the log under the old one).
    ///
    /// Nor does a partition pipeline before a first batch of it under the
    /// producer id is acknowledged: a broker takes any sequence from a
    /// producer it holds no state for, so a second batch could be written
    /// while the first one failed (a leader not ready yet), and the first
    /// could then never follow it (OUT_OF_ORDER_SEQUENCE_NUMBER until
    /// `delivery.timeout.ms`). A new epoch of a known producer id (each
    /// transaction under transactions v2) pipelines at once: the broker
    /// refuses its batches until sequence 0 is in.
    pub fn may_drain(&self, tp: &TopicPartition, in_flight: usize) -> bool {
        if in_flight == 0 || !self.is_idempotent() {
            return true;
        }
        let producer_id = self.current().map(|c| c.producer_id);
        self.partitions.get(tp).is_none_or(|s| {
            s.held.is_none() && (s.last_acked.is_some() || s.known_to == producer_id)
        })
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
            retry_at: Some(super::later(now, self.retry_backoff)),
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
        if code == ErrorCode::NONE && (resp.producer_id < 0 || resp.producer_epoch < 0) {
            // Stamping batches with a negative id or epoch would make them
            // non-idempotent on the broker: not an answer, ask again.
            tracing::warn!(
                producer_id = resp.producer_id,
                epoch = resp.producer_epoch,
                "InitProducerId answered an invalid producer id; asking again"
            );
            self.request_failed(now);
            Ok(())
        } else if code == ErrorCode::NONE {
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
        let first = self.first_sequence;
        let seq = self
            .partitions
            .entry(tp.clone())
            .or_insert_with(|| PartitionSequences::starting_at(first));
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

    /// Batch `b` of `tp` was acknowledged. The last acknowledged sequence
    /// only moves forward, and only for the producer id and epoch the
    /// partition's sequences belong to (a late ack of an older epoch, or of
    /// an earlier batch, says nothing about what the broker expects next).
    pub fn acked(&mut self, tp: &TopicPartition, b: &ProducerBatch) {
        let current = self.current();
        let (Some(s), Some(seq)) = (b.stamp.assigned(), self.partitions.get_mut(tp)) else {
            return;
        };
        if Some(s.producer) != seq.held.or(current) {
            return;
        }
        let last = increment_sequence(s.base_sequence, b.record_count - 1);
        if seq.last_acked.is_none_or(|prev| sequence_after(last, prev)) {
            seq.last_acked = Some(last);
        }
        seq.known_to = Some(s.producer.producer_id);
    }

    /// Whether `b` is the batch the broker expects next on `tp`: then an
    /// OUT_OF_ORDER_SEQUENCE_NUMBER for it is a real gap.
    pub fn is_next_in_line(&self, tp: &TopicPartition, b: &ProducerBatch) -> bool {
        match (b.stamp.assigned(), self.partitions.get(tp)) {
            (Some(s), Some(seq)) => s.base_sequence == seq.next_expected(),
            (Some(s), None) => s.base_sequence == self.first_sequence,
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

    /// As [`request_bump`](Self::request_bump), for a batch stamped `stamp`:
    /// nothing when a bump since its stamp already left its sequences
    /// behind (the halves of one split, or several batches failing for
    /// one cause, cost one epoch, not one each).
    pub fn request_bump_for(&mut self, stamp: Stamp) {
        match (stamp.assigned(), self.current()) {
            (Some(s), Some(current)) if s.producer != current => {}
            _ => self.request_bump(),
        }
    }

    /// KIP-360: an idempotent producer bumps its epoch locally, at once;
    /// each partition restarts its sequences at 0 under the new epoch when
    /// it has nothing in flight (now, or once its requests end: see
    /// [`release_held`](Self::release_held)). When the epoch would
    /// overflow, it asks for a new producer id instead.
    pub fn maybe_bump(&mut self, acc: &mut Accumulator) {
        let ProducerIdState::Ready(current) = self.state else {
            return;
        };
        if !self.bump_pending {
            self.release_held(acc);
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
    /// epoch, except in partitions with batches in flight or a batch that
    /// may already be in the log (they keep `old`, see
    /// [`PartitionSequences::held`]).
    fn reset(&mut self, old: Option<ProducerIdAndEpoch>, acc: &mut Accumulator) {
        let first = self.first_sequence;
        for queue in acc.queues_mut() {
            let tp = &queue.tp;
            let held = old
                .filter(|_| queue.in_flight > 0 || queue.batches.iter().any(|b| b.maybe_written));
            if let Some(old) = held {
                self.partitions
                    .entry(tp.clone())
                    .or_insert_with(|| PartitionSequences::starting_at(first))
                    .held
                    .get_or_insert(old);
                self.any_held = true;
                continue;
            }
            if let Some(seq) = self.partitions.get_mut(tp) {
                seq.restart(first);
            }
            restamp(queue);
        }
    }

    /// Partitions held at an older epoch whose in-flight batches ended, and
    /// that hold nothing that may be in the log, move to the current epoch.
    pub fn release_held(&mut self, acc: &mut Accumulator) {
        if !self.any_held {
            return;
        }
        let mut still_held = false;
        let first = self.first_sequence;
        for (tp, seq) in self.partitions.iter_mut() {
            if seq.held.is_none() {
                continue;
            }
            let clean = match acc.queue_mut(tp) {
                Some(q) => {
                    let clean = q.in_flight == 0 && !q.batches.iter().any(|b| b.maybe_written);
                    if clean {
                        restamp(q);
                    }
                    clean
                }
                None => true,
            };
            if clean {
                tracing::debug!(topic = %tp.topic, partition = tp.partition, "partition moves to the current epoch");
                seq.restart(first);
            } else {
                still_held = true;
            }
        }
        self.any_held = still_held;
    }
}

/// Batches that already got a sequence get a new one at their next drain.
fn restamp(queue: &mut super::accumulator::PartitionQueue) {
    for b in queue.batches.iter_mut() {
        if !b.in_flight() && b.stamp.was_assigned() {
            b.stamp = Stamp::Stale;
        }
    }
}

/// Whether sequence `a` comes after `b`, with wrap-around: within half the
/// sequence space ahead of `b` (far more than can be in flight).
pub(crate) fn sequence_after(a: i32, b: i32) -> bool {
    let ahead = (i64::from(a) - i64::from(b)).rem_euclid(1 << 31);
    ahead != 0 && ahead < 1 << 30
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
    use super::{increment_sequence, sequence_after};

    #[test]
    fn sequence_order_wraps() {
        assert!(sequence_after(5, 4));
        assert!(!sequence_after(4, 5));
        assert!(!sequence_after(4, 4));
        assert!(sequence_after(0, i32::MAX));
        assert!(sequence_after(3, i32::MAX - 2));
        assert!(!sequence_after(i32::MAX, 0));
    }

    #[test]
    fn sequences_wrap() {
        assert_eq!(increment_sequence(0, 5), 5);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }
}

#[cfg(test)]
mod ack_tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::core::accumulator::Accumulator;
    use crate::ProducerConfig;

    fn stamped(seq: &mut Sequences, tp: &TopicPartition, records: i32) -> ProducerBatch {
        let mut b = ProducerBatch::new(
            0,
            Arc::from("t"),
            0,
            bytes::BytesMut::with_capacity(1024),
            Instant::now(),
        );
        b.record_count = records;
        b.stamp = seq.stamp_for(tp, &b);
        b.attempts = 1;
        b
    }

    /// An accumulator and the sequences of an idempotent producer.
    fn idempotent() -> (Accumulator, Sequences) {
        let config =
            Arc::new(ProducerConfig::from_properties([("bootstrap.servers", "b:9092")]).unwrap());
        let seq = Sequences::new(
            true,
            false,
            Duration::from_millis(100),
            Duration::from_secs(60),
        );
        (Accumulator::new(config, 1), seq)
    }

    /// An ack arriving late (from a leader that lost its place) for an
    /// earlier batch must not move the last acknowledged sequence back: the
    /// next batch's OUT_OF_ORDER_SEQUENCE_NUMBER would no longer be seen as
    /// the real gap it is.
    #[test]
    fn a_late_ack_of_an_earlier_batch_keeps_the_highest_sequence() {
        let (mut acc, mut seq) = idempotent();
        let pid = ProducerIdAndEpoch {
            producer_id: 1,
            epoch: 0,
        };
        seq.adopt(pid, &mut acc);
        let tp = TopicPartition {
            topic: Arc::from("t"),
            partition: 0,
        };
        let first = stamped(&mut seq, &tp, 5); // 0..4
        let second = stamped(&mut seq, &tp, 5); // 5..9
        let third = stamped(&mut seq, &tp, 5); // 10..14
        seq.acked(&tp, &second);
        seq.acked(&tp, &first);
        assert!(
            seq.is_next_in_line(&tp, &third),
            "after acks up to 9, the batch at 10 is next in line"
        );
    }

    /// A partition pipelines once the broker holds state for the producer
    /// id there: after a first acknowledgement, and at every later epoch of
    /// that id (each transaction under transactions v2); a new producer id
    /// waits for its own first acknowledgement again.
    #[test]
    fn pipelining_waits_for_the_brokers_state_of_the_producer_id() {
        let (mut acc, mut seq) = idempotent();
        let tp = TopicPartition {
            topic: Arc::from("t"),
            partition: 0,
        };
        acc.open_queue(&tp);
        let pid = |producer_id, epoch| ProducerIdAndEpoch { producer_id, epoch };
        seq.adopt(pid(1, 0), &mut acc);
        let first = stamped(&mut seq, &tp, 5);
        assert!(seq.may_drain(&tp, 0));
        assert!(!seq.may_drain(&tp, 1), "nothing acknowledged yet");
        seq.acked(&tp, &first);
        assert!(seq.may_drain(&tp, 1));
        seq.adopt(pid(1, 1), &mut acc);
        stamped(&mut seq, &tp, 5);
        assert!(seq.may_drain(&tp, 1), "a new epoch of a known id");
        seq.adopt(pid(2, 0), &mut acc);
        stamped(&mut seq, &tp, 5);
        assert!(!seq.may_drain(&tp, 1), "a new producer id");
    }
}
