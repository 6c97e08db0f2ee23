//! The record accumulator (Java's `RecordAccumulator`): records waiting for
//! their topic's metadata, partitioning, one queue of batches per
//! partition, expiry and the abort of unsent batches; the queues
//! themselves are in `queues`, expiry and aborts in `expiry`, the
//! ready/drain filter in `drain`, split
//! re-queueing in `split`, records without a partition yet in `waiting`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

mod drain;
mod expiry;
mod queues;
mod split;
mod waiting;

use drain::NodeLatency;
pub(crate) use drain::{DrainContext, Drained};
pub(crate) use queues::{PartitionQueue, Queues};

use super::batch::{BatchId, BatchState, ProducerBatch};
use super::completion::{Completions, Unbatched};
use super::hash::FastMap;
use super::metadata::{Metadata, TopicMeta};
use super::{ReadNow, TopicPartition};
use crate::config::{PartitionerKind, ProducerConfig};
use crate::delivery::{DeliveryCallback, DeliveryFuture, OutcomeSlot};
use crate::error::ProducerError;
use crate::partitioner::murmur2::partition_for_key;
use crate::partitioner::sticky::StickyPartitioner;
use crate::partitioner::RoundRobinPartitioner;
use crate::record::ProducerRecord;

/// Asked before a batch of a partition may leave, and told what happens to
/// batches: the seam a transactional producer (`kafka-txn`) drives the core
/// through. In transactions v1 a partition must be added to the
/// transaction before its first batch leaves; a failed batch makes the
/// transaction abortable. Without a gate every partition may drain.
pub trait DrainGate: Send + Sync {
    /// Whether a batch of `tp` may be sent now.
    fn may_drain(&self, tp: &TopicPartition) -> bool;

    /// A new batch is about to start for `tp` (Java adds the partition to
    /// the transaction at this point, while the batch lingers). An error
    /// refuses it: the record that would open it fails with that error
    /// (no transaction to join, one being aborted), so that no open batch
    /// outlives the transaction it was opened in.
    fn batch_opened(&self, _tp: &TopicPartition) -> Result<(), ProducerError> {
        Ok(())
    }

    /// A batch of `tp` failed for good with `error` (not for aborts the
    /// owner asked for).
    fn batch_failed(&self, _tp: &TopicPartition, _error: &ProducerError) {}

    /// The producer stopped for good with `error`: every pending record fails.
    fn producer_stopped(&self, _error: &ProducerError) {}

    /// The highest Produce version batches may go with (a transaction
    /// without transactions v2 must not use v12 or later).
    fn produce_version_cap(&self) -> Option<i16> {
        None
    }
}

/// A record on its way into a batch.
pub(crate) struct Incoming {
    pub record: ProducerRecord,
    /// Create time, ms since the epoch.
    pub timestamp: i64,
    /// Buffer memory it holds until complete.
    pub permits: usize,
    pub callback: Option<DeliveryCallback>,
    /// Its id, for flushes.
    pub id: u64,
    /// Its own outcome, once it waited for metadata (its future reads it,
    /// and follows it to the batch it joins).
    pub slot: Option<OutcomeSlot>,
    /// The application's partitioner has not seen it yet: the core does
    /// not choose its partition, the driver asks the partitioner (outside
    /// the core) once the topic's partition count is known.
    pub awaits_partitioner: bool,
}

impl Incoming {
    /// A record handed to the core, counted in as record `id`.
    pub fn new(rec: crate::core::PendingRecord, id: u64) -> Self {
        Incoming {
            record: rec.record,
            timestamp: rec.timestamp,
            permits: rec.permits,
            callback: rec.callback,
            id,
            slot: None,
            awaits_partitioner: rec.awaits_partitioner,
        }
    }

    /// What its failure needs, without the record.
    pub fn unbatched(self) -> Unbatched {
        Unbatched {
            topic: self.record.topic,
            id: self.id,
            timestamp: self.timestamp,
            permits: self.permits,
            callback: self.callback,
            slot: self.slot,
        }
    }
}

