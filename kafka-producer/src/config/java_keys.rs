//! Every key of Java's producer configuration (`ProducerConfig.configNames()`
//! of kafka-clients 4.4.0: 120 keys), with what it does here, and the keys
//! of Java's consumer and admin configurations that shared snippets carry.
//!
//! A key is [applied](KeyStatus::Applied), [accepted without
//! effect](KeyStatus::NoEffect) with one `warn` log line at build saying
//! why, or, for keys that name Java classes, accepted when empty or when it
//! names a class of Kafka's whose behaviour is built in here, else refused
//! with the Rust way to get it. Consumer and admin keys are accepted with a
//! warning, as Java's "supplied but not used". Only a key that is none of
//! these is an error, with the nearest known key suggested.
//!
//! [`JAVA_PRODUCER_KEYS`] is the table; the test
//! `every_java_key_at_its_default_builds` keeps it honest, and
//! `tests/java_keys.rs` checks it against kafka-clients' own
//! `ProducerConfig.configNames()` (with `interop/java-config-keys`).

use super::ConfigError;
use KeyStatus::{Applied, Class, NoEffect};

/// What a Java producer key does here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Read and applied as Java does.
    Applied,
    /// Accepted, checked where Java checks it, with no effect here, for
    /// the reason given.
    NoEffect(&'static str),
    /// Names Java classes: see [`ClassKey`].
    Class(ClassKey),
}

/// The keys that name Java classes, and what stands for them here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassKey {
    /// `interceptor.classes`: `ProducerConfigBuilder::interceptor`.
    Interceptor,
    /// `metric.reporters`: `Producer::metrics`, or the `metrics` feature.
    MetricReporter,
    /// The SASL callback and login classes: a `TokenProvider`.
    SaslCallback,
    /// The OAUTHBEARER JWT retriever and validator classes.
    JwtClass,
    /// `ssl.engine.factory.class`: TLS here is rustls.
    TlsEngine,
    /// `security.providers`: TLS here is rustls.
    SecurityProvider,
}

/// One key of Java's `ProducerConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JavaKey {
    /// The property name.
    pub name: &'static str,
    /// Java's default, as a property value (`None`: no default).
    pub default: Option<&'static str>,
    /// What it does here.
    pub status: KeyStatus,
}

