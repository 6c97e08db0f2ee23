//! A fault-injecting TCP proxy between a client and one broker, switched at
//! run time by the test through a cheap [`ProxyHandle`]: latency, stalls,
//! blackholes, resets (also in the middle of a response frame) and half-open
//! connections. [`ProxiedCluster`] starts one per broker on the ports
//! `cargo xtask kafka up --proxied` advertises for its `PROXIED` listener,
//! so the brokers' metadata sends a client through the proxies.
//!
//! The proxy reads the size prefixes and headers of the frames going by, so
//! a reset can be aimed at the response to one API (say Produce) a given
//! number of bytes into its frame. It changes bytes for one fault only:
//! [`ProxyHandle::fail_produce_responses`] rewrites Produce responses of
//! records the broker wrote into errors.
//!
//! A peer closing, resetting or misbehaving never makes the proxy panic: each
//! connection ends on the first I/O error of either side.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::cluster_env;

mod cluster;
mod frames;
pub use cluster::ProxiedCluster;
use frames::{FrameTracker, Rewrite};

/// How long the proxy waits for the broker's accept.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read per chunk (each chunk gets the configured latency).
const CHUNK: usize = 64 * 1024;

/// Which way bytes go through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Requests: client to broker.
    ToBroker,
    /// Responses: broker to client.
    ToClient,
    /// Both ways.
    Both,
}

/// The switchable faults, as one value every connection watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Faults {
    latency: Duration,
    stall_to_broker: bool,
    stall_to_client: bool,
    blackhole: bool,
    /// Bumped by [`ProxyHandle::reset`]: connections older than the bump end with RST.
    reset_generation: u64,
    /// Bumped by [`ProxyHandle::half_open`].
    half_open_generation: u64,
}

impl Faults {
    fn stalled(&self, d: Direction) -> bool {
        match d {
            Direction::ToBroker => self.stall_to_broker,
            Direction::ToClient => self.stall_to_client,
            Direction::Both => self.stall_to_broker && self.stall_to_client,
        }
    }
}

/// What the proxy did, counted since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Client connections accepted.
    pub accepted: u64,
    /// Client connections open now.
    pub open: u64,
    /// Connections closed with RST by [`ProxyHandle::reset`].
    pub resets: u64,
    /// Connections reset in the middle of a response frame
    /// ([`ProxyHandle::reset_mid_response`]).
    pub mid_frame_resets: u64,
    /// Connections made half-open ([`ProxyHandle::half_open`]).
    pub half_opened: u64,
    /// Produce responses rewritten into errors
    /// ([`ProxyHandle::fail_produce_responses`]).
    pub failed_produces: u64,
    /// Connections that lost bytes to a blackhole, or were accepted into one.
    pub blackholed: u64,
}

impl ProxyStats {
    /// Faults injected into connections: resets, mid-frame resets,
    /// half-open and blackholed connections.
    pub fn faults(&self) -> u64 {
        self.resets + self.mid_frame_resets + self.half_opened + self.blackholed
    }
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    open: AtomicU64,
    resets: AtomicU64,
    mid_frame_resets: AtomicU64,
    half_opened: AtomicU64,
    blackholed: AtomicU64,
    failed_produces: AtomicU64,
}

/// A reset aimed at a response frame, armed until one connection takes it.
#[derive(Debug)]
struct MidFrame {
    /// Bytes into the frame (counting the size prefix); -1: not armed.
    after_bytes: AtomicI64,
    /// The API whose response is cut; -1: any.
    api_key: AtomicI64,
}

#[derive(Debug)]
struct Shared {
    /// Where new connections go (moved by `ProxyHandle::set_upstream`).
    upstream: Mutex<SocketAddr>,
    faults: watch::Sender<Faults>,
    counters: Counters,
    mid_frame: MidFrame,
    /// Produce responses still to rewrite into an error: (code, how many).
    failed_produces: Mutex<(i16, u64)>,
}

impl Shared {
    /// Takes the armed mid-frame reset if it applies to a response of `api`.
    fn claim_mid_frame(&self, api: Option<i16>) -> Option<u64> {
        let want = self.mid_frame.api_key.load(Ordering::Acquire);
        if want >= 0 && api.map(i64::from) != Some(want) {
            return None;
        }
        let n = self.mid_frame.after_bytes.swap(-1, Ordering::AcqRel);
        (n >= 0).then_some(n as u64)
    }

