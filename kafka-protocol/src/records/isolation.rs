//! `read_committed` reading: which batches of a Fetch answer a reader at
//! isolation level 1 keeps. The broker sends data up to the last stable
//! offset plus the list of aborted transactions in that range; the reader
//! drops the batches of those transactions and every control batch, as the
//! Java consumer does.

use std::collections::{BTreeMap, HashSet};

use super::control::{ControlRecord, ControlRecordType};
use super::reader::RecordBatch;
use crate::ProtocolError;

/// Filters the batches of one partition for a `read_committed` reader.
///
/// ```
/// use kafka_protocol::records::ReadCommitted;
/// // The Fetch answer said producer 7's transaction starting at offset 10 was aborted.
/// let mut filter = ReadCommitted::new([(7, 10)]);
/// # let _ = &mut filter;
/// ```
#[derive(Debug, Default, Clone)]
pub struct ReadCommitted {
    /// Aborted transactions not reached yet: first offset -> producer ids.
    upcoming: BTreeMap<i64, Vec<i64>>,
    /// Producers whose current transaction is aborted.
    aborted: HashSet<i64>,
}

impl ReadCommitted {
    /// A filter for the `(producer_id, first_offset)` pairs of a Fetch
    /// partition's `AbortedTransactions`.
    pub fn new(aborted_transactions: impl IntoIterator<Item = (i64, i64)>) -> Self {
        let mut upcoming: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (producer_id, first_offset) in aborted_transactions {
            upcoming.entry(first_offset).or_default().push(producer_id);
        }
        ReadCommitted {
            upcoming,
            aborted: HashSet::new(),
        }
    }

    /// Whether the records of `batch` are for the reader: false for
    /// control batches (markers) and for batches of aborted transactions.
    /// Batches must be given in offset order.
    pub fn keep(&mut self, batch: &RecordBatch) -> Result<bool, ProtocolError> {
        // Transactions that start at or before this batch are now current.
        while let Some(entry) = self.upcoming.first_entry() {
            if *entry.key() > batch.last_offset() {
                break;
            }
            self.aborted.extend(entry.remove());
        }
        if batch.is_control() {
            // An abort marker ends its producer's aborted transaction.
            if let Some(r) = batch.records()?.next() {
                let marker = ControlRecord::parse(&r?)?;
                if marker.kind == ControlRecordType::Abort {
                    self.aborted.remove(&batch.producer_id);
                }
            }
            return Ok(false);
        }
        Ok(!(batch.is_transactional() && self.aborted.contains(&batch.producer_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{BatchParams, ControlRecord, RecordBatchWriter};

    fn batch(pid: i64, base_offset: i64, transactional: bool) -> RecordBatch {
        let mut w = RecordBatchWriter::new(64);
        w.append(0, None, Some(b"v"), []).unwrap();
        let params = BatchParams {
            base_offset,
            producer_id: pid,
            producer_epoch: 0,
            base_sequence: 0,
            transactional,
            ..BatchParams::default()
        };
        RecordBatch::parse(&w.finish(params, None).unwrap())
            .unwrap()
            .0
    }

    fn marker(pid: i64, offset: i64, kind: ControlRecordType) -> RecordBatch {
        let m = ControlRecord {
            version: 0,
            kind,
            coordinator_epoch: 0,
        };
        let mut w = RecordBatchWriter::new(64);
        w.append(0, Some(&m.key_bytes()), Some(&m.value_bytes()), [])
            .unwrap();
        let params = BatchParams {
            base_offset: offset,
            producer_id: pid,
            producer_epoch: 0,
            transactional: true,
            control: true,
            ..BatchParams::default()
        };
        RecordBatch::parse(&w.finish(params, None).unwrap())
            .unwrap()
            .0
    }

    #[test]
    fn aborted_transactions_and_markers_are_dropped() {
        // pid 1 commits at 0..1, pid 2 aborts at 1..3, pid 1 aborts again at 4..
        let mut f = ReadCommitted::new([(2, 1), (1, 4)]);
        assert!(f.keep(&batch(1, 0, true)).unwrap());
        assert!(!f.keep(&batch(2, 1, true)).unwrap());
        assert!(!f.keep(&marker(2, 2, ControlRecordType::Abort)).unwrap());
        assert!(!f.keep(&marker(1, 3, ControlRecordType::Commit)).unwrap());
        assert!(!f.keep(&batch(1, 4, true)).unwrap());
        assert!(!f.keep(&marker(1, 5, ControlRecordType::Abort)).unwrap());
        // After its abort marker, pid 2's next transaction is visible again.
        assert!(f.keep(&batch(2, 6, true)).unwrap());
        // Non-transactional batches of an aborted producer id are kept.
        let mut g = ReadCommitted::new([(3, 0)]);
        assert!(g.keep(&batch(3, 0, false)).unwrap());
    }
}
