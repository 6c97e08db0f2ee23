//! The producer's configuration: the Java producer's settings, names, defaults
//! and validation rules (kafka-clients 4.x), typed.
//!
//! Build one from Java-style properties with [`ProducerConfig::from_properties`]
//! (so an existing `producer.properties` works as it is), or in code with
//! [`ProducerConfig::builder`]. Both go through the same validation and give
//! the same result for the same settings.
//!
//! # Keys
//!
//! Values are parsed as Java's `ConfigDef` parses them: surrounding
//! whitespace is trimmed; `INT` and `LONG` are decimal numbers of that range
//! (`"7"`, `"+7"`, `"-1"`; not `"7.0"`); booleans are `true` or `false` in any
//! case; lists are comma-separated, with the spaces around commas trimmed.
//! Durations are milliseconds. A value that does not parse, or is out of
//! range, is an error naming the key and the value.
//!
//! | key | type | default | field |
//! |---|---|---|---|
//! | `bootstrap.servers` | list of `host:port` | required | [`bootstrap_servers`](ProducerConfig::bootstrap_servers) |
//! | `client.id` | string | `producer-N` | [`client_id`](ProducerConfig::client_id) |
//! | `acks` | `all`, `-1`, `0`, `1` | `all` | [`acks`](ProducerConfig::acks) |
//! | `enable.idempotence` | boolean | `true` | [`enable_idempotence`](ProducerConfig::enable_idempotence) |
//! | `max.in.flight.requests.per.connection` | int >= 1 | 5 | [`max_in_flight_requests_per_connection`](ProducerConfig::max_in_flight_requests_per_connection) |
//! | `retries` | int >= 0 | 2147483647 | [`retries`](ProducerConfig::retries) |
//! | `retry.backoff.ms` | long >= 0 | 100 | [`retry_backoff`](ProducerConfig::retry_backoff) |
//! | `retry.backoff.max.ms` | long >= 0 | 1000 | [`retry_backoff_max`](ProducerConfig::retry_backoff_max) |
//! | `delivery.timeout.ms` | int >= 0 | 120000 | [`delivery_timeout`](ProducerConfig::delivery_timeout) |
//! | `request.timeout.ms` | int >= 0 | 30000 | [`request_timeout`](ProducerConfig::request_timeout) |
//! | `linger.ms` | long >= 0 | 5 | [`linger`](ProducerConfig::linger) |
//! | `batch.size` | int >= 0 | 16384 | [`batch_size`](ProducerConfig::batch_size) |
//! | `buffer.memory` | long >= 0 | 33554432 | [`buffer_memory`](ProducerConfig::buffer_memory) |
//! | `max.block.ms` | long >= 0 | 60000 | [`max_block`](ProducerConfig::max_block) |
//! | `max.request.size` | int >= 0 | 1048576 | [`max_request_size`](ProducerConfig::max_request_size) |
//! | `compression.type` | `none`, `gzip`, `snappy`, `lz4`, `zstd` | `none` | [`compression_type`](ProducerConfig::compression_type) |
//! | `compression.gzip.level` | 1..=9 or -1 | -1 | [`compression_gzip_level`](ProducerConfig::compression_gzip_level) |
//! | `compression.lz4.level` | 1..=17 | 9 | [`compression_lz4_level`](ProducerConfig::compression_lz4_level) |
//! | `compression.zstd.level` | -131072..=22 | 3 | [`compression_zstd_level`](ProducerConfig::compression_zstd_level) |
//! | `partitioner.class` | [`ROUND_ROBIN_PARTITIONER_CLASS`] | unset (built-in) | [`partitioner`](ProducerConfig::partitioner) |
//! | `partitioner.adaptive.partitioning.enable` | boolean | `true` | [`partitioner_adaptive_partitioning_enable`](ProducerConfig::partitioner_adaptive_partitioning_enable) |
//! | `partitioner.availability.timeout.ms` | long >= 0 | 0 | [`partitioner_availability_timeout`](ProducerConfig::partitioner_availability_timeout) |
//! | `partitioner.ignore.keys` | boolean | `false` | [`partitioner_ignore_keys`](ProducerConfig::partitioner_ignore_keys) |
//! | `metadata.max.age.ms` | long >= 0 | 300000 | [`metadata_max_age`](ProducerConfig::metadata_max_age) |
//! | `metadata.max.idle.ms` | long >= 5000 | 300000 | [`metadata_max_idle`](ProducerConfig::metadata_max_idle) |
//! | `reconnect.backoff.ms` | long >= 0 | 50 | [`reconnect_backoff`](ProducerConfig::reconnect_backoff) |
//! | `reconnect.backoff.max.ms` | long >= 0 | 1000 | [`reconnect_backoff_max`](ProducerConfig::reconnect_backoff_max) |
//! | `connections.max.idle.ms` | long >= 0 | 540000 | [`connections_max_idle`](ProducerConfig::connections_max_idle) |
//! | `transactional.id` | non-empty string | unset | [`transactional_id`](ProducerConfig::transactional_id) |
//! | `transaction.timeout.ms` | int >= 0 | 60000 | [`transaction_timeout`](ProducerConfig::transaction_timeout) |
//!
//! Accepted because Java configurations nearly always carry them, checked
//! as Java checks them, and otherwise without effect here:
//!
//! | key | why it has no effect |
//! |---|---|
//! | `key.serializer`, `value.serializer` | serializers are Rust types given to the producer (see [`crate::serializer`]); any non-empty class name is accepted |
//! | `send.buffer.bytes`, `receive.buffer.bytes` | int >= -1; the operating system's socket buffer sizes are used |
//! | `security.protocol` | only `PLAINTEXT` (any case) is accepted: TLS and SASL are not built yet, so `SSL`, `SASL_PLAINTEXT` and `SASL_SSL` are errors rather than a silent plaintext connection |
//! | `metadata.recovery.strategy` | `rebootstrap` or `none` (any case); not read by this producer yet |
//! | `socket.connection.setup.timeout.ms`, `socket.connection.setup.timeout.max.ms` | long, as in Java (no range check there); not read by this producer yet |
//!
//! Any other key is an error naming it (the Java client only logs a
//! warning), so that a typo does not silently leave a default in place.
//!
//! # Rules applied after parsing (Java's)
//!
//! - **Idempotence.** `enable.idempotence` defaults to true. When it was not
//!   set explicitly, `acks` other than `all` or `retries=0` silently turn it
//!   off; when it was set to true explicitly, they are errors. With
//!   idempotence on (explicitly or by default),
//!   `max.in.flight.requests.per.connection` above 5 is an error: Java does
//!   not turn idempotence off for it. [`ProducerConfig::enable_idempotence`]
//!   holds the effective value.
//! - **Transactions.** `transactional.id` requires idempotence: setting it
//!   with idempotence off (explicitly, or by `acks`/`retries`) is an error.
//! - **Delivery timeout.** `delivery.timeout.ms` must be at least
//!   `linger.ms + request.timeout.ms`: an error when it was set explicitly,
//!   otherwise it is raised to that sum.
//! - **Reconnect backoff.** `reconnect.backoff.ms` set without
//!   `reconnect.backoff.max.ms` makes the maximum equal to it (no
//!   exponential growth), as Java does.
//! - **Client id.** Unset, it is `producer-<transactional.id>` for a
//!   transactional producer, else `producer-N` with N from a process-wide
//!   counter starting at 1 (taken only by configurations that validate).
//! - **Bootstrap servers.** At least one `host:port` (or `[ipv6]:port`);
//!   empty entries between commas are skipped, as Java skips them.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kafka_compression::{BuiltinCodec, CompressionType};