    /// Takes one armed Produce rewrite: the error code to answer with.
    fn claim_failed_produce(&self) -> Option<i16> {
        let mut armed = self.failed_produces.lock().ok()?;
        if armed.1 == 0 {
            return None;
        }
        armed.1 -= 1;
        Some(armed.0)
    }
}

/// Switches the faults of one [`Proxy`] and reads its counters; cheap to
/// clone and usable from any task or thread.
#[derive(Debug, Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
}

impl ProxyHandle {
    fn update(&self, f: impl FnOnce(&mut Faults)) {
        self.shared.faults.send_modify(f);
    }

    /// Delays every chunk of bytes, both ways, by `latency` (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        self.update(|f| f.latency = latency);
    }

    /// Stops forwarding in `direction` (sockets stay open, the kernel's
    /// buffers fill, nothing is lost), until [`resume`](Self::resume).
    pub fn stall(&self, direction: Direction) {
        self.update(|f| match direction {
            Direction::ToBroker => f.stall_to_broker = true,
            Direction::ToClient => f.stall_to_client = true,
            Direction::Both => {
                f.stall_to_broker = true;
                f.stall_to_client = true;
            }
        });
    }

    /// Forwards both ways again after [`stall`](Self::stall).
    pub fn resume(&self) {
        self.update(|f| {
            f.stall_to_broker = false;
            f.stall_to_client = false;
        });
    }

    /// Blackhole on or off. While on, new connections are accepted and
    /// read but never reach the broker, and bytes of open connections are
    /// dropped. A connection that lost bytes can never be in step again, so
    /// it stays a blackhole after this is switched off (answering nothing,
    /// like a peer that lost its state) until the client closes it;
    /// connections that were idle meanwhile carry on.
    pub fn blackhole(&self, on: bool) {
        self.update(|f| f.blackhole = on);
    }

    /// Closes every open connection abruptly (RST to the client, SO_LINGER 0).
    pub fn reset(&self) {
        self.update(|f| f.reset_generation += 1);
    }

    /// Arms a reset in the middle of the next response frame that starts
    /// after this call, for a request of `api` (`None`: any response):
    /// the client gets the frame's first `after_bytes` bytes (counting its
    /// 4-byte size prefix; at least its header, at most all but its last
    /// byte), then RST. One connection takes it; arm again for another.
    pub fn reset_mid_response(&self, api: Option<ApiKey>, after_bytes: usize) {
        let key = api.map_or(-1, |a| i64::from(a as i16));
        self.shared.mid_frame.api_key.store(key, Ordering::Release);
        self.shared
            .mid_frame
            .after_bytes
            .store(after_bytes.min(i64::MAX as usize) as i64, Ordering::Release);
    }

    /// Whether a [`reset_mid_response`](Self::reset_mid_response) is still
    /// waiting for its frame.
    pub fn mid_response_armed(&self) -> bool {
        self.shared.mid_frame.after_bytes.load(Ordering::Acquire) >= 0
    }

    /// Rewrites the next `times` Produce responses passing through into
    /// `code` for every partition (offsets -1): the broker wrote the
    /// records and the client is told it did not, as when a broker appends
    /// but cannot replicate in time (`NOT_ENOUGH_REPLICAS_AFTER_APPEND`) or
    /// an acknowledgement is lost. An idempotent producer's retry is then a
    /// duplicate the broker must recognise. A response the proxy cannot
    /// decode goes through unchanged.
    pub fn fail_produce_responses(&self, code: i16, times: u64) {
        if let Ok(mut armed) = self.shared.failed_produces.lock() {
            *armed = (code, times);
        }
    }

    /// Produce rewrites armed by
    /// [`fail_produce_responses`](Self::fail_produce_responses) and not
    /// used yet.
    pub fn pending_failed_produces(&self) -> u64 {
        self.shared.failed_produces.lock().map_or(0, |a| a.1)
    }

    /// Makes every open connection half-open: the connection to the broker
    /// is closed, the client's stays open and is read, and nothing is ever
    /// answered on it again (a broker gone without a FIN or RST reaching the
    /// client). New connections are not affected.
    pub fn half_open(&self) {
        self.update(|f| f.half_open_generation += 1);
    }

    /// Takes every fault away: no latency, stall or blackhole, no armed
    /// mid-frame reset. (Connections already blackholed or half-open stay so.)
    pub fn clear(&self) {
        self.update(|f| {
            f.latency = Duration::ZERO;
            f.stall_to_broker = false;
            f.stall_to_client = false;
            f.blackhole = false;
        });
        self.shared
            .mid_frame
            .after_bytes
            .store(-1, Ordering::Release);
    }

    /// The counters.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.counters;
        ProxyStats {
            accepted: c.accepted.load(Ordering::Acquire),
            open: c.open.load(Ordering::Acquire),
            resets: c.resets.load(Ordering::Acquire),
            mid_frame_resets: c.mid_frame_resets.load(Ordering::Acquire),
            half_opened: c.half_opened.load(Ordering::Acquire),
            blackholed: c.blackholed.load(Ordering::Acquire),
            failed_produces: c.failed_produces.load(Ordering::Acquire),
        }
    }

    /// The broker address the proxy forwards to.
    pub fn upstream(&self) -> SocketAddr {
        Self::upstream_of(&self.shared)
    }

    fn upstream_of(shared: &Shared) -> SocketAddr {
        *shared.upstream.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends new connections to `upstream` from now on (a cluster that
    /// moved to new addresses); open connections stay where they are.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self
            .shared
            .upstream
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = upstream;
    }
}

