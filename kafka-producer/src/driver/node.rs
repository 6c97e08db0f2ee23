//! One broker's I/O: a task that connects and writes that broker's
//! requests in the order the core produced them, and a second that awaits
//! the responses in the same order.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use kafka_codec::{CodecError, Connection, ConnectionConfig};
use kafka_protocol::messages::{RequestKind, ResponseKind};
use tokio::sync::mpsc;

use super::{Counters, Io};
use crate::config::ProducerConfig;
use crate::core::{Transmit, TransportFailure};

/// A response on its way back: awaited in request order per broker (Kafka
/// answers in order on a connection), so the core sees them in that order.
type ResponseWait =
    Pin<Box<dyn Future<Output = (u64, Result<Option<ResponseKind>, TransportFailure>)> + Send>>;

/// One task per broker: connects, and writes that broker's requests in the
/// order the core produced them (so sequences reach the broker in order). A
/// second task awaits the responses in the same order.
pub(super) fn spawn_node(
    io: mpsc::UnboundedSender<Io>,
    config: &ProducerConfig,
    counters: &Counters,
) -> mpsc::UnboundedSender<Transmit> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Transmit>();
    let (wait_tx, mut wait_rx) = mpsc::unbounded_channel::<ResponseWait>();
    let conn_config = ConnectionConfig {
        client_id: Some(config.client_id.clone()),
        client_software_name: "kafka-rs-producer".into(),
        client_software_version: env!("CARGO_PKG_VERSION").into(),
        connect_timeout: config.request_timeout.min(Duration::from_secs(10)),
        // The Produce timeout is in the request; give the broker that long plus slack.
        request_timeout: config.request_timeout + Duration::from_secs(1),
        security: config.security.clone(),
        bytes_written: Some(counters.bytes_written.clone()),
        ..ConnectionConfig::default()
    };
    let responses_io = io.clone();
    tokio::spawn(async move {
        while let Some(wait) = wait_rx.recv().await {
            let (id, result) = wait.await;
            let _ = responses_io.send(Io::Response(id, result));
        }
    });
    let max_idle = config.connections_max_idle;
    tokio::spawn(async move {
        let mut conn: Option<Connection> = None;
        // The address `conn` was opened to (the node's, when it was opened).
        let mut conn_addr = String::new();
        // Credentials or certificates refused: never connect again (the
        // core stops); requests already queued get the same answer.
        let mut refused: Option<TransportFailure> = None;
        loop {
            let next = match &conn {
                // connections.max.idle.ms: a connection with nothing sent for
                // that long and nothing awaited is closed (the next request
                // reconnects), as Java's selector closes idle connections.
                Some(c) if !max_idle.is_zero() => {
                    match tokio::time::timeout(max_idle, rx.recv()).await {
                        Ok(next) => next,
                        Err(_) => {
                            if c.in_flight() == 0 {
                                tracing::debug!(
                                    peer = c.peer(),
                                    ?max_idle,
                                    "closing an idle connection"
                                );
                                c.close("idle for connections.max.idle.ms");
                                conn = None;
                            }
                            continue;
                        }
                    }
                }
                _ => rx.recv().await,
            };
            let Some(t) = next else {
                break;
            };
            let id = t.request_id;
            if expired(&t) {
                let _ = wait_tx.send(unsent(id));
                continue;
            }
            if let Some(f) = refused.clone() {
                let _ = wait_tx.send(Box::pin(async move { (id, Err(f)) }));
                continue;
            }
            // A broker that moved (KIP-951 node endpoints, or metadata) is
            // reached at its new address: the old connection goes.
            if let Some(c) = conn.as_ref().filter(|_| conn_addr != t.node.addr) {
                tracing::debug!(node = t.node.id, from = %conn_addr, to = %t.node.addr, "broker moved; reconnecting");
                c.close("the broker moved");
                conn = None;
            }
            if conn.as_ref().is_none_or(Connection::is_closed) {
                let node = &t.node;
                match Connection::connect(&node.addr, conn_config.clone()).await {
                    Ok(c) => {
                        tracing::debug!(node = node.id, addr = %node.addr, "connected");
                        conn = Some(c);
                        conn_addr.clone_from(&node.addr);
                        let _ = io.send(Io::NodeUp(node.id));
                    }
                    Err(e) => {
                        tracing::debug!(node = node.id, addr = %node.addr, error = %e, "connect failed");
                        let f = TransportFailure::from_codec(&e, true);
                        if f.authentication {
                            refused = Some(f.clone());
                        }
                        let _ = wait_tx.send(Box::pin(async move { (id, Err(f)) }));
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_ref() else {
                continue;
            };
            // The connect may have taken long.
            if expired(&t) {
                let _ = wait_tx.send(unsent(id));
                continue;
            }
            let wait = match dispatch(c, t) {
                Ok(wait) => wait,
                Err(e) => {
                    let f = failure(e);
                    Box::pin(async move { (id, Err(f)) })
                }
            };
            let _ = wait_tx.send(wait);
        }
    });
    tx
}

/// Whether the request's records were failed at their delivery timeout
/// while it waited in the node's queue (for a connection): writing it now
/// could put them in the log after all.
fn expired(t: &Transmit) -> bool {
    t.not_after.is_some_and(|d| Instant::now() >= d)
}

/// The answer to a request that was never written.
fn unsent(id: u64) -> ResponseWait {
    let f = TransportFailure {
        message: "delivery.timeout.ms passed before the request could be written".into(),
        connect_failed: false,
        authentication: false,
    };
    Box::pin(async move { (id, Err(f)) })
}

/// Queues the request on the connection now, at the top version both sides
/// speak (within the core's cap), and returns the wait for its answer, so
/// that the next request can go out at once (pipelining). One path for
/// every API. A request timeout closes the connection (as the Java client
/// does): the next request reconnects.
fn dispatch(conn: &Connection, t: Transmit) -> Result<ResponseWait, CodecError> {
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
    let answer = conn.request_kind_negotiated(&t.request, t.max_version)?;
    let conn = conn.clone();
    let request_id = t.request_id;
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
    Ok(Box::pin(tracing::Instrument::instrument(wait, span)))
}

fn failure(e: CodecError) -> TransportFailure {
    TransportFailure::from_codec(&e, false)
}
