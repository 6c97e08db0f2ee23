//! The ready/drain filter: which partitions' batches leave now, for which
//! broker, and the per-broker latency behind
//! `partitioner.availability.timeout.ms`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use kafka_compression::Codec;

use super::queues::QueueAt;
use super::Accumulator;
use crate::core::batch::{BatchId, BatchState};
use crate::core::completion::Completions;
use crate::core::metadata::{Metadata, Node, TopicMeta};
use crate::core::sender::Nodes;
use crate::core::sequences::Sequences;
use crate::core::TopicPartition;
use crate::error::ProducerError;

/// When a broker last had ready batches and last could take them
/// (`partitioner.availability.timeout.ms`).
#[derive(Clone, Copy)]
pub(super) struct NodeLatency {
    ready_at: Instant,
    drained_at: Instant,
}

/// What the drain took for one Produce request.
pub(crate) struct Drained {
    pub node: Node,
    pub batches: Vec<(TopicPartition, BatchId, Bytes)>,
    /// The oldest batch's creation: the request's delivery deadline.
    pub oldest: Instant,
    /// No partition was passed over for another broker or for the request's
    /// size, and none taken has another batch queued: a drain right after,
    /// with nothing changed, would find nothing.
    pub complete: bool,
}

/// What the drain reads from the other rooms.
pub(crate) struct DrainContext<'a> {
    pub metadata: &'a mut Metadata,
    pub nodes: &'a Nodes,
    pub sequences: &'a mut Sequences,
    pub completions: &'a mut Completions,
    pub codec: Option<&'a dyn Codec>,
    /// Every batch is ready (flush, close, memory short).
    pub urgent: bool,
}

impl Accumulator {
    /// Feeds the sticky partitioner the queue length of each partition, for
    /// adaptive weighting (Java updates these stats on every drain). Until
    /// every available partition of a topic has had a batch, the stats are
    /// left empty (uniform choice), as in Java's accumulator. With
    /// `partitioner.availability.timeout.ms`, partitions whose leader had
    /// ready batches it could not take for longer than that are left out.
    pub fn update_partition_load(&mut self, metadata: &Metadata) {
        if !self.config.partitioner_adaptive_partitioning_enable {
            return;
        }
        for (topic, meta) in &metadata.topics {
            // Only the built-in partitioners of records without a key read
            // these: a topic they never placed a record of costs nothing
            // here, however many partitions it has.
            if let Some(t) = self.queues.balanced(topic) {
                self.update_topic_load(t, meta);
            }
        }
    }

    /// [`update_partition_load`](Self::update_partition_load) for the
    /// topic whose queues are at `t`.
    pub(super) fn update_topic_load(&mut self, t: usize, meta: &TopicMeta) {
        if !self.config.partitioner_adaptive_partitioning_enable {
            return;
        }
        let timeout = self.config.partitioner_availability_timeout;
        let mut sizes = std::mem::take(&mut self.load_scratch);
        sizes.clear();
        let mut left_out = false;
        let queues = &self.queues.topics[t];
        // In the client's rack only, when rack-aware (Java keeps the
        // rack's own load statistics).
        for &p in meta.sticky_candidates() {
            let Some(q) = queues.get(p) else {
                sizes.clear();
                left_out = false;
                break;
            };
            let lagging = !timeout.is_zero()
                && meta.partitions[p as usize].leader >= 0
                && self
                    .node_latency
                    .get(&meta.partitions[p as usize].leader)
                    .is_some_and(|l| l.ready_at.saturating_duration_since(l.drained_at) > timeout);
            if lagging {
                left_out = true;
            } else {
                sizes.push((p, q.batches.len()));
            }
        }
        self.sticky.update_load(&meta.name, &sizes);
        self.queues.topics[t].unlagged =
            (left_out && !sizes.is_empty()).then(|| sizes.iter().map(|(p, _)| *p).collect());
        self.load_scratch = sizes;
    }

    /// Takes the ready batches for one broker (the first in the rotation
    /// that has any and may take them), finished and stamped, for one
    /// Produce request. Fails batches that cannot be encoded; when every
    /// batch taken for a broker failed, looks again, as other brokers'
    /// ready batches would otherwise wait for an unrelated wake-up.
    pub fn drain(&mut self, now: Instant, mut ctx: DrainContext<'_>) -> Option<Drained> {
        loop {
            // Each failed round removed at least one batch: this ends.
            match self.drain_once(now, &mut ctx) {
                (None, true) => continue,
                (drained, _) => return drained,
            }
        }
    }

