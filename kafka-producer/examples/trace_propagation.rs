//! Trace propagation end to end, without a broker: a producer with
//! `TracePropagation` sends a record inside a "checkout" span to
//! `kafka-fake`; a consumer-side reader takes the record as stored, picks
//! the OpenTelemetry context out of its `traceparent` header and continues
//! the trace in its own "process" span. The spans are printed: one trace,
//! the publish span a child of "checkout", "process" a child of the
//! publish span.
//!
//! ```sh
//! cargo run -p kafka-producer --features otel --example trace_propagation
//! ```

use std::sync::Arc;
use std::time::Duration;

use kafka_fake::FakeCluster;
use kafka_producer::otel::{context_from_headers, TracePropagation};
use kafka_producer::{Producer, ProducerConfig, ProducerRecord};
use opentelemetry::trace::{TraceContextExt, TracerProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The application's OpenTelemetry setup: here, spans kept in memory.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("trace-propagation-example");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber)?;

    let cluster = FakeCluster::builder().topic("orders", 1).start().await?;
    let config = ProducerConfig::builder()
        .bootstrap_servers(cluster.bootstrap())
        .interceptor(Arc::new(TracePropagation))
        .build()?;
    let producer = Producer::new(config)?;
    async {
        let delivery = producer
            .send(ProducerRecord::new("orders").key("o-1").value("paid"))
            .await?;
        delivery.await?;
        Ok::<_, kafka_producer::ProducerError>(())
    }
    .instrument(tracing::info_span!("checkout"))
    .await?;
    producer.close(Duration::from_secs(5)).await;

    // The consumer side: the record as a reader gets it, headers and all.
    let record = cluster.records("orders", 0).remove(0);
    let headers = record
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()));
    let remote = context_from_headers(headers).ok_or("no traceparent header")?;
    let process = tracing::info_span!("process");
    process.set_parent(opentelemetry::Context::new().with_remote_span_context(remote))?;
    process.in_scope(|| tracing::info!("processing o-1"));
    drop(process);

    provider.force_flush()?;
    // The producer's own spans (its requests) are exported too; these three
    // make the trace.
    let names = ["checkout", "orders publish", "process"];
    let mut trace = Vec::new();
    for span in exporter.get_finished_spans()? {
        if !names.contains(&&*span.name) {
            continue;
        }
        println!(
            "{:<16} trace {} span {} parent {}",
            span.name,
            span.span_context.trace_id(),
            span.span_context.span_id(),
            span.parent_span_id
        );
        trace.push(span);
    }
    // The example checks what it shows (CI runs it): one trace, each span
    // the child of the one before.
    let span = |name: &str| {
        trace
            .iter()
            .find(|s| s.name == name)
            .ok_or(format!("no {name} span"))
    };
    let (checkout, publish, process) =
        (span("checkout")?, span("orders publish")?, span("process")?);
    let one_trace = [publish, process]
        .iter()
        .all(|s| s.span_context.trace_id() == checkout.span_context.trace_id());
    if !one_trace
        || publish.parent_span_id != checkout.span_context.span_id()
        || process.parent_span_id != publish.span_context.span_id()
    {
        return Err("the spans do not make one trace".into());
    }
    Ok(())
}
