//! Any text as `sasl.jaas.config`: a parsed entry or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(jaas) = kafka_codec::security::parse_jaas_config(&text) {
        // Every option name reads back.
        for name in jaas.option_names() {
            assert!(jaas.option(name).is_some());
        }
    }
});