/// The Java property names, for code that builds or inspects properties.
pub mod keys {
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
    /// `key.serializer` (accepted, no effect)
    pub const KEY_SERIALIZER: &str = "key.serializer";
    /// `value.serializer` (accepted, no effect)
    pub const VALUE_SERIALIZER: &str = "value.serializer";
    /// `send.buffer.bytes` (accepted, no effect)
    pub const SEND_BUFFER_BYTES: &str = "send.buffer.bytes";
    /// `receive.buffer.bytes` (accepted, no effect)
    pub const RECEIVE_BUFFER_BYTES: &str = "receive.buffer.bytes";
    /// `security.protocol` (only `PLAINTEXT`)
    pub const SECURITY_PROTOCOL: &str = "security.protocol";
    /// `metadata.recovery.strategy` (accepted, no effect yet)
    pub const METADATA_RECOVERY_STRATEGY: &str = "metadata.recovery.strategy";
    /// `socket.connection.setup.timeout.ms` (accepted, no effect yet)
    pub const SOCKET_CONNECTION_SETUP_TIMEOUT_MS: &str = "socket.connection.setup.timeout.ms";
    /// `socket.connection.setup.timeout.max.ms` (accepted, no effect yet)
    pub const SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS: &str =
        "socket.connection.setup.timeout.max.ms";
}

use keys::*;

/// The `partitioner.class` value that selects [`PartitionerKind::RoundRobin`].
pub const ROUND_ROBIN_PARTITIONER_CLASS: &str =
    "org.apache.kafka.clients.producer.RoundRobinPartitioner";

/// The most requests in flight per connection that idempotence allows: the
/// broker remembers the last 5 batches per producer and partition.
pub const MAX_IN_FLIGHT_FOR_IDEMPOTENCE: usize = 5;

/// Next N of the default client id `producer-N`, process-wide like Java's
/// `PRODUCER_CLIENT_ID_SEQUENCE`.
static CLIENT_ID_SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// The validated configuration of a producer.
///
/// Every field holds the value the producer runs with: Java's defaults for
/// what was not set, and the effective value where Java adjusts one
/// (`enable_idempotence`, `delivery_timeout`, `reconnect_backoff_max`,
/// `client_id`). Build it with [`ProducerConfig::from_properties`] or
/// [`ProducerConfig::builder`]; the fields are public for reading (changing
/// one afterwards skips the validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// `bootstrap.servers`: the `host:port` entries to fetch the first
    /// metadata from (as written; never empty).
    pub bootstrap_servers: Vec<String>,
    /// `client.id`: sent in every request header, for broker logs and quotas.
    pub client_id: String,
    /// `acks`: how many replicas must have a batch before the broker answers.
    pub acks: Acks,
    /// `enable.idempotence`, effective: false when Java's rules turned it off.
    pub enable_idempotence: bool,
    /// `max.in.flight.requests.per.connection`: unanswered requests per
    /// broker connection (at most 5 with idempotence).
    pub max_in_flight_requests_per_connection: usize,
    /// `retries`: retry budget per batch; `delivery_timeout` is the real bound.
    pub retries: u32,
    /// `retry.backoff.ms`: first wait before a retry, doubled per attempt
    /// with +-20% jitter. Above `retry_backoff_max`, Java uses
    /// `retry_backoff_max` as a fixed backoff.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: cap of the exponential retry backoff.
    pub retry_backoff_max: Duration,
    /// `delivery.timeout.ms`, effective: time from `send` to success or
    /// failure, retries included; at least `linger + request_timeout`.
    pub delivery_timeout: Duration,
    /// `request.timeout.ms`: how long to wait for a response; also the
    /// Produce request's `TimeoutMs`.
    pub request_timeout: Duration,
    /// `linger.ms`: how long a batch waits for more records before it is sent.
    pub linger: Duration,
    /// `batch.size`: target size of a batch in bytes, and the sticky
    /// partitioner's switch threshold. 0 disables batching; Java then uses 1.
    pub batch_size: usize,
    /// `buffer.memory`: bytes of records waiting to be sent, all partitions
    /// together; a full buffer makes `send` wait up to `max_block`.
    pub buffer_memory: usize,
    /// `max.block.ms`: longest time `send` waits for metadata and buffer space.
    pub max_block: Duration,
    /// `max.request.size`: largest record (uncompressed, with overhead) and
    /// largest request.
    pub max_request_size: usize,
    /// `compression.type`: codec of the batches.
    pub compression_type: CompressionType,
    /// `compression.gzip.level`: 1..=9, or -1 for zlib's default.
    pub compression_gzip_level: i32,
    /// `compression.lz4.level`: 1..=17.
    pub compression_lz4_level: i32,
    /// `compression.zstd.level`: -131072..=22.
    pub compression_zstd_level: i32,
    /// `partitioner.class`: built-in (unset) or Java's round robin.
    pub partitioner: PartitionerKind,
    /// `partitioner.adaptive.partitioning.enable`: weight the built-in
    /// partitioner's picks by queue length (only with
    /// [`PartitionerKind::BuiltIn`]; Java turns it off with a
    /// `partitioner.class`).
    pub partitioner_adaptive_partitioning_enable: bool,
    /// `partitioner.availability.timeout.ms`: the built-in partitioner avoids
    /// partitions whose leader has not drained ready batches for this long;
    /// zero turns the check off.
    pub partitioner_availability_timeout: Duration,
    /// `partitioner.ignore.keys`: use the sticky partitioner for keyed
    /// records too, instead of murmur2 of the key.
    pub partitioner_ignore_keys: bool,
    /// `metadata.max.age.ms`: refresh metadata at least this often.
    pub metadata_max_age: Duration,
    /// `metadata.max.idle.ms`: forget a topic not produced to for this long.
    pub metadata_max_idle: Duration,
    /// `reconnect.backoff.ms`: first wait before reconnecting to a broker.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`, effective: cap of the exponential
    /// reconnect backoff.
    pub reconnect_backoff_max: Duration,
    /// `connections.max.idle.ms`: close connections idle for this long.
    pub connections_max_idle: Duration,
    /// `transactional.id`: makes the producer transactional.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`: how long the coordinator lets a transaction
    /// stay open (the broker caps it with `transaction.max.timeout.ms`).
    pub transaction_timeout: Duration,
}

/// `acks`: which replicas must have written a batch before the broker
/// answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Acks {
    /// `acks=0`: no response at all; offsets are unknown (-1) and failures
    /// go unseen.
    Zero,
    /// `acks=1`: the leader wrote it; lost if the leader dies before a
    /// follower copied it.
    One,
    /// `acks=all` (or `-1`): every in-sync replica has it. Java's default,
    /// and required by idempotence.
    #[default]
    All,
}

impl Acks {
    /// The value of the Produce request's `Acks` field: 0, 1 or -1.
    pub const fn as_i16(self) -> i16 {
        match self {
            Acks::Zero => 0,
            Acks::One => 1,
            Acks::All => -1,
        }
    }
}

impl fmt::Display for Acks {
    /// The property value: `0`, `1` or `all`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        })
    }
}

impl FromStr for Acks {
    type Err = ConfigError;

    /// Parses an `acks` value as Java does: `all`, `-1`, `0` or `1` after
    /// trimming (`ALL` is refused, as Java refuses it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match java_trim(s) {
            "all" | "-1" => Ok(Acks::All),
            "1" => Ok(Acks::One),
            "0" => Ok(Acks::Zero),
            _ => Err(ConfigError::invalid(ACKS, s, "expected all, -1, 0 or 1")),
        }
    }
}

/// `partitioner.class`: which partitioner places records without an
/// explicit partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PartitionerKind {
    /// Unset `partitioner.class`, Java's default: murmur2 of the key for
    /// keyed records, the uniform sticky partitioner (KIP-794) for the rest.
    #[default]
    BuiltIn,
    /// `org.apache.kafka.clients.producer.RoundRobinPartitioner`: every
    /// record to the next partition in turn, keys ignored.
    RoundRobin,
}

/// An invalid configuration: which keys are involved and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The property names involved (two or more for conflicting settings).
    pub keys: Vec<String>,
    /// What is wrong, naming the keys.
    pub message: String,
}

