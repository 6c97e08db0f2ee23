//! Any bytes, split into arbitrary reads, given to the frame decoder: frames
//! or a typed error, never a panic, never a buffer beyond the frame limit.
#![no_main]

use bytes::BytesMut;
use kafka_codec::FrameCodec;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut codec = FrameCodec::new(MAX);
    let mut buf = BytesMut::new();
    // The first byte chooses the read size, so partial frames are exercised.
    let step = data.first().map_or(1, |b| (*b as usize % 17) + 1);
    for chunk in data.chunks(step) {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => assert!(frame.len() <= MAX),
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(
            buf.capacity() <= 4 * MAX + 64,
            "buffer grew past the frame limit"
        );
    }
});
