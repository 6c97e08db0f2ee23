//! The brokers' connections, owned by the I/O task: a request goes straight
//! onto its broker's live connection (the frame is queued in the order the
//! core made the requests), and the I/O task awaits the answers itself, in
//! request order per broker. Only connecting runs in a task of its own, so
//! a slow connect holds up no other broker; requests for a broker that is
//! connecting wait in its queue, in order.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesOrdered, StreamExt};
use kafka_codec::{CodecError, Connection, ConnectionConfig};
use kafka_protocol::messages::{RequestKind, ResponseKind};
use tokio::sync::mpsc;

use super::{Counters, Io};
use crate::config::{ClientDnsLookup, ConnectionSetupTimeout, ProducerConfig};
use crate::core::{Transmit, TransportFailure};

/// The answer to one request: its id and the response or failure.
pub(super) type Answer = (u64, Result<Option<ResponseKind>, TransportFailure>);

/// An answer on its way back.
type ResponseWait = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// One broker: its connection, the requests waiting for it, the answers
/// awaited (in request order: Kafka answers in order on a connection, and
/// the core expects a broker's answers in that order).
struct NodeIo {
    conn: Option<Connection>,
    /// The address `conn` was opened (or is being opened) to.
    addr: String,
    connecting: bool,
    /// Requests waiting for the connection, in order.
    waiting: VecDeque<Transmit>,
    answers: FuturesOrdered<ResponseWait>,
    /// Credentials or certificates were refused: never connect again (the
    /// core stops); requests get the same answer.
    refused: Option<TransportFailure>,
    /// When a request last went out (connections.max.idle.ms).
    last_active: Instant,
    /// Connection attempts failed since the last success.
    failed_attempts: u32,
}

/// Every broker the producer talks to.
pub(super) struct Nodes {
    nodes: HashMap<i32, NodeIo>,
    /// Where connect results go (to the I/O task).
    io: mpsc::UnboundedSender<Io>,
    config: ConnectionConfig,
    /// `socket.connection.setup.timeout.ms` doubled per failed attempt to
    /// a broker, up to `.max.ms` (Java's), with its jitter.
    setup: ConnectionSetupTimeout,
    /// `client.dns.lookup=resolve_canonical_bootstrap_servers_only`.
    canonical_bootstrap: bool,
    max_idle: Duration,
}

impl Nodes {
    pub fn new(
        io: mpsc::UnboundedSender<Io>,
        config: &ProducerConfig,
        counters: &Counters,
    ) -> Self {
        let connection = ConnectionConfig {
            bytes_written: Some(counters.bytes_written.clone()),
            ..config.connection_config("kafka-rs-producer")
        };
        Nodes {
            nodes: HashMap::new(),
            io,
            setup: ConnectionSetupTimeout::new(&connection),
            canonical_bootstrap: config.client_dns_lookup
                == ClientDnsLookup::ResolveCanonicalBootstrapServersOnly,
            config: connection,
            max_idle: config.connections_max_idle,
        }
    }

    /// Sends `t` to its broker now, or queues it while the broker connects.
    pub fn send(&mut self, t: Transmit, now: Instant) {
        let id = t.node.id;
        let node = self.nodes.entry(id).or_insert_with(|| NodeIo {
            conn: None,
            addr: t.node.addr.clone(),
            connecting: false,
            waiting: VecDeque::new(),
            answers: FuturesOrdered::new(),
            refused: None,
            last_active: now,
            failed_attempts: 0,
        });
        node.last_active = now;
        if let Some(f) = node.refused.clone() {
            let request_id = t.request_id;
            node.answers
                .push_back(Box::pin(async move { (request_id, Err(f)) }));
            return;
        }
        // A broker that moved (KIP-951 node endpoints, or metadata) is
        // reached at its new address: the old connection goes.
        if node.addr != t.node.addr && !node.connecting {
            if let Some(c) = node.conn.take() {
                tracing::debug!(node = id, from = %node.addr, to = %t.node.addr, "broker moved; reconnecting");
                c.close("the broker moved");
            }
            node.addr.clone_from(&t.node.addr);
        }
        let live = node.conn.as_ref().is_some_and(|c| !c.is_closed());
        if live && node.waiting.is_empty() {
            let answer = dispatch(node.conn.as_ref().expect("live"), t);
            node.answers.push_back(answer);
            return;
        }
        node.waiting.push_back(t);
        if !node.connecting {
            node.connecting = true;
            node.conn = None;
            let mut config = self.config.clone();
            config.connect_timeout = self.setup.after_failures(node.failed_attempts);
            let (addr, io) = (node.addr.clone(), self.io.clone());
            // Bootstrap addresses have negative ids.
            let canonical = self.canonical_bootstrap && id < 0;
            tokio::spawn(async move {
                let result = if canonical {
                    connect_canonical(&addr, config).await
                } else {
                    Connection::connect(&addr, config).await
                };
                let _ = io.send(Io::Connected(id, addr, result));
            });
        }
    }

