//! OAUTHBEARER tokens from an OAuth identity provider (feature `oidc`), as
//! Java's `OAuthBearerLoginCallbackHandler` gets them: the client
//! credentials grant (KIP-768), the jwt-bearer grant with a client-signed
//! assertion (KIP-1139), or a token file (`file://`), read again at every
//! refresh.
//!
//! The token is kept and handed to every (re-)authentication until its
//! refresh time: `sasl.login.refresh.window.factor` of its lifetime plus
//! up to `.window.jitter` more, no sooner than `.min.period.seconds` after
//! it was fetched and no later than `.buffer.seconds` before it expires.
//! A refresh that fails keeps the old token while it is valid. A call to
//! the endpoint that fails in transport or with a 5xx is tried again with
//! `sasl.login.retry.backoff.ms`, doubling, until
//! `sasl.login.retry.backoff.max.ms` has passed; a 4xx (a wrong secret) is
//! not. The token's claims are read (not verified; the broker verifies):
//! it must carry `exp` in the future and the subject claim.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kafka_codec::security::oidc::{Grant, OidcConfig, OidcTokenProvider};
//! use kafka_codec::security::{SaslConfig, Secret};
//!
//! let provider = OidcTokenProvider::new(OidcConfig::new(
//!     "https://idp.example.com/oauth2/token",
//!     Grant::ClientCredentials {
//!         client_id: "producer-app".into(),
//!         client_secret: Secret::new("from a vault"),
//!     },
//! ));
//! let sasl = SaslConfig::OAuthBearer(Arc::new(provider));
//! # let _ = sasl;
//! ```

mod http;
mod jwt;

use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::{OAuthToken, Secret, TokenError, TokenProvider};

/// How the token is obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grant {
    /// `grant_type=client_credentials`, the id and secret in HTTP Basic.
    ClientCredentials {
        /// `sasl.oauthbearer.client.credentials.client.id` (or JAAS `clientId`).
        client_id: String,
        /// `sasl.oauthbearer.client.credentials.client.secret` (or JAAS `clientSecret`).
        client_secret: Secret,
    },
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (KIP-1139).
    JwtBearer(Assertion),
    /// The token endpoint is a `file://` URL: the token is the file's text.
    File,
}

/// The assertion's signature algorithm (`sasl.oauthbearer.assertion.algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256 (Java's default).
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

/// The jwt-bearer grant's assertion (`sasl.oauthbearer.assertion.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// `.algorithm`.
    pub algorithm: AssertionAlgorithm,
    /// `.private.key.file`: PKCS#8 or PKCS#1 PEM, maybe encrypted.
    pub private_key_file: Option<PathBuf>,
    /// `.private.key.passphrase`.
    pub passphrase: Option<Secret>,
    /// `.claim.iss`, `.claim.sub`, `.claim.aud`.
    pub iss: Option<String>,
    /// See `iss`.
    pub sub: Option<String>,
    /// See `iss`.
    pub aud: Option<String>,
    /// `.claim.exp.seconds`: the assertion's lifetime (Java: 300 s).
    pub exp: Duration,
    /// `.claim.nbf.seconds`: valid from this long before now (Java: 60 s).
    pub nbf: Duration,
    /// `.claim.jti.include`.
    pub include_jti: bool,
    /// `.template.file`: JSON `{"header": {...}, "payload": {...}}` merged in.
    pub template_file: Option<PathBuf>,
    /// `.file`: a ready-made assertion, read at every fetch (no signing).
    pub assertion_file: Option<PathBuf>,
}

impl Assertion {
    /// Signed with `algorithm` by the key in `private_key_file`, Java's
    /// default claims' times.
    pub fn new(algorithm: AssertionAlgorithm, private_key_file: impl Into<PathBuf>) -> Self {
        Assertion {
            algorithm,
            private_key_file: Some(private_key_file.into()),
            passphrase: None,
            iss: None,
            sub: None,
            aud: None,
            exp: Duration::from_secs(300),
            nbf: Duration::from_secs(60),
            include_jti: false,
            template_file: None,
            assertion_file: None,
        }
    }
}

