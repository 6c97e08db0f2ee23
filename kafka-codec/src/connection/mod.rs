//! One connection to one broker: any number of requests in flight, matched to
//! responses by correlation id.
//!
//! Two tasks own the socket: a writer that drains a queue of encoded frames
//! (so a caller that is cancelled mid-request can never leave half a frame on
//! the wire) and a reader that routes each response to its waiting request
//! through a table of correlation ids. A request future removes its table
//! entry when dropped, so a late response for it is read and discarded. When
//! the socket fails, every pending request gets the error.
//!
//! The connect sequence is TCP, then TLS when `security.protocol` says so,
//! then ApiVersions, then SASL (see `auth`), before the connection is
//! handed out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use kafka_protocol::generated::{
    ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::messages::{
    ApiKey, Decodable, Encodable, Message, Request, RequestKind, ResponseKind,
};
use kafka_protocol::primitives::StrBytes;
use kafka_protocol::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;

#[cfg(feature = "sasl")]
mod auth;
mod dial;

use crate::frame::{FrameCodec, DEFAULT_MAX_FRAME_SIZE};
use crate::security::SecurityConfig;
use crate::versions::BrokerVersions;
use crate::{CodecError, TlsFailure};

/// Settings of a connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// `client.id` sent in every request header.
    pub client_id: Option<String>,
    /// Client software name sent in ApiVersions (v3+).
    pub client_software_name: String,
    /// Client software version sent in ApiVersions (v3+).
    pub client_software_version: String,
    /// How long a connection may take to set up (TCP, and TLS when used),
    /// per address: a name that resolves to several addresses tries each in
    /// turn, each with this long (Java's `use_all_dns_ips`).
    pub connect_timeout: Duration,
    /// The most `connect_timeout` grows to when a client lengthens it after
    /// failed attempts, as Java does (`socket.connection.setup.timeout.max.ms`);
    /// one connect uses `connect_timeout` alone.
    pub connect_timeout_max: Duration,
    /// `SO_SNDBUF` of the socket (Java's `send.buffer.bytes`); `None`: the
    /// operating system's default.
    pub send_buffer_size: Option<u32>,
    /// `SO_RCVBUF` of the socket (Java's `receive.buffer.bytes`); `None`:
    /// the operating system's default.
    pub receive_buffer_size: Option<u32>,
    /// How long a request may wait for its response.
    pub request_timeout: Duration,
    /// Largest response frame accepted.
    pub max_frame_size: usize,
    /// TLS and SASL (`security.protocol` and the `ssl.*` / `sasl.*` settings).
    pub security: SecurityConfig,
    /// Counts the bytes this connection writes (a client's
    /// outgoing-byte metrics; one counter may be shared by many connections).
    pub bytes_written: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: Some("kafka-rs".into()),
            client_software_name: "kafka-rs".into(),
            client_software_version: env!("CARGO_PKG_VERSION").into(),
            connect_timeout: Duration::from_secs(10),
            connect_timeout_max: Duration::from_secs(30),
            send_buffer_size: None,
            receive_buffer_size: None,
            request_timeout: Duration::from_secs(30),
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            security: SecurityConfig::default(),
            bytes_written: None,
        }
    }
}

struct Pending {
    tx: oneshot::Sender<Result<Bytes, CodecError>>,
    response_header_version: i16,
}

#[derive(Default)]
struct State {
    pending: HashMap<i32, Pending>,
    closed: Option<Arc<str>>,
    /// When a TLS problem closed the socket: what it was, for the connect
    /// error (the broker refusing our certificate shows at the first read).
    tls_cause: Option<(TlsFailure, String)>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Completed KIP-368 re-authentications.
    reauthentications: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the table inconsistent
        // (every update is a single insert/remove), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the connection closed and fails every pending request.
    fn fail(&self, reason: &str) {
        let mut st = self.lock();
        if st.closed.is_none() {
            st.closed = Some(reason.into());
        }
        let reason = st.closed.clone().unwrap_or_else(|| reason.into());
        for (_, p) in st.pending.drain() {
            let _ = p.tx.send(Err(CodecError::Disconnected(reason.clone())));
        }
    }
}

