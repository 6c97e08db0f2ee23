//! The state's answers without a socket: every API at every version it
//! serves, capped versions, leader hints.

use bytes::BytesMut;
use kafka_protocol::generated::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::generated::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::generated::{
    ApiVersionsRequest, FetchRequest, ListOffsetsRequest, ProduceRequest,
};

use super::*;

fn state() -> State {
    let mut s = State::new(vec![BrokerInfo {
        id: 1,
        port: 9092,
        up: true,
        rack: None,
    }]);
    s.create_topic("t", 2).unwrap();
    s.throttle_ms = 5;
    s
}

/// A request of `api` naming topic "t" partition 0 where it names any.
fn request(api: ApiKey) -> RequestKind {
    match api {
        ApiKey::Produce => RequestKind::Produce(ProduceRequest {
            acks: -1,
            topic_data: vec![TopicProduceData {
                name: "t".into(),
                partition_data: vec![PartitionProduceData::default()],
                ..Default::default()
            }],
            ..Default::default()
        }),
        ApiKey::Fetch => RequestKind::Fetch(FetchRequest {
            max_bytes: 1 << 20,
            topics: vec![FetchTopic {
                topic: "t".into(),
                partitions: vec![FetchPartition {
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        ApiKey::ListOffsets => RequestKind::ListOffsets(ListOffsetsRequest {
            topics: vec![ListOffsetsTopic {
                name: "t".into(),
                partitions: vec![ListOffsetsPartition {
                    timestamp: -1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        ApiKey::Metadata => RequestKind::Metadata(MetadataRequest::default()),
        ApiKey::ApiVersions => RequestKind::ApiVersions(ApiVersionsRequest::default()),
        ApiKey::CreateTopics => RequestKind::CreateTopics(CreateTopicsRequest::default()),
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(DeleteTopicsRequest::default()),
        ApiKey::InitProducerId => RequestKind::InitProducerId(InitProducerIdRequest {
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        }),
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(Default::default()),
        ApiKey::AddPartitionsToTxn => RequestKind::AddPartitionsToTxn(Default::default()),
        ApiKey::AddOffsetsToTxn => RequestKind::AddOffsetsToTxn(Default::default()),
        ApiKey::TxnOffsetCommit => RequestKind::TxnOffsetCommit(Default::default()),
        ApiKey::EndTxn => RequestKind::EndTxn(Default::default()),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(Default::default()),
        ApiKey::SaslHandshake => RequestKind::SaslHandshake(Default::default()),
        ApiKey::SaslAuthenticate => RequestKind::SaslAuthenticate(Default::default()),
        other => unreachable!("{other} is not served"),
    }
}

#[test]
fn every_answer_encodes_at_every_version_served() {
    let mut s = state();
    for (api, _) in SERVED {
        let range = s.served(*api).unwrap();
        for version in range.min..=range.max {
            let Answer::Respond(resp) = s.handle(1, version, &request(*api)) else {
                panic!("{api} v{version}: no answer");
            };
            let mut b = BytesMut::new();
            resp.encode(&mut b, version)
                .unwrap_or_else(|e| panic!("{api} v{version}: {e}"));
        }
    }
}

#[test]
fn versions_can_be_capped_to_play_an_older_broker() {
    let mut s = state();
    assert_eq!(s.served(ApiKey::Produce).unwrap().max, 13);
    s.max_versions.insert(ApiKey::Produce, 9);
    assert_eq!(s.served(ApiKey::Produce).unwrap().max, 9);
    assert!(
        s.served(ApiKey::JoinGroup).is_none(),
        "groups are not served"
    );
    let advertised = s.api_versions();
    let produce = advertised.api_keys.iter().find(|k| k.api_key == 0).unwrap();
    assert_eq!((produce.min_version, produce.max_version), (3, 9));
}

#[test]
fn a_partition_not_led_here_names_its_leader() {
    let mut s = state();
    s.brokers.push(BrokerInfo {
        id: 2,
        port: 9093,
        up: true,
        rack: None,
    });
    s.move_leader("t", 0, 2);
    let Answer::Respond(ResponseKind::Produce(resp)) = s.handle(1, 13, &request(ApiKey::Produce))
    else {
        panic!("a Produce answer")
    };
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(ErrorCode(p.error_code), ErrorCode::NOT_LEADER_OR_FOLLOWER);
    assert_eq!(
        (p.current_leader.leader_id, p.current_leader.leader_epoch),
        (2, 1)
    );
}
