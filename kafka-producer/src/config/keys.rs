//! The property names, and how `from_properties` parses each value into
//! the builder: adding a key is a constant and an arm here, a field (with
//! its default and its row in the module's key table), a typed setter, and
//! a range in `validate` when it has one.

use std::time::Duration;

use super::builder::ProducerConfigBuilder;
use super::{ConfigError, PartitionerKind, ROUND_ROBIN_PARTITIONER_CLASS};

/// `bootstrap.servers`
pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
/// `client.id`
pub const CLIENT_ID: &str = "client.id";
/// `acks`
pub const ACKS: &str = "acks";
/// `enable.idempotence`
pub const ENABLE_IDEMPOTENCE: &str = "enable.idempotence";
/// `max.in.flight.requests.per.connection`
pub const MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION: &str = "max.in.flight.requests.per.connection";
/// `retries`
pub const RETRIES: &str = "retries";
/// `retry.backoff.ms`
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";
/// `retry.backoff.max.ms`
pub const RETRY_BACKOFF_MAX_MS: &str = "retry.backoff.max.ms";
/// `delivery.timeout.ms`
pub const DELIVERY_TIMEOUT_MS: &str = "delivery.timeout.ms";
/// `request.timeout.ms`
pub const REQUEST_TIMEOUT_MS: &str = "request.timeout.ms";
/// `linger.ms`
pub const LINGER_MS: &str = "linger.ms";
/// `batch.size`
pub const BATCH_SIZE: &str = "batch.size";
/// `buffer.memory`
pub const BUFFER_MEMORY: &str = "buffer.memory";
/// `max.block.ms`
pub const MAX_BLOCK_MS: &str = "max.block.ms";
/// `max.request.size`
pub const MAX_REQUEST_SIZE: &str = "max.request.size";
/// `compression.type`
pub const COMPRESSION_TYPE: &str = "compression.type";
/// `compression.gzip.level`
pub const COMPRESSION_GZIP_LEVEL: &str = "compression.gzip.level";
/// `compression.lz4.level`
pub const COMPRESSION_LZ4_LEVEL: &str = "compression.lz4.level";
/// `compression.zstd.level`
pub const COMPRESSION_ZSTD_LEVEL: &str = "compression.zstd.level";
/// `partitioner.class`
pub const PARTITIONER_CLASS: &str = "partitioner.class";
/// `partitioner.adaptive.partitioning.enable`
pub const PARTITIONER_ADAPTIVE_PARTITIONING_ENABLE: &str =
    "partitioner.adaptive.partitioning.enable";
