//! The producer over the TLS and SASL listeners of the real Kafka that
//! `cargo xtask kafka up` starts: every codec over every secured listener
//! and mechanism, Java's properties end to end, refusals that stop the
//! producer at once (without reconnecting in a loop), and a producer that
//! runs across several KIP-368 re-authentications without losing a record.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_codec::security::{
    SaslConfig, ScramMechanism, Secret, SecurityConfig, TlsConfig, TrustStore,
};
use kafka_codec::{Connection, ConnectionConfig};
use kafka_compression::CompressionType;
use kafka_producer::config::ProducerConfig;
use kafka_producer::{ErrorClass, FatalError, Producer, ProducerError, ProducerRecord};
use kafka_testkit::{self as testkit, SecuredCluster, TopicInfo};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const CODECS: [CompressionType; 5] = [
    CompressionType::None,
    CompressionType::Gzip,
    CompressionType::Snappy,
    CompressionType::Lz4,
    CompressionType::Zstd,
];

fn cluster() -> SecuredCluster {
    SecuredCluster::from_env(ROOT)
}

async fn new_topic(c: &SecuredCluster, prefix: &str) -> (String, TopicInfo) {
    let admin = testkit::connect(&c.addr("PLAINTEXT")).await.unwrap();
    let name = testkit::unique_topic(prefix);
    let info = testkit::create_topic(&admin, &name, 2, 1).await.unwrap();
    (name, info)
}

