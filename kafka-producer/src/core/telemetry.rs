//! The client telemetry state machine (KIP-714), as Java's
//! `ClientTelemetryReporter` runs it: subscription needed, in progress,
//! push needed, in progress, and at close a terminating push. Pure: the
//! core asks it for requests and hands it answers; the driver gives it
//! the metrics when a push is due ([`ClientTelemetry::wants_metrics`]).

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_compression::{BuiltinCodec, Codec, CompressionType};
use kafka_protocol::generated::{
    GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse, PushTelemetryRequest,
    PushTelemetryResponse, RequestKind,
};
use kafka_protocol::primitives::Uuid;
use kafka_protocol::ErrorCode;

use super::backoff::Jitter;
use crate::metrics::ProducerMetrics;
use crate::telemetry::{encode, Encoding, Selector, SumLedger};

/// Java's interval when the broker gives none, or cannot be asked.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SubscriptionNeeded,
    SubscriptionInProgress,
    PushNeeded,
    PushInProgress,
    TerminatingPushNeeded,
    TerminatingPushInProgress,
    /// Closed, or turned off by an answer that retrying cannot mend.
    Off,
}

#[derive(Debug, Clone)]
struct Subscription {
    instance_id: Uuid,
    id: i32,
    interval: Duration,
    accepted: Vec<i8>,
    delta: bool,
    selector: Selector,
}

