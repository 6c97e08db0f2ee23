//! Arbitrary bytes through the snappy decoder (see common/decompress.rs).
#![no_main]

#[path = "common/decompress.rs"]
mod decompress;

use kafka_compression::Snappy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| decompress::check(&Snappy::default(), data));
