//! Java's security properties: what they resolve to, what is refused and
//! why, and that no secret shows in any config or error.

use std::path::PathBuf;

use kafka_codec::security::{
    Identity, SaslConfig, ScramMechanism, Secret, SecurityConfig, SecurityProtocol, TlsConfig,
    TlsVersion, TrustStore, UnsecuredJwsProvider,
};

use super::super::keys::*;
use super::super::{ConfigError, ProducerConfig};

const SECRET: &str = "S3cr3t-7c1d";

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/config/security/testdata")
        .join(name)
        .display()
        .to_string()
}

fn props(extra: &[(&str, &str)]) -> Result<ProducerConfig, ConfigError> {
    let mut all = vec![(BOOTSTRAP_SERVERS, "localhost:9092")];
    all.extend_from_slice(extra);
    ProducerConfig::from_properties(all)
}

fn err(extra: &[(&str, &str)]) -> ConfigError {
    props(extra).expect_err("expected a configuration error")
}

fn jaas(module: &str, user: &str, password: &str) -> String {
    format!("org.apache.kafka.common.security.{module} required username=\"{user}\" password=\"{password}\";")
}

#[test]
fn java_properties_resolve() {
    let ca = fixture("ca.pem");
    let c = props(&[
        (SECURITY_PROTOCOL, "sasl_ssl"),
        (SSL_TRUSTSTORE_TYPE, "PEM"),
        (SSL_TRUSTSTORE_LOCATION, &ca),
        (SASL_MECHANISM, "SCRAM-SHA-512"),
        (
            SASL_JAAS_CONFIG,
            &jaas("scram.ScramLoginModule", "alice", SECRET),
        ),
    ])
    .unwrap();
    assert_eq!(
        c.security,
        SecurityConfig::sasl_ssl(
            TlsConfig::new(TrustStore::PemFile(ca.clone().into())),
            SaslConfig::Scram {
                mechanism: ScramMechanism::Sha512,
                username: "alice".into(),
                password: Secret::new(SECRET),
            }
        )
    );

    // Mutual TLS from a chain and key given inline; host name check off; TLS 1.3 only.
    let chain = std::fs::read_to_string(fixture("client-cert.pem")).unwrap();
    let key = std::fs::read_to_string(fixture("client-key.pem")).unwrap();
    let ca_pem = std::fs::read_to_string(&ca).unwrap();
    let c = props(&[
        (SECURITY_PROTOCOL, "SSL"),
        (SSL_TRUSTSTORE_CERTIFICATES, &ca_pem),
        (SSL_KEYSTORE_TYPE, "pem"),
        (SSL_KEYSTORE_CERTIFICATE_CHAIN, &chain),
        (SSL_KEYSTORE_KEY, &key),
        (SSL_ENDPOINT_IDENTIFICATION_ALGORITHM, ""),
        (SSL_ENABLED_PROTOCOLS, "TLSv1.3"),
        (SSL_PROTOCOL, "TLSv1.3"),
    ])
    .unwrap();
    let tls = c.security.tls.as_ref().unwrap();
    assert!(tls.cipher_suites.is_empty(), "none given: the provider's");
    assert_eq!(c.security.protocol, SecurityProtocol::Ssl);
    assert_eq!(tls.trust, TrustStore::Pem(ca_pem.trim().to_string()));
    assert!(matches!(&tls.identity, Some(Identity::Pem { .. })));
    assert!(!tls.verify_hostname);
    assert_eq!(tls.versions, [TlsVersion::Tls13]);
    assert_eq!(c.security.sasl, None);

    // PLAIN over plain TCP; Java lets either login module carry the user.
    let c = props(&[
        (SECURITY_PROTOCOL, "SASL_PLAINTEXT"),
        (SASL_MECHANISM, "PLAIN"),
        (
            SASL_JAAS_CONFIG,
            &jaas("scram.ScramLoginModule", "bob", SECRET),
        ),
    ])
    .unwrap();
    assert_eq!(
        c.security,
        SecurityConfig::sasl_plaintext(SaslConfig::Plain {
            username: "bob".into(),
            password: Secret::new(SECRET)
        })
    );

    // Unsecured OAUTHBEARER tokens, as Java's login module options say.
    let c = props(&[
        (SECURITY_PROTOCOL, "SASL_PLAINTEXT"),
        (SASL_MECHANISM, "OAUTHBEARER"),
        (
            SASL_JAAS_CONFIG,
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
             unsecuredLoginStringClaim_sub=\"svc\" unsecuredLoginLifetimeSeconds=\"120\" \
             unsecuredLoginListClaim_scope=\"|read|write\" unsecuredLoginExtension_traceId=\"t1\";",
        ),
    ])
    .unwrap();
    let expected = UnsecuredJwsProvider {
        subject: "svc".into(),
        scopes: vec!["read".into(), "write".into()],
        lifetime: std::time::Duration::from_secs(120),
        extensions: vec![("traceId".into(), "t1".into())],
    };
    assert_eq!(
        c.security.sasl,
        Some(SaslConfig::OAuthBearer(std::sync::Arc::new(expected)))
    );
}