/// Everything the provider needs, with Java's names and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcConfig {
    /// `sasl.oauthbearer.token.endpoint.url`: `https://`, `http://` or `file://`.
    pub token_endpoint: String,
    /// How the token is obtained.
    pub grant: Grant,
    /// `sasl.oauthbearer.scope` (or JAAS `scope`).
    pub scope: Option<String>,
    /// `sasl.oauthbearer.sub.claim.name` (`sub`).
    pub sub_claim: String,
    /// `sasl.oauthbearer.header.urlencode`: URL-encode the id and secret
    /// in the Basic header (RFC 6749 says to; Java's default does not).
    pub header_urlencode: bool,
    /// `sasl.login.refresh.window.factor` (0.8).
    pub refresh_window_factor: f64,
    /// `sasl.login.refresh.window.jitter` (0.05).
    pub refresh_window_jitter: f64,
    /// `sasl.login.refresh.min.period.seconds` (60 s).
    pub refresh_min_period: Duration,
    /// `sasl.login.refresh.buffer.seconds` (300 s).
    pub refresh_buffer: Duration,
    /// `sasl.login.connect.timeout.ms` (Java: none; here 10 s unless set).
    pub connect_timeout: Duration,
    /// `sasl.login.read.timeout.ms` (Java: none; here 10 s unless set).
    pub read_timeout: Duration,
    /// `sasl.login.retry.backoff.ms` (100 ms).
    pub retry_backoff: Duration,
    /// `sasl.login.retry.backoff.max.ms` (10 s): no retry after this long.
    pub retry_backoff_max: Duration,
    /// SASL extensions sent with every token (JAAS `extension_<name>`).
    pub extensions: Vec<(String, String)>,
}

impl OidcConfig {
    /// `grant` at `token_endpoint`, with Java's defaults for the rest.
    pub fn new(token_endpoint: impl Into<String>, grant: Grant) -> Self {
        OidcConfig {
            token_endpoint: token_endpoint.into(),
            grant,
            scope: None,
            sub_claim: "sub".into(),
            header_urlencode: false,
            refresh_window_factor: 0.8,
            refresh_window_jitter: 0.05,
            refresh_min_period: Duration::from_secs(60),
            refresh_buffer: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(10),
            extensions: Vec::new(),
        }
    }
}

/// A token held, and when to fetch the next.
#[derive(Debug, Clone)]
struct Held {
    token: Secret,
    expires: Instant,
    refresh: Instant,
}

/// OAUTHBEARER tokens from an identity provider; see the module docs.
#[derive(Debug)]
pub struct OidcTokenProvider {
    config: OidcConfig,
    held: tokio::sync::Mutex<Option<Held>>,
}