/// Removes a request's table entry when its future ends in any way.
struct PendingGuard<'a> {
    shared: &'a Shared,
    correlation_id: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.lock().pending.remove(&self.correlation_id);
    }
}

enum WriteOp {
    Frame(Bytes),
    /// A frame whose caller waits until it is written (requests without a response).
    FrameNotify(Bytes, oneshot::Sender<Result<(), CodecError>>),
    /// Re-authentication: write only this queue's frames until it closes,
    /// then go on with the requests queued meanwhile.
    #[cfg_attr(not(feature = "sasl"), allow(dead_code))]
    Exclusive(mpsc::UnboundedReceiver<WriteOp>),
}

struct Inner {
    shared: Arc<Shared>,
    writes: mpsc::UnboundedSender<WriteOp>,
    next_correlation_id: AtomicI32,
    config: ConnectionConfig,
    client_id: Option<StrBytes>,
    peer: String,
    /// The reader, the writer and the re-authentication timer.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Frames are encoded here and split off: once the writer has dropped
    /// the frames before, the next one reuses the same memory instead of a
    /// new allocation per request.
    frames: Mutex<BytesMut>,
}

impl Inner {
    fn abort_tasks(&self) {
        for t in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            t.abort();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.abort_tasks();
        self.shared.fail("connection dropped");
    }
}

