//! [`ProducerConfigBuilder`]: typed setters over Java's defaults, and the
//! build that validates them.

use std::time::Duration;

use kafka_codec::security::SecurityConfig;
use kafka_compression::CompressionType;

use super::keys::*;
use super::security::SecurityProps;
use super::validate;
use super::{java_defaults, Acks, ConfigError, PartitionerKind, ProducerConfig};

/// Builds a [`ProducerConfig`] with typed setters, starting from Java's
/// defaults; [`build`](Self::build) validates exactly as
/// [`ProducerConfig::from_properties`] does.
///
/// A setter called at all counts as "set explicitly" for Java's rules (an
/// explicit `enable_idempotence(true)` with `acks(Acks::One)` is an error, a
/// default one is silently turned off). Setters never fail: problems are
/// reported by `build`.
///
/// ```
/// use std::time::Duration;
/// use kafka_producer::config::{Acks, ProducerConfig};
///
/// let config = ProducerConfig::builder()
///     .bootstrap_servers("broker-1:9092, broker-2:9092")
///     .acks(Acks::One)
///     .linger(Duration::from_millis(20))
///     .build()
///     .unwrap();
/// assert_eq!(config.bootstrap_servers, ["broker-1:9092", "broker-2:9092"]);
/// // acks=1 turned the default idempotence off, as in Java.
/// assert!(!config.enable_idempotence);
/// ```
#[derive(Debug, Clone)]
pub struct ProducerConfigBuilder {
    /// The values as set, Java's defaults elsewhere.
    pub(super) values: ProducerConfig,
    /// Which of the settings that Java's rules look at were set explicitly.
    pub(super) explicit: Explicit,
    /// `security.protocol`, `ssl.*` and `sasl.*` as given.
    pub(super) security: SecurityProps,
    /// Security settings given typed, instead of as properties.
    typed_security: Option<SecurityConfig>,
    /// Problems found by setters, reported (the first one) by `build`.
    errors: Vec<ConfigError>,
    /// `config.providers` and `config.providers.*` as given: they resolve
    /// `${provider:path:key}` in the properties set after them.
    provider_props: Vec<(String, String)>,
}

impl Default for ProducerConfigBuilder {
    fn default() -> Self {
        Self {
            values: java_defaults(),
            explicit: Explicit::default(),
            security: SecurityProps::default(),
            typed_security: None,
            errors: Vec::new(),
            provider_props: Vec::new(),
        }
    }
}

/// Which settings were given explicitly: Java's rules treat a default and an
/// explicit value differently for these.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Explicit {
    pub client_id: bool,
    pub idempotence: bool,
    pub delivery_timeout: bool,
    pub reconnect_backoff: bool,
    pub reconnect_backoff_max: bool,
    pub transaction_timeout: bool,
}

impl ProducerConfigBuilder {
    /// `bootstrap.servers`: comma-separated `host:port` entries.
    pub fn bootstrap_servers(mut self, servers: impl AsRef<str>) -> Self {
        self.values.bootstrap_servers = java_list(servers.as_ref());
        self
    }

