//! RecordBatch v2 (magic 2), the only format a producer writes.
//!
//! - [`RecordBatchWriter`] appends records in their final wire form and
//!   finishes the batch by back-filling length and CRC-32C in place; producer
//!   id, epoch, base sequence and the transactional flag are set at finish
//!   time, when the producer drains the batch.
//! - [`RecordBatch`] parses a batch header, verifies the CRC and iterates
//!   records lazily; keys, values and headers borrow from the batch buffer.
//! - Compression is `kafka-compression`'s [`Codec`] trait: the writer takes
//!   any codec; a reader finds one per batch through a [`CodecRegistry`]
//!   ([`DefaultCodecs`] with the `compression` feature).
//!
//! Layout (offsets in bytes): baseOffset 0, batchLength 8, partitionLeaderEpoch
//! 12, magic 16, crc 17, attributes 21, lastOffsetDelta 23, baseTimestamp 27,
//! maxTimestamp 35, producerId 43, producerEpoch 51, baseSequence 53,
//! recordCount 57, records 61. The CRC covers bytes 21 to the end.

#[cfg(feature = "compression")]
mod builtin;
mod codec;
mod control;
mod isolation;
mod reader;
mod writer;

#[cfg(feature = "compression")]
pub use builtin::DefaultCodecs;
pub use codec::{CodecRegistry, NoCompression};
pub use control::{ControlRecord, ControlRecordType};
pub use isolation::ReadCommitted;
pub use kafka_compression::{Codec, CompressionType};
pub use reader::{Header, HeaderIter, Headers, Record, RecordBatch, RecordBatches, Records};
pub use writer::{record_size, set_producer_state, BatchParams, RecordBatchWriter};

/// Size of the RecordBatch v2 header, before the records.
pub const BATCH_HEADER_SIZE: usize = 61;
/// Bytes before `batchLength` is counted (baseOffset + batchLength).
pub const BATCH_LOG_OVERHEAD: usize = 12;
/// The magic byte of RecordBatch v2.
pub const MAGIC_V2: i8 = 2;

const OFFSET_CRC: usize = 17;
const OFFSET_ATTRIBUTES: usize = 21;

/// Attribute bits of a batch. Bits 0-2 hold the compression codec id:
/// [`CompressionType::ATTRIBUTES_MASK`](kafka_compression::CompressionType::ATTRIBUTES_MASK).
pub mod attributes {
    /// Bit 3: LogAppendTime (set) or CreateTime (clear).
    pub const LOG_APPEND_TIME: i16 = 0x08;
    /// Bit 4: the batch is part of a transaction.
    pub const TRANSACTIONAL: i16 = 0x10;
    /// Bit 5: the batch holds a control record.
    pub const CONTROL: i16 = 0x20;
    /// Bit 6: the log cleaner set a delete horizon.
    pub const DELETE_HORIZON: i16 = 0x40;
}

/// Which clock the batch's timestamps come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker when it appended the batch.
    LogAppendTime,
}

#[cfg(test)]
mod tests;
