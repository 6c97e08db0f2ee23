//! TLS and SASL against the real Kafka that `cargo xtask kafka up` starts
//! (its listeners: SSL, MTLS, SASL_PLAINTEXT, SASL_SSL, REAUTH with 5 s
//! sessions, WRONGHOST with a certificate for another host), with
//! `kafka-codec` alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_codec::security::{
    Identity, OAuthToken, SaslConfig, ScramMechanism, Secret, SecurityConfig, TlsConfig,
    TokenProvider, TrustStore,
};
use kafka_codec::{CodecError, Connection, ConnectionConfig, TlsFailure};
use kafka_protocol::generated::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::generated::{MetadataRequest, ProduceRequest};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::records::{BatchParams, RecordBatchWriter};
use kafka_testkit::{self as testkit, SecuredCluster};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const MECHANISMS: [&str; 4] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

fn cluster() -> SecuredCluster {
    SecuredCluster::from_env(ROOT)
}

fn config(security: SecurityConfig) -> ConnectionConfig {
    ConnectionConfig {
        security,
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        ..ConnectionConfig::default()
    }
}

/// Connects; a hang past 30 s fails the test (every failure must come quickly).
async fn try_connect(addr: &str, security: SecurityConfig) -> Result<Connection, CodecError> {
    tokio::time::timeout(
        Duration::from_secs(30),
        Connection::connect(addr, config(security)),
    )
    .await
    .expect("connect neither succeeded nor failed within 30 s")
}

async fn metadata_works(conn: &Connection) {
    let md = conn
        .send(&MetadataRequest {
            topics: None,
            ..Default::default()
        })
        .await
        .expect("metadata over the secured connection");
    assert!(!md.brokers.is_empty());
}

#[tokio::test]
async fn every_listener_and_mechanism_connects() {
    let c = cluster();
    let mut cases: Vec<(&str, Option<&str>)> = vec![("SSL", None), ("MTLS", None)];
    for listener in ["SASL_PLAINTEXT", "SASL_SSL"] {
        for m in MECHANISMS {
            cases.push((listener, Some(m)));
        }
    }
    for (listener, mechanism) in cases {
        let conn = try_connect(&c.addr(listener), c.config(listener, mechanism))
            .await
            .unwrap_or_else(|e| panic!("{listener} {mechanism:?}: {e}"));
        metadata_works(&conn).await;
        // The broker advertises the listener we came in on.
        let md = conn.send(&MetadataRequest::default()).await.unwrap();
        let port: i32 = c
            .addr(listener)
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            md.brokers.iter().any(|b| b.port == port),
            "{listener}: {:?}",
            md.brokers
        );
    }
}

