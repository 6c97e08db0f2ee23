//! The connection against a simulated broker on an in-memory pipe, for the
//! cases a real broker cannot be made to produce on demand: responses out of
//! order, late responses, silence, a dropped socket, an old ApiVersions.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use kafka_protocol::generated::api_versions_response::ApiVersion;
use kafka_protocol::generated::{
    ApiVersionsResponse, MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::messages::{ApiKey, Decodable, Encodable, Message};
use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio_util::codec::FramedRead;

use super::*;

/// A request as the fake broker sees it.
struct Seen {
    api: ApiKey,
    version: i16,
    correlation_id: i32,
}

fn parse_request(frame: Bytes) -> Seen {
    let api = ApiKey::from_i16(i16::from_be_bytes([frame[0], frame[1]])).unwrap();
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let (_, h) =
        RequestHeader::decode_from(&frame, &frame, api.request_header_version(version)).unwrap();
    Seen {
        api,
        version,
        correlation_id: h.correlation_id,
    }
}

fn response_frame<M: Message>(s: &Seen, body: &M, body_version: i16) -> Bytes {
    let header = ResponseHeader {
        correlation_id: s.correlation_id,
        ..Default::default()
    };
    let hv = s.api.response_header_version(s.version);
    let mut b = BytesMut::new();
    b.put_i32((header.encoded_size(hv).unwrap() + body.encoded_size(body_version).unwrap()) as i32);
    header.encode(&mut b, hv).unwrap();
    body.encode(&mut b, body_version).unwrap();
    b.freeze()
}

fn versions_body(apis: &[(i16, i16, i16)]) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: apis
            .iter()
            .map(|&(api_key, min_version, max_version)| ApiVersion {
                api_key,
                min_version,
                max_version,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn metadata(throttle: i32) -> MetadataResponse {
    MetadataResponse {
        throttle_time_ms: throttle,
        ..Default::default()
    }
}

/// A fake broker: answers ApiVersions, then hands every other request to the test.
struct FakeBroker {
    frames: FramedRead<tokio::io::ReadHalf<DuplexStream>, FrameCodec>,
    out: tokio::io::WriteHalf<DuplexStream>,
}

impl FakeBroker {
    async fn next(&mut self) -> Option<Seen> {
        loop {
            let frame = self.frames.next().await?.ok()?.freeze();
            let seen = parse_request(frame);
            if seen.api == ApiKey::ApiVersions {
                let body = versions_body(&[(18, 0, 4), (3, 0, 12)]);
                let f = response_frame(&seen, &body, seen.version);
                self.out.write_all(&f).await.unwrap();
                continue;
            }
            return Some(seen);
        }
    }

    async fn reply(&mut self, s: &Seen, throttle: i32) {
        let f = response_frame(s, &metadata(throttle), s.version);
        self.out.write_all(&f).await.unwrap();
    }
}

async fn pair(config: ConnectionConfig) -> (Connection, FakeBroker) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let (r, w) = tokio::io::split(server);
    let mut broker = FakeBroker {
        frames: FramedRead::new(r, FrameCodec::default()),
        out: w,
    };
    let connect = tokio::spawn(Connection::from_stream(client, "fake".into(), config));
    // Serve the handshake until the connection is up.
    let (conn, _) = tokio::join!(connect, async {
        let frame = broker.frames.next().await.unwrap().unwrap().freeze();
        let seen = parse_request(frame);
        assert_eq!(seen.api, ApiKey::ApiVersions);
        let f = response_frame(
            &seen,
            &versions_body(&[(18, 0, 4), (3, 0, 12)]),
            seen.version,
        );
        broker.out.write_all(&f).await.unwrap();
    });
    (conn.unwrap().unwrap(), broker)
}

fn req() -> MetadataRequest {
    MetadataRequest {
        topics: None,
        ..Default::default()
    }
}

#[tokio::test]
async fn responses_out_of_order_reach_their_requests() {
    let (conn, mut broker) = pair(ConnectionConfig::default()).await;
    assert_eq!(conn.versions().negotiate(ApiKey::Metadata).unwrap(), 12);
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let c = conn.clone();
            tokio::spawn(async move { c.send(&req()).await })
        })
        .collect();
    let mut seen = Vec::new();
    for _ in 0..20 {
        seen.push(broker.next().await.unwrap());
    }
    // Answer in reverse order, tagging each response with its correlation id.
    for s in seen.iter().rev() {
        broker.reply(s, s.correlation_id).await;
    }
    let mut ids: Vec<i32> = Vec::new();
    for c in calls {
        ids.push(c.await.unwrap().unwrap().throttle_time_ms);
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        20,
        "every request got its own response: {ids:?}"
    );
}

