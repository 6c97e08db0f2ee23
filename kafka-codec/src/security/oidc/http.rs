//! The one HTTP call OAuth needs: a form POST to a token endpoint, over
//! TCP or rustls (the platform's roots), HTTP/1.1 with `Connection: close`,
//! the answer read whole (at most 1 MiB) within the read timeout.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest answer read from a token endpoint.
const MAX_RESPONSE: usize = 1 << 20;

/// A `http://` or `https://` URL, split as the request needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The path and query, `/` at least.
    pub target: String,
}

impl HttpUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!(
                "{url}: expected an http://, https:// or file:// URL"
            ));
        };
        let (authority, target) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') {
            return Err(format!("{url}: credentials in the URL are not supported"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                let port = p.parse().map_err(|_| format!("{url}: bad port {p:?}"))?;
                (h, port)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(HttpUrl {
            tls,
            host: host.to_string(),
            port,
            target,
        })
    }
}

/// Why a call failed, and whether trying again may help (a connection
/// that failed, a timeout, a 5xx) or not (a 4xx: the request is wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub message: String,
    pub retriable: bool,
}

fn retriable(message: String) -> HttpError {
    HttpError {
        message,
        retriable: true,
    }
}

/// POSTs `form` (already encoded) to `url`; the body of a 2xx answer.
pub async fn post_form(
    url: &HttpUrl,
    authorization: Option<&str>,
    form: &str,
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<Vec<u8>, HttpError> {
    let addr = format!("{}:{}", url.host, url.port);
    let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(&addr))
        .await
        .map_err(|_| {
            retriable(format!(
                "connecting to {addr} timed out after {connect_timeout:?}"
            ))
        })?
        .map_err(|e| retriable(format!("cannot connect to {addr}: {e}")))?;
    let host_header = if (url.tls && url.port == 443) || (!url.tls && url.port == 80) {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {host_header}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        url.target,
        form.len()
    );
    if let Some(a) = authorization {
        request.push_str(&format!("Authorization: {a}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(form);
    let exchange = async {
        if url.tls {
            let stream = tls_connect(tcp, &url.host).await?;
            exchange(stream, request.as_bytes()).await
        } else {
            exchange(tcp, request.as_bytes()).await
        }
    };
    let raw = tokio::time::timeout(connect_timeout + read_timeout, exchange)
        .await
        .map_err(|_| retriable(format!("{addr} did not answer within {read_timeout:?}")))??;
    parse_response(&raw)
}

async fn tls_connect(
    tcp: TcpStream,
    host: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, HttpError> {
    let roots = crate::security::stores::roots(&crate::security::TrustStore::Platform)
        .map_err(retriable)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| retriable(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| retriable(format!("{host} is not a valid TLS server name")))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| retriable(format!("TLS handshake with {host}: {e}")))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> Result<Vec<u8>, HttpError> {
    stream
        .write_all(request)
        .await
        .map_err(|e| retriable(format!("writing the request: {e}")))?;
    let mut raw = Vec::new();
    let mut limited = (&mut stream).take(MAX_RESPONSE as u64 + 1);
    // A server that closes without TLS close_notify still sent its answer.
    if let Err(e) = limited.read_to_end(&mut raw).await {
        if raw.is_empty() {
            return Err(retriable(format!("reading the answer: {e}")));
        }
    }
    if raw.len() > MAX_RESPONSE {
        return Err(HttpError {
            message: "the answer is larger than 1 MiB".into(),
            retriable: false,
        });
    }
    Ok(raw)
}

/// The body of a 2xx answer; an error naming the status otherwise.
pub fn parse_response(raw: &[u8]) -> Result<Vec<u8>, HttpError> {
    let bad = |m: &str| HttpError {
        message: m.to_string(),
        retriable: true,
    };
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("an answer without a complete header"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("a header that is not text"))?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("an answer without a status"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("a malformed chunked body"))?;
    } else if let Some(n) = length {
        if body.len() < n {
            return Err(bad("an answer shorter than its Content-Length"));
        }
        body.truncate(n);
    }
    match status {
        200..=299 => Ok(body),
        _ => {
            // The endpoint's own words (an OAuth error object, usually),
            // bounded; never the request, which holds the secret.
            let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            Err(HttpError {
                message: format!("HTTP {status}: {}", text.trim()),
                retriable: status >= 500 || status == 408 || status == 429,
            })
        }
    }
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if body.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = HttpUrl::parse("https://idp.example.com/oauth2/token?x=1").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.target.as_str()),
            (true, "idp.example.com", 443, "/oauth2/token?x=1")
        );
        let u = HttpUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((u.tls, u.port, u.target.as_str()), (false, 8080, "/"));
        let u = HttpUrl::parse("http://[::1]:9000/t").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
        assert!(HttpUrl::parse("ftp://x").is_err());
        assert!(HttpUrl::parse("http://u:p@x/").is_err());
        assert!(HttpUrl::parse("http://x:port/").is_err());
    }

    #[test]
    fn answers() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}extra";
        assert_eq!(parse_response(ok).unwrap(), b"{}");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3\r\na\"}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), b"{\"a\"}");
        let denied = b"HTTP/1.1 401 Unauthorized\r\n\r\n{\"error\":\"invalid_client\"}";
        let e = parse_response(denied).unwrap_err();
        assert!(!e.retriable && e.message.contains("401") && e.message.contains("invalid_client"));
        let busy = parse_response(b"HTTP/1.1 503 Busy\r\n\r\n").unwrap_err();
        assert!(busy.retriable);
        assert!(parse_response(b"garbage").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }
}
