//! `security.protocol`, `ssl.*` and `sasl.*`: Java's properties resolved
//! into [`SecurityConfig`], with Java's rules, and errors for what this
//! client does not do (JKS stores, GSSAPI, Java callback classes) instead
//! of a silent fallback.
//!
//! Values of these keys are never quoted in an error: several are secrets.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_codec::security::{
    parse_jaas_config, Identity, JaasConfig, SaslConfig, ScramMechanism, Secret, SecurityConfig,
    SecurityProtocol, TlsConfig, TlsVersion, TrustStore, UnsecuredJwsProvider,
};

use super::keys::*;
use super::ConfigError;

mod oauth;

/// The security properties as given (every value kept as a [`Secret`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SecurityProps {
    values: BTreeMap<&'static str, Secret>,
}

/// Keys this client understands.
const KEYS: &[&str] = &[
    SECURITY_PROTOCOL,
    SSL_TRUSTSTORE_TYPE,
    SSL_TRUSTSTORE_LOCATION,
    SSL_TRUSTSTORE_CERTIFICATES,
    SSL_TRUSTSTORE_PASSWORD,
    SSL_KEYSTORE_TYPE,
    SSL_KEYSTORE_LOCATION,
    SSL_KEYSTORE_CERTIFICATE_CHAIN,
    SSL_KEYSTORE_KEY,
    SSL_KEYSTORE_PASSWORD,
    SSL_KEY_PASSWORD,
    SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
    SSL_PROTOCOL,
    SSL_ENABLED_PROTOCOLS,
    SSL_CIPHER_SUITES,
    SASL_MECHANISM,
    SASL_JAAS_CONFIG,
    SASL_LOGIN_CALLBACK_HANDLER_CLASS,
    SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
    SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS,
    SASL_OAUTHBEARER_CLIENT_ID,
    SASL_OAUTHBEARER_CLIENT_SECRET,
    SASL_OAUTHBEARER_SCOPE,
    SASL_OAUTHBEARER_SUB_CLAIM_NAME,
    SASL_OAUTHBEARER_HEADER_URLENCODE,
    SASL_OAUTHBEARER_ASSERTION_ALGORITHM,
    SASL_OAUTHBEARER_ASSERTION_CLAIM_AUD,
    SASL_OAUTHBEARER_ASSERTION_CLAIM_EXP_SECONDS,
    SASL_OAUTHBEARER_ASSERTION_CLAIM_ISS,
    SASL_OAUTHBEARER_ASSERTION_CLAIM_JTI_INCLUDE,
    SASL_OAUTHBEARER_ASSERTION_CLAIM_NBF_SECONDS,
    SASL_OAUTHBEARER_ASSERTION_CLAIM_SUB,
    SASL_OAUTHBEARER_ASSERTION_FILE,
    SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE,
    SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_PASSPHRASE,
    SASL_OAUTHBEARER_ASSERTION_TEMPLATE_FILE,
    SASL_LOGIN_CONNECT_TIMEOUT_MS,
    SASL_LOGIN_READ_TIMEOUT_MS,
    SASL_LOGIN_REFRESH_BUFFER_SECONDS,
    SASL_LOGIN_REFRESH_MIN_PERIOD_SECONDS,
    SASL_LOGIN_REFRESH_WINDOW_FACTOR,
    SASL_LOGIN_REFRESH_WINDOW_JITTER,
    SASL_LOGIN_RETRY_BACKOFF_MS,
    SASL_LOGIN_RETRY_BACKOFF_MAX_MS,
];

