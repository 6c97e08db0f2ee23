//! Every key of Java's producer configuration (`ProducerConfig.configNames()`
//! of kafka-clients 4.4.0: 120 keys), with what it does here, and the keys
//! of Java's consumer and admin configurations that shared snippets carry.
//!
//! A key is [applied](KeyStatus::Applied), [accepted without
//! effect](KeyStatus::NoEffect) with one `warn` log line at build saying
//! why, or, for keys that name Java classes, accepted when empty or when it
//! names a class of Kafka's whose behaviour is built in here, else refused
//! with the Rust way to get it. Consumer and admin keys are accepted with a
//! warning, as Java's "supplied but not used", and so are the keys of
//! Confluent's Schema Registry serializers (never logging their values).
//! Only a key that is none of these is an error, with the nearest known key
//! suggested.
//!
//! [`JAVA_PRODUCER_KEYS`] is the table; the test
//! `every_java_key_at_its_default_builds` keeps it honest, and
//! `tests/java_keys.rs` checks it against kafka-clients' own
//! `ProducerConfig.configNames()` (with `interop/java-config-keys`).

use super::ConfigError;

#[path = "java_key_table.rs"]
mod table;
pub use table::{
    CONFLUENT_SERIALIZER_KEYS, CONFLUENT_SERIALIZER_PREFIX, JAVA_CONSUMER_AND_ADMIN_KEYS,
    JAVA_PRODUCER_KEYS,
};

/// What a Java producer key does here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Read and applied as Java does; what it does here.
    Applied(&'static str),
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

impl ClassKey {
    /// What stands here for the Java classes such a key names.
    ///
    /// ```
    /// use kafka_producer::config::java_keys::ClassKey;
    /// assert!(ClassKey::Interceptor.rust_way().contains("ProducerConfigBuilder::interceptor"));
    /// ```
    pub fn rust_way(self) -> &'static str {
        match self {
            ClassKey::Interceptor => {
                "set interceptors in Rust with ProducerConfigBuilder::interceptor (a ProducerInterceptor)"
            }
            ClassKey::MetricReporter => {
                "read metrics with Producer::metrics, or publish them with the `metrics` feature"
            }
            ClassKey::SaslCallback | ClassKey::JwtClass => {
                "give OAUTHBEARER tokens with a TokenProvider (ProducerConfigBuilder::security with SaslConfig::OAuthBearer)"
            }
            ClassKey::TlsEngine | ClassKey::SecurityProvider => {
                "TLS here is rustls, configured with the ssl.* keys"
            }
        }
    }
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

/// The table as markdown: every Java producer key with its default, its
/// status and what it does here (or why it has none), then the consumer
/// and admin keys accepted with a warning. `JAVA_KEYS.md` beside the
/// crate's README is this text; a unit test keeps it current.
///
/// ```
/// let md = kafka_producer::config::java_keys::markdown();
/// assert!(md.contains("| `linger.ms` | `5` | applied |"));
/// ```
pub fn markdown() -> String {
    use std::fmt::Write;
    let cell = |s: &str| s.replace('|', "\\|");
    let mut md = String::from(
        "# Java producer keys\n\n\
         Every key of Java's producer configuration (`ProducerConfig.configNames()` of \
         kafka-clients 4.4.0) and what it does in kafka-producer. *Applied* keys take \
         effect as in Java; *no effect* keys are accepted, checked where Java checks \
         them, with one `warn` log line at build saying why; *Java classes* keys take an \
         empty value or Kafka's own classes whose behaviour is built in, and any other \
         class is an error naming the Rust way. Any key not listed here is an error \
         suggesting the nearest known key.\n\n\
         Generated from `kafka_producer::config::java_keys::JAVA_PRODUCER_KEYS`: \
         `KAFKA_RS_WRITE_JAVA_KEYS_MD=1 cargo test -p kafka-producer --lib java_keys` \
         rewrites it.\n\n\
         | key | Java's default | status | here |\n|---|---|---|---|\n",
    );
    for k in JAVA_PRODUCER_KEYS {
        let default = match k.default {
            None => "none".to_string(),
            Some("") => "empty".to_string(),
            Some(d) => format!("`{}`", cell(d)),
        };
        let (status, here) = match k.status {
            KeyStatus::Applied(what) => ("applied", what),
            KeyStatus::NoEffect(why) => ("no effect", why),
            KeyStatus::Class(class) => ("Java classes", class.rust_way()),
        };
        let _ = writeln!(
            md,
            "| `{}` | {default} | {status} | {} |",
            k.name,
            cell(here)
        );
    }
    md.push_str(
        "\n## Consumer and admin keys\n\n\
         Accepted with a `warn` line (\"supplied but not used\", as Java says), since \
         shared snippets carry them:\n\n",
    );
    let others: Vec<String> = JAVA_CONSUMER_AND_ADMIN_KEYS
        .iter()
        .map(|k| format!("`{k}`"))
        .collect();
    md.push_str(&others.join(", "));
    md.push_str(
        "\n\n## Confluent's Schema Registry serializer keys\n\n\
         Accepted with a `warn` line (no effect on the producer; serializers here are \
         Rust types), their values never logged since they carry the registry's \
         credentials: every key starting with `schema.registry.`, and ",
    );
    let confluent: Vec<String> = CONFLUENT_SERIALIZER_KEYS
        .iter()
        .map(|k| format!("`{k}`"))
        .collect();
    md.push_str(&confluent.join(", "));
    md.push('\n');
    md
}

/// Whether `key` is a setting of Confluent's Schema Registry serializers
/// (accepted with a warning: serializers here are Rust types).
///
/// ```
/// use kafka_producer::config::java_keys::is_confluent_serializer_key;
/// assert!(is_confluent_serializer_key("schema.registry.url"));
/// assert!(is_confluent_serializer_key("basic.auth.user.info"));
/// assert!(!is_confluent_serializer_key("linger.ms"));
/// ```
pub fn is_confluent_serializer_key(key: &str) -> bool {
    key.starts_with(CONFLUENT_SERIALIZER_PREFIX) || CONFLUENT_SERIALIZER_KEYS.contains(&key)
}

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
        Some(KeyStatus::Applied(_)) => Err(ConfigError::new(
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
        // Never the value: these carry the registry's credentials.
        None if is_confluent_serializer_key(key) => {
            tracing::warn!(
                key,
                "a key of Confluent's Schema Registry serializers, no effect on the producer"
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
    let instead = class.rust_way();
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
        .chain(CONFLUENT_SERIALIZER_KEYS.iter().copied())
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
