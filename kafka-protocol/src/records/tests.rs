use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use kafka_compression::CompressionError;

use crate::ProtocolError;

#[derive(Debug, Clone)]
struct TestRecord {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

fn payload() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Vec::new())),
        6 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
        1 => proptest::collection::vec(any::<u8>(), 1000..20_000).prop_map(Some),
    ]
}

fn record() -> impl Strategy<Value = TestRecord> {
    (
        // Around a base time, so that deltas are positive and negative.
        -1_000_000i64..1_000_000,
        payload(),
        payload(),
        proptest::collection::vec(("[a-zé🦀]{0,8}", payload()), 0..4),
    )
        .prop_map(|(t, key, value, headers)| TestRecord {
            timestamp: 1_700_000_000_000 + t,
            key,
            value,
            headers,
        })
}

fn params() -> impl Strategy<Value = BatchParams> {
    (any::<i64>(), any::<i16>(), any::<i32>(), any::<bool>()).prop_map(|(pid, epoch, seq, txn)| {
        BatchParams {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            transactional: txn,
            ..BatchParams::default()
        }
    })
}

fn write(records: &[TestRecord], params: BatchParams) -> Bytes {
    let mut w = RecordBatchWriter::new(128);
    for r in records {
        let headers = r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        let before = w.size_in_bytes();
        let predicted = w.size_after(
            r.timestamp,
            r.key.as_deref(),
            r.value.as_deref(),
            headers.clone(),
        );
        w.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), headers)
            .unwrap();
        assert_eq!(
            w.size_in_bytes(),
            predicted,
            "size_after predicts the size (was {before})"
        );
    }
    w.finish(params, None).unwrap()
}

