//! The sender (Java's `Sender`): Produce requests from drained batches,
//! what each Produce response means for its batches (complete, retry with
//! backoff, split, fail), and per-broker in-flight counts and reconnect
//! backoff.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::generated::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::generated::{ProduceRequest, ProduceResponse};
use kafka_protocol::primitives::Uuid;
use kafka_protocol::ErrorCode;

use super::accumulator::{Accumulator, Drained};
use super::backoff::{ExponentialBackoff, Jitter};
use super::batch::{BatchId, ProducerBatch, Stamp};
use super::completion::Completions;
use super::hash::FastMap;
use super::metadata::Metadata;
use super::sequences::Sequences;
use super::TopicPartition;
use crate::config::ProducerConfig;
use crate::error::{broker_error, classify, ErrorClass, ProducerError};

/// Per broker: requests in flight and the reconnect backoff.
#[derive(Default)]
pub(crate) struct Nodes {
    in_flight: HashMap<i32, usize>,
    /// Until when a node is not tried, and its consecutive failures.
    backoff: HashMap<i32, (Instant, u32)>,
}

impl Nodes {
    pub fn in_flight(&self, node: i32) -> usize {
        self.in_flight.get(&node).copied().unwrap_or(0)
    }

    /// Not backing off after a failed connect.
    pub fn reachable(&self, node: i32, now: Instant) -> bool {
        self.backoff
            .get(&node)
            .is_none_or(|(until, _)| now >= *until)
    }

    /// Whether a Produce request may go to `node` now.
    pub fn may_send(&self, node: i32, max_in_flight: usize, now: Instant) -> bool {
        self.in_flight(node) < max_in_flight && self.reachable(node, now)
    }

    pub fn sent(&mut self, node: i32) {
        *self.in_flight.entry(node).or_default() += 1;
    }

    pub fn answered(&mut self, node: i32) {
        if let Some(n) = self.in_flight.get_mut(&node) {
            *n = n.saturating_sub(1);
        }
    }

    /// A connect failed: back off from the node (Java's reconnect backoff).
    pub fn connect_failed(
        &mut self,
        node: i32,
        now: Instant,
        backoff: &ExponentialBackoff,
        jitter: &mut Jitter,
    ) {
        let failures = self.backoff.get(&node).map_or(0, |(_, f)| *f) + 1;
        let until = super::later(now, backoff.delay(failures, jitter));
        self.backoff.insert(node, (until, failures));
    }

    pub fn connected(&mut self, node: i32) {
        self.backoff.remove(&node);
    }

    /// When backed-off nodes may be tried again.
    pub fn wake_times(&self) -> impl Iterator<Item = Instant> + '_ {
        self.backoff.values().map(|(until, _)| *until)
    }
}

/// A Produce request in flight: its broker and its batches.
#[derive(Debug)]
pub(crate) struct ProduceInFlight {
    pub node: i32,
    pub batches: Vec<(TopicPartition, BatchId)>,
    /// Each topic's id as sent (zero when unknown): a v13 response names
    /// topics by id only.
    pub topic_ids: Vec<(Arc<str>, Uuid)>,
}

/// A response's partitions by topic name and index, each with whether a
/// batch of the request was matched to it: thousands of batches in one
/// request find their answers in one pass, not one search of the response
/// each. A topic is named by its name up to v12, by the id the request
/// carried from v13 (where the name is empty); a partition answered twice
/// keeps its first answer.
fn answers<'r>(
    responses: &'r [TopicProduceResponse],
    topic_ids: &'r [(Arc<str>, Uuid)],
) -> FastMap<(&'r str, i32), (&'r PartitionProduceResponse, bool)> {
    let mut answers = FastMap::default();
    for t in responses {
        let name = if !t.name.is_empty() {
            Some(t.name.as_str())
        } else if t.topic_id != Uuid::ZERO {
            topic_ids
                .iter()
                .find(|(_, id)| *id == t.topic_id)
                .map(|(name, _)| &**name)
        } else {
            None
        };
        let Some(name) = name else {
            tracing::warn!(topic_id = ?t.topic_id,
                "Produce response names a topic this request did not carry");
            continue;
        };
        for p in &t.partition_responses {
            answers.entry((name, p.index)).or_insert((p, false));
        }
    }
    answers
}

/// A batch's error: from its part of a response, or a transport failure.
struct Outcome {
    code: ErrorCode,
    message: Option<Arc<str>>,
}

