//! `cargo xtask fuzz [TARGET] [--seconds N] [--save-seeds]`: runs cargo-fuzz
//! targets of the `fuzz/` package, installing a nightly toolchain and
//! cargo-fuzz when missing. Without a target, every target runs for N
//! seconds each (a smoke run).
//!
//! Each target's seeds are one archive, `fuzz/seeds/<target>.tar.gz` (a
//! corpus minimised with `cargo fuzz cmin`), unpacked before a run into
//! `fuzz/seeds-unpacked/<target>/` (ignored by git). A run grows
//! `fuzz/corpus/<target>/` (ignored too); `--save-seeds` folds that corpus
//! into the archive, minimised again, so the tree keeps one file per
//! target instead of thousands.

use std::path::PathBuf;
use std::process::Command;

use crate::{root, run_cmd};

pub fn run(args: &[String]) -> Result<(), String> {
    let mut target = None;
    let mut seconds: u64 = 10;
    let mut save = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a number")?;
            }
            "--save-seeds" => save = true,
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
    if save && targets.len() != 1 {
        return Err("--save-seeds takes one target".into());
    }
    for t in &targets {
        let corpus = root().join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
        let seeds = unpack_seeds(t)?;
        let mut cmd = Command::new("cargo");
        cmd.current_dir(root())
            .args(["+nightly", "fuzz", "run", "-O", t])
            .arg(&corpus);
        if let Some(seeds) = &seeds {
            cmd.arg(seeds);
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
    if save {
        save_seeds(&targets[0])?;
    }
    Ok(())
}

fn archive(target: &str) -> PathBuf {
    root().join("fuzz/seeds").join(format!("{target}.tar.gz"))
}

/// Unpacks a target's seed archive (afresh, so a deleted seed goes too);
/// `None` when the target has none.
fn unpack_seeds(target: &str) -> Result<Option<PathBuf>, String> {
    let archive = archive(target);
    if !archive.exists() {
        return Ok(None);
    }
    crate::require_tool("tar")?;
    let dir = root().join("fuzz/seeds-unpacked").join(target);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    run_cmd(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&dir),
    )?;
    Ok(Some(dir))
}

/// Seeds and the grown corpus, minimised together, written back as the
/// target's archive (sorted, without times or owners: the same files give
/// the same archive).
fn save_seeds(target: &str) -> Result<(), String> {
    let merged = root().join("target/fuzz-seeds").join(target);
    let _ = std::fs::remove_dir_all(&merged);
    std::fs::create_dir_all(&merged).map_err(|e| e.to_string())?;
    for from in [
        root().join("fuzz/seeds-unpacked").join(target),
        root().join("fuzz/corpus").join(target),
    ] {
        for entry in std::fs::read_dir(&from).into_iter().flatten().flatten() {
            std::fs::copy(entry.path(), merged.join(entry.file_name()))
                .map_err(|e| e.to_string())?;
        }
    }
    run_cmd(
        Command::new("cargo")
            .current_dir(root())
            .args(["+nightly", "fuzz", "cmin", "-O", target])
            .arg(&merged)
            .args(["--", "-rss_limit_mb=1024", "-max_len=65536"]),
    )?;
    let out = archive(target);
    run_cmd(Command::new("sh").arg("-c").arg(format!(
        "tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C '{}' -cf - . | gzip -n -9 > '{}'",
        merged.display(),
        out.display()
    )))?;
    let kept = std::fs::read_dir(&merged).map_or(0, |d| d.count());
    println!("fuzz: {kept} seeds of {target} saved to {}", out.display());
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