/// `partitioner.availability.timeout.ms`
pub const PARTITIONER_AVAILABILITY_TIMEOUT_MS: &str = "partitioner.availability.timeout.ms";
/// `partitioner.ignore.keys`
pub const PARTITIONER_IGNORE_KEYS: &str = "partitioner.ignore.keys";
/// `partitioner.rack.aware`
pub const PARTITIONER_RACK_AWARE: &str = "partitioner.rack.aware";
/// `enable.metrics.push`
pub const ENABLE_METRICS_PUSH: &str = "enable.metrics.push";
/// `client.rack`
pub const CLIENT_RACK: &str = "client.rack";
/// `metadata.max.age.ms`
pub const METADATA_MAX_AGE_MS: &str = "metadata.max.age.ms";
/// `metadata.max.idle.ms`
pub const METADATA_MAX_IDLE_MS: &str = "metadata.max.idle.ms";
/// `reconnect.backoff.ms`
pub const RECONNECT_BACKOFF_MS: &str = "reconnect.backoff.ms";
/// `reconnect.backoff.max.ms`
pub const RECONNECT_BACKOFF_MAX_MS: &str = "reconnect.backoff.max.ms";
/// `connections.max.idle.ms`
pub const CONNECTIONS_MAX_IDLE_MS: &str = "connections.max.idle.ms";
/// `transactional.id`
pub const TRANSACTIONAL_ID: &str = "transactional.id";
/// `transaction.timeout.ms`
pub const TRANSACTION_TIMEOUT_MS: &str = "transaction.timeout.ms";
/// `transaction.two.phase.commit.enable`
pub const TRANSACTION_TWO_PHASE_COMMIT_ENABLE: &str = "transaction.two.phase.commit.enable";
/// `key.serializer` (accepted, no effect)
pub const KEY_SERIALIZER: &str = "key.serializer";
/// `value.serializer` (accepted, no effect)
pub const VALUE_SERIALIZER: &str = "value.serializer";
/// `send.buffer.bytes`
pub const SEND_BUFFER_BYTES: &str = "send.buffer.bytes";
/// `receive.buffer.bytes`
pub const RECEIVE_BUFFER_BYTES: &str = "receive.buffer.bytes";
/// `client.dns.lookup`
pub const CLIENT_DNS_LOOKUP: &str = "client.dns.lookup";
/// `security.protocol`
pub const SECURITY_PROTOCOL: &str = "security.protocol";
/// `ssl.truststore.type` (`PEM` only)
pub const SSL_TRUSTSTORE_TYPE: &str = "ssl.truststore.type";
/// `ssl.truststore.location`
pub const SSL_TRUSTSTORE_LOCATION: &str = "ssl.truststore.location";
/// `ssl.truststore.certificates`
pub const SSL_TRUSTSTORE_CERTIFICATES: &str = "ssl.truststore.certificates";
/// `ssl.truststore.password` (refused: PEM stores have none)
pub const SSL_TRUSTSTORE_PASSWORD: &str = "ssl.truststore.password";
/// `ssl.keystore.type` (`PEM` only)
pub const SSL_KEYSTORE_TYPE: &str = "ssl.keystore.type";
/// `ssl.keystore.location`
pub const SSL_KEYSTORE_LOCATION: &str = "ssl.keystore.location";
/// `ssl.keystore.certificate.chain`
pub const SSL_KEYSTORE_CERTIFICATE_CHAIN: &str = "ssl.keystore.certificate.chain";
/// `ssl.keystore.key`
pub const SSL_KEYSTORE_KEY: &str = "ssl.keystore.key";
/// `ssl.keystore.password` (refused: PEM stores have none)
pub const SSL_KEYSTORE_PASSWORD: &str = "ssl.keystore.password";
/// `ssl.key.password` (refused: encrypted keys are not supported)
pub const SSL_KEY_PASSWORD: &str = "ssl.key.password";
/// `ssl.endpoint.identification.algorithm`
pub const SSL_ENDPOINT_IDENTIFICATION_ALGORITHM: &str = "ssl.endpoint.identification.algorithm";
/// `ssl.protocol`
pub const SSL_PROTOCOL: &str = "ssl.protocol";
/// `ssl.enabled.protocols`
pub const SSL_ENABLED_PROTOCOLS: &str = "ssl.enabled.protocols";
/// `ssl.cipher.suites`: the TLS suites offered, by IANA name
pub const SSL_CIPHER_SUITES: &str = "ssl.cipher.suites";
/// `sasl.mechanism`
pub const SASL_MECHANISM: &str = "sasl.mechanism";
/// `sasl.jaas.config`
pub const SASL_JAAS_CONFIG: &str = "sasl.jaas.config";
/// `sasl.login.callback.handler.class`
pub const SASL_LOGIN_CALLBACK_HANDLER_CLASS: &str = "sasl.login.callback.handler.class";
/// `sasl.oauthbearer.token.endpoint.url`
pub const SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: &str = "sasl.oauthbearer.token.endpoint.url";
/// `sasl.oauthbearer.jwt.retriever.class`
pub const SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS: &str = "sasl.oauthbearer.jwt.retriever.class";
/// `sasl.oauthbearer.client.credentials.client.id`
pub const SASL_OAUTHBEARER_CLIENT_ID: &str = "sasl.oauthbearer.client.credentials.client.id";
/// `sasl.oauthbearer.client.credentials.client.secret`
pub const SASL_OAUTHBEARER_CLIENT_SECRET: &str =
    "sasl.oauthbearer.client.credentials.client.secret";
