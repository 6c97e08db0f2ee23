//! `cargo xtask kafka up [--brokers N] [--version V] [--security LIST [--mtls]] [--data-dir DIR]`
//! and `cargo xtask kafka down`: a real Apache Kafka cluster (KRaft, combined
//! broker+controller nodes) on 127.0.0.1, from Kafka's jars on Maven Central.
//! TLS and SASL listeners run beside PLAINTEXT (see `security`); `--security`
//! picks which (`none` for PLAINTEXT alone). `--proxied` (the default;
//! `--no-proxied` leaves it out) adds a `PROXIED` listener per broker whose
//! advertised port is where the testkit's `ProxiedCluster` listens.
//! `--data-dir DIR` puts the nodes' logs in `DIR/kafkars-cluster/` instead
//! of `data/` (benchmarks use a tmpfs there: see BENCHMARKS.md).
//!
//! Layout under `target/kafka/`:
//! - `dist/<version>/libs/`: the broker, its tools and their runtime
//!   dependencies, resolved once by `mvn` and reused;
//! - `cluster/`: `cluster.env` (bootstrap address, process ids, jar folder)
//!   and one folder per node (`server.properties`, `data/`, `kafka.log`).
//!
//! `up` first stops whatever a previous `up` left (a crashed or half-started
//! cluster never blocks the next one), then formats fresh storage, starts the
//! nodes and waits until every node answers ApiVersions and Metadata (through
//! our own `kafka-codec`) with all brokers registered.

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::security::{self, Listener, Materials, SecurityOptions};
use crate::{root, run_cmd};

/// The Kafka release tests run against: the newest 4.x that Maven Central serves.
pub const DEFAULT_VERSION: &str = "4.4.0";
/// The folder `--data-dir` holds: only it is removed, never the folder given.
const DATA_FOLDER: &str = "kafkars-cluster";
/// How long a cluster may take to come up on a 2-core machine.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("up") => {
            let mut opts = UpOptions::default();
            let mut it = args[1..].iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--brokers" => {
                        opts.brokers = it.next().and_then(|s| s.parse().ok()).ok_or("--brokers needs a number")?
                    }
                    "--version" => opts.version = it.next().ok_or("--version needs a version")?.clone(),
                    "--feature" => opts.features.push(it.next().ok_or("--feature needs name=level")?.clone()),
                    "--security" => {
                        let mtls = opts.security.mtls;
                        opts.security = SecurityOptions::parse(
                            it.next().ok_or("--security needs ssl, sasl_plaintext, sasl_ssl, all or none")?,
                        )?;
                        opts.security.mtls = mtls;
                    }
                    "--mtls" => opts.security.mtls = true,
                    "--proxied" => opts.proxied = true,
                    "--data-dir" => opts.data_dir = Some(it.next().ok_or("--data-dir needs a folder")?.into()),
                    "--no-proxied" => opts.proxied = false,
                    other => return Err(format!("kafka up: unknown argument {other}")),
                }
            }
            let cluster = up(&opts)?;
            println!("{}", cluster.bootstrap);
            Ok(())
        }
        Some("down") => down(),
        Some("libs") => {
            let version = args.get(1).cloned().unwrap_or_else(|| DEFAULT_VERSION.to_string());
            println!("{}", ensure_libs(&version)?.display());
            Ok(())
        }
        _ => Err("usage: cargo xtask kafka <up [--brokers N] [--version V] [--feature name=level] [--security ssl,sasl_plaintext,sasl_ssl|all|none [--mtls]] [--proxied|--no-proxied] [--data-dir DIR] | down | libs [V]>".into()),
    }
}

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub brokers: usize,
    pub version: String,
    pub features: Vec<String>,
    /// TLS and SASL listeners beside PLAINTEXT.
    pub security: SecurityOptions,
    /// A `PROXIED` listener per broker (PLAINTEXT) advertised at a port
    /// reserved for the testkit's fault-injecting proxy. On by default:
    /// it costs one listener, and leaves PLAINTEXT as it was.
    pub proxied: bool,
    /// Where the nodes' logs go (in a `kafkars-cluster` folder made and
    /// removed there), instead of each node's `data/`.
    pub data_dir: Option<PathBuf>,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            brokers: 1,
            version: DEFAULT_VERSION.to_string(),
            features: Vec::new(),
            security: SecurityOptions::all(),
            proxied: true,
            data_dir: None,
        }
    }
}