/// Gives a record that does not join a batch at once an outcome of its
/// own; returns its future (which follows the record to its batch).
pub(crate) fn own_outcome(incoming: &mut Incoming) -> DeliveryFuture {
    let slot = OutcomeSlot::new(incoming.record.topic.clone(), -1);
    let delivery = slot.future(0, incoming.timestamp);
    incoming.slot = Some(slot);
    delivery
}

/// The buffer a partition's new batch is opened with when the producer is
/// crowded (more partitions than `buffer.memory` holds full batches for):
/// twice what its last batch held (at least `MIN_RIGHT_SIZED_RECORDS`
/// records of this size), up to `batch.size`. With thousands of partitions
/// each getting a few records per linger, `batch.size` per batch takes all
/// of `buffer.memory` for mostly empty buffers and stalls the senders; a
/// busy partition doubles back to `batch.size` within a few batches. (Java
/// takes `batch.size` for every batch from its pool.)
fn right_size(batch_size: usize, record_size: usize, recent_records: usize) -> usize {
    let records = recent_records
        .saturating_mul(2)
        .max(MIN_RIGHT_SIZED_RECORDS);
    record_size
        .saturating_mul(records)
        .saturating_add(kafka_protocol::records::BATCH_HEADER_SIZE)
        .min(batch_size)
}

const MIN_RIGHT_SIZED_RECORDS: usize = 8;

/// Where a new batch's buffer memory comes from.
enum Pay {
    /// The record brought enough for the whole buffer.
    Brought,
    /// A free pooled buffer holds it.
    Pooled,
    /// Nobody: the batch holds its records' memory and grows with them.
    Grows,
}

/// Why the accumulator gave a record back.
pub(crate) enum NotAppended {
    /// Its explicit partition is not in the metadata yet: it waits.
    UnknownPartition(Incoming),
    /// It would open a batch, and holds less buffer memory than the
    /// batch's buffer needs (this much in all).
    NeedsMemory(Incoming, usize),
}

/// A record waiting for its topic's metadata, with its arrival time.
pub(crate) struct WaitingRecord {
    pub incoming: Incoming,
    pub since: Instant,
}

/// A record whose partition the application's partitioner chooses, once
/// its topic's partition count is known: the driver takes it out of the
/// core ([`ProducerCore::take_awaiting_partitioner`](crate::core::ProducerCore::take_awaiting_partitioner)),
/// asks the partitioner without holding the core, and hands the answer
/// back ([`ProducerCore::partitioned`](crate::core::ProducerCore::partitioned)).
/// Records of its topic sent after it queue behind it (in send order, as
/// the records of a partition are written), so some that come out this
/// way need no partitioner: hand them back with `Ok(None)`.
pub struct AwaitingPartitioner {
    pub(crate) waiting: WaitingRecord,
    partitions: i32,
}

impl AwaitingPartitioner {
    /// The record.
    pub fn record(&self) -> &ProducerRecord {
        &self.waiting.incoming.record
    }

    /// Whether the partitioner must choose for it (otherwise it only kept
    /// its place behind one that did).
    pub fn needs_partitioner(&self) -> bool {
        self.waiting.incoming.awaits_partitioner
    }

    /// Its topic's partition count.
    pub fn partitions(&self) -> i32 {
        self.partitions
    }
}

impl std::fmt::Debug for AwaitingPartitioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingPartitioner")
            .field("topic", &self.waiting.incoming.record.topic)
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

/// What became of a record handed to the accumulator.
pub(crate) struct Appended {
    /// Its future (`None` for a record that waited: its future exists and
    /// now follows the batch).
    pub delivery: Option<DeliveryFuture>,
    /// When its batch may leave, if the append changed that: a batch opened
    /// (its linger's end) or became ready (full, or it closed the batch
    /// before it).
    pub ready_at: Option<Instant>,
    /// The leader of the partition it went to, when known.
    pub leader: Option<i32>,
}