/// `sasl.oauthbearer.scope`
pub const SASL_OAUTHBEARER_SCOPE: &str = "sasl.oauthbearer.scope";
/// `sasl.oauthbearer.sub.claim.name`
pub const SASL_OAUTHBEARER_SUB_CLAIM_NAME: &str = "sasl.oauthbearer.sub.claim.name";
/// `sasl.oauthbearer.header.urlencode`
pub const SASL_OAUTHBEARER_HEADER_URLENCODE: &str = "sasl.oauthbearer.header.urlencode";
/// `sasl.oauthbearer.assertion.algorithm`
pub const SASL_OAUTHBEARER_ASSERTION_ALGORITHM: &str = "sasl.oauthbearer.assertion.algorithm";
/// `sasl.oauthbearer.assertion.claim.aud`
pub const SASL_OAUTHBEARER_ASSERTION_CLAIM_AUD: &str = "sasl.oauthbearer.assertion.claim.aud";
/// `sasl.oauthbearer.assertion.claim.exp.seconds`
pub const SASL_OAUTHBEARER_ASSERTION_CLAIM_EXP_SECONDS: &str =
    "sasl.oauthbearer.assertion.claim.exp.seconds";
/// `sasl.oauthbearer.assertion.claim.iss`
pub const SASL_OAUTHBEARER_ASSERTION_CLAIM_ISS: &str = "sasl.oauthbearer.assertion.claim.iss";
/// `sasl.oauthbearer.assertion.claim.jti.include`
pub const SASL_OAUTHBEARER_ASSERTION_CLAIM_JTI_INCLUDE: &str =
    "sasl.oauthbearer.assertion.claim.jti.include";
/// `sasl.oauthbearer.assertion.claim.nbf.seconds`
pub const SASL_OAUTHBEARER_ASSERTION_CLAIM_NBF_SECONDS: &str =
    "sasl.oauthbearer.assertion.claim.nbf.seconds";
/// `sasl.oauthbearer.assertion.claim.sub`
pub const SASL_OAUTHBEARER_ASSERTION_CLAIM_SUB: &str = "sasl.oauthbearer.assertion.claim.sub";
/// `sasl.oauthbearer.assertion.file`
pub const SASL_OAUTHBEARER_ASSERTION_FILE: &str = "sasl.oauthbearer.assertion.file";
/// `sasl.oauthbearer.assertion.private.key.file`
pub const SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE: &str =
    "sasl.oauthbearer.assertion.private.key.file";
/// `sasl.oauthbearer.assertion.private.key.passphrase`
pub const SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_PASSPHRASE: &str =
    "sasl.oauthbearer.assertion.private.key.passphrase";
/// `sasl.oauthbearer.assertion.template.file`
pub const SASL_OAUTHBEARER_ASSERTION_TEMPLATE_FILE: &str =
    "sasl.oauthbearer.assertion.template.file";
