//! `cargo xtask fuzz [TARGET] [--seconds N]`: runs cargo-fuzz targets of the
//! `fuzz/` package, installing a nightly toolchain and cargo-fuzz when missing.
//! Without a target, every target runs for N seconds each (a smoke run).

use std::process::Command;

use crate::{root, run_cmd};

pub fn run(args: &[String]) -> Result<(), String> {
    let mut target = None;
    let mut seconds: u64 = 10;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a number")?;
            }
            t if !t.starts_with('-') && target.is_none() => target = Some(t.to_string()),
            other => return Err(format!("fuzz: unknown argument {other}")),
        }
    }
    ensure_tools()?;
    let all = list_targets()?;
    let targets = match target {
        Some(t) if all.contains(&t) => vec![t],
        Some(t) => return Err(format!("no fuzz target {t}; targets: {all:?}")),
        None => all,
    };
    // One build for every target, then short runs.
    run_cmd(
        Command::new("cargo")
            .current_dir(root())
            .args(["+nightly", "fuzz", "build", "-O"]),
    )?;
    for t in &targets {
        let corpus = root().join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
        let seeds = root().join("fuzz/seeds").join(t);
        let mut cmd = Command::new("cargo");
        cmd.current_dir(root())
            .args(["+nightly", "fuzz", "run", "-O", t])
            .arg(&corpus);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        // rss_limit bounds memory: a parser that allocates from a hostile length fails the run.
        cmd.args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-rss_limit_mb=1024",
            "-max_len=65536",
        ]);
        println!("fuzz: {t} for {seconds}s");
        run_cmd(&mut cmd)?;
    }
    println!("fuzz: {} target(s) ran without a crash", targets.len());
    Ok(())
}

fn ensure_tools() -> Result<(), String> {
    let toolchains = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map_err(|e| format!("rustup is needed for the nightly toolchain: {e}"))?;
    if !String::from_utf8_lossy(&toolchains.stdout)
        .lines()
        .any(|l| l.starts_with("nightly"))
    {
        run_cmd(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let have_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_fuzz {
        run_cmd(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

fn list_targets() -> Result<Vec<String>, String> {
    let out = Command::new("cargo")
        .current_dir(root())
        .args(["+nightly", "fuzz", "list"])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect())
}
