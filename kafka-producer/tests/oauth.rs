//! OAUTHBEARER with an identity provider, against the real Kafka `cargo
//! xtask kafka up` starts: its `OAUTH` listener checks tokens with Kafka's
//! `OAuthBearerValidatorCallbackHandler` against the local provider's JWKS
//! (xtask's `idp`). Java's properties as users write them: the client
//! credentials grant (KIP-768) and the jwt-bearer grant (KIP-1139); each
//! failure gives its own error within a bound; a producer runs across
//! several token refreshes and loses nothing.

use std::time::{Duration, Instant};

use kafka_producer::{FatalError, Producer, ProducerError, ProducerRecord};
use kafka_testkit::{self as testkit, TopicInfo};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const HANDLER: &str =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler";

struct Idp {
    bootstrap: String,
    plaintext: String,
    token_url: String,
    issuer: String,
    assertion_key: String,
    assertion_issuer: String,
}

fn idp() -> Idp {
    let env = testkit::cluster_env(ROOT);
    let get = |k: &str| {
        env.get(k).cloned().unwrap_or_else(|| {
            panic!("cluster.env has no {k}: run `cargo xtask kafka up` (--security all or oauth)")
        })
    };
    Idp {
        bootstrap: get("KAFKA_OAUTH_BOOTSTRAP"),
        plaintext: get("KAFKA_BOOTSTRAP"),
        token_url: get("KAFKA_OAUTH_TOKEN_URL"),
        issuer: get("KAFKA_OAUTH_ISSUER"),
        assertion_key: get("KAFKA_OAUTH_ASSERTION_KEY"),
        assertion_issuer: get("KAFKA_OAUTH_ASSERTION_ISSUER"),
    }
}

fn jaas(client: &str, secret: &str) -> String {
    format!(
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"{client}\" clientSecret=\"{secret}\";"
    )
}

