//! `cargo xtask <task>`: the project's own tools.
//!
//! - `codegen [--kafka-version V] [--schemas DIR] [--check]`: generates
//!   `kafka-protocol`'s messages from Kafka's JSON schemas, read from the
//!   `kafka-clients` jar of Kafka V (default: the version `kafka up` runs)
//!   on Maven Central, or from a local folder.
//! - `fuzz [TARGET] [--seconds N] [--save-seeds]`: installs cargo-fuzz and a
//!   nightly toolchain if missing, then runs one fuzz target or all of them
//!   from their seed archives (`--save-seeds`: the grown corpus folded back
//!   into the target's archive).
//! - `kafka up [--brokers N] [--version V] [--security LIST [--mtls]]
//!   [--proxied|--no-proxied]` / `kafka down`: a real Apache Kafka cluster on
//!   127.0.0.1 from Maven Central's jars, with TLS and SASL listeners on
//!   request and a listener advertised at the testkit proxy's ports.
//! - `quickstart [--records N]`: a local Kafka, a million records through
//!   the producer, read back and checked, broker stopped.
//! - `perf-compare [--records N] [--record-size B]`: our producer and Kafka's
//!   ProducerPerformance side by side on one local broker.
//! - `txn-perf [--sizes 100,1000,10000] [--rounds R] [--peers confluent]`:
//!   transactional throughput and commit latency of ours, the Java client
//!   and (when asked) confluent-kafka for Rust, side by side.
//! - `txn-compat`: the transaction tests on Kafka 3.9.1 (transactions v1)
//!   and on a 3-node cluster whose brokers are killed mid-commit (part of `ci`).
//! - `chaos [--records N] [--seconds S] [--seed X] [--short] [--only
//!   kill,pause,copier]`: the producer and the exactly-once copier on 3
//!   nodes under SIGKILL, SIGSTOP and proxy faults; fails on any loss,
//!   duplicate or reordering (`--short` is part of `txn-compat`).
//! - `package`: `cargo package` of the six library crates, each built from
//!   its package alone (part of `ci`).
//! - `ci [--fuzz-seconds N]`: formatting, codegen reproducibility, clippy,
//!   packaging and docs (warnings are errors), every test, and a fuzz smoke
//!   run of every target.

mod chaos;
mod ci;
mod codegen;
mod fuzz;
mod idp;
mod kafka;
mod perf;
mod perf_scale;
mod quickstart;
mod security;
mod txn_perf;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => codegen::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("ci") => ci::run(&args[1..]),
        Some("txn-compat") => ci::compat(&args[1..]),
        Some("package") => ci::package(&args[1..]),
        Some("kafka") => kafka::run(&args[1..]),
        // The test identity provider `kafka up` starts (not for hands).
        Some("idp-serve") => idp::serve(&args[1..]),
        Some("quickstart") => quickstart::run(&args[1..]),
        Some("perf-compare") => perf::run(&args[1..]),
        Some("txn-perf") => txn_perf::run(&args[1..]),
        Some("chaos") => chaos::run(&args[1..]),
        _ => Err(format!(
            "usage: cargo xtask <codegen [--kafka-version V] [--schemas DIR] [--check] | fuzz [TARGET] [--seconds N] [--save-seeds] | ci [--fuzz-seconds N] | txn-compat | package | kafka <up [--brokers N] [--version V] [--proxied] [--data-dir DIR] | down> | quickstart [--records N] | perf-compare [--records N] [--record-size B] [--rounds R] [--baseline PERF] [--only TEXT] [--listeners L,..] [--peers P,..] [--scale] [--data-dir DIR] | txn-perf [--sizes N,..] [--rounds R] [--peers confluent] | chaos [--records N] [--seconds S] [--seed X] [--short] [--only kill,pause,copier]>\n\
             got: {args:?}"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// What a fresh machine installs for each tool a task runs (the README's
/// prerequisites), so a missing one is named with the line that installs it.
const PREREQUISITES: &[(&str, &str)] = &[
    ("java", "Java 17 or newer: `sudo apt-get install -y openjdk-17-jre-headless` (or any JDK; JAVA_HOME is honoured)"),
    ("javac", "a JDK 17 or newer (javac compiles the brokers' test telemetry plugin): `sudo apt-get install -y openjdk-17-jdk-headless`"),
    ("keytool", "Java's keytool (in every JDK and JRE): `sudo apt-get install -y openjdk-17-jdk-headless`"),
    ("openssl", "OpenSSL's command line (the test cluster's PKCS12 client stores): `sudo apt-get install -y openssl`"),
    ("mvn", "Maven: `sudo apt-get install -y maven`"),
    ("rustup", "rustup: `curl https://sh.rustup.rs -sSf | sh`"),
    ("rustfmt", "rustfmt: `rustup component add rustfmt`"),
    ("tar", "tar: `sudo apt-get install -y tar gzip`"),
    ("python3", "Python 3 with venv: `sudo apt-get install -y python3 python3-venv`"),
];

/// Fails with the install line of `tool` when it cannot be run.
pub fn require_tool(tool: &str) -> Result<(), String> {
    let program = if tool == "java" {
        kafka::java_path()
    } else {
        tool.to_string()
    };
    let ran = std::process::Command::new(&program)
        .arg(if tool == "java" {
            "-version"
        } else {
            "--version"
        })
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if ran.is_ok() {
        return Ok(());
    }
    let line = PREREQUISITES
        .iter()
        .find(|(t, _)| *t == tool)
        .map_or("see the README's prerequisites", |(_, l)| l);
    Err(format!("`{program}` cannot be run; install {line}"))
}

/// Runs a command, failing with its name when it does not succeed.
pub fn run_cmd(cmd: &mut std::process::Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// Builds an example of `kafka-producer` in release mode (before a broker is
/// started, so it does not idle through the compile) and returns its path.
pub fn build_producer_example(name: &str) -> Result<PathBuf, String> {
    build_example("kafka-producer", name)
}

/// Builds an example of `package` in release mode and returns its path.
pub fn build_example(package: &str, name: &str) -> Result<PathBuf, String> {
    run_cmd(
        std::process::Command::new("cargo")
            .current_dir(root())
            .args(["build", "--release", "-p", package, "--example", name]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    Ok(target.join("release/examples").join(name))
}
