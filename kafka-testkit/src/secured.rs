//! The TLS and SASL listeners `cargo xtask kafka up` starts, and the client
//! settings for each, read from `cluster.env`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kafka_codec::security::{
    Identity, SaslConfig, ScramMechanism, Secret, SecurityConfig, SecurityProtocol, TlsConfig,
    TrustStore,
};

/// The secured side of the test cluster.
#[derive(Debug, Clone)]
pub struct SecuredCluster {
    env: BTreeMap<String, String>,
}

impl SecuredCluster {
    /// The recorded cluster's secured listeners; panics with what to run
    /// when the cluster was started without them.
    pub fn from_env(workspace_root: &str) -> Self {
        let env = super::cluster_env(workspace_root);
        assert!(
            env.contains_key("KAFKA_SECURITY_DIR"),
            "the test cluster has no TLS/SASL listeners: run `cargo xtask kafka up` (its default is --security all)"
        );
        SecuredCluster { env }
    }

    fn get(&self, key: &str) -> &str {
        self.env.get(key).unwrap_or_else(|| {
            panic!("cluster.env has no {key}: restart with `cargo xtask kafka up --security all`")
        })
    }

    /// The bootstrap list of a listener: `SSL`, `SASL_PLAINTEXT`,
    /// `SASL_SSL`, `MTLS`, `REAUTH`, `WRONGHOST`, or `PLAINTEXT`.
    pub fn bootstrap(&self, listener: &str) -> String {
        if listener == "PLAINTEXT" {
            return self.get("KAFKA_BOOTSTRAP").to_string();
        }
        self.get(&format!("KAFKA_{listener}_BOOTSTRAP")).to_string()
    }

    /// The first address of a listener.
    pub fn addr(&self, listener: &str) -> String {
        self.bootstrap(listener)
            .split(',')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// A file under the cluster's security folder (`ca.pem`, `client.pem`,
    /// `client-cert.pem`, `client-key.pem`, `untrusted-ca.pem`,
    /// `untrusted-client.pem`, `client-<listener>.properties`).
    pub fn file(&self, name: &str) -> PathBuf {
        PathBuf::from(self.get("KAFKA_SECURITY_DIR")).join(name)
    }

    /// The SASL user and password (PLAIN and both SCRAMs).
    pub fn user(&self) -> (String, Secret) {
        (
            self.get("KAFKA_SASL_USERNAME").to_string(),
            Secret::new(self.get("KAFKA_SASL_PASSWORD")),
        )
    }

    /// The second PLAIN user.
    pub fn other_user(&self) -> (String, Secret) {
        (
            self.get("KAFKA_SASL_OTHER_USERNAME").to_string(),
            Secret::new(self.get("KAFKA_SASL_OTHER_PASSWORD")),
        )
    }

    /// The session length of the REAUTH listener.
    pub fn reauth_ms(&self) -> u64 {
        self.get("KAFKA_REAUTH_MS").parse().unwrap_or(5000)
    }

    /// TLS trusting the cluster's CA.
    pub fn tls(&self) -> TlsConfig {
        TlsConfig::new(TrustStore::PemFile(self.file("ca.pem")))
    }

    /// The client certificate for mutual TLS.
    pub fn identity(&self) -> Identity {
        Identity::PemFile(self.file("client.pem"))
    }

    /// SASL settings for `mechanism` (`PLAIN`, `SCRAM-SHA-256`,
    /// `SCRAM-SHA-512`, `OAUTHBEARER`) as the test user.
    pub fn sasl(&self, mechanism: &str) -> SaslConfig {
        let (username, password) = self.user();
        match mechanism {
            "PLAIN" => SaslConfig::Plain { username, password },
            "SCRAM-SHA-256" => SaslConfig::Scram {
                mechanism: ScramMechanism::Sha256,
                username,
                password,
            },
            "SCRAM-SHA-512" => SaslConfig::Scram {
                mechanism: ScramMechanism::Sha512,
                username,
                password,
            },
            "OAUTHBEARER" => SaslConfig::unsecured_oauthbearer(username),
            other => panic!("no test settings for SASL mechanism {other}"),
        }
    }

    /// Everything a client of `listener` needs, SASL with `mechanism`.
    pub fn config(&self, listener: &str, mechanism: Option<&str>) -> SecurityConfig {
        let protocol = match listener {
            "PLAINTEXT" => SecurityProtocol::Plaintext,
            "SSL" | "WRONGHOST" => SecurityProtocol::Ssl,
            "MTLS" => SecurityProtocol::Ssl,
            "SASL_PLAINTEXT" => SecurityProtocol::SaslPlaintext,
            "SASL_SSL" | "REAUTH" => SecurityProtocol::SaslSsl,
            other => panic!("unknown listener {other}"),
        };
        let mut tls = protocol.uses_tls().then(|| self.tls());
        if listener == "MTLS" || self.env.contains_key("KAFKA_MTLS_EVERYWHERE") {
            tls = tls.map(|t| t.with_identity(self.identity()));
        }
        let sasl = protocol
            .uses_sasl()
            .then(|| self.sasl(mechanism.unwrap_or("SCRAM-SHA-512")));
        SecurityConfig {
            protocol,
            tls,
            sasl,
        }
    }
}
