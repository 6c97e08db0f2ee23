//! The tokio driver: a thin task around [`ProducerCore`] that moves records in,
//! requests out (one ordered queue per broker), responses back, and time.
//!
//! Backpressure is an async semaphore of `buffer.memory` bytes: `send` waits
//! (FIFO, as tokio's semaphore is fair) up to `max.block.ms` for the bytes of
//! its record, and the core gives them back when the record completes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafka_protocol::messages::ResponseKind;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::config::{ProducerConfig, ProducerConfigBuilder};
use crate::core::{
    DrainGate, FlushId, PendingRecord, ProducerCore, ProducerIdAndEpoch, Transmit, TransportFailure,
};
use crate::delivery::{channel_from, DeliveryFuture, DeliveryPool};
use crate::error::ProducerError;
use crate::metrics::{DriverGauges, ProducerMetrics, RateWindow};
use crate::partitioner::Partitioner;
use crate::record::ProducerRecord;

mod node;
mod transactional;

use node::spawn_node;

pub use transactional::TransactionHandle;

enum Command {
    Append(PendingRecord),
    Flush(oneshot::Sender<()>),
    Close(Duration, oneshot::Sender<()>),
    /// A transactional producer's owner: a producer id and epoch from the coordinator.
    AdoptProducerId(ProducerIdAndEpoch),
    /// A transactional producer's owner: its transaction is being aborted.
    AbortUnsent(ProducerError),
    /// Poll the core again (the gate's answer changed).
    Wake,
    /// A snapshot of the metrics.
    Metrics(oneshot::Sender<ProducerMetrics>),
}

// A response is moved once through the channel; boxing it would cost an
// allocation per response for nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Io {
    Response(u64, Result<Option<ResponseKind>, TransportFailure>),
    NodeUp(i32),
}

struct Shared {
    commands: mpsc::UnboundedSender<Command>,
    /// Delivery slots for reuse: no allocation per record in steady state.
    deliveries: Arc<DeliveryPool>,
    memory: Arc<Semaphore>,
    config: Arc<ProducerConfig>,
    /// Set once the core stopped for good: later sends fail at once with it.
    fatal: Arc<std::sync::OnceLock<ProducerError>>,
    /// Counters the I/O task reads for the metrics.
    counters: Arc<Counters>,
}

/// What `send` and the connections count for the metrics.
#[derive(Default)]
pub(super) struct Counters {
    /// bufferpool-wait-time-ns-total: time sends waited for buffer memory.
    pub buffer_wait_ns: std::sync::atomic::AtomicU64,
    /// outgoing-byte-total: bytes every connection wrote.
    pub bytes_written: Arc<std::sync::atomic::AtomicU64>,
}

/// The asynchronous producer. Cheap to clone; clones share one I/O task.
///
/// ```no_run
/// use std::time::Duration;
/// use kafka_producer::{Producer, ProducerRecord};
///
/// # async fn demo() -> Result<(), kafka_producer::ProducerError> {
/// let producer = Producer::from_properties([("bootstrap.servers", "127.0.0.1:9092"), ("linger.ms", "10")])?;
/// let delivery = producer.send(ProducerRecord::new("events").key("k").value("v")).await?;
/// let metadata = delivery.await?;
/// println!("{}-{}@{}", metadata.topic, metadata.partition, metadata.offset);
/// producer.close(Duration::from_secs(30)).await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("client_id", &self.shared.config.client_id)
            .finish()
    }
}

impl ProducerConfigBuilder {
    /// Builds the configuration and starts a producer with it (inside a tokio runtime).
    pub fn build_producer(self) -> Result<Producer, ProducerError> {
        Producer::new(self.build()?)
    }
}

impl Producer {
    /// Typed options; finish with `build_producer()`.
    pub fn builder() -> ProducerConfigBuilder {
        ProducerConfig::builder()
    }

