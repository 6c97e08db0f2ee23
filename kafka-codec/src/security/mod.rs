//! TLS and SASL for a connection: what the Java client's
//! `security.protocol`, `ssl.*` and `sasl.*` settings say, applied in the
//! connect sequence (TCP, TLS, ApiVersions, SaslHandshake +
//! SaslAuthenticate) before any other request, and KIP-368
//! re-authentication before the session the broker granted runs out.
//!
//! ```no_run
//! use kafka_codec::security::{SaslConfig, ScramMechanism, Secret, SecurityConfig, TlsConfig, TrustStore};
//! use kafka_codec::{Connection, ConnectionConfig};
//!
//! # async fn demo() -> Result<(), kafka_codec::CodecError> {
//! // SASL_SSL with SCRAM-SHA-512, trusting a CA from a PEM file.
//! let security = SecurityConfig::sasl_ssl(
//!     TlsConfig::new(TrustStore::PemFile("/etc/kafka/ca.pem".into())),
//!     SaslConfig::Scram {
//!         mechanism: ScramMechanism::Sha512,
//!         username: "alice".into(),
//!         password: Secret::new("alice-secret"),
//!     },
//! );
//! let config = ConnectionConfig { security, ..ConnectionConfig::default() };
//! let conn = Connection::connect("broker-1.example.com:9093", config).await?;
//! println!("Produce v{}", conn.versions().negotiate(kafka_protocol::messages::ApiKey::Produce)?);
//! # Ok(()) }
//! ```

mod jaas;
#[cfg(feature = "oidc")]
pub mod oidc;
#[cfg(feature = "pkcs12")]
pub mod pkcs12;
#[cfg(feature = "sasl")]
pub(crate) mod sasl;
mod secret;
#[cfg(feature = "tls")]
mod stores;
#[cfg(feature = "tls")]
pub(crate) mod tls;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
#[cfg(feature = "tls")]
use std::sync::OnceLock;
use std::time::Duration;

pub use jaas::{parse_jaas_config, JaasConfig};
pub use secret::Secret;
#[cfg(feature = "tls")]
pub use tls::supported_cipher_suites;

