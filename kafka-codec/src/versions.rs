//! What a broker speaks, from its ApiVersions response, and the choice of a
//! version per API.

use std::collections::BTreeMap;

use kafka_protocol::generated::ApiVersionsResponse;
use kafka_protocol::messages::{ApiKey, VersionRange};

use crate::CodecError;

/// A finalized feature of the cluster (e.g. `transaction.version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureLevel {
    /// Lowest finalized level.
    pub min_version_level: i16,
    /// Highest finalized level: the level in force.
    pub max_version_level: i16,
}

/// The API versions and finalized features a broker announced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerVersions {
    apis: BTreeMap<i16, VersionRange>,
    finalized_features: BTreeMap<String, FeatureLevel>,
    finalized_features_epoch: i64,
}

impl BrokerVersions {
    /// Reads an ApiVersions response.
    pub fn from_response(resp: &ApiVersionsResponse) -> Self {
        let apis = resp
            .api_keys
            .iter()
            .map(|k| {
                (
                    k.api_key,
                    VersionRange {
                        min: k.min_version,
                        max: k.max_version,
                    },
                )
            })
            .collect();
        let finalized_features = resp
            .finalized_features
            .iter()
            .map(|f| {
                (
                    f.name.to_string(),
                    FeatureLevel {
                        min_version_level: f.min_version_level,
                        max_version_level: f.max_version_level,
                    },
                )
            })
            .collect();
        BrokerVersions {
            apis,
            finalized_features,
            finalized_features_epoch: resp.finalized_features_epoch,
        }
    }

    /// The broker's range for an API key (including keys this crate does not know).
    pub fn broker_range(&self, api_key: i16) -> Option<VersionRange> {
        self.apis.get(&api_key).copied()
    }

    /// Every (api key, broker range), in key order.
    pub fn iter(&self) -> impl Iterator<Item = (i16, VersionRange)> + '_ {
        self.apis.iter().map(|(k, v)| (*k, *v))
    }

    /// The version to use for `api`: the top of the intersection of our range
    /// and the broker's. The broker's minimum is never required to be low:
    /// 4.x brokers advertise Produce from v0 but reject v0-2, which the top of
    /// the intersection never picks.
    pub fn negotiate(&self, api: ApiKey) -> Result<i16, CodecError> {
        self.negotiate_at_most(api, None)
    }

    /// As [`negotiate`](Self::negotiate), but no higher than `cap` when
    /// given (a transactional producer without transactions v2 must not use
    /// Produce v12, for example).
    pub fn negotiate_at_most(&self, api: ApiKey, cap: Option<i16>) -> Result<i16, CodecError> {
        let mut ours = api.stable_versions();
        if let Some(cap) = cap {
            ours.max = ours.max.min(cap);
        }
        let broker = self.broker_range(api as i16);
        broker
            .and_then(|b| b.intersect(&ours))
            .map(|r| r.max)
            .ok_or(CodecError::NoCommonVersion { api, ours, broker })
    }

    /// A finalized feature, e.g. `transaction.version`.
    pub fn finalized_feature(&self, name: &str) -> Option<FeatureLevel> {
        self.finalized_features.get(name).copied()
    }

    /// Every finalized feature.
    pub fn finalized_features(&self) -> impl Iterator<Item = (&str, FeatureLevel)> {
        self.finalized_features
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
    }

    /// Epoch of the finalized features (-1 when the broker sent none).
    pub fn finalized_features_epoch(&self) -> i64 {
        self.finalized_features_epoch
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::generated::api_versions_response::{ApiVersion, FinalizedFeatureKey};

    use super::*;

    fn response(apis: &[(i16, i16, i16)]) -> ApiVersionsResponse {
        ApiVersionsResponse {
            api_keys: apis
                .iter()
                .map(|&(api_key, min_version, max_version)| ApiVersion {
                    api_key,
                    min_version,
                    max_version,
                    ..Default::default()
                })
                .collect(),
            finalized_features: vec![FinalizedFeatureKey {
                name: "transaction.version".into(),
                min_version_level: 2,
                max_version_level: 2,
                ..Default::default()
            }],
            finalized_features_epoch: 7,
            ..Default::default()
        }
    }

    #[test]
    fn top_of_the_intersection() {
        // A broker advertising Produce 0-14: we pick our top (13), never v0.
        let v = BrokerVersions::from_response(&response(&[(0, 0, 14), (3, 0, 5), (22, 0, 6)]));
        assert_eq!(v.negotiate(ApiKey::Produce).unwrap(), 13);
        // InitProducerId v6 is unstable in Kafka 4.4's schemas: never negotiated.
        assert_eq!(v.negotiate(ApiKey::InitProducerId).unwrap(), 5);
        assert_eq!(v.negotiate(ApiKey::Metadata).unwrap(), 5);
        assert_eq!(
            v.finalized_feature("transaction.version")
                .unwrap()
                .max_version_level,
            2
        );
        assert_eq!(v.finalized_features_epoch(), 7);
    }

    #[test]
    fn a_cap_lowers_the_version_but_never_below_the_overlap() {
        let v = BrokerVersions::from_response(&response(&[(0, 3, 12)]));
        assert_eq!(v.negotiate_at_most(ApiKey::Produce, Some(11)).unwrap(), 11);
        assert_eq!(v.negotiate_at_most(ApiKey::Produce, Some(40)).unwrap(), 12);
        assert!(v.negotiate_at_most(ApiKey::Produce, Some(2)).is_err());
    }

    #[test]
    fn no_overlap_names_the_api() {
        let v = BrokerVersions::from_response(&response(&[(0, 20, 25)]));
        let err = v.negotiate(ApiKey::Produce).unwrap_err();
        assert!(err.to_string().contains("Produce"), "{err}");
        assert!(matches!(
            v.negotiate(ApiKey::Fetch),
            Err(CodecError::NoCommonVersion { broker: None, .. })
        ));
    }
}