impl ConfigError {
    /// An error about `keys`, with a message that names them.
    pub fn new<K: Into<String>>(
        keys: impl IntoIterator<Item = K>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            keys: keys.into_iter().map(Into::into).collect(),
            message: message.into(),
        }
    }

    /// A value of `key` that Java would refuse too.
    fn invalid(key: &str, value: impl fmt::Display, why: impl fmt::Display) -> Self {
        Self::new(
            [key],
            format!(
                "invalid value {value:?} for {key}: {why}",
                value = value.to_string()
            ),
        )
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ProducerConfig {
    /// Parses Java producer properties (`key`, `value` pairs, as in a
    /// `producer.properties` file) and validates them like the Java client.
    ///
    /// A key given twice takes its last value.
    ///
    /// # Errors
    /// The first problem found: an unknown key, a value that does not parse
    /// or is out of range, or settings that conflict (see the
    /// [module documentation](self)).
    pub fn from_properties<I, K, V>(props: I) -> Result<ProducerConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut builder = Self::builder();
        for (key, value) in props {
            builder.apply(key.as_ref(), value.as_ref())?;
        }
        builder.build()
    }

    /// A builder with typed setters, starting from Java's defaults.
    pub fn builder() -> ProducerConfigBuilder {
        ProducerConfigBuilder::default()
    }

    /// The codec for `compression_type` at its configured level, or `None`
    /// for `none`.
    ///
    /// # Errors
    /// When the codec's cargo feature of `kafka-compression` is off, or the
    /// level was changed to one the codec refuses after validation.
    pub fn codec(&self) -> Result<Option<BuiltinCodec>, ConfigError> {
        if self.compression_type == CompressionType::None {
            return Ok(None);
        }
        BuiltinCodec::new(self.compression_type, self.compression_level())
            .map(Some)
            .map_err(|e| {
                let mut keys = vec![COMPRESSION_TYPE];
                let mut setting = format!("{COMPRESSION_TYPE}={}", self.compression_type);
                if let (Some(key), Some(level)) =
                    (level_key(self.compression_type), self.compression_level())
                {
                    keys.push(key);
                    setting.push_str(&format!(", {key}={level}"));
                }
                ConfigError::new(keys, format!("{setting}: {e}"))
            })
    }

    /// The level of the configured codec: `None` for `none` and `snappy`,
    /// which have no levels.
    pub fn compression_level(&self) -> Option<i32> {
        match self.compression_type {
            CompressionType::Gzip => Some(self.compression_gzip_level),
            CompressionType::Lz4 => Some(self.compression_lz4_level),
            CompressionType::Zstd => Some(self.compression_zstd_level),
            _ => None,
        }
    }
}

/// The level key of a codec, if it has levels.
fn level_key(compression_type: CompressionType) -> Option<&'static str> {
    match compression_type {
        CompressionType::Gzip => Some(COMPRESSION_GZIP_LEVEL),
        CompressionType::Lz4 => Some(COMPRESSION_LZ4_LEVEL),
        CompressionType::Zstd => Some(COMPRESSION_ZSTD_LEVEL),
        _ => None,
    }
}

/// Java's defaults, except `bootstrap_servers` (required) and `client_id`
/// (chosen at build time).
fn java_defaults() -> ProducerConfig {
    ProducerConfig {
        bootstrap_servers: Vec::new(),
        client_id: String::new(),
        acks: Acks::All,
        enable_idempotence: true,
        max_in_flight_requests_per_connection: 5,
        retries: i32::MAX as u32,
        retry_backoff: Duration::from_millis(100),
        retry_backoff_max: Duration::from_millis(1000),
        delivery_timeout: Duration::from_millis(120_000),
        request_timeout: Duration::from_millis(30_000),
        linger: Duration::from_millis(5),
        batch_size: 16_384,
        buffer_memory: 32 * 1024 * 1024,
        max_block: Duration::from_millis(60_000),
        max_request_size: 1024 * 1024,
        compression_type: CompressionType::None,
        compression_gzip_level: -1,
        compression_lz4_level: 9,
        compression_zstd_level: 3,
        partitioner: PartitionerKind::BuiltIn,
        partitioner_adaptive_partitioning_enable: true,
        partitioner_availability_timeout: Duration::ZERO,
        partitioner_ignore_keys: false,
        metadata_max_age: Duration::from_millis(300_000),
        metadata_max_idle: Duration::from_millis(300_000),
        reconnect_backoff: Duration::from_millis(50),
        reconnect_backoff_max: Duration::from_millis(1000),
        connections_max_idle: Duration::from_millis(540_000),
        transactional_id: None,
        transaction_timeout: Duration::from_millis(60_000),
    }
}

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
    values: ProducerConfig,
    /// Which of the settings that Java's rules look at were set explicitly.
    client_id_set: bool,
    idempotence_set: bool,
    delivery_timeout_set: bool,
    reconnect_backoff_set: bool,
    reconnect_backoff_max_set: bool,
    /// Problems found by setters, reported (the first one) by `build`.
    errors: Vec<ConfigError>,
}

