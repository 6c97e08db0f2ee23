//! What `send_offsets_to_transaction` takes: the consumer group's metadata
//! (KIP-447) and the offsets to commit with the transaction.

use std::fmt;

use kafka_producer::core::ProducerIdAndEpoch;

/// The consumer group the offsets belong to, as a consumer reports it
/// (Java's `ConsumerGroupMetadata`). With only a group id (no generation,
/// no member id) the commit works but loses KIP-447's fencing of zombie
/// consumers, as Kafka's own system-test copier does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsumerGroupMetadata {
    /// `group.id`.
    pub group_id: String,
    /// The group generation, -1 when unknown.
    pub generation_id: i32,
    /// The member id, empty when unknown.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// A group known by its id only.
    pub fn new(group_id: impl Into<String>) -> Self {
        ConsumerGroupMetadata {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }
}

/// An offset to commit for one partition: the offset of the next record to
/// read, as a consumer commits it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetAndMetadata {
    /// The next offset to read.
    pub offset: i64,
    /// The leader epoch of the last record read, when known.
    pub leader_epoch: Option<i32>,
    /// Free-form metadata stored with the offset.
    pub metadata: Option<String>,
}

impl OffsetAndMetadata {
    /// An offset without leader epoch or metadata.
    pub fn new(offset: i64) -> Self {
        OffsetAndMetadata {
            offset,
            leader_epoch: None,
            metadata: None,
        }
    }
}

/// What `prepare_transaction` returns (two-phase commit, KIP-939): the
/// producer id and epoch of the prepared transaction, to be stored with
/// the application's own state and handed to `complete_transaction`
/// after a restart. Its text form is `producerId:epoch` (empty: none), as
/// Java's `PreparedTxnState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PreparedTxnState(pub Option<ProducerIdAndEpoch>);

impl fmt::Display for PreparedTxnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, "{}:{}", p.producer_id, p.epoch),
            None => Ok(()),
        }
    }
}

impl std::str::FromStr for PreparedTxnState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Ok(PreparedTxnState(None));
        }
        let (id, epoch) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not producerId:epoch"))?;
        let producer_id: i64 = id
            .parse()
            .map_err(|_| format!("bad producer id in {s:?}"))?;
        let epoch: i16 = epoch.parse().map_err(|_| format!("bad epoch in {s:?}"))?;
        if producer_id < 0 || epoch < 0 {
            return Err(format!("{s:?}: producer id and epoch must not be negative"));
        }
        Ok(PreparedTxnState(Some(ProducerIdAndEpoch {
            producer_id,
            epoch,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_state_round_trips_as_text() {
        let s = PreparedTxnState(Some(ProducerIdAndEpoch {
            producer_id: 42,
            epoch: 7,
        }));
        assert_eq!(s.to_string(), "42:7");
        assert_eq!("42:7".parse::<PreparedTxnState>().unwrap(), s);
        assert_eq!(
            "".parse::<PreparedTxnState>().unwrap(),
            PreparedTxnState(None)
        );
        assert!("42".parse::<PreparedTxnState>().is_err());
        assert!("-1:3".parse::<PreparedTxnState>().is_err());
    }
}