/// A running cluster as `up` recorded it.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub bootstrap: String,
    pub libs: PathBuf,
    pub version: String,
}

impl Cluster {
    /// Environment variables that tests read to find the cluster.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KAFKA_BOOTSTRAP", self.bootstrap.clone()),
            ("KAFKA_LIBS", self.libs.display().to_string()),
            ("KAFKA_VERSION", self.version.clone()),
        ]
    }
}

fn kafka_dir() -> PathBuf {
    root().join("target/kafka")
}

fn cluster_dir() -> PathBuf {
    kafka_dir().join("cluster")
}

/// Resolves Kafka's jars for `version` with `mvn`, once.
pub fn ensure_libs(version: &str) -> Result<PathBuf, String> {
    let dist = kafka_dir().join("dist").join(version);
    let libs = dist.join("libs");
    let marker = dist.join("resolved");
    if marker.exists() {
        return Ok(libs);
    }
    fs::create_dir_all(&dist).map_err(|e| e.to_string())?;
    // The broker, its tools (console consumer, perf test) and a plain slf4j
    // binding so the broker log lands in each node's kafka.log.
    let pom = format!(
        r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kafka-rs.xtask</groupId>
  <artifactId>kafka-dist</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{version}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>{version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
"#
    );
    fs::write(dist.join("pom.xml"), pom).map_err(|e| e.to_string())?;
    let _ = fs::remove_dir_all(&libs);
    crate::require_tool("mvn")?;
    println!("kafka: resolving Apache Kafka {version} from Maven Central");
    run_cmd(Command::new("mvn").current_dir(&dist).args([
        "-q",
        "-B",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        &format!("-DoutputDirectory={}", libs.display()),
    ]))
    .map_err(|e| format!("could not resolve Kafka {version} from Maven Central: {e}"))?;
    fs::write(&marker, "").map_err(|e| e.to_string())?;
    Ok(libs)
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// A Kafka cluster id: 16 random bytes in URL-safe base64 without padding,
/// not starting with '-' (as Kafka's `Uuid.randomUuid`: the storage tool
/// would read such an id as an option; one id in 64 did).
fn cluster_id() -> Result<String, String> {
    loop {
        let id = random_id()?;
        if !id.starts_with('-') {
            return Ok(id);
        }
    }
}

fn random_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    let mut f = fs::File::open("/dev/urandom").map_err(|e| e.to_string())?;
    std::io::Read::read_exact(&mut f, &mut bytes).map_err(|e| e.to_string())?;
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(A[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((acc << (6 - bits)) & 63) as usize] as char);
    }
    Ok(out)
}

struct Node {
    id: usize,
    port: u16,
    controller_port: u16,
    dir: PathBuf,
    /// Its `log.dirs`.
    data: PathBuf,
    /// The TLS/SASL listeners and their ports.
    secured: Vec<(Listener, u16)>,
    /// The `PROXIED` listener: the port it binds and the (proxy's) port it advertises.
    proxied: Option<ProxiedPorts>,
}

#[derive(Debug, Clone, Copy)]
struct ProxiedPorts {
    real: u16,
    advertised: u16,
}