/// Reads every partition back over the same secured listener.
async fn read_back(
    c: &SecuredCluster,
    listener: &str,
    mechanism: Option<&str>,
    topic: &str,
    info: &TopicInfo,
) -> Vec<String> {
    let conn = Connection::connect(
        &c.addr(listener),
        ConnectionConfig {
            security: c.config(listener, mechanism),
            ..ConnectionConfig::default()
        },
    )
    .await
    .unwrap();
    let mut values = Vec::new();
    for p in 0..info.leaders.len() as i32 {
        for r in testkit::fetch_partition(&conn, topic, info, p)
            .await
            .unwrap()
        {
            values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    values.sort();
    values
}

fn config(
    c: &SecuredCluster,
    listener: &str,
    mechanism: Option<&str>,
) -> kafka_producer::config::ProducerConfigBuilder {
    ProducerConfig::builder()
        .bootstrap_servers(c.bootstrap(listener))
        .security(c.config(listener, mechanism))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_over_every_secured_listener_and_mechanism() {
    let c = cluster();
    let mut cases: Vec<(&str, Option<&str>)> = vec![("SSL", None), ("MTLS", None)];
    for listener in ["SASL_PLAINTEXT", "SASL_SSL"] {
        for m in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] {
            cases.push((listener, Some(m)));
        }
    }
    for (listener, mechanism) in cases {
        let (topic, info) = new_topic(&c, "sec").await;
        let mut expected = Vec::new();
        for codec in CODECS {
            let p = Producer::new(
                config(&c, listener, mechanism)
                    .compression_type(codec)
                    .build()
                    .unwrap(),
            )
            .unwrap();
            let mut deliveries = Vec::new();
            for i in 0..40 {
                let value = format!("{codec}-{i:03}-{}", "x".repeat(i * 7));
                expected.push(value.clone());
                deliveries.push(
                    p.send(
                        ProducerRecord::new(topic.as_str())
                            .key(format!("k{i}"))
                            .value(value),
                    )
                    .await
                    .unwrap(),
                );
            }
            for d in deliveries {
                d.await
                    .unwrap_or_else(|e| panic!("{listener} {mechanism:?} {codec}: {e}"));
            }
            p.close(Duration::from_secs(10)).await;
        }
        expected.sort();
        assert_eq!(
            read_back(&c, listener, mechanism, &topic, &info).await,
            expected,
            "{listener} {mechanism:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_properties_end_to_end() {
    let c = cluster();
    let (topic, info) = new_topic(&c, "sec-props").await;
    let (user, password) = c.user();
    let jaas = format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{}\";",
        password.expose()
    );
    let ca = c.file("ca.pem").display().to_string();
    let bootstrap = c.bootstrap("SASL_SSL");
    let p = Producer::from_properties([
        ("bootstrap.servers", bootstrap.as_str()),
        ("security.protocol", "SASL_SSL"),
        ("ssl.truststore.type", "PEM"),
        ("ssl.truststore.location", ca.as_str()),
        ("sasl.mechanism", "SCRAM-SHA-256"),
        ("sasl.jaas.config", jaas.as_str()),
        ("compression.type", "lz4"),
    ])
    .unwrap();
    p.send(ProducerRecord::new(topic.as_str()).value("via properties"))
        .await
        .unwrap()
        .await
        .unwrap();
    p.close(Duration::from_secs(10)).await;
    assert_eq!(
        read_back(&c, "SASL_SSL", Some("SCRAM-SHA-256"), &topic, &info).await,
        ["via properties"]
    );
}

/// Mutual TLS with the stores Java users have: a PKCS12 keystore and a
/// keytool-written PKCS12 truststore (typed, and untyped with passwords,
/// as Java's default type reads them), and an encrypted PEM key with
/// `ssl.key.password`; each producer's record is read back. A wrong store
/// password is refused when the producer is built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_stores_end_to_end() {
    let c = cluster();
    let (topic, info) = new_topic(&c, "sec-stores").await;
    let bootstrap = c.bootstrap("MTLS");
    let password = testkit::cluster_env(ROOT)
        .get("KAFKA_STORE_PASSWORD")
        .cloned()
        .expect("KAFKA_STORE_PASSWORD: restart with `cargo xtask kafka up`");
    let file = |name: &str| c.file(name).display().to_string();
    let (keystore, truststore) = (file("client.keystore.p12"), file("truststore.p12"));
    let (encrypted, ca) = (file("client.enc.pem"), file("ca.pem"));
    let common = [
        ("bootstrap.servers", bootstrap.as_str()),
        ("security.protocol", "SSL"),
    ];
    let cases: [(&str, Vec<(&str, &str)>); 3] = [
        (
            "pkcs12",
            vec![
                ("ssl.truststore.type", "PKCS12"),
                ("ssl.truststore.location", &truststore),
                ("ssl.truststore.password", &password),
                ("ssl.keystore.type", "PKCS12"),
                ("ssl.keystore.location", &keystore),
                ("ssl.keystore.password", &password),
            ],
        ),
        (
            "untyped",
            vec![
                ("ssl.truststore.location", &truststore),
                ("ssl.truststore.password", &password),
                ("ssl.keystore.location", &keystore),
                ("ssl.keystore.password", &password),
                ("ssl.key.password", &password),
            ],
        ),
        (
            "encrypted-pem",
            vec![
                ("ssl.truststore.location", &ca),
                ("ssl.keystore.location", &encrypted),
                ("ssl.key.password", &password),
            ],
        ),
    ];
    for (name, props) in &cases {
        let p = Producer::from_properties(common.iter().chain(props).copied())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        p.send(ProducerRecord::new(topic.as_str()).value(*name))
            .await
            .unwrap()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        p.close(Duration::from_secs(10)).await;
    }
    assert_eq!(
        read_back(&c, "MTLS", None, &topic, &info).await,
        ["encrypted-pem", "pkcs12", "untyped"]
    );
    let wrong = Producer::from_properties(common.iter().copied().chain([
        ("ssl.keystore.type", "PKCS12"),
        ("ssl.keystore.location", keystore.as_str()),
        ("ssl.keystore.password", "not-the-password"),
    ]))
    .unwrap_err();
    assert!(wrong.to_string().contains("wrong password"), "{wrong}");
    assert!(!wrong.to_string().contains(&password));
}

/// A TCP relay to `target` that counts the connections made through it.
async fn counting_relay(target: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, count)
}

/// Refused credentials or certificates stop the producer at once: the
/// pending send fails with the reason long before delivery.timeout.ms,
/// later sends fail immediately, and the producer does not reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_stop_the_producer_without_retrying() {
    let c = cluster();
    let (topic, _) = new_topic(&c, "sec-refused").await;
    let (user, _) = c.user();
    let cases: Vec<(&str, &str, SecurityConfig, &str)> = vec![
        (
            "wrong password",
            "SASL_SSL",
            SecurityConfig::sasl_ssl(
                c.tls(),
                SaslConfig::Scram {
                    mechanism: ScramMechanism::Sha512,
                    username: user.clone(),
                    password: Secret::new("not-the-password-8d2e"),
                },
            ),
            "SASL SCRAM-SHA-512 authentication",
        ),
        (
            "unknown user",
            "SASL_PLAINTEXT",
            SecurityConfig::sasl_plaintext(SaslConfig::Plain {
                username: "mallory".into(),
                password: Secret::new("not-the-password-8d2e"),
            }),
            "Invalid username or password",
        ),
        (
            "untrusted CA",
            "SSL",
            SecurityConfig::ssl(TlsConfig::new(TrustStore::PemFile(
                c.file("untrusted-ca.pem"),
            ))),
            "not trusted",
        ),
        (
            "no client certificate",
            "MTLS",
            SecurityConfig::ssl(c.tls()),
            "refused the client certificate",
        ),
    ];
    for (what, listener, security, says) in cases {
        let (relay, connects) = counting_relay(c.addr(listener)).await;
        // The relay's address is not in the certificate: check the chain only.
        let security = SecurityConfig {
            tls: security.tls.map(TlsConfig::without_hostname_verification),
            ..security
        };
        let p = Producer::new(
            ProducerConfig::builder()
                .bootstrap_servers(&relay)
                .security(security)
                .reconnect_backoff(Duration::from_millis(10))
                .reconnect_backoff_max(Duration::from_millis(50))
                .build()
                .unwrap(),
        )
        .unwrap();
        let started = Instant::now();
        let outcome = match p.send(ProducerRecord::new(topic.as_str()).value("x")).await {
            Ok(delivery) => delivery.await,
            Err(e) => Err(e),
        };
        let e = outcome.expect_err(what);
        assert!(
            matches!(&e, ProducerError::Fatal(FatalError::Authentication(_))),
            "{what}: {e:?}"
        );
        assert!(e.to_string().contains(says), "{what}: {e}");
        assert!(
            !e.to_string().contains("not-the-password-8d2e"),
            "{what}: {e}"
        );
        assert_eq!(e.class(), ErrorClass::InvalidConfiguration);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what}: {:?}",
            started.elapsed()
        );
        // With a 10-50 ms reconnect backoff a retrying client would open
        // dozens of connections in this second; this one opens none.
        let after = connects.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let later = p.send(ProducerRecord::new(topic.as_str()).value("y")).await;
        assert!(
            matches!(
                later,
                Err(ProducerError::Fatal(FatalError::Authentication(_)))
            ),
            "{what}: {later:?}"
        );
        assert_eq!(
            connects.load(Ordering::SeqCst),
            after,
            "{what}: the producer reconnected"
        );
        assert!(after <= 2, "{what}: {after} connections");
        p.close(Duration::from_secs(5)).await;
    }
}