/// A connection to one broker, cheap to clone (clones share the socket).
///
/// ```no_run
/// # async fn demo() -> Result<(), kafka_codec::CodecError> {
/// use kafka_codec::{Connection, ConnectionConfig};
/// use kafka_protocol::generated::MetadataRequest;
///
/// let conn = Connection::connect("127.0.0.1:9092", ConnectionConfig::default()).await?;
/// let metadata = conn.send(&MetadataRequest { topics: None, ..Default::default() }).await?;
/// println!("{} brokers", metadata.brokers.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
    versions: Arc<BrokerVersions>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.inner.peer)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// Connects over TCP and, when `config.security` says so, TLS (both
    /// within `connect_timeout`), negotiates versions and authenticates
    /// with SASL. Every address `addr`'s host resolves to is tried in turn
    /// (each with its own `connect_timeout`) until one connects.
    pub async fn connect(addr: &str, config: ConnectionConfig) -> Result<Connection, CodecError> {
        config
            .security
            .check()
            .map_err(CodecError::SecurityConfig)?;
        let timed_out = || CodecError::ConnectTimeout {
            addr: addr.to_string(),
            timeout: config.connect_timeout,
        };
        let resolved: Vec<SocketAddr> =
            tokio::time::timeout(config.connect_timeout, tokio::net::lookup_host(addr))
                .await
                .map_err(|_| timed_out())??
                .collect();
        // The deadline bounds the TLS handshake that may follow.
        #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
        let (stream, deadline) = dial::connect_any(&resolved, addr, &config).await?;
        let peer = stream
            .peer_addr()
            .map(|a: SocketAddr| a.to_string())
            .unwrap_or_else(|_| addr.to_string());
        #[cfg(feature = "tls")]
        if let (true, Some(tls)) = (
            config.security.protocol.uses_tls(),
            config.security.tls.as_ref(),
        ) {
            let stream = tokio::time::timeout_at(
                deadline,
                crate::security::tls::handshake(stream, addr, &peer, tls),
            )
            .await
            .map_err(|_| timed_out())??;
            let (r, w) = tokio::io::split(stream);
            return Self::start(r, w, peer, config).await;
        }
        let (r, w) = stream.into_split();
        Self::start(r, w, peer, config).await
    }

    /// Runs the protocol over an already connected stream (a TLS stream set
    /// up by the caller, say), then negotiates versions and, when
    /// `config.security` names SASL, authenticates.
    pub async fn from_stream<S>(
        stream: S,
        peer: String,
        config: ConnectionConfig,
    ) -> Result<Connection, CodecError>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (r, w) = tokio::io::split(stream);
        Self::start(r, w, peer, config).await
    }

    async fn start<R, W>(
        r: R,
        w: W,
        peer: String,
        config: ConnectionConfig,
    ) -> Result<Connection, CodecError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let shared = Arc::new(Shared::default());
        let (writes, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(
            FramedRead::new(r, FrameCodec::new(config.max_frame_size)),
            shared.clone(),
        ));
        let writer = tokio::spawn(write_loop(
            BufWriter::with_capacity(64 * 1024, w),
            rx,
            shared.clone(),
            config.bytes_written.clone(),
        ));
        let inner = Arc::new(Inner {
            shared,
            writes,
            next_correlation_id: AtomicI32::new(0),
            client_id: config.client_id.clone().map(StrBytes::from_string),
            config,
            peer,
            tasks: Mutex::new(vec![reader, writer]),
            frames: Mutex::new(BytesMut::new()),
        });
        let setup = async {
            let versions = Arc::new(negotiate_api_versions(&inner).await?);
            if inner.config.security.protocol.uses_sasl() {
                Self::authenticate(&inner, &versions).await?;
            }
            Ok(versions)
        };
        match setup.await {
            Ok(versions) => Ok(Connection { inner, versions }),
            Err(CodecError::Disconnected(reason)) => {
                let cause = inner.shared.lock().tls_cause.take();
                Err(match cause {
                    Some((failure, reason)) => CodecError::Tls {
                        peer: inner.peer.clone(),
                        failure,
                        reason,
                    },
                    None => CodecError::Disconnected(reason),
                })
            }
            Err(e) => Err(e),
        }
    }

    #[cfg(feature = "sasl")]
    async fn authenticate(
        inner: &Arc<Inner>,
        versions: &Arc<BrokerVersions>,
    ) -> Result<(), CodecError> {
        let Some(sasl) = inner.config.security.sasl.clone() else {
            return Err(CodecError::SecurityConfig(
                "SASL without SASL settings".into(),
            ));
        };
        let lifetime = auth::authenticate(inner, versions, &sasl, &inner.writes).await?;
        if let Some(lifetime) = lifetime {
            let task = tokio::spawn(auth::reauth_loop(
                Arc::downgrade(inner),
                versions.clone(),
                sasl,
                lifetime,
            ));
            inner
                .tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(task);
        }
        Ok(())
    }

    #[cfg(not(feature = "sasl"))]
    async fn authenticate(_: &Arc<Inner>, _: &Arc<BrokerVersions>) -> Result<(), CodecError> {
        Err(CodecError::SecurityConfig(
            "this build has no SASL (kafka-codec feature `sasl`)".into(),
        ))
    }

    /// The broker's address.
    pub fn peer(&self) -> &str {
        &self.inner.peer
    }

    /// The API versions and finalized features of the broker.
    pub fn versions(&self) -> &BrokerVersions {
        &self.versions
    }

    /// How many times the connection re-authenticated (KIP-368) so far.
    pub fn reauthentications(&self) -> u64 {
        self.inner.shared.reauthentications.load(Ordering::Relaxed)
    }

    /// Requests waiting for their response.
    pub fn in_flight(&self) -> usize {
        self.inner.shared.lock().pending.len()
    }

    /// Whether the socket failed or was closed.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.lock().closed.is_some()
    }

    /// Closes the connection now (for every clone): pending requests fail,
    /// later ones fail at once. A client does this after a request timeout,
    /// as the Java client does, since a broker that swallowed one request
    /// may swallow the next.
    pub fn close(&self, reason: &str) {
        self.inner.shared.fail(reason);
        self.inner.abort_tasks();
    }

    /// Sends a request at the negotiated version and waits for its response.
    pub async fn send<R: Request>(&self, request: &R) -> Result<R::Response, CodecError> {
        let version = self.versions.negotiate(R::API_KEY)?;
        self.send_version(request, version).await
    }

    /// Sends a request at `version` and waits for its response.
    pub async fn send_version<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, CodecError> {
        self.send_version_timeout(request, version, self.inner.config.request_timeout)
            .await
    }

    /// Sends a request at `version` and waits at most `timeout` for its response.
    pub async fn send_version_timeout<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, CodecError> {
        let body = roundtrip(&self.inner, R::API_KEY, version, request, timeout).await?;
        Ok(R::Response::decode(&body, version)?)
    }

    /// Writes a request now (the frame is queued in call order, before this
    /// returns) and gives a future for its response. Callers that must keep
    /// requests in order on the wire, such as a producer with several Produce
    /// requests in flight, use this instead of `send_version`.
    pub fn request<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<
        impl std::future::Future<Output = Result<R::Response, CodecError>> + Send + 'static,
        CodecError,
    >
    where
        R::Response: Send + 'static,
    {
        let timeout = self.inner.config.request_timeout;
        let pending = start_request(&self.inner, R::API_KEY, version, request)?;
        let inner = self.inner.clone();
        Ok(async move {
            let body = pending.wait(&inner, timeout).await?;
            Ok(R::Response::decode(&body, version)?)
        })
    }

    /// Any request body, for clients that route every API through one queue
    /// (as a producer core does): the frame is queued now, in call order,
    /// and the future gives the decoded response, or `None` once the frame
    /// is written when the request has no response (a Produce with acks=0).
    pub fn request_kind(
        &self,
        request: &RequestKind,
        version: i16,
    ) -> Result<
        impl std::future::Future<Output = Result<Option<ResponseKind>, CodecError>> + Send + 'static,
        CodecError,
    > {
        let api = request.api_key();
        let inner = self.inner.clone();
        let timeout = inner.config.request_timeout;
        // The bound runs from now, while the frame waits behind others too.
        let now = tokio::time::Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
        let (correlation_id, wait) = if request.expects_response() {
            let pending = start_request(&inner, api, version, request)?;
            (pending.correlation_id, Ok(pending))
        } else {
            let (id, written) = queue_without_response(&inner, api, version, request)?;
            (id, Err(written))
        };
        let span = tracing::debug_span!("kafka_request", peer = %inner.peer, %api, version, correlation_id);
        let answer = async move {
            match wait {
                Ok(pending) => {
                    let body = pending.wait(&inner, timeout).await?;
                    Ok(Some(ResponseKind::decode(api, version, &body)?))
                }
                Err(written) => match tokio::time::timeout_at(deadline, written).await {
                    Ok(written) => {
                        written
                            .map_err(|_| CodecError::Disconnected("writer stopped".into()))??;
                        Ok(None)
                    }
                    Err(_) => {
                        // A broker that stops reading leaves the writer stuck
                        // in the socket: drop the connection, as Java
                        // disconnects after request.timeout.ms.
                        tracing::debug!(peer = %inner.peer, %api, version, ?timeout, "request without response not written in time");
                        let e = CodecError::RequestTimeout {
                            api,
                            version,
                            timeout,
                        };
                        inner.shared.fail(&e.to_string());
                        inner.abort_tasks();
                        Err(e)
                    }
                },
            }
        };
        Ok(tracing::Instrument::instrument(answer, span))
    }

    /// As [`request_kind`](Self::request_kind), at the top version both
    /// sides speak for the request's API, no higher than `cap`.
    pub fn request_kind_negotiated(
        &self,
        request: &RequestKind,
        cap: Option<i16>,
    ) -> Result<
        impl std::future::Future<Output = Result<Option<ResponseKind>, CodecError>> + Send + 'static,
        CodecError,
    > {
        let version = self.versions.negotiate_at_most(request.api_key(), cap)?;
        self.request_kind(request, version)
    }

    /// Sends a request that gets no response (a Produce with acks=0) and
    /// waits until it is written to the socket.
    pub async fn send_without_response<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<(), CodecError> {
        queue_without_response(&self.inner, R::API_KEY, version, request)?
            .1
            .await
            .map_err(|_| CodecError::Disconnected("writer stopped".into()))?
    }
}