/// `sasl.login.connect.timeout.ms`
pub const SASL_LOGIN_CONNECT_TIMEOUT_MS: &str = "sasl.login.connect.timeout.ms";
/// `sasl.login.read.timeout.ms`
pub const SASL_LOGIN_READ_TIMEOUT_MS: &str = "sasl.login.read.timeout.ms";
/// `sasl.login.refresh.buffer.seconds`
pub const SASL_LOGIN_REFRESH_BUFFER_SECONDS: &str = "sasl.login.refresh.buffer.seconds";
/// `sasl.login.refresh.min.period.seconds`
pub const SASL_LOGIN_REFRESH_MIN_PERIOD_SECONDS: &str = "sasl.login.refresh.min.period.seconds";
/// `sasl.login.refresh.window.factor`
pub const SASL_LOGIN_REFRESH_WINDOW_FACTOR: &str = "sasl.login.refresh.window.factor";
/// `sasl.login.refresh.window.jitter`
pub const SASL_LOGIN_REFRESH_WINDOW_JITTER: &str = "sasl.login.refresh.window.jitter";
/// `sasl.login.retry.backoff.ms`
pub const SASL_LOGIN_RETRY_BACKOFF_MS: &str = "sasl.login.retry.backoff.ms";
/// `sasl.login.retry.backoff.max.ms`
pub const SASL_LOGIN_RETRY_BACKOFF_MAX_MS: &str = "sasl.login.retry.backoff.max.ms";
/// `metadata.recovery.strategy`
pub const METADATA_RECOVERY_STRATEGY: &str = "metadata.recovery.strategy";
/// `metadata.recovery.rebootstrap.trigger.ms`
pub const METADATA_RECOVERY_REBOOTSTRAP_TRIGGER_MS: &str =
    "metadata.recovery.rebootstrap.trigger.ms";
/// `socket.connection.setup.timeout.ms`
pub const SOCKET_CONNECTION_SETUP_TIMEOUT_MS: &str = "socket.connection.setup.timeout.ms";
/// `socket.connection.setup.timeout.max.ms`
pub const SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS: &str = "socket.connection.setup.timeout.max.ms";