impl Default for ProducerConfigBuilder {
    fn default() -> Self {
        Self {
            values: java_defaults(),
            client_id_set: false,
            idempotence_set: false,
            delivery_timeout_set: false,
            reconnect_backoff_set: false,
            reconnect_backoff_max_set: false,
            errors: Vec::new(),
        }
    }
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
        self.client_id_set = true;
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
        self.idempotence_set = true;
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
        self.delivery_timeout_set = true;
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
        self.reconnect_backoff_set = true;
        self
    }

    /// `reconnect.backoff.max.ms`.
    pub fn reconnect_backoff_max(mut self, max: Duration) -> Self {
        self.values.reconnect_backoff_max = max;
        self.reconnect_backoff_max_set = true;
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
        self
    }

    /// One Java property, parsed as [`ProducerConfig::from_properties`]
    /// parses it; a bad key or value is reported by [`build`](Self::build).
    pub fn property(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        if let Err(e) = self.apply(key.as_ref(), value.as_ref()) {
            self.errors.push(e);
        }
        self
    }

    /// Parses one property into the builder.
    fn apply(&mut self, key: &str, raw: &str) -> Result<(), ConfigError> {
        let v = &mut self.values;
        match key {
            BOOTSTRAP_SERVERS => v.bootstrap_servers = java_list(raw),
            CLIENT_ID => {
                v.client_id = java_trim(raw).to_owned();
                self.client_id_set = true;
            }
            ACKS => v.acks = raw.parse()?,
            ENABLE_IDEMPOTENCE => {
                v.enable_idempotence = parse_bool(key, raw)?;
                self.idempotence_set = true;
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
                self.delivery_timeout_set = true;
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
            METADATA_MAX_AGE_MS => v.metadata_max_age = parse_long_ms(key, raw)?,
            METADATA_MAX_IDLE_MS => v.metadata_max_idle = parse_long_ms(key, raw)?,
            RECONNECT_BACKOFF_MS => {
                v.reconnect_backoff = parse_long_ms(key, raw)?;
                self.reconnect_backoff_set = true;
            }
            RECONNECT_BACKOFF_MAX_MS => {
                v.reconnect_backoff_max = parse_long_ms(key, raw)?;
                self.reconnect_backoff_max_set = true;
            }
            CONNECTIONS_MAX_IDLE_MS => {
                // Java takes a negative value as "never close idle
                // connections"; a Duration cannot say that, so it is refused.
                v.connections_max_idle = parse_long_ms(key, raw)?;
            }
            TRANSACTIONAL_ID => v.transactional_id = Some(java_trim(raw).to_owned()),
            TRANSACTION_TIMEOUT_MS => v.transaction_timeout = parse_int_ms(key, raw)?,

            // Accepted for compatibility, checked as Java checks them, no effect.
            KEY_SERIALIZER | VALUE_SERIALIZER => {
                if java_trim(raw).is_empty() {
                    return Err(ConfigError::invalid(key, raw, "expected a class name"));
                }
            }
            SEND_BUFFER_BYTES | RECEIVE_BUFFER_BYTES => {
                if parse_int(key, raw)? < -1 {
                    return Err(ConfigError::invalid(key, raw, "must be at least -1"));
                }
            }
            SECURITY_PROTOCOL => {
                let protocol = java_trim(raw);
                if !protocol.eq_ignore_ascii_case("PLAINTEXT") {
                    let why = if ["SSL", "SASL_PLAINTEXT", "SASL_SSL"]
                        .iter()
                        .any(|p| protocol.eq_ignore_ascii_case(p))
                    {
                        "only PLAINTEXT is supported: TLS and SASL are not implemented yet"
                    } else {
                        "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (only PLAINTEXT is supported)"
                    };
                    return Err(ConfigError::invalid(key, raw, why));
                }
            }
            METADATA_RECOVERY_STRATEGY => {
                let strategy = java_trim(raw);
                if !(strategy.eq_ignore_ascii_case("rebootstrap")
                    || strategy.eq_ignore_ascii_case("none"))
                {
                    return Err(ConfigError::invalid(
                        key,
                        raw,
                        "expected rebootstrap or none",
                    ));
                }
            }
            SOCKET_CONNECTION_SETUP_TIMEOUT_MS | SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS => {
                parse_long(key, raw)?;
            }
            _ => {
                return Err(ConfigError::new(
                    [key],
                    format!("unknown producer configuration key {key:?}"),
                ))
            }
        }
        Ok(())
    }

    /// Validates the settings with Java's rules and returns the effective
    /// configuration.
    ///
    /// # Errors
    /// The first problem found (see the [module documentation](self)).
    pub fn build(&self) -> Result<ProducerConfig, ConfigError> {
        if let Some(first) = self.errors.first() {
            return Err(first.clone());
        }
        let mut c = self.values.clone();

        check_ranges(&c)?;
        c.bootstrap_servers = check_bootstrap_servers(&c.bootstrap_servers)?;
        if c.transactional_id.as_deref() == Some("") {
            return Err(ConfigError::invalid(
                TRANSACTIONAL_ID,
                "",
                "must be non-empty when set",
            ));
        }

        // CommonClientConfigs.postProcessReconnectBackoffConfigs.
        if self.reconnect_backoff_set && !self.reconnect_backoff_max_set {
            c.reconnect_backoff_max = c.reconnect_backoff;
        }

        self.apply_idempotence_rules(&mut c)?;
        self.apply_delivery_timeout_rule(&mut c)?;

        // ProducerConfig.maybeOverrideClientId, last so that invalid
        // configurations take no number.
        if !self.client_id_set {
            c.client_id = match &c.transactional_id {
                Some(id) => format!("producer-{id}"),
                None => format!(
                    "producer-{}",
                    CLIENT_ID_SEQUENCE.fetch_add(1, Ordering::Relaxed)
                ),
            };
        }
        Ok(c)
    }

    /// Java's `postProcessAndValidateIdempotenceConfigs`.
    fn apply_idempotence_rules(&self, c: &mut ProducerConfig) -> Result<(), ConfigError> {
        let explicit = self.idempotence_set;
        // Why a default idempotence was turned off, for the transactional
        // error below.
        let mut turned_off_by = None;
        if c.enable_idempotence {
            if c.retries == 0 {
                if explicit {
                    return Err(ConfigError::new(
                        [ENABLE_IDEMPOTENCE, RETRIES],
                        format!(
                            "{ENABLE_IDEMPOTENCE}=true requires {RETRIES} > 0 (got {RETRIES}=0)"
                        ),
                    ));
                }
                turned_off_by = Some((RETRIES, format!("{RETRIES}=0")));
            }
            if c.acks != Acks::All {
                if explicit {
                    return Err(ConfigError::new(
                        [ENABLE_IDEMPOTENCE, ACKS],
                        format!(
                            "{ENABLE_IDEMPOTENCE}=true requires {ACKS}=all (got {ACKS}={})",
                            c.acks
                        ),
                    ));
                }
                turned_off_by = Some((ACKS, format!("{ACKS}={}", c.acks)));
            }
            // Java checks this with idempotence on by default too, and does
            // not turn idempotence off for it.
            let in_flight = c.max_in_flight_requests_per_connection;
            if in_flight > MAX_IN_FLIGHT_FOR_IDEMPOTENCE {
                let why = if explicit {
                    format!("{ENABLE_IDEMPOTENCE}=true")
                } else {
                    format!(
                        "the idempotent producer ({ENABLE_IDEMPOTENCE} defaults to true; set it \
                         to false to allow more)"
                    )
                };
                return Err(ConfigError::new(
                    [ENABLE_IDEMPOTENCE, MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION],
                    format!(
                        "{why} requires {MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION} <= \
                         {MAX_IN_FLIGHT_FOR_IDEMPOTENCE} (got {in_flight})"
                    ),
                ));
            }
        }
        if turned_off_by.is_some() {
            c.enable_idempotence = false;
        }

        if c.transactional_id.is_some() && !c.enable_idempotence {
            return Err(match turned_off_by {
                Some((key, setting)) => ConfigError::new(
                    [TRANSACTIONAL_ID, ENABLE_IDEMPOTENCE, key],
                    format!(
                        "{TRANSACTIONAL_ID} requires idempotence, which {setting} turned off \
                         ({ENABLE_IDEMPOTENCE} needs {ACKS}=all and {RETRIES} > 0)"
                    ),
                ),
                None => ConfigError::new(
                    [TRANSACTIONAL_ID, ENABLE_IDEMPOTENCE],
                    format!("{TRANSACTIONAL_ID} requires {ENABLE_IDEMPOTENCE}=true (got false)"),
                ),
            });
        }
        Ok(())
    }

    /// Java's `KafkaProducer.configureDeliveryTimeout`.
    fn apply_delivery_timeout_rule(&self, c: &mut ProducerConfig) -> Result<(), ConfigError> {
        // Java adds them as ints, linger capped at Integer.MAX_VALUE first.
        let int_max = Duration::from_millis(i32::MAX as u64);
        let minimum = (c.linger.min(int_max) + c.request_timeout).min(int_max);
        if c.delivery_timeout < minimum {
            if self.delivery_timeout_set {
                return Err(ConfigError::new(
                    [DELIVERY_TIMEOUT_MS, LINGER_MS, REQUEST_TIMEOUT_MS],
                    format!(
                        "{DELIVERY_TIMEOUT_MS} ({} ms) must be at least {LINGER_MS} + \
                         {REQUEST_TIMEOUT_MS} ({} ms)",
                        c.delivery_timeout.as_millis(),
                        minimum.as_millis()
                    ),
                ));
            }
            c.delivery_timeout = minimum;
        }
        Ok(())
    }
}