/// Queues a frame that gets no response; the receiver hears when it is written.
fn queue_without_response<B: Encodable>(
    inner: &Inner,
    api: ApiKey,
    version: i16,
    body: &B,
) -> Result<(i32, oneshot::Receiver<Result<(), CodecError>>), CodecError> {
    let correlation_id = inner.next_correlation_id.fetch_add(1, Ordering::Relaxed);
    let frame = encode_frame(inner, api, version, correlation_id, body)?;
    if let Some(reason) = inner.shared.lock().closed.clone() {
        return Err(CodecError::Disconnected(reason));
    }
    let (tx, rx) = oneshot::channel();
    inner
        .writes
        .send(WriteOp::FrameNotify(frame, tx))
        .map_err(|_| CodecError::Disconnected("writer stopped".into()))?;
    Ok((correlation_id, rx))
}

/// Encodes `size | header | body` for one request.
fn encode_frame<B: Encodable>(
    inner: &Inner,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &B,
) -> Result<Bytes, CodecError> {
    let header = RequestHeader {
        request_api_key: api as i16,
        request_api_version: version,
        correlation_id,
        client_id: inner.client_id.clone(),
        ..Default::default()
    };
    let header_version = api.request_header_version(version);
    let size = header.encoded_size(header_version)? + body.encoded_size(version)?;
    if size > i32::MAX as usize {
        return Err(CodecError::FrameTooLarge {
            size,
            max: i32::MAX as usize,
        });
    }
    let mut frames = inner.frames.lock().unwrap_or_else(|e| e.into_inner());
    frames.clear();
    frames.reserve(4 + size);
    frames.put_i32(size as i32);
    let encoded = header
        .encode(&mut *frames, header_version)
        .and_then(|()| body.encode(&mut *frames, version));
    if let Err(e) = encoded {
        frames.clear();
        return Err(e.into());
    }
    Ok(frames.split().freeze())
}

