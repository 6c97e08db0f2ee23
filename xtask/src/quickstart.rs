//! `cargo xtask quickstart`: the embedded default end to end. Starts a local
//! single-node Kafka, runs the producer's `quickstart` example (release
//! build): a topic, a million records produced idempotently with lz4, the
//! throughput, every record read back and checked; then stops the broker.

use std::process::Command;

use crate::{root, run_cmd};

pub fn run(args: &[String]) -> Result<(), String> {
    let mut records = "1000000".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--records" => records = it.next().ok_or("--records needs a number")?.clone(),
            other => return Err(format!("quickstart: unknown argument {other}")),
        }
    }
    // Build first, so that the broker does not idle through the compile.
    run_cmd(Command::new("cargo").current_dir(root()).args([
        "build",
        "--release",
        "-p",
        "kafka-producer",
        "--example",
        "quickstart",
    ]))?;
    let cluster = crate::kafka::up(&crate::kafka::UpOptions::default())?;
    let result = run_cmd(
        Command::new("cargo")
            .current_dir(root())
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "kafka-producer",
                "--example",
                "quickstart",
                "--",
            ])
            .arg(&cluster.bootstrap)
            .arg(&records),
    );
    crate::kafka::down()?;
    result
}
