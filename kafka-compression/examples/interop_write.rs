//! Writes our compressed form of the Java interop records, for the Java side
//! to check (`interop/java-compression`, verify mode).
//!
//! ```text
//! cargo run -p kafka-compression --example interop_write -- <vectors dir> <output dir>
//! ```
//!
//! For each codec and a spread of levels it writes `ours-<codec>-<level>.bin`
//! (the small record set, `records.bin`) and `ours-large-<codec>.bin` (the
//! large set, recovered by decoding Java's `java-large-gzip.bin`).

use std::error::Error;
use std::path::PathBuf;

use bytes::BytesMut;
use kafka_compression::{BuiltinCodec, Codec, CompressionType, Gzip};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(vectors), Some(out_dir)) = (
        args.next().map(PathBuf::from),
        args.next().map(PathBuf::from),
    ) else {
        return Err("usage: interop_write <vectors dir> <output dir>".into());
    };
    std::fs::create_dir_all(&out_dir)?;

    let small = std::fs::read(vectors.join("records.bin"))?;
    let mut large = BytesMut::new();
    Gzip::default().decompress(
        &std::fs::read(vectors.join("java-large-gzip.bin"))?,
        &mut large,
        1 << 20,
    )?;

    let levels: [(CompressionType, &[Option<i32>]); 4] = [
        (CompressionType::Gzip, &[None, Some(1), Some(9)]),
        (CompressionType::Snappy, &[None]),
        (CompressionType::Lz4, &[None, Some(1), Some(17)]),
        (
            CompressionType::Zstd,
            &[None, Some(-131_072), Some(-5), Some(1), Some(19), Some(22)],
        ),
    ];
    let mut written = 0;
    for (codec_type, levels) in levels {
        for &level in levels {
            let codec = BuiltinCodec::new(codec_type, level)?;
            let mut out = BytesMut::new();
            codec.compress(&small, &mut out)?;
            let label = codec
                .level()
                .map_or("default".to_owned(), |l| l.to_string());
            std::fs::write(out_dir.join(format!("ours-{codec_type}-{label}.bin")), &out)?;
            written += 1;
        }
        let mut out = BytesMut::new();
        BuiltinCodec::new(codec_type, None)?.compress(&large, &mut out)?;
        std::fs::write(out_dir.join(format!("ours-large-{codec_type}.bin")), &out)?;
        written += 1;
    }
    println!("wrote {written} files to {}", out_dir.display());
    Ok(())
}
