//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, run_cmd};

pub fn run(args: &[String]) -> Result<(), String> {
    let mut fuzz_seconds = "10".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--fuzz-seconds" => {
                fuzz_seconds = it.next().ok_or("--fuzz-seconds needs a number")?.clone()
            }
            other => return Err(format!("ci: unknown argument {other}")),
        }
    }
    let cargo = |args: &[&str]| {
        let mut c = Command::new("cargo");
        c.current_dir(root()).args(args);
        c
    };
    step("format", || {
        run_cmd(&mut cargo(&["fmt", "--all", "--", "--check"]))
    })?;
    step("generated code is reproducible", || {
        crate::codegen::run(&["--check".to_string()])
    })?;
    step("clippy", || {
        run_cmd(&mut cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("crates package and build from their packages", || {
        package(&[])
    })?;
    step("docs (warnings are errors)", || {
        let mut cmd = cargo(&["doc", "--workspace", "--no-deps", "--all-features"]);
        cmd.env("RUSTDOCFLAGS", "-D warnings");
        run_cmd(&mut cmd)
    })?;
    // Tests that talk to a broker (feature `broker-tests`) get a real Kafka
    // started here and stopped afterwards, whatever the outcome.
    let cluster = step("kafka up", || {
        crate::kafka::up(&crate::kafka::UpOptions::default())
    })?;
    let python = step(
        "librdkafka from PyPI, for the fake's conformance checks",
        librdkafka_python,
    );
    let tests = python.and_then(|python| {
        step("tests", || {
            let mut cmd = cargo(&["test", "--workspace", "--all-features"]);
            cmd.envs(cluster.env());
            cmd.env("KAFKA_FAKE_PYTHON", &python);
            run_cmd(&mut cmd)
        })
    });
    step("kafka down", crate::kafka::down)?;
    tests?;
    // Examples that check what they show (against kafka-fake, no broker).
    step("trace propagation example", || {
        run_cmd(&mut cargo(&[
            "run",
            "-p",
            "kafka-producer",
            "--features",
            "otel",
            "--example",
            "trace_propagation",
        ]))
    })?;
    step("transactions on other clusters", || compat(&[]))?;
    step("fuzz smoke", || {
        crate::fuzz::run(&["--seconds".to_string(), fuzz_seconds.clone()])
    })?;
    println!("ci: all checks passed");
    Ok(())
}

fn step<T>(name: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    println!("==> {name}");
    let start = std::time::Instant::now();
    let r = f().map_err(|e| format!("{name}: {e}"));
    println!("<== {name} ({:.0?})", start.elapsed());
    r
}

/// The tests that need another cluster: Kafka 3.9.1 (transactions v1),
/// and 3 nodes: brokers killed mid-commit, the producer's fault tests (a
/// leader blackholed through the proxy, resets mid-response, Produce
/// answers rewritten into errors, leaders moved, a stopped leader) and a
/// short chaos run. Each cluster is started for its tests
/// and stopped whatever the outcome.
pub fn compat(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("txn-compat: unknown argument {a}"));
    }
    let cargo = |args: &[&str]| {
        let mut c = Command::new("cargo");
        c.current_dir(root()).args(args);
        c
    };
    let producer_test = |name: &'static str| -> Vec<&'static str> {
        vec![
            "test",
            "-p",
            "kafka-producer",
            "--features",
            "broker-tests",
            "--test",
            name,
        ]
    };
    // (name, cluster, test commands, then a short chaos run)
    let runs: [(&str, crate::kafka::UpOptions, Vec<Vec<&str>>, bool); 2] = [
        (
            "Kafka 3.9.1 (transactions v1)",
            crate::kafka::UpOptions {
                version: "3.9.1".into(),
                ..Default::default()
            },
            vec![
                vec![
                    "test",
                    "-p",
                    "kafka-txn",
                    "--features",
                    "broker-tests",
                    "--test",
                    "broker",
                ],
                // Produce v11 and Metadata v12 there: names, no topic ids.
                producer_test("broker"),
                vec![
                    "test",
                    "-p",
                    "kafka-txn",
                    "--features",
                    "broker-tests",
                    "--test",
                    "versions",
                ],
            ],
            false,
        ),
        (
            "3 nodes, brokers killed mid-commit, stopped and behind faults",
            crate::kafka::UpOptions {
                brokers: 3,
                proxied: true,
                ..Default::default()
            },
            vec![
                vec![
                    "test",
                    "-p",
                    "kafka-txn",
                    "--features",
                    "broker-tests",
                    "--test",
                    "cluster_failover",
                    "--",
                    "--ignored",
                ],
                producer_test("proxy_blackhole"),
                producer_test("proxy_resets"),
                // One body, two clusters: the fake's faults, here the proxies'.
                [producer_test("broker_faults"), vec!["--", "--ignored"]].concat(),
                producer_test("broker_paused"),
            ],
            true,
        ),
    ];
    for (name, opts, tests, chaos) in runs {
        let cluster = step(&format!("kafka up: {name}"), || crate::kafka::up(&opts))?;
        let result = step(&format!("tests: {name}"), || {
            for test in &tests {
                let mut cmd = cargo(test);
                cmd.envs(cluster.env());
                run_cmd(&mut cmd)?;
            }
            // On the 3-node cluster, which the chaos run reuses.
            if chaos {
                crate::chaos::run(&["--short".to_string()])?;
            }
            Ok(())
        });
        step("kafka down", crate::kafka::down)?;
        result?;
    }
    Ok(())
}

