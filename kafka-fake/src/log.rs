//! One partition's log: the record batches as written by producers, each
//! given its base offset, and the idempotent producers' sequence state.

use std::collections::{HashMap, VecDeque};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{BatchParams, DefaultCodecs, RecordBatch, RecordBatchWriter};
use kafka_protocol::ErrorCode;

/// How many batches per producer a partition remembers for duplicate
/// detection (Kafka's `max.in.flight.requests.per.connection` bound).
const REMEMBERED_BATCHES: usize = 5;

/// Decompression bound per batch when a Produce request is checked.
const DECOMPRESSED_LIMIT: usize = 64 << 20;

/// A record as stored, for tests to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its offset in the partition.
    pub offset: i64,
    /// Its timestamp (create time, or the batch's log append time).
    pub timestamp: i64,
    /// The key, if any.
    pub key: Option<Bytes>,
    /// The value, if any.
    pub value: Option<Bytes>,
    /// The headers in order; a header's value may be null.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// The producer id of its batch (-1 without idempotence).
    pub producer_id: i64,
    /// The producer epoch of its batch.
    pub producer_epoch: i16,
    /// Its sequence (-1 without idempotence).
    pub sequence: i32,
    /// Whether its batch is transactional.
    pub transactional: bool,
}

/// A batch the producer sent, remembered for duplicate detection.
#[derive(Debug, Clone, Copy)]
struct Written {
    first_sequence: i32,
    last_sequence: i32,
    base_offset: i64,
}

/// What a partition knows of one idempotent producer.
#[derive(Debug, Default)]
struct ProducerState {
    epoch: i16,
    /// The last batches written, oldest first.
    recent: VecDeque<Written>,
}

/// One partition: its batches and the producers that wrote to it.
#[derive(Debug, Default)]
pub struct PartitionLog {
    batches: Vec<(i64, Bytes)>,
    end_offset: i64,
    producers: HashMap<i64, ProducerState>,
    /// Open transactions with records here: producer id -> first offset.
    ongoing: HashMap<i64, i64>,
    /// Aborted transactions: (producer id, first offset, marker offset).
    aborted: Vec<(i64, i64, i64)>,
}

/// `seq` moved on by `delta`, wrapping from `i32::MAX` to 0 as Kafka does.
fn increment(seq: i32, delta: i32) -> i32 {
    if seq > i32::MAX - delta {
        delta - (i32::MAX - seq) - 1
    } else {
        seq + delta
    }
}

impl PartitionLog {
    /// The offset the next record gets.
    pub fn end_offset(&self) -> i64 {
        self.end_offset
    }

    /// Appends the batches of a Produce request's `records`, all or none;
    /// returns the base offset of the first one (or of the duplicate it
    /// repeats), or the error a broker answers.
    pub fn append(&mut self, records: &Bytes, max_batch_bytes: usize) -> Result<i64, ErrorCode> {
        let mut parsed = Vec::new();
        let mut rest = records.clone();
        while !rest.is_empty() {
            let (batch, after) =
                RecordBatch::parse(&rest).map_err(|_| ErrorCode::CORRUPT_MESSAGE)?;
            let whole = rest.slice(..rest.len() - after.len());
            // The broker's message.max.bytes, per batch.
            if whole.len() > max_batch_bytes {
                return Err(ErrorCode::MESSAGE_TOO_LARGE);
            }
            // The records must decompress and parse, as the broker checks.
            let section = batch
                .decompressed_records(&DefaultCodecs::default(), DECOMPRESSED_LIMIT)
                .map_err(|_| ErrorCode::CORRUPT_MESSAGE)?;
            let mut count = 0;
            for r in batch.records_in(&section) {
                r.map_err(|_| ErrorCode::CORRUPT_MESSAGE)?;
                count += 1;
            }
            if count != batch.record_count || batch.last_offset_delta != count - 1 {
                return Err(ErrorCode::CORRUPT_MESSAGE);
            }
            parsed.push((batch, whole));
            rest = after;
        }
        if parsed.is_empty() {
            return Err(ErrorCode::CORRUPT_MESSAGE);
        }
        // Kafka takes one batch per partition from an idempotent producer.
        if parsed.len() > 1 && parsed.iter().any(|(b, _)| b.producer_id >= 0) {
            return Err(ErrorCode::INVALID_RECORD);
        }
        if let [(batch, _)] = parsed.as_slice() {
            if batch.producer_id >= 0 {
                if let Some(offset) = self.check_sequence(batch)? {
                    return Ok(offset);
                }
            }
        }
        let first = self.end_offset;
        for (batch, whole) in parsed {
            let base = self.end_offset;
            // The base offset is outside the CRC: the stored batch keeps
            // the producer's bytes otherwise.
            let mut stored = BytesMut::from(&whole[..]);
            stored[..8].copy_from_slice(&base.to_be_bytes());
            self.batches.push((base, stored.freeze()));
            self.end_offset += i64::from(batch.last_offset_delta) + 1;
            if batch.is_transactional() {
                self.ongoing.entry(batch.producer_id).or_insert(base);
            }
            if batch.producer_id >= 0 {
                let state = self.producers.entry(batch.producer_id).or_default();
                state.epoch = batch.producer_epoch;
                if state.recent.len() == REMEMBERED_BATCHES {
                    state.recent.pop_front();
                }
                state.recent.push_back(Written {
                    first_sequence: batch.base_sequence,
                    last_sequence: increment(batch.base_sequence, batch.last_offset_delta),
                    base_offset: base,
                });
            }
        }
        Ok(first)
    }

