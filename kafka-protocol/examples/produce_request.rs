//! Builds a Produce request frame around a RecordBatch, as a producer would
//! send it, then reads it back the way a broker would.
//!
//! `cargo run -p kafka-protocol --example produce_request`

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::generated::{ProduceRequest, RequestHeader};
use kafka_protocol::messages::{ApiKey, Encodable, Message, Request};
use kafka_protocol::records::{BatchParams, RecordBatchWriter, RecordBatches};

fn main() -> Result<(), kafka_protocol::ProtocolError> {
    let mut writer = RecordBatchWriter::new(16 * 1024);
    for n in 0..3 {
        let key = format!("key-{n}");
        let value = format!("{{\"n\":{n}}}");
        writer.append(
            1_700_000_000_000 + n,
            Some(key.as_bytes()),
            Some(value.as_bytes()),
            [("source", Some(&b"example"[..]))],
        )?;
    }
    // An idempotent producer assigns producer id, epoch and sequence when it drains the batch.
    let batch = writer.finish(
        BatchParams {
            producer_id: 1000,
            producer_epoch: 0,
            base_sequence: 0,
            ..Default::default()
        },
        None,
    )?;

    let version = 11;
    let mut request = ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        ..Default::default()
    };
    request.topic_data.push(TopicProduceData {
        name: "events".into(),
        partition_data: vec![PartitionProduceData {
            index: 0,
            records: Some(batch),
            ..Default::default()
        }],
        ..Default::default()
    });
    let header = RequestHeader {
        request_api_key: ProduceRequest::API_KEY as i16,
        request_api_version: version,
        correlation_id: 1,
        client_id: Some("example".into()),
        ..Default::default()
    };
    let header_version = ApiKey::Produce.request_header_version(version);
    let size = header.encoded_size(header_version)? + request.encoded_size(version)?;
    let mut frame = BytesMut::with_capacity(4 + size);
    frame.put_i32(size as i32);
    header.encode(&mut frame, header_version)?;
    request.encode(&mut frame, version)?;
    println!(
        "Produce v{version} frame: {} bytes (header v{header_version})",
        frame.len()
    );

    // The broker's side: header, body, then the records.
    let frame: Bytes = frame.freeze().slice(4..);
    let (body, header) = {
        use kafka_protocol::messages::Decodable;
        let (rest, header) = RequestHeader::decode_from(&frame, &frame, header_version)?;
        (frame.slice(frame.len() - rest.len()..), header)
    };
    let decoded = ProduceRequest::decode(&body, header.request_api_version)?;
    assert_eq!(decoded, request);
    for topic in &decoded.topic_data {
        for partition in &topic.partition_data {
            for batch in RecordBatches::new(partition.records.clone().unwrap_or_default()) {
                let batch = batch?;
                println!(
                    "{}-{}: producer {} epoch {} base sequence {}",
                    topic.name,
                    partition.index,
                    batch.producer_id,
                    batch.producer_epoch,
                    batch.base_sequence
                );
                for record in batch.records()? {
                    let record = record?;
                    println!(
                        "  offset {} timestamp {} key {:?} value {:?} headers {}",
                        record.offset,
                        record.timestamp,
                        record.key.map(String::from_utf8_lossy),
                        record.value.map(String::from_utf8_lossy),
                        record.headers.len()
                    );
                }
            }
        }
    }
    Ok(())
}
