//! RecordBatch v2 encode and decode: this workspace's `kafka-protocol` against
//! the crates.io `kafka-protocol` crate (0.18, here `kafka_protocol_rs`) and
//! against a lower bound, memcpy + CRC-32C of as many bytes as the batch has.
//!
//! One batch: 1000 records, 16-byte keys, 100-byte values, no headers,
//! uncompressed, idempotent producer state. Both encoders get the same keys,
//! values and timestamps and write the same bytes (checked before measuring);
//! both decoders read those bytes, verify the CRC and walk every record
//! (summing key and value lengths). The peer decoder materializes a
//! `Vec<Record>`: that is its API.
//!
//! Run: `cd benches-peer && cargo bench --bench record_batch`.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafka_protocol::records::{BatchParams, RecordBatch, RecordBatchWriter};
use kafka_protocol_rs::records::{
    Compression as PeerCompression, Record as PeerRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as PeerTimestampType,
};

const RECORDS: usize = 1000;
const KEY_LEN: usize = 16;
const VALUE_LEN: usize = 100;
const T0: i64 = 1_700_000_000_000;
const PRODUCER_ID: i64 = 4242;
const PRODUCER_EPOCH: i16 = 1;
const BASE_SEQUENCE: i32 = 0;

/// Keys, values and timestamps of the batch; keys and values are slices of
/// one buffer so that both encoders read the same memory.
struct Input {
    keys: Vec<Bytes>,
    values: Vec<Bytes>,
    timestamps: Vec<i64>,
}

fn input() -> Input {
    let mut data = Vec::with_capacity(RECORDS * (KEY_LEN + VALUE_LEN));
    for i in 0..RECORDS {
        data.extend_from_slice(format!("key-{i:012}").as_bytes());
        data.extend((0..VALUE_LEN).map(|j| (i * 7 + j) as u8));
    }
    let data = Bytes::from(data);
    let mut keys = Vec::with_capacity(RECORDS);
    let mut values = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let at = i * (KEY_LEN + VALUE_LEN);
        keys.push(data.slice(at..at + KEY_LEN));
        values.push(data.slice(at + KEY_LEN..at + KEY_LEN + VALUE_LEN));
    }
    Input {
        keys,
        values,
        timestamps: (0..RECORDS as i64).map(|i| T0 + i).collect(),
    }
}

fn ours_encode(input: &Input, capacity: usize) -> Bytes {
    let mut w = RecordBatchWriter::new(capacity);
    for i in 0..RECORDS {
        w.append(
            input.timestamps[i],
            Some(&input.keys[i]),
            Some(&input.values[i]),
            [],
        )
        .unwrap();
    }
    w.finish(
        BatchParams {
            producer_id: PRODUCER_ID,
            producer_epoch: PRODUCER_EPOCH,
            base_sequence: BASE_SEQUENCE,
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

/// The peer's input: its `Record` struct, built once outside the timed loop
/// (its encoder takes `&Record`); key and value are refcounted slices of the
/// same buffer ours reads.
fn peer_records(input: &Input) -> Vec<PeerRecord> {
    (0..RECORDS)
        .map(|i| PeerRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: PRODUCER_ID,
            producer_epoch: PRODUCER_EPOCH,
            timestamp_type: PeerTimestampType::Creation,
            offset: i as i64,
            sequence: BASE_SEQUENCE + i as i32,
            timestamp: input.timestamps[i],
            key: Some(input.keys[i].clone()),
            value: Some(input.values[i].clone()),
            headers: Default::default(),
        })
        .collect()
}

const PEER_OPTIONS: RecordEncodeOptions = RecordEncodeOptions {
    version: 2,
    compression: PeerCompression::None,
};

fn peer_encode(records: &[PeerRecord], capacity: usize) -> BytesMut {
    let mut buf = BytesMut::with_capacity(capacity);
    RecordBatchEncoder::encode(&mut buf, records, &PEER_OPTIONS).unwrap();
    buf
}

fn ours_decode(batch: &Bytes) -> usize {
    let (parsed, _) = RecordBatch::parse(batch).unwrap();
    let mut sum = 0;
    for r in parsed.records().unwrap() {
        let r = r.unwrap();
        sum += r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len);
    }
    sum
}

fn peer_decode(batch: &Bytes) -> usize {
    let set = RecordBatchDecoder::decode(&mut batch.clone()).unwrap();
    let mut sum = 0;
    for r in &set.records {
        sum += r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len);
    }
    sum
}

/// The bound: copy the batch's bytes into a preallocated buffer and CRC them.
fn memcpy_crc(src: &[u8], dst: &mut [u8]) -> u32 {
    dst.copy_from_slice(src);
    crc32c::crc32c(black_box(dst))
}

fn bench(c: &mut Criterion) {
    let input = input();
    let peer_input = peer_records(&input);
    let batch = ours_encode(&input, 0);
    let batch_len = batch.len();
    let capacity = batch_len;

    // Same bytes out of both encoders, same totals out of both decoders.
    assert_eq!(
        &peer_encode(&peer_input, capacity)[..],
        &batch[..],
        "the encoders disagree"
    );
    assert_eq!(ours_decode(&batch), RECORDS * (KEY_LEN + VALUE_LEN));
    assert_eq!(peer_decode(&batch), RECORDS * (KEY_LEN + VALUE_LEN));
    println!("batch: {RECORDS} records, {batch_len} bytes");

    let mut dst = vec![0u8; batch_len];

    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(batch_len as u64));
    g.bench_function("ours", |b| {
        b.iter(|| ours_encode(black_box(&input), capacity))
    });
    g.bench_function("kafka-protocol 0.18", |b| {
        b.iter(|| peer_encode(black_box(&peer_input), capacity))
    });
    g.bench_function("memcpy+crc32c", |b| {
        b.iter(|| memcpy_crc(black_box(&batch), &mut dst))
    });
    g.finish();

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(batch_len as u64));
    g.bench_function("ours", |b| b.iter(|| ours_decode(black_box(&batch))));
    g.bench_function("kafka-protocol 0.18", |b| {
        b.iter(|| peer_decode(black_box(&batch)))
    });
    g.bench_function("memcpy+crc32c", |b| {
        b.iter(|| memcpy_crc(black_box(&batch), &mut dst))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