pub(crate) struct Accumulator {
    config: Arc<ProducerConfig>,
    queues: Queues,
    /// Records waiting for their topic's metadata, per topic, oldest first.
    waiting: FastMap<Arc<str>, VecDeque<WaitingRecord>>,
    /// Records for the application's partitioner, until the driver takes them.
    awaiting: Vec<AwaitingPartitioner>,
    /// Per topic, records out for the partitioner (here or with the
    /// driver): later records of the topic queue behind them.
    awaiting_per_topic: FastMap<Arc<str>, usize>,
    sticky: StickyPartitioner,
    round_robin: RoundRobinPartitioner,
    gate: Option<Arc<dyn DrainGate>>,
    node_latency: FastMap<i32, NodeLatency>,
    /// Rotation start of the drain, so no partition starves.
    drain_start: usize,
    next_batch_id: BatchId,
    /// Reused for the partition load stats.
    load_scratch: Vec<(i32, usize)>,
    /// Reused for the drain's candidate queues.
    drain_scratch: Vec<queues::QueueAt>,
    /// Full `batch.size` buffers for every partition, `max.in.flight`
    /// deep, would not fit in `buffer.memory`: new batches are right-sized
    /// (see [`right_size`]). Looked at by each drain.
    crowded: bool,
    /// No queued batch expires (`delivery.timeout.ms`) before this; `None`
    /// when none is queued. A lower bound, so `expire` walks the queues
    /// only when something may be due, not at every wake-up.
    expiry_floor: Option<Instant>,
}

/// Lowers `floor` to `at` (an expiry lower bound that knows of one more batch).
fn lower_floor(floor: &mut Option<Instant>, at: Instant) {
    *floor = Some(floor.map_or(at, |f| f.min(at)));
}

impl Accumulator {
    pub fn new(config: Arc<ProducerConfig>, seed: u64) -> Self {
        Accumulator {
            sticky: StickyPartitioner::new(
                config.batch_size,
                config.partitioner_adaptive_partitioning_enable,
                seed,
            ),
            round_robin: RoundRobinPartitioner::default(),
            gate: None,
            queues: Queues::default(),
            waiting: FastMap::default(),
            awaiting: Vec::new(),
            awaiting_per_topic: FastMap::default(),
            node_latency: FastMap::default(),
            drain_start: 0,
            next_batch_id: 1,
            crowded: false,
            expiry_floor: None,
            load_scratch: Vec::new(),
            drain_scratch: Vec::new(),
            config,
        }
    }

    pub fn set_gate(&mut self, gate: Arc<dyn DrainGate>) {
        self.gate = Some(gate);
    }

    pub fn gate(&self) -> Option<&dyn DrainGate> {
        self.gate.as_deref()
    }

    /// Fails batch `b` of `tp` for good; the gate hears of it.
    pub fn fail_batch(
        &self,
        tp: &TopicPartition,
        b: ProducerBatch,
        e: ProducerError,
        completions: &mut Completions,
    ) {
        if let Some(g) = &self.gate {
            g.batch_failed(tp, &e);
        }
        completions.fail_batch(b, e);
    }

    pub fn queues_mut(&mut self) -> impl Iterator<Item = &mut PartitionQueue> {
        self.queues.iter_mut()
    }

    /// `tp`'s queue, made when new: for tests that stamp batches by hand.
    #[cfg(test)]
    pub fn open_queue(&mut self, tp: &TopicPartition) -> &mut PartitionQueue {
        self.queues.entry(tp)
    }

    pub fn queue_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionQueue> {
        self.queues.get_mut(tp)
    }

    /// Whether any partition of `topic` holds batches.
    pub fn holds_batches_of(&self, topic: &str) -> bool {
        self.queues
            .iter()
            .any(|q| &*q.tp.topic == topic && !q.batches.is_empty())
    }

    // ---------------------------------------------------- partition and append