/// A running proxy: a listener on 127.0.0.1 forwarding every connection to
/// one upstream address. Dropping it stops the listener and ends every
/// connection it holds.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    handle: ProxyHandle,
    tasks: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on `127.0.0.1:port` (0: any free port) and forwards to
    /// `upstream`. Needs a tokio runtime.
    pub async fn start(port: u16, upstream: SocketAddr) -> io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (faults, _) = watch::channel(Faults::default());
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            faults,
            counters: Counters::default(),
            mid_frame: MidFrame {
                after_bytes: AtomicI64::new(-1),
                api_key: AtomicI64::new(-1),
            },
            failed_produces: Mutex::new((0, 0)),
        });
        let tasks = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Proxy {
            addr,
            handle: ProxyHandle { shared },
            tasks,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The handle that switches this proxy's faults.
    pub fn handle(&self) -> ProxyHandle {
        self.handle.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The accept task owns the connection tasks: aborting it ends them all.
        self.tasks.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let _ = client.set_nodelay(true);
                    shared.counters.accepted.fetch_add(1, Ordering::AcqRel);
                    connections.spawn(serve(client, shared.clone()));
                }
                // Out of file descriptors and the like: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// How a connection's relaying ended.
enum End {
    /// A side closed or failed: close the other normally.
    Closed,
    /// RST the client (and the broker).
    Reset,
    /// Reset in the middle of a response frame.
    MidFrameReset,
    /// The broker side goes; the client side stays, unanswered.
    HalfOpen,
    /// Bytes were lost to the blackhole: unanswered from now on.
    Blackholed,
}

struct OpenGuard<'a>(&'a Counters);

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn serve(mut client: TcpStream, shared: Arc<Shared>) {
    let counters = &shared.counters;
    counters.open.fetch_add(1, Ordering::AcqRel);
    let _open = OpenGuard(counters);
    let mut faults = shared.faults.subscribe();
    let start = *faults.borrow_and_update();
    let end = if start.blackhole {
        End::Blackholed
    } else {
        match tokio::time::timeout(
            UPSTREAM_CONNECT_TIMEOUT,
            TcpStream::connect(ProxyHandle::upstream_of(&shared)),
        )
        .await
        {
            Ok(Ok(mut upstream)) => {
                let _ = upstream.set_nodelay(true);
                let end = relay(&mut client, &mut upstream, &shared, start).await;
                if matches!(end, End::Reset | End::MidFrameReset) {
                    let _ = upstream.set_zero_linger();
                }
                end
            }
            // The broker is not there: the client sees its connection close.
            _ => End::Closed,
        }
    };
    match end {
        End::Closed => {}
        End::Reset | End::MidFrameReset => {
            let counter = if matches!(end, End::Reset) {
                &counters.resets
            } else {
                &counters.mid_frame_resets
            };
            counter.fetch_add(1, Ordering::AcqRel);
            let _ = client.set_zero_linger();
        }
        End::HalfOpen | End::Blackholed => {
            let counter = if matches!(end, End::HalfOpen) {
                &counters.half_opened
            } else {
                &counters.blackholed
            };
            counter.fetch_add(1, Ordering::AcqRel);
            if sink(&mut client, &mut faults, start.reset_generation).await {
                counters.resets.fetch_add(1, Ordering::AcqRel);
                let _ = client.set_zero_linger();
            }
        }
    }
}

