use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::generated::{MetadataResponse, ProduceResponse};
use kafka_protocol::messages::{RequestKind, ResponseKind};

use super::{PendingRecord, ProducerCore, Transmit};
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
    let (reply, rx) = super::delivery_channel();
    let record = ProducerRecord::new(topic).value("v");
    core.enqueue(
        PendingRecord {
            record,
            timestamp: 1,
            reply,
            permits: 100,
        },
        now,
    );
    rx
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
    let mut core = ProducerCore::new(Arc::new(config), None, 1).unwrap();
    let t0 = Instant::now();
    let mut first = record(&mut core, "idle", t0);
    assert_eq!(serve(&mut core, t0), vec![vec!["idle".to_string()]]);
    assert!(first.try_recv().unwrap().is_ok());
    // Past metadata.max.idle.ms without a record for it: the next metadata
    // request (for a new topic) no longer asks for "idle".
    let later = t0 + Duration::from_secs(6);
    assert!(core.poll_timeout().is_some_and(|t| t <= later));
    core.handle_timeout(later);
    let mut second = record(&mut core, "busy", later);
    assert_eq!(serve(&mut core, later), vec![vec!["busy".to_string()]]);
    assert!(second.try_recv().unwrap().is_ok());
}
