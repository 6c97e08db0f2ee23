//! The producer's decisions, without sockets or a clock.
//!
//! [`ProducerCore`] takes inputs and gives outputs; the tokio driver
//! (`crate::driver`) only moves bytes and time, and the simulation tests
//! drive the same core with a fake cluster and a fake clock.
//!
//! # Rooms
//!
//! Each room owns its state; this module routes between them:
//!
//! - `metadata`: brokers, leaders, when and where to refresh (KIP-951
//!   leader hints, re-bootstrap);
//! - `accumulator`: records waiting for metadata, partitioning, one queue
//!   of batches per partition, the ready/drain filter (which asks a
//!   [`DrainGate`]), expiry, splits, aborts;
//! - `sender`: Produce requests, what each response means for its batches,
//!   per-broker in-flight counts and reconnect backoff;
//! - `sequences`: idempotence (producer id and epoch, per-partition
//!   sequences, the KIP-360 epoch bump);
//! - `batch`: one batch in wire form and its state; `completion`: every
//!   record's completion (outcomes, wakers and callbacks to run, flushes,
//!   buffer memory to give back); `backoff`: the one jittered
//!   exponential backoff.
//!
//! # Call order
//!
//! 1. Inputs, in any order: [`enqueue`](ProducerCore::enqueue),
//!    [`begin_flush`](ProducerCore::begin_flush), [`begin_close`](ProducerCore::begin_close),
//!    [`abort_all`](ProducerCore::abort_all), [`abort_unsent`](ProducerCore::abort_unsent),
//!    [`adopt_producer_id`](ProducerCore::adopt_producer_id),
//!    [`handle_response`](ProducerCore::handle_response),
//!    [`handle_connected`](ProducerCore::handle_connected),
//!    [`handle_timeout`](ProducerCore::handle_timeout), [`set_memory_pressure`](ProducerCore::set_memory_pressure).
//! 2. After inputs, call [`poll_transmit`](ProducerCore::poll_transmit)
//!    until it returns `None`, and send each [`Transmit`] to its node.
//!    Requests to one node must be written in the order they were given.
//! 3. Give back [`take_released_permits`](ProducerCore::take_released_permits)
//!    bytes of buffer memory.
//! 4. Sleep until [`poll_timeout`](ProducerCore::poll_timeout) (or the
//!    next input) and then call `handle_timeout`.
//!
//! Every `Transmit` gets exactly one `handle_response`: its response, `None`
//! once a request without response (acks=0) is written, or a
//! [`TransportFailure`]. Responses of one node are handed in the order its
//! requests were written. Records complete through their reply channels.

mod accumulator;
pub(crate) mod backoff;
mod batch;
mod completion;
mod enqueue;
pub(crate) mod hash;
mod metadata;
mod metrics;
mod partitions;
mod sender;
mod sequences;
mod telemetry;
mod versions;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_compression::Codec;
use kafka_protocol::messages::{RequestKind, ResponseKind};

#[doc(hidden)]
pub use crate::delivery::abandoned_outcomes;
pub use crate::delivery::{Completion, DeliveryCallback, TryRecvError};
use accumulator::{
    own_outcome, Accumulator, Appended, DrainContext, Incoming, NotAppended, WaitingRecord,
};
pub use accumulator::{AwaitingPartitioner, DrainGate};
use backoff::Jitter;
use completion::Completions;
pub use completion::FlushId;
pub use metadata::Node;
use metadata::{Metadata, TopicOutcome};
pub use metrics::{CoreTotals, TopicTotals};
pub use partitions::PartitionInfo;
use sender::{ProduceInFlight, ResponseContext, Sender};
pub use sequences::ProducerIdAndEpoch;
use sequences::Sequences;
pub use versions::{version_cap, PRODUCER_VERSIONS};

use crate::config::ProducerConfig;
use crate::error::{broker_error, FatalError, ProducerError};
use crate::record::ProducerRecord;

