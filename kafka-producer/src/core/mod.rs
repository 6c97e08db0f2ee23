//! The producer's decisions, without sockets or a clock.
//!
//! [`ProducerCore`] takes inputs ([`ProducerCore::enqueue`],
//! [`ProducerCore::handle_response`], [`ProducerCore::handle_timeout`], flush
//! and close) and gives outputs ([`ProducerCore::poll_transmit`]: the next
//! request for a broker; [`ProducerCore::poll_timeout`]: when to call again).
//! Records complete through their reply channels. The tokio driver
//! (`crate::driver`) only moves bytes and time; the simulation tests drive
//! the same core with a fake cluster and a fake clock.
//!
//! Inside: metadata (with KIP-951 leader hints), partitioning (explicit,
//! murmur2 keys, uniform sticky / round robin for keyless records, or a user
//! partitioner), per-partition queues of batches built in wire form, drain per
//! broker with fair rotation, acks, retries with exponential backoff and
//! jitter, delivery timeouts, MESSAGE_TOO_LARGE splits, and idempotence:
//! producer id/epoch, sequences assigned at drain, at most 5 batches in flight
//! per partition, the local epoch bump of KIP-360.

mod batch;
pub(crate) mod hash;
mod metadata;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_compression::BuiltinCodec;
use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::generated::{
    InitProducerIdRequest, InitProducerIdResponse, MetadataRequest, MetadataResponse,
    ProduceRequest, ProduceResponse,
};
use kafka_protocol::records::{BuiltinCodecs, RecordBatch, RecordsCodec};

pub use crate::delivery::{
    channel as delivery_channel, DeliveryPool, DeliverySender, TryRecvError,
};
pub use batch::RecordReply;
use batch::{ProducerBatch, SequenceStamp};
use hash::FastMap;
pub use metadata::Node;
use metadata::{Metadata, TopicOutcome};

use crate::config::{PartitionerKind, ProducerConfig};
use crate::error::{ErrorCode, ProducerError};
use crate::partitioner::murmur2::partition_for_key;
use crate::partitioner::sticky::StickyPartitioner;
use crate::partitioner::{Partitioner, RoundRobinPartitioner};
use crate::record::{ProducerRecord, RecordMetadata};

/// Batches per partition in flight at once with idempotence: the broker
/// remembers the last 5 per producer and partition.
const MAX_IN_FLIGHT_PER_PARTITION_IDEMPOTENT: usize = 5;

/// A record handed to the core, with its reply channel and the buffer memory
/// it holds.
#[derive(Debug)]
pub struct PendingRecord {
    /// The record; its timestamp is already resolved.
    pub record: ProducerRecord,
    /// Create time, ms since the epoch.
    pub timestamp: i64,
    /// Completes the user's delivery future.
    pub reply: RecordReply,
    /// Buffer memory (bytes) held until the record completes.
    pub permits: usize,
}

/// A request the driver must send.
#[derive(Debug)]
pub enum Transmit {
    /// Refresh metadata.
    Metadata {
        /// Echo this id in [`ProducerCore::handle_response`].
        request_id: u64,
        /// Where to send it.
        node: Node,
        /// The request.
        request: MetadataRequest,
    },
    /// Get a producer id and epoch (idempotence).
    InitProducerId {
        /// Echo this id.
        request_id: u64,
        /// Where to send it.
        node: Node,
        /// The request.
        request: InitProducerIdRequest,
    },
    /// Produce batches to one broker.
    Produce {
        /// Echo this id.
        request_id: u64,
        /// The partition leader.
        node: Node,
        /// The request; with acks=0 the broker sends no response.
        request: ProduceRequest,
    },
}

/// What came back for a [`Transmit`].
#[derive(Debug)]
pub enum Response {
    /// A Metadata response.
    Metadata(MetadataResponse),
    /// An InitProducerId response.
    InitProducerId(InitProducerIdResponse),
    /// A Produce response.
    Produce(ProduceResponse),
    /// An acks=0 Produce request was written.
    ProduceSent,
}

/// A request that failed in transport (connect, write, timeout, disconnect).
#[derive(Debug, Clone)]
pub struct TransportFailure {
    /// What happened.
    pub message: String,
    /// The connection could not be established (the node gets a reconnect backoff).
    pub connect_failed: bool,
}

#[derive(Debug)]
enum InFlight {
    Metadata,
    InitProducerId,
    Produce {
        node: i32,
        batches: Vec<(Arc<str>, i32, u64)>,
    },
}

#[derive(Default)]
struct PartitionState {
    batches: VecDeque<ProducerBatch>,
    in_flight: usize,
    /// Next sequence to assign (idempotence).
    next_sequence: i32,
    /// Sequence of the last acknowledged record, -1 before any.
    last_acked_sequence: i32,
    /// The producer id and epoch this partition's sequences belong to when
    /// they are not the producer's current ones: an epoch bump found a batch
    /// here that may already be in the log, and restarting its sequence at 0
    /// under the new epoch would write it twice. The partition keeps its
    /// sequences (the broker deduplicates the retries) until a later bump
    /// finds it clean.
    held: Option<(i64, i16)>,
}

