//! Against a real Apache Kafka (`cargo xtask kafka up`; `cargo xtask ci` starts
//! one for the tests): generated messages and `kafka-codec` alone.
//!
//! The cluster is found through `KAFKA_BOOTSTRAP` (and `KAFKA_LIBS` for Kafka's
//! own console consumer), or the `cluster.env` file `up` writes.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_codec::{CodecError, Connection, ConnectionConfig};
use kafka_protocol::generated::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::generated::{FetchRequest, MetadataRequest, ProduceRequest};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::primitives::Uuid;
use kafka_protocol::records::{BatchParams, RecordBatchWriter, RecordBatches};
use kafka_testkit as testkit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn cluster_env() -> BTreeMap<String, String> {
    testkit::cluster_env(ROOT)
}

fn bootstrap() -> String {
    let env = cluster_env();
    let b = env.get("KAFKA_BOOTSTRAP").expect(
        "no Kafka cluster: run `cargo xtask kafka up` first (or `cargo xtask ci`, which starts one for the tests)",
    );
    b.split(',').next().unwrap().to_string()
}

async fn connect() -> Connection {
    Connection::connect(&bootstrap(), ConnectionConfig::default())
        .await
        .expect("connect to the test cluster")
}

/// Creates a topic; returns its id and a connection to the leader of partition 0
/// (the cluster may have several nodes).
async fn create_topic(conn: &Connection, name: &str, partitions: i32) -> (Uuid, Connection) {
    let info = testkit::create_topic(conn, name, partitions, 1)
        .await
        .unwrap();
    let leader = Connection::connect(&info.leaders[0], ConnectionConfig::default())
        .await
        .unwrap();
    (info.id, leader)
}

async fn delete_topic(conn: &Connection, name: &str) {
    testkit::delete_topic(conn, name).await.unwrap();
}

fn unique_topic(prefix: &str) -> String {
    testkit::unique_topic(prefix)
}

/// (offset, key, value, headers, timestamp) of a fetched record.
type Fetched = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
    i64,
);

struct Rec {
    key: Option<&'static [u8]>,
    value: Option<Vec<u8>>,
    headers: Vec<(&'static str, Option<&'static [u8]>)>,
    timestamp: i64,
}

fn sample_records(tag: &str) -> Vec<Rec> {
    vec![
        Rec {
            key: Some(b"k1"),
            value: Some(format!("{tag}-one").into_bytes()),
            headers: vec![("h", Some(b"v"))],
            timestamp: 1_700_000_000_000,
        },
        Rec {
            key: None,
            value: Some(format!("{tag}-two").into_bytes()),
            headers: vec![],
            timestamp: 1_700_000_000_001,
        },
        Rec {
            key: Some(b"k3"),
            value: None,
            headers: vec![("null-value", None)],
            timestamp: 1_699_999_999_000,
        },
        Rec {
            key: Some(b""),
            value: Some(vec![7u8; 5000]),
            headers: vec![],
            timestamp: 1_700_000_000_002,
        },
    ]
}

fn batch(records: &[Rec]) -> Bytes {
    let mut w = RecordBatchWriter::new(8 * 1024);
    for r in records {
        w.append(
            r.timestamp,
            r.key,
            r.value.as_deref(),
            r.headers.iter().map(|(k, v)| (*k, *v)),
        )
        .unwrap();
    }
    w.finish(BatchParams::default(), None).unwrap()
}

