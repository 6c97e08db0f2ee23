//! The five configurations managed clusters and Java users hand out, as
//! pasted: each builds a `Producer` and a `TransactionalProducer` (no
//! broker is contacted: building reads the stores and checks the keys).

use kafka_producer::Producer;
use kafka_txn::TransactionalProducer;

fn fixture(name: &str) -> String {
    format!(
        "{}/../kafka-producer/src/config/security/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn five() -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let s = |v: &str| v.to_string();
    let bootstrap = ("bootstrap.servers", s("broker-1.example.com:9092"));
    vec![
        (
            "Confluent Cloud's Java snippet",
            vec![
                bootstrap.clone(),
                ("security.protocol", s("SASL_SSL")),
                ("sasl.mechanism", s("PLAIN")),
                ("sasl.jaas.config", s("org.apache.kafka.common.security.plain.PlainLoginModule required username='KEY' password='SECRET';")),
                ("client.dns.lookup", s("use_all_dns_ips")),
                ("session.timeout.ms", s("45000")),
                ("acks", s("all")),
            ],
        ),
        (
            "OAuth client credentials (KIP-768)",
            vec![
                bootstrap.clone(),
                ("security.protocol", s("SASL_SSL")),
                ("sasl.mechanism", s("OAUTHBEARER")),
                ("sasl.login.callback.handler.class", s("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler")),
                ("sasl.oauthbearer.token.endpoint.url", s("https://idp.example.com/oauth2/token")),
                ("sasl.jaas.config", s("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"app\" clientSecret=\"secret\" scope=\"kafka\";")),
            ],
        ),
        (
            "PKCS12 keystore and truststore with passwords",
            vec![
                bootstrap.clone(),
                ("security.protocol", s("SSL")),
                ("ssl.truststore.type", s("PKCS12")),
                ("ssl.truststore.location", fixture("trust.p12")),
                ("ssl.truststore.password", s("s3cret")),
                ("ssl.keystore.type", s("PKCS12")),
                ("ssl.keystore.location", fixture("modern.p12")),
                ("ssl.keystore.password", s("s3cret")),
                ("ssl.key.password", s("s3cret")),
            ],
        ),
        (
            "rebootstrap (KIP-899, KIP-1102)",
            vec![
                bootstrap.clone(),
                ("metadata.recovery.strategy", s("rebootstrap")),
                ("metadata.recovery.rebootstrap.trigger.ms", s("300000")),
            ],
        ),
        (
            "empty class lists and metrics push",
            vec![
                bootstrap,
                ("interceptor.classes", s("")),
                ("metric.reporters", s("")),
                ("enable.metrics.push", s("true")),
            ],
        ),
    ]
}

#[tokio::test]
async fn the_five_configurations_build_both_producers() {
    for (name, props) in five() {
        let p = Producer::from_properties(props.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        p.close(std::time::Duration::ZERO).await;
        let mut txn = props;
        txn.push(("transactional.id", "pasted".to_string()));
        let t = TransactionalProducer::from_properties(txn)
            .unwrap_or_else(|e| panic!("{name} (transactional): {e}"));
        t.close(std::time::Duration::ZERO).await;
    }
}
