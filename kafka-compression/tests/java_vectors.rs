//! Records sections that the Java client (kafka-clients 4.1.1) compressed,
//! decoded here and compared with the bytes Java wrote uncompressed.
//!
//! The vectors in `tests/vectors/` come from `interop/java-compression`
//! (see its README to regenerate them); `manifest.txt` lists each file with
//! its codec, the batch attributes Java wrote, and the length and CRC-32 of
//! the uncompressed records section.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use bytes::BytesMut;
use kafka_compression::{BuiltinCodec, Codec, CompressionError, CompressionType};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(vectors().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// CRC-32 (IEEE, as `java.util.zip.CRC32`), bit by bit: small and obviously right.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

struct Vector {
    file: String,
    codec: CompressionType,
    attributes: i16,
    len: usize,
    crc: u32,
}

fn manifest() -> Vec<Vector> {
    let text = String::from_utf8(read("manifest.txt")).unwrap();
    let vectors: Vec<Vector> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 5, "manifest line {line:?}");
            Vector {
                file: f[0].to_owned(),
                codec: CompressionType::from_str(f[1]).unwrap(),
                attributes: f[2].parse().unwrap(),
                len: f[3].parse().unwrap(),
                crc: u32::from_str_radix(f[4], 16).unwrap(),
            }
        })
        .collect();
    assert_eq!(vectors.len(), 8, "four codecs, two record sets");
    vectors
}

fn decompress(
    codec: CompressionType,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, CompressionError> {
    let mut out = BytesMut::new();
    BuiltinCodec::new(codec, None)?.decompress(input, &mut out, limit)?;
    Ok(out.to_vec())
}

#[test]
fn java_vectors_decode_to_the_records_java_wrote() {
    let records = read("records.bin");
    let mut large = Vec::new();
    for v in manifest() {
        let compressed = read(&v.file);
        assert_eq!(
            CompressionType::from_attributes(v.attributes).unwrap(),
            v.codec,
            "{}",
            v.file
        );

        let plain =
            decompress(v.codec, &compressed, v.len).unwrap_or_else(|e| panic!("{}: {e}", v.file));
        assert_eq!(plain.len(), v.len, "{}", v.file);
        assert_eq!(crc32(&plain), v.crc, "{}", v.file);
        if v.file.starts_with("java-large-") {
            large.push(plain);
        } else {
            assert_eq!(plain, records, "{}", v.file);
        }

        // One byte less room than the records need.
        assert_eq!(
            decompress(v.codec, &compressed, v.len - 1).unwrap_err(),
            CompressionError::LimitExceeded {
                codec: v.codec,
                limit: v.len - 1
            },
            "{}",
            v.file
        );
    }
    assert_eq!(large.len(), 4);
    assert!(
        large.windows(2).all(|w| w[0] == w[1]),
        "the four codecs agree on the large set"
    );
}

#[test]
fn java_snappy_is_xerial_framed_in_32k_chunks() {
    for (file, chunks) in [("java-snappy.bin", 1), ("java-large-snappy.bin", 3)] {
        let bytes = read(file);
        assert_eq!(
            &bytes[..8],
            &[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0],
            "{file}"
        );
        assert_eq!(
            &bytes[8..16],
            &[0, 0, 0, 1, 0, 0, 0, 1],
            "{file}: version 1, compatible 1"
        );
        let mut pos = 16;
        let mut seen = 0;
        while pos < bytes.len() {
            let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
            let block = &bytes[pos + 4..pos + 4 + len];
            let plain = snap::raw::Decoder::new().decompress_vec(block).unwrap();
            assert!(plain.len() <= 32 * 1024, "{file}: chunk of {}", plain.len());
            pos += 4 + len;
            seen += 1;
        }
        assert_eq!(pos, bytes.len());
        assert_eq!(seen, chunks, "{file}");
    }
}

#[test]
fn java_lz4_frames_have_the_documented_flags() {
    for (file, blocks) in [("java-lz4.bin", 1), ("java-large-lz4.bin", 2)] {
        let bytes = read(file);
        // Magic 0x184D2204, FLG 0x60 (version 1, independent blocks, no block
        // checksum, no content size, no content checksum), BD 0x40 (64 KiB).
        assert_eq!(
            &bytes[..7],
            &[0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82],
            "{file}"
        );
        let mut pos = 7;
        let mut seen = 0;
        loop {
            let word = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap());
            pos += 4;
            if word == 0 {
                break;
            }
            let len = (word & 0x7FFF_FFFF) as usize;
            assert!(len <= 64 * 1024);
            pos += len;
            seen += 1;
        }
        assert_eq!(
            pos,
            bytes.len(),
            "{file}: EndMark ends the frame, no content checksum"
        );
        assert_eq!(seen, blocks, "{file}");
    }
}

#[test]
fn java_zstd_frames_have_no_content_size() {
    for file in ["java-zstd.bin", "java-large-zstd.bin"] {
        let bytes = read(file);
        assert_eq!(&bytes[..4], &[0x28, 0xB5, 0x2F, 0xFD], "{file}");
        let descriptor = bytes[4];
        assert_eq!(descriptor & 0b1100_0000, 0, "{file}: no content size field");
        assert_eq!(descriptor & 0b0010_0000, 0, "{file}: not single-segment");
    }
}

#[test]
fn java_gzip_is_one_member() {
    for v in manifest()
        .iter()
        .filter(|v| v.codec == CompressionType::Gzip)
    {
        let bytes = read(&v.file);
        assert_eq!(&bytes[..3], &[0x1f, 0x8b, 8], "{}", v.file);
        assert_eq!(
            &bytes[bytes.len() - 4..],
            &(v.len as u32).to_le_bytes(),
            "{}: ISIZE",
            v.file
        );
    }
}

#[test]
fn our_compression_of_the_java_records_round_trips() {
    // Java reads what we write: see interop/java-compression (verify mode).
    // Here: our own codecs agree with themselves on the same records.
    let records = read("records.bin");
    for codec in &CompressionType::ALL[1..] {
        let codec = BuiltinCodec::new(*codec, None).unwrap();
        let mut compressed = BytesMut::new();
        codec.compress(&records, &mut compressed).unwrap();
        let mut plain = BytesMut::new();
        codec
            .decompress(&compressed, &mut plain, records.len())
            .unwrap();
        assert_eq!(&plain[..], &records[..]);
    }
}
