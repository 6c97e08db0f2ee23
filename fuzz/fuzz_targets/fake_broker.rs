//! Any bytes as a request frame to `kafka-fake`: refused (the connection
//! would close) or answered with a response that encodes at the request's
//! version; never a panic, never an allocation beyond the decode budget and
//! the fake's partition bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kafka_fake::fuzzing::request(data);
});
