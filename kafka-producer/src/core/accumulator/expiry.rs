//! Batches that leave their queue unsent: expired by `delivery.timeout.ms`,
//! or aborted (a transaction's abort, a fatal error, a forced close).

use std::sync::Arc;
use std::time::Instant;

use super::Accumulator;
use crate::core::batch::BatchState;
use crate::core::completion::Completions;
use crate::core::sequences::Sequences;
use crate::error::ProducerError;

impl Accumulator {
    /// Fails batches older than `delivery.timeout.ms`: queued ones leave
    /// their queue; the records of in-flight ones fail now, the batch itself
    /// waits for its request's end (its sequence is unresolved until then).
    pub fn expire(
        &mut self,
        now: Instant,
        sequences: &mut Sequences,
        completions: &mut Completions,
    ) {
        // Nothing can be due before the floor: thousands of queues are not
        // walked at every wake-up (each retry backoff's end is one).
        if self.expiry_floor.is_none_or(|at| now < at) {
            return;
        }
        let delivery_timeout = self.config.delivery_timeout;
        let gate = self.gate.as_deref();
        let mut floor = None;
        for q in self.queues.iter_mut() {
            let tp = &q.tp;
            for b in q.batches.iter_mut().filter(|b| {
                b.in_flight()
                    && !b.expired_in_flight
                    && now.duration_since(b.created_at) >= delivery_timeout
            }) {
                b.expired_in_flight = true;
                let e = ProducerError::DeliveryTimeout {
                    elapsed: now.duration_since(b.created_at),
                    attempts: b.attempts,
                    last_error: b
                        .last_error
                        .clone()
                        .or_else(|| Some(Arc::from("no response to the Produce request yet"))),
                };
                if let Some(g) = gate {
                    g.batch_failed(tp, &e);
                }
                completions.fail_records_of(b, e);
            }
            // Only batches not in flight expire here; in-flight ones wait for
            // their response (or request timeout) first.
            while let Some(pos) = q.batches.iter().position(|b| {
                !b.in_flight() && now.duration_since(b.created_at) >= delivery_timeout
            }) {
                let Some(b) = q.batches.remove(pos) else {
                    break;
                };
                sequences.gave_up(tp, &b);
                if b.stamp.was_assigned() && b.attempts > 0 {
                    // A sent batch may or may not be in the log: its sequence is
                    // unresolved; a local epoch bump makes the next batches safe.
                    sequences.request_bump_for(b.stamp);
                }
                let e = ProducerError::DeliveryTimeout {
                    elapsed: now.duration_since(b.created_at),
                    attempts: b.attempts,
                    last_error: b.last_error.clone(),
                };
                if let Some(g) = gate {
                    g.batch_failed(tp, &e);
                }
                completions.fail_batch(b, e);
            }
            // Creation order: the first batch not expired is the queue's next.
            if let Some(b) = q.batches.iter().find(|b| !b.expired_in_flight) {
                super::lower_floor(
                    &mut floor,
                    crate::core::later(b.created_at, delivery_timeout),
                );
            }
        }
        self.expiry_floor = floor;
    }

    /// Fails the records never sent: the waiting ones and the batches not
    /// drained yet (a transaction's abort, as Java's
    /// `abortUndrainedBatches`); batches in flight or waiting to be retried
    /// go on until their outcome is known.
    pub fn abort_unsent(&mut self, error: &ProducerError, completions: &mut Completions) {
        self.fail_unpartitioned(error, completions);
        for q in self.queues.iter_mut() {
            let mut kept = std::collections::VecDeque::with_capacity(q.batches.len());
            for b in q.batches.drain(..) {
                if b.attempts == 0 && !b.in_flight() {
                    completions.fail_batch(b, error.clone());
                } else {
                    kept.push_back(b);
                }
            }
            q.batches = kept;
        }
    }

    /// Fails every record not complete: the waiting ones and every batch in
    /// a queue (close timeout, fatal error).
    pub fn abort_all(&mut self, error: &ProducerError, completions: &mut Completions) {
        self.fail_unpartitioned(error, completions);
        for q in self.queues.iter_mut() {
            q.in_flight = 0;
            q.gapped = false;
            for b in q.batches.drain(..) {
                completions.fail_batch(b, error.clone());
            }
        }
    }

    // ------------------------------------------------------------------ time

    /// The earliest expiry of a queued batch (`delivery.timeout.ms`) or a
    /// waiting record (`max.block.ms`).
    pub fn next_expiry(&self) -> Option<Instant> {
        let waiting = self
            .waiting
            .values()
            .filter_map(|q| q.front())
            .map(|w| crate::core::later(w.since, self.config.max_block));
        // The floor may be early (its batch gone since): the walk it
        // triggers then finds nothing due and raises it.
        waiting.chain(self.expiry_floor).min()
    }

    /// Per partition, when the batch the drain would send next becomes
    /// ready (its linger or retry backoff ends).
    pub fn send_times(&self) -> impl Iterator<Item = Instant> + '_ {
        self.queues.iter().filter_map(|q| {
            q.next_to_send().map(|b| match b.state {
                BatchState::Backoff { until } => until,
                _ => crate::core::later(b.created_at, self.config.linger),
            })
        })
    }
}