/// Reads and drops the client's bytes until it closes; `true` when a
/// [`ProxyHandle::reset`] came first.
async fn sink(
    client: &mut TcpStream,
    faults: &mut watch::Receiver<Faults>,
    reset_gen: u64,
) -> bool {
    let mut buf = vec![0u8; CHUNK];
    loop {
        tokio::select! {
            r = client.read(&mut buf) => match r {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            },
            changed = faults.changed() => {
                if changed.is_err() || faults.borrow_and_update().reset_generation != reset_gen {
                    return true;
                }
            }
        }
    }
}

/// Forwards both ways until a side closes or a fault ends the connection.
async fn relay(
    client: &mut TcpStream,
    upstream: &mut TcpStream,
    shared: &Shared,
    start: Faults,
) -> End {
    let (client_read, client_write) = client.split();
    let (upstream_read, upstream_write) = upstream.split();
    // Correlation id -> API key of the requests in flight on this connection.
    let in_flight = Mutex::new(HashMap::new());
    let mut watch_events = shared.faults.subscribe();
    let events = async {
        loop {
            // Checked first: a reset may have come while connecting upstream.
            let f = *watch_events.borrow_and_update();
            if f.reset_generation != start.reset_generation {
                return End::Reset;
            }
            if f.half_open_generation != start.half_open_generation {
                return End::HalfOpen;
            }
            if watch_events.changed().await.is_err() {
                return End::Closed;
            }
        }
    };
    tokio::select! {
        end = pump_requests(client_read, upstream_write, shared, &in_flight) => end,
        end = pump_responses(upstream_read, client_write, shared, &in_flight) => end,
        end = events => end,
    }
}

/// Waits until `direction` is not stalled; the faults then in force.
async fn unstalled(faults: &mut watch::Receiver<Faults>, direction: Direction) -> Faults {
    loop {
        let f = *faults.borrow_and_update();
        if !f.stalled(direction) {
            return f;
        }
        if faults.changed().await.is_err() {
            return f;
        }
    }
}

/// Reads one chunk once `direction` is not stalled; a stall switched on
/// while waiting for bytes stops the read (reads are cancel-safe).
/// `None` when the source closed or failed.
async fn read_chunk(
    source: &mut tokio::net::tcp::ReadHalf<'_>,
    buf: &mut [u8],
    faults: &mut watch::Receiver<Faults>,
    direction: Direction,
) -> Option<(usize, Faults)> {
    loop {
        unstalled(faults, direction).await;
        tokio::select! {
            r = source.read(buf) => return match r {
                Ok(0) | Err(_) => None,
                Ok(n) => Some((n, *faults.borrow())),
            },
            changed = faults.changed() => {
                if changed.is_err() {
                    return None;
                }
            }
        }
    }
}

async fn pump_requests(
    mut from: tokio::net::tcp::ReadHalf<'_>,
    mut to: tokio::net::tcp::WriteHalf<'_>,
    shared: &Shared,
    in_flight: &Mutex<HashMap<i32, (i16, i16)>>,
) -> End {
    let mut faults = shared.faults.subscribe();
    let mut buf = vec![0u8; CHUNK];
    // Request header: size, api key, api version, correlation id.
    let mut frames = FrameTracker::new(12);
    loop {
        let Some((n, f)) = read_chunk(&mut from, &mut buf, &mut faults, Direction::ToBroker).await
        else {
            return End::Closed;
        };
        if f.blackhole {
            return End::Blackholed;
        }
        frames.feed(&buf[..n], |_, _, header| {
            let api = i16::from_be_bytes([header[4], header[5]]);
            let version = i16::from_be_bytes([header[6], header[7]]);
            let correlation = i32::from_be_bytes([header[8], header[9], header[10], header[11]]);
            if let Ok(mut m) = in_flight.lock() {
                // acks=0 requests are never answered: forget the oldest guesses.
                if m.len() > 4096 {
                    m.clear();
                }
                m.insert(correlation, (api, version));
            }
        });
        if !f.latency.is_zero() {
            tokio::time::sleep(f.latency).await;
        }
        let f = unstalled(&mut faults, Direction::ToBroker).await;
        if f.blackhole {
            return End::Blackholed;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return End::Closed;
        }
    }
}

