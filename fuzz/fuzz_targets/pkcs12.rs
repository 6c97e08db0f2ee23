//! Any bytes as a PKCS#12 store or an encrypted PKCS#8 key: contents or a
//! typed error, never a panic (lengths, nesting, algorithms, paddings).
//! The seeds are the test stores and keys, whose password is `s3cret`.
#![no_main]

use kafka_codec::security::pkcs12;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(contents) = pkcs12::parse(data, Some("s3cret"), None) {
        let _ = contents.identity();
    }
    let _ = pkcs12::parse(data, None, None);
    let _ = pkcs12::decrypt_pkcs8(data, "s3cret");
});
