//! Producer interceptors, as Java's `ProducerInterceptor`: code of the
//! application that sees every record before it is partitioned and
//! batched, and every record's outcome.
//!
//! The rules are the producer's for all application code: an interceptor
//! is never called under a lock of the producer, and a panic in it is
//! caught and logged. As in Java, a panicking `on_send` leaves the record
//! as the interceptors before it made it, and a panicking
//! `on_acknowledgement` does not keep the next interceptors (or the
//! record's callback) from their turn.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::error::{panic_message, ProducerError, UserHook};
use crate::record::{ProducerRecord, RecordMetadata};

/// Sees every record on its way in and every outcome (Java's
/// `ProducerInterceptor`). Set a chain of them with
/// [`ProducerConfigBuilder::interceptor`](crate::config::ProducerConfigBuilder::interceptor);
/// they run in the order given.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use kafka_producer::{ProducerError, ProducerInterceptor, ProducerRecord, RecordMetadata};
///
/// /// Stamps every record with the service that sent it, and counts failures.
/// #[derive(Debug, Default)]
/// struct Stamp {
///     failed: AtomicU64,
/// }
///
/// impl ProducerInterceptor for Stamp {
///     fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
///         record.header("sent-by", Some("billing"))
///     }
///     fn on_acknowledgement(&self, _topic: &str, outcome: Result<&RecordMetadata, &ProducerError>) {
///         if outcome.is_err() {
///             self.failed.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let config = kafka_producer::ProducerConfig::builder()
///     .bootstrap_servers("127.0.0.1:9092")
///     .interceptor(std::sync::Arc::new(Stamp::default()))
///     .build()
///     .unwrap();
/// assert_eq!(config.interceptors.len(), 1);
/// ```
pub trait ProducerInterceptor: Send + Sync + fmt::Debug {
    /// Called by `send` (and `try_send`, `send_with_callback`) first, in
    /// the application's task, before the record is partitioned and
    /// written into a batch; the record returned goes on.
    fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
        record
    }

    /// As [`on_send`](Self::on_send) (which it calls by default), and an
    /// acknowledgement for this record alone: state that follows one
    /// record from `send` to its outcome, such as the span of its send
    /// (feature `otel`: `otel::TracePropagation`). Called instead of `on_send`; the
    /// acknowledgement runs once with the record's outcome, before the
    /// chain's [`on_acknowledgement`](Self::on_acknowledgement).
    fn on_send_tracked(&self, record: ProducerRecord) -> (ProducerRecord, Option<RecordAck>) {
        (self.on_send(record), None)
    }

    /// Called once per record with its outcome: where it was written, or
    /// why it was not (also for a record `send` refused at once). Runs on
    /// the producer's I/O task for records that reached a batch: keep it
    /// short.
    fn on_acknowledgement(&self, topic: &str, outcome: Result<&RecordMetadata, &ProducerError>) {
        let _ = (topic, outcome);
    }

    /// Called once, when the producer is closed.
    fn close(&self) {}
}

/// One record's own acknowledgement, from
/// [`ProducerInterceptor::on_send_tracked`].
///
/// ```
/// use std::time::Instant;
/// use kafka_producer::{ProducerInterceptor, ProducerRecord, RecordAck};
///
/// /// Logs how long each record took from `send` to its outcome.
/// #[derive(Debug)]
/// struct Latency;
/// impl ProducerInterceptor for Latency {
///     fn on_send_tracked(&self, record: ProducerRecord) -> (ProducerRecord, Option<RecordAck>) {
///         let sent = Instant::now();
///         let ack: RecordAck = Box::new(move |outcome| {
///             println!("{:?} after {:?}", outcome.map(|md| md.offset), sent.elapsed());
///         });
///         (record, Some(ack))
///     }
/// }
/// ```
pub type RecordAck = Box<dyn FnOnce(Result<&RecordMetadata, &ProducerError>) + Send>;

/// The chain of interceptors of a producer, in order (empty by default:
/// the send path then pays one branch).
///
/// ```
/// use std::sync::Arc;
/// use kafka_producer::{Interceptors, ProducerInterceptor};
///
/// #[derive(Debug)]
/// struct Noop;
/// impl ProducerInterceptor for Noop {}
///
/// let chain = Interceptors::default().with(Arc::new(Noop)).with(Arc::new(Noop));
/// assert_eq!(chain.len(), 2);
/// assert!(Interceptors::default().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct Interceptors(Option<Arc<[Arc<dyn ProducerInterceptor>]>>);

impl Interceptors {
    /// A chain of `interceptors`, called in this order.
    pub fn new(interceptors: impl IntoIterator<Item = Arc<dyn ProducerInterceptor>>) -> Self {
        let list: Arc<[Arc<dyn ProducerInterceptor>]> = interceptors.into_iter().collect();
        Interceptors((!list.is_empty()).then_some(list))
    }

    /// The chain with `interceptor` added at its end.
    pub fn with(&self, interceptor: Arc<dyn ProducerInterceptor>) -> Self {
        Self::new(self.iter().cloned().chain(std::iter::once(interceptor)))
    }

    /// How many interceptors the chain holds.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |l| l.len())
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The interceptors, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn ProducerInterceptor>> {
        self.0.iter().flat_map(|l| l.iter())
    }

    /// Runs every `on_send` in order. A panic is logged and the record goes
    /// on as the interceptors before made it (Java's rule). Returns the
    /// record's own acknowledgements, if any interceptor gave one.
    pub(crate) fn on_send(&self, mut record: ProducerRecord) -> (ProducerRecord, Vec<RecordAck>) {
        let mut acks = Vec::new();
        for i in self.iter() {
            let before = record.clone();
            match catch_unwind(AssertUnwindSafe(|| i.on_send_tracked(record))) {
                Ok((changed, ack)) => {
                    record = changed;
                    acks.extend(ack);
                }
                Err(payload) => {
                    tracing::error!(
                        hook = %UserHook::Interceptor,
                        interceptor = ?i,
                        panic = %panic_message(&*payload),
                        "an interceptor's on_send panicked; the record goes on without its change"
                    );
                    record = before;
                }
            }
        }
        (record, acks)
    }

    /// Runs the record's own acknowledgements, then every
    /// `on_acknowledgement` in order, each under its own guard.
    pub(crate) fn on_acknowledgement(
        &self,
        topic: &str,
        acks: Vec<RecordAck>,
        outcome: Result<&RecordMetadata, &ProducerError>,
    ) {
        for ack in acks {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| ack(outcome))) {
                tracing::error!(
                    hook = %UserHook::Interceptor,
                    panic = %panic_message(&*payload),
                    "a record's acknowledgement from an interceptor panicked; the producer goes on"
                );
            }
        }
        for i in self.iter() {
            if let Err(payload) =
                catch_unwind(AssertUnwindSafe(|| i.on_acknowledgement(topic, outcome)))
            {
                tracing::error!(
                    hook = %UserHook::Interceptor,
                    interceptor = ?i,
                    panic = %panic_message(&*payload),
                    "an interceptor's on_acknowledgement panicked; the producer goes on"
                );
            }
        }
    }

    /// Runs every `close` in order, each under its own guard.
    pub(crate) fn close(&self) {
        for i in self.iter() {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| i.close())) {
                tracing::error!(
                    hook = %UserHook::Interceptor,
                    interceptor = ?i,
                    panic = %panic_message(&*payload),
                    "an interceptor's close panicked"
                );
            }
        }
    }
}

impl fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Two chains are equal when they hold the same interceptors (the same
/// objects), in the same order.
impl PartialEq for Interceptors {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

impl Eq for Interceptors {}