/// For the fuzz targets only: runs mechanism `which` (0 PLAIN, 1
/// SCRAM-SHA-256, 2 SCRAM-SHA-512, 3 OAUTHBEARER) against `server`'s
/// messages, one per round trip, as a hostile broker would send them.
#[cfg(all(feature = "fuzzing", feature = "sasl"))]
#[doc(hidden)]
pub fn fuzz_sasl_exchange(which: u8, server: &[&[u8]]) {
    let config = match which % 4 {
        0 => SaslConfig::Plain {
            username: "u".into(),
            password: "p".into(),
        },
        1 | 2 => SaslConfig::Scram {
            mechanism: if which % 4 == 1 {
                ScramMechanism::Sha256
            } else {
                ScramMechanism::Sha512
            },
            username: "u,=".into(),
            password: "p".into(),
        },
        _ => SaslConfig::unsecured_oauthbearer("u"),
    };
    let token = matches!(config, SaslConfig::OAuthBearer(_))
        .then(|| UnsecuredJwsProvider::new("u").token_at(std::time::SystemTime::now()));
    // A fixed SCRAM nonce, so that the fuzzer can reach server-final.
    let made = match &config {
        SaslConfig::Scram {
            mechanism,
            username,
            password,
        } => Ok(Box::new(sasl::Scram::with_nonce(
            *mechanism,
            username,
            password.expose(),
            "fuzznonce".into(),
        )) as Box<dyn sasl::Mechanism>),
        _ => sasl::mechanism(&config, token),
    };
    let Ok(mut m) = made else {
        return;
    };
    if m.start().is_err() {
        return;
    }
    for message in server {
        match m.step(message) {
            Ok(sasl::Step::Respond(_)) => {}
            Ok(sasl::Step::Done) | Err(_) => return,
        }
    }
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SecurityProtocol {
    /// No TLS, no SASL.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL over plain TCP.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// The property value.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Parses a property value (any case, as Java).
    pub fn parse(s: &str) -> Option<Self> {
        [
            SecurityProtocol::Plaintext,
            SecurityProtocol::Ssl,
            SecurityProtocol::SaslPlaintext,
            SecurityProtocol::SaslSsl,
        ]
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Whether the connection runs TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether the connection authenticates with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which certificates the client trusts (`ssl.truststore.*`, PEM only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustStore {
    /// The platform's root certificates (neither location nor certificates given).
    Platform,
    /// `ssl.truststore.location`: a PEM file of one or more certificates.
    PemFile(PathBuf),
    /// `ssl.truststore.certificates`: PEM text of one or more certificates.
    Pem(String),
    /// `ssl.truststore.type=PKCS12`: the certificates of a PKCS#12 store
    /// (feature `pkcs12`). Without a password an unencrypted store is read
    /// without its integrity check, as Java does.
    Pkcs12File {
        /// `ssl.truststore.location`.
        path: PathBuf,
        /// `ssl.truststore.password`.
        password: Option<Secret>,
    },
}

/// The client's certificate and key, for mutual TLS (`ssl.keystore.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// `ssl.keystore.location`: one PEM file holding the (unencrypted
    /// PKCS#8) key and the certificate chain.
    PemFile(PathBuf),
    /// `ssl.keystore.certificate.chain` + `ssl.keystore.key`.
    Pem {
        /// The certificate chain, leaf first.
        certificate_chain: String,
        /// The private key (PKCS#8, SEC1 or PKCS#1 PEM; an encrypted
        /// PKCS#8 key needs [`TlsConfig::key_password`]).
        key: Secret,
    },
    /// `ssl.keystore.type=PKCS12`: the first key of a PKCS#12 store and its
    /// certificate chain (feature `pkcs12`); the key is decrypted with
    /// [`TlsConfig::key_password`] if set, else with the store's password.
    Pkcs12File {
        /// `ssl.keystore.location`.
        path: PathBuf,
        /// `ssl.keystore.password`.
        password: Secret,
    },
}

/// A TLS protocol version (`ssl.enabled.protocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// `TLSv1.2`.
    Tls12,
    /// `TLSv1.3`.
    Tls13,
}

impl TlsVersion {
    /// The Java name.
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }
}

/// TLS settings.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// Whom to trust.
    pub trust: TrustStore,
    /// The client's certificate, for mutual TLS.
    pub identity: Option<Identity>,
    /// `ssl.endpoint.identification.algorithm`: `https` (the default)
    /// checks that the broker's certificate names the host connected to;
    /// empty turns the check off (the chain is still verified).
    pub verify_hostname: bool,
    /// `ssl.enabled.protocols`: TLS 1.2 and 1.3 by default, as Java.
    pub versions: Vec<TlsVersion>,
    /// `ssl.cipher.suites`: the suites offered, by their IANA names (as
    /// Java names them, say `TLS_AES_128_GCM_SHA256`), in order of
    /// preference; empty: every suite of `supported_cipher_suites()`
    /// (feature `tls`).
    pub cipher_suites: Vec<String>,
    /// `ssl.key.password`: decrypts an encrypted PKCS#8 key (PEM `ENCRYPTED
    /// PRIVATE KEY`, PBES2 with AES or 3DES, or PKCS#12's SHA-1 3DES) or a
    /// PKCS#12 store's key (feature `pkcs12`).
    pub key_password: Option<Secret>,
    /// The rustls configuration, built once at the first connect.
    #[cfg(feature = "tls")]
    pub(crate) built: Arc<OnceLock<Result<Arc<rustls::ClientConfig>, String>>>,
}

impl TlsConfig {
    /// Trusting `trust`, without a client certificate, checking host names.
    pub fn new(trust: TrustStore) -> Self {
        TlsConfig {
            trust,
            identity: None,
            verify_hostname: true,
            versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
            cipher_suites: Vec::new(),
            key_password: None,
            #[cfg(feature = "tls")]
            built: Arc::default(),
        }
    }

    /// Offering only these cipher suites (`ssl.cipher.suites`), by IANA
    /// name, most preferred first; a name the TLS provider lacks fails the
    /// connection, naming the supported ones.
    ///
    /// ```
    /// use kafka_codec::security::{TlsConfig, TrustStore};
    /// let tls = TlsConfig::new(TrustStore::Platform)
    ///     .with_cipher_suites(["TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]);
    /// assert_eq!(tls.cipher_suites.len(), 2);
    /// ```
    pub fn with_cipher_suites<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.cipher_suites = names.into_iter().map(Into::into).collect();
        self
    }

    /// With `ssl.key.password`, for an encrypted key.
    pub fn with_key_password(mut self, password: Secret) -> Self {
        self.key_password = Some(password);
        self
    }

    /// With a client certificate (mutual TLS).
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Without the host name check (`ssl.endpoint.identification.algorithm=`).
    pub fn without_hostname_verification(mut self) -> Self {
        self.verify_hostname = false;
        self
    }
}