fn server_properties(
    node: &Node,
    nodes: &[Node],
    security: Option<(&SecurityOptions, &Materials)>,
) -> String {
    let n = nodes.len();
    let voters: Vec<String> = nodes
        .iter()
        .map(|x| format!("{}@127.0.0.1:{}", x.id, x.controller_port))
        .collect();
    let rf = n.min(3);
    let min_isr = if n >= 3 { 2 } else { 1 };
    let listeners: String = node
        .secured
        .iter()
        .map(|(l, port)| format!(",{}://127.0.0.1:{port}", l.name))
        .collect();
    let mut protocols: String = node
        .secured
        .iter()
        .map(|(l, _)| format!(",{}:{}", l.name, l.protocol))
        .collect();
    let mut advertised = listeners.clone();
    let mut listeners = listeners;
    if let Some(p) = node.proxied {
        listeners.push_str(&format!(",PROXIED://127.0.0.1:{}", p.real));
        // Clients learn the proxy's port from metadata, so every
        // connection after the bootstrap goes through the proxy too.
        advertised.push_str(&format!(",PROXIED://127.0.0.1:{}", p.advertised));
        protocols.push_str(",PROXIED:PLAINTEXT");
    }
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        p.insert(k.to_string(), v);
    };
    set("process.roles", "broker,controller".to_string());
    set("node.id", node.id.to_string());
    // Two racks (node 1 alone in rack-a): rack-aware partitioning (KIP-1123)
    // is tested on the 3-node cluster.
    let rack = if node.id == 1 { "rack-a" } else { "rack-b" };
    set("broker.rack", rack.to_string());
    set("controller.quorum.voters", voters.join(","));
    set(
        "listeners",
        format!(
            "PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}{listeners}",
            node.port, node.controller_port
        ),
    );
    set(
        "advertised.listeners",
        format!("PLAINTEXT://127.0.0.1:{}{advertised}", node.port),
    );
    set("controller.listener.names", "CONTROLLER".into());
    // Brokers and controllers talk PLAINTEXT; only clients use the secured listeners.
    set("inter.broker.listener.name", "PLAINTEXT".into());
    set(
        "listener.security.protocol.map",
        format!("CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT{protocols}"),
    );
    set("log.dirs", node.data.display().to_string());
    set("num.partitions", "1".into());
    set("offsets.topic.replication.factor", rf.to_string());
    set("transaction.state.log.replication.factor", rf.to_string());
    set("transaction.state.log.min.isr", min_isr.to_string());
    set(
        "share.coordinator.state.topic.replication.factor",
        rf.to_string(),
    );
    set("share.coordinator.state.topic.min.isr", min_isr.to_string());
    set("group.initial.rebalance.delay.ms", "0".into());
    // Tests create their topics; a typo must surface as UNKNOWN_TOPIC_OR_PARTITION.
    set("auto.create.topics.enable", "false".into());
    set("log.segment.bytes", (64 * 1024 * 1024).to_string());
    // Tests write records with fixed old timestamps (and some with 0): time
    // retention would delete them under the test's feet.
    set("log.retention.ms", "-1".into());
    // Topics bounded by size (the benchmarks' large-record ones) shed old
    // segments within seconds; unbounded ones (every test's) keep all.
    set("log.retention.check.interval.ms", "5000".into());
    // Client telemetry (KIP-714): the test plugin records what clients
    // push, per node (see interop/java-telemetry).
    set(
        "metric.reporters",
        "kafkars.interop.TelemetryRecorder".into(),
    );
    set(
        "kafkars.telemetry.dir",
        node.dir.join("telemetry").display().to_string(),
    );
    if let Some((opts, materials)) = security {
        for (k, v) in security::broker_properties(opts, materials) {
            set(&k, v);
        }
    }
    let mut s = String::from("# Written by `cargo xtask kafka up`.\n");
    for (k, v) in p {
        s.push_str(&format!("{k}={v}\n"));
    }
    s
}

/// `java`, from `JAVA_HOME` when set.
pub fn java() -> Command {
    Command::new(java_path())
}

/// The `java` to run: `$JAVA_HOME/bin/java`, else the one on the PATH.
pub fn java_path() -> String {
    match std::env::var_os("JAVA_HOME") {
        Some(home) => Path::new(&home).join("bin/java").display().to_string(),
        None => "java".to_string(),
    }
}

fn classpath(libs: &Path) -> String {
    format!("{}/*", libs.display())
}

/// The broker's classpath: Kafka's jars and the test telemetry plugin.
fn broker_classpath(libs: &Path, plugin: &Path) -> String {
    format!("{}:{}", classpath(libs), plugin.display())
}

