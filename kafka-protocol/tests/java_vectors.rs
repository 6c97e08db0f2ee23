//! RecordBatch v2 vectors written by the Java client (kafka-clients 4.1.1,
//! `MemoryRecordsBuilder`), see `interop/java-recordbatch/`.
//!
//! For each vector: parse it and check every header field and every record
//! against the case description, then build the same batch with
//! `RecordBatchWriter` and require the bytes to be identical to Java's.
//!
//! THE CASES IN `cases()` ARE DUPLICATED IN
//! `interop/java-recordbatch/src/main/java/kafkars/interop/RecordBatchVectors.java`;
//! the two descriptions must stay in sync (the reference is the table in
//! `interop/java-recordbatch/README.md`). Regenerate the `.bin` files with the
//! command given there after changing a case.

use bytes::Bytes;
use kafka_protocol::records::{
    attributes, BatchParams, CompressionType, ControlRecord, ControlRecordType, RecordBatch,
    RecordBatchWriter, RecordBatches, TimestampType,
};

/// Base timestamp of every case (2023-11-14T22:13:20Z).
const T0: i64 = 1_700_000_000_000;
const PRODUCER_ID: i64 = 123_456_789;
const PRODUCER_EPOCH: i16 = 5;
const BASE_SEQUENCE: i32 = 42;

type OwnedHeader = (String, Option<Vec<u8>>);

#[derive(Debug, Clone)]
struct Rec {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<OwnedHeader>,
}

fn rec(timestamp: i64, key: Option<&str>, value: Option<&str>) -> Rec {
    Rec {
        timestamp,
        key: key.map(|k| k.as_bytes().to_vec()),
        value: value.map(|v| v.as_bytes().to_vec()),
        headers: vec![],
    }
}

/// A transaction marker: the batch's single control record.
#[derive(Debug, Clone, Copy)]
struct Marker {
    timestamp: i64,
    kind: ControlRecordType,
    coordinator_epoch: i32,
}

#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    params: BatchParams,
    records: Vec<Rec>,
    marker: Option<Marker>,
}

/// Case "edge": byte j of the 20,000-byte value is (31 j + 7) mod 251.
fn large_value() -> Vec<u8> {
    (0..20_000u32).map(|j| ((31 * j + 7) % 251) as u8).collect()
}

/// Must stay in sync with `RecordBatchVectors.java` (see the module docs).
fn cases() -> Vec<Case> {
    let plain = BatchParams::default();
    let producer = BatchParams {
        producer_id: PRODUCER_ID,
        producer_epoch: PRODUCER_EPOCH,
        base_sequence: BASE_SEQUENCE,
        ..plain
    };
    let control = |leader_epoch| BatchParams {
        partition_leader_epoch: leader_epoch,
        producer_id: PRODUCER_ID,
        producer_epoch: PRODUCER_EPOCH,
        base_sequence: -1,
        transactional: true,
        control: true,
        ..plain
    };
    let producer_records = |prefix: &str| -> Vec<Rec> {
        (0..3)
            .map(|i| {
                rec(
                    T0 + i,
                    Some(&format!("{prefix}-{i}")),
                    Some(&format!("payload-{i}")),
                )
            })
            .collect()
    };

    let simple = (0..5)
        .map(|i| {
            rec(
                T0 + 10 * i,
                Some(&format!("key-{i}")),
                Some(&format!("value-{i}")),
            )
        })
        .collect();

    let mut headers = rec(T0 + 4, Some("headers"), Some("h"));
    headers.headers = vec![
        ("null-value".into(), None),
        // "ключ-キー-ü" -> "ünïcödé", spelled with the escapes of the Java source.
        (
            "\u{43a}\u{43b}\u{44e}\u{447}-\u{30ad}\u{30fc}-\u{fc}".into(),
            Some("\u{fc}n\u{ef}c\u{f6}d\u{e9}".as_bytes().to_vec()),
        ),
        ("empty".into(), Some(vec![])),
        ("dup".into(), Some(b"1".to_vec())),
        ("dup".into(), Some(b"2".to_vec())),
    ];
    let edge = vec![
        rec(T0, None, Some("no key")),
        rec(T0 + 1, Some("tombstone"), None),
        rec(T0 + 2, None, None),
        rec(T0 + 3, Some(""), Some("")),
        headers,
        Rec {
            timestamp: T0 + 5,
            key: Some(b"large".to_vec()),
            value: Some(large_value()),
            headers: vec![],
        },
    ];

    let nonmonotonic = [T0 + 5_000, T0, T0 + 10_000, T0 - 1, T0 - 3_600_000]
        .iter()
        .enumerate()
        .map(|(i, &ts)| rec(ts, Some(&format!("k{i}")), Some(&format!("v{i}"))))
        .collect();

    let many = (0..200i64)
        .map(|i| Rec {
            timestamp: T0 + 7 * i,
            key: Some(format!("key-{i:012}").into_bytes()),
            value: Some((0..100i64).map(|j| ((7 * i + j) & 0xff) as u8).collect()),
            headers: vec![],
        })
        .collect();

    vec![
        Case {
            name: "simple",
            params: plain,
            records: simple,
            marker: None,
        },
        Case {
            name: "edge",
            params: plain,
            records: edge,
            marker: None,
        },
        Case {
            name: "nonmonotonic",
            params: plain,
            records: nonmonotonic,
            marker: None,
        },
        Case {
            name: "many",
            params: plain,
            records: many,
            marker: None,
        },
        Case {
            name: "idempotent",
            params: producer,
            records: producer_records("idem"),
            marker: None,
        },
        Case {
            name: "transactional",
            params: BatchParams {
                transactional: true,
                ..producer
            },
            records: producer_records("txn"),
            marker: None,
        },
        Case {
            name: "commit",
            params: control(3),
            records: vec![],
            marker: Some(Marker {
                timestamp: T0 + 100,
                kind: ControlRecordType::Commit,
                coordinator_epoch: 7,
            }),
        },
        Case {
            name: "abort",
            params: control(4),
            records: vec![],
            marker: Some(Marker {
                timestamp: T0 + 200,
                kind: ControlRecordType::Abort,
                coordinator_epoch: 9,
            }),
        },
    ]
}