    /// Picks the record's partition (explicit, or chosen by the
    /// application's partitioner before, murmur2 of the key, or sticky /
    /// round robin) and appends it to that
    /// partition's open batch. Gives the record back when the metadata does
    /// not know its explicit partition (partitions may have been added
    /// since: as Java, it waits for metadata within max.block.ms), or when
    /// it would open a batch without the buffer memory for it (unless
    /// `may_grow`: see [`ProducerBatch::prepaid`]).
    // The record handed back is not an error value: boxing it would cost
    // an allocation on the path of every record that waits.
    #[allow(clippy::result_large_err)]
    pub fn partition_and_append(
        &mut self,
        meta: &TopicMeta,
        incoming: Incoming,
        now: &mut dyn ReadNow,
        completions: &mut Completions,
        may_grow: bool,
    ) -> Result<Appended, NotAppended> {
        let topic = &meta.name;
        let n = meta.partitions.len() as i32;
        let t = self.queues.topic(topic);
        // Whether the built-in sticky partitioner chose, so it hears about the append.
        let mut sticky_choice = false;
        let rec = &incoming.record;
        // An explicit partition (the application's, or its partitioner's)
        // must name an existing partition.
        let partition = match rec.partition {
            Some(p) if p >= 0 && p < n => p,
            Some(p) if p > 0 => return Err(NotAppended::UnknownPartition(incoming)),
            Some(p) => {
                let e = ProducerError::InvalidPartition {
                    topic: topic.to_string(),
                    partition: p,
                    partitions: n,
                };
                return Ok(Appended {
                    delivery: Some(completions.fail_record(incoming.unbatched(), e)),
                    ready_at: None,
                    leader: None,
                });
            }
            None => {
                let by_load = self.config.partitioner == PartitionerKind::RoundRobin
                    || rec.key.is_none()
                    || self.config.partitioner_ignore_keys;
                if by_load && !self.queues.topics[t].balanced {
                    // The topic's first record placed by load: its load is
                    // kept from now on (the drain's), and known now.
                    self.queues.topics[t].balanced = true;
                    self.update_topic_load(t, meta);
                }
                // Partitions left out for their leader's lag, among the
                // sticky candidates (the client's rack when rack-aware).
                let unlagged = self.queues.topics[t].unlagged.as_deref();
                match (
                    &rec.key,
                    self.config.partitioner_ignore_keys,
                    self.config.partitioner,
                ) {
                    // Not rack-aware, as Java's partitioner classes are not.
                    (_, _, PartitionerKind::RoundRobin) => {
                        let available = unlagged
                            .filter(|_| meta.in_rack.is_empty())
                            .unwrap_or(&meta.available);
                        self.round_robin.next(topic, n, available)
                    }
                    (Some(key), false, _) => partition_for_key(key, n),
                    _ => {
                        sticky_choice = true;
                        let candidates = unlagged.unwrap_or(meta.sticky_candidates());
                        self.sticky.partition(topic, n, candidates)
                    }
                }
            }
        };
        let (mut appended, bytes, full) = self
            .append(t, partition, incoming, now, completions, may_grow)
            .map_err(|(incoming, needed)| NotAppended::NeedsMemory(incoming, needed))?;
        appended.leader = meta
            .partitions
            .get(partition as usize)
            .map(|p| p.leader)
            .filter(|l| *l >= 0);
        if sticky_choice {
            let candidates = self.queues.topics[t]
                .unlagged
                .as_deref()
                .unwrap_or(meta.sticky_candidates());
            self.sticky
                .on_append(topic, partition, bytes, full, n, candidates);
        }
        Ok(appended)
    }

