//! A hostile broker's SASL messages (server-first, server-final, OAUTHBEARER
//! statuses) fed to each mechanism: the next message, done, or an error,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    // NUL bytes split the input into one message per round trip.
    let messages: Vec<&[u8]> = rest.split(|b| *b == 0).take(4).collect();
    kafka_codec::security::fuzz_sasl_exchange(which, &messages);
});