/// The rooms a response touches.
pub(crate) struct ResponseContext<'a> {
    pub accumulator: &'a mut Accumulator,
    pub sequences: &'a mut Sequences,
    pub metadata: &'a mut Metadata,
    pub completions: &'a mut Completions,
    pub jitter: &'a mut Jitter,
    /// The retry jitter of this response, drawn at its first retry: the
    /// batches one request carried, failed alike, come back together in one
    /// request after one wake-up, not scattered over the jitter's range.
    pub retry_jitter: Option<f64>,
    /// Set when a response calls for stopping the producer.
    pub fatal: &'a mut Option<ProducerError>,
}

pub(crate) struct Sender {
    config: Arc<ProducerConfig>,
    /// Put in every Produce request of a transactional producer.
    transactional_id: Option<kafka_protocol::primitives::StrBytes>,
    pub nodes: Nodes,
    retry_backoff: ExponentialBackoff,
    pub reconnect_backoff: ExponentialBackoff,
    /// Produce attempts made so far (first sends and retries).
    pub attempts: u64,
}

impl Sender {
    pub fn new(config: Arc<ProducerConfig>) -> Self {
        Sender {
            retry_backoff: ExponentialBackoff::new(config.retry_backoff, config.retry_backoff_max),
            reconnect_backoff: ExponentialBackoff::new(
                config.reconnect_backoff,
                config.reconnect_backoff_max,
            ),
            nodes: Nodes::default(),
            attempts: 0,
            transactional_id: config
                .transactional_id
                .clone()
                .map(kafka_protocol::primitives::StrBytes::from_string),
            config,
        }
    }

    /// The Produce request for drained batches, and whether some topic of
    /// it has no known id (the request must then go by names, v12 at most).
    pub fn produce_request(
        &mut self,
        drained: Drained,
        metadata: &Metadata,
    ) -> (i32, ProduceRequest, ProduceInFlight, bool) {
        let mut topics: Vec<TopicProduceData> = Vec::new();
        let mut topic_ids: Vec<(Arc<str>, Uuid)> = Vec::new();
        let mut drained_batches = drained.batches;
        for (tp, _, bytes) in drained_batches.iter_mut() {
            let data = partition_data(tp.partition, std::mem::take(bytes));
            match topics.iter_mut().find(|t| t.name.as_str() == &*tp.topic) {
                Some(t) => t.partition_data.push(data),
                None => {
                    let topic_id = metadata
                        .topics
                        .get(&tp.topic)
                        .map_or(Uuid::ZERO, |m| m.topic_id);
                    topic_ids.push((tp.topic.clone(), topic_id));
                    topics.push(TopicProduceData {
                        name: tp.topic.to_string().into(),
                        topic_id,
                        partition_data: vec![data],
                        ..Default::default()
                    })
                }
            }
        }
        let names_only = topic_ids.iter().any(|(_, id)| *id == Uuid::ZERO);
        // Collected in place: the drained list's allocation is reused.
        let batches: Vec<(TopicPartition, BatchId)> = drained_batches
            .into_iter()
            .map(|(tp, id, _)| (tp, id))
            .collect();
        self.attempts += batches.len() as u64;
        let node = drained.node.id;
        self.nodes.sent(node);
        let request = ProduceRequest {
            transactional_id: self.transactional_id.clone(),
            acks: self.config.acks.as_i16(),
            timeout_ms: i32::try_from(self.config.request_timeout.as_millis()).unwrap_or(i32::MAX),
            topic_data: topics,
            ..Default::default()
        };
        let inflight = ProduceInFlight {
            node,
            batches,
            topic_ids,
        };
        (node, request, inflight, names_only)
    }

    /// An acks=0 request was written: its batches are complete, offsets unknown.
    pub fn on_written(&mut self, inflight: ProduceInFlight, ctx: ResponseContext<'_>) {
        self.nodes.answered(inflight.node);
        for (tp, id) in inflight.batches {
            if let Some(b) = ctx.accumulator.take_batch(&tp, id) {
                complete_batch(&tp, b, -1, -1, ctx.sequences, ctx.completions);
            }
        }
    }

    /// The request failed in transport: its batches retry (they may have
    /// been written).
    pub fn on_transport_failure(
        &mut self,
        inflight: ProduceInFlight,
        message: &str,
        now: Instant,
        ctx: ResponseContext<'_>,
    ) {
        self.nodes.answered(inflight.node);
        ctx.metadata.stale = true;
        let message: Arc<str> = Arc::from(format!("transport: {message}"));
        let mut ctx = ctx;
        for (tp, id) in inflight.batches {
            let outcome = Outcome {
                code: ErrorCode::NETWORK_EXCEPTION,
                message: Some(message.clone()),
            };
            self.retry_or_fail(&tp, id, outcome, true, now, &mut ctx);
        }
    }

