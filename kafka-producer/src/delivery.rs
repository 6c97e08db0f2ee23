//! The delivery channel of one record: the core completes a [`DeliverySender`],
//! the user awaits the matching [`DeliveryFuture`].
//!
//! Slots are recycled through a lock-free pool, so in steady state a record
//! costs no allocation and no lock for its delivery: the result is published
//! once (`OnceLock`) and the waiting task woken through an `AtomicWaker`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use crossbeam_queue::ArrayQueue;
use futures_util::task::AtomicWaker;

use crate::error::ProducerError;
use crate::record::RecordMetadata;

type Outcome = Result<RecordMetadata, ProducerError>;

#[derive(Default)]
struct Slot {
    result: OnceLock<Outcome>,
    /// The sender was dropped without an answer.
    closed: AtomicBool,
    waker: AtomicWaker,
}

/// Slots waiting for reuse. Its size bounds the memory kept for reuse, not
/// the number of records in flight (more slots are allocated when it is empty).
pub struct DeliveryPool {
    free: ArrayQueue<Arc<Slot>>,
}

impl std::fmt::Debug for DeliveryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryPool")
            .field("free", &self.free.len())
            .finish()
    }
}

impl DeliveryPool {
    /// A pool keeping up to `capacity` free slots.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(DeliveryPool {
            free: ArrayQueue::new(capacity.max(1)),
        })
    }

    /// A delivery channel on a recycled slot (a new one when none is free).
    pub fn channel(self: &Arc<Self>) -> (DeliverySender, DeliveryFuture) {
        channel_from(Some(self))
    }
}

/// A new delivery channel, from `pool` when it has a free slot.
pub(crate) fn channel_from(pool: Option<&Arc<DeliveryPool>>) -> (DeliverySender, DeliveryFuture) {
    let slot = pool.and_then(|p| p.free.pop()).unwrap_or_default();
    (
        DeliverySender {
            slot: Some(slot.clone()),
        },
        DeliveryFuture {
            slot: Some(slot),
            pool: pool.cloned(),
        },
    )
}

/// A delivery channel without a pool (tests and simulations of the core).
pub fn channel() -> (DeliverySender, DeliveryFuture) {
    channel_from(None)
}

/// Completes one record's [`DeliveryFuture`]. Dropping it without
/// [`DeliverySender::send`] resolves the future with [`ProducerError::Closed`].
pub struct DeliverySender {
    slot: Option<Arc<Slot>>,
}

impl std::fmt::Debug for DeliverySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeliverySender")
    }
}

impl DeliverySender {
    /// Publishes the record's outcome and wakes its future.
    pub fn send(mut self, outcome: Outcome) {
        if let Some(slot) = self.slot.take() {
            let _ = slot.result.set(outcome);
            slot.waker.wake();
        }
    }
}

impl Drop for DeliverySender {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.closed.store(true, Ordering::Release);
            slot.waker.wake();
        }
    }
}

/// Why [`DeliveryFuture::try_recv`] has no outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Not complete yet.
    Empty,
    /// The sender was dropped without an answer.
    Closed,
}

/// Resolves to where the record landed, or why it was not delivered.
#[must_use = "a delivery future tells whether the record was delivered"]
pub struct DeliveryFuture {
    slot: Option<Arc<Slot>>,
    pool: Option<Arc<DeliveryPool>>,
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field(
                "complete",
                &self.slot.as_ref().is_some_and(|s| s.result.get().is_some()),
            )
            .finish()
    }
}

impl DeliveryFuture {
    /// The outcome, if the record is complete, without waiting.
    pub fn try_recv(&mut self) -> Result<Outcome, TryRecvError> {
        let Some(slot) = self.slot.as_mut() else {
            return Err(TryRecvError::Closed);
        };
        // The sender has let go of the slot once it answered: take the outcome
        // without a clone when the slot is ours alone.
        if let Some(owned) = Arc::get_mut(slot) {
            if let Some(r) = owned.result.take() {
                return Ok(r);
            }
        } else if let Some(r) = slot.result.get() {
            return Ok(r.clone());
        }
        if slot.closed.load(Ordering::Acquire) {
            // The answer may have raced the flag: look once more.
            return slot.result.get().cloned().ok_or(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }
}

impl Future for DeliveryFuture {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        match self.try_recv() {
            Ok(r) => return Poll::Ready(r),
            Err(TryRecvError::Closed) => return Poll::Ready(Err(ProducerError::Closed)),
            Err(TryRecvError::Empty) => {}
        }
        if let Some(slot) = &self.slot {
            slot.waker.register(cx.waker());
        }
        // Checked again after registering, so a wake in between is not lost.
        match self.try_recv() {
            Ok(r) => Poll::Ready(r),
            Err(TryRecvError::Closed) => Poll::Ready(Err(ProducerError::Closed)),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }
}

impl Drop for DeliveryFuture {
    fn drop(&mut self) {
        let (Some(mut slot), Some(pool)) = (self.slot.take(), self.pool.take()) else {
            return;
        };
        // Reuse the slot only when the sender is gone too (we hold the last
        // reference); otherwise it is freed when the sender drops it.
        if let Some(s) = Arc::get_mut(&mut slot) {
            let _ = s.result.take();
            *s.closed.get_mut() = false;
            s.waker = AtomicWaker::new();
            let _ = pool.free.push(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md() -> RecordMetadata {
        RecordMetadata {
            topic: Arc::from("t"),
            partition: 1,
            offset: 5,
            timestamp: 9,
        }
    }

    #[tokio::test]
    async fn outcome_reaches_the_future() {
        let (tx, rx) = channel();
        let task = tokio::spawn(rx);
        tokio::task::yield_now().await;
        tx.send(Ok(md()));
        assert_eq!(task.await.unwrap().unwrap().offset, 5);
    }

    #[test]
    fn dropped_sender_closes() {
        let (tx, mut rx) = channel();
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
        drop(tx);
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Closed);
    }

    #[test]
    fn slots_are_reused() {
        let pool = DeliveryPool::new(4);
        let (tx, mut rx) = channel_from(Some(&pool));
        let first = Arc::as_ptr(rx.slot.as_ref().unwrap());
        tx.send(Ok(md()));
        assert!(rx.try_recv().is_ok());
        drop(rx);
        let (tx, mut rx) = channel_from(Some(&pool));
        assert_eq!(
            Arc::as_ptr(rx.slot.as_ref().unwrap()),
            first,
            "the slot came back from the pool"
        );
        assert_eq!(
            rx.try_recv().unwrap_err(),
            TryRecvError::Empty,
            "a reused slot starts empty"
        );
        tx.send(Err(ProducerError::Closed));
        assert!(matches!(rx.try_recv(), Ok(Err(ProducerError::Closed))));
    }

    #[test]
    fn a_future_dropped_early_does_not_recycle_a_live_slot() {
        let pool = DeliveryPool::new(4);
        let (tx, rx) = channel_from(Some(&pool));
        drop(rx);
        assert!(pool.free.is_empty());
        tx.send(Ok(md()));
    }
}
