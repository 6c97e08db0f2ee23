//! The tokio driver: a thin layer around [`ProducerCore`] that moves
//! records in, requests out (one ordered queue per broker), responses back,
//! and time.
//!
//! A record goes straight into the core: `send` takes the core's lock for
//! the append (a few hundred nanoseconds) and wakes the I/O task only when
//! the append changed what the task waits for (a batch opened or filled,
//! a topic's metadata is needed). The I/O task takes the same lock to
//! drain batches into requests, hand responses and timeouts to the core,
//! and take the completions, which it runs (wakes futures, calls
//! callbacks) after letting go of the lock, so no user code runs under it.
//!
//! Backpressure is an async semaphore of `buffer.memory` bytes: `send` waits
//! (FIFO, as tokio's semaphore is fair) up to `max.block.ms` for the bytes of
//! its record, and the core gives them back when the record completes.
//!
//! The application's code never runs under the core's lock, and a panic in
//! it affects its own record only: a custom partitioner is asked in `send`
//! before the append (or, for a record that waited for its topic's
//! metadata, by the I/O task between two looks at the core), delivery
//! callbacks run after the lock is let go, each under `catch_unwind`. If the
//! I/O task ends anyway (a panic of ours, its runtime shut down), a guard
//! fails every pending record, closes the buffer memory and marks the
//! producer stopped, so no call waits for a task that is gone.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use crate::config::{ProducerConfig, ProducerConfigBuilder};
use crate::core::{
    AwaitingPartitioner, Completion, DeliveryCallback, DrainGate, FlushId, NeedsMemory,
    PendingRecord, ProducerCore, ProducerIdAndEpoch, Transmit,
};
use crate::delivery::{in_callback, DeliveryFuture};
use crate::error::{panic_message, ProducerError};
use crate::metrics::{DriverGauges, ProducerMetrics, RateWindow};
use crate::partitioner::Partitioner;
use crate::record::{ProducerRecord, RecordMetadata};

mod node;
mod partitions;
mod send;
mod transactional;

use node::{Answer, Nodes};

pub use transactional::TransactionHandle;

/// What the I/O task is asked to do besides records, which go straight to
/// the core.
enum Command {
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
    /// Tests: the I/O task panics, as a bug of ours would make it.
    Panic,
}

/// What a connect task tells the I/O task.
pub(super) enum Io {
    /// A connect to broker `.0` at `.1` finished.
    Connected(
        i32,
        String,
        Result<kafka_codec::Connection, kafka_codec::CodecError>,
    ),
}

/// When the I/O task looks at the core again by itself.
#[derive(Debug, Clone, Copy)]
enum IoSleep {
    /// It was woken, or is running: it polls the core before it sleeps.
    Awake,
    /// Asleep until then.
    Until(Instant),
    /// Asleep until woken.
    Idle,
}

/// The core and what the senders need to know of the I/O task, behind one
/// lock.
struct Door {
    core: ProducerCore,
    io: IoSleep,
}

impl Door {
    /// Whether the I/O task must be woken to look at the core by `at`; if
    /// so, it counts as awake from now on (one wake-up is enough).
    fn wake_for(&mut self, at: Instant) -> bool {
        let wake = match self.io {
            IoSleep::Awake => false,
            IoSleep::Until(t) => at < t,
            IoSleep::Idle => true,
        };
        if wake {
            self.io = IoSleep::Awake;
        }
        wake
    }
}

/// What the I/O task and every handle share.
struct Inner {
    door: Mutex<Door>,
    /// Wakes the I/O task.
    wake: Notify,
    /// Told when Metadata answers came: sends waiting for a topic's
    /// metadata look again.
    metadata: Notify,
    /// Told when the broker gave a client instance id (telemetry).
    instance_id: Notify,
}