    /// `client.id` (used as given, even empty, as in Java).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.values.client_id = client_id.into();
        self.explicit.client_id = true;
        self
    }

    /// `acks`.
    pub fn acks(mut self, acks: Acks) -> Self {
        self.values.acks = acks;
        self
    }

    /// `enable.idempotence`, set explicitly: conflicts with `acks`,
    /// `retries` or `max_in_flight_requests_per_connection` become errors
    /// instead of turning idempotence off.
    pub fn enable_idempotence(mut self, enable: bool) -> Self {
        self.values.enable_idempotence = enable;
        self.explicit.idempotence = true;
        self
    }

    /// `max.in.flight.requests.per.connection` (1..=5 with idempotence).
    pub fn max_in_flight_requests_per_connection(mut self, max: usize) -> Self {
        self.values.max_in_flight_requests_per_connection = max;
        self
    }

    /// `retries` (at most `i32::MAX`, Java's range).
    pub fn retries(mut self, retries: u32) -> Self {
        self.values.retries = retries;
        self
    }

    /// `retry.backoff.ms`.
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.values.retry_backoff = backoff;
        self
    }

    /// `retry.backoff.max.ms`.
    pub fn retry_backoff_max(mut self, max: Duration) -> Self {
        self.values.retry_backoff_max = max;
        self
    }

    /// `delivery.timeout.ms`, set explicitly: too small for `linger +
    /// request_timeout` is then an error instead of being raised.
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.values.delivery_timeout = timeout;
        self.explicit.delivery_timeout = true;
        self
    }

    /// `request.timeout.ms`.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.values.request_timeout = timeout;
        self
    }

    /// `linger.ms`.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.values.linger = linger;
        self
    }

    /// `batch.size` in bytes.
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.values.batch_size = bytes;
        self
    }

    /// `buffer.memory` in bytes.
    pub fn buffer_memory(mut self, bytes: usize) -> Self {
        self.values.buffer_memory = bytes;
        self
    }

    /// `max.block.ms`.
    pub fn max_block(mut self, max: Duration) -> Self {
        self.values.max_block = max;
        self
    }

    /// `max.request.size` in bytes.
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.values.max_request_size = bytes;
        self
    }

    /// `compression.type`, and the level of that codec when `level` is
    /// `Some` (`compression.gzip.level`, `.lz4.level` or `.zstd.level`).
    /// A level for `none` or `snappy`, which have none, is an error.
    pub fn compression(mut self, compression_type: CompressionType, level: Option<i32>) -> Self {
        self.values.compression_type = compression_type;
        if let Some(level) = level {
            match compression_type {
                CompressionType::Gzip => self.values.compression_gzip_level = level,
                CompressionType::Lz4 => self.values.compression_lz4_level = level,
                CompressionType::Zstd => self.values.compression_zstd_level = level,
                other => self.errors.push(ConfigError::new(
                    [COMPRESSION_TYPE],
                    format!(
                        "{COMPRESSION_TYPE}={other} has no compression level (got level {level})"
                    ),
                )),
            }
        }
        self
    }

    /// `compression.type` alone, keeping the configured levels.
    pub fn compression_type(mut self, compression_type: CompressionType) -> Self {
        self.values.compression_type = compression_type;
        self
    }

    /// `compression.gzip.level`.
    pub fn compression_gzip_level(mut self, level: i32) -> Self {
        self.values.compression_gzip_level = level;
        self
    }

    /// `compression.lz4.level`.
    pub fn compression_lz4_level(mut self, level: i32) -> Self {
        self.values.compression_lz4_level = level;
        self
    }

    /// `compression.zstd.level`.
    pub fn compression_zstd_level(mut self, level: i32) -> Self {
        self.values.compression_zstd_level = level;
        self
    }

    /// `partitioner.class`.
    pub fn partitioner(mut self, partitioner: PartitionerKind) -> Self {
        self.values.partitioner = partitioner;
        self
    }

    /// `partitioner.adaptive.partitioning.enable`.
    pub fn partitioner_adaptive_partitioning_enable(mut self, enable: bool) -> Self {
        self.values.partitioner_adaptive_partitioning_enable = enable;
        self
    }

    /// `partitioner.availability.timeout.ms` (zero: off).
    pub fn partitioner_availability_timeout(mut self, timeout: Duration) -> Self {
        self.values.partitioner_availability_timeout = timeout;
        self
    }

    /// `partitioner.ignore.keys`.
    pub fn partitioner_ignore_keys(mut self, ignore: bool) -> Self {
        self.values.partitioner_ignore_keys = ignore;
        self
    }

    /// `partitioner.rack.aware` with `client.rack` (KIP-1123): keyless
    /// records go to partitions led in `rack` when there are any.
    ///
    /// ```
    /// let config = kafka_producer::ProducerConfig::builder()
    ///     .bootstrap_servers("127.0.0.1:9092")
    ///     .rack_aware_partitioning("eu-west-1a")
    ///     .build()
    ///     .unwrap();
    /// assert!(config.partitioner_rack_aware);
    /// assert_eq!(config.client_rack, "eu-west-1a");
    /// ```
    pub fn rack_aware_partitioning(mut self, rack: impl Into<String>) -> Self {
        self.values.partitioner_rack_aware = true;
        self.values.client_rack = rack.into();
        self
    }

    /// `metadata.max.age.ms`.
    pub fn metadata_max_age(mut self, age: Duration) -> Self {
        self.values.metadata_max_age = age;
        self
    }

    /// `metadata.max.idle.ms` (at least 5 s).
    pub fn metadata_max_idle(mut self, idle: Duration) -> Self {
        self.values.metadata_max_idle = idle;
        self
    }

    /// `reconnect.backoff.ms`; without `reconnect_backoff_max` it becomes
    /// the maximum too, as in Java.
    pub fn reconnect_backoff(mut self, backoff: Duration) -> Self {
        self.values.reconnect_backoff = backoff;
        self.explicit.reconnect_backoff = true;
        self
    }

    /// `reconnect.backoff.max.ms`.
    pub fn reconnect_backoff_max(mut self, max: Duration) -> Self {
        self.values.reconnect_backoff_max = max;
        self.explicit.reconnect_backoff_max = true;
        self
    }

    /// `connections.max.idle.ms`.
    pub fn connections_max_idle(mut self, idle: Duration) -> Self {
        self.values.connections_max_idle = idle;
        self
    }

    /// `transactional.id` (non-empty; requires idempotence).
    pub fn transactional_id(mut self, id: impl Into<String>) -> Self {
        self.values.transactional_id = Some(id.into());
        self
    }

    /// `transaction.timeout.ms`.
    pub fn transaction_timeout(mut self, timeout: Duration) -> Self {
        self.values.transaction_timeout = timeout;
        self.explicit.transaction_timeout = true;
        self
    }

    /// `transaction.two.phase.commit.enable` (KIP-939).
    pub fn transaction_two_phase_commit_enable(mut self, enable: bool) -> Self {
        self.values.transaction_two_phase_commit_enable = enable;
        self
    }

    /// TLS and SASL, typed (an OAUTHBEARER [`TokenProvider`] can only be
    /// given this way). Instead of, not with, the `security.protocol`,
    /// `ssl.*` and `sasl.*` properties.
    ///
    /// ```
    /// use kafka_codec::security::{SaslConfig, ScramMechanism, SecurityConfig, TlsConfig, TrustStore};
    /// use kafka_producer::config::ProducerConfig;
    ///
    /// let config = ProducerConfig::builder()
    ///     .bootstrap_servers("broker-1.example.com:9093")
    ///     .security(SecurityConfig::sasl_ssl(
    ///         TlsConfig::new(TrustStore::Platform),
    ///         SaslConfig::Scram {
    ///             mechanism: ScramMechanism::Sha512,
    ///             username: "alice".into(),
    ///             password: "alice-secret".into(),
    ///         },
    ///     ))
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{config:?}").contains("alice-secret"));
    /// ```
    ///
    /// [`TokenProvider`]: kafka_codec::security::TokenProvider
    pub fn security(mut self, security: SecurityConfig) -> Self {
        self.typed_security = Some(security);
        self
    }

    /// `enable.metrics.push`: whether the producer pushes its metrics to
    /// a broker that subscribes to them (KIP-714; see [`crate::telemetry`]).
    ///
    /// ```
    /// let config = kafka_producer::ProducerConfig::builder()
    ///     .bootstrap_servers("127.0.0.1:9092")
    ///     .enable_metrics_push(false)
    ///     .build()?;
    /// assert!(!config.enable_metrics_push);
    /// # Ok::<(), kafka_producer::config::ConfigError>(())
    /// ```
    pub fn enable_metrics_push(mut self, on: bool) -> Self {
        self.values.enable_metrics_push = on;
        self
    }

    /// Adds an interceptor at the end of the chain (Java's
    /// `interceptor.classes`, as objects): it sees every record `send`
    /// takes and every outcome. See [`ProducerInterceptor`] for a fuller
    /// example.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use kafka_producer::{ProducerConfig, ProducerInterceptor, ProducerRecord};
    ///
    /// #[derive(Debug)]
    /// struct Tag(&'static str);
    /// impl ProducerInterceptor for Tag {
    ///     fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
    ///         record.header("tag", Some(self.0))
    ///     }
    /// }
    ///
    /// // Run in this order: "a" first, then "b".
    /// let config = ProducerConfig::builder()
    ///     .bootstrap_servers("127.0.0.1:9092")
    ///     .interceptor(Arc::new(Tag("a")))
    ///     .interceptor(Arc::new(Tag("b")))
    ///     .build()?;
    /// assert_eq!(config.interceptors.len(), 2);
    /// # Ok::<(), kafka_producer::config::ConfigError>(())
    /// ```
    ///
    /// [`ProducerInterceptor`]: crate::ProducerInterceptor
    pub fn interceptor(
        mut self,
        interceptor: std::sync::Arc<dyn crate::ProducerInterceptor>,
    ) -> Self {
        self.values.interceptors = self.values.interceptors.with(interceptor);
        self
    }

    /// One Java property, parsed as [`ProducerConfig::from_properties`]
    /// parses it; a bad key or value is reported by [`build`](Self::build).
    ///
    /// `config.providers` (and its `config.providers.<name>.*` keys)
    /// resolve `${provider:path:key}` in the properties set after them (see
    /// the [module documentation](super) for the providers);
    /// [`ProducerConfig::from_properties`] takes them first whatever their
    /// order.
    pub fn property(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let (key, value) = (key.as_ref(), value.as_ref());
        if super::providers::is_provider_key(key) {
            self.provider_props
                .push((key.to_string(), value.to_string()));
            return self;
        }
        let resolved = if self.provider_props.is_empty() || !value.contains("${") {
            Ok(value.to_string())
        } else {
            super::providers::Providers::from_props(&self.provider_props)
                .and_then(|p| p.resolve(key, value))
        };
        if let Err(e) = resolved.and_then(|value| apply(&mut self, key, &value)) {
            self.errors.push(e);
        }
        self
    }

    /// Validates the settings with Java's rules and returns the effective
    /// configuration.
    ///
    /// # Errors
    /// The first problem found (see the [module documentation](super)).
    pub fn build(&self) -> Result<ProducerConfig, ConfigError> {
        if let Some(first) = self.errors.first() {
            return Err(first.clone());
        }
        // A provider set up wrong is an error even when nothing used it.
        super::providers::Providers::from_props(&self.provider_props)?;
        let mut values = self.values.clone();
        values.security =
            match &self.typed_security {
                Some(_) if !self.security.is_empty() => return Err(ConfigError::new(
                    [SECURITY_PROTOCOL],
                    "security settings given both typed (ProducerConfigBuilder::security) and as \
                     security.protocol / ssl.* / sasl.* properties: use one",
                )),
                Some(typed) => typed.clone(),
                None => self.security.resolve()?,
            };
        values
            .security
            .check()
            .map_err(|e| ConfigError::new([SECURITY_PROTOCOL], e))?;
        validate::effective(values, self.explicit)
    }
}