    /// Appends to the partition's last batch (or a new one); returns where
    /// the record went, the bytes it added and whether that batch is now
    /// full.
    #[allow(clippy::result_large_err)] // the record handed back, as above
    fn append(
        &mut self,
        t: usize,
        partition: i32,
        mut incoming: Incoming,
        now: &mut dyn ReadNow,
        completions: &mut Completions,
        may_grow: bool,
    ) -> Result<(Appended, usize, bool), (Incoming, usize)> {
        let batch_size = self.config.batch_size;
        let queue = self.queues.topics[t].queue(partition);
        let mut ready_at = None;
        let mut before = queue.batches.back().map_or(0, |b| b.size);
        let permits = incoming.permits;
        let mut appended = {
            let r = &incoming.record;
            let headers = || r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
            let (key, value) = (r.key.as_deref(), r.value.as_deref());
            let (ts, id) = (incoming.timestamp, incoming.id);
            match queue.batches.back_mut() {
                // A batch paid for whole takes the record without its
                // memory; one that grows takes it with it, within it.
                Some(b) if b.prepaid => {
                    let limit = batch_size.min(b.permits);
                    let a = b.append(limit, ts, key, value, headers(), id, 0);
                    if let Ok(Some(_)) = a {
                        incoming.permits = 0;
                        completions.release(permits);
                    }
                    a
                }
                Some(b) => {
                    let limit = batch_size.min(b.permits.saturating_add(permits));
                    b.append(limit, ts, key, value, headers(), id, permits)
                }
                None => Ok(None),
            }
        };
        if let Ok(None) = appended {
            // It does not fit: the last batch is full, a new one takes it.
            if let Some(last) = queue.batches.back_mut() {
                if last.is_open() {
                    last.close();
                    ready_at = Some(now.now());
                }
            }
            if let Some(last) = queue.batches.back() {
                queue.recent_records = last.record_count as usize;
            }
            // Buffer memory for the new batch's buffer (Java's
            // BufferPool.allocate): brought by the record, or held by a
            // free pooled buffer; else the record waits for it (or, where
            // nothing may wait, the batch holds the record's memory and
            // grows with its records).
            let record_size = incoming.record.estimated_size();
            let cap = if self.crowded {
                right_size(batch_size, record_size, queue.recent_records)
            } else {
                batch_size
            };
            let cap = cap.max(record_size).min(self.config.buffer_memory);
            // A right-sized buffer is allocated for the batch: pooled
            // buffers are batch.size.
            let small = cap < batch_size;
            let pay = if permits >= cap {
                Pay::Brought
            } else if !small && completions.pool.free_permits().is_some_and(|p| p >= cap) {
                Pay::Pooled
            } else if may_grow {
                Pay::Grows
            } else {
                return Err((incoming, cap));
            };
            if let Some(Err(e)) = self.gate.as_ref().map(|g| g.batch_opened(&queue.tp)) {
                let delivery = Some(completions.fail_record(incoming.unbatched(), e));
                let appended = Appended {
                    delivery,
                    ready_at,
                    leader: None,
                };
                return Ok((appended, 0, false));
            }
            let (buffer, held, prepaid) = match pay {
                Pay::Brought => {
                    let (buffer, pooled) = if small {
                        (bytes::BytesMut::with_capacity(cap), 0)
                    } else {
                        completions.pool.take(cap)
                    };
                    completions.release(pooled + permits - cap);
                    incoming.permits = 0;
                    (buffer, cap, true)
                }
                Pay::Pooled => {
                    let (buffer, pooled) = completions.pool.take(cap);
                    completions.release(permits);
                    incoming.permits = 0;
                    (buffer, pooled, true)
                }
                Pay::Grows => (bytes::BytesMut::with_capacity(permits), 0, false),
            };
            let batch_id = self.next_batch_id;
            self.next_batch_id += 1;
            let created = now.now();
            let mut batch =
                ProducerBatch::new(batch_id, queue.tp.topic.clone(), partition, buffer, created);
            batch.permits = held;
            batch.prepaid = prepaid;
            before = batch.size;
            queue.batches.push_back(batch);
            lower_floor(
                &mut self.expiry_floor,
                super::later(created, self.config.delivery_timeout),
            );
            ready_at = ready_at.or(Some(super::later(created, self.config.linger)));
            let r = &incoming.record;
            let headers = || r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
            appended = queue
                .batches
                .back_mut()
                .expect("a batch was just pushed")
                .append(
                    usize::MAX,
                    incoming.timestamp,
                    r.key.as_deref(),
                    r.value.as_deref(),
                    headers(),
                    incoming.id,
                    incoming.permits,
                );
        }
        let index = match appended {
            Ok(Some(index)) => index,
            Ok(None) => unreachable!("an empty open batch takes any record"),
            Err(e) => {
                let delivery = Some(completions.fail_unappendable(e, incoming.unbatched()));
                let appended = Appended {
                    delivery,
                    ready_at,
                    leader: None,
                };
                return Ok((appended, 0, false));
            }
        };
        let recent = queue.recent_records;
        let Some(batch) = queue.batches.back_mut() else {
            unreachable!("the record was appended to the last batch");
        };
        let Incoming {
            timestamp,
            callback,
            slot,
            ..
        } = incoming;
        let delivery = match slot {
            // It waited for metadata: its future follows the batch, its
            // callback joins the batch's.
            Some(slot) => {
                let to = batch
                    .outcome
                    .as_ref()
                    .expect("an open batch has its outcome")
                    .forward_to(index);
                completions.forward_record(slot, to);
                batch.add_callback(index, timestamp, callback);
                None
            }
            None => Some(batch.deliver_to(index, timestamp, callback)),
        };
        let added = batch.size - before;
        if index == 0 {
            // Room for as many records as the partition's last batch took
            // (up to what the batch holds of this size), at once: growing
            // the lists as they fill reallocates them a dozen times per
            // batch, while reserving for a full batch wastes kilobytes per
            // batch with many partitions and small batches.
            let expected = (batch_size / added.max(1))
                .min(64 * 1024)
                .min(recent.max(8));
            batch.record_ids.reserve(expected);
            if !batch.callbacks.is_empty() {
                batch.callbacks.reserve(expected);
            }
        }
        // Full once it cannot take another record of this size (Java waits
        // for the record that does not fit). The sticky partitioner moves
        // on only from a full batch: waiting for the next record left a
        // new batch of a few records behind, lingering, whenever the move
        // came from its twice-batch.size rule instead.
        let room = if batch.prepaid {
            batch_size.min(batch.permits)
        } else {
            batch_size
        };
        if batch.size.saturating_add(added) > room {
            batch.close();
            ready_at = Some(now.now());
        }
        let full = !batch.is_open();
        let appended = Appended {
            delivery,
            ready_at,
            leader: None,
        };
        Ok((appended, added, full))
    }

