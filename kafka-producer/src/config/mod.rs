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
//! | `partitioner.rack.aware` | boolean | `false` | [`partitioner_rack_aware`](ProducerConfig::partitioner_rack_aware) |
//! | `client.rack` | string | empty | [`client_rack`](ProducerConfig::client_rack) |
//! | `enable.metrics.push` | boolean | `true` | [`enable_metrics_push`](ProducerConfig::enable_metrics_push): client telemetry (KIP-714), see [`crate::telemetry`] |
//! | `metadata.max.age.ms` | long >= 0 | 300000 | [`metadata_max_age`](ProducerConfig::metadata_max_age) |
//! | `metadata.max.idle.ms` | long >= 5000 | 300000 | [`metadata_max_idle`](ProducerConfig::metadata_max_idle) |
//! | `reconnect.backoff.ms` | long >= 0 | 50 | [`reconnect_backoff`](ProducerConfig::reconnect_backoff) |
//! | `reconnect.backoff.max.ms` | long >= 0 | 1000 | [`reconnect_backoff_max`](ProducerConfig::reconnect_backoff_max) |
//! | `connections.max.idle.ms` | long >= 0 | 540000 | [`connections_max_idle`](ProducerConfig::connections_max_idle) |
//! | `send.buffer.bytes`, `receive.buffer.bytes` | int >= -1 | 131072, 32768 | [`send_buffer_bytes`](ProducerConfig::send_buffer_bytes), [`receive_buffer_bytes`](ProducerConfig::receive_buffer_bytes): the sockets' buffers (-1: the operating system's default) |
//! | `socket.connection.setup.timeout.ms`, `.max.ms` | long >= 0 | 10000, 30000 | [`socket_connection_setup_timeout`](ProducerConfig::socket_connection_setup_timeout): per address tried, doubled per failed attempt up to the max |
//! | `client.dns.lookup` | `use_all_dns_ips`, `resolve_canonical_bootstrap_servers_only` | `use_all_dns_ips` | [`client_dns_lookup`](ProducerConfig::client_dns_lookup): every address of a name tried in turn; with `resolve_canonical_bootstrap_servers_only` the bootstrap addresses are first replaced by their canonical host names (reverse lookups) |
//! | `metadata.recovery.strategy` | `rebootstrap`, `none` (any case) | `rebootstrap` | [`metadata_recovery_strategy`](ProducerConfig::metadata_recovery_strategy): back to `bootstrap.servers` when the known brokers fail (KIP-899) |
//! | `metadata.recovery.rebootstrap.trigger.ms` | long >= 0 | 300000 | [`metadata_recovery_rebootstrap_trigger`](ProducerConfig::metadata_recovery_rebootstrap_trigger): Metadata failing this long rebootstraps (KIP-1102) |
//! | `transactional.id` | non-empty string | unset | [`transactional_id`](ProducerConfig::transactional_id) |
//! | `transaction.timeout.ms` | int >= 0 | 60000 | [`transaction_timeout`](ProducerConfig::transaction_timeout) |
//! | `transaction.two.phase.commit.enable` | boolean | `false` | [`transaction_two_phase_commit_enable`](ProducerConfig::transaction_two_phase_commit_enable) |
//! | `security.protocol` | `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL` (any case) | `PLAINTEXT` | [`security`](ProducerConfig::security) |
//!
//! # TLS and SASL keys
//!
//! Into [`security`](ProducerConfig::security), with Java's names; `ssl.*`
//! keys count only when `security.protocol` is `SSL` or `SASL_SSL`, and
//! `sasl.*` keys only with `SASL_PLAINTEXT` or `SASL_SSL`, as in Java. No
//! value of these keys is ever quoted in an error. Typed, the same is
//! [`ProducerConfigBuilder::security`] (the only way to give OAUTHBEARER
//! tokens from your own [`TokenProvider`](kafka_codec::security::TokenProvider)).
//!
//! | key | values |
//! |---|---|
//! | `ssl.truststore.type`, `ssl.keystore.type` | `PEM` or `PKCS12` (feature `pkcs12`, on by default). `JKS` reads a PKCS12 file (as Java does: keytool writes PKCS12 since Java 9); a true JKS store is an error giving the `keytool` command that converts it. Unset: `PKCS12` when the store has a password, else `PEM` |
//! | `ssl.truststore.location` | a PEM file of one or more CA certificates, or a PKCS12 store |
//! | `ssl.truststore.password`, `ssl.keystore.password` | a PKCS12 store's password (a keystore needs one; a truststore without one is read unchecked, as in Java) |
//! | `ssl.truststore.certificates` | the same, inline. Neither given: the platform's root certificates |
//! | `ssl.keystore.location` | mutual TLS: one PEM file with the client's key (PKCS#8, SEC1 or PKCS#1) and its certificate chain, or a PKCS12 store (its first key and that key's chain) |
//! | `ssl.key.password` | decrypts an encrypted PKCS#8 key (`ENCRYPTED PRIVATE KEY`: PBES2 with AES or 3DES, or PKCS#12's SHA-1 3DES) or a PKCS12 store's key (default: the store's password) |
//! | `ssl.keystore.certificate.chain` + `ssl.keystore.key` | the same, inline (not with `ssl.keystore.location`) |
//! | `ssl.endpoint.identification.algorithm` | `https` (default): the broker's certificate must name the host connected to; empty: not checked (the chain still is) |
//! | `ssl.enabled.protocols` | `TLSv1.2`, `TLSv1.3` (default both) |
//! | `ssl.protocol` | `TLSv1.3`, `TLSv1.2` or `TLS`; accepted, the enabled protocols decide |
//! | `ssl.cipher.suites` | the suites offered, by Java's (IANA) names (`TLS_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`, ...), in order of preference; empty (default): all of rustls's. A suite rustls lacks (CBC, RSA key exchange) is an error naming the supported ones |
//! | `sasl.mechanism` | `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, `OAUTHBEARER`. Java's default `GSSAPI` (Kerberos) is an error saying it is not supported |
//! | `sasl.jaas.config` | the JAAS line, read as Java reads it: `PlainLoginModule` or `ScramLoginModule` with `username` and `password` for PLAIN and SCRAM; `OAuthBearerLoginModule` with `clientId`, `clientSecret`, `scope` and `extension_<name>` for an identity provider, or with `unsecuredLoginStringClaim_sub` (and optionally `unsecuredLoginLifetimeSeconds`, `unsecuredLoginListClaim_scope`, `unsecuredLoginExtension_<name>`) for Kafka's unsecured test tokens |
//! | `sasl.login.callback.handler.class` | empty, or Kafka's `OAuthBearerLoginCallbackHandler` (tokens from `sasl.oauthbearer.token.endpoint.url`, feature `oidc`); other classes are an error naming the Rust way (a `TokenProvider`) |
//! | `sasl.oauthbearer.token.endpoint.url` | the identity provider's token endpoint (`https://`, `http://`) or a token file (`file://`): OAUTHBEARER tokens fetched, kept and refreshed as Java's login does (see [`kafka_codec::security::oidc`]) |
//! | `sasl.oauthbearer.jwt.retriever.class` | Kafka's `DefaultJwtRetriever` (a file for `file://`, else client credentials), `ClientCredentialsJwtRetriever`, `JwtBearerJwtRetriever` (KIP-1139) or `FileJwtRetriever` |
//! | `sasl.oauthbearer.client.credentials.client.id`, `.client.secret`, `sasl.oauthbearer.scope`, `.sub.claim.name`, `.header.urlencode` | the client credentials grant (the JAAS options are the fallback) |
//! | `sasl.oauthbearer.assertion.*` | the jwt-bearer grant's assertion: `.algorithm` (RS256, ES256), `.private.key.file`, `.private.key.passphrase`, `.claim.iss`, `.claim.sub`, `.claim.aud`, `.claim.exp.seconds`, `.claim.nbf.seconds`, `.claim.jti.include`, `.template.file`, or a ready `.file` |
//! | `sasl.login.refresh.window.factor`, `.window.jitter`, `.min.period.seconds`, `.buffer.seconds`, `sasl.login.connect.timeout.ms`, `.read.timeout.ms`, `sasl.login.retry.backoff.ms`, `.max.ms` | when tokens are fetched again, and how the endpoint is called, in Java's ranges |
//! | `sasl.client.callback.handler.class`, `sasl.login.class` | empty, or an error that says why (no Java classes; tokens come from a `TokenProvider`) |
//! | `sasl.kerberos.*`, the broker's token validation keys (`sasl.oauthbearer.jwks.*`, `.expected.*`, ...), Java's TLS engine keys | accepted with a warning: no effect here (no Kerberos; the broker validates tokens; TLS is rustls) |
//!
//! Every other key of Java's producer (kafka-clients 4.4.0 has 120) is in
//! [`java_keys::JAVA_PRODUCER_KEYS`] with what it does here: accepted,
//! checked where Java checks it, with one `warn` line at build saying why
//! it has no effect (say `key.serializer`: serializers are Rust types;
//! `metrics.sample.window.ms`: rates come from once-a-second samples). Keys
//! naming Java classes (`interceptor.classes`, `metric.reporters`,
//! `ssl.engine.factory.class`, ...) take an empty value or Kafka's own classes whose
//! behaviour is built in; another class is an error naming the Rust way
//! (`ProducerConfigBuilder::interceptor`, `Producer::metrics`, ...). Keys of
//! Java's consumer and admin configurations (`group.id`,
//! `session.timeout.ms`, ...) are accepted with a warning, as Java's
//! "supplied but not used", and so are the keys of Confluent's Schema
//! Registry serializers that Confluent Cloud's snippets carry
//! (`schema.registry.url`, `basic.auth.user.info`, `auto.register.schemas`,
//! ...; the warning never shows their values). Any other key is an error naming it, with the
//! nearest known key suggested, so that a typo does not silently leave a
//! default in place.
//!
//! `config.providers` with Kafka's `FileConfigProvider`,
//! `DirectoryConfigProvider` and `EnvVarConfigProvider` resolves
//! `${file:<path>:<key>}`, `${dir:<directory>:<file>}` and
//! `${env:<variable>}` in every other value at build (KIP-297, KIP-887;
//! `allowed.paths` of KIP-993). A missing file, key or variable is an error
//! that quotes no value.
//!
//! ```
//! let config = kafka_producer::ProducerConfig::from_properties([
//!     ("bootstrap.servers", "127.0.0.1:9092"),
//!     ("client.id", "${env:PATH}"), // resolved whatever the order
//!     ("config.providers", "env"),
//!     ("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider"),
//! ])
//! .unwrap();
//! assert_eq!(config.client_id, std::env::var("PATH").unwrap());
//! ```
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
use std::time::Duration;

