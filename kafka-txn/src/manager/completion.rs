//! Waiting for the coordinator to finish the transaction that just ended.
//!
//! EndTxn is answered once the coordinator has logged PrepareCommit (or
//! PrepareAbort); the markers are written to the partitions after that.
//! Until they are, the coordinator refuses to add a partition to the next
//! transaction with CONCURRENT_TRANSACTIONS: under transactions v1 our
//! AddPartitionsToTxn gets it, under v2 the partition leader gets it when
//! it verifies our first Produce, and retries after its own backoff
//! (`add.partitions.to.txn.retry.backoff.ms`, 20 ms), which for small
//! transactions is longer than the transaction itself.
//!
//! So after EndTxn the manager asks the coordinator with
//! DescribeTransactions until the state is no longer `PrepareCommit` or
//! `PrepareAbort` (again at once a few times, then every millisecond, then
//! backing off up to `retry.backoff.ms`), and holds back meanwhile only the next
//! transaction's first requests: its AddPartitionsToTxn and
//! AddOffsetsToTxn (v1) and its Produce requests (v2, through the drain
//! gate). The user's sends go on into the accumulator, so the wait
//! overlaps with building the next transaction.
//!
//! Why it is safe: the wait only delays requests; it changes none of them
//! and no order within a transaction, and the broker still checks every
//! one. Whenever the answer is not a clear "still preparing" (an error, no
//! answer, a broker before Kafka 3.0 without the API, a refused DESCRIBE
//! permission) the wait ends and the requests go as they did before, with
//! the broker's own retry as the fallback.

use std::time::{Duration, Instant};

use kafka_protocol::generated::DescribeTransactionsResponse;
use kafka_protocol::ErrorCode;

use super::{TransactionEvent, TransactionManager, TxnRequest};

/// Markers mostly take about a millisecond on a local broker, less than a
/// timer's tick: the coordinator is asked again at once (a round trip
/// apart) for the first `EAGER_POLLS` answers, then every millisecond up
/// to `STEADY_POLLS`, then after twice the wait each time, up to
/// `retry.backoff.ms`.
const EAGER_POLLS: u32 = 8;
const POLL: Duration = Duration::from_millis(1);
const STEADY_POLLS: u32 = 24;
/// After this many answers (a few seconds with the default
/// `retry.backoff.ms`) the wait ends, so a coordinator stuck in a
/// prepare state does not hold the next transaction back longer than it
/// would without the wait.
pub(super) const MAX_POLLS: u32 = 64;

pub(super) fn poll_interval(attempt: u32) -> Duration {
    if attempt < EAGER_POLLS {
        return Duration::ZERO;
    }
    let doublings = attempt.saturating_sub(STEADY_POLLS).min(16);
    POLL.saturating_mul(1u32 << doublings)
}

impl TransactionManager {
    /// EndTxn was answered: watch for the markers of that transaction.
    pub(super) fn watch_completion(&mut self) {
        if self.capabilities.describe && !self.describe_refused && !self.previous_end_completing() {
            self.enqueue(TxnRequest::DescribeState { attempt: 0 }, None);
        }
    }

    /// Whether the previous transaction's markers may still be being written
    /// (the next transaction's first requests wait).
    pub(super) fn previous_end_completing(&self) -> bool {
        let describing = |r: &TxnRequest| matches!(r, TxnRequest::DescribeState { .. });
        self.in_flight.as_ref().is_some_and(|(_, r)| describing(r))
            || self.queue.iter().any(|q| describing(&q.request))
    }

    pub(super) fn on_describe_state(
        &mut self,
        attempt: u32,
        r: DescribeTransactionsResponse,
        now: Instant,
    ) {
        let ours = r
            .transaction_states
            .iter()
            .find(|s| s.transactional_id == self.transactional_id);
        let Some(s) = ours else {
            self.completion_unknown("no state for our transactional id");
            return;
        };
        match ErrorCode(s.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED => {
                // WRITE implies DESCRIBE; a cluster that refuses it anyway
                // is not asked again.
                self.describe_refused = true;
                self.completion_unknown("DESCRIBE on the transactional id refused");
                return;
            }
            code => {
                self.completion_unknown(&code.to_string());
                return;
            }
        }
        let preparing = matches!(
            s.transaction_state.as_str(),
            "PrepareCommit" | "PrepareAbort"
        );
        if preparing && attempt + 1 >= MAX_POLLS {
            // Markers held up (a partition leader away): the wait ends, and
            // the coordinator answers the next requests as it would have.
            self.completion_unknown("the coordinator is still writing markers");
            return;
        }
        if preparing {
            let wait = poll_interval(attempt).min(self.config.retry_backoff);
            self.retry(
                TxnRequest::DescribeState {
                    attempt: attempt.saturating_add(1),
                },
                now,
                wait,
            );
            return;
        }
        tracing::trace!(
            state = s.transaction_state.as_str(),
            attempt,
            "previous transaction complete"
        );
        self.completed();
    }

    /// The wait ends without knowing: the requests go, and the broker
    /// retries them if the markers are not written yet.
    pub(super) fn completion_unknown(&mut self, why: &str) {
        tracing::debug!(why, "not waiting for the previous transaction's markers");
        self.completed();
    }

    fn completed(&mut self) {
        if self.previous_end_completing() {
            return;
        }
        // The drain gate's answer changed for the partitions already used.
        if !self.partitions.is_empty() {
            let tps = self.partitions.iter().cloned().collect();
            self.events
                .push_back(TransactionEvent::PartitionsAdded(tps));
        }
    }
}
