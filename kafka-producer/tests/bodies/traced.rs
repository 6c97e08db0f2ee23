//! Trace propagation (feature `otel`): one body on Kafka and the fake.

use std::sync::Arc;
use std::time::Duration;

use kafka_producer::otel::{context_from_headers, TracePropagation};
use kafka_producer::{Producer, ProducerConfig, ProducerRecord};
use opentelemetry::trace::{SpanKind, TracerProvider};
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

use super::{new_topic, read_all};

/// Every send gets a span, a child of the caller's, ended at the record's
/// acknowledgement with its partition and offset; the record's
/// `traceparent` names that span. Run on a current-thread runtime: the
/// subscriber is the thread's default.
pub async fn sends_carry_their_span_in_traceparent(b: &str) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _default = tracing::subscriber::set_default(subscriber);

    let (topic, info) = new_topic(b, "traced", 2).await;
    let config = ProducerConfig::builder()
        .bootstrap_servers(b)
        .interceptor(Arc::new(TracePropagation))
        .build()
        .unwrap();
    let p = Producer::new(config).unwrap();
    let n = 20;
    let deliveries = async {
        let mut deliveries = Vec::new();
        for i in 0..n {
            let record = ProducerRecord::new(&topic)
                .key(format!("k{i}"))
                .value(format!("v{i}"));
            deliveries.push(p.send(record).await.unwrap());
        }
        deliveries
    }
    .instrument(tracing::info_span!("request"))
    .await;
    for d in deliveries {
        d.await.expect("delivered");
    }
    p.close(Duration::from_secs(10)).await;
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let request = spans
        .iter()
        .find(|s| s.name == "request")
        .expect("the caller's span");
    let trace = request.span_context.trace_id();
    let publish_name = format!("{topic} publish");
    let publishes: Vec<_> = spans.iter().filter(|s| s.name == publish_name).collect();
    assert_eq!(publishes.len(), n, "a span per send");
    let attr = |s: &opentelemetry_sdk::trace::SpanData, key: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    };
    for s in &publishes {
        assert_eq!(s.span_context.trace_id(), trace);
        assert_eq!(s.parent_span_id, request.span_context.span_id());
        assert_eq!(s.span_kind, SpanKind::Producer);
    }
    let records: Vec<_> = read_all(&topic, &info)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(records.len(), n);
    for r in &records {
        let headers = r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        let sc = context_from_headers(headers).expect("a traceparent header");
        assert_eq!(sc.trace_id(), trace);
        let span = publishes
            .iter()
            .find(|s| s.span_context.span_id() == sc.span_id())
            .expect("the header names a send's span");
        // The span ended with the record's place in the log.
        assert_eq!(
            attr(span, "messaging.kafka.offset"),
            Some(Value::I64(r.offset))
        );
        assert!(attr(span, "messaging.destination.partition.id").is_some());
    }
}
