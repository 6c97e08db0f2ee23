//! What the fault tests share: the testkit's ledger, and records made from it.

#![allow(dead_code)] // each test binary uses a part

pub mod blackhole;

use kafka_producer::ProducerRecord;
pub use kafka_testkit::ledger::*;

/// Record `index` of a run over `keys` keys (see [`key_value`]).
pub fn record(topic: &str, index: u64, keys: u64, partitions: i32) -> ProducerRecord {
    let (key, value, partition) = key_value(index, keys, partitions);
    ProducerRecord::new(topic)
        .partition(partition)
        .key(key)
        .value(value)
}