/// The library crates a user depends on.
const PUBLISHED: &[&str] = &[
    "kafka-compression",
    "kafka-protocol",
    "kafka-codec",
    "kafka-producer",
    "kafka-txn",
    "kafka-fake",
];

/// `cargo package` of every library crate together: each is built from its
/// packaged files alone (the others come from the packages beside it), so a
/// file outside a crate's folder, a path dependency without a version or a
/// missing README or LICENSE fails here rather than at publish time.
pub fn package(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("package: unknown argument {a}"));
    }
    forget_unpacked_packages()?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root()).args(["package", "--allow-dirty"]);
    for p in PUBLISHED {
        cmd.args(["-p", p]);
    }
    run_cmd(&mut cmd)?;
    for p in PUBLISHED {
        let out = Command::new("cargo")
            .current_dir(root())
            .args(["package", "--allow-dirty", "--list", "-p", p])
            .output()
            .map_err(|e| e.to_string())?;
        let list = String::from_utf8_lossy(&out.stdout);
        for needed in ["README.md", "LICENSE", "Cargo.toml"] {
            if !list.lines().any(|l| l == needed) {
                return Err(format!("the {p} package has no {needed}"));
            }
        }
    }
    println!(
        "package: {} crates package and build alone",
        PUBLISHED.len()
    );
    Ok(())
}

/// Cargo verifies the packages through a local registry under
/// `target/package/` and unpacks each into `$CARGO_HOME/registry/src/-<hash
/// of that path>/`, skipping any crate already unpacked there. With the same
/// checkout path and a kept `CARGO_HOME`, the packages of an earlier commit
/// would be built instead of this one's, so they are removed first.
fn forget_unpacked_packages() -> Result<(), String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry/src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&src) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        // Local registries are the ones without a host name before the hash.
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(crates) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for unpacked in crates.flatten() {
            let name = unpacked.file_name().to_string_lossy().into_owned();
            let ours = PUBLISHED.iter().any(|p| {
                name.strip_prefix(p)
                    .and_then(|v| v.strip_prefix('-'))
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            });
            if ours {
                std::fs::remove_dir_all(unpacked.path())
                    .map_err(|e| format!("removing {}: {e}", unpacked.path().display()))?;
            }
        }
    }
    Ok(())
}

/// The confluent-kafka release (librdkafka inside) the conformance checks use.
const CONFLUENT_KAFKA: &str = "2.16.1";

/// A virtualenv under `target/` with confluent-kafka from PyPI, made once;
/// returns its python. A reference client for `kafka-fake`'s checks only:
/// no crate of the workspace depends on it.
pub fn librdkafka_python() -> Result<std::path::PathBuf, String> {
    let venv = root().join("target/pyenv");
    let python = venv.join("bin/python");
    let marker = venv.join(format!("confluent-kafka-{CONFLUENT_KAFKA}"));
    if marker.exists() {
        return Ok(python);
    }
    crate::require_tool("python3")?;
    let _ = std::fs::remove_dir_all(&venv);
    run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))
        .map_err(|e| format!("{e} (the venv module: `sudo apt-get install -y python3-venv`)"))?;
    run_cmd(Command::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        &format!("confluent-kafka=={CONFLUENT_KAFKA}"),
    ]))?;
    std::fs::write(&marker, "").map_err(|e| e.to_string())?;
    Ok(python)
}