/// Java's range checks, for values that came from the typed setters (the
/// property parser already refused negative numbers).
fn check_ranges(c: &ProducerConfig) -> Result<(), ConfigError> {
    const INT_MAX: u128 = i32::MAX as u128;
    const LONG_MAX: u128 = i64::MAX as u128;

    let sizes: [(&str, usize, usize, u128); 4] = [
        (BATCH_SIZE, c.batch_size, 0, INT_MAX),
        (MAX_REQUEST_SIZE, c.max_request_size, 0, INT_MAX),
        (
            MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,
            c.max_in_flight_requests_per_connection,
            1,
            INT_MAX,
        ),
        (BUFFER_MEMORY, c.buffer_memory, 0, LONG_MAX),
    ];
    for (key, value, min, max) in sizes {
        if value < min || value as u128 > max {
            return Err(ConfigError::invalid(
                key,
                value,
                format_args!("must be between {min} and {max}"),
            ));
        }
    }
    if u128::from(c.retries) > INT_MAX {
        return Err(ConfigError::invalid(
            RETRIES,
            c.retries,
            format_args!("must be between 0 and {INT_MAX}"),
        ));
    }

    let durations: [(&str, Duration, u128, u128); 13] = [
        (RETRY_BACKOFF_MS, c.retry_backoff, 0, LONG_MAX),
        (RETRY_BACKOFF_MAX_MS, c.retry_backoff_max, 0, LONG_MAX),
        (DELIVERY_TIMEOUT_MS, c.delivery_timeout, 0, INT_MAX),
        (REQUEST_TIMEOUT_MS, c.request_timeout, 0, INT_MAX),
        (LINGER_MS, c.linger, 0, LONG_MAX),
        (MAX_BLOCK_MS, c.max_block, 0, LONG_MAX),
        (
            PARTITIONER_AVAILABILITY_TIMEOUT_MS,
            c.partitioner_availability_timeout,
            0,
            LONG_MAX,
        ),
        (METADATA_MAX_AGE_MS, c.metadata_max_age, 0, LONG_MAX),
        (METADATA_MAX_IDLE_MS, c.metadata_max_idle, 5000, LONG_MAX),
        (RECONNECT_BACKOFF_MS, c.reconnect_backoff, 0, LONG_MAX),
        (
            RECONNECT_BACKOFF_MAX_MS,
            c.reconnect_backoff_max,
            0,
            LONG_MAX,
        ),
        (CONNECTIONS_MAX_IDLE_MS, c.connections_max_idle, 0, LONG_MAX),
        (TRANSACTION_TIMEOUT_MS, c.transaction_timeout, 0, INT_MAX),
    ];
    for (key, value, min_ms, max_ms) in durations {
        let ms = value.as_millis();
        if ms < min_ms || ms > max_ms {
            return Err(ConfigError::invalid(
                key,
                ms,
                format_args!("must be between {min_ms} and {max_ms} ms"),
            ));
        }
    }

    let levels = [
        (
            COMPRESSION_GZIP_LEVEL,
            c.compression_gzip_level,
            "1..=9 or -1",
        ),
        (COMPRESSION_LZ4_LEVEL, c.compression_lz4_level, "1..=17"),
        (
            COMPRESSION_ZSTD_LEVEL,
            c.compression_zstd_level,
            "-131072..=22",
        ),
    ];
    for (key, level, valid) in levels {
        let ok = match key {
            COMPRESSION_GZIP_LEVEL => level == -1 || (1..=9).contains(&level),
            COMPRESSION_LZ4_LEVEL => (1..=17).contains(&level),
            _ => (-131_072..=22).contains(&level),
        };
        if !ok {
            return Err(ConfigError::invalid(
                key,
                level,
                format_args!("must be {valid}"),
            ));
        }
    }
    Ok(())
}

/// `bootstrap.servers`: drops empty entries (as Java does) and checks that
/// each other one is `host:port` or `[ipv6]:port`.
fn check_bootstrap_servers(entries: &[String]) -> Result<Vec<String>, ConfigError> {
    let servers: Vec<String> = entries.iter().filter(|e| !e.is_empty()).cloned().collect();
    for entry in &servers {
        if !is_host_port(entry) {
            return Err(ConfigError::invalid(
                BOOTSTRAP_SERVERS,
                entry,
                "expected host:port or [ipv6-address]:port",
            ));
        }
    }
    if servers.is_empty() {
        return Err(ConfigError::new(
            [BOOTSTRAP_SERVERS],
            format!("{BOOTSTRAP_SERVERS} is required: at least one host:port to connect to"),
        ));
    }
    Ok(servers)
}

/// `host:port` with the characters Java's `Utils.getHost` accepts in a host
/// (letters, digits, `-`, `%`, `.`, `_`, `:`), the host optionally in
/// brackets, and a port that fits in 16 bits.
fn is_host_port(entry: &str) -> bool {
    let Some((host, port)) = entry.rsplit_once(':') else {
        return false;
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '%' | '.' | '_' | ':'));
    let port_ok =
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok();
    host_ok && port_ok
}

/// Java's `String.trim`: strips every character up to U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `LIST` parsing: trimmed; empty means no entries; else split on
/// commas with the whitespace around them removed.
fn java_list(s: &str) -> Vec<String> {
    let s = java_trim(s);
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',')
        .map(|entry| java_trim(entry).to_owned())
        .collect()
}

