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
        transaction_two_phase_commit_enable: false,
        interceptors: Default::default(),
        partitioner_rack_aware: false,
        client_rack: String::new(),
        enable_metrics_push: true,
        send_buffer_bytes: 131072,
        receive_buffer_bytes: 32768,
        socket_connection_setup_timeout: Duration::from_secs(10),
        socket_connection_setup_timeout_max: Duration::from_secs(30),
        client_dns_lookup: Default::default(),
        metadata_recovery_strategy: Default::default(),
        metadata_recovery_rebootstrap_trigger: Duration::from_secs(300),
        security: kafka_codec::security::SecurityConfig::plaintext(),
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
fn two_phase_commit_refuses_an_explicit_transaction_timeout() {
    let e = err(&[
        (TRANSACTION_TWO_PHASE_COMMIT_ENABLE, "true"),
        (TRANSACTION_TIMEOUT_MS, "1000"),
    ]);
    assert_names(
        &e,
        &[TRANSACTION_TWO_PHASE_COMMIT_ENABLE, TRANSACTION_TIMEOUT_MS],
    );
    let c = props(&[(TRANSACTION_TWO_PHASE_COMMIT_ENABLE, "TRUE")]).unwrap();
    assert!(c.transaction_two_phase_commit_enable);
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
        (SOCKET_CONNECTION_SETUP_TIMEOUT_MS, "5000"),
        (SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS, "20000"),
        (
            CLIENT_DNS_LOOKUP,
            "resolve_canonical_bootstrap_servers_only",
        ),
    ])
    .unwrap();
    assert_eq!(c.send_buffer_bytes, -1);
    assert_eq!(c.receive_buffer_bytes, 65536);
    assert_eq!(c.socket_connection_setup_timeout, Duration::from_secs(5));
    assert_eq!(
        c.socket_connection_setup_timeout_max,
        Duration::from_secs(20)
    );
    assert_eq!(
        c.client_dns_lookup,
        crate::config::ClientDnsLookup::ResolveCanonicalBootstrapServersOnly
    );
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
        (SOCKET_CONNECTION_SETUP_TIMEOUT_MS, "-1"),
        (CLIENT_DNS_LOOKUP, "default"),
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
        "enable.idempotency",
        "sasl.mechanisms",
        "",
    ] {
        let e = err(&[(key, "1")]);
        assert_eq!(e.keys, [key]);
        assert!(e.message.contains(&format!("{key:?}")), "{e}");
    }
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
    PARTITIONER_RACK_AWARE,
    CLIENT_RACK,
    METADATA_MAX_AGE_MS,
    METADATA_MAX_IDLE_MS,
    RECONNECT_BACKOFF_MS,
    RECONNECT_BACKOFF_MAX_MS,
    CONNECTIONS_MAX_IDLE_MS,
    TRANSACTIONAL_ID,
    TRANSACTION_TIMEOUT_MS,
    TRANSACTION_TWO_PHASE_COMMIT_ENABLE,
    KEY_SERIALIZER,
    VALUE_SERIALIZER,
    SEND_BUFFER_BYTES,
    RECEIVE_BUFFER_BYTES,
    SECURITY_PROTOCOL,
    SSL_TRUSTSTORE_TYPE,
    SSL_TRUSTSTORE_LOCATION,
    SSL_TRUSTSTORE_CERTIFICATES,
    SSL_KEYSTORE_TYPE,
    SSL_KEYSTORE_LOCATION,
    SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
    SSL_ENABLED_PROTOCOLS,
    SASL_MECHANISM,
    SASL_JAAS_CONFIG,
    METADATA_RECOVERY_STRATEGY,
    SOCKET_CONNECTION_SETUP_TIMEOUT_MS,
    SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS,
    CLIENT_DNS_LOOKUP,
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