/// `t + d`, saturating: durations the configuration accepts (up to
/// i64::MAX ms) and `Duration::MAX` must not overflow an `Instant`. Thirty
/// years is later than any process waits.
pub(crate) fn later(t: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
    t.checked_add(d.min(FAR)).unwrap_or(t)
}

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// Partition `partition` of `topic`.
    ///
    /// ```
    /// let tp = kafka_producer::TopicPartition::new("orders", 3);
    /// assert_eq!((&*tp.topic, tp.partition), ("orders", 3));
    /// ```
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// A record handed to the core, with the buffer memory it holds.
pub struct PendingRecord {
    /// The record; its timestamp is already resolved.
    pub record: ProducerRecord,
    /// Create time, ms since the epoch.
    pub timestamp: i64,
    /// Buffer memory (bytes) held until the record completes.
    pub permits: usize,
    /// Called with the record's outcome, besides its future.
    pub callback: Option<DeliveryCallback>,
    /// The application's partitioner chooses its partition, once its
    /// topic's partition count is known: the core hands it out through
    /// [`ProducerCore::take_awaiting_partitioner`] instead of choosing.
    pub awaits_partitioner: bool,
}

impl std::fmt::Debug for PendingRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRecord")
            .field("record", &self.record)
            .field("timestamp", &self.timestamp)
            .field("permits", &self.permits)
            .field("callback", &self.callback.is_some())
            .field("awaits_partitioner", &self.awaits_partitioner)
            .finish()
    }
}

impl PendingRecord {
    /// A record created at `timestamp` (ms) holding `permits` bytes of
    /// buffer memory, without a callback.
    pub fn new(record: ProducerRecord, timestamp: i64, permits: usize) -> Self {
        PendingRecord {
            record,
            timestamp,
            permits,
            callback: None,
            awaits_partitioner: false,
        }
    }
}

/// What [`ProducerCore::enqueue`] did with a record.
#[derive(Debug)]
#[must_use = "the delivery future tells the record's outcome"]
pub struct Enqueued {
    /// The record's outcome.
    pub delivery: crate::DeliveryFuture,
    /// When `poll_transmit` has something new to do because of this
    /// record: its batch opened (ready when its linger ends) or became
    /// ready (full), or the record waits for its topic's metadata. `None`:
    /// nothing changed (it joined a lingering batch).
    pub poll_at: Option<Instant>,
}

/// A record [`ProducerCore::try_enqueue`] handed back: it needs this much
/// buffer memory in all (it holds `record.permits`) before it is taken.
#[derive(Debug)]
pub struct NeedsMemory {
    /// The record, as offered.
    pub record: PendingRecord,
    /// The buffer memory it must hold to be taken (at most `buffer.memory`).
    pub needed: usize,
    /// It would wait for its topic's metadata (the core asks for it): a
    /// caller that can wait may wait for the metadata instead, as Java's
    /// `send` does, and offer it again (or refuse it with
    /// [`ProducerCore::refuse_unknown`] after `max.block.ms`).
    pub metadata: bool,
}

/// The clock, read only when needed: most records join an open batch and
/// need no time at all.
pub(crate) trait ReadNow {
    fn now(&mut self) -> Instant;
}

struct LazyNow<F> {
    read: Option<F>,
    at: Option<Instant>,
}

impl<F: FnOnce() -> Instant> ReadNow for LazyNow<F> {
    fn now(&mut self) -> Instant {
        if let Some(read) = self.read.take() {
            self.at = Some(read());
        }
        self.at.expect("the clock was read")
    }
}

/// A request the driver must send.
#[derive(Debug)]
pub struct Transmit {
    /// Echo this id in [`ProducerCore::handle_response`].
    pub request_id: u64,
    /// Where to send it.
    pub node: Node,
    /// The request; the driver encodes it at the top version both sides
    /// speak (no higher than `max_version`).
    pub request: RequestKind,
    /// The highest version the request may use, when the core needs a cap.
    pub max_version: Option<i16>,
    /// Not to be written after this (the driver answers it with a
    /// [`TransportFailure`] instead): a Produce whose records' delivery
    /// timeout passed while it waited for a connection must not reach the
    /// broker after they were failed.
    pub not_after: Option<Instant>,
}