impl SecurityProps {
    /// Takes `key` if it is a security key: `None` when it is not one.
    pub(crate) fn apply(&mut self, key: &str, raw: &str) -> Option<Result<(), ConfigError>> {
        if let Some(&known) = KEYS.iter().find(|k| **k == key) {
            self.values.insert(known, Secret::new(raw));
            return Some(Ok(()));
        }
        // The other ssl.* and sasl.* keys: the Java key table decides.
        None
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|s| java_trim(s.expose()))
    }

    /// `get`, with an empty value read as unset (Java's `null` for most keys).
    fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// The settings, checked with Java's rules.
    pub(crate) fn resolve(&self) -> Result<SecurityConfig, ConfigError> {
        let protocol = match self.get(SECURITY_PROTOCOL) {
            None => SecurityProtocol::Plaintext,
            Some(p) => SecurityProtocol::parse(p).ok_or_else(|| {
                ConfigError::invalid(
                    SECURITY_PROTOCOL,
                    p,
                    "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                )
            })?,
        };
        // A class Java could not load fails whatever the protocol, as in Java.
        oauth::wanted(self)?;
        // As in Java, ssl.* settings matter only with TLS and sasl.* only with SASL.
        let tls = if protocol.uses_tls() {
            Some(self.tls()?)
        } else {
            None
        };
        let sasl = if protocol.uses_sasl() {
            Some(self.sasl()?)
        } else {
            None
        };
        Ok(SecurityConfig {
            protocol,
            tls,
            sasl,
        })
    }

    /// How a store is read: `ssl.*.type` as given, or, unset, PKCS12 when
    /// the store has a password (Java's default type, JKS, reads PKCS12
    /// stores, which keytool writes since Java 9) and PEM otherwise.
    fn store_format(
        &self,
        type_key: &'static str,
        location_key: &'static str,
        password_key: &'static str,
    ) -> Result<StoreFormat, ConfigError> {
        let password = self.non_empty(password_key).is_some();
        let format = match self.non_empty(type_key) {
            None if password && self.non_empty(location_key).is_some() => StoreFormat::Pkcs12,
            None => StoreFormat::Pem,
            Some(t) if t.eq_ignore_ascii_case("PEM") => StoreFormat::Pem,
            Some(t) if t.eq_ignore_ascii_case("PKCS12") => StoreFormat::Pkcs12,
            Some(t) if t.eq_ignore_ascii_case("JKS") => {
                // As Java's keystore.type.compat: a JKS-typed file that is
                // PKCS12 is read; a true JKS store is refused here.
                if let Some(path) = self.non_empty(location_key) {
                    if is_jks(path) {
                        return Err(ConfigError::new(
                            [type_key, location_key],
                            format!(
                                "{location_key} is a JKS store, which only Java reads: convert it with \
                                 `keytool -importkeystore -srckeystore <file> -destkeystore <file>.p12 \
                                 -deststoretype PKCS12` and set {type_key}=PKCS12"
                            ),
                        ));
                    }
                }
                StoreFormat::Pkcs12
            }
            Some(t) => {
                return Err(ConfigError::invalid(
                    type_key,
                    t,
                    "expected PEM, PKCS12 (or JKS holding a PKCS12 store)",
                ))
            }
        };
        match format {
            StoreFormat::Pem if password => Err(ConfigError::new(
                [password_key],
                format!("{password_key} is for PKCS12 stores; PEM stores have no password"),
            )),
            StoreFormat::Pkcs12 if self.non_empty(location_key).is_none() => Err(ConfigError::new(
                [type_key, location_key],
                format!("{type_key}=PKCS12 needs {location_key}, the store's file"),
            )),
            f => Ok(f),
        }
    }

    fn tls(&self) -> Result<TlsConfig, ConfigError> {
        let trust_format = self.store_format(
            SSL_TRUSTSTORE_TYPE,
            SSL_TRUSTSTORE_LOCATION,
            SSL_TRUSTSTORE_PASSWORD,
        )?;
        let key_format = self.store_format(
            SSL_KEYSTORE_TYPE,
            SSL_KEYSTORE_LOCATION,
            SSL_KEYSTORE_PASSWORD,
        )?;
        let secret = |key| self.non_empty(key).map(Secret::new);
        let trust = match (
            self.non_empty(SSL_TRUSTSTORE_LOCATION),
            self.non_empty(SSL_TRUSTSTORE_CERTIFICATES),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    [SSL_TRUSTSTORE_LOCATION, SSL_TRUSTSTORE_CERTIFICATES],
                    format!(
                        "set {SSL_TRUSTSTORE_LOCATION} or {SSL_TRUSTSTORE_CERTIFICATES}, not both"
                    ),
                ))
            }
            (Some(path), None) if trust_format == StoreFormat::Pkcs12 => TrustStore::Pkcs12File {
                path: path.into(),
                password: secret(SSL_TRUSTSTORE_PASSWORD),
            },
            (Some(path), None) => TrustStore::PemFile(path.into()),
            (None, Some(pem)) => TrustStore::Pem(pem.to_string()),
            (None, None) => TrustStore::Platform,
        };
        if key_format == StoreFormat::Pkcs12 && secret(SSL_KEYSTORE_PASSWORD).is_none() {
            return Err(ConfigError::new(
                [SSL_KEYSTORE_LOCATION, SSL_KEYSTORE_PASSWORD],
                format!("a PKCS12 {SSL_KEYSTORE_LOCATION} needs {SSL_KEYSTORE_PASSWORD}"),
            ));
        }
        let identity = match (
            self.non_empty(SSL_KEYSTORE_LOCATION),
            self.non_empty(SSL_KEYSTORE_CERTIFICATE_CHAIN),
            self.non_empty(SSL_KEYSTORE_KEY),
        ) {
            (None, None, None) => None,
            (Some(path), None, None) => Some(match (key_format, secret(SSL_KEYSTORE_PASSWORD)) {
                (StoreFormat::Pkcs12, Some(password)) => Identity::Pkcs12File {
                    path: path.into(),
                    password,
                },
                _ => Identity::PemFile(path.into()),
            }),
            (None, Some(chain), Some(key)) => Some(Identity::Pem {
                certificate_chain: chain.to_string(),
                key: Secret::new(key),
            }),
            (Some(_), _, _) => {
                return Err(ConfigError::new(
                    [SSL_KEYSTORE_LOCATION, SSL_KEYSTORE_KEY],
                    format!(
                        "set {SSL_KEYSTORE_LOCATION}, or {SSL_KEYSTORE_CERTIFICATE_CHAIN} with {SSL_KEYSTORE_KEY}, not both"
                    ),
                ))
            }
            (None, _, _) => {
                return Err(ConfigError::new(
                    [SSL_KEYSTORE_CERTIFICATE_CHAIN, SSL_KEYSTORE_KEY],
                    format!("{SSL_KEYSTORE_CERTIFICATE_CHAIN} and {SSL_KEYSTORE_KEY} go together"),
                ))
            }
        };
        let verify_hostname = match self.get(SSL_ENDPOINT_IDENTIFICATION_ALGORITHM) {
            None => true,
            Some("") => false,
            Some(a) if a.eq_ignore_ascii_case("https") => true,
            Some(a) => {
                return Err(ConfigError::invalid(
                    SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
                    a,
                    "expected https, or empty to turn the host name check off",
                ))
            }
        };
        if let Some(p) = self.non_empty(SSL_PROTOCOL) {
            if !["TLS", "TLSv1.2", "TLSv1.3"].contains(&p) {
                return Err(ConfigError::invalid(
                    SSL_PROTOCOL,
                    p,
                    "expected TLSv1.3, TLSv1.2 or TLS (TLS 1.0 and 1.1 are not supported)",
                ));
            }
        }
        let mut versions = vec![TlsVersion::Tls12, TlsVersion::Tls13];
        if let Some(list) = self.get(SSL_ENABLED_PROTOCOLS) {
            versions.clear();
            for name in java_list(list) {
                let v = match name.as_str() {
                    "TLSv1.2" => TlsVersion::Tls12,
                    "TLSv1.3" => TlsVersion::Tls13,
                    other => {
                        return Err(ConfigError::invalid(
                            SSL_ENABLED_PROTOCOLS,
                            other,
                            "only TLSv1.2 and TLSv1.3 are supported",
                        ))
                    }
                };
                if !versions.contains(&v) {
                    versions.push(v);
                }
            }
            if versions.is_empty() {
                return Err(ConfigError::new(
                    [SSL_ENABLED_PROTOCOLS],
                    format!("{SSL_ENABLED_PROTOCOLS} is empty"),
                ));
            }
        }
        let cipher_suites = self
            .get(SSL_CIPHER_SUITES)
            .map(java_list)
            .unwrap_or_default();
        check_cipher_suites(&cipher_suites)?;
        let mut tls = TlsConfig::new(trust);
        tls.cipher_suites = cipher_suites;
        tls.identity = identity;
        tls.key_password = secret(SSL_KEY_PASSWORD);
        tls.verify_hostname = verify_hostname;
        tls.versions = versions;
        Ok(tls)
    }

    fn sasl(&self) -> Result<SaslConfig, ConfigError> {
        // Java's default mechanism is GSSAPI.
        let mechanism = self.non_empty(SASL_MECHANISM).unwrap_or("GSSAPI");
        let upper = mechanism.to_ascii_uppercase();
        if upper == "GSSAPI" {
            return Err(ConfigError::new(
                [SASL_MECHANISM],
                format!(
                    "{SASL_MECHANISM}=GSSAPI (Kerberos, Java's default) is not supported: set \
                     {SASL_MECHANISM} to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"
                ),
            ));
        }
        if !["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"].contains(&upper.as_str()) {
            return Err(ConfigError::invalid(
                SASL_MECHANISM,
                mechanism,
                "expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
            ));
        }
        let Some(text) = self.non_empty(SASL_JAAS_CONFIG) else {
            return Err(ConfigError::new(
                [SASL_JAAS_CONFIG],
                format!(
                    "{SASL_MECHANISM}={upper} needs {SASL_JAAS_CONFIG} (a JAAS file through \
                     java.security.auth.login.config is not read)"
                ),
            ));
        };
        let jaas = parse_jaas_config(text).map_err(|e| ConfigError::new([SASL_JAAS_CONFIG], e))?;
        let err = |why: String| ConfigError::new([SASL_MECHANISM, SASL_JAAS_CONFIG], why);
        match upper.as_str() {
            "OAUTHBEARER" if oauth::wanted(self)? => {
                if jaas.module_name() != "OAuthBearerLoginModule" {
                    return Err(err(format!(
                        "{SASL_MECHANISM}=OAUTHBEARER needs OAuthBearerLoginModule in {SASL_JAAS_CONFIG}, not {}",
                        jaas.login_module
                    )));
                }
                oauth::provider(self, &jaas)
            }
            "OAUTHBEARER" => unsecured_jws(&jaas).map_err(err),
            mech => {
                // Java takes the user and password from either module (both
                // only put them in the login subject); others are refused.
                if !matches!(jaas.module_name(), "PlainLoginModule" | "ScramLoginModule") {
                    return Err(err(format!(
                        "{SASL_MECHANISM}={mech} needs PlainLoginModule or ScramLoginModule in \
                         {SASL_JAAS_CONFIG}, not {}",
                        jaas.login_module
                    )));
                }
                if jaas
                    .option("tokenauth")
                    .is_some_and(|t| t.eq_ignore_ascii_case("true"))
                {
                    return Err(err(format!(
                        "{SASL_JAAS_CONFIG}: tokenauth (delegation tokens) is not supported"
                    )));
                }
                let username = jaas.option("username").filter(|u| !u.is_empty());
                let password = jaas.option("password").filter(|p| !p.is_empty());
                let (Some(username), Some(password)) = (username, password) else {
                    return Err(err(format!(
                        "{SASL_JAAS_CONFIG} needs non-empty username and password options for {mech}"
                    )));
                };
                let username = username.to_string();
                let password = Secret::new(password);
                Ok(match mech {
                    "PLAIN" => SaslConfig::Plain { username, password },
                    "SCRAM-SHA-256" => SaslConfig::Scram {
                        mechanism: ScramMechanism::Sha256,
                        username,
                        password,
                    },
                    _ => SaslConfig::Scram {
                        mechanism: ScramMechanism::Sha512,
                        username,
                        password,
                    },
                })
            }
        }
    }
}

