use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::generated::{MetadataResponse, ProduceResponse};
use kafka_protocol::messages::{RequestKind, ResponseKind};

use super::{PendingRecord, ProducerCore, Transmit};

mod bench;
mod faults;
mod hardening;
mod rebootstrap;
mod topic_ids;
use crate::{ProducerConfig, ProducerRecord};

fn metadata_for(topics: &[&str]) -> MetadataResponse {
    MetadataResponse {
        brokers: vec![MetadataResponseBroker {
            node_id: 1,
            host: "b1".into(),
            port: 9092,
            ..Default::default()
        }],
        topics: topics
            .iter()
            .map(|t| MetadataResponseTopic {
                name: Some(t.to_string().into()),
                partitions: vec![MetadataResponsePartition {
                    partition_index: 0,
                    leader_id: 1,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn record(core: &mut ProducerCore, topic: &str, now: Instant) -> crate::DeliveryFuture {
    let record = ProducerRecord::new(topic).value("v");
    core.enqueue(PendingRecord::new(record, 1, 100), || now)
        .delivery
}

/// Answers every transmit as a healthy broker would; returns the topics of
/// the metadata requests seen.
fn serve(core: &mut ProducerCore, now: Instant) -> Vec<Vec<String>> {
    let mut asked = Vec::new();
    while let Some(Transmit {
        request_id,
        request,
        ..
    }) = core.poll_transmit(now)
    {
        let response = match request {
            RequestKind::Metadata(request) => {
                let names: Vec<String> = request
                    .topics
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
                    .collect();
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let response = ResponseKind::Metadata(metadata_for(&refs));
                asked.push(names);
                response
            }
            RequestKind::Produce(request) => {
                let responses = request
                    .topic_data
                    .iter()
                    .map(|t| TopicProduceResponse {
                        name: t.name.clone(),
                        partition_responses: vec![PartitionProduceResponse {
                            index: 0,
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect();
                ResponseKind::Produce(ProduceResponse {
                    responses,
                    ..Default::default()
                })
            }
            other => unreachable!("idempotence is off: {:?}", other.api_key()),
        };
        core.handle_response(request_id, Ok(Some(response)), now);
    }
    asked
}

#[test]
fn idle_topics_leave_the_metadata() {
    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", "b1:9092"),
        ("enable.idempotence", "false"),
        ("acks", "1"),
        ("linger.ms", "0"),
        ("metadata.max.idle.ms", "5000"),
    ])
    .unwrap();
    let mut core = ProducerCore::new(Arc::new(config), 1).unwrap();
    let t0 = Instant::now();
    let mut first = record(&mut core, "idle", t0);
    assert_eq!(serve(&mut core, t0), vec![vec!["idle".to_string()]]);
    assert!(first.try_recv().unwrap().is_ok());
    // Past metadata.max.idle.ms without a record for it: "idle" leaves.
    let later = t0 + Duration::from_secs(6);
    assert!(core.poll_timeout().is_some_and(|t| t <= later));
    core.handle_timeout(later);
    assert!(!core.metadata.topics.contains_key("idle"));
    let mut second = record(&mut core, "busy", later);
    assert_eq!(serve(&mut core, later), vec![vec!["busy".to_string()]]);
    assert!(second.try_recv().unwrap().is_ok());
}

/// A producer whose Metadata requests are a second apart unless a new
/// topic is wanted (`metadata.max.age.ms` a minute).
fn one_second_backoff() -> ProducerCore {
    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", "b1:9092"),
        ("enable.idempotence", "false"),
        ("acks", "1"),
        ("linger.ms", "0"),
        ("retry.backoff.ms", "1000"),
        ("metadata.max.age.ms", "60000"),
    ])
    .unwrap();
    ProducerCore::new(Arc::new(config), 1).unwrap()
}

/// As Java's partial updates: a new topic is asked for alone and at once,
/// with no `retry.backoff.ms` since the last request; the periodic refresh
/// (`metadata.max.age.ms`, counted from the last full answer) asks for all.
#[test]
fn new_topics_are_asked_for_alone_and_at_once() {
    let mut core = one_second_backoff();
    let t0 = Instant::now();
    let names = |n: &[&str]| vec![n.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    let mut sent = vec![record(&mut core, "a", t0)];
    assert_eq!(serve(&mut core, t0), names(&["a"]));
    // 1 ms later, well within the backoff of the request for "a".
    let t1 = t0 + Duration::from_millis(1);
    sent.push(record(&mut core, "b", t1));
    assert_eq!(serve(&mut core, t1), names(&["b"]));
    let t2 = t1 + Duration::from_millis(1);
    sent.push(record(&mut core, "c", t2));
    assert_eq!(serve(&mut core, t2), names(&["c"]));
    for mut s in sent {
        assert!(s.try_recv().unwrap().is_ok());
    }
    // The first answer started metadata.max.age.ms: then every topic.
    let aged = t0 + Duration::from_secs(60);
    assert!(core.poll_timeout().is_some_and(|t| t <= aged));
    core.handle_timeout(aged);
    assert_eq!(serve(&mut core, aged), names(&["a", "b", "c"]));
}

/// Known topics that went stale while a request for new topics alone was
/// in flight are still asked for after its answer.
#[test]
fn an_answer_for_new_topics_leaves_a_stale_view_stale() {
    let mut core = one_second_backoff();
    let t0 = Instant::now();
    let mut a = record(&mut core, "a", t0);
    serve(&mut core, t0);
    assert!(a.try_recv().unwrap().is_ok());
    let _b = record(&mut core, "b", t0);
    let t = core.poll_transmit(t0).expect("a metadata request for b");
    let RequestKind::Metadata(request) = t.request else {
        panic!("not a metadata request")
    };
    assert_eq!(request.topics.map(|t| t.len()), Some(1));
    // Say a Produce answer moved a leader of "a" meanwhile.
    core.metadata.stale = true;
    let answer = ResponseKind::Metadata(metadata_for(&["b"]));
    core.handle_response(t.request_id, Ok(Some(answer)), t0);
    let later = t0 + Duration::from_secs(1);
    let asked = serve(&mut core, later);
    assert_eq!(asked, vec![vec!["a".to_string(), "b".to_string()]]);
}

fn two_leader_metadata() -> MetadataResponse {
    let broker = |id: i32| MetadataResponseBroker {
        node_id: id,
        host: format!("b{id}").into(),
        port: 9092,
        ..Default::default()
    };
    MetadataResponse {
        brokers: vec![broker(1), broker(2)],
        topics: vec![MetadataResponseTopic {
            name: Some("t".into()),
            partitions: (0..2)
                .map(|p| MetadataResponsePartition {
                    partition_index: p,
                    leader_id: p + 1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Keyless records sent while broker 2 (leader of partition 1) has taken
/// nothing for longer than `partitioner.availability.timeout.ms`: where do
/// they land? Returns how many went to partition 1.
fn keyless_records_on_the_lagging_leader(availability_timeout_ms: &str) -> usize {
    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", "b1:9092"),
        ("enable.idempotence", "false"),
        ("acks", "1"),
        ("linger.ms", "0"),
        ("batch.size", "1"),
        ("max.in.flight.requests.per.connection", "1"),
        (
            "partitioner.availability.timeout.ms",
            availability_timeout_ms,
        ),
    ])
    .unwrap();
    let mut core = ProducerCore::new(Arc::new(config), 7).unwrap();
    let t0 = Instant::now();
    let send = |core: &mut ProducerCore, partition: Option<i32>, now| {
        let mut record = ProducerRecord::new("t").value("v");
        record.partition = partition;
        core.enqueue(PendingRecord::new(record, 1, 10), || now)
            .delivery
    };
    // A batch on each partition; broker 2 never answers, so it has one
    // request in flight (its maximum) and refuses the next batches.
    let mut pending = vec![send(&mut core, Some(0), t0), send(&mut core, Some(1), t0)];
    let answer = |core: &mut ProducerCore, now: Instant| {
        while let Some(t) = core.poll_transmit(now) {
            match t.request {
                RequestKind::Metadata(_) => core.handle_response(
                    t.request_id,
                    Ok(Some(ResponseKind::Metadata(two_leader_metadata()))),
                    now,
                ),
                RequestKind::Produce(r) if t.node.id == 1 => {
                    let resp = ProduceResponse {
                        responses: r
                            .topic_data
                            .iter()
                            .map(|td| TopicProduceResponse {
                                name: td.name.clone(),
                                partition_responses: td
                                    .partition_data
                                    .iter()
                                    .map(|p| PartitionProduceResponse {
                                        index: p.index,
                                        ..Default::default()
                                    })
                                    .collect(),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    };
                    core.handle_response(t.request_id, Ok(Some(ResponseKind::Produce(resp))), now)
                }
                _ => {} // broker 2 swallows it
            }
        }
    };
    answer(&mut core, t0);
    for ms in [10, 50, 150, 300] {
        let now = t0 + Duration::from_millis(ms);
        pending.push(send(&mut core, Some(1), now));
        answer(&mut core, now);
    }
    let mut on_lagging = 0;
    for n in 0..200u64 {
        let now = t0 + Duration::from_millis(300 + n);
        let mut rx = send(&mut core, None, now);
        answer(&mut core, now);
        match rx.try_recv() {
            Ok(Ok(md)) => assert_eq!(md.partition, 0),
            _ => on_lagging += 1,
        }
    }
    on_lagging
}

#[test]
fn partitions_of_a_lagging_leader_are_avoided() {
    assert_eq!(
        keyless_records_on_the_lagging_leader("100"),
        0,
        "every keyless record avoids the leader that took nothing for 100 ms"
    );
    // The control: without the timeout the adaptive weights only make the
    // lagging partition less likely.
    assert!(keyless_records_on_the_lagging_leader("0") > 0);
}