#[tokio::test]
async fn a_cancelled_request_discards_its_late_response() {
    let (conn, mut broker) = pair(ConnectionConfig::default()).await;
    let c = conn.clone();
    let cancelled = tokio::spawn(async move { c.send(&req()).await });
    let first = broker.next().await.unwrap();
    cancelled.abort();
    let _ = cancelled.await;
    assert!(
        conn.inner.shared.lock().pending.is_empty(),
        "dropping the future frees its slot"
    );
    broker.reply(&first, 111).await;
    let c = conn.clone();
    let second = tokio::spawn(async move { c.send(&req()).await });
    let s = broker.next().await.unwrap();
    broker.reply(&s, 222).await;
    assert_eq!(second.await.unwrap().unwrap().throttle_time_ms, 222);
}

#[tokio::test(start_paused = true)]
async fn a_silent_broker_times_the_request_out() {
    let config = ConnectionConfig {
        request_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let (conn, mut broker) = pair(config).await;
    let c = conn.clone();
    let call = tokio::spawn(async move { c.send(&req()).await });
    let _ignored = broker.next().await.unwrap();
    let err = call.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            CodecError::RequestTimeout {
                api: ApiKey::Metadata,
                ..
            }
        ),
        "{err}"
    );
    assert!(conn.inner.shared.lock().pending.is_empty());
    assert!(!conn.is_closed(), "a timeout alone keeps the connection");
}

#[tokio::test]
async fn a_dropped_socket_fails_every_pending_request() {
    let (conn, mut broker) = pair(ConnectionConfig::default()).await;
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let c = conn.clone();
            tokio::spawn(async move { c.send(&req()).await })
        })
        .collect();
    for _ in 0..5 {
        broker.next().await.unwrap();
    }
    drop(broker);
    for c in calls {
        let err = c.await.unwrap().unwrap_err();
        assert!(matches!(err, CodecError::Disconnected(_)), "{err}");
    }
    assert!(conn.is_closed());
    assert!(matches!(
        conn.send(&req()).await,
        Err(CodecError::Disconnected(_))
    ));
}

#[tokio::test]
async fn api_versions_falls_back_when_the_broker_is_older() {
    let (client, server) = tokio::io::duplex(1 << 20);
    let (r, mut w) = tokio::io::split(server);
    let mut frames = FramedRead::new(r, FrameCodec::default());
    let connect = tokio::spawn(Connection::from_stream(
        client,
        "old".into(),
        ConnectionConfig::default(),
    ));
    // First attempt: our top version; answer UNSUPPORTED_VERSION with a v0 body saying "up to 2".
    let first = parse_request(frames.next().await.unwrap().unwrap().freeze());
    assert_eq!(first.version, ApiKey::ApiVersions.versions().max);
    let mut refusal = versions_body(&[(18, 0, 2)]);
    refusal.error_code = kafka_protocol::ErrorCode::UNSUPPORTED_VERSION.0;
    w.write_all(&response_frame(&first, &refusal, 0))
        .await
        .unwrap();
    let second = parse_request(frames.next().await.unwrap().unwrap().freeze());
    assert_eq!(second.version, 2);
    w.write_all(&response_frame(
        &second,
        &versions_body(&[(18, 0, 2), (3, 0, 9)]),
        2,
    ))
    .await
    .unwrap();
    let conn = connect.await.unwrap().unwrap();
    assert_eq!(conn.versions().negotiate(ApiKey::Metadata).unwrap(), 9);
    assert!(conn.versions().negotiate(ApiKey::Produce).is_err());
}

#[tokio::test]
async fn requests_without_response_are_written() {
    let (conn, mut broker) = pair(ConnectionConfig::default()).await;
    conn.send_without_response(&req(), 12).await.unwrap();
    let s = broker.next().await.unwrap();
    assert_eq!((s.api, s.version), (ApiKey::Metadata, 12));
    let _ = Bytes::new().remaining();
}

