//! How a record's outcome reaches its sender: one shared outcome per batch.
//!
//! Every record of a batch shares the batch's fate (Kafka acknowledges or
//! fails a batch as a whole), so the core resolves one [`BatchOutcome`] per
//! batch, once, and a record's [`DeliveryFuture`] reads it at the record's
//! index: the offset is the batch's base offset plus the index. A record
//! costs a reference count and an index, not a channel of its own.
//!
//! An outcome may forward its records to other outcomes: a batch split in
//! halves after MESSAGE_TOO_LARGE forwards each index range to its half,
//! and a record that waited for its topic's metadata (with an outcome of its
//! own) forwards to the batch it finally joined. Futures follow the chain.
//!
//! Wakers registered by futures and callbacks given to
//! `Producer::send_with_callback` are run by the driver after it let go of
//! the core ([`Completion`]), so no user code runs while the core is held.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::error::ProducerError;
use crate::record::RecordMetadata;

type Outcome = Result<RecordMetadata, ProducerError>;

/// Called once with a record's outcome (on the producer's I/O task, or in
/// `send` for a record refused at once). Callbacks of one partition run in
/// the order their records were sent. Keep them short: they hold up the
/// completion of the records behind them.
pub type DeliveryCallback = Box<dyn FnOnce(Outcome) + Send + 'static>;

thread_local! {
    /// Set while a delivery callback runs on this thread.
    static IN_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is running a delivery callback (a call that
/// waits for the I/O task would then wait for itself).
pub(crate) fn in_callback() -> bool {
    IN_CALLBACK.with(std::cell::Cell::get)
}

/// Runs one delivery callback. A panic in it is caught and logged: the
/// callback's record already has its outcome (the one handed to it), and
/// every other record goes on, as Java logs an exception thrown by a
/// callback and carries on.
pub(crate) fn run_callback(callback: DeliveryCallback, outcome: Outcome) {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_CALLBACK.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(IN_CALLBACK.with(|c| c.replace(true)));
    let delivered = outcome.as_ref().ok().map(|md| (md.partition, md.offset));
    if let Err(payload) =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || callback(outcome)))
    {
        tracing::error!(
            hook = %crate::error::UserHook::DeliveryCallback,
            panic = %crate::error::panic_message(&*payload),
            ?delivered,
            "a delivery callback panicked; its record's outcome was handed to it, the producer goes on"
        );
    }
}

/// What became of a batch's records.
pub(crate) enum Resolution {
    /// Written: record `i` is at `base_offset + i` (-1 when unknown, acks=0).
    Acked {
        base_offset: i64,
        /// The broker's log-append time, or -1 (create time applies).
        log_append_time: i64,
    },
    /// Every record failed with this error.
    Failed(ProducerError),
    /// The records moved to other outcomes (ordered by `from`).
    Forwarded(Vec<Forward>),
}

/// Records `from..` (up to the next part's `from`) of an outcome are now
/// records `at..` of `to`.
pub(crate) struct Forward {
    pub from: u32,
    pub to: Arc<BatchOutcome>,
    pub at: u32,
}

/// The outcome shared by the records of one batch (or by one record that
/// waits for its topic's metadata).
pub(crate) struct BatchOutcome {
    resolution: OnceLock<Resolution>,
    /// Futures waiting for the resolution; taken when it is set.
    waiters: Mutex<Vec<Waker>>,
    topic: Arc<str>,
    partition: i32,
}

impl BatchOutcome {
    fn waiters(&self) -> std::sync::MutexGuard<'_, Vec<Waker>> {
        // Wakers are only pushed and taken: a panic elsewhere cannot leave
        // the list inconsistent.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where record `index` (created at `timestamp`) of an acknowledged
    /// batch landed.
    fn metadata(
        &self,
        base_offset: i64,
        log_append_time: i64,
        index: u32,
        timestamp: i64,
    ) -> RecordMetadata {
        RecordMetadata {
            topic: self.topic.clone(),
            partition: self.partition,
            // A base offset near i64::MAX must not overflow: unknown.
            offset: if base_offset >= 0 {
                base_offset.checked_add(i64::from(index)).unwrap_or(-1)
            } else {
                -1
            },
            timestamp: if log_append_time >= 0 {
                log_append_time
            } else {
                timestamp
            },
        }
    }

    /// Record `index`'s outcome, if resolved (forwards not followed).
    fn record(&self, index: u32, timestamp: i64) -> Option<Result<Outcome, (Arc<Self>, u32)>> {
        Some(match self.resolution.get()? {
            Resolution::Acked {
                base_offset,
                log_append_time,
            } => Ok(Ok(self.metadata(
                *base_offset,
                *log_append_time,
                index,
                timestamp,
            ))),
            Resolution::Failed(e) => Ok(Err(e.clone())),
            Resolution::Forwarded(parts) => match parts.iter().rev().find(|p| p.from <= index) {
                Some(p) => Err((p.to.clone(), p.at + (index - p.from))),
                // The core forwards every index; should one be missing, the
                // record is reported lost rather than left waiting.
                None => Ok(Err(ProducerError::Closed)),
            },
        })
    }
}