fn parse_bool(key: &str, raw: &str) -> Result<bool, ConfigError> {
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
fn parse_long_ms(key: &str, raw: &str) -> Result<Duration, ConfigError> {
    let ms = parse_long(key, raw)?;
    u64::try_from(ms)
        .map(Duration::from_millis)
        .map_err(|_| ConfigError::invalid(key, raw, "must be at least 0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Properties with the required bootstrap servers plus `extra`.
    fn props(extra: &[(&str, &str)]) -> Result<ProducerConfig, ConfigError> {
        let mut all = vec![(BOOTSTRAP_SERVERS, "localhost:9092")];
        all.extend_from_slice(extra);
        ProducerConfig::from_properties(all)
    }

    fn err(extra: &[(&str, &str)]) -> ConfigError {
        props(extra).expect_err("expected a configuration error")
    }

    /// The error names every key of `keys`, in `keys` and in the message.
    fn assert_names(e: &ConfigError, keys: &[&str]) {
        for key in keys {
            assert!(e.keys.iter().any(|k| k == key), "{key} not in {:?}", e.keys);
            assert!(e.message.contains(key), "{key} not in {:?}", e.message);
        }
    }

    #[test]
    fn defaults_are_javas() {
        let c = props(&[]).unwrap();
        let expected = ProducerConfig {
            bootstrap_servers: vec!["localhost:9092".into()],
            client_id: c.client_id.clone(),
            acks: Acks::All,
            enable_idempotence: true,
            max_in_flight_requests_per_connection: 5,
            retries: 2_147_483_647,
            retry_backoff: ms(100),
            retry_backoff_max: ms(1000),
            delivery_timeout: ms(120_000),
            request_timeout: ms(30_000),
            linger: ms(5),
            batch_size: 16_384,
            buffer_memory: 33_554_432,
            max_block: ms(60_000),
            max_request_size: 1_048_576,
            compression_type: CompressionType::None,
            compression_gzip_level: -1,
            compression_lz4_level: 9,
            compression_zstd_level: 3,
            partitioner: PartitionerKind::BuiltIn,
            partitioner_adaptive_partitioning_enable: true,
            partitioner_availability_timeout: Duration::ZERO,
            partitioner_ignore_keys: false,
            metadata_max_age: ms(300_000),
            metadata_max_idle: ms(300_000),
            reconnect_backoff: ms(50),
            reconnect_backoff_max: ms(1000),
            connections_max_idle: ms(540_000),
            transactional_id: None,
            transaction_timeout: ms(60_000),
        };
        assert_eq!(c, expected);
        assert!(c.client_id.starts_with("producer-"), "{}", c.client_id);
        assert_eq!(c.codec().unwrap(), None);
        assert_eq!(c.compression_level(), None);
    }

    #[test]
    fn builder_defaults_equal_property_defaults() {
        let a = props(&[(CLIENT_ID, "x")]).unwrap();
        let b = ProducerConfig::builder()
            .bootstrap_servers("localhost:9092")
            .client_id("x")
            .build()
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn default_client_ids_count_up() {
        let n = |c: ProducerConfig| -> u64 {
            c.client_id
                .strip_prefix("producer-")
                .unwrap()
                .parse()
                .unwrap()
        };
        // Other tests take numbers concurrently: only the order is certain.
        let first = n(props(&[]).unwrap());
        let second = n(props(&[]).unwrap());
        assert!(first >= 1 && second > first, "{first} {second}");
        // A failed validation takes no number... (nothing to observe but
        // that it fails), and an explicit id takes none either.
        assert_eq!(props(&[(CLIENT_ID, " app-1 ")]).unwrap().client_id, "app-1");
        assert_eq!(props(&[(CLIENT_ID, "")]).unwrap().client_id, "");
    }

    #[test]
    fn transactional_client_id() {
        let c = props(&[(TRANSACTIONAL_ID, "orders-tx")]).unwrap();
        assert_eq!(c.client_id, "producer-orders-tx");
        assert_eq!(c.transactional_id.as_deref(), Some("orders-tx"));
        assert!(c.enable_idempotence);
    }

    #[test]
    fn every_key_is_parsed() {
        let c = ProducerConfig::from_properties([
            (BOOTSTRAP_SERVERS, " a:1 , b:2 ,,[::1]:3 "),
            (CLIENT_ID, "app"),
            (ACKS, "1"),
            (ENABLE_IDEMPOTENCE, "FALSE"),
            (MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "10"),
            (RETRIES, "3"),
            (RETRY_BACKOFF_MS, "200"),
            (RETRY_BACKOFF_MAX_MS, "2000"),
            (DELIVERY_TIMEOUT_MS, "90000"),
            (REQUEST_TIMEOUT_MS, "20000"),
            (LINGER_MS, "+7"),
            (BATCH_SIZE, "32768"),
            (BUFFER_MEMORY, "1000000"),
            (MAX_BLOCK_MS, "1000"),
            (MAX_REQUEST_SIZE, "2097152"),
            (COMPRESSION_TYPE, " zstd "),
            (COMPRESSION_GZIP_LEVEL, "9"),
            (COMPRESSION_LZ4_LEVEL, "17"),
            (COMPRESSION_ZSTD_LEVEL, "-5"),
            (PARTITIONER_CLASS, ROUND_ROBIN_PARTITIONER_CLASS),
            (PARTITIONER_ADAPTIVE_PARTITIONING_ENABLE, "false"),
            (PARTITIONER_AVAILABILITY_TIMEOUT_MS, "150"),
            (PARTITIONER_IGNORE_KEYS, "True"),
            (METADATA_MAX_AGE_MS, "60000"),
            (METADATA_MAX_IDLE_MS, "5000"),
            (RECONNECT_BACKOFF_MS, "20"),
            (RECONNECT_BACKOFF_MAX_MS, "500"),
            (CONNECTIONS_MAX_IDLE_MS, "0"),
            (TRANSACTION_TIMEOUT_MS, "30000"),
            (
                KEY_SERIALIZER,
                "org.apache.kafka.common.serialization.StringSerializer",
            ),
            (
                VALUE_SERIALIZER,
                "org.apache.kafka.common.serialization.ByteArraySerializer",
            ),
            (SEND_BUFFER_BYTES, "-1"),
            (RECEIVE_BUFFER_BYTES, "65536"),
            (SECURITY_PROTOCOL, "plaintext"),
            (METADATA_RECOVERY_STRATEGY, "NONE"),
            (SOCKET_CONNECTION_SETUP_TIMEOUT_MS, "-1"),
            (SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS, "30000"),
        ])
        .unwrap();
        assert_eq!(c.bootstrap_servers, ["a:1", "b:2", "[::1]:3"]);
        assert_eq!(c.client_id, "app");
        assert_eq!(c.acks, Acks::One);
        assert!(!c.enable_idempotence);
        assert_eq!(c.max_in_flight_requests_per_connection, 10);
        assert_eq!(c.retries, 3);
        assert_eq!(c.retry_backoff, ms(200));
        assert_eq!(c.retry_backoff_max, ms(2000));
        assert_eq!(c.delivery_timeout, ms(90_000));
        assert_eq!(c.request_timeout, ms(20_000));
        assert_eq!(c.linger, ms(7));
        assert_eq!(c.batch_size, 32_768);
        assert_eq!(c.buffer_memory, 1_000_000);
        assert_eq!(c.max_block, ms(1000));
        assert_eq!(c.max_request_size, 2_097_152);
        assert_eq!(c.compression_type, CompressionType::Zstd);
        assert_eq!(c.compression_gzip_level, 9);
        assert_eq!(c.compression_lz4_level, 17);
        assert_eq!(c.compression_zstd_level, -5);
        assert_eq!(c.compression_level(), Some(-5));
        assert_eq!(c.partitioner, PartitionerKind::RoundRobin);
        assert!(!c.partitioner_adaptive_partitioning_enable);
        assert_eq!(c.partitioner_availability_timeout, ms(150));
        assert!(c.partitioner_ignore_keys);
        assert_eq!(c.metadata_max_age, ms(60_000));
        assert_eq!(c.metadata_max_idle, ms(5000));
        assert_eq!(c.reconnect_backoff, ms(20));
        assert_eq!(c.reconnect_backoff_max, ms(500));
        assert_eq!(c.connections_max_idle, Duration::ZERO);
        assert_eq!(c.transaction_timeout, ms(30_000));
        assert_eq!(c.transactional_id, None);
    }

    #[test]
    fn the_same_settings_through_the_builder() {
        let from_props = ProducerConfig::from_properties([
            (BOOTSTRAP_SERVERS, "a:1,b:2"),
            (CLIENT_ID, "app"),
            (ACKS, "all"),
            (ENABLE_IDEMPOTENCE, "true"),
            (MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "3"),
            (LINGER_MS, "20"),
            (COMPRESSION_TYPE, "lz4"),
            (COMPRESSION_LZ4_LEVEL, "1"),
            (TRANSACTIONAL_ID, "tx"),
            (RECONNECT_BACKOFF_MS, "300"),
        ])
        .unwrap();
        let built = ProducerConfig::builder()
            .bootstrap_servers("a:1,b:2")
            .client_id("app")
            .acks(Acks::All)
            .enable_idempotence(true)
            .max_in_flight_requests_per_connection(3)
            .linger(ms(20))
            .compression(CompressionType::Lz4, Some(1))
            .transactional_id("tx")
            .reconnect_backoff(ms(300))
            .build()
            .unwrap();
        assert_eq!(from_props, built);
        assert_eq!(built.reconnect_backoff_max, ms(300));
    }

    #[test]
    fn builder_property_mixes_with_setters() {
        let c = ProducerConfig::builder()
            .property(BOOTSTRAP_SERVERS, "a:1")
            .linger(ms(1))
            .property(LINGER_MS, "9")
            .build()
            .unwrap();
        assert_eq!(c.linger, ms(9));
        let e = ProducerConfig::builder()
            .bootstrap_servers("a:1")
            .property("lingerms", "9")
            .build()
            .unwrap_err();
        assert_names(&e, &["lingerms"]);
    }

    #[test]
    fn a_key_given_twice_keeps_the_last_value() {
        let c = props(&[(LINGER_MS, "1"), (LINGER_MS, "2")]).unwrap();
        assert_eq!(c.linger, ms(2));
    }

    #[test]
    fn acks_values() {
        for (value, acks) in [
            ("all", Acks::All),
            (" all ", Acks::All),
            ("-1", Acks::All),
            ("1", Acks::One),
            ("0", Acks::Zero),
        ] {
            assert_eq!(props(&[(ACKS, value)]).unwrap().acks, acks, "{value}");
        }
        for bad in ["ALL", "2", "", "one"] {
            let e = err(&[(ACKS, bad)]);
            assert_eq!(e.keys, [ACKS]);
            assert!(e.message.contains(&format!("{bad:?}")), "{}", e.message);
        }
        assert_eq!(Acks::All.as_i16(), -1);
        assert_eq!(Acks::One.as_i16(), 1);
        assert_eq!(Acks::Zero.as_i16(), 0);
        assert_eq!(Acks::All.to_string(), "all");
        assert_eq!(Acks::default(), Acks::All);
    }

    #[test]
    fn bad_values_name_the_key_and_the_value() {
        let cases: &[(&str, &str)] = &[
            (LINGER_MS, "7.0"),
            (LINGER_MS, "-1"),
            (LINGER_MS, "9223372036854775808"),
            (REQUEST_TIMEOUT_MS, "9999999999"),
            (DELIVERY_TIMEOUT_MS, "-5"),
            (BATCH_SIZE, "-1"),
            (BUFFER_MEMORY, "-1"),
            (MAX_REQUEST_SIZE, "big"),
            (RETRIES, "-1"),
            (ENABLE_IDEMPOTENCE, "yes"),
            (PARTITIONER_IGNORE_KEYS, "1"),
            (COMPRESSION_TYPE, "GZIP"),
            (COMPRESSION_TYPE, "brotli"),
            (CONNECTIONS_MAX_IDLE_MS, "-1"),
            (TRANSACTION_TIMEOUT_MS, "-1"),
            (SEND_BUFFER_BYTES, "-2"),
            (RECEIVE_BUFFER_BYTES, "x"),
            (METADATA_RECOVERY_STRATEGY, "sometimes"),
            (SOCKET_CONNECTION_SETUP_TIMEOUT_MS, "1s"),
            (KEY_SERIALIZER, " "),
            (
                PARTITIONER_CLASS,
                "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
            ),
            (PARTITIONER_CLASS, "com.example.MyPartitioner"),
        ];
        for &(key, value) in cases {
            let e = err(&[(key, value)]);
            assert_eq!(e.keys, [key], "{key}={value}: {e}");
            assert_names(&e, &[key]);
            assert!(
                e.message.contains(&format!("{value:?}")),
                "{key}={value}: {e}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        for key in [
            "lingerms",
            "linger.MS",
            "transaction.two.phase.commit.enable",
            "sasl.mechanism",
            "",
        ] {
            let e = err(&[(key, "1")]);
            assert_eq!(e.keys, [key]);
            assert!(e.message.contains(&format!("{key:?}")), "{e}");
        }
    }

    #[test]
    fn only_plaintext_is_accepted() {
        assert!(props(&[(SECURITY_PROTOCOL, " PLAINTEXT ")]).is_ok());
        for p in ["SSL", "sasl_ssl", "SASL_PLAINTEXT"] {
            let e = err(&[(SECURITY_PROTOCOL, p)]);
            assert_names(&e, &[SECURITY_PROTOCOL]);
            assert!(e.message.contains("not implemented"), "{e}");
        }
        let e = err(&[(SECURITY_PROTOCOL, "TLS")]);
        assert_names(&e, &[SECURITY_PROTOCOL]);
    }

    #[test]
    fn bootstrap_servers_are_required_and_checked() {
        for value in ["", "  ", ",", " , "] {
            let e = ProducerConfig::from_properties([(BOOTSTRAP_SERVERS, value)]).unwrap_err();
            assert_eq!(e.keys, [BOOTSTRAP_SERVERS], "{value:?}");
        }
        let none: [(&str, &str); 0] = [];
        let e = ProducerConfig::from_properties(none).unwrap_err();
        assert_names(&e, &[BOOTSTRAP_SERVERS]);
        assert!(ProducerConfig::builder().build().is_err());

        for bad in [
            "localhost",
            "localhost:",
            ":9092",
            "host:port",
            "host:65536",
            "a b:1",
            "PLAINTEXT://a:1",
        ] {
            let e = ProducerConfig::from_properties([(BOOTSTRAP_SERVERS, bad)]).unwrap_err();
            assert_eq!(e.keys, [BOOTSTRAP_SERVERS], "{bad}");
            assert!(e.message.contains(bad), "{e}");
        }
        for good in [
            "localhost:9092",
            "10.0.0.1:1",
            "[::1]:9092",
            "::1:9092",
            "my_host.example-1.com:65535",
        ] {
            let c = ProducerConfig::from_properties([(BOOTSTRAP_SERVERS, good)]).unwrap();
            assert_eq!(c.bootstrap_servers, [good]);
        }
    }

    #[test]
    fn idempotence_off_silently_when_not_explicit() {
        let c = props(&[(ACKS, "1")]).unwrap();
        assert!(!c.enable_idempotence);
        let c = props(&[(ACKS, "0")]).unwrap();
        assert!(!c.enable_idempotence);
        let c = props(&[(RETRIES, "0")]).unwrap();
        assert!(!c.enable_idempotence);
        let c = ProducerConfig::builder()
            .bootstrap_servers("a:1")
            .acks(Acks::One)
            .build()
            .unwrap();
        assert!(!c.enable_idempotence);
    }

    #[test]
    fn explicit_idempotence_conflicts_name_both_keys() {
        let e = err(&[(ENABLE_IDEMPOTENCE, "true"), (ACKS, "1")]);
        assert_eq!(e.keys, [ENABLE_IDEMPOTENCE, ACKS]);
        assert_names(&e, &[ENABLE_IDEMPOTENCE, ACKS]);

        let e = err(&[(ENABLE_IDEMPOTENCE, "true"), (RETRIES, "0")]);
        assert_eq!(e.keys, [ENABLE_IDEMPOTENCE, RETRIES]);
        assert_names(&e, &[ENABLE_IDEMPOTENCE, RETRIES]);

        let e = err(&[
            (ENABLE_IDEMPOTENCE, "true"),
            (MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "6"),
        ]);
        assert_names(
            &e,
            &[ENABLE_IDEMPOTENCE, MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION],
        );

        let e = ProducerConfig::builder()
            .bootstrap_servers("a:1")
            .enable_idempotence(true)
            .acks(Acks::Zero)
            .build()
            .unwrap_err();
        assert_names(&e, &[ENABLE_IDEMPOTENCE, ACKS]);
    }

    #[test]
    fn max_in_flight_above_5_needs_idempotence_off_explicitly() {
        // As in Java 4.1: the default idempotence is not turned off for it...
        let e = err(&[(MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "6")]);
        assert_names(
            &e,
            &[ENABLE_IDEMPOTENCE, MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION],
        );
        // ...not even when acks or retries turn it off.
        assert!(props(&[(ACKS, "1"), (MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "10")]).is_err());
        assert!(props(&[
            (RETRIES, "0"),
            (MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "10")
        ])
        .is_err());
        let c = props(&[
            (ENABLE_IDEMPOTENCE, "false"),
            (MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "10"),
        ])
        .unwrap();
        assert_eq!(c.max_in_flight_requests_per_connection, 10);
        assert!(
            props(&[(MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5")])
                .unwrap()
                .enable_idempotence
        );
        let e = err(&[(MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "0")]);
        assert_names(&e, &[MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION]);
    }

    #[test]
    fn transactional_id_requires_idempotence() {
        let e = err(&[(TRANSACTIONAL_ID, "tx"), (ENABLE_IDEMPOTENCE, "false")]);
        assert_eq!(e.keys, [TRANSACTIONAL_ID, ENABLE_IDEMPOTENCE]);
        assert_names(&e, &[TRANSACTIONAL_ID, ENABLE_IDEMPOTENCE]);

        let e = err(&[(TRANSACTIONAL_ID, "tx"), (ACKS, "1")]);
        assert_names(&e, &[TRANSACTIONAL_ID, ENABLE_IDEMPOTENCE, ACKS]);

        let e = err(&[(TRANSACTIONAL_ID, "tx"), (RETRIES, "0")]);
        assert_names(&e, &[TRANSACTIONAL_ID, ENABLE_IDEMPOTENCE, RETRIES]);

        for empty in ["", "  "] {
            let e = err(&[(TRANSACTIONAL_ID, empty)]);
            assert_eq!(e.keys, [TRANSACTIONAL_ID]);
        }
        assert!(ProducerConfig::builder()
            .bootstrap_servers("a:1")
            .transactional_id("")
            .build()
            .is_err());
    }

    #[test]
    fn delivery_timeout_is_raised_unless_explicit() {
        // Not set: raised to linger + request timeout, as Java does.
        let c = props(&[(LINGER_MS, "100000"), (REQUEST_TIMEOUT_MS, "30000")]).unwrap();
        assert_eq!(c.delivery_timeout, ms(130_000));
        // Large enough: kept.
        let c = props(&[(LINGER_MS, "10")]).unwrap();
        assert_eq!(c.delivery_timeout, ms(120_000));
        // Set explicitly and too small: an error naming the three keys.
        let e = err(&[(DELIVERY_TIMEOUT_MS, "1000")]);
        assert_eq!(e.keys, [DELIVERY_TIMEOUT_MS, LINGER_MS, REQUEST_TIMEOUT_MS]);
        assert_names(&e, &[DELIVERY_TIMEOUT_MS, LINGER_MS, REQUEST_TIMEOUT_MS]);
        // Exactly the sum is fine.
        let c = props(&[(DELIVERY_TIMEOUT_MS, "30005")]).unwrap();
        assert_eq!(c.delivery_timeout, ms(30_005));
        // Java sums as ints: a huge linger caps the minimum at i32::MAX ms.
        let c = props(&[(LINGER_MS, "9000000000000")]).unwrap();
        assert_eq!(c.delivery_timeout, ms(i32::MAX as u64));
        // The builder's explicit setter counts as explicit too.
        assert!(ProducerConfig::builder()
            .bootstrap_servers("a:1")
            .delivery_timeout(ms(10))
            .build()
            .is_err());
    }

    #[test]
    fn reconnect_backoff_without_max_disables_growth() {
        let c = props(&[(RECONNECT_BACKOFF_MS, "2000")]).unwrap();
        assert_eq!(c.reconnect_backoff_max, ms(2000));
        let c = props(&[
            (RECONNECT_BACKOFF_MS, "20"),
            (RECONNECT_BACKOFF_MAX_MS, "700"),
        ])
        .unwrap();
        assert_eq!(c.reconnect_backoff_max, ms(700));
        let c = props(&[(RECONNECT_BACKOFF_MAX_MS, "700")]).unwrap();
        assert_eq!(
            (c.reconnect_backoff, c.reconnect_backoff_max),
            (ms(50), ms(700))
        );
    }

    #[test]
    fn compression_levels_are_range_checked() {
        for (key, good, bad) in [
            (
                COMPRESSION_GZIP_LEVEL,
                &["-1", "1", "9"][..],
                &["0", "10", "-2"][..],
            ),
            (COMPRESSION_LZ4_LEVEL, &["1", "17"], &["0", "18", "-1"]),
            (
                COMPRESSION_ZSTD_LEVEL,
                &["-131072", "0", "22"],
                &["-131073", "23"],
            ),
        ] {
            for v in good {
                assert!(props(&[(key, v)]).is_ok(), "{key}={v}");
            }
            for v in bad {
                let e = err(&[(key, v)]);
                assert_eq!(e.keys, [key], "{key}={v}");
                assert!(e.message.contains(v), "{e}");
            }
        }
        let e = ProducerConfig::builder()
            .bootstrap_servers("a:1")
            .compression(CompressionType::Gzip, Some(0))
            .build()
            .unwrap_err();
        assert_names(&e, &[COMPRESSION_GZIP_LEVEL]);
        let e = ProducerConfig::builder()
            .bootstrap_servers("a:1")
            .compression(CompressionType::Snappy, Some(3))
            .build()
            .unwrap_err();
        assert_names(&e, &[COMPRESSION_TYPE]);
    }

    #[test]
    fn codec_uses_the_configured_level() {
        // The codecs exist only with kafka-compression's cargo features.
        if !CompressionType::ALL.iter().all(|t| t.is_supported()) {
            return;
        }
        let c = props(&[(COMPRESSION_TYPE, "gzip"), (COMPRESSION_GZIP_LEVEL, "4")]).unwrap();
        let codec = c.codec().unwrap().expect("gzip has a codec");
        assert_eq!(codec.level(), Some(4));
        let c = props(&[(COMPRESSION_TYPE, "snappy")]).unwrap();
        assert_eq!(c.codec().unwrap().unwrap().level(), None);
        let c = props(&[(COMPRESSION_TYPE, "zstd")]).unwrap();
        assert_eq!(c.codec().unwrap().unwrap().level(), Some(3));
        let c = props(&[(COMPRESSION_TYPE, "lz4")]).unwrap();
        assert_eq!(c.codec().unwrap().unwrap().level(), Some(9));
        // A level broken after validation is reported by codec().
        let mut c = props(&[(COMPRESSION_TYPE, "lz4")]).unwrap();
        c.compression_lz4_level = 99;
        let e = c.codec().unwrap_err();
        assert_names(&e, &[COMPRESSION_TYPE, COMPRESSION_LZ4_LEVEL]);
    }

    #[test]
    fn builder_values_outside_javas_types_are_errors() {
        let base = || ProducerConfig::builder().bootstrap_servers("a:1");
        let cases: Vec<(ProducerConfigBuilder, &str)> = vec![
            (base().retries(u32::MAX), RETRIES),
            (base().batch_size(1 << 31), BATCH_SIZE),
            (
                base().max_in_flight_requests_per_connection(0),
                MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,
            ),
            (base().request_timeout(ms(1 << 31)), REQUEST_TIMEOUT_MS),
            (
                base().transaction_timeout(ms(1 << 31)),
                TRANSACTION_TIMEOUT_MS,
            ),
            (base().metadata_max_idle(ms(4999)), METADATA_MAX_IDLE_MS),
            (base().linger(Duration::MAX), LINGER_MS),
            (base().compression_lz4_level(0), COMPRESSION_LZ4_LEVEL),
        ];
        for (builder, key) in cases {
            let e = builder.build().unwrap_err();
            assert_eq!(e.keys, [key], "{e}");
            assert_names(&e, &[key]);
        }
        let e = err(&[(METADATA_MAX_IDLE_MS, "4999")]);
        assert_names(&e, &[METADATA_MAX_IDLE_MS]);
    }

    /// Every key the parser knows, for the property test below.
    const KNOWN_KEYS: &[&str] = &[
        BOOTSTRAP_SERVERS,
        CLIENT_ID,
        ACKS,
        ENABLE_IDEMPOTENCE,
        MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,
        RETRIES,
        RETRY_BACKOFF_MS,
        RETRY_BACKOFF_MAX_MS,
        DELIVERY_TIMEOUT_MS,
        REQUEST_TIMEOUT_MS,
        LINGER_MS,
        BATCH_SIZE,
        BUFFER_MEMORY,
        MAX_BLOCK_MS,
        MAX_REQUEST_SIZE,
        COMPRESSION_TYPE,
        COMPRESSION_GZIP_LEVEL,
        COMPRESSION_LZ4_LEVEL,
        COMPRESSION_ZSTD_LEVEL,
        PARTITIONER_CLASS,
        PARTITIONER_ADAPTIVE_PARTITIONING_ENABLE,
        PARTITIONER_AVAILABILITY_TIMEOUT_MS,
        PARTITIONER_IGNORE_KEYS,
        METADATA_MAX_AGE_MS,
        METADATA_MAX_IDLE_MS,
        RECONNECT_BACKOFF_MS,
        RECONNECT_BACKOFF_MAX_MS,
        CONNECTIONS_MAX_IDLE_MS,
        TRANSACTIONAL_ID,
        TRANSACTION_TIMEOUT_MS,
        KEY_SERIALIZER,
        VALUE_SERIALIZER,
        SEND_BUFFER_BYTES,
        RECEIVE_BUFFER_BYTES,
        SECURITY_PROTOCOL,
        METADATA_RECOVERY_STRATEGY,
        SOCKET_CONNECTION_SETUP_TIMEOUT_MS,
        SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS,
    ];

    proptest::proptest! {
        /// Any value of any known key either parses or is refused with an
        /// error naming a key; nothing panics.
        #[test]
        fn any_value_parses_or_names_a_key(
            key in proptest::sample::select(KNOWN_KEYS),
            value in "[ -~]{0,12}|[0-9-]{1,20}|(true|false|all|none|gzip)",
        ) {
            match props(&[(key, &value)]) {
                Ok(c) => proptest::prop_assert!(!c.bootstrap_servers.is_empty()),
                Err(e) => {
                    proptest::prop_assert!(!e.keys.is_empty());
                    for k in &e.keys {
                        proptest::prop_assert!(e.message.contains(k.as_str()), "{}", e.message);
                    }
                }
            }
        }
    }

    #[test]
    fn errors_display_their_message() {
        let e = err(&[(LINGER_MS, "soon")]);
        assert_eq!(e.to_string(), e.message);
        assert_eq!(
            e.message,
            "invalid value \"soon\" for linger.ms: not a number of type LONG"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().contains(LINGER_MS));
    }
}