/// A request whose frame is queued and whose response is awaited.
struct PendingResponse {
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    /// When the frame was queued: timeouts count from here, not from the
    /// first poll of the wait (which may come after other responses).
    queued_at: tokio::time::Instant,
    rx: oneshot::Receiver<Result<Bytes, CodecError>>,
}

/// Registers the correlation id and queues the frame, synchronously.
fn start_request<B: Encodable>(
    inner: &Inner,
    api: ApiKey,
    version: i16,
    body: &B,
) -> Result<PendingResponse, CodecError> {
    start_request_via(inner, api, version, body, &inner.writes)
}

/// As `start_request`, with the frame on `writes` (the writer's queue, or
/// re-authentication's side queue).
fn start_request_via<B: Encodable>(
    inner: &Inner,
    api: ApiKey,
    version: i16,
    body: &B,
    writes: &mpsc::UnboundedSender<WriteOp>,
) -> Result<PendingResponse, CodecError> {
    let correlation_id = inner.next_correlation_id.fetch_add(1, Ordering::Relaxed);
    let frame = encode_frame(inner, api, version, correlation_id, body)?;
    let (tx, rx) = oneshot::channel();
    {
        let mut st = inner.shared.lock();
        if let Some(reason) = &st.closed {
            return Err(CodecError::Disconnected(reason.clone()));
        }
        st.pending.insert(
            correlation_id,
            Pending {
                tx,
                response_header_version: api.response_header_version(version),
            },
        );
    }
    tracing::trace!(peer = %inner.peer, %api, version, correlation_id, bytes = frame.len(), "request");
    if writes.send(WriteOp::Frame(frame)).is_err() {
        inner.shared.lock().pending.remove(&correlation_id);
        return Err(CodecError::Disconnected("writer stopped".into()));
    }
    Ok(PendingResponse {
        api,
        version,
        correlation_id,
        queued_at: tokio::time::Instant::now(),
        rx,
    })
}