    /// A Produce response: per batch, complete, retry, split or fail.
    pub fn on_response(
        &mut self,
        inflight: ProduceInFlight,
        resp: &ProduceResponse,
        now: Instant,
        mut ctx: ResponseContext<'_>,
    ) {
        let ProduceInFlight {
            node,
            batches,
            topic_ids,
        } = inflight;
        self.nodes.answered(node);
        ctx.completions.metrics.throttled(resp.throttle_time_ms);
        // KIP-951 (v10+): the brokers the response names are new or moved.
        for e in &resp.node_endpoints {
            ctx.metadata
                .brokers
                .insert(e.node_id, format!("{}:{}", e.host, e.port));
        }
        let mut answers = answers(&resp.responses, &topic_ids);
        for (tp, id) in batches.iter().map(|(tp, id)| (tp, *id)) {
            let p = answers
                .get_mut(&(&*tp.topic, tp.partition))
                .map(|(p, carried)| {
                    *carried = true;
                    *p
                });
            let Some(p) = p else {
                // The broker did not say: the batch may or may not be in the
                // log. Idempotence makes a retry safe (the broker drops a
                // duplicate); without it a retry could write it twice, so
                // the batch fails.
                let outcome = Outcome {
                    code: ErrorCode::UNKNOWN_SERVER_ERROR,
                    message: Some(Arc::from("partition missing from the Produce response")),
                };
                let retry = ctx.sequences.is_idempotent();
                self.retry_or_fail(tp, id, outcome, retry, now, &mut ctx);
                continue;
            };
            let code = ErrorCode(p.error_code);
            // KIP-951: a leader that moved is named with the error; take it
            // instead of a metadata refresh when it is newer than ours.
            let hinted = matches!(
                code,
                ErrorCode::NOT_LEADER_OR_FOLLOWER | ErrorCode::FENCED_LEADER_EPOCH
            ) && ctx.metadata.apply_leader_hint(
                &tp.topic,
                tp.partition,
                p.current_leader.leader_id,
                p.current_leader.leader_epoch,
            );
            let outcome = Outcome {
                code,
                message: p.error_message.as_ref().map(|m| Arc::from(m.as_str())),
            };
            match code {
                ErrorCode::NONE | ErrorCode::DUPLICATE_SEQUENCE_NUMBER => {
                    if let Some(b) = ctx.accumulator.take_batch(tp, id) {
                        let ts = if p.log_append_time_ms >= 0 {
                            p.log_append_time_ms
                        } else {
                            -1
                        };
                        complete_batch(tp, b, p.base_offset, ts, ctx.sequences, ctx.completions);
                    }
                }
                ErrorCode::MESSAGE_TOO_LARGE | ErrorCode::RECORD_LIST_TOO_LARGE => {
                    self.split_or_fail(tp, id, outcome, now, &mut ctx)
                }
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => {
                    // A real gap only if this batch was next in line; else an
                    // earlier batch is being retried and this one follows it.
                    let (next_in_line, stamp) = match ctx.accumulator.batch_mut(tp, id) {
                        Some(b) => (ctx.sequences.is_next_in_line(tp, b), b.stamp),
                        None => (false, Stamp::Unassigned),
                    };
                    if next_in_line {
                        // Neither this batch nor any later one is in the log.
                        ctx.accumulator.not_written_from(tp, id);
                        ctx.sequences.request_bump_for(stamp);
                    }
                    // A transactional producer cannot bump its epoch here:
                    // a real gap fails the batch (the transaction is to be aborted).
                    let retry = !(next_in_line && ctx.sequences.is_transactional());
                    self.retry_or_fail(tp, id, outcome, retry, now, &mut ctx);
                }
                ErrorCode::UNKNOWN_PRODUCER_ID => {
                    // The broker has no state for us here: nothing from this
                    // batch on is in the log.
                    ctx.accumulator.not_written_from(tp, id);
                    let stamp = ctx
                        .accumulator
                        .batch_mut(tp, id)
                        .map_or(Stamp::Unassigned, |b| b.stamp);
                    ctx.sequences.request_bump_for(stamp);
                    let retry = !ctx.sequences.is_transactional();
                    self.retry_or_fail(tp, id, outcome, retry, now, &mut ctx);
                }
                c => match classify(c, ctx.sequences.is_transactional()) {
                    ErrorClass::Fatal | ErrorClass::ApplicationRecoverable => {
                        ctx.fatal.get_or_insert(broker_error(c, outcome.message, 1));
                    }
                    class => {
                        if c.invalidates_metadata() && !hinted {
                            ctx.metadata.stale = true;
                        }
                        let retry = class == ErrorClass::Retriable;
                        self.retry_or_fail(tp, id, outcome, retry, now, &mut ctx);
                    }
                },
            }
        }
        for ((topic, partition), _) in answers.iter().filter(|(_, (_, carried))| !carried) {
            // Nothing to complete; say so loudly, it is the broker's bug.
            tracing::warn!(
                topic,
                partition,
                node,
                "Produce response names a partition this request did not carry"
            );
        }
    }

