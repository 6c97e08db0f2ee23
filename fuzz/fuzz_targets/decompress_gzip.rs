//! Arbitrary bytes through the gzip decoder (see common/decompress.rs).
#![no_main]

#[path = "common/decompress.rs"]
mod decompress;

use kafka_compression::Gzip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| decompress::check(&Gzip::default(), data));