async fn pump_responses(
    mut from: tokio::net::tcp::ReadHalf<'_>,
    mut to: tokio::net::tcp::WriteHalf<'_>,
    shared: &Shared,
    in_flight: &Mutex<HashMap<i32, (i16, i16)>>,
) -> End {
    let mut faults = shared.faults.subscribe();
    let mut buf = vec![0u8; CHUNK];
    // Response header: size, correlation id.
    let mut frames = FrameTracker::new(8);
    // Stream position at which this connection is cut.
    let mut cut_at: Option<u64> = None;
    // Produce responses to rewrite, in stream order, each gathered whole.
    let mut rewrites: VecDeque<Rewrite> = VecDeque::new();
    loop {
        let Some((n, f)) = read_chunk(&mut from, &mut buf, &mut faults, Direction::ToClient).await
        else {
            return End::Closed;
        };
        if f.blackhole {
            return End::Blackholed;
        }
        let chunk_start = frames.position();
        frames.feed(&buf[..n], |frame_start, frame_len, header| {
            let correlation = i32::from_be_bytes([header[4], header[5], header[6], header[7]]);
            let request = in_flight
                .lock()
                .ok()
                .and_then(|mut m| m.remove(&correlation));
            let api = request.map(|(api, _)| api);
            // A frame whose first bytes went out with an earlier chunk
            // cannot be held back any more: the next one is rewritten.
            let produce = request.filter(|(api, _)| *api == ApiKey::Produce as i16);
            if let Some((_, version)) = produce.filter(|_| frame_start >= chunk_start) {
                if cut_at.is_none() {
                    if let Some(code) = shared.claim_failed_produce() {
                        rewrites.push_back(Rewrite {
                            start: frame_start,
                            end: frame_start + frame_len,
                            version,
                            code,
                            frame: Vec::new(),
                        });
                        return;
                    }
                }
            }
            if cut_at.is_none() && rewrites.is_empty() {
                if let Some(after) = shared.claim_mid_frame(api) {
                    let into = after.clamp(8, frame_len.saturating_sub(1).max(8));
                    cut_at = Some(frame_start + into);
                }
            }
        });
        if !f.latency.is_zero() {
            tokio::time::sleep(f.latency).await;
        }
        let f = unstalled(&mut faults, Direction::ToClient).await;
        if f.blackhole {
            return End::Blackholed;
        }
        let chunk_end = chunk_start + n as u64;
        match cut_at {
            Some(cut) if cut <= chunk_end => {
                let keep = cut.saturating_sub(chunk_start) as usize;
                let _ = to.write_all(&buf[..keep]).await;
                let _ = to.flush().await;
                // An RST discards what the kernel has not sent yet: give the
                // partial frame a moment to leave.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return End::MidFrameReset;
            }
            _ if rewrites.is_empty() => {
                if to.write_all(&buf[..n]).await.is_err() {
                    return End::Closed;
                }
            }
            _ => {
                // The bytes of a rewritten frame are held until it is whole;
                // the others go through in stream order.
                let mut at = chunk_start;
                while at < chunk_end {
                    let (upto, held) = match rewrites.front() {
                        Some(r) if r.start <= at => (r.end.min(chunk_end), true),
                        Some(r) => (r.start.min(chunk_end), false),
                        None => (chunk_end, false),
                    };
                    let bytes = &buf[(at - chunk_start) as usize..(upto - chunk_start) as usize];
                    at = upto;
                    if !held {
                        if to.write_all(bytes).await.is_err() {
                            return End::Closed;
                        }
                        continue;
                    }
                    let r = rewrites.front_mut().expect("held");
                    r.frame.extend_from_slice(bytes);
                    if at == r.end {
                        let r = rewrites.pop_front().expect("held");
                        let frame = r.rewritten().unwrap_or(r.frame);
                        shared
                            .counters
                            .failed_produces
                            .fetch_add(1, Ordering::AcqRel);
                        if to.write_all(&frame).await.is_err() {
                            return End::Closed;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_followed_across_chunks() {
        // Two frames: 8 bytes of body, then 5.
        let mut stream = Vec::new();
        stream.extend_from_slice(&8i32.to_be_bytes());
        stream.extend_from_slice(&[0, 0, 0, 7, 1, 2, 3, 4]);
        stream.extend_from_slice(&5i32.to_be_bytes());
        stream.extend_from_slice(&[0, 0, 0, 9, 5]);
        for split in 0..stream.len() {
            let mut t = FrameTracker::new(8);
            let mut seen = Vec::new();
            let mut record = |start: u64, len: u64, h: &[u8]| seen.push((start, len, h[7]));
            t.feed(&stream[..split], &mut record);
            t.feed(&stream[split..], &mut record);
            assert_eq!(seen, vec![(0, 12, 7), (12, 9, 9)], "split at {split}");
            assert_eq!(t.position(), stream.len() as u64);
        }
    }

    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    /// A frame whose body starts with `correlation`, as a response would.
    fn frame(correlation: i32, body: usize) -> Vec<u8> {
        let mut f = ((4 + body) as i32).to_be_bytes().to_vec();
        f.extend_from_slice(&correlation.to_be_bytes());
        f.extend(vec![0xab; body]);
        f
    }

    #[tokio::test]
    async fn forwards_stalls_and_resets() {
        let proxy = Proxy::start(0, echo_server().await).await.unwrap();
        let h = proxy.handle();
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        c.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");

        h.stall(Direction::ToClient);
        c.write_all(b"pong").await.unwrap();
        let stalled =
            tokio::time::timeout(Duration::from_millis(200), c.read_exact(&mut got)).await;
        assert!(stalled.is_err(), "nothing comes back while stalled");
        h.resume();
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pong", "a stall loses nothing");

        h.reset();
        let r = c.read(&mut got).await;
        assert!(
            matches!(&r, Err(e) if e.kind() == io::ErrorKind::ConnectionReset),
            "RST, not a clean close: {r:?}"
        );
        assert_eq!(h.stats().resets, 1);
        assert_eq!(h.stats().accepted, 1);
    }

    #[tokio::test]
    async fn cuts_the_next_response_frame() {
        let proxy = Proxy::start(0, echo_server().await).await.unwrap();
        let h = proxy.handle();
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        let first = frame(1, 100);
        c.write_all(&first).await.unwrap();
        let mut got = vec![0u8; first.len()];
        c.read_exact(&mut got).await.unwrap();
        h.reset_mid_response(None, 30);
        assert!(h.mid_response_armed());
        c.write_all(&frame(2, 100)).await.unwrap();
        let mut got = Vec::new();
        let r = c.read_to_end(&mut got).await;
        assert!(r.is_err(), "ends with RST: {r:?}");
        assert_eq!(
            got.len(),
            30,
            "the first 30 bytes of the frame, then nothing"
        );
        assert!(!h.mid_response_armed());
        assert_eq!(h.stats().mid_frame_resets, 1);
        assert_eq!(h.stats().faults(), 1);
    }

    #[tokio::test]
    async fn blackhole_and_half_open_answer_nothing() {
        let proxy = Proxy::start(0, echo_server().await).await.unwrap();
        let h = proxy.handle();
        let mut idle = TcpStream::connect(proxy.addr()).await.unwrap();
        let mut lost = TcpStream::connect(proxy.addr()).await.unwrap();
        lost.write_all(b"a").await.unwrap();
        let mut one = [0u8; 1];
        lost.read_exact(&mut one).await.unwrap();
        h.blackhole(true);
        lost.write_all(b"b").await.unwrap();
        let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
        fresh.write_all(b"c").await.unwrap();
        for s in [&mut lost, &mut fresh] {
            let r = tokio::time::timeout(Duration::from_millis(200), s.read(&mut one)).await;
            assert!(r.is_err(), "no answer inside the blackhole");
        }
        h.blackhole(false);
        lost.write_all(b"d").await.unwrap();
        let r = tokio::time::timeout(Duration::from_millis(200), lost.read(&mut one)).await;
        assert!(r.is_err(), "a connection that lost bytes stays unanswered");
        idle.write_all(b"e").await.unwrap();
        idle.read_exact(&mut one).await.unwrap();
        assert_eq!(&one, b"e", "an idle connection carries on");
        assert_eq!(h.stats().blackholed, 2);

        h.half_open();
        idle.write_all(b"f").await.unwrap();
        let r = tokio::time::timeout(Duration::from_millis(200), idle.read(&mut one)).await;
        assert!(r.is_err(), "half-open: open, and silent");
        assert_eq!(h.stats().half_opened, 1);
        assert_eq!(h.stats().accepted, 3);
        assert_eq!(h.stats().open, 3);
    }
}
