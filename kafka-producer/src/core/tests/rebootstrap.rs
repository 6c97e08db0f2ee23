//! KIP-899 / KIP-1102: when the producer goes back to `bootstrap.servers`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::generated::MetadataResponse;
use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::ErrorCode;

use super::{metadata_for, record, serve, ProducerCore, Transmit};
use crate::ProducerConfig;

fn core(strategy: &str) -> ProducerCore {
    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", "b1:9092"),
        ("enable.idempotence", "false"),
        ("acks", "1"),
        ("linger.ms", "0"),
        ("retry.backoff.ms", "100"),
        ("metadata.recovery.strategy", strategy),
        ("metadata.recovery.rebootstrap.trigger.ms", "5000"),
    ])
    .unwrap();
    ProducerCore::new(Arc::new(config), 1).unwrap()
}

/// The next Metadata request's node and request id.
fn next_metadata(core: &mut ProducerCore, now: Instant) -> (i32, u64) {
    core.handle_timeout(now);
    while let Some(Transmit {
        request_id,
        node,
        request,
        ..
    }) = core.poll_transmit(now)
    {
        if let RequestKind::Metadata(_) = request {
            return (node.id, request_id);
        }
    }
    panic!("no Metadata request at {now:?}");
}

/// The broker of the metadata answers (node 1) is at k1:9092, not at the
/// bootstrap address: a request to node 1 went to a learned broker.
fn learned(topics: &[&str]) -> MetadataResponse {
    let mut m = metadata_for(topics);
    m.brokers[0].host = "k1".into();
    m
}

fn failed(code: ErrorCode) -> Option<ResponseKind> {
    Some(ResponseKind::Metadata(MetadataResponse {
        error_code: code.0,
        ..Default::default()
    }))
}

#[test]
fn rebootstrap_required_sends_the_next_request_to_bootstrap_servers() {
    for (strategy, back_to_bootstrap) in [("rebootstrap", true), ("none", false)] {
        let mut core = core(strategy);
        let t0 = Instant::now();
        drop(record(&mut core, "a", t0));
        let (node, id) = next_metadata(&mut core, t0);
        assert!(node < 0, "the first request goes to bootstrap.servers");
        core.handle_response(id, Ok(Some(ResponseKind::Metadata(learned(&["a"])))), t0);
        serve(&mut core, t0);
        // After retry.backoff.ms, a new topic.
        let t1 = t0 + Duration::from_millis(200);
        drop(record(&mut core, "b", t1));
        let (node, id) = next_metadata(&mut core, t1);
        assert_eq!(node, 1, "then to the broker learned");
        core.handle_response(id, Ok(failed(ErrorCode::REBOOTSTRAP_REQUIRED)), t1);
        let (node, _) = next_metadata(&mut core, t0 + Duration::from_secs(1));
        assert_eq!(node < 0, back_to_bootstrap, "{strategy}: asked node {node}");
    }
}

#[test]
fn metadata_failing_for_the_trigger_time_rebootstraps() {
    let mut core = core("rebootstrap");
    let t0 = Instant::now();
    drop(record(&mut core, "a", t0));
    let (_, id) = next_metadata(&mut core, t0);
    core.handle_response(id, Ok(Some(ResponseKind::Metadata(learned(&["a"])))), t0);
    serve(&mut core, t0);
    // A new topic: the learned broker answers every Metadata request with
    // an error, for longer than the trigger (5 s).
    drop(record(&mut core, "b", t0));
    let mut now = t0;
    let mut bootstrap_at = None;
    for _ in 0..100 {
        now += Duration::from_millis(200);
        let (node, id) = next_metadata(&mut core, now);
        if node < 0 {
            bootstrap_at = Some(now);
            break;
        }
        core.handle_response(id, Ok(failed(ErrorCode::UNKNOWN_SERVER_ERROR)), now);
    }
    let at = bootstrap_at.expect("back to bootstrap.servers");
    let failing = at.duration_since(t0 + Duration::from_millis(200));
    assert!(
        failing >= Duration::from_secs(5) && failing < Duration::from_secs(6),
        "after {failing:?}"
    );
}