    /// The broker's sequence rules for one idempotent batch: `Ok(Some(offset))`
    /// for a duplicate of a batch written at `offset`, `Ok(None)` to append.
    fn check_sequence(&self, batch: &RecordBatch) -> Result<Option<i64>, ErrorCode> {
        let Some(state) = self.producers.get(&batch.producer_id) else {
            // A producer the partition never saw starts at sequence 0.
            return if batch.base_sequence == 0 {
                Ok(None)
            } else {
                Err(ErrorCode::UNKNOWN_PRODUCER_ID)
            };
        };
        if batch.producer_epoch < state.epoch {
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if batch.producer_epoch > state.epoch {
            // A new epoch starts its sequences again.
            return if batch.base_sequence == 0 {
                Ok(None)
            } else {
                Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        if let Some(w) = state
            .recent
            .iter()
            .find(|w| w.first_sequence == batch.base_sequence)
        {
            let last = increment(batch.base_sequence, batch.last_offset_delta);
            return if w.last_sequence == last {
                Ok(Some(w.base_offset))
            } else {
                Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        let expected = state
            .recent
            .back()
            .map_or(0, |w| increment(w.last_sequence, 1));
        if batch.base_sequence == expected {
            Ok(None)
        } else {
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        }
    }

    /// Ends producer `pid`'s transaction here with a control batch (commit
    /// or abort marker), as the coordinator's WriteTxnMarkers does.
    pub fn write_marker(&mut self, pid: i64, epoch: i16, commit: bool) {
        let mut w = RecordBatchWriter::new(64);
        let key = [0u8, 0, 0, u8::from(commit)];
        let value = [0u8, 0, 0, 0, 0, 0];
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        w.append(
            ts,
            Some(&key[..]),
            Some(&value[..]),
            std::iter::empty::<(&str, Option<&[u8]>)>(),
        )
        .expect("a marker fits");
        let params = BatchParams {
            base_offset: self.end_offset,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: -1,
            transactional: true,
            control: true,
            ..BatchParams::default()
        };
        let batch = w.finish(params, None).expect("a marker encodes");
        let marker = self.end_offset;
        self.batches.push((marker, batch));
        self.end_offset += 1;
        if let Some(first) = self.ongoing.remove(&pid) {
            if !commit {
                self.aborted.push((pid, first, marker));
            }
        }
    }

    /// The last stable offset: the first offset of the oldest open
    /// transaction, else the end.
    pub fn last_stable_offset(&self) -> i64 {
        self.ongoing
            .values()
            .copied()
            .min()
            .unwrap_or(self.end_offset)
    }

    /// Aborted transactions a read of `[from, to)` must skip.
    pub fn aborted_in(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        self.aborted
            .iter()
            .filter(|(_, first, marker)| *first < to && *marker >= from)
            .map(|(pid, first, _)| (*pid, *first))
            .collect()
    }

    /// Sink mode: counts the records of each batch (from its header) and
    /// answers an offset, storing and checking nothing; returns the base
    /// offset. For measuring a producer's ceiling, not its correctness.
    pub fn sink(&mut self, records: &Bytes) -> i64 {
        let first = self.end_offset;
        let mut rest = &records[..];
        while rest.len() >= 61 {
            let len = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
            let count = i32::from_be_bytes([rest[57], rest[58], rest[59], rest[60]]);
            self.end_offset += i64::from(count.max(0));
            let whole = 12 + usize::try_from(len).unwrap_or(usize::MAX);
            rest = rest.get(whole..).unwrap_or_default();
        }
        first
    }

    /// Whole batches from the one holding `offset` and starting below
    /// `upto`, up to about `max_bytes` (at least one batch, as a broker
    /// returns).
    pub fn read(&self, offset: i64, upto: i64, max_bytes: usize) -> Bytes {
        let start = self
            .batches
            .partition_point(|(base, b)| base + last_offset_delta(b) < offset);
        let mut out = BytesMut::new();
        for (base, b) in &self.batches[start..] {
            if *base >= upto || (!out.is_empty() && out.len() + b.len() > max_bytes) {
                break;
            }
            out.extend_from_slice(b);
        }
        out.freeze()
    }

    /// The offset of the first record with a timestamp at or after `ts`
    /// (`None`: past the end).
    pub fn offset_for_time(&self, ts: i64) -> Option<i64> {
        self.batches.iter().find_map(|(base, b)| {
            let (batch, _) = RecordBatch::parse(b).ok()?;
            (batch.max_timestamp >= ts).then_some(*base)
        })
    }

    /// Every record, decoded.
    pub fn records(&self) -> Vec<StoredRecord> {
        let mut out = Vec::new();
        for (_, b) in &self.batches {
            let Ok((batch, _)) = RecordBatch::parse(b) else {
                continue;
            };
            let Ok(section) =
                batch.decompressed_records(&DefaultCodecs::default(), DECOMPRESSED_LIMIT)
            else {
                continue;
            };
            for (i, r) in batch.records_in(&section).enumerate() {
                let Ok(r) = r else { break };
                let bytes = |s: Option<&[u8]>| s.map(Bytes::copy_from_slice);
                out.push(StoredRecord {
                    offset: r.offset,
                    timestamp: r.timestamp,
                    key: bytes(r.key),
                    value: bytes(r.value),
                    headers: r
                        .headers
                        .iter()
                        .filter_map(Result::ok)
                        .map(|h| (h.key.to_string(), bytes(h.value)))
                        .collect(),
                    producer_id: batch.producer_id,
                    producer_epoch: batch.producer_epoch,
                    sequence: if batch.base_sequence < 0 {
                        -1
                    } else {
                        increment(batch.base_sequence, i as i32)
                    },
                    transactional: batch.is_transactional(),
                });
            }
        }
        out
    }
}

fn last_offset_delta(b: &Bytes) -> i64 {
    // Bytes 23..27 of a v2 batch; stored batches were checked on append.
    i64::from(i32::from_be_bytes([b[23], b[24], b[25], b[26]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    impl PartitionLog {
        fn append_any(&mut self, records: &Bytes) -> Result<i64, ErrorCode> {
            self.append(records, usize::MAX)
        }
    }

    #[test]
    fn the_sink_counts_records_and_keeps_nothing() {
        let mut log = PartitionLog::default();
        let mut two = BytesMut::from(&batch(-1, -1, -1, 3)[..]);
        two.extend_from_slice(&batch(-1, -1, -1, 4));
        assert_eq!(log.sink(&two.freeze()), 0);
        assert_eq!(log.sink(&batch(-1, -1, -1, 1)), 7);
        assert_eq!(log.end_offset(), 8);
        assert!(log.records().is_empty());
    }

    #[test]
    fn a_batch_over_the_limit_is_too_large() {
        let mut log = PartitionLog::default();
        let b = batch(-1, -1, -1, 3);
        assert_eq!(
            log.append(&b, b.len() - 1),
            Err(ErrorCode::MESSAGE_TOO_LARGE)
        );
        assert_eq!(log.append(&b, b.len()), Ok(0));
    }

    fn batch(pid: i64, epoch: i16, seq: i32, records: usize) -> Bytes {
        let mut w = RecordBatchWriter::new(256);
        for i in 0..records {
            let value = format!("v{i}");
            w.append(
                1_000 + i as i64,
                None,
                Some(value.as_bytes()),
                std::iter::empty::<(&str, Option<&[u8]>)>(),
            )
            .unwrap();
        }
        let params = BatchParams {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            ..BatchParams::default()
        };
        w.finish(params, None).unwrap()
    }

    #[test]
    fn sequences_follow_the_brokers_rules() {
        let mut log = PartitionLog::default();
        // A new producer starts at 0.
        assert_eq!(
            log.append_any(&batch(7, 0, 3, 1)),
            Err(ErrorCode::UNKNOWN_PRODUCER_ID)
        );
        assert_eq!(log.append_any(&batch(7, 0, 0, 2)), Ok(0));
        assert_eq!(log.append_any(&batch(7, 0, 2, 3)), Ok(2));
        // A retry of a batch already written answers its first offset, writes nothing.
        assert_eq!(log.append_any(&batch(7, 0, 0, 2)), Ok(0));
        assert_eq!(log.end_offset(), 5);
        // A gap, and a batch overlapping another's sequences.
        assert_eq!(
            log.append_any(&batch(7, 0, 9, 1)),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(
            log.append_any(&batch(7, 0, 2, 1)),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        // A fenced epoch, then a new epoch from 0.
        assert_eq!(
            log.append_any(&batch(7, 1, 5, 1)),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(log.append_any(&batch(7, 1, 0, 1)), Ok(5));
        assert_eq!(
            log.append_any(&batch(7, 0, 5, 1)),
            Err(ErrorCode::INVALID_PRODUCER_EPOCH)
        );
        // Without idempotence anything goes.
        assert_eq!(log.append_any(&batch(-1, -1, -1, 2)), Ok(6));
        assert_eq!(log.append_any(&batch(-1, -1, -1, 2)), Ok(8));
        let records = log.records();
        assert_eq!(records.len(), 10);
        assert_eq!(
            records.iter().map(|r| r.offset).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!((records[3].producer_id, records[3].sequence), (7, 3));
    }

    #[test]
    fn sequences_wrap_from_the_top_to_zero() {
        let mut log = PartitionLog::default();
        assert_eq!(log.append_any(&batch(1, 0, 0, 1)), Ok(0));
        // Pretend the producer reached the top (its state as the log holds it).
        log.producers
            .get_mut(&1)
            .unwrap()
            .recent
            .back_mut()
            .unwrap()
            .last_sequence = i32::MAX - 2;
        assert_eq!(log.append_any(&batch(1, 0, i32::MAX - 1, 3)), Ok(1));
        assert_eq!(
            log.append_any(&batch(1, 0, 1, 1)),
            Ok(4),
            "MAX-1, MAX, 0, then 1"
        );
    }

    #[test]
    fn corrupt_batches_are_refused_whole() {
        let mut log = PartitionLog::default();
        let good = batch(-1, -1, -1, 2);
        let mut bad = BytesMut::from(&good[..]);
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        assert_eq!(
            log.append_any(&bad.freeze()),
            Err(ErrorCode::CORRUPT_MESSAGE)
        );
        let mut two = BytesMut::from(&good[..]);
        two.extend_from_slice(&good[..good.len() - 3]);
        assert_eq!(
            log.append_any(&two.freeze()),
            Err(ErrorCode::CORRUPT_MESSAGE)
        );
        assert_eq!(
            log.append_any(&Bytes::new()),
            Err(ErrorCode::CORRUPT_MESSAGE)
        );
        assert_eq!(log.end_offset(), 0);
    }

    #[test]
    fn reads_return_whole_batches_from_the_one_holding_the_offset() {
        let mut log = PartitionLog::default();
        for _ in 0..3 {
            log.append_any(&batch(-1, -1, -1, 4)).unwrap();
        }
        let from_5 = log.read(5, i64::MAX, 1 << 20);
        let batches: Vec<_> = kafka_protocol::records::RecordBatches::new(from_5)
            .map(|b| b.unwrap().base_offset)
            .collect();
        assert_eq!(batches, [4, 8]);
        // At least one batch even when it is larger than the limit.
        let one = kafka_protocol::records::RecordBatches::new(log.read(0, i64::MAX, 1)).count();
        assert_eq!(one, 1);
        assert!(log.read(12, i64::MAX, 1 << 20).is_empty());
        assert_eq!(log.offset_for_time(1_002), Some(0));
        assert_eq!(log.offset_for_time(5_000), None);
    }
}