/// A request that failed in transport (connect, write, timeout, disconnect).
#[derive(Debug, Clone)]
pub struct TransportFailure {
    /// What happened.
    pub message: String,
    /// The connection could not be established (the node gets a reconnect backoff).
    pub connect_failed: bool,
    /// TLS or SASL refused (credentials, certificates, unusable security
    /// settings): retrying repeats it, so the producer stops with
    /// [`FatalError::Authentication`].
    pub authentication: bool,
}

impl TransportFailure {
    /// The failure a transport error stands for.
    pub fn from_codec(e: &kafka_codec::CodecError, connect_failed: bool) -> Self {
        TransportFailure {
            message: e.to_string(),
            connect_failed,
            authentication: e.is_authentication_failure(),
        }
    }
}

/// Which room a request in flight belongs to.
#[derive(Debug)]
enum InFlight {
    Metadata {
        node: i32,
    },
    InitProducerId {
        node: i32,
    },
    Produce(ProduceInFlight),
    /// GetTelemetrySubscriptions or PushTelemetry.
    Telemetry {
        node: i32,
    },
}

impl InFlight {
    fn node(&self) -> i32 {
        match self {
            InFlight::Metadata { node }
            | InFlight::InitProducerId { node }
            | InFlight::Telemetry { node } => *node,
            InFlight::Produce(p) => p.node,
        }
    }
}

/// The producer state machine. See the module documentation.
pub struct ProducerCore {
    config: Arc<ProducerConfig>,
    codec: Option<Box<dyn Codec>>,
    metadata: Metadata,
    accumulator: Accumulator,
    sender: Sender,
    sequences: Sequences,
    completions: Completions,
    jitter: Jitter,
    /// Requests in flight, their room and when they were sent.
    requests: hash::FastMap<u64, (InFlight, Instant)>,
    next_request_id: u64,
    closing: bool,
    memory_pressure: bool,
    fatal: Option<ProducerError>,
    /// `now` of the last `poll_transmit`: what was due then and is still
    /// waiting is blocked (by responses, which wake the driver anyway).
    last_poll: Option<Instant>,
    /// Metadata answers taken in.
    metadata_updates: u64,
    /// Client telemetry (KIP-714), once the driver turned it on.
    telemetry: Option<telemetry::ClientTelemetry>,
}

impl ProducerCore {
    /// A core for `config`. `seed` feeds the partitioner and the retry jitter,
    /// so a simulation is reproducible. The application's own partitioner
    /// is not the core's: see [`PendingRecord::awaits_partitioner`].
    pub fn new(config: Arc<ProducerConfig>, seed: u64) -> Result<Self, ProducerError> {
        let codec = config.codec()?.map(|c| Box::new(c) as Box<dyn Codec>);
        Ok(ProducerCore {
            metadata: Metadata::new(
                config.bootstrap_servers.clone(),
                config.retry_backoff,
                config.retry_backoff_max,
                config.metadata_max_age,
                config.metadata_max_idle,
                (config.partitioner_rack_aware && !config.client_rack.is_empty())
                    .then(|| Arc::from(config.client_rack.as_str())),
                (config.metadata_recovery_strategy
                    == crate::config::MetadataRecoveryStrategy::Rebootstrap)
                    .then_some(config.metadata_recovery_rebootstrap_trigger),
            ),
            accumulator: Accumulator::new(config.clone(), seed),
            sender: Sender::new(config.clone()),
            sequences: Sequences::new(
                config.enable_idempotence,
                config.transactional_id.is_some(),
                config.retry_backoff,
                config.transaction_timeout,
            ),
            completions: Completions::new(batch::BufferPool::new(
                config.batch_size,
                config.buffer_memory,
            )),
            jitter: Jitter::new(seed),
            requests: hash::FastMap::default(),
            next_request_id: 1,
            closing: false,
            memory_pressure: false,
            fatal: None,
            last_poll: None,
            metadata_updates: 0,
            telemetry: None,
            codec,
            config,
        })
    }