impl PartialEq for TlsConfig {
    fn eq(&self, other: &Self) -> bool {
        self.trust == other.trust
            && self.identity == other.identity
            && self.verify_hostname == other.verify_hostname
            && self.versions == other.versions
            && self.cipher_suites == other.cipher_suites
            && self.key_password == other.key_password
    }
}

impl Eq for TlsConfig {}

/// SCRAM's hash (`sasl.mechanism=SCRAM-SHA-256` or `SCRAM-SHA-512`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramMechanism {
    /// SCRAM-SHA-256 (RFC 7677).
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramMechanism {
    /// The mechanism's name, as in `sasl.mechanism`.
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }
}

/// An OAuth bearer token and how long it is valid.
#[derive(Debug, Clone)]
pub struct OAuthToken {
    /// The token (a JWS, say).
    pub value: Secret,
    /// How long from now it is valid (the broker ends the session then).
    pub lifetime: Duration,
    /// SASL extensions sent with it (`key=value`; keys are letters only).
    pub extensions: Vec<(String, String)>,
}

/// Why a [`TokenProvider`] has no token.
///
/// A retriable error fails this connection attempt; the client tries
/// again later. A permanent one (credentials the identity provider
/// refused, a token that can never be used) is reported as an
/// authentication failure, which stops a producer at once, as a failed
/// login stops Java's. A `String` converts to a retriable error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TokenError {
    /// What went wrong (never the secret or the token).
    pub message: String,
    /// Asking again cannot help.
    pub permanent: bool,
}

impl TokenError {
    /// An error that may pass (an identity provider that cannot be reached).
    pub fn retriable(message: impl Into<String>) -> Self {
        TokenError {
            message: message.into(),
            permanent: false,
        }
    }

    /// An error that repeats (refused credentials, an expired token).
    pub fn permanent(message: impl Into<String>) -> Self {
        TokenError {
            message: message.into(),
            permanent: true,
        }
    }
}

impl From<String> for TokenError {
    fn from(message: String) -> Self {
        TokenError::retriable(message)
    }
}

impl From<&str> for TokenError {
    fn from(message: &str) -> Self {
        TokenError::retriable(message)
    }
}

/// Where OAUTHBEARER tokens come from: called at every (re-)authentication.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A valid token, or why there is none.
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<OAuthToken, TokenError>> + Send + '_>>;

    /// The unsecured JWS settings, when this is Kafka's unsecured provider
    /// (so that two configurations of it compare equal).
    fn as_unsecured(&self) -> Option<&UnsecuredJwsProvider> {
        None
    }
}

/// Kafka's unsecured JWS tokens (`OAuthBearerUnsecuredLoginCallbackHandler`):
/// `alg: none`, a subject and optional scopes, for tests and development
/// clusters that run the unsecured validator. Never for production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsecuredJwsProvider {
    /// The `sub` claim (`unsecuredLoginStringClaim_sub`).
    pub subject: String,
    /// The `scope` claim (`unsecuredLoginListClaim_scope`).
    pub scopes: Vec<String>,
    /// `unsecuredLoginLifetimeSeconds`, 3600 by default.
    pub lifetime: Duration,
    /// `unsecuredLoginExtension_<name>` options.
    pub extensions: Vec<(String, String)>,
}

impl UnsecuredJwsProvider {
    /// A provider for `subject`, with Java's default lifetime of one hour.
    pub fn new(subject: impl Into<String>) -> Self {
        UnsecuredJwsProvider {
            subject: subject.into(),
            scopes: Vec::new(),
            lifetime: Duration::from_secs(3600),
            extensions: Vec::new(),
        }
    }
}

/// SASL settings (`sasl.mechanism` with `sasl.jaas.config`, or typed).
#[derive(Clone)]
pub enum SaslConfig {
    /// PLAIN (RFC 4616).
    Plain {
        /// The user.
        username: String,
        /// The password.
        password: Secret,
    },
    /// SCRAM-SHA-256 or -512 (RFC 5802 / 7677); the server's signature is verified.
    Scram {
        /// The hash.
        mechanism: ScramMechanism,
        /// The user.
        username: String,
        /// The password.
        password: Secret,
    },
    /// OAUTHBEARER (RFC 7628), with tokens from a provider.
    OAuthBearer(Arc<dyn TokenProvider>),
}