impl PendingResponse {
    /// Waits for the response body (header stripped), until `timeout` after
    /// the frame was queued. Dropping the future frees the correlation slot;
    /// a late response is then discarded.
    async fn wait(self, inner: &Inner, timeout: Duration) -> Result<Bytes, CodecError> {
        let _guard = PendingGuard {
            shared: &inner.shared,
            correlation_id: self.correlation_id,
        };
        let (api, version, correlation_id) = (self.api, self.version, self.correlation_id);
        let deadline = self
            .queued_at
            .checked_add(timeout)
            .unwrap_or_else(|| self.queued_at + Duration::from_secs(86_400 * 365));
        match tokio::time::timeout_at(deadline, self.rx).await {
            Err(_) => {
                tracing::debug!(peer = %inner.peer, %api, version, correlation_id, ?timeout, "request timed out");
                Err(CodecError::RequestTimeout {
                    api,
                    version,
                    timeout,
                })
            }
            Ok(Err(_)) => Err(CodecError::Disconnected("connection task ended".into())),
            Ok(Ok(result)) => result,
        }
    }
}

/// Sends one request and waits for its response body (the response header stripped).
async fn roundtrip<B: Encodable>(
    inner: &Inner,
    api: ApiKey,
    version: i16,
    body: &B,
    timeout: Duration,
) -> Result<Bytes, CodecError> {
    start_request(inner, api, version, body)?
        .wait(inner, timeout)
        .await
}

/// ApiVersions at the highest version we speak; when the broker answers
/// UNSUPPORTED_VERSION (with a v0 body listing what it speaks), retry lower.
async fn negotiate_api_versions(inner: &Inner) -> Result<BrokerVersions, CodecError> {
    let mut version = ApiKey::ApiVersions.stable_versions().max;
    loop {
        let request = ApiVersionsRequest {
            client_software_name: StrBytes::from_string(inner.config.client_software_name.clone()),
            client_software_version: StrBytes::from_string(
                inner.config.client_software_version.clone(),
            ),
            ..Default::default()
        };
        let body = roundtrip(
            inner,
            ApiKey::ApiVersions,
            version,
            &request,
            inner.config.request_timeout,
        )
        .await?;
        // On UNSUPPORTED_VERSION the broker writes a v0 body whatever we asked;
        // the error code comes first in every version.
        let error_code = ErrorCode(
            body.get(..2)
                .map_or(-1, |b| i16::from_be_bytes([b[0], b[1]])),
        );
        let body_version = if error_code == ErrorCode::UNSUPPORTED_VERSION {
            0
        } else {
            version
        };
        let response = ApiVersionsResponse::decode(&body, body_version)?;
        match ErrorCode(response.error_code) {
            ErrorCode::NONE => return Ok(BrokerVersions::from_response(&response)),
            ErrorCode::UNSUPPORTED_VERSION if version > 0 => {
                let broker_max = response
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == ApiKey::ApiVersions as i16)
                    .map(|k| k.max_version);
                let next = broker_max.map_or(version - 1, |m| m.min(version - 1));
                tracing::debug!(
                    from = version,
                    to = next,
                    "broker rejected our ApiVersions version; retrying lower"
                );
                version = next.max(0);
            }
            code => return Err(CodecError::ApiVersions(code)),
        }
    }
}