impl Inner {
    fn door(&self) -> MutexGuard<'_, Door> {
        // The core is only changed through `&mut` calls that finish or
        // panic as a whole; a panic there is a bug the next caller should
        // not be stopped by (every record still completes or fails).
        self.door.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Shared {
    inner: Arc<Inner>,
    commands: mpsc::UnboundedSender<Command>,
    memory: Arc<Semaphore>,
    config: Arc<ProducerConfig>,
    /// Set once the core stopped for good: later sends fail at once with it.
    fatal: Arc<std::sync::OnceLock<ProducerError>>,
    /// Counters the I/O task reads for the metrics.
    counters: Arc<Counters>,
    /// The application's partitioner, asked outside the core's lock.
    partitioner: Option<Arc<dyn Partitioner>>,
    /// Set by the first `close`, which closes the interceptors.
    interceptors_closed: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// Why the producer stopped, once its I/O task is gone.
    fn stopped(&self) -> ProducerError {
        self.fatal.get().cloned().unwrap_or_else(|| {
            ProducerError::IoTaskStopped(Arc::from("the producer's I/O task ended"))
        })
    }
}

/// What `send` and the connections count for the metrics.
#[derive(Default)]
pub(super) struct Counters {
    /// bufferpool-wait-time-ns-total: time sends waited for buffer memory.
    pub buffer_wait_ns: std::sync::atomic::AtomicU64,
    /// outgoing-byte-total: bytes every connection wrote.
    pub bytes_written: Arc<std::sync::atomic::AtomicU64>,
    /// Sends waiting for buffer memory now: while any waits, every batch
    /// is ready (Java's "someone is waiting for memory").
    pub memory_waiters: std::sync::atomic::AtomicUsize,
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
        let mut core = ProducerCore::new(config.clone(), seed)?;
        if let Some(gate) = gate {
            core.set_drain_gate(gate);
        }
        if config.enable_metrics_push {
            core.enable_telemetry();
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
        let inner = Arc::new(Inner {
            door: Mutex::new(Door {
                core,
                io: IoSleep::Awake,
            }),
            wake: Notify::new(),
            metadata: Notify::new(),
            instance_id: Notify::new(),
        });
        let mut guard = IoTaskGuard {
            inner: inner.clone(),
            memory: memory.clone(),
            fatal: fatal.clone(),
            ended: false,
        };
        let task = run(
            inner.clone(),
            rx,
            memory.clone(),
            config.clone(),
            fatal.clone(),
            counters.clone(),
            partitioner.clone(),
        );
        handle.spawn(async move {
            match AssertUnwindSafe(task).catch_unwind().await {
                Ok(()) => guard.disarm(),
                Err(payload) => guard.stop(&format!("it panicked: {}", panic_message(&*payload))),
            }
        });
        Ok(Producer {
            shared: Arc::new(Shared {
                inner,
                commands,
                memory,
                config,
                fatal,
                counters,
                partitioner,
                interceptors_closed: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ProducerConfig {
        &self.shared.config
    }

    /// Buffer memory in use (at most `buffer.memory`): the buffers of
    /// batches not complete yet and records waiting for their topic's
    /// metadata. Free batch buffers kept for reuse count as available, as
    /// in Java's `buffer-available-bytes`.
    pub fn buffered_bytes(&self) -> usize {
        let pooled = self.shared.inner.door().core.pooled_permits();
        self.shared
            .config
            .buffer_memory
            .min(Semaphore::MAX_PERMITS)
            .saturating_sub(self.shared.memory.available_permits() + pooled)
    }

    fn check_size(&self, record: &ProducerRecord) -> Result<usize, ProducerError> {
        if let Some(e) = self.shared.fatal.get() {
            return Err(e.clone());
        }
        // Closed (buffer memory closes when a close ends): refused at once.
        if self.shared.memory.is_closed() {
            return Err(ProducerError::Closed);
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

    /// Sends every buffered record now and waits until all records sent
    /// before this call are complete (delivered or failed) and, as in
    /// Java, their callbacks and interceptors' acknowledgements have run.
    ///
    /// # Errors
    /// [`ProducerError::CalledFromCallback`] inside a delivery callback (as
    /// Java refuses `flush()` in a callback: the callback runs on the task
    /// that completes the records, so it would wait for itself; spawn a
    /// task for it instead); the producer's stop error once it stopped;
    /// [`ProducerError::Closed`] after `close`.
    pub async fn flush(&self) -> Result<(), ProducerError> {
        let rx = self.ask_io_task("flush", Command::Flush)?;
        rx.await.map_err(|_| self.shared.stopped())
    }

    /// A snapshot of the producer's metrics under the Java client's names
    /// (see [`crate::metrics`]).
    ///
    /// # Errors
    /// As [`flush`](Self::flush): inside a delivery callback, once stopped,
    /// after `close`.
    pub async fn metrics(&self) -> Result<ProducerMetrics, ProducerError> {
        let rx = self.ask_io_task("metrics", Command::Metrics)?;
        rx.await.map_err(|_| self.shared.stopped())
    }

    /// The id the cluster gave this client for its telemetry (KIP-714),
    /// waiting up to `timeout` for the broker's answer: `None` when none
    /// came by then (no broker offers telemetry, or it is not answered
    /// yet). See [`crate::telemetry`].
    ///
    /// ```no_run
    /// # async fn demo(producer: kafka_producer::Producer) -> Result<(), kafka_producer::ProducerError> {
    /// if let Some(id) = producer.client_instance_id(std::time::Duration::from_secs(5)).await? {
    ///     println!("telemetry files this producer's metrics under {id}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ProducerError::Config`] with `enable.metrics.push=false` (as Java
    /// refuses it when telemetry is off).
    pub async fn client_instance_id(
        &self,
        timeout: Duration,
    ) -> Result<Option<kafka_protocol::primitives::Uuid>, ProducerError> {
        if !self.shared.config.enable_metrics_push {
            return Err(ProducerError::Config(crate::config::ConfigError::new(
                [crate::config::keys::ENABLE_METRICS_PUSH],
                "client telemetry is off (enable.metrics.push=false): there is no client instance id",
            )));
        }
        let inner = &self.shared.inner;
        let wait = async {
            loop {
                let told = inner.instance_id.notified();
                tokio::pin!(told);
                told.as_mut().enable();
                if let Some(id) = inner.door().core.client_instance_id() {
                    return id;
                }
                told.await;
            }
        };
        Ok(tokio::time::timeout(timeout, wait).await.ok())
    }

    /// Hands the I/O task a request whose answer the caller waits for.
    fn ask_io_task<T>(
        &self,
        call: &'static str,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<oneshot::Receiver<T>, ProducerError> {
        if in_callback() {
            return Err(ProducerError::CalledFromCallback(call));
        }
        if let Some(e @ ProducerError::IoTaskStopped(_)) = self.shared.fatal.get() {
            return Err(e.clone());
        }
        let (tx, rx) = oneshot::channel();
        self.shared
            .commands
            .send(command(tx))
            .map_err(|_| ProducerError::Closed)?;
        Ok(rx)
    }

    /// Stops accepting records, delivers what is buffered within `timeout`,
    /// and fails whatever is left: no record is left hanging. Inside a
    /// delivery callback it starts the close without waiting for it (the
    /// callback runs on the task that closes); once the producer stopped
    /// it returns at once.
    pub async fn close(&self, timeout: Duration) {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .shared
            .commands
            .send(Command::Close(timeout, tx))
            .is_ok();
        if sent && !in_callback() {
            let _ = rx.await;
        }
        // After the last outcomes (unless called from a callback, which
        // cannot wait for them).
        if !self.shared.interceptors_closed.swap(true, Relaxed) {
            self.shared.config.interceptors.close();
        }
    }

    /// Makes the I/O task panic, as a bug of ours would: for tests of what
    /// the producer does then.
    #[doc(hidden)]
    pub fn panic_io_task_for_tests(&self) {
        let _ = self.shared.commands.send(Command::Panic);
    }
}

/// Ends the producer for good when its I/O task ends other than by a
/// close: a panic inside it, or its runtime dropping it. Every pending
/// record fails, buffer memory is closed (senders waiting for it wake with
/// the error), and every later call fails at once.
struct IoTaskGuard {
    inner: Arc<Inner>,
    memory: Arc<Semaphore>,
    fatal: Arc<std::sync::OnceLock<ProducerError>>,
    /// The task ended by a close, or the guard already did its work.
    ended: bool,
}

impl IoTaskGuard {
    /// The task ended by a close: nothing to do.
    fn disarm(mut self) {
        self.ended = true;
    }

    fn stop(&mut self, why: &str) {
        self.ended = true;
        let e = ProducerError::IoTaskStopped(Arc::from(why));
        tracing::error!(error = %e, "the producer cannot go on");
        // Set before memory closes, so that a waiting send reads it.
        let e = self.fatal.get_or_init(|| e).clone();
        self.memory.close();
        let completions = {
            let mut door = self.inner.door();
            door.core.stop(e);
            door.io = IoSleep::Awake;
            door.core.take_completions()
        };
        completions.into_iter().for_each(Completion::run);
    }
}

impl Drop for IoTaskGuard {
    fn drop(&mut self) {
        if !self.ended {
            self.stop("its tokio runtime shut down");
        }
    }
}

fn now_ms() -> i64 {
    // Seconds and millis apart: `as_millis` goes through u128 arithmetic,
    // a measurable part of a send.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        d.as_secs() as i64 * 1000 + i64::from(d.subsec_millis())
    })
}

/// The I/O task.
async fn run(
    inner: Arc<Inner>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    memory: Arc<Semaphore>,
    config: Arc<ProducerConfig>,
    fatal: Arc<std::sync::OnceLock<ProducerError>>,
    counters: Arc<Counters>,
    partitioner: Option<Arc<dyn Partitioner>>,
) {
    let (io_tx, mut io_rx) = mpsc::unbounded_channel::<Io>();
    let mut window = RateWindow::new(Instant::now());
    // Telemetry's times are wall-clock: the producer's start, for sums.
    let wall_ns = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    };
    let started_ns = wall_ns();
    let mut metric_requests: Vec<oneshot::Sender<ProducerMetrics>> = Vec::new();
    let snapshot = |core: &ProducerCore, window: &RateWindow, now: Instant| {
        let (totals, in_flight) = core.totals();
        let gauges = DriverGauges {
            // As Java's: free pooled buffers count as available.
            buffer_available: memory.available_permits() + core.pooled_permits(),
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
    let mut nodes = Nodes::new(io_tx, &config, &counters);
    let mut flushes: Vec<(FlushId, oneshot::Sender<()>)> = Vec::new();
    let mut closing: Option<(Instant, Vec<oneshot::Sender<()>>)> = None;
    let mut handles_gone = false;
    // Answers and connects, handed to the core under the lock.
    let mut answers: Vec<Answer> = Vec::new();
    let mut woken_by: Option<Io> = None;
    let mut up: Vec<i32> = Vec::new();
    let mut pending_command: Option<Command> = None;
    let mut timer_fired = false;
    let mut transmits: Vec<Transmit> = Vec::new();
    let mut answered_flushes: Vec<oneshot::Sender<()>> = Vec::new();
    // Records the partitioner chose for, handed back at the next look.
    type Choice = Result<Option<i32>, ProducerError>;
    let mut partitioned: Vec<(AwaitingPartitioner, Choice)> = Vec::new();
    // When the core asked to be looked at again: its timeouts run once
    // that passed, whichever branch woke the task.
    let mut next_wake: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let bytes_written = counters
            .bytes_written
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut done = None;
        // Connects that finished send their waiting requests at once.
        for Io::Connected(node, addr, result) in woken_by
            .take()
            .into_iter()
            .chain(std::iter::from_fn(|| io_rx.try_recv().ok()))
        {
            if nodes.connected(node, &addr, result) {
                up.push(node);
            }
        }
        // Every answer already in.
        while let Some(answer) = std::future::poll_fn(|cx| nodes.poll_answer(cx)).now_or_never() {
            answers.push(answer);
        }
        let idle_check = nodes.close_idle(now);
        let (released, completions, wake, awaiting) = {
            let mut door = inner.door();
            door.io = IoSleep::Awake;
            let core = &mut door.core;
            for node in up.drain(..) {
                core.handle_connected(node);
            }
            for (record, choice) in partitioned.drain(..) {
                core.partitioned(record, choice, now);
            }
            let metadata_before = core.metadata_updates();
            let instance_before = core.client_instance_id();
            for (id, result) in answers.drain(..) {
                core.handle_response(id, result, now);
            }
            if core.metadata_updates() != metadata_before {
                inner.metadata.notify_waiters();
            }
            if core.client_instance_id() != instance_before {
                inner.instance_id.notify_waiters();
            }
            if let Some(e) = core.fatal_error() {
                fatal.get_or_init(|| e.clone());
            }
            let cmds = pending_command.take().into_iter();
            for cmd in cmds.chain(std::iter::from_fn(|| commands.try_recv().ok())) {
                handle_command(
                    core,
                    cmd,
                    now,
                    &mut flushes,
                    &mut closing,
                    &mut metric_requests,
                );
            }
            // Under a steady stream of answers the sleep never wins the
            // select: expiries must not wait for it.
            if std::mem::take(&mut timer_fired) || next_wake.is_some_and(|w| now >= w) {
                core.handle_timeout(now);
            }
            if window.maybe_sample(now, core.totals().0, bytes_written, core.topic_totals()) {
                #[cfg(feature = "metrics")]
                crate::metrics::publish(&config.client_id, &snapshot(core, &window, now));
            }
            for tx in metric_requests.drain(..) {
                let _ = tx.send(snapshot(core, &window, now));
            }
            // A telemetry push is due: its metrics, as `metrics()` has them.
            if core.telemetry_wants_metrics(now) {
                let m = snapshot(core, &window, now);
                core.set_telemetry_metrics(&m, wall_ns(), started_ns);
            }
            core.set_memory_pressure(
                counters.memory_waiters.load(Relaxed) > 0
                    || memory.available_permits() < config.batch_size,
            );
            let forced = closing.as_ref().is_some_and(|(d, _)| now >= *d);
            if forced {
                // The close timeout passed: what is left fails with Closed
                // and nothing more is written (a request written now would
                // carry records already reported as not delivered).
                if core.outstanding() > 0 {
                    core.abort_all(ProducerError::Closed);
                }
            } else {
                core.poll_transmits(now, &mut transmits);
            }
            // Flushes that completed.
            let mut i = 0;
            while i < flushes.len() {
                if core.flushed(flushes[i].0) {
                    answered_flushes.push(flushes.swap_remove(i).1);
                } else {
                    i += 1;
                }
            }
            let settled = core.outstanding() == 0 && core.telemetry_settled(now);
            if closing.is_some() && (forced || settled) {
                done = closing.take().map(|(_, waiters)| waiters);
            }
            let wake = [
                core.poll_timeout(),
                closing.as_ref().map(|(d, _)| *d),
                idle_check,
            ]
            .into_iter()
            .flatten()
            .min();
            door.io = wake.map_or(IoSleep::Idle, IoSleep::Until);
            next_wake = wake;
            let core = &mut door.core;
            let awaiting = core.take_awaiting_partitioner();
            let released = core.take_released_permits();
            (released, core.take_completions(), wake, awaiting)
        };
        for t in transmits.drain(..) {
            nodes.send(t, now);
        }
        if released > 0 {
            memory.add_permits(released);
        }
        completions.into_iter().for_each(Completion::run);
        // After the callbacks, as Java's flush returns after them.
        for tx in answered_flushes.drain(..) {
            let _ = tx.send(());
        }
        if let Some(waiters) = done {
            memory.close();
            for w in waiters {
                let _ = w.send(());
            }
            return;
        }
        if !awaiting.is_empty() {
            // Asked between two looks at the core, never under its lock.
            for record in awaiting {
                let choice = match &partitioner {
                    Some(p) if record.needs_partitioner() => {
                        crate::partitioner::ask(&**p, record.record(), record.partitions())
                    }
                    _ => Ok(None),
                };
                partitioned.push((record, choice));
            }
            continue;
        }
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            answer = std::future::poll_fn(|cx| nodes.poll_answer(cx)) => answers.push(answer),
            Some(io) = io_rx.recv() => woken_by = Some(io),
            cmd = commands.recv(), if !handles_gone => match cmd {
                Some(cmd) => pending_command = Some(cmd),
                None => {
                    // Every handle was dropped: deliver what is buffered, then stop.
                    handles_gone = true;
                    if closing.is_none() {
                        inner.door().core.begin_close(Instant::now());
                        closing = Some((crate::core::later(Instant::now(), config.delivery_timeout), Vec::new()));
                    }
                }
            },
            _ = inner.wake.notified() => {}
            _ = sleep => timer_fired = true,
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
        Command::Flush(tx) => {
            let id = core.begin_flush();
            flushes.push((id, tx));
        }
        Command::Close(timeout, tx) => {
            core.begin_close(now);
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
        Command::Panic => panic!("the I/O task was asked to panic (a test)"),
    }
}