impl SaslConfig {
    /// The mechanism's name, as in `sasl.mechanism`.
    pub fn mechanism(&self) -> &'static str {
        match self {
            SaslConfig::Plain { .. } => "PLAIN",
            SaslConfig::Scram { mechanism, .. } => mechanism.name(),
            SaslConfig::OAuthBearer(_) => "OAUTHBEARER",
        }
    }

    /// Unsecured JWS tokens for `subject` (tests, development clusters).
    #[cfg(feature = "sasl")]
    pub fn unsecured_oauthbearer(subject: impl Into<String>) -> Self {
        SaslConfig::OAuthBearer(Arc::new(UnsecuredJwsProvider::new(subject)))
    }
}

impl fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslConfig::Plain { username, password } => f
                .debug_struct("Plain")
                .field("username", username)
                .field("password", password)
                .finish(),
            SaslConfig::Scram {
                mechanism,
                username,
                password,
            } => f
                .debug_struct("Scram")
                .field("mechanism", mechanism)
                .field("username", username)
                .field("password", password)
                .finish(),
            SaslConfig::OAuthBearer(p) => f.debug_tuple("OAuthBearer").field(p).finish(),
        }
    }
}

impl PartialEq for SaslConfig {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                SaslConfig::Plain { username, password },
                SaslConfig::Plain {
                    username: u,
                    password: p,
                },
            ) => username == u && password == p,
            (
                SaslConfig::Scram {
                    mechanism,
                    username,
                    password,
                },
                SaslConfig::Scram {
                    mechanism: m,
                    username: u,
                    password: p,
                },
            ) => mechanism == m && username == u && password == p,
            (SaslConfig::OAuthBearer(a), SaslConfig::OAuthBearer(b)) => {
                Arc::ptr_eq(a, b)
                    || matches!((a.as_unsecured(), b.as_unsecured()), (Some(x), Some(y)) if x == y)
            }
            _ => false,
        }
    }
}

impl Eq for SaslConfig {}

/// Everything a connection needs to reach a secured listener.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityConfig {
    /// `security.protocol`.
    pub protocol: SecurityProtocol,
    /// TLS settings (`SSL`, `SASL_SSL`).
    pub tls: Option<TlsConfig>,
    /// SASL settings (`SASL_PLAINTEXT`, `SASL_SSL`).
    pub sasl: Option<SaslConfig>,
}

impl SecurityConfig {
    /// `PLAINTEXT`.
    pub fn plaintext() -> Self {
        SecurityConfig::default()
    }

    /// `SSL`.
    pub fn ssl(tls: TlsConfig) -> Self {
        SecurityConfig {
            protocol: SecurityProtocol::Ssl,
            tls: Some(tls),
            sasl: None,
        }
    }

    /// `SASL_PLAINTEXT`.
    pub fn sasl_plaintext(sasl: SaslConfig) -> Self {
        SecurityConfig {
            protocol: SecurityProtocol::SaslPlaintext,
            tls: None,
            sasl: Some(sasl),
        }
    }

    /// `SASL_SSL`.
    pub fn sasl_ssl(tls: TlsConfig, sasl: SaslConfig) -> Self {
        SecurityConfig {
            protocol: SecurityProtocol::SaslSsl,
            tls: Some(tls),
            sasl: Some(sasl),
        }
    }

    /// Whether the settings fit together (TLS settings for a TLS protocol,
    /// SASL settings for a SASL one, the features this build has) and the
    /// PEM files they name can be read and used.
    pub fn check(&self) -> Result<(), String> {
        let p = self.protocol;
        if p.uses_tls() && self.tls.is_none() {
            return Err(format!("security.protocol={p} needs TLS settings"));
        }
        if p.uses_sasl() && self.sasl.is_none() {
            return Err(format!(
                "security.protocol={p} needs sasl.mechanism and sasl.jaas.config (or typed SASL settings)"
            ));
        }
        if p.uses_tls() && !cfg!(feature = "tls") {
            return Err(format!(
                "security.protocol={p}: this build has no TLS (kafka-codec feature `tls`)"
            ));
        }
        if p.uses_sasl() && !cfg!(feature = "sasl") {
            return Err(format!(
                "security.protocol={p}: this build has no SASL (kafka-codec feature `sasl`)"
            ));
        }
        #[cfg(feature = "tls")]
        if let (true, Some(tls)) = (p.uses_tls(), &self.tls) {
            // Reads the PEM files now (once), so that a missing file is a
            // settings error, not a connect failure later.
            tls.client_config().map_err(|e| match e {
                crate::CodecError::SecurityConfig(m) => m,
                other => other.to_string(),
            })?;
        }
        Ok(())
    }
}