use kafka_compression::{BuiltinCodec, CompressionType};

mod builder;
pub mod java_keys;
pub mod keys;
mod providers;
mod security;
mod setup_timeout;
#[cfg(test)]
mod tests;
mod validate;

pub use builder::ProducerConfigBuilder;
use keys::*;
pub use setup_timeout::ConnectionSetupTimeout;

/// The `partitioner.class` value that selects [`PartitionerKind::RoundRobin`].
pub const ROUND_ROBIN_PARTITIONER_CLASS: &str =
    "org.apache.kafka.clients.producer.RoundRobinPartitioner";

/// The most requests in flight per connection that idempotence allows: the
/// broker remembers the last 5 batches per producer and partition.
pub const MAX_IN_FLIGHT_FOR_IDEMPOTENCE: usize = 5;

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
    /// `partitioner.rack.aware` (KIP-1123): with `client.rack` set, the
    /// built-in partitioner picks the sticky partition of keyless records
    /// among partitions whose leader is in the client's rack, falling back
    /// to all partitions when none is. No effect on keyed records, on
    /// `partitioner.class` or on a custom partitioner.
    pub partitioner_rack_aware: bool,
    /// `client.rack`: where the client runs, as the brokers' `broker.rack`
    /// names racks (empty: unknown).
    pub client_rack: String,
    /// `enable.metrics.push` (KIP-714): push this producer's metrics to a
    /// broker that asks for them (one whose cluster has a client-metrics
    /// subscription matching this client). Java's default, `true`; a
    /// cluster without a telemetry plugin never asks, and nothing is sent.
    pub enable_metrics_push: bool,
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
    /// `send.buffer.bytes`: the sockets' `SO_SNDBUF` (-1: the operating
    /// system's default).
    pub send_buffer_bytes: i32,
    /// `receive.buffer.bytes`: the sockets' `SO_RCVBUF` (-1: the operating
    /// system's default).
    pub receive_buffer_bytes: i32,
    /// `socket.connection.setup.timeout.ms`: how long one attempt to connect
    /// to an address may take, doubled (+-20% jitter) after each failed
    /// attempt to the broker, up to `socket_connection_setup_timeout_max`.
    pub socket_connection_setup_timeout: Duration,
    /// `socket.connection.setup.timeout.max.ms`.
    pub socket_connection_setup_timeout_max: Duration,
    /// `client.dns.lookup`.
    pub client_dns_lookup: ClientDnsLookup,
    /// `metadata.recovery.strategy` (KIP-899): whether the producer goes
    /// back to `bootstrap.servers` when the brokers it knows fail it.
    pub metadata_recovery_strategy: MetadataRecoveryStrategy,
    /// `metadata.recovery.rebootstrap.trigger.ms` (KIP-1102): how long
    /// Metadata requests may fail before the producer rebootstraps.
    pub metadata_recovery_rebootstrap_trigger: Duration,
    /// `transactional.id`: makes the producer transactional.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`: how long the coordinator lets a transaction
    /// stay open (the broker caps it with `transaction.max.timeout.ms`).
    pub transaction_timeout: Duration,
    /// `transaction.two.phase.commit.enable` (KIP-939): transactions are
    /// prepared and completed by the application; they never time out.
    pub transaction_two_phase_commit_enable: bool,
    /// `security.protocol` with the `ssl.*` and `sasl.*` settings: TLS and
    /// SASL (its `Debug` shows no secret).
    pub security: kafka_codec::security::SecurityConfig,
    /// The application's interceptors, in order (set with
    /// [`ProducerConfigBuilder::interceptor`]; Java's `interceptor.classes`
    /// names classes, which cannot run here).
    pub interceptors: crate::interceptor::Interceptors,
}