/// The core's side of a [`BatchOutcome`]: resolved once. Dropped without
/// a resolution (the core itself dropped), its records fail with
/// [`ProducerError::Closed`], so no future waits forever.
pub(crate) struct OutcomeSlot {
    outcome: Option<Arc<BatchOutcome>>,
}

impl OutcomeSlot {
    /// An outcome for records of `topic` (`partition` -1 until known).
    pub fn new(topic: Arc<str>, partition: i32) -> Self {
        OutcomeSlot {
            outcome: Some(Arc::new(BatchOutcome {
                resolution: OnceLock::new(),
                waiters: Mutex::new(Vec::new()),
                topic,
                partition,
            })),
        }
    }

    fn shared(&self) -> &Arc<BatchOutcome> {
        self.outcome
            .as_ref()
            .expect("an outcome slot holds its outcome until resolved")
    }

    /// The future of record `index`, created at `timestamp` (ms).
    pub fn future(&self, index: u32, timestamp: i64) -> DeliveryFuture {
        DeliveryFuture {
            outcome: self.shared().clone(),
            index,
            timestamp,
            waker_slot: None,
        }
    }

    /// Where records forwarded to this outcome go.
    pub fn forward_to(&self, at: u32) -> Forward {
        Forward {
            from: 0,
            to: self.shared().clone(),
            at,
        }
    }

    /// Sets the outcome; returns it with the wakers of the futures waiting
    /// for it, which the caller wakes (after letting go of the core).
    pub fn resolve(mut self, resolution: Resolution) -> (Arc<BatchOutcome>, Vec<Waker>) {
        let outcome = self
            .outcome
            .take()
            .expect("an outcome slot holds its outcome until resolved");
        let first = outcome.resolution.set(resolution).is_ok();
        debug_assert!(first, "a batch outcome resolved twice");
        let wakers = std::mem::take(&mut *outcome.waiters());
        (outcome, wakers)
    }
}