    /// One round of [`drain`](Self::drain); also tells whether a batch
    /// failed to encode.
    fn drain_once(&mut self, now: Instant, ctx: &mut DrainContext<'_>) -> (Option<Drained>, bool) {
        let idempotent = ctx.sequences.is_idempotent();
        let max_in_flight = self.config.max_in_flight_requests_per_connection.max(1);
        let per_partition = if idempotent {
            crate::config::MAX_IN_FLIGHT_FOR_IDEMPOTENCE
        } else {
            usize::MAX
        };
        let linger = self.config.linger;
        self.crowded = self
            .queues
            .partition_count()
            .saturating_mul(self.config.batch_size)
            .saturating_mul(max_in_flight)
            > self.config.buffer_memory;
        let track_latency = !self.config.partitioner_availability_timeout.is_zero();

        // Partitions with batches, in queue order, rotated; found by
        // position, so thousands of partitions cost no sort and no hashing.
        let mut keys = std::mem::take(&mut self.drain_scratch);
        self.queues.with_batches(&mut keys);
        if keys.is_empty() {
            self.drain_scratch = keys;
            return (None, false);
        }
        let start = self.drain_start % keys.len();
        keys.rotate_left(start);
        self.drain_start = self.drain_start.wrapping_add(1);

        let mut target: Option<Node> = None;
        let mut chosen: Vec<QueueAt> = Vec::new();
        let mut request_size = 0usize;
        let mut refused_nodes: Vec<i32> = Vec::new();
        let mut stale = false;
        let mut complete = true;
        // The metadata of the topic of the last queue looked at (queues of
        // a topic are together): one lookup per topic, not per partition.
        let mut topic_meta: Option<(u32, Option<&TopicMeta>)> = None;
        for &at in &keys {
            let q = self.queues.at(at);
            // Every batch of the queue in flight: nothing to look up (the
            // queue alone answers, and at thousands of partitions most
            // queues are so). As in Java, whose queues hold only unsent
            // batches, such a queue does not ask for its leader either.
            let Some(b) = q.next_to_send() else {
                continue;
            };
            let tp = &q.tp;
            let meta = match topic_meta {
                Some((t, meta)) if t == at.topic() => meta,
                _ => {
                    let meta = ctx.metadata.topics.get(&*tp.topic);
                    topic_meta = Some((at.topic(), meta));
                    meta
                }
            };
            let Some(leader) = meta
                .and_then(|m| m.partitions.get(tp.partition as usize))
                .map(|p| p.leader)
                .filter(|l| *l >= 0)
            else {
                stale = true;
                continue;
            };
            match &target {
                Some(t) if t.id != leader => {
                    complete = false;
                    continue;
                }
                // Its broker refused a queue already looked at: so would it
                // refuse this one.
                None if refused_nodes.contains(&leader) => continue,
                _ => {}
            }
            if q.in_flight >= per_partition || !ctx.sequences.may_drain(tp, q.in_flight) {
                continue;
            }
            if let BatchState::Backoff { until } = b.state {
                if now < until {
                    continue;
                }
            }
            // A retried batch goes only when it is first in line (ordering).
            if b.attempts > 0 && q.in_flight > 0 {
                continue;
            }
            // While the retry of a batch that may or may not be in the log is
            // in flight, no new batch goes behind it: the broker recognises
            // it as a duplicate only while it is among the last 5 batches it
            // wrote.
            if idempotent
                && b.attempts == 0
                && q.batches
                    .iter()
                    .take_while(|x| x.in_flight())
                    .any(|x| x.maybe_written)
            {
                continue;
            }
            // A batch with one behind it is closed (batches in flight do not
            // count: a partition with one in flight still lingers).
            let ready = !b.is_open()
                || ctx.urgent
                || now.duration_since(b.created_at) >= linger
                || q.batches.back().is_some_and(|last| last.id != b.id);
            if !ready {
                continue;
            }
            if target.is_none() && !ctx.nodes.may_send(leader, max_in_flight, now) {
                refused_nodes.push(leader);
                continue;
            }
            if self.gate.as_ref().is_some_and(|g| !g.may_drain(tp)) {
                continue;
            }
            if !chosen.is_empty() && request_size + b.size > self.config.max_request_size {
                complete = false;
                continue;
            }
            request_size += b.size;
            if target.is_none() {
                target = ctx.metadata.node(leader);
                if target.is_none() {
                    stale = true;
                    continue;
                }
            }
            // A batch behind this one may go in the next request (pipelining).
            if q.batches.iter().filter(|x| !x.in_flight()).nth(1).is_some() {
                complete = false;
            }
            chosen.push(at);
        }
        self.drain_scratch = keys;
        if stale {
            ctx.metadata.stale = true;
        }
        if track_latency {
            for node in refused_nodes {
                self.note_latency(node, now, false);
            }
        }
        let Some(node) = target else {
            return (None, false);
        };
        if chosen.is_empty() {
            return (None, false);
        }
        if track_latency {
            self.note_latency(node.id, now, true);
        }

        let mut batches = Vec::with_capacity(chosen.len());
        let mut oldest = now;
        let mut failed = false;
        for at in chosen {
            let q = self.queues.at_mut(at);
            let tp = q.tp.clone();
            let Some(pos) = q.batches.iter().position(|b| !b.in_flight()) else {
                continue;
            };
            let b = &mut q.batches[pos];
            let stamp = ctx.sequences.stamp_for(&tp, b);
            match b.wire_bytes(
                stamp,
                ctx.sequences.is_transactional(),
                ctx.codec,
                &mut ctx.completions.pool,
            ) {
                Ok(bytes) => {
                    oldest = oldest.min(b.created_at);
                    b.state = BatchState::InFlight;
                    b.attempts += 1;
                    q.in_flight += 1;
                    let first = b.attempts == 1;
                    ctx.completions.metrics.batch_sent(
                        &tp.topic,
                        b.record_count as u64,
                        bytes.len() as u64,
                        b.size as u64,
                        !first,
                        first.then(|| now.saturating_duration_since(b.created_at)),
                    );
                    batches.push((tp, b.id, bytes));
                }
                Err(e) => {
                    failed = true;
                    if let Some(b) = q.batches.remove(pos) {
                        if stamp.was_assigned() {
                            // Its sequences were taken: a gap the next batches must not hit.
                            ctx.sequences.request_bump_for(stamp);
                        }
                        ctx.completions
                            .fail_batch(b, ProducerError::Encoding(Arc::from(e.to_string())));
                    }
                }
            }
        }
        let drained = (!batches.is_empty()).then_some(Drained {
            node,
            batches,
            oldest,
            complete,
        });
        (drained, failed)
    }

    fn note_latency(&mut self, node: i32, now: Instant, drained: bool) {
        let l = self.node_latency.entry(node).or_insert(NodeLatency {
            ready_at: now,
            drained_at: now,
        });
        l.ready_at = now;
        if drained {
            l.drained_at = now;
        }
    }
}
