//! The thin tokio side: one listener per broker, one task per connection,
//! requests answered one at a time per connection (as a broker does), in
//! order. Everything a request means is in `state.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use kafka_codec::FrameCodec;
use kafka_protocol::generated::{ApiVersionsResponse, RequestHeader, ResponseHeader};
use kafka_protocol::messages::{ApiKey, Decodable, Encodable, RequestKind, ResponseKind};
use kafka_protocol::ErrorCode;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::codec::FramedRead;

use crate::state::{fetch_is_empty, Answer, State};

/// The largest request accepted (Kafka's `socket.request.max.bytes`).
const MAX_REQUEST_SIZE: usize = 100 * 1024 * 1024;

/// What the tasks share with the cluster handle.
pub(crate) struct Shared {
    pub state: Mutex<State>,
    /// Added before every answer, in microseconds.
    pub latency_us: AtomicU64,
    /// Per broker: bumped to end its connections one way or another (the
    /// senders live in the cluster handle: dropping it ends every connection).
    pub generations: Vec<(i32, watch::Receiver<Generations>)>,
}

/// What a broker's open connections watch: each count is bumped by one
/// fault of the cluster handle, and a connection acts on the first change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Generations {
    /// Close (FIN both ways).
    pub close: u64,
    /// Half-close: the broker's side sends FIN and reads on.
    pub half_close: u64,
    /// Silence: the connection stays open and nothing is answered again.
    pub silence: u64,
}

/// How a connection ends after a fault.
enum ConnectionEnd {
    Close,
    /// Reads and drops requests after a FIN (half-close) or without one
    /// (silence), until the client closes or the connection is closed.
    Deaf {
        fin: bool,
    },
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while locked is a bug of the fake; the state stays usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation(&self, broker: i32) -> Option<watch::Receiver<Generations>> {
        self.generations
            .iter()
            .find(|(id, _)| *id == broker)
            .map(|(_, rx)| rx.clone())
    }
}

/// Accepts connections to `broker` until the task is aborted.
pub(crate) async fn serve(shared: Arc<Shared>, broker: i32, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Some(generation) = shared.generation(broker) else {
            return;
        };
        tokio::spawn(connection(shared.clone(), broker, stream, generation));
    }
}

/// The way a connection ends for a change of its broker's generations.
fn end_for(before: Generations, now: Generations) -> ConnectionEnd {
    if now.close != before.close {
        ConnectionEnd::Close
    } else if now.half_close != before.half_close {
        ConnectionEnd::Deaf { fin: true }
    } else {
        ConnectionEnd::Deaf { fin: false }
    }
}

async fn connection(
    shared: Arc<Shared>,
    broker: i32,
    stream: TcpStream,
    mut generation: watch::Receiver<Generations>,
) {
    let start = *generation.borrow_and_update();
    #[allow(clippy::default_constructed_unit_structs)] // a unit without `sasl`
    let mut auth = ConnAuth::default();
    let (read, mut write) = stream.into_split();
    let mut frames = FramedRead::new(read, FrameCodec::new(MAX_REQUEST_SIZE));
    let end = loop {
        let frame = tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(frame)) => frame.freeze(),
                // End of stream, or a frame too large: the broker closes too.
                _ => return,
            },
            changed = generation.changed() => match changed {
                Ok(()) => break end_for(start, *generation.borrow_and_update()),
                Err(_) => return,
            },
        };
        let reply = tokio::select! {
            reply = answer(&shared, broker, frame, &mut auth) => reply,
            changed = generation.changed() => match changed {
                Ok(()) => break end_for(start, *generation.borrow_and_update()),
                Err(_) => return,
            },
        };
        match reply {
            Reply::Write(bytes) => {
                if write.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Reply::WriteThenClose(bytes) => {
                let _ = write.write_all(&bytes).await;
                return;
            }
            Reply::Nothing => {}
            Reply::Close => return,
        }
    };
    let ConnectionEnd::Deaf { fin } = end else {
        return;
    };
    if fin {
        let _ = write.shutdown().await;
    }
    // Requests are read and dropped until the client goes or a later fault
    // (or the cluster's end) closes the connection.
    loop {
        tokio::select! {
            frame = frames.next() => if !matches!(frame, Some(Ok(_))) {
                return;
            },
            changed = generation.changed() => {
                if changed.is_err() || generation.borrow_and_update().close != start.close {
                    return;
                }
            }
        }
    }
}

enum Reply {
    Write(Bytes),
    /// A failed authentication's answer: the broker closes after it.
    #[cfg_attr(not(feature = "sasl"), allow(dead_code))]
    WriteThenClose(Bytes),
    Nothing,
    Close,
}

/// The size-prefixed response frame.
fn response_frame(api: ApiKey, version: i16, correlation_id: i32, body: &ResponseKind) -> Reply {
    frame_with(api, version, correlation_id, |b| body.encode(b, version))
}

fn frame_with(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: impl FnOnce(&mut BytesMut) -> Result<(), kafka_protocol::ProtocolError>,
) -> Reply {
    let header = ResponseHeader {
        correlation_id,
        ..Default::default()
    };
    let mut b = BytesMut::new();
    b.put_i32(0);
    if header
        .encode(&mut b, api.response_header_version(version))
        .is_err()
        || body(&mut b).is_err()
    {
        return Reply::Close;
    }
    let size = (b.len() - 4) as i32;
    b[..4].copy_from_slice(&size.to_be_bytes());
    Reply::Write(b.freeze())
}

/// A request read from a frame.
pub(crate) struct Parsed {
    pub api: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub request: RequestKind,
}

/// Why a frame gets no normal answer.
pub(crate) enum Rejected {
    /// ApiVersions at a version not served: answered with UNSUPPORTED_VERSION.
    ApiVersionsTooNew { correlation_id: i32 },
    /// Anything else a broker would not read: the connection closes.
    Close,
}

