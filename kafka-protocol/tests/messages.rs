//! Cross-cutting checks of the generated messages: API key table, header
//! versions, version bounds, Produce v12 and v13, unknown tagged fields,
//! hostile input.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::generated::api_versions_response::ApiVersion;
use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::generated::{
    ApiVersionsResponse, InitProducerIdRequest, MetadataRequest, ProduceRequest, RequestHeader,
};
use kafka_protocol::messages::{
    ApiKey, Decodable, Encodable, Message, Request, RequestKind, ResponseKind,
};
use kafka_protocol::primitives::{write_uvarint, StrBytes};
use kafka_protocol::ProtocolError;

#[test]
fn api_key_table() {
    assert_eq!(
        ApiKey::ALL.len(),
        91,
        "Kafka 4.4.0 speaks 91 APIs (4 more are removed, with no valid version)"
    );
    assert_eq!(kafka_protocol::generated::KAFKA_VERSION, "4.4.0");
    assert_eq!(ApiKey::from_i16(0), Some(ApiKey::Produce));
    assert_eq!(ApiKey::try_from(18).unwrap(), ApiKey::ApiVersions);
    assert!(matches!(
        ApiKey::try_from(-5),
        Err(ProtocolError::UnknownApiKey(-5))
    ));
    for k in ApiKey::ALL {
        assert_eq!(ApiKey::from_i16(*k as i16), Some(*k));
        assert!(k.versions().min <= k.versions().max, "{k}");
    }
    assert_eq!(ApiKey::Produce.versions().max, 13);
    // Kafka 4.0 removed Produce v0-2 (KIP-896).
    assert_eq!(ApiKey::Produce.versions().min, 3);
    // Only a version Kafka calls stable is negotiated.
    assert_eq!(ApiKey::InitProducerId.versions().max, 6);
    assert_eq!(ApiKey::InitProducerId.stable_versions().max, 5);
    assert_eq!(
        ApiKey::Produce.stable_versions(),
        ApiKey::Produce.versions()
    );
    assert_eq!(<ProduceRequest as Request>::API_KEY, ApiKey::Produce);
}

#[test]
fn header_versions() {
    assert_eq!(ApiKey::Produce.request_header_version(8), 1);
    assert_eq!(ApiKey::Produce.request_header_version(9), 2);
    assert_eq!(ApiKey::Produce.response_header_version(8), 0);
    assert_eq!(ApiKey::Produce.response_header_version(9), 1);
    assert_eq!(ApiKey::ApiVersions.request_header_version(3), 2);
    assert_eq!(
        ApiKey::ApiVersions.response_header_version(3),
        0,
        "ApiVersions responses always use header v0"
    );
    assert_eq!(ApiKey::Metadata.request_header_version(8), 1);
    assert_eq!(ApiKey::Metadata.request_header_version(9), 2);
}

#[test]
fn client_id_is_never_compact() {
    // RequestHeader v2 is flexible, but ClientId keeps its int16 length.
    let h = RequestHeader {
        request_api_key: 3,
        request_api_version: 12,
        correlation_id: 7,
        client_id: Some("ab".into()),
        ..Default::default()
    };
    let b = h.to_bytes(2).unwrap();
    assert_eq!(&b[..], &[0, 3, 0, 12, 0, 0, 0, 7, 0, 2, b'a', b'b', 0]);
}

#[test]
fn versions_outside_the_range_are_errors() {
    let m = MetadataRequest::default();
    assert!(matches!(
        m.to_bytes(14),
        Err(ProtocolError::UnsupportedVersion { .. })
    ));
    assert!(matches!(
        MetadataRequest::decode(&Bytes::new(), -1),
        Err(ProtocolError::UnsupportedVersion { .. })
    ));
}

#[test]
fn produce_v12_has_the_v11_layout() {
    let mut req = ProduceRequest {
        transactional_id: Some("tx".into()),
        acks: -1,
        timeout_ms: 1500,
        ..Default::default()
    };
    req.topic_data.push(TopicProduceData {
        name: "t".into(),
        partition_data: vec![PartitionProduceData {
            index: 3,
            records: Some(Bytes::from_static(b"batch")),
            ..Default::default()
        }],
        ..Default::default()
    });
    assert_eq!(req.to_bytes(12).unwrap(), req.to_bytes(11).unwrap());
    assert_eq!(
        ProduceRequest::decode(&req.to_bytes(12).unwrap(), 12).unwrap(),
        req
    );
}

#[test]
fn produce_v13_names_topics_by_id() {
    let id = kafka_protocol::primitives::Uuid([7; 16]);
    let mut req = ProduceRequest {
        acks: -1,
        timeout_ms: 1500,
        ..Default::default()
    };
    req.topic_data.push(TopicProduceData {
        name: "events".into(),
        topic_id: id,
        partition_data: vec![PartitionProduceData {
            index: 0,
            records: Some(Bytes::from_static(b"batch")),
            ..Default::default()
        }],
        ..Default::default()
    });
    let v13 = req.to_bytes(13).unwrap();
    let v12 = req.to_bytes(12).unwrap();
    // v13 carries the 16-byte id instead of the name (a 1-byte compact length + 6 bytes).
    assert_eq!(v13.len(), v12.len() - 7 + 16);
    let back = ProduceRequest::decode(&v13, 13).unwrap();
    assert_eq!(back.topic_data[0].topic_id, id);
    assert_eq!(
        back.topic_data[0].name.as_str(),
        "",
        "the name is not on the wire at v13"
    );
    let back = ProduceRequest::decode(&v12, 12).unwrap();
    assert_eq!(back.topic_data[0].name.as_str(), "events");
}

