//! Dialing a broker as Java does: every address its name resolves to, in
//! turn, each with its own set-up timeout (`client.dns.lookup=
//! use_all_dns_ips`), on a socket with the configured buffer sizes.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::ConnectionConfig;
use crate::CodecError;

/// Connects to the first of `addrs` that answers, each tried with its own
/// `connect_timeout`; the stream, and the deadline of its set-up (for TLS).
pub(super) async fn connect_any(
    addrs: &[SocketAddr],
    name: &str,
    config: &ConnectionConfig,
) -> Result<(TcpStream, tokio::time::Instant), CodecError> {
    let mut last = None;
    for sa in addrs {
        let deadline = tokio::time::Instant::now() + config.connect_timeout;
        match tokio::time::timeout_at(deadline, connect_one(*sa, config)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true)?;
                return Ok((stream, deadline));
            }
            Ok(Err(e)) => {
                tracing::debug!(addr = %sa, %name, error = %e, "address refused the connection");
                last = Some(CodecError::from(e));
            }
            Err(_) => {
                tracing::debug!(addr = %sa, %name, "address timed out");
                last = Some(CodecError::ConnectTimeout {
                    addr: name.to_string(),
                    timeout: config.connect_timeout,
                });
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        CodecError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{name} resolved to no address"),
        ))
    }))
}

/// One TCP connect, with the socket buffer sizes of `config`.
async fn connect_one(sa: SocketAddr, config: &ConnectionConfig) -> std::io::Result<TcpStream> {
    let socket = if sa.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    if let Some(n) = config.send_buffer_size {
        socket.set_send_buffer_size(n)?;
    }
    if let Some(n) = config.receive_buffer_size {
        socket.set_recv_buffer_size(n)?;
    }
    socket.connect(sa).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_address_is_tried_until_one_connects() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        // A port nobody listens on: bound, then let go.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let (send, receive) = (48 * 1024, 40 * 1024);
        let config = ConnectionConfig {
            send_buffer_size: Some(send),
            receive_buffer_size: Some(receive),
            ..ConnectionConfig::default()
        };
        let (stream, _) = connect_any(&[closed, open], "broker", &config)
            .await
            .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), open);
        // The sizes asked for are the socket's (Linux reports twice the
        // size set, for its bookkeeping; left to the kernel, loopback's
        // buffers are autotuned far outside both ranges).
        let sock = socket2::SockRef::from(&stream);
        let within = |got: usize, set: u32| (set as usize..=2 * set as usize).contains(&got);
        let got = sock.send_buffer_size().unwrap();
        assert!(within(got, send), "send buffer {got}, set {send}");
        let got = sock.recv_buffer_size().unwrap();
        assert!(within(got, receive), "receive buffer {got}, set {receive}");
        let e = connect_any(&[closed], "broker", &config).await.unwrap_err();
        assert!(matches!(e, CodecError::Io(_)), "{e}");
        let e = connect_any(&[], "broker", &config).await.unwrap_err();
        assert!(e.to_string().contains("resolved to no address"), "{e}");
    }
}