    /// Asks `gate` before any batch may leave, and tells it what happens to
    /// batches (a transactional producer's seam).
    pub fn set_drain_gate(&mut self, gate: Arc<dyn DrainGate>) {
        self.accumulator.set_gate(gate);
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Records accepted and not complete yet.
    pub fn outstanding(&self) -> usize {
        self.completions.outstanding()
    }

    /// The producer id and epoch, once known (idempotence).
    pub fn producer_id_and_epoch(&self) -> Option<ProducerIdAndEpoch> {
        self.sequences.current()
    }

    /// The counters behind the producer metrics, and requests in flight.
    pub fn totals(&self) -> (&CoreTotals, usize) {
        (&self.completions.metrics.totals, self.requests.len())
    }

    /// The per-topic counters.
    pub fn topic_totals(&self) -> impl Iterator<Item = (&str, &TopicTotals)> {
        self.completions
            .metrics
            .topics
            .iter()
            .map(|(k, v)| (&**k, v))
    }

    /// Produce attempts made so far (first sends and retries).
    pub fn produce_attempts(&self) -> u64 {
        self.sender.attempts
    }

    /// The error that stopped the producer, if one did.
    pub fn fatal_error(&self) -> Option<&ProducerError> {
        self.fatal.as_ref()
    }

    // ---------------------------------------------------------------- inputs

    /// Marks every batch ready now; [`flushed`](Self::flushed) tells when
    /// the records enqueued before this call are all complete.
    pub fn begin_flush(&mut self) -> FlushId {
        self.accumulator.close_all();
        self.completions.begin()
    }

    /// Whether the records of that flush are all complete.
    pub fn flushed(&self, id: FlushId) -> bool {
        self.completions.is_flushed(id)
    }

    /// Stops accepting records and sends what is buffered at once (and a
    /// last telemetry push, given up after `request.timeout.ms` or 5 s,
    /// whichever is shorter: it must not hold a close up for long).
    pub fn begin_close(&mut self, now: Instant) {
        self.closing = true;
        self.begin_flush();
        if let Some(t) = &mut self.telemetry {
            let bound = self.config.request_timeout.min(Duration::from_secs(5));
            t.begin_close(now, bound);
        }
    }

    /// Turns client telemetry (KIP-714) on, as the driver does when
    /// `enable.metrics.push` is set: the core then asks a broker for its
    /// subscription and pushes what it asks for. Off by default, so that a
    /// core driven by a simulation sends only what it expects.
    pub fn enable_telemetry(&mut self) {
        let c = &self.config;
        let mut resource = Vec::new();
        if let Some(id) = &c.transactional_id {
            resource.push(("transactional_id", id.clone()));
        }
        if !c.client_rack.is_empty() {
            resource.push(("client_rack", c.client_rack.clone()));
        }
        self.telemetry = telemetry::ClientTelemetry::new(true, resource);
    }

    /// The client instance id the broker gave this producer (telemetry).
    pub fn client_instance_id(&self) -> Option<kafka_protocol::primitives::Uuid> {
        self.telemetry.as_ref()?.instance_id()
    }

    /// A telemetry push is due and needs the metrics: hand them over with
    /// [`set_telemetry_metrics`](Self::set_telemetry_metrics).
    pub fn telemetry_wants_metrics(&self, now: Instant) -> bool {
        self.telemetry
            .as_ref()
            .is_some_and(|t| t.wants_metrics(now))
    }

    /// The metrics of the telemetry push that is due; wall-clock times in
    /// ns since the epoch (`start_ns`: when the producer started).
    pub fn set_telemetry_metrics(
        &mut self,
        m: &crate::metrics::ProducerMetrics,
        now_ns: u64,
        start_ns: u64,
    ) {
        if let Some(t) = &mut self.telemetry {
            t.set_metrics(m, now_ns, start_ns);
        }
    }

    /// Whether a close may end: no terminating telemetry push is pending.
    pub fn telemetry_settled(&self, now: Instant) -> bool {
        self.telemetry.as_ref().is_none_or(|t| t.settled(now))
    }

    /// Fails every record not complete yet with `error` (close timeout).
    pub fn abort_all(&mut self, error: ProducerError) {
        self.accumulator.abort_all(&error, &mut self.completions);
    }

    /// Fails the records not sent yet with `error`; batches in flight or
    /// waiting for a retry go on (a transaction's abort: their outcome must
    /// be known before the transaction ends).
    pub fn abort_unsent(&mut self, error: ProducerError) {
        self.accumulator.abort_unsent(&error, &mut self.completions);
    }

    /// Whether buffer memory is short (callers are waiting for it): batches
    /// are then sent without waiting for linger.ms.
    pub fn set_memory_pressure(&mut self, pressure: bool) {
        self.memory_pressure = pressure;
        if pressure {
            // Free pooled buffers give their memory to those who wait.
            self.completions.pool.trim();
        }
    }

    /// Buffer memory held by free pooled buffers (part of what is not back
    /// from [`take_released_permits`](Self::take_released_permits)).
    pub fn pooled_permits(&self) -> usize {
        self.completions.pool.held()
    }

    /// Adopts a producer id and epoch from outside (a transactional
    /// producer gets them from its coordinator) and resets every partition's
    /// sequences.
    pub fn adopt_producer_id(&mut self, producer: ProducerIdAndEpoch) {
        self.sequences.adopt(producer, &mut self.accumulator);
    }

    /// Starts every partition's sequences at `first` instead of 0 (under
    /// every new producer id and epoch), so that a simulated broker sees the
    /// wrap from 2^31-1 to 0 without 2^31 records. Real brokers expect 0:
    /// for tests only.
    #[doc(hidden)]
    pub fn start_sequences_at(&mut self, first: i32) {
        self.sequences.start_sequences_at(first);
    }

    /// A connection to `node` works again.
    pub fn handle_connected(&mut self, node: i32) {
        self.sender.nodes.connected(node);
    }

    /// The answer to a request from `poll_transmit`: its response, `None`
    /// once a request without response was written, or a transport failure.
    pub fn handle_response(
        &mut self,
        request_id: u64,
        result: Result<Option<ResponseKind>, TransportFailure>,
        now: Instant,
    ) {
        let Some((inflight, sent_at)) = self.requests.remove(&request_id) else {
            return;
        };
        self.completions
            .metrics
            .answered(now.saturating_duration_since(sent_at));
        if let Err(f) = &result {
            if f.connect_failed {
                // Whatever the request, a node that cannot be reached is not
                // tried again before its reconnect backoff (reconnect.backoff.ms,
                // doubling up to reconnect.backoff.max.ms).
                self.sender.nodes.connect_failed(
                    inflight.node(),
                    now,
                    &self.sender.reconnect_backoff,
                    &mut self.jitter,
                );
            }
            if f.authentication {
                // Credentials or certificates refused: every retry would be
                // refused the same way, so stop and tell every record why.
                self.go_fatal(ProducerError::Fatal(FatalError::Authentication(Arc::from(
                    f.message.as_str(),
                ))));
                return;
            }
        }
        let mut fatal = None;
        match (inflight, result) {
            (InFlight::Metadata { .. }, Ok(Some(ResponseKind::Metadata(resp))))
                if resp.error_code != 0 =>
            {
                // Metadata v13's top-level error (REBOOTSTRAP_REQUIRED, say):
                // nothing in the response is to be used; ask again later.
                let code = kafka_protocol::ErrorCode(resp.error_code);
                tracing::warn!(error = %code, "Metadata request answered with an error");
                self.metadata
                    .request_failed(now, Some(&format!("Metadata answered {code}")));
                // KIP-1102: the broker says our view is too stale to mend.
                if code == kafka_protocol::ErrorCode::REBOOTSTRAP_REQUIRED
                    && self.metadata.rebootstraps()
                {
                    self.metadata
                        .rebootstrap("a broker answered REBOOTSTRAP_REQUIRED");
                }
            }
            (InFlight::Metadata { .. }, Ok(Some(ResponseKind::Metadata(resp)))) => {
                self.on_metadata(&resp, now)
            }
            (InFlight::Metadata { .. }, other) => {
                tracing::debug!(error = ?other.as_ref().err(), "metadata request failed");
                let why = match &other {
                    Err(f) => f.message.clone(),
                    Ok(Some(r)) => format!("a {} response to a Metadata request", r.api_key()),
                    Ok(None) => "no response to a Metadata request".into(),
                };
                self.metadata.request_failed(now, Some(&why));
            }
            (InFlight::InitProducerId { .. }, Ok(Some(ResponseKind::InitProducerId(resp)))) => {
                if let Err(e) = self
                    .sequences
                    .on_response(&resp, now, &mut self.accumulator)
                {
                    fatal = Some(e);
                }
            }
            (InFlight::InitProducerId { .. }, other) => {
                tracing::debug!(error = ?other.err(), "InitProducerId failed");
                self.sequences.request_failed(now);
            }
            (InFlight::Telemetry { .. }, result) => {
                if let Some(t) = &mut self.telemetry {
                    match result {
                        Ok(Some(ResponseKind::GetTelemetrySubscriptions(r))) => {
                            t.on_subscriptions(&r, now, &mut self.jitter)
                        }
                        Ok(Some(ResponseKind::PushTelemetry(r))) => t.on_push(&r, now),
                        Err(f) => t.on_failed(&f.message, now),
                        Ok(_) => t.on_failed("an unexpected response", now),
                    }
                }
            }
            (InFlight::Produce(p), result) => {
                let ctx = ResponseContext {
                    accumulator: &mut self.accumulator,
                    sequences: &mut self.sequences,
                    metadata: &mut self.metadata,
                    completions: &mut self.completions,
                    jitter: &mut self.jitter,
                    retry_jitter: None,
                    fatal: &mut fatal,
                };
                match result {
                    Ok(Some(ResponseKind::Produce(resp))) => {
                        self.sender.on_response(p, &resp, now, ctx)
                    }
                    Ok(None) => self.sender.on_written(p, ctx),
                    Ok(Some(other)) => {
                        let message =
                            format!("a {} response to a Produce request", other.api_key());
                        self.sender.on_transport_failure(p, &message, now, ctx)
                    }
                    Err(f) => self.sender.on_transport_failure(p, &f.message, now, ctx),
                }
            }
        }
        if let Some(e) = fatal {
            self.go_fatal(e);
        }
        self.maybe_bump_epoch();
    }

    /// Expires what timed out: records waiting for metadata (max.block.ms)
    /// and queued batches (delivery.timeout.ms); forgets idle topics.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.metadata.forget_idle(now, &self.accumulator);
        self.accumulator
            .expire_waiting(now, &self.metadata, &mut self.completions);
        self.accumulator
            .expire(now, &mut self.sequences, &mut self.completions);
        self.maybe_bump_epoch();
    }

