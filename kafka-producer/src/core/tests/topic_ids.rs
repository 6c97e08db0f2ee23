//! Produce v13 (KIP-516): topics by id when Metadata gave one, by name
//! (v12) when not; a response that names topics by id only; UNKNOWN_TOPIC_ID;
//! Metadata v13's top-level error code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::generated::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::generated::ProduceResponse;
use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::primitives::Uuid;
use kafka_protocol::ErrorCode;

use super::{metadata_for, record};
use crate::core::{ProducerCore, Transmit};
use crate::ProducerConfig;

const ID: Uuid = Uuid([9; 16]);

fn core() -> ProducerCore {
    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", "b1:9092"),
        ("enable.idempotence", "false"),
        ("acks", "1"),
        ("linger.ms", "0"),
        ("retry.backoff.ms", "10"),
    ])
    .unwrap();
    ProducerCore::new(Arc::new(config), 1).unwrap()
}

/// Answers the metadata request in flight with `topic` of id `id`.
fn answer_metadata(core: &mut ProducerCore, topic: &str, id: Uuid, now: Instant) {
    let t = core.poll_transmit(now).expect("a metadata request");
    assert!(
        matches!(t.request, RequestKind::Metadata(_)),
        "{:?}",
        t.request.api_key()
    );
    let mut md = metadata_for(&[topic]);
    md.topics[0].topic_id = id;
    core.handle_response(t.request_id, Ok(Some(ResponseKind::Metadata(md))), now);
}

fn next_produce(core: &mut ProducerCore, now: Instant) -> Transmit {
    let t = core.poll_transmit(now).expect("a produce request");
    assert!(
        matches!(t.request, RequestKind::Produce(_)),
        "{:?}",
        t.request.api_key()
    );
    t
}

/// A v13 answer: topics by id, no names.
fn answer_by_id(core: &mut ProducerCore, t: Transmit, code: ErrorCode, now: Instant) {
    let RequestKind::Produce(req) = &t.request else {
        unreachable!()
    };
    let responses = req
        .topic_data
        .iter()
        .map(|td| TopicProduceResponse {
            topic_id: td.topic_id,
            partition_responses: vec![PartitionProduceResponse {
                index: 0,
                error_code: code.0,
                base_offset: 41,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    let resp = ProduceResponse {
        responses,
        ..Default::default()
    };
    core.handle_response(t.request_id, Ok(Some(ResponseKind::Produce(resp))), now);
}

#[test]
fn a_topic_with_an_id_goes_by_id_and_its_answer_by_id_completes_it() {
    let mut core = core();
    let t0 = Instant::now();
    let mut delivery = record(&mut core, "events", t0);
    answer_metadata(&mut core, "events", ID, t0);
    let t = next_produce(&mut core, t0);
    assert_eq!(t.max_version, Some(13));
    let RequestKind::Produce(req) = &t.request else {
        unreachable!()
    };
    assert_eq!(req.topic_data[0].topic_id, ID);
    answer_by_id(&mut core, t, ErrorCode::NONE, t0);
    let md = delivery.try_recv().unwrap().expect("delivered");
    assert_eq!((md.partition, md.offset), (0, 41));
}

#[test]
fn a_topic_without_an_id_goes_by_name_at_v12() {
    let mut core = core();
    let t0 = Instant::now();
    let _delivery = record(&mut core, "events", t0);
    answer_metadata(&mut core, "events", Uuid::ZERO, t0);
    let t = next_produce(&mut core, t0);
    assert_eq!(t.max_version, Some(12));
}

#[test]
fn unknown_topic_id_refreshes_metadata_and_retries() {
    let mut core = core();
    let t0 = Instant::now();
    let mut delivery = record(&mut core, "events", t0);
    answer_metadata(&mut core, "events", ID, t0);
    let t = next_produce(&mut core, t0);
    answer_by_id(&mut core, t, ErrorCode::UNKNOWN_TOPIC_ID, t0);
    assert!(delivery.try_recv().is_err(), "retried, not failed");
    // The topic was recreated: a new id, learned before the retry.
    let t1 = t0 + Duration::from_millis(50);
    core.handle_timeout(t1);
    let new_id = Uuid([3; 16]);
    answer_metadata(&mut core, "events", new_id, t1);
    core.handle_timeout(t1);
    let t = next_produce(&mut core, t1);
    let RequestKind::Produce(req) = &t.request else {
        unreachable!()
    };
    assert_eq!(req.topic_data[0].topic_id, new_id);
    answer_by_id(&mut core, t, ErrorCode::NONE, t1);
    assert!(delivery.try_recv().unwrap().is_ok());
}

#[test]
fn a_metadata_error_at_the_top_level_teaches_nothing() {
    let mut core = core();
    let t0 = Instant::now();
    let _delivery = record(&mut core, "events", t0);
    let t = core.poll_transmit(t0).expect("a metadata request");
    let mut md = metadata_for(&["events"]);
    md.error_code = ErrorCode::REBOOTSTRAP_REQUIRED.0;
    core.handle_response(t.request_id, Ok(Some(ResponseKind::Metadata(md))), t0);
    // Nothing to produce (the topic's partitions were not taken), and the
    // metadata is asked for again after the backoff.
    assert!(core.poll_transmit(t0).is_none());
    let t1 = t0 + Duration::from_millis(200);
    core.handle_timeout(t1);
    let again = core.poll_transmit(t1).expect("asked again");
    assert!(matches!(again.request, RequestKind::Metadata(_)));
}
