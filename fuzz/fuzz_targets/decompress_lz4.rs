//! Arbitrary bytes through the lz4 decoder (see common/decompress.rs).
#![no_main]

#[path = "common/decompress.rs"]
mod decompress;

use kafka_compression::Lz4;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| decompress::check(&Lz4::default(), data));