#[tokio::test]
async fn request_queues_frames_in_call_order() {
    let (conn, mut broker) = pair(ConnectionConfig::default()).await;
    // Futures created in order but polled in reverse: the wire keeps call order.
    let futures: Vec<_> = (0..10).map(|_| conn.request(&req(), 12).unwrap()).collect();
    let waits: Vec<_> = futures.into_iter().rev().map(tokio::spawn).collect();
    let mut ids = Vec::new();
    for _ in 0..10 {
        let s = broker.next().await.unwrap();
        ids.push(s.correlation_id);
        broker.reply(&s, s.correlation_id).await;
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "frames reached the broker in call order");
    for w in waits {
        w.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn close_fails_pending_and_later_requests() {
    let (conn, mut broker) = pair(ConnectionConfig::default()).await;
    let c = conn.clone();
    let call = tokio::spawn(async move { c.send(&req()).await });
    let _ = broker.next().await.unwrap();
    conn.close("test");
    assert!(matches!(
        call.await.unwrap(),
        Err(CodecError::Disconnected(_))
    ));
    assert!(conn.is_closed());
    assert!(matches!(
        conn.send(&req()).await,
        Err(CodecError::Disconnected(_))
    ));
}

/// acks=0: a broker that stops reading leaves the frame stuck in the
/// socket. The request still ends within request.timeout (a timeout), and
/// the connection is dropped, so the next request reconnects.
#[tokio::test(start_paused = true)]
async fn a_request_without_response_is_bounded_when_the_broker_stops_reading() {
    use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::generated::ProduceRequest;
    let timeout = Duration::from_millis(500);
    let config = ConnectionConfig {
        request_timeout: timeout,
        ..Default::default()
    };
    // The broker of `pair` never reads again after the handshake; the pipe
    // holds 1 MiB, the frame is 2 MiB.
    let (conn, _broker) = pair(config).await;
    let request = RequestKind::Produce(ProduceRequest {
        acks: 0,
        timeout_ms: 500,
        topic_data: vec![TopicProduceData {
            name: "t".into(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: Some(Bytes::from(vec![0u8; 2 << 20])),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    });
    let started = tokio::time::Instant::now();
    let written = conn.request_kind(&request, 9).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), written)
        .await
        .expect("the acks=0 request ends by itself");
    assert!(
        matches!(result, Err(CodecError::RequestTimeout { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() <= timeout + Duration::from_millis(50));
    assert!(conn.is_closed(), "the stuck connection is dropped");
}

/// Five pipelined requests to a silent broker, awaited one after another
/// (as a producer awaits a broker's responses in order): each times out
/// request.timeout after it was queued, not after the previous one ended.
#[tokio::test(start_paused = true)]
async fn pipelined_requests_time_out_from_when_they_were_queued() {
    let timeout = Duration::from_millis(500);
    let config = ConnectionConfig {
        request_timeout: timeout,
        ..Default::default()
    };
    let (conn, _broker) = pair(config).await;
    let started = tokio::time::Instant::now();
    let waits: Vec<_> = (0..5).map(|_| conn.request(&req(), 12).unwrap()).collect();
    for w in waits {
        assert!(matches!(w.await, Err(CodecError::RequestTimeout { .. })));
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed <= timeout + Duration::from_millis(50),
        "all five ended {elapsed:?} after they were queued"
    );
}

/// A hostile broker's ApiVersions answers (truncated, bits flipped, ranges
/// inverted or negative, unknown keys, huge throttle times): connecting
/// fails with a typed error or succeeds, never panics, and never hangs past
/// its timeout.
#[tokio::test(start_paused = true)]
async fn hostile_api_versions_answers_give_an_error_or_a_connection() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for case in 0..400 {
        let mut body = versions_body(&[(18, 0, 4), (3, 0, 12), (0, 0, 11)]);
        let edge = [i16::MIN, -1, 0, 1, 4, 1000, i16::MAX];
        match next() % 5 {
            0 => {
                if let Some(k) = body.api_keys.get_mut((next() % 3) as usize) {
                    k.min_version = edge[(next() % 7) as usize];
                    k.max_version = edge[(next() % 7) as usize];
                }
            }
            1 => {
                if let Some(k) = body.api_keys.get_mut((next() % 3) as usize) {
                    k.api_key = edge[(next() % 7) as usize];
                }
            }
            2 => body.throttle_time_ms = i32::MAX,
            3 => body.error_code = edge[(next() % 7) as usize],
            _ => body.api_keys.clear(),
        }
        let (client, server) = tokio::io::duplex(1 << 16);
        let (r, mut w) = tokio::io::split(server);
        let mut frames = FramedRead::new(r, FrameCodec::default());
        let config = ConnectionConfig {
            request_timeout: Duration::from_millis(200),
            connect_timeout: Duration::from_millis(500),
            ..Default::default()
        };
        let connect = tokio::spawn(Connection::from_stream(client, "fake".into(), config));
        let garble = next() % 3;
        let cut = next();
        let flip = next();
        let serve = tokio::spawn(async move {
            // Answer every ApiVersions attempt (the client retries lower versions).
            while let Some(Ok(frame)) = frames.next().await {
                let seen = parse_request(frame.freeze());
                let mut f = BytesMut::from(&response_frame(&seen, &body, seen.version)[..]);
                match garble {
                    0 => {
                        // Truncated body, the size prefix fixed to match.
                        let keep = 8 + (cut as usize % (f.len() - 7));
                        f.truncate(keep.min(f.len()));
                        let size = (f.len() - 4) as i32;
                        f[..4].copy_from_slice(&size.to_be_bytes());
                    }
                    1 => {
                        let i = 8 + (flip as usize % (f.len() - 8));
                        f[i] ^= 1 << (flip % 8);
                    }
                    _ => {}
                }
                if w.write_all(&f).await.is_err() {
                    break;
                }
            }
        });
        let outcome = tokio::time::timeout(Duration::from_secs(10), connect)
            .await
            .unwrap_or_else(|_| panic!("case {case}: connect hung"))
            .unwrap_or_else(|e| panic!("case {case}: connect panicked: {e}"));
        if let Ok(conn) = outcome {
            let _ = conn.versions().negotiate(ApiKey::Metadata);
        }
        serve.abort();
    }
}