    // --------------------------------------------------------------- outputs

    /// The next request to send, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.poll_next(now, true).map(|(t, _)| t)
    }

    /// Every request to send now, into `out`: [`poll_transmit`] until
    /// `None`, but without the last look at every partition queue when the
    /// drain before it left nothing behind (nothing changes in between).
    ///
    /// [`poll_transmit`]: Self::poll_transmit
    pub fn poll_transmits(&mut self, now: Instant, out: &mut Vec<Transmit>) {
        let mut drain = true;
        while let Some((t, drained_all)) = self.poll_next(now, drain) {
            drain &= !drained_all;
            out.push(t);
        }
    }

    /// The next request; with it, whether it was a drain that left no ready
    /// batch behind. `drain` false: no drain.
    fn poll_next(&mut self, now: Instant, drain: bool) -> Option<(Transmit, bool)> {
        self.last_poll = Some(now);
        if self.fatal.is_some() {
            return None;
        }
        if let Some(t) = self.poll_metadata(now) {
            return Some((t, false));
        }
        if self.sequences.wants_producer_id(now) {
            if let Some(node) = self.metadata.pick_node(now, &self.sender.nodes) {
                let request = RequestKind::InitProducerId(self.sequences.request());
                let kind = InFlight::InitProducerId { node: node.id };
                return Some((self.transmit(now, node, request, kind, None), false));
            }
        }
        if drain {
            if let Some(produce) = self.poll_produce(now) {
                return Some(produce);
            }
        }
        // The drain may find a partition without a known leader and mark
        // the metadata stale: its refresh goes now, as the time it was due
        // has passed and `poll_timeout` no longer reports it.
        self.poll_metadata(now)
            .or_else(|| self.poll_telemetry(now))
            .map(|t| (t, false))
    }

    fn poll_telemetry(&mut self, now: Instant) -> Option<Transmit> {
        if !self.telemetry.as_ref()?.request_due(now) {
            return None;
        }
        let node = self.metadata.pick_node(now, &self.sender.nodes)?;
        let request = self.telemetry.as_mut()?.request(now)?;
        let kind = InFlight::Telemetry { node: node.id };
        Some(self.transmit(now, node, request, kind, None))
    }

    fn poll_metadata(&mut self, now: Instant) -> Option<Transmit> {
        let (node, request) = self.metadata.poll_request(now, &self.sender.nodes)?;
        let kind = InFlight::Metadata { node: node.id };
        Some(self.transmit(now, node, RequestKind::Metadata(request), kind, None))
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
        let last_poll = self.last_poll;
        let wakes = self
            .metadata
            .wake_times(self.accumulator.has_waiting())
            .chain(self.sequences.next_wake())
            .chain(self.accumulator.send_times())
            .chain(self.sender.nodes.wake_times())
            .chain(self.telemetry.as_ref().and_then(|t| t.next_wake()))
            .filter(|t| last_poll.is_none_or(|p| *t > p));
        wakes.chain(self.accumulator.next_expiry()).min()
    }

    /// Buffer memory freed since the last call (the driver returns it to the pool).
    pub fn take_released_permits(&mut self) -> usize {
        self.completions.take_released_permits()
    }

    /// Futures to wake and callbacks to run, for outcomes resolved since the
    /// last call: run them ([`Completion::run`]) after letting go of the
    /// core, so no user code runs while it is held.
    pub fn take_completions(&mut self) -> Vec<Completion> {
        self.completions.take_completions()
    }

    // --------------------------------------------------------------- routing

    fn transmit(
        &mut self,
        now: Instant,
        node: Node,
        request: RequestKind,
        kind: InFlight,
        max_version: Option<i16>,
    ) -> Transmit {
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        self.completions.metrics.totals.requests += 1;
        if matches!(kind, InFlight::Produce(_)) {
            self.completions.metrics.totals.produce_requests += 1;
        }
        self.requests.insert(request_id, (kind, now));
        let max_version = version_cap(PRODUCER_VERSIONS, request.api_key(), max_version);
        Transmit {
            request_id,
            node,
            request,
            max_version,
            not_after: None,
        }
    }

    fn on_metadata(&mut self, resp: &kafka_protocol::generated::MetadataResponse, now: Instant) {
        self.metadata_updates += 1;
        for (topic, outcome) in self.metadata.update(resp, now) {
            match outcome {
                TopicOutcome::Known => {
                    let mut unknown_partition = false;
                    let Some(meta) = self.metadata.topics.get(&topic) else {
                        continue;
                    };
                    let waiting = self.accumulator.take_waiting(&topic);
                    let mut clock = LazyNow {
                        read: Some(|| now),
                        at: None,
                    };
                    let partitions = meta.partitions.len() as i32;
                    for w in waiting {
                        let since = w.since;
                        // Records behind one for the partitioner keep their place.
                        if w.incoming.awaits_partitioner
                            || self.accumulator.awaits_partitioner(&topic)
                        {
                            self.accumulator.await_partitioner(w, partitions);
                            continue;
                        }
                        if let Err(
                            NotAppended::UnknownPartition(incoming)
                            | NotAppended::NeedsMemory(incoming, _),
                        ) = self.accumulator.partition_and_append(
                            meta,
                            w.incoming,
                            &mut clock,
                            &mut self.completions,
                            true,
                        ) {
                            // Its explicit partition is not in this metadata yet.
                            self.accumulator
                                .wait_again(accumulator::WaitingRecord { incoming, since });
                            unknown_partition = true;
                        }
                    }
                    if unknown_partition {
                        self.metadata.retry_topic(topic, now);
                    }
                }
                TopicOutcome::Missing(code) => {
                    tracing::debug!(%topic, %code, "topic not in metadata yet");
                    // Ask again after the backoff, until max.block.ms.
                    self.metadata.retry_topic(topic, now);
                }
                TopicOutcome::Failed(code) => {
                    self.metadata.wanted.remove(&topic);
                    let e = broker_error(code, None, 0);
                    for w in self.accumulator.take_waiting(&topic) {
                        self.completions
                            .fail_waiting(w.incoming.unbatched(), e.clone());
                    }
                }
            }
        }
    }

    fn poll_produce(&mut self, now: Instant) -> Option<(Transmit, bool)> {
        self.accumulator.update_partition_load(&self.metadata);
        if !self.sequences.ready_to_send() {
            return None;
        }
        // While a flush is in progress every batch is ready (as Java's flushesInProgress).
        let urgent = self.closing || self.memory_pressure || self.completions.in_progress();
        let ctx = DrainContext {
            metadata: &mut self.metadata,
            nodes: &self.sender.nodes,
            sequences: &mut self.sequences,
            completions: &mut self.completions,
            codec: self.codec.as_deref(),
            urgent,
        };
        let drained = self.accumulator.drain(now, ctx)?;
        let complete = drained.complete;
        let not_after = later(drained.oldest, self.config.delivery_timeout);
        let node = drained.node.clone();
        let (_, request, inflight, names_only) =
            self.sender.produce_request(drained, &self.metadata);
        let gate_cap = self
            .accumulator
            .gate()
            .and_then(|g| g.produce_version_cap());
        // v13 names topics by id: a topic without one goes by name (v12).
        let cap = versions::lower_cap(gate_cap, names_only.then_some(12));
        let mut t = self.transmit(
            now,
            node,
            RequestKind::Produce(request),
            InFlight::Produce(inflight),
            cap,
        );
        t.not_after = Some(not_after);
        Some((t, complete))
    }

    /// KIP-360's local epoch bump, and partitions moving to the new epoch
    /// as their in-flight batches end.
    fn maybe_bump_epoch(&mut self) {
        self.sequences.maybe_bump(&mut self.accumulator);
    }

    fn go_fatal(&mut self, e: ProducerError) {
        tracing::error!(error = %e, "producer cannot go on");
        let e = match e {
            ProducerError::Broker(b) => ProducerError::Fatal(FatalError::Broker(b)),
            e => e,
        };
        if let Some(g) = self.accumulator.gate() {
            g.producer_stopped(&e);
        }
        self.fatal = Some(e.clone());
        self.abort_all(e);
    }
}

#[cfg(test)]
mod tests;