/// Parses one property into the builder.
pub(super) fn apply(
    b: &mut ProducerConfigBuilder,
    key: &str,
    raw: &str,
) -> Result<(), ConfigError> {
    if let Some(done) = b.security.apply(key, raw) {
        return done;
    }
    let v = &mut b.values;
    match key {
        BOOTSTRAP_SERVERS => v.bootstrap_servers = java_list(raw),
        CLIENT_ID => {
            v.client_id = java_trim(raw).to_owned();
            b.explicit.client_id = true;
        }
        ACKS => v.acks = raw.parse()?,
        ENABLE_IDEMPOTENCE => {
            v.enable_idempotence = parse_bool(key, raw)?;
            b.explicit.idempotence = true;
        }
        MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION => {
            v.max_in_flight_requests_per_connection = parse_int_size(key, raw)?;
        }
        RETRIES => {
            let n = parse_int(key, raw)?;
            v.retries = u32::try_from(n)
                .map_err(|_| ConfigError::invalid(key, raw, "must be at least 0"))?;
        }
        RETRY_BACKOFF_MS => v.retry_backoff = parse_long_ms(key, raw)?,
        RETRY_BACKOFF_MAX_MS => v.retry_backoff_max = parse_long_ms(key, raw)?,
        DELIVERY_TIMEOUT_MS => {
            v.delivery_timeout = parse_int_ms(key, raw)?;
            b.explicit.delivery_timeout = true;
        }
        REQUEST_TIMEOUT_MS => v.request_timeout = parse_int_ms(key, raw)?,
        LINGER_MS => v.linger = parse_long_ms(key, raw)?,
        BATCH_SIZE => v.batch_size = parse_int_size(key, raw)?,
        BUFFER_MEMORY => v.buffer_memory = parse_long_size(key, raw)?,
        MAX_BLOCK_MS => v.max_block = parse_long_ms(key, raw)?,
        MAX_REQUEST_SIZE => v.max_request_size = parse_int_size(key, raw)?,
        COMPRESSION_TYPE => {
            v.compression_type = java_trim(raw).parse().map_err(|_| {
                ConfigError::invalid(key, raw, "expected none, gzip, snappy, lz4 or zstd")
            })?;
        }
        COMPRESSION_GZIP_LEVEL => v.compression_gzip_level = parse_int(key, raw)?,
        COMPRESSION_LZ4_LEVEL => v.compression_lz4_level = parse_int(key, raw)?,
        COMPRESSION_ZSTD_LEVEL => v.compression_zstd_level = parse_int(key, raw)?,
        // Empty: the built-in partitioner, as unset.
        PARTITIONER_CLASS if java_trim(raw).is_empty() => v.partitioner = PartitionerKind::BuiltIn,
        PARTITIONER_CLASS => {
            if java_trim(raw) != ROUND_ROBIN_PARTITIONER_CLASS {
                return Err(ConfigError::invalid(
                    key,
                    raw,
                    format_args!(
                        "the only partitioner class available is \
                         {ROUND_ROBIN_PARTITIONER_CLASS}; leave {key} unset for the \
                         built-in partitioner, or give the producer a Rust Partitioner"
                    ),
                ));
            }
            v.partitioner = PartitionerKind::RoundRobin;
        }
        PARTITIONER_ADAPTIVE_PARTITIONING_ENABLE => {
            v.partitioner_adaptive_partitioning_enable = parse_bool(key, raw)?;
        }
        PARTITIONER_AVAILABILITY_TIMEOUT_MS => {
            v.partitioner_availability_timeout = parse_long_ms(key, raw)?;
        }
        PARTITIONER_IGNORE_KEYS => v.partitioner_ignore_keys = parse_bool(key, raw)?,
        PARTITIONER_RACK_AWARE => v.partitioner_rack_aware = parse_bool(key, raw)?,
        CLIENT_RACK => v.client_rack = java_trim(raw).to_owned(),
        ENABLE_METRICS_PUSH => v.enable_metrics_push = parse_bool(key, raw)?,
        METADATA_MAX_AGE_MS => v.metadata_max_age = parse_long_ms(key, raw)?,
        METADATA_MAX_IDLE_MS => v.metadata_max_idle = parse_long_ms(key, raw)?,
        RECONNECT_BACKOFF_MS => {
            v.reconnect_backoff = parse_long_ms(key, raw)?;
            b.explicit.reconnect_backoff = true;
        }
        RECONNECT_BACKOFF_MAX_MS => {
            v.reconnect_backoff_max = parse_long_ms(key, raw)?;
            b.explicit.reconnect_backoff_max = true;
        }
        CONNECTIONS_MAX_IDLE_MS => {
            // Java takes a negative value as "never close idle
            // connections"; a Duration cannot say that, so it is refused.
            v.connections_max_idle = parse_long_ms(key, raw)?;
        }
        TRANSACTIONAL_ID => v.transactional_id = Some(java_trim(raw).to_owned()),
        TRANSACTION_TIMEOUT_MS => {
            v.transaction_timeout = parse_int_ms(key, raw)?;
            b.explicit.transaction_timeout = true;
        }
        TRANSACTION_TWO_PHASE_COMMIT_ENABLE => {
            v.transaction_two_phase_commit_enable = parse_bool(key, raw)?;
        }

        // Accepted for compatibility, checked as Java checks them, no
        // effect (a warning says so).
        KEY_SERIALIZER | VALUE_SERIALIZER => {
            if java_trim(raw).is_empty() {
                return Err(ConfigError::invalid(key, raw, "expected a class name"));
            }
            super::java_keys::warn_no_effect(key);
        }
        SEND_BUFFER_BYTES | RECEIVE_BUFFER_BYTES => {
            let n = parse_int(key, raw)?;
            if n < -1 {
                return Err(ConfigError::invalid(key, raw, "must be at least -1"));
            }
            if key == SEND_BUFFER_BYTES {
                v.send_buffer_bytes = n;
            } else {
                v.receive_buffer_bytes = n;
            }
        }
        CLIENT_DNS_LOOKUP => {
            let lookup = java_trim(raw);
            v.client_dns_lookup = if lookup.eq_ignore_ascii_case("use_all_dns_ips") {
                super::ClientDnsLookup::UseAllDnsIps
            } else if lookup.eq_ignore_ascii_case("resolve_canonical_bootstrap_servers_only") {
                super::ClientDnsLookup::ResolveCanonicalBootstrapServersOnly
            } else {
                return Err(ConfigError::invalid(
                    key,
                    raw,
                    "expected use_all_dns_ips or resolve_canonical_bootstrap_servers_only",
                ));
            };
        }
        METADATA_RECOVERY_STRATEGY => {
            let strategy = java_trim(raw);
            v.metadata_recovery_strategy = if strategy.eq_ignore_ascii_case("rebootstrap") {
                super::MetadataRecoveryStrategy::Rebootstrap
            } else if strategy.eq_ignore_ascii_case("none") {
                super::MetadataRecoveryStrategy::None
            } else {
                return Err(ConfigError::invalid(
                    key,
                    raw,
                    "expected rebootstrap or none",
                ));
            };
        }
        METADATA_RECOVERY_REBOOTSTRAP_TRIGGER_MS => {
            v.metadata_recovery_rebootstrap_trigger = parse_long_ms(key, raw)?;
        }
        SOCKET_CONNECTION_SETUP_TIMEOUT_MS => {
            v.socket_connection_setup_timeout = parse_long_ms(key, raw)?;
        }
        SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS => {
            v.socket_connection_setup_timeout_max = parse_long_ms(key, raw)?;
        }
        // Every other Java key, consumer and admin keys, typos.
        _ => return super::java_keys::not_applied(key, raw),
    }
    Ok(())
}