impl OidcTokenProvider {
    /// A provider for `config`; nothing is fetched before the first
    /// authentication.
    pub fn new(config: OidcConfig) -> Self {
        OidcTokenProvider {
            config,
            held: tokio::sync::Mutex::new(None),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    async fn current(&self) -> Result<OAuthToken, TokenError> {
        let mut held = self.held.lock().await;
        let now = Instant::now();
        if let Some(h) = held.as_ref().filter(|h| now < h.refresh) {
            return Ok(self.token_of(h, now));
        }
        match self.fetch().await {
            Ok(h) => Ok(self.token_of(held.insert(h), Instant::now())),
            Err(e) => match held.as_ref().filter(|h| Instant::now() < h.expires) {
                Some(h) => {
                    tracing::warn!(error = %e, "OAuth token refresh failed; the current token is used while valid");
                    Ok(self.token_of(h, Instant::now()))
                }
                None => Err(e),
            },
        }
    }

    fn token_of(&self, h: &Held, now: Instant) -> OAuthToken {
        OAuthToken {
            value: h.token.clone(),
            lifetime: h.expires.saturating_duration_since(now),
            extensions: self.config.extensions.clone(),
        }
    }

    /// Fetches and checks a token: retries as the module docs say. An
    /// answer that repeats (a 4xx, a token that is no good) is permanent.
    async fn fetch(&self) -> Result<Held, TokenError> {
        let c = &self.config;
        let started = Instant::now();
        let mut backoff = c.retry_backoff;
        loop {
            match self.fetch_once().await {
                Ok(text) => return self.hold(&text).map_err(TokenError::permanent),
                Err(e) if !e.retriable => return Err(TokenError::permanent(e.message)),
                Err(e) => {
                    if started.elapsed() + backoff > c.retry_backoff_max {
                        return Err(TokenError::retriable(format!(
                            "no token from {} after retrying for {:?}: {}",
                            c.token_endpoint,
                            started.elapsed(),
                            e.message
                        )));
                    }
                    tracing::debug!(error = %e.message, ?backoff, "token endpoint failed; trying again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(c.retry_backoff_max);
                }
            }
        }
    }

    /// The token's text, from the file or the endpoint.
    async fn fetch_once(&self) -> Result<String, http::HttpError> {
        let c = &self.config;
        let fatal = |message: String| http::HttpError {
            message,
            retriable: false,
        };
        if let Some(path) = c.token_endpoint.strip_prefix("file://") {
            return std::fs::read_to_string(path)
                .map(|t| t.trim().to_string())
                .map_err(|e| http::HttpError {
                    message: format!("cannot read the token file {path}: {e}"),
                    retriable: true,
                });
        }
        let url = http::HttpUrl::parse(&c.token_endpoint).map_err(fatal)?;
        let mut form = Vec::new();
        let mut authorization = None;
        match &c.grant {
            Grant::ClientCredentials {
                client_id,
                client_secret,
            } => {
                form.push(("grant_type", "client_credentials".to_string()));
                let (id, secret) = if c.header_urlencode {
                    (form_encode(client_id), form_encode(client_secret.expose()))
                } else {
                    (client_id.clone(), client_secret.expose().to_string())
                };
                authorization = Some(format!(
                    "Basic {}",
                    STANDARD.encode(format!("{id}:{secret}"))
                ));
            }
            Grant::JwtBearer(a) => {
                form.push((
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
                ));
                form.push(("assertion", jwt::assertion(a).map_err(fatal)?));
            }
            Grant::File => {
                return Err(fatal(format!(
                    "the file grant needs a file:// token endpoint, not {}",
                    c.token_endpoint
                )))
            }
        }
        if let Some(scope) = &c.scope {
            form.push(("scope", scope.clone()));
        }
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect();
        let answer = http::post_form(
            &url,
            authorization.as_deref(),
            &body.join("&"),
            c.connect_timeout,
            c.read_timeout,
        )
        .await
        .map_err(|mut e| {
            e.message = format!("token endpoint {}: {}", c.token_endpoint, e.message);
            e
        })?;
        let json: serde_json::Value = serde_json::from_slice(&answer).map_err(|_| {
            fatal(format!(
                "token endpoint {}: the answer is not JSON",
                c.token_endpoint
            ))
        })?;
        match json.get("access_token").and_then(|t| t.as_str()) {
            Some(t) if !t.is_empty() => Ok(t.to_string()),
            _ => Err(fatal(format!(
                "token endpoint {}: the answer has no access_token",
                c.token_endpoint
            ))),
        }
    }

    /// Checks the token's claims and sets its refresh time.
    fn hold(&self, token: &str) -> Result<Held, String> {
        let c = &self.config;
        let claims = jwt::claims(token)?;
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_f64)
            .ok_or("the access token has no exp claim")?;
        match claims.get(&c.sub_claim).and_then(|s| s.as_str()) {
            Some(s) if !s.is_empty() => {}
            _ => return Err(format!("the access token has no {} claim", c.sub_claim)),
        }
        let now_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        if exp <= now_secs {
            return Err(format!(
                "the access token from {} has expired ({:.0} s ago)",
                c.token_endpoint,
                now_secs - exp
            ));
        }
        let lifetime = Duration::from_secs_f64(exp - now_secs);
        let now = Instant::now();
        Ok(Held {
            token: Secret::new(token),
            expires: now + lifetime,
            refresh: now + refresh_after(c, lifetime, jitter()),
        })
    }
}

/// When to fetch again, counted from now, for a token valid `lifetime`.
fn refresh_after(c: &OidcConfig, lifetime: Duration, jitter: f64) -> Duration {
    let at =
        lifetime.mul_f64((c.refresh_window_factor + jitter * c.refresh_window_jitter).min(1.0));
    let at = at.min(lifetime.saturating_sub(c.refresh_buffer));
    at.max(c.refresh_min_period).min(lifetime)
}

/// A number in [0, 1), different for each call.
fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

/// `application/x-www-form-urlencoded`.
fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl TokenProvider for OidcTokenProvider {
    fn token(
        &self,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<OAuthToken, TokenError>> + Send + '_>>
    {
        Box::pin(self.current())
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
