//! Tests of the Java key table.

use kafka_testkit::logged::Logged;
use tracing_subscriber::layer::SubscriberExt;

use super::*;
use crate::ProducerConfig;

/// Builds with `props`, returning the outcome and the lines logged.
fn build_logged(props: &[(&str, &str)]) -> (Result<ProducerConfig, ConfigError>, Vec<String>) {
    let logged = Logged::default();
    let subscriber = tracing_subscriber::registry().with(logged.clone());
    let built = tracing::subscriber::with_default(subscriber, || build(props));
    let lines = logged.lines();
    (built, lines)
}

fn lines_naming<'a>(lines: &'a [String], key: &str) -> Vec<&'a String> {
    let field = format!("key=\"{key}\"");
    lines.iter().filter(|l| l.contains(&field)).collect()
}

fn build(props: &[(&str, &str)]) -> Result<ProducerConfig, ConfigError> {
    let mut b = ProducerConfig::builder().bootstrap_servers("127.0.0.1:9092");
    for (k, v) in props {
        b = b.property(k, v);
    }
    b.build()
}

#[test]
fn every_java_key_at_its_default_builds() {
    assert_eq!(JAVA_PRODUCER_KEYS.len(), 120, "kafka-clients 4.4.0");
    let defaults: Vec<(&str, &str)> = JAVA_PRODUCER_KEYS
        .iter()
        .filter(|k| k.name != "bootstrap.servers")
        .filter_map(|k| Some((k.name, k.default?)))
        .collect();
    for (k, v) in &defaults {
        build(&[(k, v)]).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    // All of them at once, as a dump of Java's ProducerConfig would give.
    // The same configuration as none given (the client id aside: each
    // build without one takes the next producer-N).
    let mut all = build(&defaults).unwrap();
    let mut none = build(&[]).unwrap();
    all.client_id.clear();
    none.client_id.clear();
    assert_eq!(all, none, "Java's defaults are ours");
}

#[test]
fn consumer_and_admin_keys_are_accepted_and_typos_get_a_suggestion() {
    build(&[
        ("group.id", "g"),
        ("session.timeout.ms", "45000"),
        ("bootstrap.controllers", ""),
    ])
    .unwrap();
    let e = build(&[("linger.msx", "5")]).unwrap_err();
    assert!(e.to_string().contains("did you mean \"linger.ms\""), "{e}");
    let e = build(&[("compresion.type", "lz4")]).unwrap_err();
    assert!(e.to_string().contains("compression.type"), "{e}");
    let e = build(&[("no.such.key.anywhere", "1")]).unwrap_err();
    assert!(!e.to_string().contains("did you mean"), "{e}");
}

#[test]
fn class_keys_take_empty_values_and_kafkas_classes_and_name_the_rust_way_otherwise() {
    build(&[
        ("interceptor.classes", ""),
        (
            "metric.reporters",
            "org.apache.kafka.common.metrics.JmxReporter",
        ),
        ("partitioner.class", ""),
    ])
    .unwrap();
    for (key, says) in [
        ("interceptor.classes", "ProducerConfigBuilder::interceptor"),
        ("metric.reporters", "Producer::metrics"),
        ("ssl.engine.factory.class", "rustls"),
        ("sasl.login.callback.handler.class", "TokenProvider"),
    ] {
        let e = build(&[(key, "com.example.Custom")]).unwrap_err();
        assert!(e.keys.iter().any(|k| k == key), "{e}");
        assert!(e.to_string().contains(says), "{key}: {e}");
    }
}

#[test]
fn a_managed_clusters_snippet_builds() {
    // Confluent Cloud's Java client snippet.
    build(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username='KEY' password='SECRET';",
        ),
        ("client.dns.lookup", "use_all_dns_ips"),
        ("session.timeout.ms", "45000"),
        ("acks", "all"),
    ])
    .unwrap();
}

#[test]
fn edit_distance_counts_edits() {
    assert_eq!(edit_distance("linger.ms", "linger.ms"), 0);
    assert_eq!(edit_distance("lingr.ms", "linger.ms"), 1);
    assert_eq!(edit_distance("", "abc"), 3);
}

#[test]
fn java_keys_md_is_the_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/JAVA_KEYS.md");
    let want = markdown();
    if std::env::var_os("KAFKA_RS_WRITE_JAVA_KEYS_MD").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "{path} is not the table's: rewrite it with \
         `KAFKA_RS_WRITE_JAVA_KEYS_MD=1 cargo test -p kafka-producer --lib java_keys`"
    );
    // One row per key, each with its status.
    for k in JAVA_PRODUCER_KEYS {
        assert!(have.contains(&format!("| `{}` |", k.name)), "{}", k.name);
    }
}

#[test]
fn a_no_effect_key_warns_once_at_build_saying_why() {
    let (built, lines) = build_logged(&[("metrics.num.samples", "2"), ("linger.ms", "7")]);
    built.unwrap();
    let warned = lines_naming(&lines, "metrics.num.samples");
    assert_eq!(warned.len(), 1, "{lines:?}");
    assert!(warned[0].starts_with("WARN"), "{warned:?}");
    assert!(
        warned[0].contains("once-a-second samples") && warned[0].contains("no effect here"),
        "{warned:?}"
    );
    // An applied key says nothing.
    assert!(lines_naming(&lines, "linger.ms").is_empty(), "{lines:?}");
}

#[test]
fn confluent_serializer_keys_warn_once_and_never_log_their_values() {
    const SECRET: &str = "SR-KEY:sr-s3cr3t-91f";
    let keys = [
        (
            "schema.registry.url",
            "https://psrc-123.us-east-2.aws.confluent.cloud",
        ),
        ("basic.auth.credentials.source", "USER_INFO"),
        ("basic.auth.user.info", SECRET),
        ("schema.registry.basic.auth.user.info", SECRET),
        ("auto.register.schemas", "false"),
        ("use.latest.version", "true"),
    ];
    let (built, lines) = build_logged(&keys);
    built.unwrap();
    for (key, _) in keys {
        let warned = lines_naming(&lines, key);
        assert_eq!(warned.len(), 1, "{key}: {lines:?}");
        assert!(
            warned[0].starts_with("WARN") && warned[0].contains("Schema Registry"),
            "{warned:?}"
        );
    }
    assert!(lines.iter().all(|l| !l.contains("sr-s3cr3t")), "{lines:?}");
    // A typo of one is still an error, and names no value either.
    let e = build(&[("basic.auth.user.inf", SECRET)]).unwrap_err();
    assert!(
        e.to_string()
            .contains("did you mean \"basic.auth.user.info\""),
        "{e}"
    );
    assert!(!e.to_string().contains("sr-s3cr3t"), "{e}");
}