/// The telemetry of one producer.
pub(crate) struct ClientTelemetry {
    state: State,
    subscription: Option<Subscription>,
    /// Not before this is the next request due (`None`: now).
    due: Option<Instant>,
    /// The encoded, compressed metrics of the push that is due.
    payload: Option<(Bytes, i8)>,
    ledger: SumLedger,
    /// A terminating push is given up after this.
    terminal_deadline: Option<Instant>,
    resource: Vec<(&'static str, String)>,
}

impl ClientTelemetry {
    /// `None` when `enable.metrics.push` is off.
    pub fn new(enabled: bool, resource: Vec<(&'static str, String)>) -> Option<Self> {
        enabled.then(|| ClientTelemetry {
            state: State::SubscriptionNeeded,
            subscription: None,
            due: None,
            payload: None,
            ledger: SumLedger::default(),
            terminal_deadline: None,
            resource,
        })
    }

    /// The id the broker gave this client, once subscribed.
    pub fn instance_id(&self) -> Option<Uuid> {
        self.subscription.as_ref().map(|s| s.instance_id)
    }

    fn push_due(&self, now: Instant) -> bool {
        match self.state {
            State::PushNeeded => self.due.is_none_or(|d| now >= d),
            State::TerminatingPushNeeded => true,
            _ => false,
        }
    }

    /// A push is due and its metrics are still to be collected.
    pub fn wants_metrics(&self, now: Instant) -> bool {
        self.payload.is_none() && self.push_due(now)
    }

    /// Encodes and compresses the metrics of the push that is due; times
    /// are wall-clock ns (`start_ns`: when the producer started).
    pub fn set_metrics(&mut self, m: &ProducerMetrics, now_ns: u64, start_ns: u64) {
        let Some(s) = &self.subscription else {
            return;
        };
        let raw = encode(
            m,
            &Encoding {
                selector: &s.selector,
                delta: s.delta,
                now_ns,
                start_ns,
                resource: &self.resource,
            },
            &mut self.ledger,
        );
        self.payload = Some(compress(raw, &s.accepted));
    }

    /// Whether a request is due now (the core then finds it a node).
    pub fn request_due(&self, now: Instant) -> bool {
        match self.state {
            State::SubscriptionNeeded => self.due.is_none_or(|d| now >= d),
            _ => self.payload.is_some() && self.push_due(now),
        }
    }

    /// The request that is due, moving to its in-progress state.
    pub fn request(&mut self, now: Instant) -> Option<RequestKind> {
        if !self.request_due(now) {
            return None;
        }
        if self.state == State::SubscriptionNeeded {
            self.state = State::SubscriptionInProgress;
            let id = self.instance_id().unwrap_or(Uuid::ZERO);
            return Some(RequestKind::GetTelemetrySubscriptions(
                GetTelemetrySubscriptionsRequest {
                    client_instance_id: id,
                    ..Default::default()
                },
            ));
        }
        let s = self.subscription.as_ref()?;
        let (metrics, compression) = self.payload.take()?;
        let terminating = self.state == State::TerminatingPushNeeded;
        self.state = if terminating {
            State::TerminatingPushInProgress
        } else {
            State::PushInProgress
        };
        Some(RequestKind::PushTelemetry(PushTelemetryRequest {
            client_instance_id: s.instance_id,
            subscription_id: s.id,
            terminating,
            compression_type: compression,
            metrics,
            ..Default::default()
        }))
    }

    /// When the next request is due, while one waits for its time.
    pub fn next_wake(&self) -> Option<Instant> {
        match self.state {
            State::SubscriptionNeeded | State::PushNeeded => self.due,
            State::TerminatingPushNeeded | State::TerminatingPushInProgress => {
                self.terminal_deadline
            }
            _ => None,
        }
    }

    pub fn on_subscriptions(
        &mut self,
        r: &GetTelemetrySubscriptionsResponse,
        now: Instant,
        jitter: &mut Jitter,
    ) {
        if self.state != State::SubscriptionInProgress {
            return;
        }
        if r.error_code != 0 {
            return self.on_error(ErrorCode(r.error_code), now);
        }
        if r.client_instance_id == Uuid::ZERO {
            tracing::debug!("GetTelemetrySubscriptions gave no client instance id");
            return self.retry_at(later(now, DEFAULT_INTERVAL));
        }
        let interval = match r.push_interval_ms {
            ms if ms > 0 => Duration::from_millis(ms as u64),
            _ => DEFAULT_INTERVAL,
        };
        let requested: Vec<String> = r.requested_metrics.iter().map(|s| s.to_string()).collect();
        let selector = Selector::from_requested(&requested);
        if self
            .subscription
            .as_ref()
            .is_some_and(|s| s.delta != r.delta_temporality)
        {
            self.ledger.reset();
        }
        let pushes = selector != Selector::None;
        self.subscription = Some(Subscription {
            instance_id: r.client_instance_id,
            id: r.subscription_id,
            interval,
            accepted: r.accepted_compression_types.clone(),
            delta: r.delta_temporality,
            selector,
        });
        tracing::debug!(instance_id = %r.client_instance_id, ?interval, pushes, "client telemetry subscription");
        if pushes {
            // The first push at 0.5 to 1.5 intervals: clients started
            // together do not push together.
            let spread = 0.5 + (jitter.factor() - 0.8) / 0.4;
            self.state = State::PushNeeded;
            self.due = Some(later(now, interval.mul_f64(spread)));
        } else {
            // Nothing asked for: ask again after the interval.
            self.retry_at(later(now, interval));
        }
    }

    pub fn on_push(&mut self, r: &PushTelemetryResponse, now: Instant) {
        match self.state {
            State::TerminatingPushInProgress => self.state = State::Off,
            State::PushInProgress if r.error_code != 0 => {
                self.on_error(ErrorCode(r.error_code), now)
            }
            State::PushInProgress => {
                self.state = State::PushNeeded;
                let interval = self
                    .subscription
                    .as_ref()
                    .map_or(DEFAULT_INTERVAL, |s| s.interval);
                self.due = Some(later(now, interval));
            }
            _ => {}
        }
    }

    /// The request failed in transport, or the broker does not offer it
    /// (no telemetry plugin): ask again later, as Java does.
    pub fn on_failed(&mut self, why: &str, now: Instant) {
        match self.state {
            State::TerminatingPushInProgress => self.state = State::Off,
            State::SubscriptionInProgress | State::PushInProgress => {
                tracing::debug!(
                    why,
                    "client telemetry request failed; trying again in 5 minutes"
                );
                self.retry_at(later(now, DEFAULT_INTERVAL));
            }
            _ => {}
        }
    }

    /// As Java's `maybeFetchErrorIntervalMs`.
    fn on_error(&mut self, code: ErrorCode, now: Instant) {
        let interval = self
            .subscription
            .as_ref()
            .map_or(DEFAULT_INTERVAL, |s| s.interval);
        match code {
            ErrorCode::UNKNOWN_SUBSCRIPTION_ID | ErrorCode::UNSUPPORTED_COMPRESSION_TYPE => {
                self.retry_at(now)
            }
            ErrorCode::TELEMETRY_TOO_LARGE | ErrorCode::THROTTLING_QUOTA_EXCEEDED => {
                self.retry_at(later(now, interval))
            }
            _ => {
                tracing::warn!(error = %code, "client telemetry turned off after this answer");
                self.state = State::Off;
            }
        }
    }

    fn retry_at(&mut self, at: Instant) {
        self.state = State::SubscriptionNeeded;
        self.payload = None;
        self.due = Some(at);
    }

    /// The producer closes: one last push, if subscribed, within `bound`.
    pub fn begin_close(&mut self, now: Instant, bound: Duration) {
        match self.state {
            State::PushNeeded | State::PushInProgress => {
                self.state = State::TerminatingPushNeeded;
                self.payload = None;
                self.terminal_deadline = Some(later(now, bound));
            }
            State::TerminatingPushNeeded | State::TerminatingPushInProgress => {}
            _ => self.state = State::Off,
        }
    }

    /// Nothing left to push before the close ends.
    pub fn settled(&self, now: Instant) -> bool {
        !matches!(
            self.state,
            State::TerminatingPushNeeded | State::TerminatingPushInProgress
        ) || self.terminal_deadline.is_some_and(|d| now >= d)
    }
}

fn later(t: Instant, d: Duration) -> Instant {
    super::later(t, d)
}

/// The payload compressed with the first codec the broker accepts that
/// this build has (none if none): the broker lists them by preference.
fn compress(raw: Vec<u8>, accepted: &[i8]) -> (Bytes, i8) {
    for id in accepted {
        let Ok(t) = CompressionType::from_id(*id as u8) else {
            continue;
        };
        if t == CompressionType::None {
            break;
        }
        let Ok(codec) = BuiltinCodec::new(t, None) else {
            continue;
        };
        let mut out = BytesMut::new();
        if codec.compress(&raw, &mut out).is_ok() {
            return (out.freeze(), *id);
        }
    }
    (Bytes::from(raw), 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::primitives::StrBytes;

    fn subscribed(requested: &[&str]) -> GetTelemetrySubscriptionsResponse {
        GetTelemetrySubscriptionsResponse {
            client_instance_id: Uuid([7; 16]),
            subscription_id: 3,
            push_interval_ms: 1_000,
            accepted_compression_types: vec![3, 0],
            requested_metrics: requested
                .iter()
                .map(|s| StrBytes::from_string(s.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn subscribes_pushes_and_pushes_a_last_time_at_close() {
        let t0 = Instant::now();
        let mut jitter = Jitter::new(1);
        let mut t = ClientTelemetry::new(true, vec![]).unwrap();
        let Some(RequestKind::GetTelemetrySubscriptions(r)) = t.request(t0) else {
            panic!("subscription first")
        };
        assert_eq!(r.client_instance_id, Uuid::ZERO);
        assert!(t.request(t0).is_none(), "one at a time");
        t.on_subscriptions(
            &subscribed(&["org.apache.kafka.producer."]),
            t0,
            &mut jitter,
        );
        assert_eq!(t.instance_id(), Some(Uuid([7; 16])));
        let first = t.next_wake().unwrap();
        assert!(
            first >= t0 + Duration::from_millis(500) && first <= t0 + Duration::from_millis(1_500)
        );
        assert!(!t.wants_metrics(t0));
        assert!(t.wants_metrics(first));
        let mut m = ProducerMetrics::default();
        m.producer.insert("record-send-total", 1.0);
        t.set_metrics(&m, 1, 0);
        let Some(RequestKind::PushTelemetry(p)) = t.request(first) else {
            panic!("push")
        };
        assert_eq!((p.subscription_id, p.terminating), (3, false));
        assert_eq!(p.compression_type, 3, "lz4, the first accepted");
        t.on_push(&PushTelemetryResponse::default(), first);
        assert_eq!(t.next_wake(), Some(first + Duration::from_secs(1)));
        t.begin_close(first, Duration::from_secs(30));
        assert!(!t.settled(first));
        assert!(
            t.wants_metrics(first),
            "the last push does not wait for the interval"
        );
        t.set_metrics(&m, 2, 0);
        let Some(RequestKind::PushTelemetry(p)) = t.request(first) else {
            panic!("terminating push")
        };
        assert!(p.terminating);
        t.on_push(&PushTelemetryResponse::default(), first);
        assert!(t.settled(first));
        assert!(t.request(first + Duration::from_secs(600)).is_none());
    }

    #[test]
    fn a_last_push_that_cannot_go_does_not_hold_the_close() {
        let t0 = Instant::now();
        let mut t = ClientTelemetry::new(true, vec![]).unwrap();
        t.request(t0);
        t.on_subscriptions(&subscribed(&["*"]), t0, &mut Jitter::new(1));
        t.begin_close(t0, Duration::from_secs(5));
        // No node to send it to: the close waits for the bound, no longer.
        assert!(!t.settled(t0 + Duration::from_secs(4)));
        assert_eq!(t.next_wake(), Some(t0 + Duration::from_secs(5)));
        assert!(t.settled(t0 + Duration::from_secs(5)));
    }

    #[test]
    fn no_metrics_asked_means_no_push_and_a_new_ask_later() {
        let t0 = Instant::now();
        let mut t = ClientTelemetry::new(true, vec![]).unwrap();
        t.request(t0);
        t.on_subscriptions(&subscribed(&[]), t0, &mut Jitter::new(1));
        assert!(!t.wants_metrics(t0 + Duration::from_secs(10)));
        let again = t0 + Duration::from_secs(1);
        assert!(
            matches!(t.request(again), Some(RequestKind::GetTelemetrySubscriptions(r)) if r.client_instance_id == Uuid([7; 16]))
        );
        // Not subscribed at close: nothing to wait for.
        t.begin_close(again, Duration::from_secs(30));
        assert!(t.settled(again));
    }

    #[test]
    fn errors_retry_or_turn_telemetry_off_as_java_does() {
        let t0 = Instant::now();
        let mut t = ClientTelemetry::new(true, vec![]).unwrap();
        t.request(t0);
        t.on_failed("no common version", t0);
        assert_eq!(t.next_wake(), Some(t0 + DEFAULT_INTERVAL));
        let t1 = t0 + DEFAULT_INTERVAL;
        t.request(t1);
        t.on_subscriptions(&subscribed(&["*"]), t1, &mut Jitter::new(1));
        let due = t.next_wake().unwrap();
        t.set_metrics(&ProducerMetrics::default(), 1, 0);
        t.request(due);
        let unknown = PushTelemetryResponse {
            error_code: ErrorCode::UNKNOWN_SUBSCRIPTION_ID.0,
            ..Default::default()
        };
        t.on_push(&unknown, due);
        assert!(matches!(
            t.request(due),
            Some(RequestKind::GetTelemetrySubscriptions(_))
        ));
        let invalid = GetTelemetrySubscriptionsResponse {
            error_code: ErrorCode::INVALID_REQUEST.0,
            ..Default::default()
        };
        t.on_subscriptions(&invalid, due, &mut Jitter::new(1));
        assert!(
            t.next_wake().is_none() && t.request(due + DEFAULT_INTERVAL).is_none(),
            "off"
        );
        assert!(ClientTelemetry::new(false, vec![]).is_none());
    }
}
