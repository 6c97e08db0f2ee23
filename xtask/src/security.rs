//! `kafka up --security ...`: TLS and SASL listeners for the test cluster,
//! with everything they need made at startup (nothing downloaded).
//!
//! - A CA, a broker certificate for `127.0.0.1` and `localhost`, a broker
//!   certificate for another host (the WRONGHOST listener), a client
//!   certificate for mutual TLS, and a second CA that signed none of them
//!   (an untrusted CA for tests), as PEM under `cluster/security/`.
//! - SASL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (users created at format
//!   time) and OAUTHBEARER with Kafka's unsecured JWS validator.
//! - Listeners by name (the protocol in brackets): `SSL`, `SASL_PLAINTEXT`,
//!   `SASL_SSL`; with `all` (the default) also `MTLS` (SSL, client certificate
//!   required), `REAUTH` (SASL_SSL, sessions of 5 s so that clients
//!   re-authenticate) and `WRONGHOST` (SSL, a certificate naming another host).
//!
//! `cluster.env` gets `KAFKA_<LISTENER>_BOOTSTRAP` for each, the PEM
//! paths and the users; `security/client-<listener>.properties` hold the
//! same settings for Java's tools.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// The SASL user for PLAIN and both SCRAMs, and its password.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "alice-secret";
/// A second PLAIN user (re-authentication must not change principals).
pub const OTHER_USER: &str = "bob";
pub const OTHER_PASSWORD: &str = "bob-secret";
/// The session length on the REAUTH listener.
pub const REAUTH_MS: u64 = 5000;
/// The password of the PKCS12 client stores and of the encrypted client key.
pub const STORE_PASSWORD: &str = "kafka-rs-store";

/// One extra listener: its name and the protocol it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub name: &'static str,
    pub protocol: &'static str,
}

const SSL: Listener = Listener {
    name: "SSL",
    protocol: "SSL",
};
const SASL_PLAINTEXT: Listener = Listener {
    name: "SASL_PLAINTEXT",
    protocol: "SASL_PLAINTEXT",
};
const SASL_SSL: Listener = Listener {
    name: "SASL_SSL",
    protocol: "SASL_SSL",
};
const MTLS: Listener = Listener {
    name: "MTLS",
    protocol: "SSL",
};
const REAUTH: Listener = Listener {
    name: "REAUTH",
    protocol: "SASL_SSL",
};
const WRONGHOST: Listener = Listener {
    name: "WRONGHOST",
    protocol: "SSL",
};
/// OAUTHBEARER tokens checked against the local identity provider's JWKS.
pub const OAUTH: Listener = Listener {
    name: "OAUTH",
    protocol: "SASL_PLAINTEXT",
};
/// Sessions on the OAUTH listener end after this (tokens are refreshed
/// at re-authentication).
pub const OAUTH_REAUTH_MS: u64 = 3000;

/// What `--security` and `--mtls` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOptions {
    pub listeners: Vec<Listener>,
    /// Client certificates required on SSL and SASL_SSL.
    pub mtls: bool,
}

impl SecurityOptions {
    /// Every listener (the default of `kafka up`).
    pub fn all() -> Self {
        Self::parse("all").expect("a known list")
    }

    /// Parses `ssl,sasl_plaintext,sasl_ssl`, `all` or `none`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut listeners = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let add: &[Listener] = match item.to_ascii_lowercase().as_str() {
                "ssl" => &[SSL],
                "sasl_plaintext" => &[SASL_PLAINTEXT],
                "sasl_ssl" => &[SASL_SSL],
                "oauth" => &[OAUTH],
                "all" => &[SSL, SASL_PLAINTEXT, SASL_SSL, MTLS, REAUTH, WRONGHOST, OAUTH],
                "none" => &[],
                other => {
                    return Err(format!(
                        "--security: unknown {other:?} (ssl, sasl_plaintext, sasl_ssl, oauth, all or none)"
                    ))
                }
            };
            for l in add {
                if !listeners.contains(l) {
                    listeners.push(*l);
                }
            }
        }
        Ok(SecurityOptions {
            listeners,
            mtls: false,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty()
    }

    fn has_sasl(&self) -> bool {
        self.listeners
            .iter()
            .any(|l| l.protocol.starts_with("SASL"))
    }

    fn has_tls(&self) -> bool {
        self.listeners.iter().any(|l| l.protocol.ends_with("SSL"))
    }
}

