//! What the fault tests share: the testkit's ledger, and records made from it.

#![allow(dead_code)] // each test binary uses a part

pub mod blackhole;

pub use kafka_codec::testkit::ledger::*;
use kafka_producer::ProducerRecord;

/// Record `index` of a run over `keys` keys (see [`key_value`]).
pub fn record(topic: &str, index: u64, keys: u64, partitions: i32) -> ProducerRecord {
    let (key, value, partition) = key_value(index, keys, partitions);
    ProducerRecord::new(topic)
        .partition(partition)
        .key(key)
        .value(value)
}