/// Sessions of 5 s on the REAUTH listener; the producer sends for 13 s
/// (each connection re-authenticates at least twice) and every record is
/// written exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_runs_across_reauthentications_and_loses_nothing() {
    let c = cluster();
    for mechanism in ["SCRAM-SHA-512", "OAUTHBEARER"] {
        let (topic, info) = new_topic(&c, "sec-reauth").await;
        let p = Producer::new(
            config(&c, "REAUTH", Some(mechanism))
                .linger(Duration::from_millis(2))
                .build()
                .unwrap(),
        )
        .unwrap();
        let until = Instant::now() + Duration::from_millis(c.reauth_ms() * 2 + 3000);
        let mut deliveries = Vec::new();
        let mut n = 0usize;
        while Instant::now() < until {
            for _ in 0..50 {
                deliveries.push(
                    p.send(ProducerRecord::new(topic.as_str()).value(format!("r{n:06}")))
                        .await
                        .unwrap(),
                );
                n += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for d in deliveries {
            d.await.unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        }
        p.close(Duration::from_secs(10)).await;
        let got = read_back(&c, "PLAINTEXT", None, &topic, &info).await;
        let want: Vec<String> = (0..n).map(|i| format!("r{i:06}")).collect();
        assert_eq!(got.len(), n, "{mechanism}: records lost or duplicated");
        assert_eq!(got, want, "{mechanism}");
    }
}

/// The wrong protocol for the port: a plaintext producer on a TLS port
/// stops at once (the broker answers in TLS, which never changes); a TLS
/// producer on the PLAINTEXT port keeps trying (a broker that closes
/// during the handshake may be one turning connections away) and its
/// records fail after max.block.ms with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_protocol_for_the_port_gives_a_clear_error_in_bounded_time() {
    let c = cluster();
    let (topic, _) = new_topic(&c, "sec-wrong-port").await;
    let started = Instant::now();
    let p = Producer::new(
        ProducerConfig::builder()
            .bootstrap_servers(c.bootstrap("SSL"))
            .max_block(Duration::from_secs(3))
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = match p.send(ProducerRecord::new(topic.as_str()).value("x")).await {
        Ok(d) => d.await.unwrap_err(),
        Err(e) => e,
    };
    assert!(
        matches!(e, ProducerError::Fatal(FatalError::Authentication(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("SSL or SASL_SSL"), "{e}");
    p.close(Duration::from_secs(5)).await;

    let p = Producer::new(
        ProducerConfig::builder()
            .bootstrap_servers(c.bootstrap("PLAINTEXT"))
            .security(SecurityConfig::ssl(c.tls()))
            .max_block(Duration::from_secs(3))
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = match p.send(ProducerRecord::new(topic.as_str()).value("x")).await {
        Ok(d) => d.await.unwrap_err(),
        Err(e) => e,
    };
    assert!(matches!(e, ProducerError::TopicNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("PLAINTEXT"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    p.close(Duration::from_secs(5)).await;
}
