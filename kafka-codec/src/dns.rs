//! `client.dns.lookup=resolve_canonical_bootstrap_servers_only`: a
//! bootstrap address becomes the canonical host names of the addresses its
//! host resolves to, as Java's `ClientUtils.parseAndValidateAddresses`
//! does (each address's `getCanonicalHostName`, a reverse lookup).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::CodecError;

/// The canonical `host:port` addresses of `addr` (`host:port`): its host
/// resolved, and each address replaced by the name a reverse lookup gives
/// it; an address without a name stays as it is, as in Java. In the order
/// resolved, each name once. The forward lookup is bounded by `timeout`,
/// and so is each reverse lookup (run on a blocking thread: the system
/// resolver blocks).
///
/// ```no_run
/// # async fn demo() -> Result<(), kafka_codec::CodecError> {
/// let names = kafka_codec::canonical_addresses("127.0.0.1:9092", std::time::Duration::from_secs(10)).await?;
/// assert_eq!(names, ["localhost:9092"]); // as /etc/hosts names 127.0.0.1
/// # Ok(()) }
/// ```
///
/// # Errors
/// When the host does not resolve, or a lookup takes longer than `timeout`.
pub async fn canonical_addresses(addr: &str, timeout: Duration) -> Result<Vec<String>, CodecError> {
    let timed_out = || CodecError::ConnectTimeout {
        addr: addr.to_string(),
        timeout,
    };
    let resolved: Vec<SocketAddr> = tokio::time::timeout(timeout, tokio::net::lookup_host(addr))
        .await
        .map_err(|_| timed_out())??
        .collect();
    let mut names: Vec<String> = Vec::with_capacity(resolved.len());
    for sa in resolved {
        let ip = sa.ip();
        let reverse = tokio::task::spawn_blocking(move || dns_lookup::lookup_addr(&ip));
        let host = match tokio::time::timeout(timeout, reverse).await {
            Ok(Ok(Ok(name))) if !name.is_empty() => name,
            // No name (or the lookup failed): the address itself, as Java's
            // getCanonicalHostName answers.
            Ok(_) => literal(ip),
            Err(_) => return Err(timed_out()),
        };
        let canonical = format!("{host}:{}", sa.port());
        if !names.contains(&canonical) {
            names.push(canonical);
        }
    }
    Ok(names)
}

/// An address as a host part: IPv6 in brackets.
fn literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_loopback_address_becomes_its_name() {
        let names = canonical_addresses("127.0.0.1:9092", Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(names.len(), 1, "{names:?}");
        let (host, port) = names[0].rsplit_once(':').unwrap();
        assert_eq!(port, "9092");
        assert!(
            host.parse::<IpAddr>().is_err(),
            "no name for 127.0.0.1: {names:?}"
        );
        // The name is 127.0.0.1's: it resolves back to it.
        let back: Vec<SocketAddr> = tokio::net::lookup_host(&names[0]).await.unwrap().collect();
        assert!(
            back.iter().any(|a| a.ip() == IpAddr::from([127, 0, 0, 1])),
            "{back:?}"
        );
    }

    #[tokio::test]
    async fn a_host_that_does_not_resolve_is_an_error() {
        let e = canonical_addresses("no-such-host.invalid:9092", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(e, CodecError::Io(_)), "{e}");
    }

    #[test]
    fn literals_keep_ipv6_in_brackets() {
        assert_eq!(literal(IpAddr::from([10, 0, 0, 1])), "10.0.0.1");
        assert_eq!(literal("::1".parse().unwrap()), "[::1]");
    }
}