#[test]
fn ssl_and_sasl_settings_matter_only_for_their_protocol() {
    // As in Java: shared property files carry them for every client.
    let c = props(&[
        (SSL_TRUSTSTORE_LOCATION, "/nonexistent.pem"),
        (SASL_MECHANISM, "GSSAPI"),
    ])
    .unwrap();
    assert_eq!(c.security, SecurityConfig::plaintext());
    let c = props(&[
        (SECURITY_PROTOCOL, "SASL_PLAINTEXT"),
        (SSL_TRUSTSTORE_TYPE, "JKS"),
        (SASL_MECHANISM, "PLAIN"),
        (SASL_JAAS_CONFIG, &jaas("plain.PlainLoginModule", "a", "b")),
    ])
    .unwrap();
    assert_eq!(c.security.tls, None);
}

#[test]
fn what_is_not_supported_is_refused_with_the_reason() {
    let ca = fixture("ca.pem");
    let ssl = |extra: &[(&str, &str)]| {
        let mut all = vec![
            (SECURITY_PROTOCOL, "SSL"),
            (SSL_TRUSTSTORE_LOCATION, ca.as_str()),
        ];
        all.extend_from_slice(extra);
        err(&all)
    };
    let sasl = |mechanism: Option<&str>, jaas: Option<&str>| {
        let mut all = vec![(SECURITY_PROTOCOL, "SASL_PLAINTEXT")];
        if let Some(m) = mechanism {
            all.push((SASL_MECHANISM, m));
        }
        if let Some(j) = jaas {
            all.push((SASL_JAAS_CONFIG, j));
        }
        err(&all)
    };
    let plain_jaas = jaas("plain.PlainLoginModule", "alice", SECRET);
    let cases: Vec<(ConfigError, &str, &str)> = vec![
        (err(&[(SECURITY_PROTOCOL, "TLS")]), SECURITY_PROTOCOL, "expected PLAINTEXT"),
        (
            err(&[(SECURITY_PROTOCOL, "SSL"), (SSL_TRUSTSTORE_TYPE, "JKS"), (SSL_TRUSTSTORE_LOCATION, &fixture("trust.jks"))]),
            SSL_TRUSTSTORE_LOCATION,
            "keytool -importkeystore",
        ),
        (ssl(&[(SSL_KEYSTORE_TYPE, "PKCS12")]), SSL_KEYSTORE_TYPE, "needs ssl.keystore.location"),
        (ssl(&[(SSL_KEYSTORE_TYPE, "BCFKS")]), SSL_KEYSTORE_TYPE, "expected PEM, PKCS12"),
        (ssl(&[(SSL_TRUSTSTORE_TYPE, "PEM"), (SSL_TRUSTSTORE_PASSWORD, SECRET)]), SSL_TRUSTSTORE_PASSWORD, "no password"),
        (ssl(&[(SSL_KEYSTORE_PASSWORD, SECRET)]), SSL_KEYSTORE_PASSWORD, "no password"),
        (
            ssl(&[(SSL_KEYSTORE_TYPE, "PKCS12"), (SSL_KEYSTORE_LOCATION, &fixture("modern.p12"))]),
            SSL_KEYSTORE_PASSWORD,
            "needs ssl.keystore.password",
        ),
        (
            ssl(&[(SSL_KEYSTORE_LOCATION, &fixture("modern.p12")), (SSL_KEYSTORE_PASSWORD, SECRET)]),
            SECURITY_PROTOCOL,
            "wrong password",
        ),
        (
            ssl(&[(SSL_KEYSTORE_LOCATION, &fixture("leaf.enc.pem")), (SSL_KEY_PASSWORD, SECRET)]),
            SECURITY_PROTOCOL,
            "cannot be read with ssl.key.password",
        ),
        (
            ssl(&[(SSL_KEYSTORE_LOCATION, &fixture("leaf.enc.pem"))]),
            SECURITY_PROTOCOL,
            "set ssl.key.password",
        ),
        (ssl(&[(SSL_TRUSTSTORE_CERTIFICATES, "x")]), SSL_TRUSTSTORE_CERTIFICATES, "not both"),
        (ssl(&[(SSL_KEYSTORE_KEY, SECRET)]), SSL_KEYSTORE_CERTIFICATE_CHAIN, "go together"),
        (
            ssl(&[(SSL_KEYSTORE_LOCATION, "/k.pem"), (SSL_KEYSTORE_KEY, SECRET)]),
            SSL_KEYSTORE_LOCATION,
            "not both",
        ),
        (ssl(&[(SSL_ENDPOINT_IDENTIFICATION_ALGORITHM, "ldaps")]), SSL_ENDPOINT_IDENTIFICATION_ALGORITHM, "https"),
        (ssl(&[(SSL_ENABLED_PROTOCOLS, "TLSv1.1,TLSv1.2")]), SSL_ENABLED_PROTOCOLS, "only TLSv1.2 and TLSv1.3"),
        (ssl(&[(SSL_PROTOCOL, "SSLv3")]), SSL_PROTOCOL, "TLSv1.3"),
        (
            ssl(&[(SSL_CIPHER_SUITES, "TLS_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA")]),
            SSL_CIPHER_SUITES,
            "\"TLS_RSA_WITH_AES_128_CBC_SHA\" for ssl.cipher.suites: not a supported suite; the supported suites are TLS_",
        ),
        (
            err(&[(SECURITY_PROTOCOL, "SSL"), (SSL_TRUSTSTORE_LOCATION, "/nonexistent/ca.pem")]),
            SECURITY_PROTOCOL,
            "/nonexistent/ca.pem",
        ),
        (
            err(&[(SECURITY_PROTOCOL, "SSL"), (SSL_TRUSTSTORE_LOCATION, &fixture("README.md"))]),
            SECURITY_PROTOCOL,
            "no PEM certificate",
        ),
        (sasl(None, Some(&plain_jaas)), SASL_MECHANISM, "GSSAPI (Kerberos, Java's default) is not supported"),
        (sasl(Some("GSSAPI"), Some(&plain_jaas)), SASL_MECHANISM, "GSSAPI"),
        (sasl(Some("DIGEST-MD5"), Some(&plain_jaas)), SASL_MECHANISM, "expected PLAIN"),
        (sasl(Some("PLAIN"), None), SASL_JAAS_CONFIG, "needs sasl.jaas.config"),
        (
            sasl(Some("PLAIN"), Some("com.sun.security.auth.module.Krb5LoginModule required;")),
            SASL_JAAS_CONFIG,
            "PlainLoginModule or ScramLoginModule",
        ),
        (
            sasl(Some("SCRAM-SHA-256"), Some(&jaas("scram.ScramLoginModule", "", SECRET))),
            SASL_JAAS_CONFIG,
            "non-empty username and password",
        ),
        (
            sasl(
                Some("SCRAM-SHA-256"),
                Some(&format!(
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"t\" password=\"{SECRET}\" tokenauth=\"true\";"
                )),
            ),
            SASL_JAAS_CONFIG,
            "delegation tokens",
        ),
        (
            sasl(Some("OAUTHBEARER"), Some("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;")),
            SASL_JAAS_CONFIG,
            "TokenProvider",
        ),
        (sasl(Some("OAUTHBEARER"), Some(&plain_jaas)), SASL_JAAS_CONFIG, "OAuthBearerLoginModule"),
        (
            sasl(Some("PLAIN"), Some(&format!("PlainLoginModule required password=\"{SECRET}\""))),
            SASL_JAAS_CONFIG,
            "end with ';'",
        ),
        (
            err(&[("sasl.login.callback.handler.class", "com.example.Handler")]),
            "sasl.login.callback.handler.class",
            "TokenProvider",
        ),
    ];
    for (e, key, says) in cases {
        assert!(
            e.keys.iter().any(|k| k == key),
            "{key} not in {:?}: {e}",
            e.keys
        );
        assert!(e.message.contains(says), "{key}: {e}");
        assert!(
            !format!("{e} {e:?}").contains(SECRET),
            "{key}: the secret shows in {e:?}"
        );
    }
}

