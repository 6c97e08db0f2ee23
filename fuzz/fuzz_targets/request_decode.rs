//! Any (api key, version, body) through the request decoders (see common/message.rs).
#![no_main]

#[macro_use]
#[path = "common/message.rs"]
mod message;

use kafka_protocol::messages::RequestKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| check_roundtrip!(RequestKind, data));
