//! Tests of the Java key table.

use super::*;
use crate::ProducerConfig;

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
