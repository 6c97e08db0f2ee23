//! Any bytes given to the RecordBatch reader: an error or records, never a
//! panic; and a batch that parses walks its records and headers to the end.
#![no_main]

use bytes::Bytes;
use kafka_protocol::records::{ControlRecord, RecordBatches};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for batch in RecordBatches::new(Bytes::copy_from_slice(data)) {
        let Ok(batch) = batch else { break };
        let Ok(records) = batch.records() else {
            continue;
        };
        for record in records {
            let Ok(record) = record else { break };
            for header in &record.headers {
                if header.is_err() {
                    break;
                }
            }
            if batch.is_control() {
                let _ = ControlRecord::parse(&record);
            }
        }
    }
});