/// `metadata.recovery.strategy` (KIP-899).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetadataRecoveryStrategy {
    /// `rebootstrap` (Kafka 4.x's default): when no known broker can be
    /// reached, when Metadata requests failed for
    /// `metadata.recovery.rebootstrap.trigger.ms`, or when a broker answers
    /// REBOOTSTRAP_REQUIRED, the brokers learned are dropped and
    /// `bootstrap.servers` asked again (resolved again on connecting).
    #[default]
    Rebootstrap,
    /// `none`: `bootstrap.servers` serve only until brokers are known.
    None,
}

/// `client.dns.lookup`: how broker names become addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClientDnsLookup {
    /// `use_all_dns_ips` (the default): every address a name resolves to
    /// is tried in turn, each with its own set-up timeout.
    #[default]
    UseAllDnsIps,
    /// `resolve_canonical_bootstrap_servers_only`: as Java, each bootstrap
    /// address is resolved and every address it gives replaced by its
    /// canonical host name (a reverse lookup), and those names are
    /// connected to (so TLS checks the certificate against them); brokers
    /// learned from metadata are connected to as with `use_all_dns_ips`.
    ResolveCanonicalBootstrapServersOnly,
}

impl ProducerConfig {
    /// The settings of a broker connection (`kafka-codec`) for this
    /// configuration: client id, set-up timeout of a first attempt, socket
    /// buffers, request timeout (the Produce timeout plus slack), TLS and
    /// SASL.
    pub fn connection_config(&self, client_software_name: &str) -> kafka_codec::ConnectionConfig {
        let buffer = |n: i32| u32::try_from(n).ok();
        kafka_codec::ConnectionConfig {
            client_id: Some(self.client_id.clone()),
            client_software_name: client_software_name.into(),
            client_software_version: env!("CARGO_PKG_VERSION").into(),
            connect_timeout: self.socket_connection_setup_timeout,
            connect_timeout_max: self.socket_connection_setup_timeout_max,
            send_buffer_size: buffer(self.send_buffer_bytes),
            receive_buffer_size: buffer(self.receive_buffer_bytes),
            request_timeout: self.request_timeout + Duration::from_secs(1),
            security: self.security.clone(),
            ..kafka_codec::ConnectionConfig::default()
        }
    }
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
    pub(crate) fn invalid(key: &str, value: impl fmt::Display, why: impl fmt::Display) -> Self {
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
        // The providers first, so that they resolve whatever the order.
        let (providers, others): (Vec<_>, Vec<_>) = props
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .partition(|(k, _)| providers::is_provider_key(k));
        let mut builder = Self::builder();
        for (key, value) in providers.into_iter().chain(others) {
            builder = builder.property(key, value);
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
pub(crate) fn java_defaults() -> ProducerConfig {
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
        partitioner_rack_aware: false,
        enable_metrics_push: true,
        client_rack: String::new(),
        metadata_max_age: Duration::from_millis(300_000),
        metadata_max_idle: Duration::from_millis(300_000),
        reconnect_backoff: Duration::from_millis(50),
        reconnect_backoff_max: Duration::from_millis(1000),
        connections_max_idle: Duration::from_millis(540_000),
        send_buffer_bytes: 128 * 1024,
        receive_buffer_bytes: 32 * 1024,
        socket_connection_setup_timeout: Duration::from_secs(10),
        socket_connection_setup_timeout_max: Duration::from_secs(30),
        client_dns_lookup: ClientDnsLookup::UseAllDnsIps,
        metadata_recovery_strategy: MetadataRecoveryStrategy::Rebootstrap,
        metadata_recovery_rebootstrap_trigger: Duration::from_secs(300),
        transactional_id: None,
        transaction_timeout: Duration::from_millis(60_000),
        transaction_two_phase_commit_enable: false,
        interceptors: crate::interceptor::Interceptors::default(),
        security: kafka_codec::security::SecurityConfig::default(),
    }
}