    /// A connect finished: the waiting requests go out (or get its
    /// failure). Returns whether the broker is up. (A broker that moves
    /// while we connect is reconnected by its next request.)
    pub fn connected(
        &mut self,
        id: i32,
        addr: &str,
        result: Result<Connection, CodecError>,
    ) -> bool {
        let Some(node) = self.nodes.get_mut(&id) else {
            return false;
        };
        node.connecting = false;
        match result {
            Ok(conn) => {
                tracing::debug!(node = id, addr, "connected");
                node.failed_attempts = 0;
                for t in node.waiting.drain(..) {
                    node.answers.push_back(dispatch(&conn, t));
                }
                node.conn = Some(conn);
                true
            }
            Err(e) => {
                tracing::debug!(node = id, addr, error = %e, "connect failed");
                node.failed_attempts = node.failed_attempts.saturating_add(1);
                let f = TransportFailure::from_codec(&e, true);
                if f.authentication {
                    node.refused = Some(f.clone());
                }
                for t in node.waiting.drain(..) {
                    let (request_id, f) = (t.request_id, f.clone());
                    node.answers
                        .push_back(Box::pin(async move { (request_id, Err(f)) }));
                }
                false
            }
        }
    }

    /// The next answer of any broker, in request order per broker.
    pub fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<Answer> {
        for node in self.nodes.values_mut() {
            if let Poll::Ready(Some(answer)) = node.answers.poll_next_unpin(cx) {
                return Poll::Ready(answer);
            }
        }
        Poll::Pending
    }

    /// Closes connections with nothing sent for connections.max.idle.ms and
    /// nothing awaited (the next request reconnects), as Java's selector
    /// closes idle connections; returns when to look again.
    pub fn close_idle(&mut self, now: Instant) -> Option<Instant> {
        if self.max_idle.is_zero() {
            return None;
        }
        let mut next = None;
        for (id, node) in self.nodes.iter_mut() {
            let Some(c) = &node.conn else {
                continue;
            };
            let deadline = crate::core::later(node.last_active, self.max_idle);
            if now >= deadline && c.in_flight() == 0 && node.answers.is_empty() {
                tracing::debug!(node = id, peer = c.peer(), max_idle = ?self.max_idle, "closing an idle connection");
                c.close("idle for connections.max.idle.ms");
                node.conn = None;
            } else {
                let at = if now >= deadline {
                    crate::core::later(now, self.max_idle)
                } else {
                    deadline
                };
                next = Some(next.map_or(at, |n: Instant| n.min(at)));
            }
        }
        next
    }
}

/// Whether the request's records were failed at their delivery timeout
/// while it waited for a connection: writing it now could put them in the
/// log after all.
fn expired(t: &Transmit) -> bool {
    t.not_after.is_some_and(|d| Instant::now() >= d)
}

/// Queues the request on the connection now, at the top version both sides
/// speak (within the core's cap), and returns the wait for its answer, so
/// that the next request can go out at once (pipelining). One path for
/// every API. A request timeout closes the connection (as the Java client
/// does): the next request reconnects.
fn dispatch(conn: &Connection, t: Transmit) -> ResponseWait {
    let request_id = t.request_id;
    if expired(&t) {
        let f = TransportFailure {
            message: "delivery.timeout.ms passed before the request could be written".into(),
            connect_failed: false,
            authentication: false,
        };
        return Box::pin(async move { (request_id, Err(f)) });
    }
    let partitions: usize = match &t.request {
        RequestKind::Produce(r) => r.topic_data.iter().map(|d| d.partition_data.len()).sum(),
        _ => 0,
    };
    // Per request (never per record), at debug level: the codec's span
    // inside adds the version and correlation id.
    let span = tracing::debug_span!(
        "producer_request",
        broker = t.node.id,
        api = %t.request.api_key(),
        partitions,
        outcome = tracing::field::Empty
    );
    let answer = match conn.request_kind_negotiated(&t.request, t.max_version) {
        Ok(answer) => answer,
        Err(e) => {
            let f = failure(e);
            return Box::pin(async move { (request_id, Err(f)) });
        }
    };
    let conn = conn.clone();
    let wait = async move {
        let result = answer.await;
        if let Err(e @ CodecError::RequestTimeout { .. }) = &result {
            conn.close(&e.to_string());
        }
        let span = tracing::Span::current();
        match &result {
            Ok(Some(_)) => span.record("outcome", "response"),
            Ok(None) => span.record("outcome", "written"),
            Err(e) => span.record("outcome", tracing::field::display(e)),
        };
        (request_id, result.map_err(failure))
    };
    Box::pin(tracing::Instrument::instrument(wait, span))
}

fn failure(e: CodecError) -> TransportFailure {
    TransportFailure::from_codec(&e, false)
}

/// `client.dns.lookup=resolve_canonical_bootstrap_servers_only`: the
/// bootstrap address's canonical host names, each tried in turn (as Java
/// tries its bootstrap addresses), by name so TLS checks against it.
async fn connect_canonical(addr: &str, config: ConnectionConfig) -> Result<Connection, CodecError> {
    let names = kafka_codec::canonical_addresses(addr, config.connect_timeout).await?;
    let mut last = None;
    for name in &names {
        tracing::debug!(bootstrap = %addr, canonical = %name, "connecting by canonical name");
        match Connection::connect(name, config.clone()).await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        CodecError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{addr} resolved to no address"),
        ))
    }))
}
