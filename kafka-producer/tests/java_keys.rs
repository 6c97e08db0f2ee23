//! The Java key table against Java itself: `interop/java-config-keys`
//! prints the keys of kafka-clients' `ProducerConfig`, `ConsumerConfig` and
//! `AdminClientConfig`, run with the jars `cargo xtask kafka up` recorded as
//! KAFKA_LIBS (feature `broker-tests`, for those jars). The table is
//! kafka-clients 4.4.0's, so the jars must be that release's.

use std::collections::BTreeSet;
use std::process::Command;

use kafka_producer::config::java_keys::{JAVA_CONSUMER_AND_ADMIN_KEYS, JAVA_PRODUCER_KEYS};
use kafka_testkit as testkit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const TABLE_RELEASE: &str = "4.4.0";

/// Java's answer: the kafka-clients version, its producer keys, and the
/// consumer and admin keys.
struct JavaKeys {
    version: String,
    producer: BTreeSet<String>,
    others: BTreeSet<String>,
}

fn java_keys() -> JavaKeys {
    let env = testkit::cluster_env(ROOT);
    let libs = env
        .get("KAFKA_LIBS")
        .expect("KAFKA_LIBS: run `cargo xtask kafka up` (or `cargo xtask ci`) for Kafka's jars");
    let java = std::env::var_os("JAVA_HOME")
        .map(|h| std::path::Path::new(&h).join("bin/java"))
        .unwrap_or_else(|| "java".into());
    let out = Command::new(java)
        .arg("-cp")
        .arg(format!("{libs}/*"))
        .arg(format!("{ROOT}/interop/java-config-keys/ConfigKeys.java"))
        .output()
        .expect("java (a JDK 17 or newer)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut keys = JavaKeys {
        version: String::new(),
        producer: BTreeSet::new(),
        others: BTreeSet::new(),
    };
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        match line.split_once(' ') {
            Some(("version", v)) => keys.version = v.to_string(),
            Some(("producer", k)) => _ = keys.producer.insert(k.to_string()),
            Some(("other", k)) => _ = keys.others.insert(k.to_string()),
            _ => panic!("unexpected line from ConfigKeys: {line:?}"),
        }
    }
    keys
}

#[test]
fn the_java_key_table_is_javas_producer_config() {
    let java = java_keys();
    assert_eq!(
        java.version, TABLE_RELEASE,
        "the table is kafka-clients {TABLE_RELEASE}'s: KAFKA_LIBS must hold that release's jars"
    );
    let table: BTreeSet<String> = JAVA_PRODUCER_KEYS
        .iter()
        .map(|k| k.name.to_string())
        .collect();
    assert_eq!(table.len(), JAVA_PRODUCER_KEYS.len(), "a key twice");
    let missing: Vec<_> = java.producer.difference(&table).collect();
    let not_javas: Vec<_> = table.difference(&java.producer).collect();
    assert!(
        missing.is_empty() && not_javas.is_empty(),
        "Java's producer keys not in the table: {missing:?}; table keys Java's producer lacks: {not_javas:?}"
    );
    // Java's order (alphabetical), which the table keeps for review.
    let names: Vec<&str> = JAVA_PRODUCER_KEYS.iter().map(|k| k.name).collect();
    assert!(names.is_sorted(), "the table is out of Java's order");
}

#[test]
fn the_consumer_and_admin_keys_are_javas_and_not_producer_keys() {
    let java = java_keys();
    for key in JAVA_CONSUMER_AND_ADMIN_KEYS {
        assert!(
            java.others.contains(*key),
            "{key} is no key of Java's consumer or admin configuration"
        );
        assert!(
            !java.producer.contains(*key),
            "{key} is a producer key: it belongs in JAVA_PRODUCER_KEYS"
        );
    }
}