#[tokio::test]
async fn mutual_tls_with_inline_pem_and_refused_without_a_trusted_certificate() {
    let c = cluster();
    let inline = Identity::Pem {
        certificate_chain: std::fs::read_to_string(c.file("client-cert.pem")).unwrap(),
        key: Secret::new(std::fs::read_to_string(c.file("client-key.pem")).unwrap()),
    };
    let conn = try_connect(
        &c.addr("MTLS"),
        SecurityConfig::ssl(c.tls().with_identity(inline)),
    )
    .await
    .unwrap();
    metadata_works(&conn).await;

    for (what, tls) in [
        ("no client certificate", c.tls()),
        (
            "a certificate from another CA",
            c.tls()
                .with_identity(Identity::PemFile(c.file("untrusted-client.pem"))),
        ),
    ] {
        // Under TLS 1.3 the broker checks the client's certificate after the
        // client finished its side, so the refusal comes with the first
        // read; it is still reported as the refused certificate.
        match try_connect(&c.addr("MTLS"), SecurityConfig::ssl(tls)).await {
            Err(
                e @ CodecError::Tls {
                    failure: TlsFailure::CertificateRejected,
                    ..
                },
            ) => assert!(
                e.is_authentication_failure() && e.to_string().contains("ssl.keystore"),
                "{e}"
            ),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn certificate_checks() {
    let c = cluster();
    // A CA that signed nothing the broker has.
    let untrusted = TlsConfig::new(TrustStore::PemFile(c.file("untrusted-ca.pem")));
    match try_connect(&c.addr("SSL"), SecurityConfig::ssl(untrusted)).await {
        Err(
            e @ CodecError::Tls {
                failure: TlsFailure::UntrustedCertificate,
                ..
            },
        ) => assert!(e.is_authentication_failure() && !e.is_retriable(), "{e}"),
        other => panic!("untrusted CA: {other:?}"),
    }
    // Inline PEM trust works as the file does.
    let inline = TlsConfig::new(TrustStore::Pem(
        std::fs::read_to_string(c.file("ca.pem")).unwrap(),
    ));
    metadata_works(
        &try_connect(&c.addr("SSL"), SecurityConfig::ssl(inline))
            .await
            .unwrap(),
    )
    .await;

    // A certificate for broker.other.invalid: refused with the check on...
    match try_connect(&c.addr("WRONGHOST"), SecurityConfig::ssl(c.tls())).await {
        Err(
            e @ CodecError::Tls {
                failure: TlsFailure::HostnameMismatch,
                ..
            },
        ) => assert!(
            e.to_string()
                .contains("ssl.endpoint.identification.algorithm"),
            "{e}"
        ),
        other => panic!("wrong host: {other:?}"),
    }
    // ...and accepted with it off; the chain is still checked.
    let off = c.tls().without_hostname_verification();
    metadata_works(
        &try_connect(&c.addr("WRONGHOST"), SecurityConfig::ssl(off))
            .await
            .unwrap(),
    )
    .await;
    let off_untrusted = TlsConfig::new(TrustStore::PemFile(c.file("untrusted-ca.pem")))
        .without_hostname_verification();
    assert!(matches!(
        try_connect(&c.addr("WRONGHOST"), SecurityConfig::ssl(off_untrusted)).await,
        Err(CodecError::Tls {
            failure: TlsFailure::UntrustedCertificate,
            ..
        })
    ));
    // `localhost` is in the certificate too.
    let localhost = c.addr("SSL").replace("127.0.0.1", "localhost");
    metadata_works(
        &try_connect(&localhost, SecurityConfig::ssl(c.tls()))
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn wrong_protocol_for_the_port_fails_fast_and_says_so() {
    let c = cluster();
    let started = Instant::now();
    // A TLS client on the PLAINTEXT port.
    let e = try_connect(&c.addr("PLAINTEXT"), SecurityConfig::ssl(c.tls()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CodecError::Tls {
                failure: TlsFailure::Closed | TlsFailure::Handshake,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("PLAINTEXT"), "{e}");
    // A plaintext client on a TLS port.
    let e = try_connect(&c.addr("SSL"), SecurityConfig::plaintext())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CodecError::Tls {
                failure: TlsFailure::Handshake,
                ..
            }
        ) && e.to_string().contains("SSL or SASL_SSL"),
        "{e:?}"
    );
    // A SASL client on a listener without SASL.
    let e = try_connect(
        &c.addr("SSL"),
        SecurityConfig::sasl_ssl(c.tls(), c.sasl("PLAIN")),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CodecError::Authentication { .. }), "{e:?}");
    assert!(e.to_string().contains("no SASL"), "{e}");
    // Each failed well within the connect and request timeouts.
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
}

#[derive(Debug)]
struct FixedToken(String);

impl TokenProvider for FixedToken {
    fn token(
        &self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<OAuthToken, kafka_codec::security::TokenError>>
                + Send
                + '_,
        >,
    > {
        let token = OAuthToken {
            value: Secret::new(self.0.clone()),
            lifetime: Duration::from_secs(60),
            extensions: vec![],
        };
        Box::pin(async move { Ok(token) })
    }
}

fn b64url(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn refused_credentials_are_typed_and_never_quote_the_secret() {
    let c = cluster();
    let (user, _) = c.user();
    let wrong = Secret::new("wrong-password-3f9a");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = format!(
        "{}.{}.",
        b64url(r#"{"alg":"none"}"#),
        b64url(&format!(
            r#"{{"iat":{},"exp":{},"sub":"alice"}}"#,
            now - 600,
            now - 300
        ))
    );
    let cases: Vec<(&str, SaslConfig, &str)> = vec![
        (
            "PLAIN, wrong password",
            SaslConfig::Plain {
                username: user.clone(),
                password: wrong.clone(),
            },
            "Invalid username or password",
        ),
        (
            "SCRAM-SHA-256, wrong password",
            SaslConfig::Scram {
                mechanism: ScramMechanism::Sha256,
                username: user.clone(),
                password: wrong.clone(),
            },
            "invalid credentials",
        ),
        (
            "SCRAM-SHA-512, unknown user",
            SaslConfig::Scram {
                mechanism: ScramMechanism::Sha512,
                username: "mallory".into(),
                password: wrong.clone(),
            },
            "invalid credentials",
        ),
        (
            "OAUTHBEARER, expired token",
            SaslConfig::OAuthBearer(Arc::new(FixedToken(expired.clone()))),
            "invalid_token",
        ),
        (
            "OAUTHBEARER, malformed token",
            SaslConfig::OAuthBearer(Arc::new(FixedToken("not.a-jws".into()))),
            "invalid_token",
        ),
    ];
    for listener in ["SASL_PLAINTEXT", "SASL_SSL"] {
        for (what, sasl, says) in &cases {
            let security = match listener {
                "SASL_SSL" => SecurityConfig::sasl_ssl(c.tls(), sasl.clone()),
                _ => SecurityConfig::sasl_plaintext(sasl.clone()),
            };
            let e = try_connect(&c.addr(listener), security).await.unwrap_err();
            assert!(
                matches!(e, CodecError::Authentication { .. }),
                "{listener} {what}: {e:?}"
            );
            assert!(e.is_authentication_failure() && !e.is_retriable(), "{what}");
            let text = format!("{e} {e:?}");
            assert!(text.contains(says), "{listener} {what}: {text}");
            assert!(
                !text.contains("wrong-password-3f9a") && !text.contains(&expired),
                "{what}: {text}"
            );
        }
    }
}

/// A connection of the REAUTH listener (sessions of 5 s) carries Produce
/// requests for 12 s without a pause: it re-authenticates in between, in
/// place, and no request fails or goes missing.
#[tokio::test]
async fn reauthentication_keeps_requests_flowing() {
    let c = cluster();
    let plain = testkit::connect(&c.addr("PLAINTEXT")).await.unwrap();
    for mechanism in ["SCRAM-SHA-256", "OAUTHBEARER", "PLAIN"] {
        let topic = testkit::unique_topic("reauth");
        testkit::create_topic(&plain, &topic, 1, 1).await.unwrap();
        let conn = try_connect(&c.addr("REAUTH"), c.config("REAUTH", Some(mechanism)))
            .await
            .unwrap();
        // The requests below name the topic, not its id: v12 at most.
        let version = conn
            .versions()
            .negotiate_at_most(ApiKey::Produce, Some(12))
            .unwrap();
        let until = Instant::now() + Duration::from_millis(c.reauth_ms() * 2 + 2000);
        let mut sent = 0u32;
        while Instant::now() < until {
            // Eight requests in flight at a time, answered in order.
            let mut waits = Vec::new();
            for _ in 0..8 {
                let mut w = RecordBatchWriter::new(256);
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                w.append(
                    now_ms,
                    None,
                    Some(format!("v{sent}").as_bytes()),
                    std::iter::empty::<(&str, Option<&[u8]>)>(),
                )
                .unwrap();
                let request = ProduceRequest {
                    acks: -1,
                    timeout_ms: 5000,
                    topic_data: vec![TopicProduceData {
                        name: topic.clone().into(),
                        partition_data: vec![PartitionProduceData {
                            index: 0,
                            records: Some(w.finish(BatchParams::default(), None).unwrap()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                waits.push(conn.request(&request, version).unwrap());
                sent += 1;
            }
            for w in waits {
                let r = w
                    .await
                    .unwrap_or_else(|e| panic!("{mechanism}: a request failed: {e}"));
                assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            conn.reauthentications() >= 2,
            "{mechanism}: {} re-authentications",
            conn.reauthentications()
        );
        assert!(!conn.is_closed());
        let info = testkit::topic_info(&plain, &topic).await.unwrap().unwrap();
        let got = testkit::fetch_partition(&plain, &topic, &info, 0)
            .await
            .unwrap();
        assert_eq!(got.len() as u32, sent, "{mechanism}: records lost");
        testkit::delete_topic(&plain, &topic).await.unwrap();
    }
}