/// Compiles `interop/java-telemetry` against the broker's own jars (once
/// per version, again when the source changed) and returns the folder of
/// its classes. Every node names it in `metric.reporters`, so client
/// telemetry (KIP-714) can be tested: it records what clients push.
fn telemetry_plugin(libs: &Path) -> Result<PathBuf, String> {
    let source = crate::root().join("interop/java-telemetry/TelemetryRecorder.java");
    let out = libs.with_file_name("telemetry-plugin");
    let class = out.join("kafkars/interop/TelemetryRecorder.class");
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    if matches!((modified(&class), modified(&source)), (Some(c), Some(s)) if c >= s) {
        return Ok(out);
    }
    let javac = match std::env::var_os("JAVA_HOME") {
        Some(home) => Path::new(&home).join("bin/javac").display().to_string(),
        None => {
            crate::require_tool("javac")?;
            "javac".to_string()
        }
    };
    let _ = fs::remove_dir_all(&out);
    run_cmd(
        Command::new(javac)
            .args(["-nowarn", "-cp", &classpath(libs), "-d"])
            .arg(&out)
            .arg(&source),
    )
    .map_err(|e| format!("could not compile the telemetry plugin: {e}"))?;
    Ok(out)
}

pub fn up(opts: &UpOptions) -> Result<Cluster, String> {
    if opts.brokers == 0 {
        return Err("--brokers must be at least 1".into());
    }
    let libs = ensure_libs(&opts.version)?;
    crate::require_tool("java")?;
    let plugin = telemetry_plugin(&libs)?;
    down()?;
    let dir = cluster_dir();
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let data_root = opts.data_dir.as_ref().map(|d| d.join(DATA_FOLDER));
    if let Some(d) = &data_root {
        let _ = fs::remove_dir_all(d);
    }

    let mut materials = if opts.security.is_empty() {
        None
    } else {
        Some(security::make_materials(&dir.join("security"))?)
    };
    // The OAUTH listener's identity provider runs before the brokers,
    // which fetch its JWKS when they start.
    let mut idp_pid = None;
    if let Some(m) = materials
        .as_mut()
        .filter(|_| opts.security.listeners.contains(&security::OAUTH))
    {
        let idp_port = free_port()?;
        let pid = crate::idp::spawn(&m.dir, idp_port)?;
        // Recorded at once: should the brokers not come up, `kafka down`
        // (also the next `kafka up`'s first step) stops it.
        fs::write(dir.join("cluster.env"), format!("KAFKA_IDP_PID={pid}\n"))
            .map_err(|e| e.to_string())?;
        idp_pid = Some(pid);
        m.idp_port = Some(idp_port);
    }
    let security = materials.as_ref().map(|m| (&opts.security, m));
    let mut used = std::collections::BTreeSet::new();
    let mut port = || -> Result<u16, String> {
        loop {
            let p = free_port()?;
            if used.insert(p) {
                return Ok(p);
            }
        }
    };
    let mut nodes = Vec::new();
    for id in 1..=opts.brokers {
        let node_dir = dir.join(format!("node-{id}"));
        fs::create_dir_all(&node_dir).map_err(|e| e.to_string())?;
        let mut secured = Vec::new();
        for l in security::listener_names(&opts.security) {
            secured.push((*l, port()?));
        }
        nodes.push(Node {
            id,
            port: port()?,
            controller_port: port()?,
            data: match &data_root {
                Some(d) => d.join(format!("node-{id}")),
                None => node_dir.join("data"),
            },
            dir: node_dir,
            secured,
            proxied: None,
        });
        if opts.proxied {
            let real = port()?;
            let advertised = port()?;
            if let Some(n) = nodes.last_mut() {
                n.proxied = Some(ProxiedPorts { real, advertised });
            }
        }
    }
    let id = cluster_id()?;
    // Format every node's storage, in parallel (one JVM each).
    let mut formats = Vec::new();
    for node in &nodes {
        let props = node.dir.join("server.properties");
        fs::write(&props, server_properties(node, &nodes, security)).map_err(|e| e.to_string())?;
        let mut cmd = java();
        cmd.arg("-cp")
            .arg(classpath(&libs))
            .args(["kafka.tools.StorageTool", "format", "-t", &id, "-c"])
            .arg(&props);
        for f in &opts.features {
            cmd.args(["--feature", f]);
        }
        cmd.args(security::format_args(&opts.security));
        let log = fs::File::create(node.dir.join("format.log")).map_err(|e| e.to_string())?;
        cmd.stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        formats.push((
            node.id,
            cmd.spawn().map_err(|e| format!("cannot run java: {e}"))?,
        ));
    }
    for (id, mut child) in formats {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            let log =
                fs::read_to_string(dir.join(format!("node-{id}/format.log"))).unwrap_or_default();
            return Err(format!("formatting node {id} failed:\n{log}"));
        }
    }

    let mut children: Vec<(usize, Child)> = Vec::new();
    for node in &nodes {
        let log = fs::File::create(node.dir.join("kafka.log")).map_err(|e| e.to_string())?;
        let mut cmd = java();
        cmd.args([
            "-Xms128m",
            // 512 MiB ran out (OutOfMemoryError) with 10,000 partitions being
            // deleted while 6,000 were created (the scale benchmarks).
            "-Xmx1g",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
        ])
        .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=info")
        .arg("-Dorg.slf4j.simpleLogger.showDateTime=true")
        .args(
            // Kafka 4.x calls only the OAuth URLs listed here.
            materials.as_ref().and_then(|m| m.idp_url()).map(|idp| {
                format!("-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls={idp}/jwks,{idp}/token")
            }),
        )
        .arg("-cp")
        .arg(broker_classpath(&libs, &plugin))
        .arg("kafka.Kafka")
        .arg(node.dir.join("server.properties"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
        // Its own process group, so a Ctrl-C of the caller does not take it down.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().map_err(|e| format!("cannot run java: {e}"))?;
        children.push((node.id, child));
    }
    let bootstrap = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect::<Vec<_>>()
        .join(",");
    let pids: Vec<String> = children.iter().map(|(_, c)| c.id().to_string()).collect();
    let cluster = Cluster {
        bootstrap: bootstrap.clone(),
        libs: libs.clone(),
        version: opts.version.clone(),
    };
    let mut env = String::new();
    for (k, v) in cluster.env() {
        env.push_str(&format!("{k}={v}\n"));
    }
    env.push_str(&format!("KAFKA_PIDS={}\n", pids.join(",")));
    if let Some(d) = &data_root {
        env.push_str(&format!("KAFKA_DATA_DIR={}\n", d.display()));
    }
    if let Some(pid) = idp_pid {
        env.push_str(&format!("KAFKA_IDP_PID={pid}\n"));
    }
    for n in &nodes {
        env.push_str(&format!(
            "KAFKA_NODE_{}={}:{}\n",
            n.id,
            n.port,
            n.dir.display()
        ));
    }
    let proxied: Vec<String> = nodes
        .iter()
        .filter_map(|n| n.proxied.map(|p| (n.id, p)))
        .map(|(id, p)| {
            env.push_str(&format!("KAFKA_PROXIED_{id}={}:{}\n", p.advertised, p.real));
            format!("127.0.0.1:{}", p.advertised)
        })
        .collect();
    if !proxied.is_empty() {
        env.push_str(&format!("KAFKA_PROXIED_BOOTSTRAP={}\n", proxied.join(",")));
    }
    if let Some(m) = &materials {
        let mut bootstrap: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for n in &nodes {
            for (l, port) in &n.secured {
                bootstrap
                    .entry(l.name)
                    .or_default()
                    .push(format!("127.0.0.1:{port}"));
            }
        }
        env.push_str(&security::client_settings(&opts.security, m, &bootstrap)?);
    }
    fs::write(dir.join("cluster.env"), env).map_err(|e| e.to_string())?;

    let started = Instant::now();
    let ready = wait_ready(&nodes, &mut children);
    match ready {
        Ok(()) => {
            println!(
                "kafka: {} node(s) of Kafka {} ready in {:.1?}",
                nodes.len(),
                opts.version,
                started.elapsed()
            );
            Ok(cluster)
        }
        Err(e) => {
            let mut msg = format!("kafka did not come up: {e}");
            for n in &nodes {
                let log = fs::read_to_string(n.dir.join("kafka.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                msg.push_str(&format!(
                    "\n--- node {} (last lines of kafka.log) ---\n",
                    n.id
                ));
                msg.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            }
            let _ = down();
            Err(msg)
        }
    }
}

/// Waits until every node answers ApiVersions and a Metadata request that
/// lists every broker, through `kafka-codec`.
fn wait_ready(nodes: &[Node], children: &mut [(usize, Child)]) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let mut last_error = String::from("not tried yet");
    let mut ready = vec![false; nodes.len()];
    loop {
        for (id, child) in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("node {id} exited with {status}"));
            }
        }
        for (n, node) in nodes.iter().enumerate() {
            if ready[n] {
                continue;
            }
            match rt.block_on(probe(&format!("127.0.0.1:{}", node.port), nodes.len())) {
                Ok(()) => ready[n] = true,
                Err(e) => last_error = format!("node {}: {e}", node.id),
            }
        }
        if ready.iter().all(|r| *r) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "timed out after {STARTUP_TIMEOUT:?}; last error: {last_error}"
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

