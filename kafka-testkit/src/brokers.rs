//! The brokers of the cluster `cargo xtask kafka up` started, for tests
//! that kill, stop and restart them.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::cluster_env;

/// One node of the cluster.
#[derive(Debug, Clone)]
pub struct Broker {
    /// Its node id.
    pub node: i32,
    /// Its listener port on 127.0.0.1.
    pub port: u16,
    /// Its process id.
    pub pid: u32,
    /// Its command line, to start it again the same way.
    args: Vec<String>,
    /// Its folder (server.properties, data, kafka.log).
    dir: String,
    root: String,
}

/// The nodes recorded in `cluster.env` under `workspace_root`, in node order.
pub fn brokers(workspace_root: &str) -> Vec<Broker> {
    let env = cluster_env(workspace_root);
    let pids: Vec<u32> = env
        .get("KAFKA_PIDS")
        .map(|p| p.split(',').filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_default();
    pids.iter()
        .enumerate()
        .filter_map(|(i, pid)| {
            let node = i as i32 + 1;
            let (port, dir) = env.get(&format!("KAFKA_NODE_{node}"))?.split_once(':')?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args = cmd
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Some(Broker {
                node,
                port: port.parse().ok()?,
                pid: *pid,
                args,
                dir: dir.to_string(),
                root: workspace_root.to_string(),
            })
        })
        .collect()
}

impl Broker {
    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let _ = std::process::Command::new("kill")
            .args([signal, &self.pid.to_string()])
            .status();
    }

    /// SIGKILL, and waits until the process is gone.
    pub fn kill(&self) {
        self.signal("-KILL");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let gone = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .map(|s| s.contains(") Z"))
                .unwrap_or(true);
            if gone {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGSTOP: the broker holds its connections but answers nothing.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Starts the (killed) broker again with its old command line, and
    /// records the new pid where `cargo xtask kafka down` finds it.
    #[allow(clippy::zombie_processes)] // the broker outlives the test; `kafka down` stops it
    pub fn restart(&mut self) -> std::io::Result<()> {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(format!("{}/kafka.log", self.dir))?;
        let mut cmd = std::process::Command::new(&self.args[0]);
        cmd.args(&self.args[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn()?;
        let file = format!("{}/target/kafka/cluster/cluster.env", self.root);
        let text = std::fs::read_to_string(&file)?;
        let text: String = text
            .lines()
            .map(|l| match l.strip_prefix("KAFKA_PIDS=") {
                Some(pids) => {
                    let pids: Vec<String> = pids
                        .split(',')
                        .map(|p| {
                            if p == self.pid.to_string() {
                                child.id().to_string()
                            } else {
                                p.to_string()
                            }
                        })
                        .collect();
                    format!("KAFKA_PIDS={}\n", pids.join(","))
                }
                None => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&file, text)?;
        self.pid = child.id();
        Ok(())
    }

    /// Waits (up to two minutes) until the broker answers Metadata again.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(c) = super::connect(&self.addr()).await {
                let req = kafka_protocol::generated::MetadataRequest {
                    topics: None,
                    ..Default::default()
                };
                if c.send(&req).await.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        panic!("broker {} did not come back", self.node);
    }
}
