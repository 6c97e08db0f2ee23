//! Trace propagation (feature `otel`): [`TracePropagation`], an
//! interceptor that gives every send a `tracing` span (a child of the
//! caller's current span, ended when the record's outcome is known) and
//! writes that span's OpenTelemetry context into the record's W3C
//! `traceparent` and `tracestate` headers, as OpenTelemetry's Kafka
//! instrumentation for Java does. A consumer reads the context back with
//! [`context_from_headers`] and continues the trace.
//!
//! The spans reach OpenTelemetry through `tracing-opentelemetry`: the
//! application installs its `OpenTelemetryLayer` (the send span is at INFO
//! level). Without it the spans have no OpenTelemetry context, and records
//! get no header.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kafka_producer::{otel::TracePropagation, Producer, ProducerConfig, ProducerRecord};
//! use tracing::Instrument;
//!
//! # async fn demo() -> Result<(), kafka_producer::ProducerError> {
//! let config = ProducerConfig::builder()
//!     .bootstrap_servers("127.0.0.1:9092")
//!     .interceptor(Arc::new(TracePropagation))
//!     .build()?;
//! let producer = Producer::new(config)?;
//! async {
//!     // The record's traceparent names the span of this send, a child of "checkout".
//!     let delivery = producer.send(ProducerRecord::new("orders").value("o-1")).await?;
//!     delivery.await?;
//!     Ok::<_, kafka_producer::ProducerError>(())
//! }
//! .instrument(tracing::info_span!("checkout"))
//! .await?;
//! # Ok(()) }
//! ```

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::ProducerError;
use crate::interceptor::{ProducerInterceptor, RecordAck};
use crate::record::{ProducerRecord, RecordMetadata};

/// The W3C Trace Context header naming the trace and the parent span.
///
/// ```
/// use kafka_producer::otel::TRACEPARENT;
/// use kafka_producer::ProducerRecord;
///
/// // A record read back: does it carry a trace?
/// let record = ProducerRecord::new("orders").header(TRACEPARENT, Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
/// assert!(record.headers.iter().any(|(k, _)| k == TRACEPARENT));
/// ```
pub const TRACEPARENT: &str = "traceparent";
/// The W3C Trace Context header carrying vendor state.
///
/// ```
/// use kafka_producer::otel::{context_from_headers, TRACEPARENT, TRACESTATE};
///
/// let headers = [
///     (TRACEPARENT, Some(&b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"[..])),
///     (TRACESTATE, Some(&b"vendor=abc"[..])),
/// ];
/// let sc = context_from_headers(headers).unwrap();
/// assert_eq!(sc.trace_state().get("vendor"), Some("abc"));
/// ```
pub const TRACESTATE: &str = "tracestate";

/// Gives every send a span and propagates its context in the record's
/// headers; see the [module documentation](self).
///
/// ```
/// use std::sync::Arc;
/// use kafka_producer::otel::TracePropagation;
///
/// let config = kafka_producer::ProducerConfig::builder()
///     .bootstrap_servers("127.0.0.1:9092")
///     .interceptor(Arc::new(TracePropagation))
///     .build()
///     .unwrap();
/// assert_eq!(config.interceptors.len(), 1);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct TracePropagation;

impl ProducerInterceptor for TracePropagation {
    fn on_send_tracked(&self, mut record: ProducerRecord) -> (ProducerRecord, Option<RecordAck>) {
        // OpenTelemetry's messaging conventions for a Kafka publish.
        let span = tracing::info_span!(
            "publish",
            otel.name = %format_args!("{} publish", record.topic),
            otel.kind = "producer",
            messaging.system = "kafka",
            messaging.operation.type = "publish",
            messaging.destination.name = %record.topic,
            messaging.destination.partition.id = Empty,
            messaging.kafka.offset = Empty,
            error.type = Empty,
        );
        let context = span.context();
        let span_context = context.span().span_context().clone();
        if span_context.is_valid() {
            // A record sent again carries the new send's context only.
            record
                .headers
                .retain(|(k, _)| k != TRACEPARENT && k != TRACESTATE);
            record = record.header(TRACEPARENT, Some(traceparent(&span_context)));
            let state = span_context.trace_state().header();
            if !state.is_empty() {
                record = record.header(TRACESTATE, Some(state));
            }
        }
        let ack: RecordAck = Box::new(move |outcome: Result<&RecordMetadata, &ProducerError>| {
            match outcome {
                Ok(md) => {
                    span.record("messaging.destination.partition.id", md.partition);
                    span.record("messaging.kafka.offset", md.offset);
                }
                Err(e) => {
                    span.record("error.type", tracing::field::debug(e.class()));
                }
            }
            // The span ends with the outcome.
            drop(span);
        });
        (record, Some(ack))
    }
}

/// `traceparent` for a span context: version 00, trace id, span id, flags.
fn traceparent(sc: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

/// The remote span context a record's headers carry (`traceparent`, and
/// `tracestate` when present), for the consumer side:
/// `opentelemetry::Context::new().with_remote_span_context(sc)` is the
/// parent of the consumer's span. `None` without a valid `traceparent`.
///
/// ```
/// use kafka_producer::otel::context_from_headers;
///
/// let headers = [(
///     "traceparent",
///     Some(&b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"[..]),
/// )];
/// let sc = context_from_headers(headers).unwrap();
/// assert_eq!(sc.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
/// assert!(sc.is_sampled() && sc.is_remote());
/// ```
pub fn context_from_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
) -> Option<SpanContext> {
    let mut parent = None;
    let mut state = None;
    for (key, value) in headers {
        let value = value.and_then(|v| std::str::from_utf8(v).ok());
        match key {
            TRACEPARENT => parent = value,
            TRACESTATE => state = value,
            _ => {}
        }
    }
    let mut parts = parent?.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    // Version 00 has exactly four fields; a later version may add more.
    if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
        return None;
    }
    if trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(span).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let trace_state = state
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    let sc = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
        true,
        trace_state,
    );
    sc.is_valid().then_some(sc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tp: &str) -> Option<SpanContext> {
        context_from_headers([(TRACEPARENT, Some(tp.as_bytes()))])
    }

    #[test]
    fn traceparent_round_trips_and_bad_ones_are_refused() {
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let back = parse(&traceparent(&sc)).unwrap();
        assert_eq!(back.trace_id(), sc.trace_id());
        assert_eq!(back.span_id(), sc.span_id());
        assert!(back.is_sampled());
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        // A later version may carry more fields.
        assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz").is_some());
        let with_state = context_from_headers([
            (
                TRACEPARENT,
                Some(&b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"[..]),
            ),
            (TRACESTATE, Some(&b"congo=t61rcWkgMzE"[..])),
        ])
        .unwrap();
        assert_eq!(with_state.trace_state().get("congo"), Some("t61rcWkgMzE"));
        assert!(!with_state.is_sampled());
    }
}
