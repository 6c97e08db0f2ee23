//! Property tests: every codec, at the edges of Java's level ranges, gives
//! back exactly what it compressed, appends after what the buffer already
//! holds, and honours the decompression limit to the byte.

use bytes::BytesMut;
use kafka_compression::{BuiltinCodec, Codec, CompressionError, CompressionType};
use proptest::prelude::*;
use proptest::sample::select;

/// Each codec at its lowest, default and highest Java level.
fn codecs() -> Vec<BuiltinCodec> {
    let mut all = Vec::new();
    for (codec, levels) in [
        (CompressionType::Gzip, &[-1, 1, 9][..]),
        (CompressionType::Snappy, &[0][..]),
        (CompressionType::Lz4, &[1, 9, 17][..]),
        (CompressionType::Zstd, &[-131_072, -1, 0, 3, 22][..]),
    ] {
        for &level in levels {
            all.push(BuiltinCodec::new(codec, Some(level)).unwrap());
        }
    }
    all
}

fn default_codecs() -> Vec<BuiltinCodec> {
    CompressionType::ALL[1..]
        .iter()
        .map(|&t| BuiltinCodec::new(t, None).unwrap())
        .collect()
}

/// Log lines like those a producer sends, from a seed.
fn json_lines(seed: u64, bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 200);
    let mut x = seed | 1;
    let mut n = 0u64;
    while out.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let level = ["INFO", "WARN", "DEBUG", "ERROR"][(x % 4) as usize];
        out.extend_from_slice(
            format!(
                "{{\"ts\":{},\"level\":\"{level}\",\"svc\":\"orders-{}\",\"msg\":\"request {} took {} ms\",\"trace\":\"{:016x}\"}}\n",
                1_700_000_000_000u64 + n * 3,
                x % 7,
                x % 100_000,
                x % 1500,
                x
            )
            .as_bytes(),
        );
        n += 1;
    }
    out.truncate(bytes);
    out
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        // Tiny.
        prop::collection::vec(any::<u8>(), 1..16),
        // Incompressible, across lz4's 64 KiB block size.
        prop::collection::vec(any::<u8>(), 0..150_000),
        // Highly repetitive.
        (prop::collection::vec(any::<u8>(), 1..40), 1usize..6_000).prop_map(|(p, n)| p.repeat(n)),
        // Realistic records.
        (any::<u64>(), 0usize..200_000).prop_map(|(seed, len)| json_lines(seed, len)),
    ]
}

fn check_round_trip(codec: &BuiltinCodec, input: &[u8]) -> Result<(), TestCaseError> {
    // Compression appends after existing bytes.
    let mut compressed = BytesMut::from(&b"batch header"[..]);
    codec.compress(input, &mut compressed).unwrap();
    prop_assert_eq!(&compressed[..12], b"batch header");
    let compressed = &compressed[12..];

    // Decompression appends too, with a limit of exactly the input's length.
    let mut out = BytesMut::from(&b"prefix"[..]);
    codec.decompress(compressed, &mut out, input.len()).unwrap();
    prop_assert_eq!(&out[..6], b"prefix");
    prop_assert!(&out[6..] == input, "{:?}: round trip differs", codec);

    // No limit at all.
    let mut out = BytesMut::new();
    codec.decompress(compressed, &mut out, usize::MAX).unwrap();
    prop_assert!(&out[..] == input);

    // One byte less is refused, and the buffer is left alone.
    if let Some(limit) = input.len().checked_sub(1) {
        let mut out = BytesMut::from(&b"prefix"[..]);
        let err = codec.decompress(compressed, &mut out, limit).unwrap_err();
        prop_assert_eq!(
            err,
            CompressionError::LimitExceeded {
                codec: codec.compression_type(),
                limit
            }
        );
        prop_assert_eq!(&out[..], b"prefix");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn every_codec_and_level_round_trips(input in payload()) {
        for codec in codecs() {
            check_round_trip(&codec, &input)?;
        }
    }

    #[test]
    fn builtin_codec_matches_the_codec_it_wraps(codec in select(codecs()), input in prop::collection::vec(any::<u8>(), 0..2000)) {
        // Dispatch through `dyn Codec` and `Arc` gives the same bytes.
        let dynamic: std::sync::Arc<dyn Codec> = std::sync::Arc::new(codec);
        let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
        codec.compress(&input, &mut a).unwrap();
        dynamic.compress(&input, &mut b).unwrap();
        prop_assert_eq!(a, b);
    }
}

proptest! {
    // Several MiB per case: few cases, default levels, to stay fast on 2 cores.
    #![proptest_config(ProptestConfig::with_cases(3))]

    #[test]
    fn megabytes_round_trip(seed in any::<u64>(), mib in 2usize..5, noise in any::<bool>()) {
        let mut input = json_lines(seed, mib << 20);
        if noise {
            // A stretch of incompressible bytes in the middle.
            let mut x = seed | 1;
            for b in &mut input[1 << 20..(1 << 20) + 300_000] {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
        }
        for codec in default_codecs() {
            check_round_trip(&codec, &input)?;
        }
    }
}

#[test]
fn codecs_compress_realistic_records() {
    let input = json_lines(7, 64 * 1024);
    for codec in default_codecs() {
        let mut out = BytesMut::new();
        codec.compress(&input, &mut out).unwrap();
        assert!(
            out.len() < input.len() / 2,
            "{codec:?}: {} -> {}",
            input.len(),
            out.len()
        );
    }
}

#[test]
fn unknown_codec_ids_are_errors() {
    for id in 5..=7u8 {
        assert_eq!(
            CompressionType::from_id(id),
            Err(CompressionError::UnknownCodecId(id))
        );
        assert_eq!(
            CompressionType::from_attributes(i16::from(id) | 0x10),
            Err(CompressionError::UnknownCodecId(id))
        );
    }
    assert_eq!(
        BuiltinCodec::new(CompressionType::None, None),
        Err(CompressionError::NoCodec)
    );
}
