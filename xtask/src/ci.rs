//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

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
    step("tests", || {
        run_cmd(&mut cargo(&["test", "--workspace", "--all-features"]))
    })?;
    step("fuzz smoke", || {
        crate::fuzz::run(&["--seconds".to_string(), fuzz_seconds.clone()])
    })?;
    println!("ci: all checks passed");
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("==> {name}");
    let start = std::time::Instant::now();
    let r = f().map_err(|e| format!("{name}: {e}"));
    println!("<== {name} ({:.0?})", start.elapsed());
    r
}