    /// Every batch takes no more records and is ready (a flush).
    pub fn close_all(&mut self) {
        for q in self.queues.iter_mut() {
            for b in q.batches.iter_mut() {
                b.close();
            }
        }
    }

    // -------------------------------------------------------- after a response

    /// Removes an in-flight (or queued) batch from its queue.
    pub fn take_batch(&mut self, tp: &TopicPartition, id: BatchId) -> Option<ProducerBatch> {
        let q = self.queues.get_mut(tp)?;
        let b = q.batches.remove(q.position(id)?)?;
        if b.in_flight() {
            q.left_flight();
        }
        Some(b)
    }

    /// The batch `id` of `tp`, still in its queue.
    pub fn batch_mut(&mut self, tp: &TopicPartition, id: BatchId) -> Option<&mut ProducerBatch> {
        let q = self.queues.get_mut(tp)?;
        q.batches.iter_mut().find(|b| b.id == id)
    }

    /// An in-flight batch goes back to waiting (for `until`).
    pub fn back_off(&mut self, tp: &TopicPartition, id: BatchId, until: Instant) {
        if let Some(q) = self.queues.get_mut(tp) {
            if let Some(b) = q.batches.iter_mut().find(|b| b.id == id) {
                let was_in_flight = b.in_flight();
                b.state = BatchState::Backoff { until };
                if was_in_flight {
                    q.left_flight();
                    // Batches sent after it may still be in flight.
                    q.gapped |= q.in_flight > 0;
                }
            }
        }
    }

    /// The broker said batch `id` is not in the log, so no later batch of the
    /// partition is either (sequences are contiguous).
    pub fn not_written_from(&mut self, tp: &TopicPartition, id: BatchId) {
        if let Some(q) = self.queues.get_mut(tp) {
            if let Some(pos) = q.position(id) {
                for b in q.batches.iter_mut().skip(pos) {
                    b.maybe_written = false;
                }
            }
        }
    }
}