impl PartitionState {
    /// A sent batch failed for good. If it was next in line, the next batch
    /// is now: an OUT_OF_ORDER_SEQUENCE_NUMBER for it then means the failed
    /// batch is not in the log (a real gap), as Java's unresolved sequences.
    fn give_up(&mut self, b: &ProducerBatch) {
        if let Some(s) = b.stamp {
            if b.attempts > 0 && s.base_sequence == increment_sequence(self.last_acked_sequence, 1)
            {
                self.last_acked_sequence = increment_sequence(s.base_sequence, b.record_count - 1);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProducerIdState {
    /// Not idempotent.
    Disabled,
    /// Need one; request it when possible.
    Needed,
    /// InitProducerId in flight.
    Requested,
    /// Known.
    Ready,
}

struct FlushMarker {
    /// Records enqueued before the flush that are not complete yet.
    remaining: usize,
    /// Record ids below this belong to the flush.
    below: u64,
}

/// A record waiting for its topic's metadata: the record, its id, and when it arrived.
type Waiting = (PendingRecord, u64, Instant);

/// The producer state machine. See the module documentation.
pub struct ProducerCore {
    config: Arc<ProducerConfig>,
    codec: Option<BuiltinCodec>,
    metadata: Metadata,
    metadata_in_flight: bool,
    metadata_retry_at: Option<Instant>,
    partitions: FastMap<(Arc<str>, i32), PartitionState>,
    /// Records waiting for their topic's metadata, with the time they arrived.
    waiting: FastMap<Arc<str>, VecDeque<Waiting>>,
    sticky: StickyPartitioner,
    round_robin: RoundRobinPartitioner,
    custom: Option<Arc<dyn Partitioner>>,
    requests: FastMap<u64, InFlight>,
    next_request_id: u64,
    next_batch_id: u64,
    node_in_flight: HashMap<i32, usize>,
    node_backoff: HashMap<i32, (Instant, u32)>,
    /// Rotation start of the drain, so no partition starves.
    drain_start: usize,
    producer_id: i64,
    producer_epoch: i16,
    pid_state: ProducerIdState,
    pid_retry_at: Option<Instant>,
    /// An epoch bump waits until nothing is in flight.
    bump_epoch_pending: bool,
    flushes: HashMap<u64, FlushMarker>,
    next_flush_id: u64,
    /// Records enqueued so far (the last id given) and those not complete yet.
    enqueued: u64,
    outstanding: usize,
    released_permits: usize,
    closing: bool,
    memory_pressure: bool,
    fatal: Option<ProducerError>,
    rng: u64,
    /// Reused for the partition load stats.
    load_scratch: Vec<(i32, usize)>,
    attempts_stat: u64,
    /// `now` of the last `poll_transmit`: what was due then and is still
    /// waiting is blocked (by responses, which wake the driver anyway).
    last_poll: Option<Instant>,
}

impl ProducerCore {
    /// A core for `config`. `seed` feeds the partitioner and the retry jitter,
    /// so a simulation is reproducible.
    pub fn new(
        config: Arc<ProducerConfig>,
        custom: Option<Arc<dyn Partitioner>>,
        seed: u64,
    ) -> Result<Self, ProducerError> {
        let codec = config
            .codec()
            .map_err(|e| ProducerError::Config(e.to_string()))?;
        let pid_state = if config.enable_idempotence {
            ProducerIdState::Needed
        } else {
            ProducerIdState::Disabled
        };
        Ok(ProducerCore {
            metadata: Metadata::new(config.bootstrap_servers.clone()),
            sticky: StickyPartitioner::new(
                config.batch_size,
                config.partitioner_adaptive_partitioning_enable,
                seed,
            ),
            round_robin: RoundRobinPartitioner::default(),
            custom,
            codec,
            metadata_in_flight: false,
            metadata_retry_at: None,
            partitions: FastMap::default(),
            waiting: FastMap::default(),
            requests: FastMap::default(),
            next_request_id: 1,
            next_batch_id: 1,
            node_in_flight: HashMap::new(),
            node_backoff: HashMap::new(),
            drain_start: 0,
            producer_id: -1,
            producer_epoch: -1,
            pid_state,
            pid_retry_at: None,
            bump_epoch_pending: false,
            flushes: HashMap::new(),
            next_flush_id: 0,
            enqueued: 0,
            outstanding: 0,
            released_permits: 0,
            closing: false,
            memory_pressure: false,
            fatal: None,
            rng: seed | 1,
            load_scratch: Vec::new(),
            attempts_stat: 0,
            last_poll: None,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Records accepted and not complete yet.
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// Producer id and epoch (-1, -1 before InitProducerId or without idempotence).
    pub fn producer_id_and_epoch(&self) -> (i64, i16) {
        (self.producer_id, self.producer_epoch)
    }

    /// Produce attempts made so far (first sends and retries).
    pub fn produce_attempts(&self) -> u64 {
        self.attempts_stat
    }

    fn jitter(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        // In [0.8, 1.2): Java's +-20% jitter.
        0.8 + (self.rng % 4000) as f64 / 10_000.0
    }

    /// Exponential backoff: retry.backoff.ms x 2^(attempt-1), capped by
    /// retry.backoff.max.ms, with +-20% jitter.
    fn backoff(&mut self, attempt: u32) -> Duration {
        let base = self.config.retry_backoff.as_secs_f64();
        let max = self.config.retry_backoff_max.as_secs_f64().max(base);
        let exp = (base * 2f64.powi(attempt.saturating_sub(1).min(30) as i32)).min(max);
        Duration::from_secs_f64(exp * self.jitter())
    }

    // ---------------------------------------------------------------- inputs

    /// Accepts a record. Partitioning waits for the topic's metadata.
    pub fn enqueue(&mut self, rec: PendingRecord, now: Instant) {
        self.enqueued += 1;
        self.outstanding += 1;
        let id = self.enqueued;
        if let Some(e) = &self.fatal {
            let e = e.clone();
            self.fail_record(rec, id, e);
            return;
        }
        if self.closing {
            self.fail_record(rec, id, ProducerError::Closed);
            return;
        }
        if let Some(meta) = self.metadata.topics.get_mut(&*rec.record.topic) {
            meta.last_used = now;
            let t = meta.name.clone();
            self.partition_and_append(t, rec, id, now);
            return;
        }
        let t: Arc<str> = self
            .waiting
            .get_key_value(&*rec.record.topic)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| rec.record.topic.clone());
        self.metadata.wanted.insert(t.clone());
        self.waiting.entry(t).or_default().push_back((rec, id, now));
    }

    /// Marks every batch ready now; `flushed` tells when the records enqueued
    /// before this call are all complete.
    pub fn begin_flush(&mut self) -> FlushId {
        let id = FlushId(self.next_flush_id);
        self.next_flush_id += 1;
        if self.outstanding > 0 {
            self.flushes.insert(
                id.0,
                FlushMarker {
                    remaining: self.outstanding,
                    below: self.enqueued + 1,
                },
            );
        }
        for st in self.partitions.values_mut() {
            for b in st.batches.iter_mut() {
                b.full = true;
            }
        }
        id
    }

    /// Whether the records of that flush are all complete.
    pub fn flushed(&self, id: FlushId) -> bool {
        !self.flushes.contains_key(&id.0)
    }

    /// Stops accepting records and sends what is buffered at once.
    pub fn begin_close(&mut self) {
        self.closing = true;
        self.begin_flush();
    }

    /// Fails every record not yet complete (close timeout, or the
    /// transactional abort of unsent batches) with `error`.
    pub fn abort_all(&mut self, error: ProducerError) {
        let waiting: Vec<_> = self.waiting.drain().flat_map(|(_, q)| q).collect();
        for (rec, id, _) in waiting {
            self.fail_record(rec, id, error.clone());
        }
        let keys: Vec<_> = self.partitions.keys().cloned().collect();
        for k in keys {
            let batches: Vec<_> = self
                .partitions
                .get_mut(&k)
                .map(|st| st.batches.drain(..).collect())
                .unwrap_or_default();
            for b in batches {
                self.fail_batch(b, error.clone());
            }
        }
    }

    /// Whether buffer memory is short (callers are waiting for it): batches
    /// are then sent without waiting for linger.ms.
    pub fn set_memory_pressure(&mut self, pressure: bool) {
        self.memory_pressure = pressure;
    }

    /// Adopts a producer id and epoch from outside (transactions) and resets
    /// every partition's sequences.
    pub fn adopt_producer_id(&mut self, producer_id: i64, producer_epoch: i16) {
        let old = (self.producer_id, self.producer_epoch);
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.pid_state = ProducerIdState::Ready;
        self.reset_sequences(old);
    }

    /// A response (or transport failure) for a request from `poll_transmit`.
    pub fn handle_response(
        &mut self,
        request_id: u64,
        result: Result<Response, TransportFailure>,
        now: Instant,
    ) {
        let Some(inflight) = self.requests.remove(&request_id) else {
            return;
        };
        match inflight {
            InFlight::Metadata => {
                self.metadata_in_flight = false;
                match result {
                    Ok(Response::Metadata(resp)) => self.on_metadata(&resp, now),
                    Ok(_) => {}
                    Err(f) => {
                        tracing::debug!(error = %f.message, "metadata request failed");
                        self.metadata_retry_at = Some(now + self.config.retry_backoff);
                    }
                }
            }
            InFlight::InitProducerId => match result {
                Ok(Response::InitProducerId(resp)) => self.on_init_producer_id(&resp, now),
                Ok(_) => {}
                Err(f) => {
                    tracing::debug!(error = %f.message, "InitProducerId failed");
                    self.pid_state = ProducerIdState::Needed;
                    self.pid_retry_at = Some(now + self.config.retry_backoff);
                }
            },
            InFlight::Produce { node, batches } => {
                if let Some(n) = self.node_in_flight.get_mut(&node) {
                    *n = n.saturating_sub(1);
                }
                match result {
                    Ok(Response::Produce(resp)) => {
                        self.on_produce_response(node, batches, &resp, now)
                    }
                    Ok(Response::ProduceSent) => {
                        for (topic, partition, id) in batches {
                            if let Some(b) = self.take_in_flight_batch(&topic, partition, id) {
                                self.complete_batch(&topic, partition, b, -1, -1);
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(f) => {
                        if f.connect_failed {
                            self.node_failed(node, now);
                        }
                        self.metadata.stale = true;
                        let msg: Arc<str> = Arc::from(format!("transport: {}", f.message));
                        for (topic, partition, id) in batches {
                            self.retry_or_fail(
                                &topic,
                                partition,
                                id,
                                ErrorCode::NETWORK_EXCEPTION,
                                Some(msg.clone()),
                                now,
                            );
                        }
                    }
                }
            }
        }
        self.maybe_bump_epoch(now);
    }

    /// A node could not be reached: back off from it (Java's reconnect backoff).
    pub fn node_failed(&mut self, node: i32, now: Instant) {
        let failures = self.node_backoff.get(&node).map_or(0, |(_, f)| *f) + 1;
        let base = self.config.reconnect_backoff.as_secs_f64();
        let max = self.config.reconnect_backoff_max.as_secs_f64().max(base);
        let wait = (base * 2f64.powi(failures.min(20) as i32 - 1)).min(max) * self.jitter();
        self.node_backoff
            .insert(node, (now + Duration::from_secs_f64(wait), failures));
    }

    /// A connection to `node` works again.
    pub fn node_ok(&mut self, node: i32) {
        self.node_backoff.remove(&node);
    }

    /// Expires what timed out: waiting-for-metadata records (max.block.ms) and
    /// queued batches (delivery.timeout.ms).
    pub fn handle_timeout(&mut self, now: Instant) {
        // metadata.max.idle.ms: topics without a record for that long leave
        // the metadata (and its refreshes) unless they still hold batches.
        let idle = self.config.metadata_max_idle;
        let partitions = &self.partitions;
        self.metadata.topics.retain(|name, meta| {
            now.duration_since(meta.last_used) < idle
                || partitions
                    .iter()
                    .any(|((t, _), st)| t == name && !st.batches.is_empty())
        });
        let max_block = self.config.max_block;
        let mut expired = Vec::new();
        for (topic, q) in self.waiting.iter_mut() {
            while q
                .front()
                .is_some_and(|(_, _, at)| now.duration_since(*at) >= max_block)
            {
                let (rec, id, at) = q.pop_front().unwrap();
                expired.push((rec, id, topic.to_string(), now.duration_since(at)));
            }
        }
        self.waiting.retain(|_, q| !q.is_empty());
        for (rec, id, topic, waited) in expired {
            self.fail_record(rec, id, ProducerError::TopicNotFound { topic, waited });
        }
        let delivery_timeout = self.config.delivery_timeout;
        let keys: Vec<_> = self.partitions.keys().cloned().collect();
        for key in keys {
            while let Some(st) = self.partitions.get_mut(&key) {
                // Only batches not in flight expire here; in-flight ones wait for
                // their response (or request timeout) first.
                let Some(pos) = st.batches.iter().position(|b| {
                    !b.in_flight && now.duration_since(b.created_at) >= delivery_timeout
                }) else {
                    break;
                };
                let b = st.batches.remove(pos).unwrap();
                st.give_up(&b);
                if b.stamp.is_some() && b.attempts > 0 {
                    // A sent batch may or may not be in the log: its sequence is
                    // unresolved; a local epoch bump makes the next batches safe.
                    self.bump_epoch_pending = true;
                }
                let e = ProducerError::DeliveryTimeout {
                    elapsed: now.duration_since(b.created_at),
                    attempts: b.attempts,
                    last_error: b.last_error.clone().unwrap_or_else(|| Arc::from("none")),
                };
                self.fail_batch(b, e);
            }
        }
        self.maybe_bump_epoch(now);
    }

    // --------------------------------------------------------------- outputs

    /// The next request to send, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.last_poll = Some(now);
        if self.fatal.is_some() {
            return None;
        }
        if let Some(t) = self.poll_metadata(now) {
            return Some(t);
        }
        if let Some(t) = self.poll_init_producer_id(now) {
            return Some(t);
        }
        self.poll_produce(now)
    }

    /// When the core next needs `handle_timeout` (or another `poll_transmit`).
    ///
    /// Expiries (max.block.ms, delivery.timeout.ms) are always reported;
    /// times when something becomes sendable (linger, retry backoff, metadata
    /// refresh, reconnect backoff) only while they are after the last
    /// `poll_transmit`: one that passed then and is still waiting is blocked
    /// by requests in flight, and reporting it would make the driver wake
    /// again and again (a busy loop) until their responses come.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let last_poll = self.last_poll;
        let mut expiry = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for q in self.waiting.values() {
            if let Some((_, _, since)) = q.front() {
                expiry(*since + self.config.max_block);
            }
        }
        for st in self.partitions.values() {
            for b in &st.batches {
                if !b.in_flight {
                    expiry(b.created_at + self.config.delivery_timeout);
                }
            }
        }
        let mut wake = |t: Instant| {
            if last_poll.is_none_or(|p| t > p) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if !self.waiting.is_empty() || !self.metadata.wanted.is_empty() || self.metadata.stale {
            if let Some(r) = self.metadata_retry_at {
                wake(r);
            }
        }
        // Reported only while in the future: an idle topic that still holds
        // batches stays (and must not make the driver spin).
        if let Some(oldest) = self.metadata.topics.values().map(|m| m.last_used).min() {
            wake(oldest + self.config.metadata_max_idle);
        }
        if let Some(last) = self.metadata.last_refresh {
            wake(last + self.config.metadata_max_age);
        }
        if self.pid_state == ProducerIdState::Needed {
            if let Some(r) = self.pid_retry_at {
                wake(r);
            }
        }
        for st in self.partitions.values() {
            // The batch the drain would send next (not only the first one:
            // batches behind one in flight linger too).
            if let Some(b) = st.batches.iter().find(|b| !b.in_flight) {
                match b.retry_at {
                    Some(r) => wake(r),
                    None => wake(b.created_at + self.config.linger),
                }
            }
        }
        for (until, _) in self.node_backoff.values() {
            wake(*until);
        }
        next
    }

    // -------------------------------------------------------------- metadata

    fn poll_metadata(&mut self, now: Instant) -> Option<Transmit> {
        if self.metadata_in_flight
            || self.metadata.bootstrap.is_empty() && self.metadata.brokers.is_empty()
        {
            return None;
        }
        let due = !self.metadata.wanted.is_empty()
            || self.metadata.stale
            || self
                .metadata
                .last_refresh
                .is_some_and(|t| now.duration_since(t) >= self.config.metadata_max_age);
        if !due || self.metadata_retry_at.is_some_and(|r| now < r) {
            return None;
        }
        let node = self.pick_node(now)?;
        let id = self.new_request_id();
        self.requests.insert(id, InFlight::Metadata);
        self.metadata_in_flight = true;
        self.metadata_retry_at = Some(now + self.config.retry_backoff);
        Some(Transmit::Metadata {
            request_id: id,
            node,
            request: self.metadata.request(),
        })
    }

    /// A reachable node for metadata or InitProducerId: the known broker with
    /// the fewest requests in flight, else a bootstrap address (re-bootstrap
    /// when every known broker is backing off).
    fn pick_node(&self, now: Instant) -> Option<Node> {
        let usable = |n: &Node| {
            self.node_backoff
                .get(&n.id)
                .is_none_or(|(until, _)| now >= *until)
        };
        let candidates = self.metadata.candidates();
        candidates
            .iter()
            .filter(|n| n.id >= 0 && usable(n))
            .min_by_key(|n| self.node_in_flight.get(&n.id).copied().unwrap_or(0))
            .or_else(|| candidates.iter().find(|n| n.id < 0 && usable(n)))
            .cloned()
    }

    fn on_metadata(&mut self, resp: &MetadataResponse, now: Instant) {
        for (topic, outcome) in self.metadata.update(resp, now) {
            match outcome {
                TopicOutcome::Known => {
                    if let Some(q) = self.waiting.remove(&topic) {
                        for (rec, id, _) in q {
                            self.partition_and_append(topic.clone(), rec, id, now);
                        }
                    }
                }
                TopicOutcome::Missing(code) => {
                    tracing::debug!(%topic, code, "topic not in metadata yet");
                    // Ask again after the backoff, until max.block.ms.
                    self.metadata.wanted.insert(topic);
                    self.metadata_retry_at = Some(now + self.config.retry_backoff);
                }
                TopicOutcome::Failed(code) => {
                    self.metadata.wanted.remove(&topic);
                    let e = broker_error(code, None, 0);
                    if let Some(q) = self.waiting.remove(&topic) {
                        for (rec, id, _) in q {
                            self.fail_record(rec, id, e.clone());
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ partitioning

    fn partition_and_append(&mut self, topic: Arc<str>, rec: PendingRecord, id: u64, now: Instant) {
        let meta = &self.metadata.topics[&topic];
        let n = meta.partitions.len() as i32;
        // Whether the built-in sticky partitioner chose, so it hears about the append.
        let mut sticky_choice = false;
        // An explicit partition first, then the user's partitioner; either
        // must name an existing partition.
        let asked = rec.record.partition.or_else(|| {
            self.custom.as_ref().and_then(|c| {
                c.partition(
                    &topic,
                    rec.record.key.as_deref(),
                    rec.record.value.as_deref(),
                    n,
                )
            })
        });
        let partition = match asked {
            Some(p) if p >= 0 && p < n => p,
            Some(p) => {
                let e = ProducerError::InvalidPartition {
                    topic: topic.to_string(),
                    partition: p,
                    partitions: n,
                };
                self.fail_record(rec, id, e);
                return;
            }
            None => match (
                &rec.record.key,
                self.config.partitioner_ignore_keys,
                self.config.partitioner,
            ) {
                (_, _, PartitionerKind::RoundRobin) => {
                    self.round_robin.next(&topic, n, &meta.available)
                }
                (Some(key), false, _) => partition_for_key(key, n),
                _ => {
                    sticky_choice = true;
                    self.sticky.partition(&topic, n, &meta.available)
                }
            },
        };
        let (bytes, full) = self.append(&topic, partition, rec, id, now);
        if sticky_choice {
            // Disjoint fields: no copy of the partition list per record.
            let available = &self.metadata.topics[&topic].available;
            self.sticky
                .on_append(&topic, partition, bytes, full, n, available);
        }
    }

    /// Appends to the partition's last batch (or a new one); returns the bytes
    /// the record added and whether that batch is now full.
    fn append(
        &mut self,
        topic: &Arc<str>,
        partition: i32,
        rec: PendingRecord,
        record_id: u64,
        now: Instant,
    ) -> (usize, bool) {
        let batch_size = self.config.batch_size;
        let st = self
            .partitions
            .entry((topic.clone(), partition))
            .or_default();
        let r = &rec.record;
        let headers = || r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        let fits = st.batches.back().is_some_and(|b| {
            b.is_open()
                && b.fits(
                    batch_size,
                    rec.timestamp,
                    r.key.as_deref(),
                    r.value.as_deref(),
                    headers(),
                )
        });
        if !fits {
            if let Some(last) = st.batches.back_mut() {
                last.full = true;
            }
            let id = self.next_batch_id;
            self.next_batch_id += 1;
            let capacity = batch_size.max(rec.permits);
            st.batches.push_back(ProducerBatch::new(id, capacity, now));
        }
        let batch = st.batches.back_mut().expect("a batch to append to");
        let before = batch.size;
        let PendingRecord {
            record,
            timestamp,
            reply,
            permits,
        } = rec;
        let headers = record
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()));
        if let Err(e) = batch.append(
            timestamp,
            record.key.as_deref(),
            record.value.as_deref(),
            headers,
            reply,
            record_id,
            permits,
        ) {
            self.fail_unappendable(e, permits, record_id);
            return (0, false);
        }
        let added = batch.size - before;
        if batch.size >= batch_size {
            batch.full = true;
        }
        (added, batch.full)
    }

    // --------------------------------------------------------------- producer id

    fn poll_init_producer_id(&mut self, now: Instant) -> Option<Transmit> {
        if self.pid_state != ProducerIdState::Needed || self.pid_retry_at.is_some_and(|r| now < r) {
            return None;
        }
        // Only once there is something to send or the producer is idle: it is
        // cheap either way, so ask right away.
        let node = self.pick_node(now)?;
        let id = self.new_request_id();
        self.requests.insert(id, InFlight::InitProducerId);
        self.pid_state = ProducerIdState::Requested;
        let request = InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: i32::try_from(self.config.transaction_timeout.as_millis())
                .unwrap_or(i32::MAX),
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        };
        Some(Transmit::InitProducerId {
            request_id: id,
            node,
            request,
        })
    }

    fn on_init_producer_id(&mut self, resp: &InitProducerIdResponse, now: Instant) {
        let code = ErrorCode(resp.error_code);
        if code == ErrorCode::NONE {
            tracing::debug!(
                producer_id = resp.producer_id,
                epoch = resp.producer_epoch,
                "producer id"
            );
            let old = (self.producer_id, self.producer_epoch);
            self.producer_id = resp.producer_id;
            self.producer_epoch = resp.producer_epoch;
            self.pid_state = ProducerIdState::Ready;
            self.reset_sequences(old);
        } else if code.is_retriable() {
            self.pid_state = ProducerIdState::Needed;
            self.pid_retry_at = Some(now + self.config.retry_backoff);
        } else {
            self.go_fatal(broker_error(resp.error_code, None, 1));
        }
    }

    /// Restarts every partition's sequences at 0 for a new producer id or
    /// epoch, except in partitions holding a batch that may already be in the
    /// log (they keep `old`, see [`PartitionState::held`]).
    fn reset_sequences(&mut self, old: (i64, i16)) {
        for st in self.partitions.values_mut() {
            if st.batches.iter().any(|b| b.maybe_written) {
                st.held.get_or_insert(old);
                continue;
            }
            st.held = None;
            st.next_sequence = 0;
            st.last_acked_sequence = -1;
            // Batches that already got a sequence get a new one at their next drain.
            for b in st.batches.iter_mut() {
                if !b.in_flight {
                    b.stamp = b.stamp.map(|_| SequenceStamp {
                        producer_id: -2,
                        producer_epoch: -2,
                        base_sequence: -2,
                    });
                }
            }
        }
    }

    /// KIP-360: an idempotent producer bumps its epoch locally once nothing
    /// is in flight; partitions restart their sequences at 0. When the epoch
    /// would overflow, it asks for a new producer id instead.
    fn maybe_bump_epoch(&mut self, _now: Instant) {
        if !self.bump_epoch_pending || self.pid_state != ProducerIdState::Ready {
            return;
        }
        if self
            .requests
            .values()
            .any(|r| matches!(r, InFlight::Produce { .. }))
        {
            return;
        }
        self.bump_epoch_pending = false;
        let old = (self.producer_id, self.producer_epoch);
        if self.producer_epoch >= i16::MAX - 1 {
            tracing::info!(
                producer_id = self.producer_id,
                "epoch exhausted; asking for a new producer id"
            );
            self.pid_state = ProducerIdState::Needed;
            self.producer_id = -1;
            self.producer_epoch = -1;
        } else {
            self.producer_epoch += 1;
            tracing::info!(
                producer_id = self.producer_id,
                epoch = self.producer_epoch,
                "bumped producer epoch"
            );
        }
        self.reset_sequences(old);
    }

    // ------------------------------------------------------------------ drain

    /// Feeds the sticky partitioner the queue length of each partition, for
    /// adaptive weighting (Java updates these stats on every drain). Until
    /// every available partition of a topic has had a batch, the stats are
    /// left empty (uniform choice), as in Java's accumulator.
    fn update_partition_load(&mut self) {
        if !self.config.partitioner_adaptive_partitioning_enable {
            return;
        }
        let mut sizes = std::mem::take(&mut self.load_scratch);
        for (topic, meta) in &self.metadata.topics {
            sizes.clear();
            for &p in &meta.available {
                match self.partitions.get(&(topic.clone(), p)) {
                    Some(st) => sizes.push((p, st.batches.len())),
                    None => {
                        sizes.clear();
                        break;
                    }
                }
            }
            self.sticky.update_load(topic, &sizes);
        }
        self.load_scratch = sizes;
    }

    fn poll_produce(&mut self, now: Instant) -> Option<Transmit> {
        self.update_partition_load();
        if self.bump_epoch_pending {
            return None;
        }
        let idempotent = self.pid_state != ProducerIdState::Disabled;
        if idempotent && self.pid_state != ProducerIdState::Ready {
            return None;
        }
        let max_in_flight = self.config.max_in_flight_requests_per_connection.max(1);
        let per_partition = if idempotent {
            MAX_IN_FLIGHT_PER_PARTITION_IDEMPOTENT
        } else {
            usize::MAX
        };
        let linger = self.config.linger;
        // While a flush is in progress every batch is ready (as Java's flushesInProgress).
        let urgent = self.closing || self.memory_pressure || !self.flushes.is_empty();

        // Ready partitions, grouped by leader, in rotated order.
        let mut keys: Vec<(Arc<str>, i32)> = self
            .partitions
            .iter()
            .filter(|(_, st)| !st.batches.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        if keys.is_empty() {
            return None;
        }
        keys.sort();
        let start = self.drain_start % keys.len();
        keys.rotate_left(start);
        self.drain_start = self.drain_start.wrapping_add(1);

        let mut target: Option<Node> = None;
        let mut chosen: Vec<(Arc<str>, i32)> = Vec::new();
        let mut request_size = 0usize;
        for key in keys {
            let Some(leader) = self.metadata.leader(&key.0, key.1) else {
                self.metadata.stale = true;
                continue;
            };
            if let Some(t) = &target {
                if t.id != leader {
                    continue;
                }
            } else {
                if self.node_in_flight.get(&leader).copied().unwrap_or(0) >= max_in_flight {
                    continue;
                }
                if self
                    .node_backoff
                    .get(&leader)
                    .is_some_and(|(until, _)| now < *until)
                {
                    continue;
                }
            }
            let st = &self.partitions[&key];
            if st.in_flight >= per_partition {
                continue;
            }
            let Some(b) = st.batches.iter().find(|b| !b.in_flight) else {
                continue;
            };
            if b.retry_at.is_some_and(|r| now < r) {
                continue;
            }
            // A retried batch goes only when it is first in line (ordering).
            if b.attempts > 0 && st.in_flight > 0 {
                continue;
            }
            // While the retry of a batch that may or may not be in the log is
            // in flight, no new batch goes behind it: the broker recognises
            // it as a duplicate only while it is among the last 5 batches it
            // wrote.
            if idempotent
                && b.attempts == 0
                && st
                    .batches
                    .iter()
                    .take_while(|x| x.in_flight)
                    .any(|x| x.maybe_written)
            {
                continue;
            }
            // A batch with one behind it is full (batches in flight do not
            // count: a partition with one in flight still lingers).
            let ready = b.full
                || urgent
                || now.duration_since(b.created_at) >= linger
                || b.attempts > 0
                || st.batches.back().is_some_and(|last| last.id != b.id);
            if !ready {
                continue;
            }
            if !chosen.is_empty() && request_size + b.size > self.config.max_request_size {
                continue;
            }
            request_size += b.size;
            if target.is_none() {
                target = self.metadata.node(leader);
                if target.is_none() {
                    self.metadata.stale = true;
                    continue;
                }
            }
            chosen.push(key);
        }
        let node = target?;
        if chosen.is_empty() {
            return None;
        }

        let mut topics: Vec<TopicProduceData> = Vec::new();
        let mut batches = Vec::new();
        let mut unfinishable = Vec::new();
        let codec = self.codec.as_ref().map(|c| c as &dyn RecordsCodec);
        for key in chosen {
            let st = self.partitions.get_mut(&key).unwrap();
            let (pid, epoch) = st.held.unwrap_or((self.producer_id, self.producer_epoch));
            let b = st.batches.iter_mut().find(|b| !b.in_flight).unwrap();
            let stamp = if idempotent {
                match b.stamp {
                    Some(s) if s.producer_id == pid && s.producer_epoch == epoch => Some(s),
                    _ => {
                        let s = SequenceStamp {
                            producer_id: pid,
                            producer_epoch: epoch,
                            base_sequence: st.next_sequence,
                        };
                        st.next_sequence = increment_sequence(st.next_sequence, b.record_count);
                        Some(s)
                    }
                }
            } else {
                None
            };
            let bytes = match b.wire_bytes(stamp, codec) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let id = b.id;
                    let pos = st.batches.iter().position(|x| x.id == id).unwrap();
                    let b = st.batches.remove(pos).unwrap();
                    unfinishable.push((
                        b,
                        ProducerError::Fatal(Arc::from(format!("cannot finish batch: {e}"))),
                    ));
                    continue;
                }
            };
            b.in_flight = true;
            b.attempts += 1;
            b.full = true;
            st.in_flight += 1;
            self.attempts_stat += 1;
            batches.push((key.0.clone(), key.1, b.id));
            match topics.iter_mut().find(|t| t.name.as_str() == &*key.0) {
                Some(t) => t.partition_data.push(partition_data(key.1, bytes)),
                None => topics.push(TopicProduceData {
                    name: key.0.to_string().into(),
                    partition_data: vec![partition_data(key.1, bytes)],
                    ..Default::default()
                }),
            }
        }
        for (b, e) in unfinishable {
            self.fail_batch(b, e);
        }
        if batches.is_empty() {
            return None;
        }
        let id = self.new_request_id();
        *self.node_in_flight.entry(node.id).or_default() += 1;
        self.requests.insert(
            id,
            InFlight::Produce {
                node: node.id,
                batches,
            },
        );
        let request = ProduceRequest {
            transactional_id: None,
            acks: self.config.acks.as_i16(),
            timeout_ms: i32::try_from(self.config.request_timeout.as_millis()).unwrap_or(i32::MAX),
            topic_data: topics,
            ..Default::default()
        };
        Some(Transmit::Produce {
            request_id: id,
            node,
            request,
        })
    }

    // -------------------------------------------------------------- responses

    fn on_produce_response(
        &mut self,
        _node: i32,
        batches: Vec<(Arc<str>, i32, u64)>,
        resp: &ProduceResponse,
        now: Instant,
    ) {
        // KIP-951: new leaders named in the response (v10+) replace ours.
        let mut hinted = false;
        for t in &resp.responses {
            for p in &t.partition_responses {
                if p.current_leader.leader_id >= 0 {
                    for e in &resp.node_endpoints {
                        self.metadata
                            .brokers
                            .entry(e.node_id)
                            .or_insert_with(|| format!("{}:{}", e.host, e.port));
                    }
                    hinted |= self.metadata.apply_leader_hint(
                        &t.name,
                        p.index,
                        p.current_leader.leader_id,
                        p.current_leader.leader_epoch,
                    );
                }
            }
        }
        for (topic, partition, id) in batches {
            let p = resp
                .responses
                .iter()
                .filter(|t| t.name.as_str() == &*topic)
                .flat_map(|t| t.partition_responses.iter())
                .find(|p| p.index == partition);
            let Some(p) = p else {
                self.retry_or_fail(
                    &topic,
                    partition,
                    id,
                    ErrorCode::NETWORK_EXCEPTION,
                    Some(Arc::from("partition missing from response")),
                    now,
                );
                continue;
            };
            let code = ErrorCode(p.error_code);
            let message = p.error_message.as_ref().map(|m| Arc::from(m.as_str()));
            match code {
                ErrorCode::NONE | ErrorCode::DUPLICATE_SEQUENCE_NUMBER => {
                    if let Some(b) = self.take_in_flight_batch(&topic, partition, id) {
                        let ts = if p.log_append_time_ms >= 0 {
                            p.log_append_time_ms
                        } else {
                            -1
                        };
                        self.complete_batch(&topic, partition, b, p.base_offset, ts);
                    }
                }
                ErrorCode::MESSAGE_TOO_LARGE | ErrorCode::RECORD_LIST_TOO_LARGE => {
                    self.split_or_fail(&topic, partition, id, code, message, now)
                }
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => {
                    // A real gap only if this batch was next in line; else an
                    // earlier batch is being retried and this one follows it.
                    let next_in_line = self
                        .partitions
                        .get(&(topic.clone(), partition))
                        .is_some_and(|st| {
                            st.batches
                                .iter()
                                .find(|b| b.id == id)
                                .and_then(|b| b.stamp)
                                .is_some_and(|s| {
                                    s.base_sequence == increment_sequence(st.last_acked_sequence, 1)
                                })
                        });
                    if next_in_line {
                        // A real gap: neither this batch nor any later one is in the log.
                        self.not_written_from(&topic, partition, id);
                        self.bump_epoch_pending = true;
                    }
                    self.retry_or_fail(&topic, partition, id, code, message, now);
                }
                ErrorCode::UNKNOWN_PRODUCER_ID => {
                    // The broker has no state for us here: nothing from this
                    // batch on is in the log.
                    self.not_written_from(&topic, partition, id);
                    self.bump_epoch_pending = true;
                    self.retry_or_fail(&topic, partition, id, code, message, now);
                }
                ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED => {
                    self.go_fatal(broker_error(code.0, message, 1));
                }
                c if c.is_fatal() => self.go_fatal(broker_error(code.0, message, 1)),
                c => {
                    if c.invalidates_metadata() && !hinted {
                        self.metadata.stale = true;
                    }
                    self.retry_or_fail(&topic, partition, id, c, message, now);
                }
            }
        }
    }

    /// The broker said batch `id` is not in the log, so no later batch of the
    /// partition is either (sequences are contiguous).
    fn not_written_from(&mut self, topic: &Arc<str>, partition: i32, id: u64) {
        if let Some(st) = self.partitions.get_mut(&(topic.clone(), partition)) {
            if let Some(pos) = st.batches.iter().position(|b| b.id == id) {
                for b in st.batches.iter_mut().skip(pos) {
                    b.maybe_written = false;
                }
            }
        }
    }

    fn take_in_flight_batch(
        &mut self,
        topic: &Arc<str>,
        partition: i32,
        id: u64,
    ) -> Option<ProducerBatch> {
        let st = self.partitions.get_mut(&(topic.clone(), partition))?;
        let pos = st.batches.iter().position(|b| b.id == id)?;
        let b = st.batches.remove(pos)?;
        if b.in_flight {
            st.in_flight -= 1;
        }
        Some(b)
    }

    /// Retries a batch (keeping its place and sequence) after a backoff, or
    /// fails it when the error is not retriable, retries are spent, or
    /// delivery.timeout.ms passed.
    fn retry_or_fail(
        &mut self,
        topic: &Arc<str>,
        partition: i32,
        id: u64,
        code: ErrorCode,
        message: Option<Arc<str>>,
        now: Instant,
    ) {
        let retries = self.config.retries;
        let delivery_timeout = self.config.delivery_timeout;
        let Some(st) = self.partitions.get_mut(&(topic.clone(), partition)) else {
            return;
        };
        let Some(b) = st.batches.iter_mut().find(|b| b.id == id) else {
            return;
        };
        if b.in_flight {
            b.in_flight = false;
            st.in_flight -= 1;
        }
        let detail: Arc<str> = match &message {
            Some(m) => Arc::from(format!("{} ({m})", code.name())),
            None => Arc::from(code.name()),
        };
        b.last_error = Some(detail);
        if may_have_been_written(code) {
            b.maybe_written = true;
        } else if code == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER {
            // Not a duplicate of a batch the broker remembers: not written (a
            // retry goes only when nothing of its partition is in flight, so
            // at most 4 later batches were written after it).
            b.maybe_written = false;
        }
        let expired = now.duration_since(b.created_at) >= delivery_timeout;
        let retriable = code.is_retriable()
            || code == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
            || code == ErrorCode::UNKNOWN_PRODUCER_ID;
        if retriable && !expired && b.attempts <= retries {
            let attempts = b.attempts;
            let wait = self.backoff(attempts);
            let st = self
                .partitions
                .get_mut(&(topic.clone(), partition))
                .unwrap();
            let b = st.batches.iter_mut().find(|b| b.id == id).unwrap();
            b.retry_at = Some(now + wait);
            tracing::debug!(%topic, partition, code = code.name(), attempt = attempts, ?wait, "retrying batch");
            return;
        }
        let pos = st.batches.iter().position(|b| b.id == id).unwrap();
        let b = st.batches.remove(pos).unwrap();
        st.give_up(&b);
        if b.stamp.is_some() {
            // The sequence of a failed sent batch is unresolved for the broker.
            self.bump_epoch_pending = true;
        }
        let e = if expired && retriable {
            ProducerError::DeliveryTimeout {
                elapsed: now.duration_since(b.created_at),
                attempts: b.attempts,
                last_error: b.last_error.clone().unwrap_or_else(|| Arc::from("none")),
            }
        } else {
            broker_error(code.0, message, b.attempts)
        };
        self.fail_batch(b, e);
    }

    /// MESSAGE_TOO_LARGE: a batch of several records is split in two halves
    /// and re-queued in its place (no retry spent); a single record fails.
    fn split_or_fail(
        &mut self,
        topic: &Arc<str>,
        partition: i32,
        id: u64,
        code: ErrorCode,
        message: Option<Arc<str>>,
        now: Instant,
    ) {
        let key = (topic.clone(), partition);
        let pos = self
            .partitions
            .get(&key)
            .and_then(|st| st.batches.iter().position(|b| b.id == id));
        let Some(b) = self.take_in_flight_batch(topic, partition, id) else {
            return;
        };
        let records = match b.finished().map(split_records) {
            Some(Ok(r)) if b.record_count > 1 => r,
            _ => {
                if let Some(st) = self.partitions.get_mut(&key) {
                    st.give_up(&b);
                }
                if b.stamp.is_some() {
                    // A gap in the sequence: a local epoch bump makes the next batches safe.
                    self.bump_epoch_pending = true;
                }
                let e = broker_error(code.0, message, b.attempts);
                self.fail_batch(b, e);
                return;
            }
        };
        let half = (records.len() / 2).max(1);
        let per_record_permits = b.permits / records.len().max(1);
        let created_at = b.created_at;
        let mut replies = b.replies.into_iter();
        let mut new_batches = Vec::new();
        let mut unappendable = Vec::new();
        for chunk in records.chunks(half) {
            let id = self.next_batch_id;
            self.next_batch_id += 1;
            let mut nb =
                ProducerBatch::new(id, chunk.iter().map(|r| r.size).sum::<usize>() + 128, now);
            nb.created_at = created_at;
            for r in chunk {
                let (reply, ts, record_id) = replies.next().expect("a reply per record");
                let headers: Vec<(&str, Option<&[u8]>)> = r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_deref()))
                    .collect();
                if let Err(e) = nb.append(
                    ts,
                    r.key.as_deref(),
                    r.value.as_deref(),
                    headers,
                    reply,
                    record_id,
                    per_record_permits,
                ) {
                    unappendable.push((e, per_record_permits, record_id));
                }
            }
            nb.full = true;
            new_batches.push(nb);
        }
        if let Some(last) = new_batches.last_mut() {
            last.permits += b.permits - per_record_permits * records.len();
        }
        for (e, permits, record_id) in unappendable {
            self.fail_unappendable(e, permits, record_id);
        }
        // The original was not written: the halves take its sequences (as
        // Java's split), so batches after it keep theirs.
        if let Some(s) = b.stamp {
            let mut sequence = s.base_sequence;
            for nb in new_batches.iter_mut() {
                nb.stamp = Some(SequenceStamp {
                    base_sequence: sequence,
                    ..s
                });
                sequence = increment_sequence(sequence, nb.record_count);
            }
        }
        let st = self.partitions.entry(key).or_default();
        // In place of the original, before the batches that came after it.
        let pos = pos.unwrap_or(0).min(st.batches.len());
        for (n, nb) in new_batches.into_iter().enumerate() {
            st.batches.insert(pos + n, nb);
        }
    }

    // ------------------------------------------------------------- completion

    fn complete_batch(
        &mut self,
        topic: &Arc<str>,
        partition: i32,
        b: ProducerBatch,
        base_offset: i64,
        log_append_time: i64,
    ) {
        if let Some(s) = b.stamp {
            if let Some(st) = self.partitions.get_mut(&(topic.clone(), partition)) {
                st.last_acked_sequence = increment_sequence(s.base_sequence, b.record_count - 1);
            }
        }
        self.settle(&b);
        b.complete(|n, ts| {
            Ok(RecordMetadata {
                topic: topic.clone(),
                partition,
                offset: if base_offset >= 0 {
                    base_offset + n as i64
                } else {
                    -1
                },
                timestamp: if log_append_time >= 0 {
                    log_append_time
                } else {
                    ts
                },
            })
        });
    }

    fn fail_batch(&mut self, b: ProducerBatch, e: ProducerError) {
        tracing::debug!(error = %e, records = b.record_count, "batch failed");
        self.settle(&b);
        b.complete(|_, _| Err(e.clone()));
    }

    fn fail_record(&mut self, rec: PendingRecord, id: u64, e: ProducerError) {
        self.fail_reply(rec.reply, rec.permits, id, e);
    }

    /// Completes one record that never reached a batch with `e`, settling
    /// its memory and any flush waiting for it.
    fn fail_reply(&mut self, reply: RecordReply, permits: usize, id: u64, e: ProducerError) {
        self.outstanding -= 1;
        self.settle_ids([id].into_iter());
        self.released_permits += permits;
        reply.send(Err(e));
    }

    /// A record the batch format cannot hold (a length past i32::MAX).
    fn fail_unappendable(
        &mut self,
        (e, reply): (kafka_protocol::ProtocolError, RecordReply),
        permits: usize,
        id: u64,
    ) {
        tracing::warn!(error = %e, "record cannot be written in a record batch");
        let size = match e {
            kafka_protocol::ProtocolError::TooLong { len, .. } => len,
            _ => permits,
        };
        let e = ProducerError::RecordTooLarge {
            size,
            limit: i32::MAX as usize,
            limit_name: "the record batch format",
        };
        self.fail_reply(reply, permits, id, e);
    }

    fn settle_ids(&mut self, ids: impl Iterator<Item = u64> + Clone) {
        if self.flushes.is_empty() {
            return;
        }
        for f in self.flushes.values_mut() {
            let inside = ids.clone().filter(|id| *id < f.below).count();
            f.remaining = f.remaining.saturating_sub(inside);
        }
        self.flushes.retain(|_, f| f.remaining > 0);
    }

    /// Bookkeeping when a batch's records complete: outstanding count, flush
    /// markers, and buffer memory to release.
    fn settle(&mut self, b: &ProducerBatch) {
        let n = b.replies.len();
        self.outstanding -= n.min(self.outstanding);
        self.settle_ids(b.replies.iter().map(|(_, _, id)| *id));
        self.released_permits += b.permits;
    }

    /// Buffer memory freed since the last call (the driver returns it to the pool).
    pub fn take_released_permits(&mut self) -> usize {
        std::mem::take(&mut self.released_permits)
    }

    fn go_fatal(&mut self, e: ProducerError) {
        tracing::error!(error = %e, "producer cannot go on");
        let e = ProducerError::Fatal(Arc::from(e.to_string()));
        self.fatal = Some(e.clone());
        self.abort_all(e);
    }

    /// The fatal error, if the producer hit one.
    pub fn fatal_error(&self) -> Option<&ProducerError> {
        self.fatal.as_ref()
    }

    fn new_request_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        id
    }
}

/// Identifies a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushId(u64);

fn partition_data(index: i32, records: Bytes) -> PartitionProduceData {
    PartitionProduceData {
        index,
        records: Some(records),
        ..Default::default()
    }
}

/// Whether a batch that got `code` may nevertheless be in the log.
fn may_have_been_written(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NETWORK_EXCEPTION
            | ErrorCode::REQUEST_TIMED_OUT
            | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
            | ErrorCode::KAFKA_STORAGE_ERROR
            | ErrorCode::UNKNOWN_SERVER_ERROR
    )
}

fn broker_error(code: i16, message: Option<Arc<str>>, attempts: u32) -> ProducerError {
    let code = ErrorCode(code);
    ProducerError::Broker {
        code: code.0,
        name: code.name(),
        message,
        attempts,
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

struct SplitRecord {
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Vec<(String, Option<Bytes>)>,
    size: usize,
}

/// The records of a finished batch, for a split.
fn split_records(batch: &Bytes) -> Result<Vec<SplitRecord>, kafka_protocol::ProtocolError> {
    let (parsed, _) = RecordBatch::parse(batch)?;
    let section = parsed.decompressed_records(&BuiltinCodecs::default(), 256 * 1024 * 1024)?;
    let mut out = Vec::new();
    for r in parsed.records_in(&section) {
        let r = r?;
        let mut headers = Vec::new();
        for h in &r.headers {
            let h = h?;
            headers.push((h.key.to_string(), h.value.map(Bytes::copy_from_slice)));
        }
        let size = r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len) + 32;
        out.push(SplitRecord {
            key: r.key.map(Bytes::copy_from_slice),
            value: r.value.map(Bytes::copy_from_slice),
            headers,
            size,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use kafka_protocol::generated::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::generated::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    use kafka_protocol::generated::{MetadataResponse, ProduceResponse};

    use super::{increment_sequence, PendingRecord, ProducerCore, Response, Transmit};
    use crate::{ProducerConfig, ProducerRecord};

    fn metadata_for(topics: &[&str]) -> MetadataResponse {
        MetadataResponse {
            brokers: vec![MetadataResponseBroker {
                node_id: 1,
                host: "b1".into(),
                port: 9092,
                ..Default::default()
            }],
            topics: topics
                .iter()
                .map(|t| MetadataResponseTopic {
                    name: Some(t.to_string().into()),
                    partitions: vec![MetadataResponsePartition {
                        partition_index: 0,
                        leader_id: 1,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn record(core: &mut ProducerCore, topic: &str, now: Instant) -> crate::DeliveryFuture {
        let (reply, rx) = super::delivery_channel();
        let record = ProducerRecord::new(topic).value("v");
        core.enqueue(
            PendingRecord {
                record,
                timestamp: 1,
                reply,
                permits: 100,
            },
            now,
        );
        rx
    }

    /// Answers every transmit as a healthy broker would; returns the topics of
    /// the metadata requests seen.
    fn serve(core: &mut ProducerCore, now: Instant) -> Vec<Vec<String>> {
        let mut asked = Vec::new();
        while let Some(t) = core.poll_transmit(now) {
            match t {
                Transmit::Metadata {
                    request_id,
                    request,
                    ..
                } => {
                    let names: Vec<String> = request
                        .topics
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
                        .collect();
                    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                    core.handle_response(
                        request_id,
                        Ok(Response::Metadata(metadata_for(&refs))),
                        now,
                    );
                    asked.push(names);
                }
                Transmit::Produce {
                    request_id,
                    request,
                    ..
                } => {
                    let responses = request
                        .topic_data
                        .iter()
                        .map(|t| TopicProduceResponse {
                            name: t.name.clone(),
                            partition_responses: vec![PartitionProduceResponse {
                                index: 0,
                                ..Default::default()
                            }],
                            ..Default::default()
                        })
                        .collect();
                    core.handle_response(
                        request_id,
                        Ok(Response::Produce(ProduceResponse {
                            responses,
                            ..Default::default()
                        })),
                        now,
                    );
                }
                Transmit::InitProducerId { .. } => unreachable!("idempotence is off"),
            }
        }
        asked
    }

    #[test]
    fn a_record_the_batch_format_rejects_fails_with_a_reason_and_settles() {
        let config = ProducerConfig::from_properties([("bootstrap.servers", "b1:9092")]).unwrap();
        let mut core = ProducerCore::new(Arc::new(config), None, 1).unwrap();
        // As if one record had been enqueued and partitioned.
        core.enqueued = 1;
        core.outstanding = 1;
        let flush = core.begin_flush();
        assert!(!core.flushed(flush));
        let (reply, mut delivery) = super::delivery_channel();
        let e = kafka_protocol::ProtocolError::TooLong {
            what: "record key or value",
            len: 3_000_000_000,
        };
        core.fail_unappendable((e, reply), 100, 1);
        assert!(matches!(
            delivery.try_recv(),
            Ok(Err(crate::ProducerError::RecordTooLarge {
                size: 3_000_000_000,
                ..
            }))
        ));
        assert!(core.flushed(flush), "the flush does not wait for it");
        assert_eq!(
            core.take_released_permits(),
            100,
            "its buffer memory comes back"
        );
        assert_eq!(core.outstanding(), 0);
    }

    #[test]
    fn idle_topics_leave_the_metadata() {
        let config = ProducerConfig::from_properties([
            ("bootstrap.servers", "b1:9092"),
            ("enable.idempotence", "false"),
            ("acks", "1"),
            ("linger.ms", "0"),
            ("metadata.max.idle.ms", "5000"),
        ])
        .unwrap();
        let mut core = ProducerCore::new(Arc::new(config), None, 1).unwrap();
        let t0 = Instant::now();
        let mut first = record(&mut core, "idle", t0);
        assert_eq!(serve(&mut core, t0), vec![vec!["idle".to_string()]]);
        assert!(first.try_recv().unwrap().is_ok());
        // Past metadata.max.idle.ms without a record for it: the next metadata
        // request (for a new topic) no longer asks for "idle".
        let later = t0 + Duration::from_secs(6);
        assert!(core.poll_timeout().is_some_and(|t| t <= later));
        core.handle_timeout(later);
        let mut second = record(&mut core, "busy", later);
        assert_eq!(serve(&mut core, later), vec![vec!["busy".to_string()]]);
        assert!(second.try_recv().unwrap().is_ok());
    }

    #[test]
    fn sequences_wrap() {
        assert_eq!(increment_sequence(0, 5), 5);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }
}