/// Where the PEM files are.
#[derive(Debug, Clone)]
pub struct Materials {
    pub dir: PathBuf,
    /// The local identity provider's port, when the OAUTH listener is on.
    pub idp_port: Option<u16>,
}

impl Materials {
    /// The identity provider's issuer (and base URL).
    pub fn idp_url(&self) -> Option<String> {
        self.idp_port.map(|p| format!("http://127.0.0.1:{p}"))
    }
}

impl Materials {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    fn server(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    fn wronghost(&self) -> PathBuf {
        self.dir.join("wronghost-server.pem")
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn ca(name: &str) -> Result<(CertificateParams, KeyPair, String), String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok((params, key, cert.pem()))
}

/// A leaf certificate signed by `issuer`: its PEM with the key first
/// (PKCS#8, unencrypted, as Kafka's PEM keystore wants) and the chain.
fn leaf(
    issuer: &Issuer<'_, &KeyPair>,
    ca_pem: &str,
    common_name: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<(String, String), String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(|e| e.to_string())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).map_err(|e| e.to_string())?;
    Ok((key.serialize_pem(), format!("{}{}", cert.pem(), ca_pem)))
}

/// Makes the CA and certificates under `dir`.
pub fn make_materials(dir: &Path) -> Result<Materials, String> {
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let (ca_params, ca_key, ca_pem) = ca("kafka-rs test CA")?;
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let (server_key, server_chain) = leaf(
        &issuer,
        &ca_pem,
        "127.0.0.1",
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let (wrong_key, wrong_chain) = leaf(
        &issuer,
        &ca_pem,
        "broker.other.invalid",
        &["broker.other.invalid"],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let (client_key, client_chain) = leaf(
        &issuer,
        &ca_pem,
        USER,
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    )?;
    let (other_params, other_key, other_pem) = ca("an untrusted CA")?;
    let other = Issuer::from_params(&other_params, &other_key);
    let (stranger_key, stranger_chain) = leaf(
        &other,
        &other_pem,
        "stranger",
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    )?;

    let m = Materials {
        dir: dir.to_path_buf(),
        idp_port: None,
    };
    write(&m.ca(), &ca_pem)?;
    write(&m.server(), &format!("{server_key}{server_chain}"))?;
    write(&m.wronghost(), &format!("{wrong_key}{wrong_chain}"))?;
    write(
        &dir.join("client.pem"),
        &format!("{client_key}{client_chain}"),
    )?;
    write(&dir.join("client-cert.pem"), &client_chain)?;
    write(&dir.join("client-key.pem"), &client_key)?;
    write(&dir.join("untrusted-ca.pem"), &other_pem)?;
    write(
        &dir.join("untrusted-client.pem"),
        &format!("{stranger_key}{stranger_chain}"),
    )?;
    java_style_stores(dir)?;
    Ok(m)
}

/// The client's materials as Java users have them: a PKCS12 keystore
/// (OpenSSL's default encryption: PBES2, AES-256, SHA-256 MAC), a PKCS12
/// truststore written by Java's keytool, and the client key as an
/// encrypted PKCS#8 PEM (AES-256), all under [`STORE_PASSWORD`].
fn java_style_stores(dir: &Path) -> Result<(), String> {
    crate::require_tool("openssl")?;
    crate::require_tool("keytool")?;
    let pass = format!("pass:{STORE_PASSWORD}");
    let file = |name: &str| dir.join(name).display().to_string();
    crate::run_cmd(std::process::Command::new("openssl").args([
        "pkcs12",
        "-export",
        "-inkey",
        &file("client-key.pem"),
        "-in",
        &file("client-cert.pem"),
        "-certfile",
        &file("ca.pem"),
        "-name",
        "client",
        "-passout",
        &pass,
        "-out",
        &file("client.keystore.p12"),
    ]))?;
    let _ = fs::remove_file(dir.join("truststore.p12"));
    crate::run_cmd(
        std::process::Command::new("keytool")
            .args([
                "-importcert",
                "-noprompt",
                "-alias",
                "ca",
                "-file",
                &file("ca.pem"),
                "-storetype",
                "PKCS12",
                "-keystore",
                &file("truststore.p12"),
                "-storepass",
                STORE_PASSWORD,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )?;
    crate::run_cmd(std::process::Command::new("openssl").args([
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        &file("client-key.pem"),
        "-passout",
        &pass,
        "-out",
        &file("client-key.enc.pem"),
    ]))?;
    let encrypted =
        fs::read_to_string(dir.join("client-key.enc.pem")).map_err(|e| e.to_string())?;
    let chain = fs::read_to_string(dir.join("client-cert.pem")).map_err(|e| e.to_string())?;
    write(&dir.join("client.enc.pem"), &format!("{encrypted}{chain}"))
}

/// Broker properties for the listeners (besides `listeners`,
/// `advertised.listeners` and the protocol map, which the caller writes).
pub fn broker_properties(opts: &SecurityOptions, m: &Materials) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    if opts.has_tls() {
        p.insert("ssl.keystore.type".into(), "PEM".into());
        p.insert(
            "ssl.keystore.location".into(),
            m.server().display().to_string(),
        );
        p.insert("ssl.truststore.type".into(), "PEM".into());
        p.insert(
            "ssl.truststore.location".into(),
            m.ca().display().to_string(),
        );
    }
    for l in &opts.listeners {
        let lower = l.name.to_ascii_lowercase();
        let required = *l == MTLS || (opts.mtls && (*l == SSL || *l == SASL_SSL));
        if required {
            // Listener-prefixed: an unprefixed ssl.client.auth is ignored on SASL_SSL.
            p.insert(
                format!("listener.name.{lower}.ssl.client.auth"),
                "required".into(),
            );
        }
        if *l == WRONGHOST {
            p.insert(
                format!("listener.name.{lower}.ssl.keystore.location"),
                m.wronghost().display().to_string(),
            );
        }
        if *l == REAUTH {
            p.insert(
                format!("listener.name.{lower}.connections.max.reauth.ms"),
                REAUTH_MS.to_string(),
            );
        }
        if l.protocol.starts_with("SASL") {
            p.insert(
                format!("listener.name.{lower}.plain.sasl.jaas.config"),
                format!(
                    "org.apache.kafka.common.security.plain.PlainLoginModule required user_{USER}=\"{PASSWORD}\" user_{OTHER_USER}=\"{OTHER_PASSWORD}\";"
                ),
            );
            for scram in ["scram-sha-256", "scram-sha-512"] {
                p.insert(
                    format!("listener.name.{lower}.{scram}.sasl.jaas.config"),
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;".into(),
                );
            }
            p.insert(
                format!("listener.name.{lower}.oauthbearer.sasl.jaas.config"),
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"broker\";".into(),
            );
        }
        if let (true, Some(idp)) = (*l == OAUTH, m.idp_url()) {
            // Real validation: signatures against the provider's JWKS,
            // audience and issuer checked.
            p.insert(
                format!("listener.name.{lower}.oauthbearer.sasl.server.callback.handler.class"),
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
                    .into(),
            );
            p.insert(
                format!("listener.name.{lower}.oauthbearer.connections.max.reauth.ms"),
                OAUTH_REAUTH_MS.to_string(),
            );
            p.insert(
                "sasl.oauthbearer.jwks.endpoint.url".into(),
                format!("{idp}/jwks"),
            );
            p.insert("sasl.oauthbearer.expected.audience".into(), "kafka".into());
            p.insert("sasl.oauthbearer.expected.issuer".into(), idp);
        }
    }
    if opts.has_sasl() {
        p.insert(
            "sasl.enabled.mechanisms".into(),
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER".into(),
        );
    }
    p
}

/// `StorageTool format` arguments that create the SCRAM users.
pub fn format_args(opts: &SecurityOptions) -> Vec<String> {
    if !opts.has_sasl() {
        return Vec::new();
    }
    let mut args = Vec::new();
    for (mech, iterations) in [("SCRAM-SHA-256", 4096), ("SCRAM-SHA-512", 8192)] {
        args.push("--add-scram".to_string());
        args.push(format!(
            "{mech}=[name={USER},iterations={iterations},password={PASSWORD}]"
        ));
    }
    args
}

/// The client side of `listener`, as Java properties (for Java's tools).
fn client_properties(l: &Listener, m: &Materials, mtls: bool) -> String {
    let mut s = format!("security.protocol={}\n", l.protocol);
    if l.protocol.ends_with("SSL") {
        s.push_str(&format!(
            "ssl.truststore.type=PEM\nssl.truststore.location={}\n",
            m.ca().display()
        ));
        if mtls {
            s.push_str(&format!(
                "ssl.keystore.type=PEM\nssl.keystore.location={}\n",
                m.dir.join("client.pem").display()
            ));
        }
    }
    if let (true, Some(idp)) = (*l == OAUTH, m.idp_url()) {
        s.push_str(&format!(
            "sasl.mechanism=OAUTHBEARER\nsasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler\nsasl.oauthbearer.token.endpoint.url={idp}/token\nsasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"producer\" clientSecret=\"producer-secret\";\n"
        ));
    } else if l.protocol.starts_with("SASL") {
        s.push_str(&format!(
            "sasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{USER}\" password=\"{PASSWORD}\";\n"
        ));
    }
    s
}

/// Lines for `cluster.env`, and the properties files for Java's tools.
pub fn client_settings(
    opts: &SecurityOptions,
    m: &Materials,
    bootstrap: &BTreeMap<&'static str, Vec<String>>,
) -> Result<String, String> {
    let mut env = format!(
        "KAFKA_SECURITY_DIR={}\nKAFKA_TLS_CA={}\nKAFKA_STORE_PASSWORD={STORE_PASSWORD}\nKAFKA_SASL_USERNAME={USER}\nKAFKA_SASL_PASSWORD={PASSWORD}\nKAFKA_SASL_OTHER_USERNAME={OTHER_USER}\nKAFKA_SASL_OTHER_PASSWORD={OTHER_PASSWORD}\nKAFKA_REAUTH_MS={REAUTH_MS}\n",
        m.dir.display(),
        m.ca().display()
    );
    if opts.mtls {
        env.push_str("KAFKA_MTLS_EVERYWHERE=1\n");
    }
    if let Some(idp) = m.idp_url() {
        env.push_str(&format!(
            "KAFKA_OAUTH_TOKEN_URL={idp}/token\nKAFKA_OAUTH_ISSUER={idp}\nKAFKA_OAUTH_ASSERTION_KEY={}\nKAFKA_OAUTH_ASSERTION_ISSUER={}\nKAFKA_OAUTH_REAUTH_MS={OAUTH_REAUTH_MS}\n",
            m.dir.join("oauth-assertion-key.pem").display(),
            crate::idp::ASSERTION_ISSUER,
        ));
    }
    for l in &opts.listeners {
        let addrs = bootstrap
            .get(l.name)
            .map(|v| v.join(","))
            .unwrap_or_default();
        env.push_str(&format!("KAFKA_{}_BOOTSTRAP={addrs}\n", l.name));
        let mtls = *l == MTLS || (opts.mtls && (*l == SSL || *l == SASL_SSL));
        write(
            &m.dir
                .join(format!("client-{}.properties", l.name.to_ascii_lowercase())),
            &client_properties(l, m, mtls),
        )?;
    }
    Ok(env)
}

pub fn listener_names(opts: &SecurityOptions) -> impl Iterator<Item = &Listener> {
    opts.listeners.iter()
}
