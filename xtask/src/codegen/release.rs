//! Kafka's message schemas as a release ships them: `common/message/*.json`
//! inside the `kafka-clients` jar on Maven Central. The jar is fetched once
//! with `mvn` into `target/kafka/schemas/<version>/`, its SHA-256 checked
//! against the pin below, and the schemas read straight out of the zip.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

use crate::{root, run_cmd};

/// SHA-256 of `kafka-clients-<version>.jar` as Maven Central serves it (its
/// published SHA-1 was checked when the pin was added). A version without a
/// pin is refused: the generated code must come from known bytes.
const PINNED: &[(&str, &str)] = &[(
    "4.4.0",
    "1ab07317eb6633241392449d329dbdc5d9251e6ffc4926860f42dd966e88bdf9",
)];

/// The schema files of Kafka `version`, by file name.
pub fn schemas(version: &str) -> Result<BTreeMap<String, String>, String> {
    let jar = fetch(version)?;
    let bytes = fs::read(&jar).map_err(|e| format!("{}: {e}", jar.display()))?;
    let files = read_zip(&bytes, |name| {
        name.starts_with("common/message/") && name.ends_with(".json")
    })
    .map_err(|e| format!("{}: {e}", jar.display()))?;
    Ok(files
        .into_iter()
        .map(|(name, text)| (name.trim_start_matches("common/message/").to_string(), text))
        .collect())
}

/// The jar of `version`, fetched when missing, checked every time.
fn fetch(version: &str) -> Result<PathBuf, String> {
    let want = PINNED
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, sha)| *sha)
        .ok_or_else(|| {
            format!(
                "no SHA-256 pinned for kafka-clients {version} (pinned: {:?}); add it to xtask/src/codegen/release.rs",
                PINNED.iter().map(|(v, _)| v).collect::<Vec<_>>()
            )
        })?;
    let dir = root().join("target/kafka/schemas").join(version);
    let jar = dir.join(format!("kafka-clients-{version}.jar"));
    if !jar.exists() {
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        println!("codegen: fetching kafka-clients {version} from Maven Central");
        crate::require_tool("mvn")?;
        run_cmd(Command::new("mvn").current_dir(&dir).args([
            "-q",
            "-B",
            "dependency:copy",
            &format!("-Dartifact=org.apache.kafka:kafka-clients:{version}:jar"),
            &format!("-DoutputDirectory={}", dir.display()),
        ]))
        .map_err(|e| format!("could not fetch kafka-clients {version} from Maven Central: {e}"))?;
    }
    let bytes = fs::read(&jar).map_err(|e| format!("{}: {e}", jar.display()))?;
    let got = sha256_hex(&bytes);
    if got != want {
        return Err(format!(
            "{} has SHA-256 {got}, expected {want}; delete it to fetch it again",
            jar.display()
        ));
    }
    Ok(jar)
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The entries of a zip archive whose names `want` accepts, as UTF-8 text.
/// Only what a jar uses: stored or deflated entries, no zip64.
fn read_zip(zip: &[u8], want: impl Fn(&str) -> bool) -> Result<BTreeMap<String, String>, String> {
    let u16_at = |at: usize| -> Result<usize, String> {
        zip.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or_else(|| "truncated zip".to_string())
    };
    let u32_at = |at: usize| -> Result<usize, String> {
        zip.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| "truncated zip".to_string())
    };
    // The end-of-central-directory record: its signature, searched from the
    // end (a comment of up to 64 KiB may follow it).
    let eocd = (0..zip.len().saturating_sub(21))
        .rev()
        .take(22 + 65_535)
        .find(|&i| zip[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))
        .ok_or("no end of central directory")?;
    let entries = u16_at(eocd + 10)?;
    let mut at = u32_at(eocd + 16)?;
    let mut out = BTreeMap::new();
    for _ in 0..entries {
        if u32_at(at)? != 0x0201_4b50 {
            return Err("bad central directory entry".into());
        }
        let method = u16_at(at + 10)?;
        let compressed = u32_at(at + 20)?;
        let size = u32_at(at + 24)?;
        let name_len = u16_at(at + 28)?;
        let extra_len = u16_at(at + 30)?;
        let comment_len = u16_at(at + 32)?;
        let local = u32_at(at + 42)?;
        let name = zip
            .get(at + 46..at + 46 + name_len)
            .ok_or("truncated zip")?;
        let name = String::from_utf8_lossy(name).into_owned();
        at += 46 + name_len + extra_len + comment_len;
        if !want(&name) {
            continue;
        }
        if u32_at(local)? != 0x0403_4b50 {
            return Err(format!("{name}: bad local header"));
        }
        let start = local + 30 + u16_at(local + 26)? + u16_at(local + 28)?;
        let data = zip
            .get(start..start + compressed)
            .ok_or_else(|| format!("{name}: truncated"))?;
        let mut text = String::with_capacity(size);
        match method {
            0 => text.push_str(std::str::from_utf8(data).map_err(|e| format!("{name}: {e}"))?),
            8 => {
                flate2::read::DeflateDecoder::new(data)
                    .take(size as u64 + 1)
                    .read_to_string(&mut text)
                    .map_err(|e| format!("{name}: {e}"))?;
            }
            m => return Err(format!("{name}: compression method {m} is not read here")),
        }
        if text.len() != size {
            return Err(format!(
                "{name}: {} bytes, the directory says {size}",
                text.len()
            ));
        }
        out.insert(name, text);
    }
    Ok(out)
}