/// Java's `String.trim`: strips every character up to U+0020 at both ends.
pub(super) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `LIST` parsing: trimmed; empty means no entries; else split on
/// commas with the whitespace around them removed.
pub(super) fn java_list(s: &str) -> Vec<String> {
    let s = java_trim(s);
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',')
        .map(|entry| java_trim(entry).to_owned())
        .collect()
}

pub(super) fn parse_bool(key: &str, raw: &str) -> Result<bool, ConfigError> {
    let v = java_trim(raw);
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ConfigError::invalid(key, raw, "expected true or false"))
    }
}

fn parse_int(key: &str, raw: &str) -> Result<i32, ConfigError> {
    java_trim(raw)
        .parse()
        .map_err(|_| ConfigError::invalid(key, raw, "not a number of type INT"))
}

fn parse_long(key: &str, raw: &str) -> Result<i64, ConfigError> {
    java_trim(raw)
        .parse()
        .map_err(|_| ConfigError::invalid(key, raw, "not a number of type LONG"))
}

/// A non-negative `INT`, as a size.
fn parse_int_size(key: &str, raw: &str) -> Result<usize, ConfigError> {
    usize::try_from(parse_int(key, raw)?)
        .map_err(|_| ConfigError::invalid(key, raw, "must be at least 0"))
}

/// A non-negative `LONG`, as a size.
fn parse_long_size(key: &str, raw: &str) -> Result<usize, ConfigError> {
    let n = parse_long(key, raw)?;
    if n < 0 {
        return Err(ConfigError::invalid(key, raw, "must be at least 0"));
    }
    usize::try_from(n).map_err(|_| ConfigError::invalid(key, raw, "too large for this platform"))
}

/// A non-negative `INT` of milliseconds.
fn parse_int_ms(key: &str, raw: &str) -> Result<Duration, ConfigError> {
    let ms = parse_int(key, raw)?;
    u64::try_from(ms)
        .map(Duration::from_millis)
        .map_err(|_| ConfigError::invalid(key, raw, "must be at least 0"))
}

/// A non-negative `LONG` of milliseconds.
pub(super) fn parse_long_ms(key: &str, raw: &str) -> Result<Duration, ConfigError> {
    let ms = parse_long(key, raw)?;
    u64::try_from(ms)
        .map(Duration::from_millis)
        .map_err(|_| ConfigError::invalid(key, raw, "must be at least 0"))
}