/// Reads one request frame: header, then body, at a version served.
pub(crate) fn parse_request(state: &State, frame: &Bytes) -> Result<Parsed, Rejected> {
    if frame.len() < 8 {
        return Err(Rejected::Close);
    }
    let api = ApiKey::from_i16(i16::from_be_bytes([frame[0], frame[1]])).ok_or(Rejected::Close)?;
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let served = state.served(api).ok_or(Rejected::Close)?;
    if !served.contains(version) {
        return Err(if api == ApiKey::ApiVersions {
            Rejected::ApiVersionsTooNew { correlation_id }
        } else {
            Rejected::Close
        });
    }
    let header_version = api.request_header_version(version);
    let (rest, _header) =
        RequestHeader::decode_from(frame, frame, header_version).map_err(|_| Rejected::Close)?;
    let body = frame.slice(frame.len() - rest.len()..);
    let request = RequestKind::decode(api, version, &body).map_err(|_| Rejected::Close)?;
    Ok(Parsed {
        api,
        version,
        correlation_id,
        request,
    })
}

/// Reads one request and answers it. Bad bytes close the connection, as a
/// broker does; nothing here panics on them (decoding is bounded by the
/// protocol crate's decode budget).
async fn answer(shared: &Shared, broker: i32, frame: Bytes, auth: &mut ConnAuth) -> Reply {
    let parsed = parse_request(&shared.lock(), &frame);
    let Parsed {
        api,
        version,
        correlation_id,
        request,
    } = match parsed {
        Ok(p) => p,
        Err(Rejected::Close) => return Reply::Close,
        Err(Rejected::ApiVersionsTooNew { correlation_id }) => {
            // As a broker: UNSUPPORTED_VERSION in a v0 body listing what is
            // served, so the client can retry at a version both speak.
            let mut body: ApiVersionsResponse = shared.lock().api_versions();
            body.error_code = ErrorCode::UNSUPPORTED_VERSION.0;
            return frame_with(ApiKey::ApiVersions, 0, correlation_id, |b| {
                body.encode(b, 0)
            });
        }
    };
    if let Some(reply) = authenticate(shared, auth, api, version, correlation_id, &request) {
        return reply;
    }
    let latency = Duration::from_micros(shared.latency_us.load(Ordering::Relaxed));
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // A Fetch with nothing to return waits up to its max_wait_ms for records.
    let long_poll = match &request {
        RequestKind::Fetch(f) => Some(Duration::from_millis(f.max_wait_ms.clamp(0, 30_000) as u64)),
        _ => None,
    };
    let deadline = long_poll.map(|w| tokio::time::Instant::now() + w);
    shared.lock().log(broker, api, version);
    loop {
        let answer = {
            let mut state = shared.lock();
            state.advance_clock(std::time::Instant::now());
            state.handle(broker, version, &request)
        };
        let response = match answer {
            Answer::Nothing => return Reply::Nothing,
            Answer::Respond(r) => r,
        };
        let empty = matches!(&response, ResponseKind::Fetch(f) if fetch_is_empty(f));
        match deadline {
            Some(d) if empty && tokio::time::Instant::now() < d => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            _ => return response_frame(api, version, correlation_id, &response),
        }
    }
}

/// A connection's SASL state (nothing without the `sasl` feature).
#[cfg(feature = "sasl")]
type ConnAuth = crate::sasl::Auth;
#[cfg(not(feature = "sasl"))]
#[derive(Default)]
struct ConnAuth;

/// On a listener that takes SASL, a connection not authenticated yet may
/// only ask ApiVersions, SaslHandshake and SaslAuthenticate (anything else
/// closes it, as a broker does); `None` lets the request through.
#[cfg(feature = "sasl")]
fn authenticate(
    shared: &Shared,
    auth: &mut ConnAuth,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    request: &RequestKind,
) -> Option<Reply> {
    use kafka_protocol::generated::{SaslAuthenticateResponse, SaslHandshakeResponse};

    if auth.is_done() || api == ApiKey::ApiVersions {
        return None;
    }
    let users = shared.lock().sasl_users.clone()?;
    let reply = |body: ResponseKind| response_frame(api, version, correlation_id, &body);
    Some(match request {
        RequestKind::SaslHandshake(r) => {
            let error_code = if auth.handshake(r.mechanism.as_str()) {
                0
            } else {
                ErrorCode::UNSUPPORTED_SASL_MECHANISM.0
            };
            reply(ResponseKind::SaslHandshake(SaslHandshakeResponse {
                error_code,
                mechanisms: crate::sasl::MECHANISMS
                    .iter()
                    .map(|m| (*m).into())
                    .collect(),
            }))
        }
        RequestKind::SaslAuthenticate(r) => match auth.step(&users, &r.auth_bytes) {
            Ok(bytes) => reply(ResponseKind::SaslAuthenticate(SaslAuthenticateResponse {
                auth_bytes: bytes.into(),
                ..Default::default()
            })),
            Err(why) => match reply(ResponseKind::SaslAuthenticate(SaslAuthenticateResponse {
                error_code: ErrorCode::SASL_AUTHENTICATION_FAILED.0,
                error_message: Some(why.into()),
                ..Default::default()
            })) {
                Reply::Write(bytes) => Reply::WriteThenClose(bytes),
                other => other,
            },
        },
        _ => Reply::Close,
    })
}

#[cfg(not(feature = "sasl"))]
fn authenticate(
    _: &Shared,
    _: &mut ConnAuth,
    _: ApiKey,
    _: i16,
    _: i32,
    _: &RequestKind,
) -> Option<Reply> {
    None
}