#[test]
fn typed_settings_and_properties_do_not_mix() {
    let e = ProducerConfig::builder()
        .bootstrap_servers("b:1")
        .property(SECURITY_PROTOCOL, "SSL")
        .security(SecurityConfig::plaintext())
        .build()
        .unwrap_err();
    assert_eq!(e.keys, [SECURITY_PROTOCOL]);
    // A typed configuration is checked as properties are.
    let e = ProducerConfig::builder()
        .bootstrap_servers("b:1")
        .security(SecurityConfig {
            protocol: SecurityProtocol::SaslSsl,
            tls: None,
            sasl: None,
        })
        .build()
        .unwrap_err();
    assert!(e.message.contains("needs TLS settings"), "{e}");
}

/// Every type that can hold a secret, formatted every way: the secret's
/// text never shows.
#[test]
fn no_secret_in_any_config_or_error() {
    let key = std::fs::read_to_string(fixture("client-key.pem")).unwrap();
    let key_body: String = key.lines().nth(1).unwrap().to_string();
    let ca = fixture("ca.pem");
    let configs = [
        props(&[
            (SECURITY_PROTOCOL, "SASL_SSL"),
            (SSL_TRUSTSTORE_LOCATION, &ca),
            (
                SSL_KEYSTORE_CERTIFICATE_CHAIN,
                &std::fs::read_to_string(fixture("client-cert.pem")).unwrap(),
            ),
            (SSL_KEYSTORE_KEY, &key),
            (SASL_MECHANISM, "PLAIN"),
            (
                SASL_JAAS_CONFIG,
                &jaas("plain.PlainLoginModule", "alice", SECRET),
            ),
        ])
        .unwrap(),
        props(&[
            (SECURITY_PROTOCOL, "SASL_PLAINTEXT"),
            (SASL_MECHANISM, "SCRAM-SHA-256"),
            (
                SASL_JAAS_CONFIG,
                &jaas("scram.ScramLoginModule", "alice", SECRET),
            ),
        ])
        .unwrap(),
    ];
    for c in &configs {
        let text = format!(
            "{c:?} {:?} {:?} {:?}",
            c.security, c.security.tls, c.security.sasl
        );
        assert!(
            !text.contains(SECRET) && !text.contains(&key_body),
            "{text}"
        );
        assert!(text.contains("[hidden]"));
    }
    let builder = ProducerConfig::builder()
        .property(SECURITY_PROTOCOL, "SASL_PLAINTEXT")
        .property(
            SASL_JAAS_CONFIG,
            jaas("plain.PlainLoginModule", "alice", SECRET),
        )
        .property(SSL_KEYSTORE_KEY, &key);
    assert!(!format!("{builder:?}").contains(SECRET));
    assert!(!format!("{builder:?}").contains(&key_body));
    let jaas =
        kafka_codec::security::parse_jaas_config(&jaas("plain.PlainLoginModule", "alice", SECRET))
            .unwrap();
    assert!(!format!("{jaas:?}").contains(SECRET));
    let token = UnsecuredJwsProvider::new("alice").token_at(std::time::SystemTime::now());
    assert!(!format!("{token:?}").contains(token.value.expose()));
    let fatal = crate::ProducerError::Fatal(crate::FatalError::Authentication(
        "SASL PLAIN authentication with 127.0.0.1:1 failed: SASL_AUTHENTICATION_FAILED".into(),
    ));
    assert!(!format!("{fatal} {fatal:?}").contains(SECRET));
}