fn check(records: &[TestRecord], params: BatchParams, bytes: &Bytes) {
    let (batch, rest) = RecordBatch::parse(bytes).unwrap();
    assert!(rest.is_empty());
    assert_eq!(
        batch.batch_length as usize + BATCH_LOG_OVERHEAD,
        bytes.len()
    );
    assert_eq!(batch.magic, 2);
    assert_eq!(batch.partition_leader_epoch, -1);
    assert_eq!(batch.producer_id, params.producer_id);
    assert_eq!(batch.producer_epoch, params.producer_epoch);
    assert_eq!(batch.base_sequence, params.base_sequence);
    assert_eq!(batch.is_transactional(), params.transactional);
    assert!(!batch.is_control());
    assert_eq!(batch.compression().unwrap(), CompressionType::None);
    assert_eq!(batch.record_count as usize, records.len());
    assert_eq!(batch.last_offset_delta as usize, records.len() - 1);
    assert_eq!(batch.base_timestamp, records[0].timestamp);
    assert_eq!(
        batch.max_timestamp,
        records.iter().map(|r| r.timestamp).max().unwrap()
    );
    let parsed: Vec<Record<'_>> = batch.records().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(parsed.len(), records.len());
    for (n, (got, want)) in parsed.iter().zip(records).enumerate() {
        assert_eq!(got.offset_delta as usize, n);
        assert_eq!(got.offset, n as i64);
        assert_eq!(got.timestamp, want.timestamp);
        assert_eq!(got.key, want.key.as_deref());
        assert_eq!(got.value, want.value.as_deref());
        let headers: Vec<Header<'_>> = got.headers.iter().collect::<Result<_, _>>().unwrap();
        assert_eq!(headers.len(), want.headers.len());
        for (h, (k, v)) in headers.iter().zip(&want.headers) {
            assert_eq!(h.key, k);
            assert_eq!(h.value, v.as_deref());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn batch_roundtrip(records in proptest::collection::vec(record(), 1..40), params in params()) {
        let bytes = write(&records, params);
        check(&records, params, &bytes);
    }

    #[test]
    fn any_flipped_byte_is_an_error_or_a_crc_mismatch(records in proptest::collection::vec(record(), 1..5), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let bytes = write(&records, BatchParams::default());
        let mut bad = BytesMut::from(&bytes[..]);
        let n = at.index(bad.len());
        bad[n] ^= flip;
        let bad = bad.freeze();
        // Bytes 0-11 (offset, length) and 12-15 (leader epoch) are outside the CRC.
        if let Ok((batch, _)) = RecordBatch::parse(&bad) {
                prop_assert!(n < 21, "a flip at {} went unnoticed", n);
                let _ = batch.records().map(|r| r.count());
        }
    }

    #[test]
    fn truncated_batches_are_errors(records in proptest::collection::vec(record(), 1..5), cut in any::<prop::sample::Index>()) {
        let bytes = write(&records, BatchParams::default());
        let cut = cut.index(bytes.len());
        prop_assert!(RecordBatch::parse(&bytes.slice(..cut)).is_err());
    }

    #[test]
    fn parser_never_panics_on_garbage(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let data = Bytes::from(data);
        if let Ok((batch, _)) = RecordBatch::parse(&data) {
            for r in batch.records().into_iter().flatten().flatten() {
                let _ = r.headers.iter().count();
            }
        }
        let _ = RecordBatches::new(data).count();
    }
}

#[test]
fn several_batches_and_a_partial_tail() {
    let r = vec![TestRecord {
        timestamp: 5,
        key: Some(b"k".to_vec()),
        value: Some(b"v".to_vec()),
        headers: vec![],
    }];
    let a = write(&r, BatchParams::default());
    let b = write(
        &r,
        BatchParams {
            base_offset: 1,
            ..BatchParams::default()
        },
    );
    let mut blob = BytesMut::new();
    blob.extend_from_slice(&a);
    blob.extend_from_slice(&b);
    blob.extend_from_slice(&a[..30]);
    let mut it = RecordBatches::new(blob.freeze());
    assert_eq!(it.next().unwrap().unwrap().base_offset, 0);
    assert_eq!(it.next().unwrap().unwrap().base_offset, 1);
    assert!(it.next().is_none());
    assert_eq!(it.trailing_bytes(), 30);
}

#[test]
fn crc_mismatch_is_reported() {
    let r = [TestRecord {
        timestamp: 5,
        key: None,
        value: Some(b"v".to_vec()),
        headers: vec![],
    }];
    let mut bytes = BytesMut::from(&write(&r, BatchParams::default())[..]);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(
        RecordBatch::parse(&bytes.freeze()),
        Err(ProtocolError::CrcMismatch { .. })
    ));
}

#[test]
fn producer_state_can_be_patched_after_finish() {
    let r = [TestRecord {
        timestamp: 5,
        key: None,
        value: Some(b"v".to_vec()),
        headers: vec![],
    }];
    let mut w = RecordBatchWriter::new(64);
    w.append(r[0].timestamp, None, r[0].value.as_deref(), [])
        .unwrap();
    let mut buf = w
        .finish_mut(
            BatchParams {
                producer_id: 1,
                producer_epoch: 0,
                base_sequence: 0,
                ..Default::default()
            },
            None,
        )
        .unwrap();
    set_producer_state(&mut buf, 9, 3, 77).unwrap();
    let (batch, _) = RecordBatch::parse(&buf.freeze()).unwrap();
    assert_eq!(
        (batch.producer_id, batch.producer_epoch, batch.base_sequence),
        (9, 3, 77)
    );
}

#[test]
fn append_within_stops_at_the_limit_and_writes_nothing_then() {
    let mut w = RecordBatchWriter::new(256);
    // The first record always goes in, whatever the limit.
    assert!(w
        .append_within(10, 1_000, None, Some(b"first"), [])
        .unwrap());
    let size = w.size_in_bytes();
    let after = w.size_after(2_000, None, Some(b"second"), []);
    assert!(!w
        .append_within(after - 1, 2_000, None, Some(b"second"), [])
        .unwrap());
    assert_eq!(
        (w.size_in_bytes(), w.record_count()),
        (size, 1),
        "nothing written"
    );
    assert!(w
        .append_within(after, 2_000, None, Some(b"second"), [])
        .unwrap());
    assert_eq!(w.size_in_bytes(), after);
    let (batch, _) = RecordBatch::parse(&w.finish(BatchParams::default(), None).unwrap()).unwrap();
    assert_eq!(
        batch.base_timestamp, 1_000,
        "a refused record leaves the base timestamp"
    );
    assert_eq!(batch.max_timestamp, 2_000);
}

#[test]
fn empty_batch_cannot_be_finished() {
    assert!(RecordBatchWriter::new(0)
        .finish(BatchParams::default(), None)
        .is_err());
}

#[test]
fn control_records_roundtrip() {
    for kind in [ControlRecordType::Commit, ControlRecordType::Abort] {
        let marker = ControlRecord {
            version: 0,
            kind,
            coordinator_epoch: 17,
        };
        let mut w = RecordBatchWriter::new(64);
        w.append(
            42,
            Some(&marker.key_bytes()),
            Some(&marker.value_bytes()),
            [],
        )
        .unwrap();
        let params = BatchParams {
            producer_id: 5,
            producer_epoch: 1,
            transactional: true,
            control: true,
            ..Default::default()
        };
        let bytes = w.finish(params, None).unwrap();
        let (batch, _) = RecordBatch::parse(&bytes).unwrap();
        assert!(batch.is_control() && batch.is_transactional());
        let rec = batch.records().unwrap().next().unwrap().unwrap();
        assert_eq!(ControlRecord::parse(&rec).unwrap(), marker);
    }
}

/// A codec that "compresses" by reversing bytes, to test the codec seam.
#[derive(Debug)]
struct Reverse;

impl Codec for Reverse {
    fn compression_type(&self) -> CompressionType {
        CompressionType::Lz4
    }
    fn compress(&self, records: &[u8], out: &mut BytesMut) -> Result<(), CompressionError> {
        out.extend(records.iter().rev());
        Ok(())
    }
    fn decompress(
        &self,
        compressed: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), CompressionError> {
        if compressed.len() > limit {
            return Err(CompressionError::LimitExceeded {
                codec: CompressionType::Lz4,
                limit,
            });
        }
        out.extend(compressed.iter().rev());
        Ok(())
    }
}

impl CodecRegistry for Reverse {
    fn codec(&self, c: CompressionType) -> Option<&dyn Codec> {
        (c == CompressionType::Lz4).then_some(self as &dyn Codec)
    }
}

#[test]
fn compressed_batches_go_through_the_codec() {
    let mut w = RecordBatchWriter::new(64);
    w.append(1, Some(b"key"), Some(b"value"), [("h", None)])
        .unwrap();
    let bytes = w.finish(BatchParams::default(), Some(&Reverse)).unwrap();
    let (batch, _) = RecordBatch::parse(&bytes).unwrap();
    assert_eq!(batch.compression().unwrap(), CompressionType::Lz4);
    assert!(batch.records().is_err(), "compressed records need a codec");
    assert!(batch.decompressed_records(&NoCompression, 1 << 20).is_err());
    assert!(
        batch.decompressed_records(&Reverse, 3).is_err(),
        "the limit is passed down"
    );
    let section = batch.decompressed_records(&Reverse, 1 << 20).unwrap();
    let rec = batch.records_in(&section).next().unwrap().unwrap();
    assert_eq!(
        (rec.key, rec.value),
        (Some(&b"key"[..]), Some(&b"value"[..]))
    );
}

#[test]
fn finish_reusing_swaps_buffers_only_when_compressing() {
    let build = || {
        let mut w = RecordBatchWriter::with_buffer(BytesMut::with_capacity(4096));
        w.append(7, None, Some(b"value"), []).unwrap();
        w
    };
    // Compressed: written into the spare; the records' buffer comes back.
    let spare = BytesMut::with_capacity(1024);
    let (batch, spare) = build()
        .finish_reusing(BatchParams::default(), Some(&Reverse), spare)
        .unwrap();
    assert!(
        spare.capacity() >= 4096,
        "the records' buffer is the new spare"
    );
    let batch = batch.freeze();
    let (parsed, _) = RecordBatch::parse(&batch).unwrap();
    let section = parsed.decompressed_records(&Reverse, 1 << 20).unwrap();
    let value = parsed.records_in(&section).next().unwrap().unwrap().value;
    assert_eq!(value, Some(&b"value"[..]));
    // Uncompressed: the records' buffer is the batch; the spare is untouched.
    let spare = BytesMut::with_capacity(1024);
    let (batch, spare) = build()
        .finish_reusing(BatchParams::default(), None, spare)
        .unwrap();
    assert_eq!(spare.capacity(), 1024);
    assert_eq!(batch, build().finish(BatchParams::default(), None).unwrap());
}
