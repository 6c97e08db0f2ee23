//! Control records: the commit and abort markers brokers write into
//! transactional partitions.

use bytes::BufMut;

use super::reader::Record;
use crate::primitives::{read_i16, read_i32};
use crate::ProtocolError;

/// The kind of a control record (its key's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRecordType {
    /// The transaction was aborted.
    Abort,
    /// The transaction was committed.
    Commit,
    /// A type this crate does not know (brokers use 2+ internally); readers skip it.
    Unknown(i16),
}

impl ControlRecordType {
    fn from_i16(v: i16) -> Self {
        match v {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            other => ControlRecordType::Unknown(other),
        }
    }

    fn to_i16(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::Unknown(v) => v,
        }
    }
}

/// A decoded control record: key `version int16, type int16`, value
/// `version int16, coordinatorEpoch int32` (the value may be absent for
/// unknown types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRecord {
    /// Key version (0).
    pub version: i16,
    /// Abort, commit or unknown.
    pub kind: ControlRecordType,
    /// Epoch of the transaction coordinator that wrote the marker (-1 if absent).
    pub coordinator_epoch: i32,
}

impl ControlRecord {
    /// Decodes the control record of a control batch's record.
    pub fn parse(record: &Record<'_>) -> Result<ControlRecord, ProtocolError> {
        let key = record
            .key
            .ok_or(ProtocolError::MalformedBatch("control record without key"))?;
        let (k, version) = read_i16(key)?;
        let (_, kind) = read_i16(k)?;
        let kind = ControlRecordType::from_i16(kind);
        let coordinator_epoch = match (kind, record.value) {
            (ControlRecordType::Abort | ControlRecordType::Commit, Some(v)) => {
                let (v, _value_version) = read_i16(v)?;
                read_i32(v)?.1
            }
            (ControlRecordType::Abort | ControlRecordType::Commit, None) => {
                return Err(ProtocolError::MalformedBatch(
                    "transaction marker without value",
                ))
            }
            _ => -1,
        };
        Ok(ControlRecord {
            version,
            kind,
            coordinator_epoch,
        })
    }

    /// The key bytes of this control record.
    pub fn key_bytes(&self) -> [u8; 4] {
        let mut k = [0u8; 4];
        let mut b = &mut k[..];
        b.put_i16(self.version);
        b.put_i16(self.kind.to_i16());
        k
    }

    /// The value bytes of this control record (a transaction marker).
    pub fn value_bytes(&self) -> [u8; 6] {
        let mut v = [0u8; 6];
        let mut b = &mut v[..];
        b.put_i16(0);
        b.put_i32(self.coordinator_epoch);
        v
    }
}