thread_local! {
    /// Outcomes dropped on this thread before they were resolved.
    static ABANDONED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many outcomes were dropped on this thread before they were resolved
/// (their records failed with [`ProducerError::Closed`]). Only dropping a
/// core with records in it does that: a test that drives a core on its
/// thread and keeps it expects the count not to move.
pub fn abandoned_outcomes() -> u64 {
    ABANDONED.with(std::cell::Cell::get)
}

impl Drop for OutcomeSlot {
    fn drop(&mut self) {
        if let Some(outcome) = self.outcome.take() {
            ABANDONED.with(|n| n.set(n.get() + 1));
            let _ = outcome
                .resolution
                .set(Resolution::Failed(ProducerError::Closed));
            let wakers = std::mem::take(&mut *outcome.waiters());
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// A callback waiting for its record's outcome: the record's index in its
/// batch and its create time.
pub(crate) struct PendingCallback {
    pub index: u32,
    pub timestamp: i64,
    pub callback: DeliveryCallback,
}

impl std::fmt::Debug for PendingCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCallback")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// An outcome that was just resolved, with the futures to wake and the
/// callbacks to run: the core hands these out
/// (`ProducerCore::take_completions`) so that they run after the driver let
/// go of it.
pub struct Completion {
    outcome: Arc<BatchOutcome>,
    wakers: Vec<Waker>,
    callbacks: Vec<PendingCallback>,
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("wakers", &self.wakers.len())
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl Completion {
    /// `None` when there is nothing to wake and nothing to call.
    pub(crate) fn new(
        outcome: Arc<BatchOutcome>,
        wakers: Vec<Waker>,
        callbacks: Vec<PendingCallback>,
    ) -> Option<Self> {
        (!wakers.is_empty() || !callbacks.is_empty()).then_some(Completion {
            outcome,
            wakers,
            callbacks,
        })
    }

    /// Wakes the waiting futures and runs the callbacks, in record order.
    pub fn run(self) {
        self.wakers.into_iter().for_each(Waker::wake);
        // The outcome is read once for the batch, not per callback.
        // Callbacks move with their records (to split halves, from a wait
        // for metadata), so they never wait on a forward.
        for c in self.callbacks {
            let result = match self.outcome.resolution.get() {
                Some(Resolution::Acked {
                    base_offset,
                    log_append_time,
                }) => {
                    Ok(self
                        .outcome
                        .metadata(*base_offset, *log_append_time, c.index, c.timestamp))
                }
                Some(Resolution::Failed(e)) => Err(e.clone()),
                Some(Resolution::Forwarded(_)) | None => Err(ProducerError::Closed),
            };
            run_callback(c.callback, result);
        }
    }
}

/// Why [`DeliveryFuture::try_recv`] has no outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Not complete yet.
    Empty,
}

/// Resolves to where the record landed, or why it was not delivered.
#[must_use = "a delivery future tells whether the record was delivered"]
pub struct DeliveryFuture {
    outcome: Arc<BatchOutcome>,
    index: u32,
    /// The record's create time (ms), its metadata's timestamp unless the
    /// topic uses log-append time.
    timestamp: i64,
    /// Where this future's waker sits in the outcome's list, once registered.
    waker_slot: Option<usize>,
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("complete", &self.outcome.resolution.get().is_some())
            .finish()
    }
}

impl DeliveryFuture {
    /// The outcome, if the record is complete, without waiting.
    pub fn try_recv(&mut self) -> Result<Outcome, TryRecvError> {
        loop {
            match self.outcome.record(self.index, self.timestamp) {
                None => return Err(TryRecvError::Empty),
                Some(Ok(outcome)) => return Ok(outcome),
                Some(Err((next, index))) => {
                    self.outcome = next;
                    self.index = index;
                    self.waker_slot = None;
                }
            }
        }
    }
}

impl Future for DeliveryFuture {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        loop {
            if let Ok(r) = self.try_recv() {
                return Poll::Ready(r);
            }
            let this = &mut *self;
            let mut waiters = this.outcome.waiters();
            // Checked again under the lock the resolver takes after setting
            // the outcome, so a resolution in between is not missed.
            if this.outcome.resolution.get().is_some() {
                continue;
            }
            match this.waker_slot {
                Some(i) if i < waiters.len() => {
                    if !waiters[i].will_wake(cx.waker()) {
                        waiters[i] = cx.waker().clone();
                    }
                }
                _ => {
                    this.waker_slot = Some(waiters.len());
                    waiters.push(cx.waker().clone());
                }
            }
            return Poll::Pending;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked(base: i64) -> Resolution {
        Resolution::Acked {
            base_offset: base,
            log_append_time: -1,
        }
    }

    #[tokio::test]
    async fn outcome_reaches_the_futures_of_a_batch() {
        let slot = OutcomeSlot::new(Arc::from("t"), 3);
        let first = tokio::spawn(slot.future(0, 10));
        let second = tokio::spawn(slot.future(1, 11));
        tokio::task::yield_now().await;
        let (_, wakers) = slot.resolve(acked(40));
        wakers.into_iter().for_each(Waker::wake);
        let a = first.await.unwrap().unwrap();
        let b = second.await.unwrap().unwrap();
        assert_eq!((a.partition, a.offset, a.timestamp), (3, 40, 10));
        assert_eq!((b.offset, b.timestamp), (41, 11));
    }

    #[test]
    fn a_dropped_slot_fails_its_records() {
        let slot = OutcomeSlot::new(Arc::from("t"), 0);
        let mut f = slot.future(0, 1);
        assert_eq!(f.try_recv().unwrap_err(), TryRecvError::Empty);
        drop(slot);
        assert!(matches!(f.try_recv(), Ok(Err(ProducerError::Closed))));
    }

    #[test]
    fn forwards_are_followed_by_index() {
        // A batch of 5 split into halves of 2 and 3 records.
        let original = OutcomeSlot::new(Arc::from("t"), 0);
        let mut futures: Vec<_> = (0..5).map(|i| original.future(i, 0)).collect();
        let (first, second) = (
            OutcomeSlot::new(Arc::from("t"), 0),
            OutcomeSlot::new(Arc::from("t"), 0),
        );
        let parts = vec![
            first.forward_to(0),
            Forward {
                from: 2,
                ..second.forward_to(0)
            },
        ];
        let _ = original.resolve(Resolution::Forwarded(parts));
        assert!(futures.iter_mut().all(|f| f.try_recv().is_err()));
        let _ = first.resolve(acked(100));
        let _ = second.resolve(acked(200));
        let offsets: Vec<i64> = futures
            .iter_mut()
            .map(|f| f.try_recv().unwrap().unwrap().offset)
            .collect();
        assert_eq!(offsets, [100, 101, 200, 201, 202]);
    }

    #[test]
    fn callbacks_run_in_record_order_with_their_outcome() {
        let slot = OutcomeSlot::new(Arc::from("t"), 2);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let callbacks = (0..3)
            .map(|i| {
                let seen = seen.clone();
                PendingCallback {
                    index: i,
                    timestamp: 5,
                    callback: Box::new(move |r: Outcome| {
                        seen.lock().unwrap().push(r.unwrap().offset)
                    }),
                }
            })
            .collect();
        let (outcome, wakers) = slot.resolve(acked(7));
        Completion::new(outcome, wakers, callbacks).unwrap().run();
        assert_eq!(*seen.lock().unwrap(), [7, 8, 9]);
    }
}