/// Every key of Java's producer configuration, in Java's (alphabetical)
/// order.
pub const JAVA_PRODUCER_KEYS: &[JavaKey] = &[
    JavaKey {
        name: "acks",
        default: Some("all"),
        status: Applied,
    },
    JavaKey {
        name: "batch.size",
        default: Some("16384"),
        status: Applied,
    },
    JavaKey {
        name: "bootstrap.resolve.timeout.ms",
        default: Some("0"),
        status: NoEffect("bootstrap addresses are resolved at each connection attempt"),
    },
    JavaKey {
        name: "bootstrap.servers",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "buffer.memory",
        default: Some("33554432"),
        status: Applied,
    },
    JavaKey {
        name: "buffer.memory.allocation.strategy",
        default: Some("full"),
        status: NoEffect("buffer.memory is always taken whole per batch buffer, as Java's `full`"),
    },
    JavaKey {
        name: "client.dns.lookup",
        default: Some("use_all_dns_ips"),
        status: Applied,
    },
    JavaKey {
        name: "client.id",
        default: Some(""),
        status: Applied,
    },
    JavaKey {
        name: "client.rack",
        default: Some(""),
        status: Applied,
    },
    JavaKey {
        name: "compression.gzip.level",
        default: Some("-1"),
        status: Applied,
    },
    JavaKey {
        name: "compression.lz4.level",
        default: Some("9"),
        status: Applied,
    },
    JavaKey {
        name: "compression.type",
        default: Some("none"),
        status: Applied,
    },
    JavaKey {
        name: "compression.zstd.level",
        default: Some("3"),
        status: Applied,
    },
    JavaKey {
        name: "config.providers",
        default: Some(""),
        status: Applied,
    },
    JavaKey {
        name: "connections.max.idle.ms",
        default: Some("540000"),
        status: Applied,
    },
    JavaKey {
        name: "delivery.timeout.ms",
        default: Some("120000"),
        status: Applied,
    },
    JavaKey {
        name: "enable.idempotence",
        default: Some("true"),
        status: Applied,
    },
    JavaKey {
        name: "enable.metrics.push",
        default: Some("true"),
        status: Applied,
    },
    JavaKey {
        name: "interceptor.classes",
        default: Some(""),
        status: Class(ClassKey::Interceptor),
    },
    JavaKey {
        name: "key.serializer",
        default: None,
        status: NoEffect("serializers are Rust types (kafka_producer::serializer); records carry bytes"),
    },
    JavaKey {
        name: "linger.ms",
        default: Some("5"),
        status: Applied,
    },
    JavaKey {
        name: "max.block.ms",
        default: Some("60000"),
        status: Applied,
    },
    JavaKey {
        name: "max.in.flight.requests.per.connection",
        default: Some("5"),
        status: Applied,
    },
    JavaKey {
        name: "max.request.size",
        default: Some("1048576"),
        status: Applied,
    },
    JavaKey {
        name: "metadata.cluster.check.enable",
        default: Some("true"),
        status: NoEffect("the cluster id is not checked yet"),
    },
    JavaKey {
        name: "metadata.max.age.ms",
        default: Some("300000"),
        status: Applied,
    },
    JavaKey {
        name: "metadata.max.idle.ms",
        default: Some("300000"),
        status: Applied,
    },
    JavaKey {
        name: "metadata.recovery.rebootstrap.trigger.ms",
        default: Some("300000"),
        status: Applied,
    },
    JavaKey {
        name: "metadata.recovery.strategy",
        default: Some("rebootstrap"),
        status: Applied,
    },
    JavaKey {
        name: "metric.reporters",
        default: Some("org.apache.kafka.common.metrics.JmxReporter"),
        status: Class(ClassKey::MetricReporter),
    },
    JavaKey {
        name: "metrics.num.samples",
        default: Some("2"),
        status: NoEffect("rates are computed from once-a-second samples over 30 s"),
    },
    JavaKey {
        name: "metrics.recording.level",
        default: Some("INFO"),
        status: NoEffect("every metric is always recorded (they are counters, per batch)"),
    },
    JavaKey {
        name: "metrics.sample.window.ms",
        default: Some("30000"),
        status: NoEffect("rates are computed from once-a-second samples over 30 s"),
    },
    JavaKey {
        name: "partitioner.adaptive.partitioning.enable",
        default: Some("true"),
        status: Applied,
    },
    JavaKey {
        name: "partitioner.availability.timeout.ms",
        default: Some("0"),
        status: Applied,
    },
    JavaKey {
        name: "partitioner.class",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "partitioner.ignore.keys",
        default: Some("false"),
        status: Applied,
    },
    JavaKey {
        name: "partitioner.rack.aware",
        default: Some("false"),
        status: Applied,
    },
    JavaKey {
        name: "receive.buffer.bytes",
        default: Some("32768"),
        status: Applied,
    },
    JavaKey {
        name: "reconnect.backoff.max.ms",
        default: Some("1000"),
        status: Applied,
    },
    JavaKey {
        name: "reconnect.backoff.ms",
        default: Some("50"),
        status: Applied,
    },
    JavaKey {
        name: "request.timeout.ms",
        default: Some("30000"),
        status: Applied,
    },
    JavaKey {
        name: "retries",
        default: Some("2147483647"),
        status: Applied,
    },
    JavaKey {
        name: "retry.backoff.max.ms",
        default: Some("1000"),
        status: Applied,
    },
    JavaKey {
        name: "retry.backoff.ms",
        default: Some("100"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.client.callback.handler.class",
        default: None,
        status: Class(ClassKey::SaslCallback),
    },
    JavaKey {
        name: "sasl.jaas.config",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.kerberos.kinit.cmd",
        default: Some("/usr/bin/kinit"),
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.kerberos.min.time.before.relogin",
        default: Some("60000"),
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.kerberos.service.name",
        default: None,
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.kerberos.ticket.renew.jitter",
        default: Some("0.05"),
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.kerberos.ticket.renew.window.factor",
        default: Some("0.8"),
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.login.callback.handler.class",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.login.class",
        default: None,
        status: Class(ClassKey::SaslCallback),
    },
    JavaKey {
        name: "sasl.login.connect.timeout.ms",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.login.read.timeout.ms",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.login.refresh.buffer.seconds",
        default: Some("300"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.login.refresh.min.period.seconds",
        default: Some("60"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.login.refresh.window.factor",
        default: Some("0.8"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.login.refresh.window.jitter",
        default: Some("0.05"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.login.retry.backoff.max.ms",
        default: Some("10000"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.login.retry.backoff.ms",
        default: Some("100"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.mechanism",
        default: Some("GSSAPI"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.allow.unverified.audience",
        default: Some("false"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.allow.unverified.issuer",
        default: Some("false"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.algorithm",
        default: Some("RS256"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.aud",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.exp.seconds",
        default: Some("300"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.iss",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.jti.include",
        default: Some("false"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.nbf.seconds",
        default: Some("60"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.sub",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.file",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.private.key.file",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.private.key.passphrase",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.template.file",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.client.credentials.client.id",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.client.credentials.client.secret",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.clock.skew.seconds",
        default: Some("30"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.expected.audience",
        default: Some(""),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.expected.issuer",
        default: None,
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.header.urlencode",
        default: Some("false"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.jwks.endpoint.refresh.ms",
        default: Some("3600000"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
        default: Some("10000"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
        default: Some("100"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwks.endpoint.url",
        default: None,
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwt.retriever.class",
        default: Some("org.apache.kafka.common.security.oauthbearer.DefaultJwtRetriever"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.jwt.validator.class",
        default: Some("org.apache.kafka.common.security.oauthbearer.DefaultJwtValidator"),
        status: Class(ClassKey::JwtClass),
    },
    JavaKey {
        name: "sasl.oauthbearer.scope",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.scope.claim.name",
        default: Some("scope"),
        status: NoEffect("the token's scopes are not read by this client; the broker reads them"),
    },
    JavaKey {
        name: "sasl.oauthbearer.sub.claim.name",
        default: Some("sub"),
        status: Applied,
    },
    JavaKey {
        name: "sasl.oauthbearer.token.endpoint.url",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "security.protocol",
        default: Some("PLAINTEXT"),
        status: Applied,
    },
    JavaKey {
        name: "security.providers",
        default: None,
        status: Class(ClassKey::SecurityProvider),
    },
    JavaKey {
        name: "send.buffer.bytes",
        default: Some("131072"),
        status: Applied,
    },
    JavaKey {
        name: "socket.connection.setup.timeout.max.ms",
        default: Some("30000"),
        status: Applied,
    },
    JavaKey {
        name: "socket.connection.setup.timeout.ms",
        default: Some("10000"),
        status: Applied,
    },
    JavaKey {
        name: "ssl.cipher.suites",
        default: Some(""),
        status: Applied,
    },
    JavaKey {
        name: "ssl.enabled.protocols",
        default: Some("TLSv1.2,TLSv1.3"),
        status: Applied,
    },
    JavaKey {
        name: "ssl.endpoint.identification.algorithm",
        default: Some("https"),
        status: Applied,
    },
    JavaKey {
        name: "ssl.engine.factory.class",
        default: None,
        status: Class(ClassKey::TlsEngine),
    },
    JavaKey {
        name: "ssl.key.password",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "ssl.keymanager.algorithm",
        default: Some("SunX509"),
        status: NoEffect("Java's TLS engine settings do not apply: TLS here is rustls"),
    },
    JavaKey {
        name: "ssl.keystore.certificate.chain",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "ssl.keystore.key",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "ssl.keystore.location",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "ssl.keystore.password",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "ssl.keystore.type",
        default: Some("JKS"),
        status: Applied,
    },
    JavaKey {
        name: "ssl.protocol",
        default: Some("TLSv1.3"),
        status: Applied,
    },
    JavaKey {
        name: "ssl.provider",
        default: None,
        status: NoEffect("Java's TLS engine settings do not apply: TLS here is rustls"),
    },
    JavaKey {
        name: "ssl.secure.random.implementation",
        default: None,
        status: NoEffect("Java's TLS engine settings do not apply: TLS here is rustls"),
    },
    JavaKey {
        name: "ssl.trustmanager.algorithm",
        default: Some("PKIX"),
        status: NoEffect("Java's TLS engine settings do not apply: TLS here is rustls"),
    },
    JavaKey {
        name: "ssl.truststore.certificates",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "ssl.truststore.location",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "ssl.truststore.password",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "ssl.truststore.type",
        default: Some("JKS"),
        status: Applied,
    },
    JavaKey {
        name: "transaction.timeout.ms",
        default: Some("60000"),
        status: Applied,
    },
    JavaKey {
        name: "transaction.two.phase.commit.enable",
        default: Some("false"),
        status: Applied,
    },
    JavaKey {
        name: "transactional.id",
        default: None,
        status: Applied,
    },
    JavaKey {
        name: "value.serializer",
        default: None,
        status: NoEffect("serializers are Rust types (kafka_producer::serializer); records carry bytes"),
    },
];

/// Keys of Java's consumer and admin configurations that are not producer
/// keys.
pub const JAVA_CONSUMER_AND_ADMIN_KEYS: &[&str] = &[
    "allow.auto.create.topics",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "check.crcs",
    "default.api.timeout.ms",
    "enable.auto.commit",
    "exclude.internal.topics",
    "fetch.max.bytes",
    "fetch.max.wait.ms",
    "fetch.min.bytes",
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.remote.assignor",
    "heartbeat.interval.ms",
    "internal.throw.on.fetch.stable.offset.unsupported",
    "isolation.level",
    "key.deserializer",
    "max.partition.fetch.bytes",
    "max.poll.interval.ms",
    "max.poll.records",
    "partition.assignment.strategy",
    "session.timeout.ms",
    "share.acknowledgement.mode",
    "share.acquire.mode",
    "value.deserializer",
    "bootstrap.controllers",
];

/// The entry of a Java producer key.
pub fn java_key(name: &str) -> Option<&'static JavaKey> {
    JAVA_PRODUCER_KEYS.iter().find(|k| k.name == name)
}

/// Logs that a Java key has no effect here (one line per key and build).
pub(super) fn warn_no_effect(key: &str) {
    if let Some(KeyStatus::NoEffect(why)) = java_key(key).map(|k| k.status) {
        tracing::warn!(
            key,
            why,
            "this Java producer configuration key has no effect here"
        );
    }
}

/// A key `apply` does not read: accepted with a warning, or refused.
pub(super) fn not_applied(key: &str, raw: &str) -> Result<(), ConfigError> {
    match java_key(key).map(|k| k.status) {
        Some(KeyStatus::NoEffect(_)) => {
            warn_no_effect(key);
            Ok(())
        }
        Some(KeyStatus::Class(class)) => class_key(key, raw, class),
        Some(KeyStatus::Applied) => Err(ConfigError::new(
            [key],
            format!("{key} is applied, but no rule reads it (a bug)"),
        )),
        None if JAVA_CONSUMER_AND_ADMIN_KEYS.contains(&key) => {
            tracing::warn!(
                key,
                "a consumer or admin configuration key, supplied but not used by a producer"
            );
            Ok(())
        }
        None => {
            let hint = nearest(key)
                .map(|k| format!("; did you mean {k:?}?"))
                .unwrap_or_default();
            Err(ConfigError::new(
                [key],
                format!("unknown producer configuration key {key:?}{hint}"),
            ))
        }
    }
}

/// Kafka's classes whose behaviour is built in here.
const BUILT_IN_CLASSES: &[&str] = &[
    "org.apache.kafka.common.metrics.JmxReporter",
    "org.apache.kafka.common.security.oauthbearer.DefaultJwtRetriever",
    "org.apache.kafka.common.security.oauthbearer.DefaultJwtValidator",
];

fn class_key(key: &str, raw: &str, class: ClassKey) -> Result<(), ConfigError> {
    let names = super::keys::java_list(raw);
    let unknown: Vec<&String> = names
        .iter()
        .filter(|n| !BUILT_IN_CLASSES.contains(&n.as_str()))
        .collect();
    if unknown.is_empty() {
        if !names.is_empty() {
            tracing::warn!(key, classes = ?names, "Kafka's own classes: their behaviour is built in here");
        }
        return Ok(());
    }
    let instead = match class {
        ClassKey::Interceptor => {
            "set interceptors in Rust with ProducerConfigBuilder::interceptor (a ProducerInterceptor)"
        }
        ClassKey::MetricReporter => {
            "read metrics with Producer::metrics, or publish them with the `metrics` feature"
        }
        ClassKey::SaslCallback | ClassKey::JwtClass => {
            "give OAUTHBEARER tokens with a TokenProvider (ProducerConfigBuilder::security with SaslConfig::OAuthBearer)"
        }
        ClassKey::TlsEngine | ClassKey::SecurityProvider => "TLS here is rustls, configured with the ssl.* keys",
    };
    Err(ConfigError::new(
        [key],
        format!("{key}: Java classes cannot be loaded here ({unknown:?}): {instead}"),
    ))
}

/// The known key nearest to `key`, if it is close (a typo).
fn nearest(key: &str) -> Option<&'static str> {
    JAVA_PRODUCER_KEYS
        .iter()
        .map(|k| k.name)
        .chain(JAVA_CONSUMER_AND_ADMIN_KEYS.iter().copied())
        .map(|k| (edit_distance(key, k), k))
        .filter(|(d, k)| *d <= (k.len() / 4).max(2))
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance (the keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[path = "java_keys_tests.rs"]
mod tests;
