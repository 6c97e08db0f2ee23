//! Arbitrary bytes through the zstd decoder (see common/decompress.rs).
#![no_main]

#[path = "common/decompress.rs"]
mod decompress;

use kafka_compression::Zstd;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| decompress::check(&Zstd::default(), data));