/// Whether a read error is TLS speaking: a TLS alert on a TLS connection,
/// or a TLS record where a plaintext client expected a frame size.
fn tls_cause(e: &CodecError) -> Option<(TlsFailure, String)> {
    match e {
        // A TLS record header: content type 21 (alert) or 22 (handshake), version 3.x.
        CodecError::FrameTooLarge { size, .. }
            if matches!(size >> 24, 0x15 | 0x16) && (size >> 16) & 0xff == 0x03 =>
        {
            Some((
                TlsFailure::Handshake,
                "the broker answered with TLS: this listener wants security.protocol SSL or SASL_SSL".into(),
            ))
        }
        #[cfg(feature = "tls")]
        CodecError::Io(io) => crate::security::tls::classify_io(io),
        _ => None,
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut frames: FramedRead<R, FrameCodec>,
    shared: Arc<Shared>,
) {
    loop {
        match frames.next().await {
            Some(Ok(frame)) => {
                let frame = frame.freeze();
                if frame.len() < 4 {
                    shared.fail("response shorter than a correlation id");
                    return;
                }
                let correlation_id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                let pending = shared.lock().pending.remove(&correlation_id);
                let Some(pending) = pending else {
                    // The request was cancelled or timed out: discard its late response.
                    tracing::trace!(
                        correlation_id,
                        "discarding response of a request no longer waiting"
                    );
                    continue;
                };
                let body = match ResponseHeader::decode_from(
                    &frame,
                    &frame,
                    pending.response_header_version,
                ) {
                    Ok((rest, _)) => Ok(frame.slice(frame.len() - rest.len()..)),
                    Err(e) => Err(CodecError::Protocol(e.into())),
                };
                let _ = pending.tx.send(body);
            }
            Some(Err(e)) => {
                let cause = tls_cause(&e);
                shared.lock().tls_cause = cause;
                shared.fail(&format!("read failed: {e}"));
                return;
            }
            None => {
                shared.fail("broker closed the connection");
                return;
            }
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: BufWriter<W>,
    mut rx: mpsc::UnboundedReceiver<WriteOp>,
    shared: Arc<Shared>,
    counter: Option<Arc<std::sync::atomic::AtomicU64>>,
) {
    let count = |n: usize| {
        if let Some(c) = &counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
    };
    let mut notify = Vec::new();
    while let Some(first) = rx.recv().await {
        // Write everything queued, then flush once: pipelined requests share syscalls.
        let mut op = Some(first);
        let mut result = Ok(());
        while let Some(o) = op.take() {
            let frame = match o {
                WriteOp::Frame(f) => f,
                WriteOp::FrameNotify(f, tx) => {
                    notify.push(tx);
                    f
                }
                WriteOp::Exclusive(mut side) => {
                    // What came before goes out first; then only the side
                    // queue's frames, each flushed (they are round trips).
                    result = w.flush().await;
                    while result.is_ok() {
                        let Some(WriteOp::Frame(f)) = side.recv().await else {
                            break;
                        };
                        result = match w.write_all(&f).await {
                            Ok(()) => w.flush().await,
                            Err(e) => Err(e),
                        };
                    }
                    if result.is_err() {
                        break;
                    }
                    op = rx.try_recv().ok();
                    continue;
                }
            };
            if let Err(e) = w.write_all(&frame).await {
                result = Err(e);
                break;
            }
            count(frame.len());
            op = rx.try_recv().ok();
        }
        if result.is_ok() {
            result = w.flush().await;
        }
        match result {
            Ok(()) => {
                for tx in notify.drain(..) {
                    let _ = tx.send(Ok(()));
                }
            }
            Err(e) => {
                let reason = format!("write failed: {e}");
                for tx in notify.drain(..) {
                    let _ = tx.send(Err(CodecError::Disconnected(reason.as_str().into())));
                }
                shared.fail(&reason);
                return;
            }
        }
    }
    let _ = w.shutdown().await;
}

#[cfg(test)]
mod tests;