/// Names the topic both ways: by name (read up to v12) and by id (v13+).
fn produce_request(topic: &str, topic_id: Uuid, acks: i16, records: Bytes) -> ProduceRequest {
    ProduceRequest {
        acks,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: topic.to_string().into(),
            topic_id,
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Fetches partition 0 from `offset` until `count` records arrived.
async fn fetch_all(conn: &Connection, topic: &str, topic_id: Uuid, count: usize) -> Vec<Fetched> {
    let version = conn.versions().negotiate(ApiKey::Fetch).unwrap();
    let mut out = Vec::new();
    let mut offset = 0i64;
    for _ in 0..100 {
        let mut t = FetchTopic {
            partitions: vec![FetchPartition {
                partition: 0,
                fetch_offset: offset,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        };
        if version >= 13 {
            t.topic_id = topic_id;
        } else {
            t.topic = topic.to_string().into();
        }
        let req = FetchRequest {
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 4 << 20,
            topics: vec![t],
            ..Default::default()
        };
        let resp = conn.send(&req).await.unwrap();
        assert_eq!(resp.error_code, 0);
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "fetch error");
        for b in RecordBatches::new(p.records.clone().unwrap_or_default()) {
            let b = b.unwrap();
            for r in b.records().unwrap() {
                let r = r.unwrap();
                if r.offset < offset {
                    continue;
                }
                let headers = r
                    .headers
                    .iter()
                    .map(|h| h.unwrap())
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect();
                out.push((
                    r.offset,
                    r.key.map(<[u8]>::to_vec),
                    r.value.map(<[u8]>::to_vec),
                    headers,
                    r.timestamp,
                ));
                offset = r.offset + 1;
            }
        }
        if out.len() >= count {
            return out;
        }
    }
    panic!("only {} of {count} records came back", out.len());
}

fn assert_same(got: &[Fetched], want: &[Rec]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.1.as_deref(), w.key);
        assert_eq!(g.2, w.value);
        let wh: Vec<(String, Option<Vec<u8>>)> = w
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(g.3, wh);
        assert_eq!(g.4, w.timestamp);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_and_metadata() {
    let conn = connect().await;
    let produce = conn.versions().negotiate(ApiKey::Produce).unwrap();
    assert!(
        produce >= 3,
        "a current broker gives Produce v3+, got {produce}"
    );
    let md = conn
        .send(&MetadataRequest {
            topics: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!md.brokers.is_empty());
    assert!(md.controller_id >= 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_with_each_acks_then_fetch_back_identical_records() {
    let admin = connect().await;
    let topic = unique_topic("codec-produce");
    let (topic_id, conn) = create_topic(&admin, &topic, 1).await;
    let version = conn.versions().negotiate(ApiKey::Produce).unwrap();
    let mut all = Vec::new();
    for acks in [1i16, -1, 0] {
        let records = sample_records(&format!("acks{acks}"));
        let req = produce_request(&topic, topic_id, acks, batch(&records));
        if acks == 0 {
            conn.send_without_response(&req, version).await.unwrap();
        } else {
            let resp = conn.send_version(&req, version).await.unwrap();
            let p = &resp.responses[0].partition_responses[0];
            assert_eq!(p.error_code, 0, "acks={acks}: {:?}", p.error_message);
            assert_eq!(
                p.base_offset,
                all.len() as i64,
                "acks={acks}: offsets follow each other"
            );
        }
        all.extend(records);
    }
    let got = fetch_all(&conn, &topic, topic_id, all.len()).await;
    assert_same(&got, &all);
    for (n, g) in got.iter().enumerate() {
        assert_eq!(g.0, n as i64);
    }
    delete_topic(&admin, &topic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_on_one_connection() {
    let conn = connect().await;
    let calls = (0..200).map(|n| {
        let conn = conn.clone();
        tokio::spawn(async move {
            // Alternate request kinds so that responses of different shapes interleave.
            if n % 2 == 0 {
                conn.send(&MetadataRequest {
                    topics: None,
                    ..Default::default()
                })
                .await
                .map(|m| m.brokers.len())
            } else {
                let req = kafka_protocol::generated::ApiVersionsRequest {
                    client_software_name: "codec-test".into(),
                    client_software_version: "1".into(),
                    ..Default::default()
                };
                conn.send(&req).await.map(|v| v.api_keys.len())
            }
        })
    });
    for c in calls.collect::<Vec<_>>() {
        assert!(c.await.unwrap().unwrap() > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_broker_fails_cleanly() {
    // Nothing listens on a port we just released: connecting fails at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Connection::connect(&format!("127.0.0.1:{port}"), ConnectionConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CodecError::Io(_)), "{err}");
    // A listener that accepts and goes away mid-handshake: an error, not a hang.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        drop(sock);
    });
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        Connection::connect(&addr, ConnectionConfig::default()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(err.is_retriable(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_console_consumer_reads_our_record() {
    let env = cluster_env();
    let libs = env
        .get("KAFKA_LIBS")
        .expect("KAFKA_LIBS: the jar folder of `cargo xtask kafka up`")
        .clone();
    let admin = connect().await;
    let topic = unique_topic("codec-interop");
    let (topic_id, conn) = create_topic(&admin, &topic, 1).await;
    let records = [Rec {
        key: Some(b"interop-key"),
        value: Some(b"interop value \xc3\xa9".to_vec()),
        headers: vec![("h1", Some(b"x"))],
        timestamp: 1_700_000_000_000,
    }];
    let resp = conn
        .send(&produce_request(&topic, topic_id, -1, batch(&records)))
        .await
        .unwrap();
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);

    let lines = testkit::console_consumer(&libs, &env["KAFKA_BOOTSTRAP"], &topic, 1, true).unwrap();
    assert_eq!(lines, ["h1:x\tinterop-key\tinterop value é"]);
    delete_topic(&admin, &topic).await;
}
