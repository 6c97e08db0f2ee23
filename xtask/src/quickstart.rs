//! `cargo xtask quickstart`: the embedded default end to end. Starts a local
//! single-node Kafka, runs the producer's `quickstart` example (release
//! build): a topic, a million records produced idempotently with lz4, the
//! throughput, every record read back and checked; then stops the broker.

use std::process::Command;

use crate::run_cmd;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut records = "1000000".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--records" => records = it.next().ok_or("--records needs a number")?.clone(),
            other => return Err(format!("quickstart: unknown argument {other}")),
        }
    }
    let example = crate::build_producer_example("quickstart")?;
    let cluster = crate::kafka::up(&crate::kafka::UpOptions::default())?;
    let result = run_cmd(Command::new(example).arg(&cluster.bootstrap).arg(&records));
    crate::kafka::down()?;
    result
}