/// OAUTHBEARER from properties: Kafka's unsecured JWS login options
/// (`unsecuredLoginStringClaim_sub`, `unsecuredLoginLifetimeSeconds`,
/// `unsecuredLoginListClaim_scope`, `unsecuredLoginExtension_<name>`).
fn unsecured_jws(jaas: &JaasConfig) -> Result<SaslConfig, String> {
    if jaas.module_name() != "OAuthBearerLoginModule" {
        return Err(format!(
            "sasl.mechanism=OAUTHBEARER needs OAuthBearerLoginModule in sasl.jaas.config, not {}",
            jaas.login_module
        ));
    }
    let Some(subject) = jaas
        .option("unsecuredLoginStringClaim_sub")
        .filter(|s| !s.is_empty())
    else {
        return Err(
            "sasl.jaas.config: OAUTHBEARER needs sasl.oauthbearer.token.endpoint.url (tokens from an \
             identity provider, with sasl.login.callback.handler.class=OAuthBearerLoginCallbackHandler), \
             Kafka's unsecured tokens (unsecuredLoginStringClaim_sub), or a TokenProvider \
             (ProducerConfigBuilder::security with SaslConfig::OAuthBearer)"
                .into(),
        );
    };
    let mut provider = UnsecuredJwsProvider::new(subject);
    if let Some(s) = jaas.option("unsecuredLoginLifetimeSeconds") {
        let secs: u64 =
            s.trim().parse().ok().filter(|s| *s > 0).ok_or(
                "sasl.jaas.config: unsecuredLoginLifetimeSeconds must be a positive number",
            )?;
        provider.lifetime = Duration::from_secs(secs);
    }
    if let Some(list) = jaas.option("unsecuredLoginListClaim_scope") {
        // Java's list claim: the first character is the separator.
        let mut chars = list.chars();
        if let Some(sep) = chars.next() {
            provider.scopes = chars
                .as_str()
                .split(sep)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
    }
    for name in jaas.option_names() {
        if let Some(ext) = name.strip_prefix("unsecuredLoginExtension_") {
            let value = jaas.option(name).unwrap_or_default();
            provider
                .extensions
                .push((ext.to_string(), value.to_string()));
        }
    }
    #[cfg(feature = "sasl")]
    return Ok(SaslConfig::OAuthBearer(std::sync::Arc::new(provider)));
    #[cfg(not(feature = "sasl"))]
    {
        let _ = provider;
        Err("this build has no SASL (kafka-producer feature `sasl`)".into())
    }
}

/// `ssl.cipher.suites`: each name one of the TLS provider's suites (the
/// connection would fail otherwise), checked at build as Java does.
#[cfg(feature = "tls")]
fn check_cipher_suites(names: &[String]) -> Result<(), ConfigError> {
    let supported = kafka_codec::security::supported_cipher_suites();
    match names
        .iter()
        .find(|n| !supported.iter().any(|s| s.eq_ignore_ascii_case(n)))
    {
        None => Ok(()),
        Some(name) => Err(ConfigError::invalid(
            SSL_CIPHER_SUITES,
            name,
            format!(
                "not a supported suite; the supported suites are {}",
                supported.join(", ")
            ),
        )),
    }
}

/// Without TLS built in, no connection uses the suites.
#[cfg(not(feature = "tls"))]
fn check_cipher_suites(_: &[String]) -> Result<(), ConfigError> {
    Ok(())
}

#[cfg(test)]
mod tests;

/// How a store file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreFormat {
    Pem,
    Pkcs12,
}

/// Whether the file at `path` is a Java KeyStore (JKS) by its magic.
fn is_jks(path: &str) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| magic == [0xfe, 0xed, 0xfe, 0xed])
}