    /// Retries a batch (keeping its place and sequence) after a backoff, or
    /// fails it when the error is not `retriable`, retries are spent, or
    /// delivery.timeout.ms passed.
    fn retry_or_fail(
        &mut self,
        tp: &TopicPartition,
        id: BatchId,
        outcome: Outcome,
        retriable: bool,
        now: Instant,
        ctx: &mut ResponseContext<'_>,
    ) {
        let code = outcome.code;
        let Some(b) = ctx.accumulator.batch_mut(tp, id) else {
            return;
        };
        b.last_error = Some(match &outcome.message {
            Some(m) => Arc::from(format!("{} ({m})", code.name())),
            None => Arc::from(code.name()),
        });
        if may_have_been_written(code) {
            b.maybe_written = true;
        } else if code == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER {
            // Not a duplicate of a batch the broker remembers: not written (a
            // retry goes only when nothing of its partition is in flight, so
            // at most 4 later batches were written after it).
            b.maybe_written = false;
        }
        let expired =
            b.expired_in_flight || now.duration_since(b.created_at) >= self.config.delivery_timeout;
        if retriable && !expired && b.attempts <= self.config.retries {
            let attempts = b.attempts;
            let factor = *ctx.retry_jitter.get_or_insert_with(|| ctx.jitter.factor());
            let wait = self.retry_backoff.delay_by(attempts, factor);
            ctx.accumulator.back_off(tp, id, super::later(now, wait));
            tracing::debug!(topic = %tp.topic, partition = tp.partition, code = code.name(), attempt = attempts, ?wait, "retrying batch");
            return;
        }
        let Some(b) = ctx.accumulator.take_batch(tp, id) else {
            return;
        };
        ctx.sequences.gave_up(tp, &b);
        if b.stamp.was_assigned() {
            // The sequence of a failed sent batch is unresolved for the broker.
            ctx.sequences.request_bump_for(b.stamp);
        }
        let e = if expired && retriable {
            ProducerError::DeliveryTimeout {
                elapsed: now.duration_since(b.created_at),
                attempts: b.attempts,
                last_error: b.last_error.clone(),
            }
        } else {
            broker_error(code, outcome.message, b.attempts)
        };
        ctx.accumulator.fail_batch(tp, b, e, ctx.completions);
    }

    /// MESSAGE_TOO_LARGE: a batch of several records is split in two halves
    /// and re-queued in its place (no retry spent); a single record fails.
    fn split_or_fail(
        &mut self,
        tp: &TopicPartition,
        id: BatchId,
        outcome: Outcome,
        now: Instant,
        ctx: &mut ResponseContext<'_>,
    ) {
        let pos = ctx
            .accumulator
            .queue_mut(tp)
            .and_then(|q| q.batches.iter().position(|b| b.id == id))
            .unwrap_or(0);
        let Some(b) = ctx.accumulator.take_batch(tp, id) else {
            return;
        };
        // An expired batch has no records left to re-queue.
        let b = if b.expired_in_flight {
            Some(b)
        } else {
            ctx.accumulator.split(tp, pos, b, now, ctx.completions)
        };
        if let Some(b) = b {
            ctx.sequences.gave_up(tp, &b);
            if b.stamp.was_assigned() {
                // A gap in the sequence: a local epoch bump makes the next batches safe.
                ctx.sequences.request_bump_for(b.stamp);
            }
            let e = broker_error(outcome.code, outcome.message, b.attempts);
            ctx.accumulator.fail_batch(tp, b, e, ctx.completions);
        }
    }
}

/// Completes an acknowledged batch: sequences move on, every record gets
/// its offset.
fn complete_batch(
    tp: &TopicPartition,
    b: ProducerBatch,
    base_offset: i64,
    log_append_time: i64,
    sequences: &mut Sequences,
    completions: &mut Completions,
) {
    sequences.acked(tp, &b);
    completions.complete_batch(b, base_offset, log_append_time);
}

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
