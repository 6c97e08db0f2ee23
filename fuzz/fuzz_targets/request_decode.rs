//! Any (api key, version, body): decoding gives an error or a request that
//! re-encodes, and whose re-encoding decodes and re-encodes to the same bytes.
#![no_main]

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let api = ApiKey::ALL[data[0] as usize % ApiKey::ALL.len()];
    let range = api.versions();
    let version = range.min + (data[1] as i16 % (range.max - range.min + 1));
    let body = Bytes::copy_from_slice(&data[2..]);
    if let Ok(req) = RequestKind::decode(api, version, &body) {
        let mut first = BytesMut::new();
        req.encode(&mut first, version).expect("a decoded request re-encodes");
        assert_eq!(first.len(), req.encoded_size(version).unwrap());
        let first = first.freeze();
        let again = RequestKind::decode(api, version, &first).expect("our encoding decodes");
        let mut second = BytesMut::new();
        again.encode(&mut second, version).unwrap();
        assert_eq!(first, second.freeze());
    }
});
