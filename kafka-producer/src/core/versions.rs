//! The highest version of each API the producer implements.
//!
//! `kafka-protocol` can encode every version of Kafka's schemas, but a
//! version is more than a layout: Produce v13 names topics by id, and
//! TxnOffsetCommit v6 drops names altogether. A request is therefore never
//! negotiated above what the code building it implements, whatever a newer
//! broker offers; raising a number here is a decision to implement that
//! version's semantics. `tests/versions.rs` pins what is used against
//! Kafka 4.4.0 and 3.9.1.

use kafka_protocol::messages::ApiKey;

/// The requests the producer sends, with the highest version it implements.
pub const PRODUCER_VERSIONS: &[(ApiKey, i16)] = &[
    // v13 (KIP-516): topics by id, taken from Metadata; a request with a
    // topic whose id is unknown is capped at v12 (names).
    (ApiKey::Produce, 13),
    // v13: a top-level error code, read before the topics.
    (ApiKey::Metadata, 13),
    // v6 (two-phase commit, KIP-939) is unstable in Kafka 4.4.
    (ApiKey::InitProducerId, 5),
    // Client telemetry (KIP-714): v0 is the only version.
    (ApiKey::GetTelemetrySubscriptions, 0),
    (ApiKey::PushTelemetry, 0),
];

/// The version cap for `api` in `table`, lowered further by `extra`; `None`
/// for an API the table does not name (the codec's own, e.g. ApiVersions).
pub fn version_cap(table: &[(ApiKey, i16)], api: ApiKey, extra: Option<i16>) -> Option<i16> {
    let ours = table.iter().find(|(k, _)| *k == api).map(|(_, v)| *v);
    lower_cap(ours, extra)
}

/// The lower of two optional caps (`None`: no cap).
pub(crate) fn lower_cap(a: Option<i16>, b: Option<i16>) -> Option<i16> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_and_the_extra_cap_both_bound() {
        assert_eq!(
            version_cap(PRODUCER_VERSIONS, ApiKey::Produce, None),
            Some(13)
        );
        assert_eq!(
            version_cap(PRODUCER_VERSIONS, ApiKey::Produce, Some(12)),
            Some(12)
        );
        assert_eq!(
            version_cap(PRODUCER_VERSIONS, ApiKey::Produce, Some(40)),
            Some(13)
        );
        assert_eq!(
            version_cap(PRODUCER_VERSIONS, ApiKey::Fetch, Some(4)),
            Some(4)
        );
        assert_eq!(version_cap(PRODUCER_VERSIONS, ApiKey::Fetch, None), None);
        // Every version named is one the schemas know and Kafka calls stable.
        for (api, v) in PRODUCER_VERSIONS {
            assert!(api.stable_versions().contains(*v), "{api} v{v}");
        }
    }
}