async fn probe(addr: &str, brokers: usize) -> Result<(), String> {
    use kafka_codec::{Connection, ConnectionConfig};
    use kafka_protocol::generated::MetadataRequest;
    let config = ConnectionConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        client_id: Some("xtask-kafka-up".into()),
        ..Default::default()
    };
    let conn = Connection::connect(addr, config)
        .await
        .map_err(|e| e.to_string())?;
    let md = conn
        .send(&MetadataRequest {
            topics: None,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    if md.brokers.len() < brokers {
        return Err(format!(
            "{} of {brokers} brokers registered",
            md.brokers.len()
        ));
    }
    if md.controller_id < 0 {
        return Err("no active controller yet".into());
    }
    Ok(())
}

/// The cluster `up` recorded, if any.
pub fn recorded() -> Option<BTreeMap<String, String>> {
    let text = fs::read_to_string(cluster_dir().join("cluster.env")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn is_our_kafka(pid: u32) -> bool {
    // Only a live Kafka JVM: a recycled pid must never be killed.
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmd) => {
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.contains("kafka.Kafka") && cmd.contains(&cluster_dir().display().to_string())
        }
        Err(_) => false,
    }
}

pub fn is_running(pid: u32) -> bool {
    // A zombie (exited, not yet reaped) counts as stopped.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Stops exactly the processes `up` recorded; safe to run twice.
pub fn down() -> Result<(), String> {
    let Some(rec) = recorded() else {
        println!("kafka: no cluster recorded");
        return Ok(());
    };
    let pids: Vec<u32> = rec
        .get("KAFKA_PIDS")
        .map(|p| p.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    let mut ours: Vec<u32> = pids.into_iter().filter(|p| is_our_kafka(*p)).collect();
    let nodes = ours.len();
    // The OAUTH listener's identity provider, if it ran.
    if let Some(pid) = rec.get("KAFKA_IDP_PID").and_then(|p| p.parse().ok()) {
        if fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.windows(9).any(|w| w == b"idp-serve"))
        {
            ours.push(pid);
        }
    }
    for pid in &ours {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while ours.iter().any(|p| is_running(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    for pid in ours.iter().filter(|p| is_running(**p)) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    // A data folder outside the cluster's (say, on a tmpfs) holds memory.
    if let Some(d) = rec.get("KAFKA_DATA_DIR") {
        let _ = fs::remove_dir_all(d);
    }
    let _ = fs::remove_file(cluster_dir().join("cluster.env"));
    let idp = if ours.len() > nodes {
        " and the identity provider"
    } else {
        ""
    };
    println!("kafka: stopped {nodes} node(s){idp}");
    Ok(())
}