    /// A producer from the Java client's property names and values.
    pub fn from_properties<I, K, V>(props: I) -> Result<Producer, ProducerError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Producer::new(ProducerConfig::from_properties(props)?)
    }

    /// A producer with `config` (must be called inside a tokio runtime).
    ///
    /// # Errors
    /// [`ProducerError::Config`] when `transactional.id` is set: a
    /// transactional producer is built by `kafka_txn::TransactionalProducer`.
    pub fn new(config: ProducerConfig) -> Result<Producer, ProducerError> {
        Self::with_partitioner(config, None)
    }

    /// A producer that asks `partitioner` first for records without a partition.
    pub fn with_partitioner(
        config: ProducerConfig,
        partitioner: Option<Arc<dyn Partitioner>>,
    ) -> Result<Producer, ProducerError> {
        if config.transactional_id.is_some() {
            return Err(crate::config::ConfigError::new(
                [crate::config::keys::TRANSACTIONAL_ID],
                "transactional.id is set: transactions are driven by \
                 kafka_txn::TransactionalProducer (a plain Producer cannot begin or commit them)",
            )
            .into());
        }
        Self::start(config, partitioner, None)
    }

    /// Starts the I/O task around a core for `config`.
    fn start(
        config: ProducerConfig,
        partitioner: Option<Arc<dyn Partitioner>>,
        gate: Option<Arc<dyn DrainGate>>,
    ) -> Result<Producer, ProducerError> {
        let config = Arc::new(config);
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let mut core = ProducerCore::new(config.clone(), partitioner, seed)?;
        if let Some(gate) = gate {
            core.set_drain_gate(gate);
        }
        // buffer.memory may be up to i64::MAX (Java's long); the semaphore
        // counts at most MAX_PERMITS, which no machine's memory reaches.
        let memory = Arc::new(Semaphore::new(
            config.buffer_memory.min(Semaphore::MAX_PERMITS),
        ));
        let (commands, rx) = mpsc::unbounded_channel();
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ProducerError::NoRuntime)?;
        let fatal = Arc::new(std::sync::OnceLock::new());
        let counters = Arc::new(Counters::default());
        handle.spawn(run(
            core,
            rx,
            memory.clone(),
            config.clone(),
            fatal.clone(),
            counters.clone(),
        ));
        Ok(Producer {
            shared: Arc::new(Shared {
                commands,
                deliveries: DeliveryPool::new(64 * 1024),
                memory,
                config,
                fatal,
                counters,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ProducerConfig {
        &self.shared.config
    }

    /// Buffer memory held by records not yet complete (at most `buffer.memory`).
    pub fn buffered_bytes(&self) -> usize {
        self.shared
            .config
            .buffer_memory
            .min(Semaphore::MAX_PERMITS)
            .saturating_sub(self.shared.memory.available_permits())
    }

    fn check_size(&self, record: &ProducerRecord) -> Result<usize, ProducerError> {
        if let Some(e) = self.shared.fatal.get() {
            return Err(e.clone());
        }
        let size = record.estimated_size();
        let c = &self.shared.config;
        if size > c.max_request_size {
            return Err(ProducerError::RecordTooLarge {
                size,
                limit: c.max_request_size,
                limit_name: "max.request.size",
            });
        }
        if size > c.buffer_memory {
            return Err(ProducerError::RecordTooLarge {
                size,
                limit: c.buffer_memory,
                limit_name: "buffer.memory",
            });
        }
        Ok(size)
    }

    fn submit(
        &self,
        record: ProducerRecord,
        permits: usize,
    ) -> Result<DeliveryFuture, ProducerError> {
        let (reply, delivery) = channel_from(Some(&self.shared.deliveries));
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let pending = PendingRecord {
            record,
            timestamp,
            reply,
            permits,
        };
        if self.shared.commands.send(Command::Append(pending)).is_err() {
            self.shared.memory.add_permits(permits);
            return Err(ProducerError::Closed);
        }
        Ok(delivery)
    }

    /// Queues a record. Waits only for buffer space (at most `max.block.ms`,
    /// first come first served); the returned future resolves when the record
    /// is acknowledged or has failed for good.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, ProducerError> {
        let size = self.check_size(&record)?;
        let memory = &self.shared.memory;
        let permit = match memory.try_acquire_many(size as u32) {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(ProducerError::Closed),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                // Buffer memory is short: wait (FIFO) up to max.block.ms.
                let started = Instant::now();
                let max_block = self.shared.config.max_block;
                let waited =
                    tokio::time::timeout(max_block, memory.acquire_many(size as u32)).await;
                let elapsed = started.elapsed();
                self.shared.counters.buffer_wait_ns.fetch_add(
                    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
                    std::sync::atomic::Ordering::Relaxed,
                );
                waited
                    .map_err(|_| ProducerError::BufferExhausted {
                        needed: size,
                        waited: elapsed,
                    })?
                    .map_err(|_| ProducerError::Closed)?
            }
        };
        permit.forget();
        self.submit(record, size)
    }

    /// Queues a record if buffer space is free now; fails at once otherwise.
    pub fn try_send(&self, record: ProducerRecord) -> Result<DeliveryFuture, ProducerError> {
        let size = self.check_size(&record)?;
        let permit = self
            .shared
            .memory
            .try_acquire_many(size as u32)
            .map_err(|_| ProducerError::BufferExhausted {
                needed: size,
                waited: Duration::ZERO,
            })?;
        permit.forget();
        self.submit(record, size)
    }

    /// Sends every buffered record now and waits until all records sent
    /// before this call are complete (delivered or failed).
    pub async fn flush(&self) -> Result<(), ProducerError> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .commands
            .send(Command::Flush(tx))
            .map_err(|_| ProducerError::Closed)?;
        rx.await.map_err(|_| ProducerError::Closed)
    }

    /// A snapshot of the producer's metrics under the Java client's names
    /// (see [`crate::metrics`]).
    pub async fn metrics(&self) -> Result<ProducerMetrics, ProducerError> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .commands
            .send(Command::Metrics(tx))
            .map_err(|_| ProducerError::Closed)?;
        rx.await.map_err(|_| ProducerError::Closed)
    }

    /// Stops accepting records, delivers what is buffered within `timeout`,
    /// and fails whatever is left: no record is left hanging.
    pub async fn close(&self, timeout: Duration) {
        let (tx, rx) = oneshot::channel();
        if self
            .shared
            .commands
            .send(Command::Close(timeout, tx))
            .is_ok()
        {
            let _ = rx.await;
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The I/O task.
async fn run(
    mut core: ProducerCore,
    mut commands: mpsc::UnboundedReceiver<Command>,
    memory: Arc<Semaphore>,
    config: Arc<ProducerConfig>,
    fatal: Arc<std::sync::OnceLock<ProducerError>>,
    counters: Arc<Counters>,
) {
    let (io_tx, mut io_rx) = mpsc::unbounded_channel::<Io>();
    let mut window = RateWindow::new(Instant::now());
    let mut metric_requests: Vec<oneshot::Sender<ProducerMetrics>> = Vec::new();
    let snapshot = |core: &ProducerCore, window: &RateWindow, now: Instant| {
        let (totals, in_flight) = core.totals();
        let gauges = DriverGauges {
            buffer_available: memory.available_permits(),
            buffer_total: config.buffer_memory,
            buffer_wait_ns: counters
                .buffer_wait_ns
                .load(std::sync::atomic::Ordering::Relaxed),
            bytes_written: counters
                .bytes_written
                .load(std::sync::atomic::Ordering::Relaxed),
            in_flight,
        };
        window.snapshot(now, totals, &gauges, core.topic_totals())
    };
    let mut nodes: HashMap<i32, mpsc::UnboundedSender<Transmit>> = HashMap::new();
    let mut flushes: Vec<(FlushId, oneshot::Sender<()>)> = Vec::new();
    let mut closing: Option<(Instant, Vec<oneshot::Sender<()>>)> = None;
    let mut handles_gone = false;
    loop {
        let now = Instant::now();
        let bytes_written = counters
            .bytes_written
            .load(std::sync::atomic::Ordering::Relaxed);
        if window.maybe_sample(now, core.totals().0, bytes_written, core.topic_totals()) {
            #[cfg(feature = "metrics")]
            crate::metrics::publish(&config.client_id, &snapshot(&core, &window, now));
        }
        for tx in metric_requests.drain(..) {
            let _ = tx.send(snapshot(&core, &window, now));
        }
        core.set_memory_pressure(memory.available_permits() < config.batch_size);
        while let Some(t) = core.poll_transmit(now) {
            let node = t.node.id;
            let queue = nodes
                .entry(node)
                .or_insert_with(|| spawn_node(io_tx.clone(), &config, &counters));
            if let Err(mpsc::error::SendError(t)) = queue.send(t) {
                // The node task ended (cannot happen while we hold io_tx); start a new one.
                let queue = spawn_node(io_tx.clone(), &config, &counters);
                let _ = queue.send(t);
                nodes.insert(node, queue);
            }
        }
        let released = core.take_released_permits();
        if released > 0 {
            memory.add_permits(released);
        }
        if let Some((deadline, _)) = &closing {
            if core.outstanding() == 0 || now >= *deadline {
                if core.outstanding() > 0 {
                    core.abort_all(ProducerError::Closed);
                    let released = core.take_released_permits();
                    memory.add_permits(released);
                }
                if let Some((_, waiters)) = closing.take() {
                    for w in waiters {
                        let _ = w.send(());
                    }
                }
                memory.close();
                return;
            }
        }
        let wake = core
            .poll_timeout()
            .map(|t| closing.as_ref().map_or(t, |(d, _)| t.min(*d)))
            .or(closing.as_ref().map(|(d, _)| *d));
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            Some(io) = io_rx.recv() => {
                handle_io(&mut core, io);
                while let Ok(io) = io_rx.try_recv() {
                    handle_io(&mut core, io);
                }
                if let Some(e) = core.fatal_error() {
                    fatal.get_or_init(|| e.clone());
                }
            }
            cmd = commands.recv(), if !handles_gone => {
                match cmd {
                    Some(cmd) => {
                        // One clock read for the burst: records arrive many at a time.
                        let now = Instant::now();
                        handle_command(&mut core, cmd, now, &mut flushes, &mut closing, &mut metric_requests);
                        // Take what else is queued in one go.
                        for _ in 0..4096 {
                            match commands.try_recv() {
                                Ok(cmd) => handle_command(&mut core, cmd, now, &mut flushes, &mut closing, &mut metric_requests),
                                Err(_) => break,
                            }
                        }
                    }
                    None => {
                        // Every handle was dropped: deliver what is buffered, then stop.
                        handles_gone = true;
                        if closing.is_none() {
                            core.begin_close();
                            closing = Some((crate::core::later(Instant::now(), config.delivery_timeout), Vec::new()));
                        }
                    }
                }
            }
            _ = sleep => core.handle_timeout(Instant::now()),
        }
        // Answer flushes that completed.
        let mut i = 0;
        while i < flushes.len() {
            if core.flushed(flushes[i].0) {
                let (_, tx) = flushes.swap_remove(i);
                let _ = tx.send(());
            } else {
                i += 1;
            }
        }
    }
}

fn handle_command(
    core: &mut ProducerCore,
    cmd: Command,
    now: Instant,
    flushes: &mut Vec<(FlushId, oneshot::Sender<()>)>,
    closing: &mut Option<(Instant, Vec<oneshot::Sender<()>>)>,
    metric_requests: &mut Vec<oneshot::Sender<ProducerMetrics>>,
) {
    match cmd {
        Command::Append(rec) => core.enqueue(rec, now),
        Command::Flush(tx) => {
            let id = core.begin_flush();
            flushes.push((id, tx));
        }
        Command::Close(timeout, tx) => {
            core.begin_close();
            // Duration::MAX ("wait for everything") must not overflow.
            let deadline = crate::core::later(now, timeout);
            match closing {
                Some((d, waiters)) => {
                    *d = (*d).min(deadline);
                    waiters.push(tx);
                }
                None => *closing = Some((deadline, vec![tx])),
            }
        }
        Command::AdoptProducerId(p) => core.adopt_producer_id(p),
        Command::AbortUnsent(e) => core.abort_unsent(e),
        Command::Wake => {}
        Command::Metrics(tx) => metric_requests.push(tx),
    }
}

fn handle_io(core: &mut ProducerCore, io: Io) {
    match io {
        Io::Response(id, result) => core.handle_response(id, result, Instant::now()),
        Io::NodeUp(node) => core.handle_connected(node),
    }
}