/// A producer on the OAUTH listener with the client credentials grant.
fn credentials(
    i: &Idp,
    client: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> Result<Producer, ProducerError> {
    let jaas = jaas(client, secret);
    let mut props: Vec<(&str, &str)> = vec![
        ("bootstrap.servers", &i.bootstrap),
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("sasl.login.callback.handler.class", HANDLER),
        ("sasl.oauthbearer.token.endpoint.url", &i.token_url),
        ("sasl.jaas.config", &jaas),
        ("sasl.login.retry.backoff.max.ms", "1000"),
    ];
    props.extend_from_slice(extra);
    Producer::from_properties(props)
}

async fn new_topic(i: &Idp, prefix: &str) -> (String, TopicInfo) {
    let admin = testkit::connect(i.plaintext.split(',').next().unwrap())
        .await
        .unwrap();
    let name = testkit::unique_topic(prefix);
    let info = testkit::create_topic(&admin, &name, 1, 1).await.unwrap();
    (name, info)
}

async fn values(i: &Idp, topic: &str, info: &TopicInfo) -> Vec<String> {
    let conn = testkit::connect(i.plaintext.split(',').next().unwrap())
        .await
        .unwrap();
    testkit::fetch_partition(&conn, topic, info, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_and_jwt_bearer_produce() {
    let i = idp();
    let (topic, info) = new_topic(&i, "oauth").await;
    let p = credentials(&i, "producer", "producer-secret", &[]).unwrap();
    p.send(ProducerRecord::new(topic.as_str()).value("client-credentials"))
        .await
        .unwrap()
        .await
        .unwrap();
    p.close(Duration::from_secs(10)).await;
    // KIP-1139: an ES256 assertion signed with the provider's client key.
    let p = Producer::from_properties([
        ("bootstrap.servers", i.bootstrap.as_str()),
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("sasl.login.callback.handler.class", HANDLER),
        ("sasl.oauthbearer.token.endpoint.url", &i.token_url),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;",
        ),
        (
            "sasl.oauthbearer.jwt.retriever.class",
            "org.apache.kafka.common.security.oauthbearer.JwtBearerJwtRetriever",
        ),
        ("sasl.oauthbearer.assertion.algorithm", "ES256"),
        (
            "sasl.oauthbearer.assertion.private.key.file",
            &i.assertion_key,
        ),
        ("sasl.oauthbearer.assertion.claim.iss", &i.assertion_issuer),
        ("sasl.oauthbearer.assertion.claim.sub", "jwt-bearer-app"),
        ("sasl.oauthbearer.assertion.claim.aud", &i.issuer),
        ("sasl.oauthbearer.assertion.claim.jti.include", "true"),
    ])
    .unwrap();
    p.send(ProducerRecord::new(topic.as_str()).value("jwt-bearer"))
        .await
        .unwrap()
        .await
        .unwrap();
    p.close(Duration::from_secs(10)).await;
    assert_eq!(
        values(&i, &topic, &info).await,
        ["client-credentials", "jwt-bearer"]
    );
}

/// The first send's error, which must come within `bound`.
async fn first_error(p: Producer, topic: &str, bound: Duration) -> ProducerError {
    let started = Instant::now();
    let sent = async {
        match p.send(ProducerRecord::new(topic).value("x")).await {
            Ok(d) => d.await.unwrap_err(),
            Err(e) => e,
        }
    };
    let e = tokio::time::timeout(bound, sent)
        .await
        .unwrap_or_else(|_| panic!("no error within {bound:?}"));
    assert!(started.elapsed() < bound);
    p.close(Duration::from_secs(1)).await;
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_has_its_own_error_in_bounded_time() {
    let i = idp();
    let (topic, _) = new_topic(&i, "oauth-fail").await;
    let bound = Duration::from_secs(20);
    let short = [
        ("max.block.ms", "15000"),
        ("delivery.timeout.ms", "15000"),
        ("request.timeout.ms", "5000"),
    ];
    let auth = |e: &ProducerError| match e {
        ProducerError::Fatal(FatalError::Authentication(m)) => m.to_string(),
        other => panic!("expected an authentication error, got {other}"),
    };
    // A wrong secret: the provider's 401, once (not retried).
    let e = first_error(
        credentials(&i, "producer", "wrong", &short).unwrap(),
        &topic,
        bound,
    )
    .await;
    let m = auth(&e);
    assert!(m.contains("401") && m.contains("invalid_client"), "{m}");
    assert!(!m.contains("wrong"), "the secret shows: {m}");
    // An expired token: refused before it is sent.
    let e = first_error(
        credentials(&i, "expired", "expired-secret", &short).unwrap(),
        &topic,
        bound,
    )
    .await;
    assert!(auth(&e).contains("expired"), "{e}");
    // A token signed by a key not in the JWKS: the broker refuses it.
    let e = first_error(
        credentials(&i, "forged", "forged-secret", &short).unwrap(),
        &topic,
        bound,
    )
    .await;
    // The token was issued (no 401) and sent; the broker's validator
    // refused its signature: SASL_AUTHENTICATION_FAILED with its status.
    let m = auth(&e);
    assert!(
        m.contains("SASL_AUTHENTICATION_FAILED") && m.contains(r#"{"status":"invalid_token"}"#),
        "{m}"
    );
    assert!(
        !m.contains("invalid_client") && !m.contains("expired"),
        "{m}"
    );
    // An endpoint nobody listens on: each login retries up to
    // sasl.login.retry.backoff.max.ms.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let jaas = jaas("producer", "producer-secret");
    let url = format!("http://{closed}/token");
    let p = Producer::from_properties(
        [
            ("bootstrap.servers", i.bootstrap.as_str()),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.token.endpoint.url", url.as_str()),
            ("sasl.jaas.config", jaas.as_str()),
            ("sasl.login.retry.backoff.max.ms", "1000"),
        ]
        .into_iter()
        .chain(short),
    )
    .unwrap();
    // Retriable (the endpoint may come back): the send fails at max.block.ms
    // saying why.
    let e = first_error(p, &topic, bound).await;
    assert!(e.to_string().contains("cannot connect"), "{e}");
}

/// Tokens live 4 s and sessions 3 s: the producer re-authenticates with
/// fresh tokens all along and every record lands once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_runs_across_token_refreshes_and_loses_nothing() {
    let i = idp();
    let (topic, info) = new_topic(&i, "oauth-refresh").await;
    let issued = || {
        std::fs::read_to_string(format!(
            "{ROOT}/target/kafka/cluster/security/idp-issued.log"
        ))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("short-lived\t"))
        .count()
    };
    let before = issued();
    let p = credentials(
        &i,
        "short-lived",
        "short-secret",
        &[
            ("sasl.login.refresh.min.period.seconds", "1"),
            ("sasl.login.refresh.buffer.seconds", "1"),
            ("linger.ms", "20"),
        ],
    )
    .unwrap();
    let started = Instant::now();
    let mut n = 0;
    let mut deliveries = Vec::new();
    while started.elapsed() < Duration::from_secs(12) {
        deliveries.push(
            p.send(ProducerRecord::new(topic.as_str()).value(format!("{n}")))
                .await
                .unwrap(),
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for d in deliveries {
        d.await.expect("delivered across refreshes");
    }
    p.close(Duration::from_secs(10)).await;
    let tokens = issued() - before;
    assert!(tokens >= 3, "{tokens} tokens in 12 s of 4 s tokens");
    let got = values(&i, &topic, &info).await;
    let expected: Vec<String> = (0..n).map(|k| k.to_string()).collect();
    assert_eq!(got, expected);
}