/// Java users' stores: PKCS12 (typed, or untyped with a password, as
/// Java's default JKS type reads them), a JKS-typed PKCS12 file, and an
/// encrypted PEM key with `ssl.key.password`. The configuration builds
/// the TLS setup, so each store is read here.
#[test]
fn pkcs12_stores_and_encrypted_keys_are_read() {
    const STORE_PASSWORD: &str = "s3cret";
    let trust = fixture("trust.p12");
    let keystore = fixture("modern.p12");
    let typed = props(&[
        (SECURITY_PROTOCOL, "SSL"),
        (SSL_TRUSTSTORE_TYPE, "PKCS12"),
        (SSL_TRUSTSTORE_LOCATION, &trust),
        (SSL_TRUSTSTORE_PASSWORD, STORE_PASSWORD),
        (SSL_KEYSTORE_TYPE, "PKCS12"),
        (SSL_KEYSTORE_LOCATION, &keystore),
        (SSL_KEYSTORE_PASSWORD, STORE_PASSWORD),
    ])
    .unwrap();
    let tls = typed.security.tls.clone().unwrap();
    assert_eq!(
        tls.trust,
        TrustStore::Pkcs12File {
            path: trust.clone().into(),
            password: Some(Secret::new(STORE_PASSWORD))
        }
    );
    assert!(matches!(tls.identity, Some(Identity::Pkcs12File { .. })));
    assert!(
        !format!("{typed:?}").contains(STORE_PASSWORD),
        "no secret in Debug"
    );
    let untyped = props(&[
        (SECURITY_PROTOCOL, "SSL"),
        (SSL_TRUSTSTORE_LOCATION, &trust),
        (SSL_TRUSTSTORE_PASSWORD, STORE_PASSWORD),
        (SSL_KEYSTORE_TYPE, "JKS"),
        (SSL_KEYSTORE_LOCATION, &keystore),
        (SSL_KEYSTORE_PASSWORD, STORE_PASSWORD),
        (SSL_KEY_PASSWORD, STORE_PASSWORD),
    ])
    .unwrap();
    assert_eq!(untyped.security.tls.as_ref().unwrap().trust, tls.trust);
    let encrypted = props(&[
        (SECURITY_PROTOCOL, "SSL"),
        (SSL_TRUSTSTORE_LOCATION, &fixture("ca.pem")),
        (
            SSL_KEYSTORE_CERTIFICATE_CHAIN,
            &std::fs::read_to_string(fixture("leaf.crt")).unwrap(),
        ),
        (
            SSL_KEYSTORE_KEY,
            &std::fs::read_to_string(fixture("leaf.aes.key")).unwrap(),
        ),
        (SSL_KEY_PASSWORD, STORE_PASSWORD),
    ])
    .unwrap();
    assert_eq!(
        encrypted.security.tls.unwrap().key_password,
        Some(Secret::new(STORE_PASSWORD))
    );
}