#[test]
fn non_ignorable_field_missing_from_version_is_an_error() {
    // InitProducerId v3+ has ProducerId; at v2 a producer id cannot be sent.
    let req = InitProducerIdRequest {
        producer_id: 5,
        ..Default::default()
    };
    assert!(matches!(
        req.to_bytes(2),
        Err(ProtocolError::FieldNotInVersion {
            field: "ProducerId",
            version: 2
        })
    ));
}

#[test]
fn unknown_tagged_fields_are_kept() {
    let mut resp = ApiVersionsResponse::default();
    resp.api_keys.push(ApiVersion {
        api_key: 0,
        min_version: 3,
        max_version: 12,
        ..Default::default()
    });
    let mut bytes = BytesMut::from(&resp.to_bytes(3).unwrap()[..]);
    // Replace the empty top-level tagged section (last byte) with one unknown field, tag 99.
    bytes.truncate(bytes.len() - 1);
    write_uvarint(&mut bytes, 1);
    write_uvarint(&mut bytes, 99);
    write_uvarint(&mut bytes, 3);
    bytes.put_slice(b"xyz");
    let bytes = bytes.freeze();
    let decoded = ApiVersionsResponse::decode(&bytes, 3).unwrap();
    assert_eq!(
        decoded.unknown_tagged_fields.get(&99).map(|b| &b[..]),
        Some(&b"xyz"[..])
    );
    assert_eq!(decoded.to_bytes(3).unwrap(), bytes);
}

#[test]
fn defaults_come_from_the_schemas() {
    let m = MetadataRequest::default();
    assert!(
        m.allow_auto_topic_creation,
        "AllowAutoTopicCreation defaults to true"
    );
    assert_eq!(m.topics, Some(Vec::new()));
    assert_eq!(ProduceRequest::default().transactional_id, None);
}

#[test]
fn hostile_bodies_are_errors() {
    // A topic array claiming 2^31-1 entries in a 12-byte body.
    let mut b = BytesMut::new();
    b.put_i16(-1); // transactional id: null
    b.put_i16(1);
    b.put_i32(1000);
    b.put_i32(i32::MAX);
    let b = b.freeze();
    assert!(matches!(
        ProduceRequest::decode(&b, 8),
        Err(ProtocolError::LengthExceedsInput { .. })
    ));
    // Trailing bytes after a complete message.
    let mut ok = BytesMut::from(&MetadataRequest::default().to_bytes(4).unwrap()[..]);
    ok.put_u8(0);
    assert!(matches!(
        MetadataRequest::decode(&ok.freeze(), 4),
        Err(ProtocolError::TrailingBytes(1))
    ));
    for k in ApiKey::ALL {
        for v in [k.versions().min, k.versions().max] {
            for junk in [
                &[][..],
                &[0xff][..],
                &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80][..],
            ] {
                let junk = Bytes::copy_from_slice(junk);
                let _ = RequestKind::decode(*k, v, &junk);
                let _ = ResponseKind::decode(*k, v, &junk);
            }
        }
    }
}

#[test]
fn strings_decode_without_copying() {
    let h = RequestHeader {
        client_id: Some(StrBytes::from_string("client-1".to_string())),
        ..Default::default()
    };
    let bytes = h.to_bytes(1).unwrap();
    let (_, decoded) = RequestHeader::decode_from(&bytes, &bytes, 1).unwrap();
    let id = decoded.client_id.clone().unwrap();
    assert_eq!(id, "client-1");
    assert_eq!(id.as_bytes().as_ptr(), bytes[10..].as_ptr());
    assert_eq!(decoded.encoded_size(1).unwrap(), bytes.len());
}

/// A hostile response of a million near-empty elements: each takes 3 bytes
/// on the wire and about thirty times that as a struct. Decoding refuses it
/// by the allocation budget instead of turning 3 MB into 100 MB; a normal
/// response of the same shape decodes.
#[test]
fn tiny_elements_cannot_amplify_memory() {
    use bytes::BufMut;
    use kafka_protocol::generated::ProduceResponse;
    use kafka_protocol::messages::Message;
    use kafka_protocol::ProtocolError;

    let body = |topics: u32| {
        let mut b = bytes::BytesMut::new();
        // v9 (flexible): compact array of topics, each an empty compact
        // name, an empty compact partition array and no tagged fields.
        kafka_protocol::primitives::write_uvarint(&mut b, topics + 1);
        for _ in 0..topics {
            b.put_slice(&[1, 1, 0]);
        }
        b.put_i32(0); // throttle_time_ms
        b.put_u8(0); // tagged fields
        b.freeze()
    };
    let hostile = body(1_000_000);
    match ProduceResponse::decode(&hostile, 9) {
        Err(ProtocolError::AllocationBudget { input, budget }) => {
            assert_eq!(input, hostile.len());
            assert!(budget < 100 * 1024 * 1024);
        }
        other => panic!(
            "expected the allocation budget, got {:?}",
            other.map(|r| r.responses.len())
        ),
    }
    let normal = ProduceResponse::decode(&body(100), 9).unwrap();
    assert_eq!(normal.responses.len(), 100);
}
