//! [`ProxiedCluster`]: a proxy in front of every broker of the cluster
//! `cargo xtask kafka up --proxied` started.

use std::io;
use std::net::SocketAddr;

use super::{cluster_env, Proxy, ProxyHandle};

/// One proxy per broker of the cluster `cargo xtask kafka up --proxied`
/// started, each on the port the broker advertises for its `PROXIED`
/// listener and forwarding to that listener's real port. A client given
/// [`bootstrap`](Self::bootstrap) reaches every broker through a proxy.
#[derive(Debug)]
pub struct ProxiedCluster {
    /// The proxies, in node order (node 1 first).
    pub proxies: Vec<Proxy>,
    bootstrap: String,
}

impl ProxiedCluster {
    /// Starts the proxies from `KAFKA_PROXIED_<node>=<proxy port>:<real
    /// port>` in `cluster.env` under `workspace_root`. Fails when the cluster
    /// was started without `--proxied` or a port is taken.
    pub async fn start(workspace_root: &str) -> io::Result<ProxiedCluster> {
        let env = cluster_env(workspace_root);
        let mut proxies = Vec::new();
        for node in 1.. {
            let Some(ports) = env.get(&format!("KAFKA_PROXIED_{node}")) else {
                break;
            };
            let parse = |s: &str| {
                s.parse::<u16>().map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("KAFKA_PROXIED_{node}={ports}: {e}"),
                    )
                })
            };
            let (proxy_port, real_port) = ports.split_once(':').ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("KAFKA_PROXIED_{node}={ports}"),
                )
            })?;
            let upstream = SocketAddr::from(([127, 0, 0, 1], parse(real_port)?));
            proxies.push(Proxy::start(parse(proxy_port)?, upstream).await?);
        }
        if proxies.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no KAFKA_PROXIED_<node> in cluster.env: start the cluster with `cargo xtask kafka up --proxied`",
            ));
        }
        let bootstrap = proxies
            .iter()
            .map(|p| p.addr().to_string())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ProxiedCluster { proxies, bootstrap })
    }

    /// `bootstrap.servers` through the proxies.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The handle of node `node`'s proxy (nodes count from 1).
    pub fn node(&self, node: i32) -> Option<ProxyHandle> {
        let i = usize::try_from(node).ok()?.checked_sub(1)?;
        self.proxies.get(i).map(Proxy::handle)
    }

    /// The node whose proxy listens at `addr` (`host:port`, as metadata
    /// names a partition leader).
    pub fn node_of(&self, addr: &str) -> Option<i32> {
        let i = self
            .proxies
            .iter()
            .position(|p| p.addr().to_string() == addr)?;
        i32::try_from(i + 1).ok()
    }

    /// Every proxy's handle, in node order.
    pub fn handles(&self) -> Vec<ProxyHandle> {
        self.proxies.iter().map(Proxy::handle).collect()
    }
}