impl Case {
    /// The records as appended, control records included.
    fn appended(&self) -> Vec<Rec> {
        match self.marker {
            None => self.records.clone(),
            Some(m) => {
                let cr = ControlRecord {
                    version: 0,
                    kind: m.kind,
                    coordinator_epoch: m.coordinator_epoch,
                };
                vec![Rec {
                    timestamp: m.timestamp,
                    key: Some(cr.key_bytes().to_vec()),
                    value: Some(cr.value_bytes().to_vec()),
                    headers: vec![],
                }]
            }
        }
    }

    fn java_bytes(&self) -> Bytes {
        let path = format!(
            "{}/tests/vectors/{}.bin",
            env!("CARGO_MANIFEST_DIR"),
            self.name
        );
        Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    fn ours(&self) -> Bytes {
        let mut w = RecordBatchWriter::new(64);
        for r in self.appended() {
            let headers: Vec<(&str, Option<&[u8]>)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            w.append(
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
                headers.iter().copied(),
            )
            .unwrap();
        }
        w.finish(self.params, None).unwrap()
    }
}

fn check_parsed(case: &Case, bytes: &Bytes) {
    let name = case.name;
    let recs = case.appended();
    let (batch, rest) = RecordBatch::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(rest.is_empty(), "{name}: trailing bytes");
    let p = &case.params;
    assert_eq!(batch.base_offset, 0, "{name}");
    assert_eq!(batch.batch_length as usize, bytes.len() - 12, "{name}");
    assert_eq!(
        batch.partition_leader_epoch, p.partition_leader_epoch,
        "{name}"
    );
    assert_eq!(batch.magic, 2, "{name}");
    assert_eq!(batch.crc, crc32c::crc32c(&bytes[21..]), "{name}");
    assert_eq!(
        batch.crc,
        u32::from_be_bytes(bytes[17..21].try_into().unwrap()),
        "{name}"
    );
    let mut attrs = 0i16;
    if p.transactional {
        attrs |= attributes::TRANSACTIONAL;
    }
    if p.control {
        attrs |= attributes::CONTROL;
    }
    assert_eq!(batch.attributes, attrs, "{name}: attributes");
    assert_eq!(
        batch.compression().unwrap(),
        CompressionType::None,
        "{name}"
    );
    assert_eq!(batch.timestamp_type(), TimestampType::CreateTime, "{name}");
    assert_eq!(batch.is_transactional(), p.transactional, "{name}");
    assert_eq!(batch.is_control(), p.control, "{name}");
    assert_eq!(batch.last_offset_delta as usize, recs.len() - 1, "{name}");
    assert_eq!(batch.last_offset(), recs.len() as i64 - 1, "{name}");
    assert_eq!(
        batch.base_timestamp, recs[0].timestamp,
        "{name}: base timestamp"
    );
    assert_eq!(
        batch.max_timestamp,
        recs.iter().map(|r| r.timestamp).max().unwrap(),
        "{name}: max timestamp"
    );
    assert_eq!(batch.producer_id, p.producer_id, "{name}");
    assert_eq!(batch.producer_epoch, p.producer_epoch, "{name}");
    assert_eq!(batch.base_sequence, p.base_sequence, "{name}");
    assert_eq!(batch.record_count as usize, recs.len(), "{name}");
    assert_eq!(batch.records.len(), bytes.len() - 61, "{name}");

    let parsed: Vec<_> = batch
        .records()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(parsed.len(), recs.len(), "{name}");
    for (i, (got, want)) in parsed.iter().zip(&recs).enumerate() {
        assert_eq!(got.offset_delta, i as i32, "{name}[{i}]");
        assert_eq!(got.offset, i as i64, "{name}[{i}]");
        assert_eq!(got.timestamp, want.timestamp, "{name}[{i}]: timestamp");
        assert_eq!(
            got.timestamp_delta,
            want.timestamp - recs[0].timestamp,
            "{name}[{i}]"
        );
        assert_eq!(got.key, want.key.as_deref(), "{name}[{i}]: key");
        assert_eq!(got.value, want.value.as_deref(), "{name}[{i}]: value");
        assert_eq!(
            got.headers.len(),
            want.headers.len(),
            "{name}[{i}]: header count"
        );
        let headers: Vec<(String, Option<Vec<u8>>)> = got
            .headers
            .iter()
            .map(|h| h.map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{name}[{i}]: {e}"));
        assert_eq!(headers, want.headers, "{name}[{i}]: headers");
    }

    if let Some(m) = case.marker {
        let cr = ControlRecord::parse(&parsed[0]).unwrap();
        assert_eq!(
            cr,
            ControlRecord {
                version: 0,
                kind: m.kind,
                coordinator_epoch: m.coordinator_epoch
            },
            "{name}"
        );
    }
}

/// The first differing byte, with the batch field it falls in.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    const FIELDS: [(usize, &str); 14] = [
        (0, "baseOffset"),
        (8, "batchLength"),
        (12, "partitionLeaderEpoch"),
        (16, "magic"),
        (17, "crc"),
        (21, "attributes"),
        (23, "lastOffsetDelta"),
        (27, "baseTimestamp"),
        (35, "maxTimestamp"),
        (43, "producerId"),
        (51, "producerEpoch"),
        (53, "baseSequence"),
        (57, "recordCount"),
        (61, "records"),
    ];
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => {
            let field = FIELDS.iter().rev().find(|(o, _)| *o <= at).unwrap().1;
            format!(
                "first difference at byte {at} ({field}): ours {:#04x}, java {:#04x}",
                a[at], b[at]
            )
        }
        None => format!("lengths differ: ours {}, java {}", a.len(), b.len()),
    }
}

#[test]
fn java_vectors_parse() {
    for case in cases() {
        check_parsed(&case, &case.java_bytes());
    }
}

#[test]
fn our_writer_matches_java_byte_for_byte() {
    for case in cases() {
        let java = case.java_bytes();
        let ours = case.ours();
        assert!(
            ours == java,
            "{}: {}",
            case.name,
            first_difference(&ours, &java)
        );
    }
}

#[test]
fn our_bytes_parse_like_java() {
    for case in cases() {
        check_parsed(&case, &case.ours());
    }
}

/// All vectors concatenated read back as consecutive batches.
#[test]
fn vectors_concatenated() {
    let cases = cases();
    let mut all = Vec::new();
    for case in &cases {
        all.extend_from_slice(&case.java_bytes());
    }
    let batches: Vec<_> = RecordBatches::new(Bytes::from(all))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(batches.len(), cases.len());
    for (b, case) in batches.iter().zip(&cases) {
        assert_eq!(
            b.record_count as usize,
            case.appended().len(),
            "{}",
            case.name
        );
    }
}