/// OAuth with an identity provider, as Java users configure it (KIP-768
/// with the JAAS options, the 4.x keys, KIP-1139's jwt-bearer, a token
/// file), and what is refused.
#[test]
fn oauth_identity_provider_settings() {
    let sasl = |extra: &[(&str, &str)]| {
        let mut all = vec![
            (SECURITY_PROTOCOL, "SASL_PLAINTEXT"),
            (SASL_MECHANISM, "OAUTHBEARER"),
        ];
        all.extend_from_slice(extra);
        props(&all)
    };
    let handler = (
        SASL_LOGIN_CALLBACK_HANDLER_CLASS,
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    );
    let endpoint = (
        SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
        "https://idp.example.com/oauth2/token",
    );
    let kip768 = format!(
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"app\" clientSecret=\"{SECRET}\" scope=\"kafka\" extension_logicalCluster=\"lkc-1\";"
    );
    let c = sasl(&[handler, endpoint, (SASL_JAAS_CONFIG, &kip768)]).unwrap();
    let shown = format!("{c:?}");
    assert!(
        shown.contains("OidcTokenProvider") && shown.contains("lkc-1"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "no secret in Debug");
    let module = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;";
    // The 4.x keys, without the handler class (the endpoint says it).
    sasl(&[
        endpoint,
        (SASL_JAAS_CONFIG, module),
        (SASL_OAUTHBEARER_CLIENT_ID, "app"),
        (SASL_OAUTHBEARER_CLIENT_SECRET, SECRET),
        (SASL_LOGIN_REFRESH_WINDOW_FACTOR, "0.9"),
        (SASL_LOGIN_CONNECT_TIMEOUT_MS, "5000"),
    ])
    .unwrap();
    // jwt-bearer and a token file.
    sasl(&[
        endpoint,
        (SASL_JAAS_CONFIG, module),
        (
            SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS,
            "org.apache.kafka.common.security.oauthbearer.JwtBearerJwtRetriever",
        ),
        (
            SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE,
            "/etc/kafka/assertion-key.pem",
        ),
        (SASL_OAUTHBEARER_ASSERTION_ALGORITHM, "ES256"),
        (
            SASL_OAUTHBEARER_ASSERTION_CLAIM_AUD,
            "https://idp.example.com",
        ),
    ])
    .unwrap();
    sasl(&[
        (SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, "file:///run/token"),
        (SASL_JAAS_CONFIG, module),
    ])
    .unwrap();
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let refused: Vec<Case> = vec![
        (
            vec![handler, (SASL_JAAS_CONFIG, module)],
            SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
            "needs",
        ),
        (
            vec![endpoint, (SASL_JAAS_CONFIG, module)],
            SASL_OAUTHBEARER_CLIENT_ID,
            "client credentials grant needs",
        ),
        (
            vec![
                endpoint,
                (SASL_JAAS_CONFIG, module),
                (SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE, "/k.pem"),
            ],
            SASL_OAUTHBEARER_CLIENT_ID,
            "JwtBearerJwtRetriever",
        ),
        (
            vec![
                endpoint,
                (SASL_JAAS_CONFIG, module),
                (
                    SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS,
                    "com.example.Retriever",
                ),
            ],
            SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS,
            "cannot be loaded",
        ),
        (
            vec![
                endpoint,
                (SASL_JAAS_CONFIG, &kip768),
                (SASL_LOGIN_REFRESH_WINDOW_FACTOR, "0.2"),
            ],
            SASL_LOGIN_REFRESH_WINDOW_FACTOR,
            "from 0.5 to 1",
        ),
        (
            vec![
                (SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, "ldap://x"),
                (SASL_JAAS_CONFIG, module),
            ],
            SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
            "https://",
        ),
    ];
    for (extra, key, says) in refused {
        let e = sasl(&extra).unwrap_err();
        assert!(
            e.keys.iter().any(|k| k == key),
            "{key} not in {:?}: {e}",
            e.keys
        );
        assert!(e.message.contains(says), "{key}: {e}");
        assert!(!format!("{e:?}").contains(SECRET));
    }
}

#[test]
fn cipher_suites_are_javas_names_in_order() {
    let c = props(&[
        (SECURITY_PROTOCOL, "SSL"),
        (
            SSL_CIPHER_SUITES,
            " TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 , TLS_AES_128_GCM_SHA256",
        ),
    ])
    .unwrap();
    assert_eq!(
        c.security.tls.unwrap().cipher_suites,
        [
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_AES_128_GCM_SHA256"
        ]
    );
    // Java's default (empty): the provider's suites.
    let c = props(&[(SECURITY_PROTOCOL, "SSL"), (SSL_CIPHER_SUITES, "")]).unwrap();
    assert!(c.security.tls.unwrap().cipher_suites.is_empty());
}
