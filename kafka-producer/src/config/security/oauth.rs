//! OAUTHBEARER with an identity provider from Java's properties: the
//! login callback handler `OAuthBearerLoginCallbackHandler` with
//! `sasl.oauthbearer.token.endpoint.url`, the retriever Java picks (client
//! credentials, jwt-bearer, or a `file://` token), the assertion claims,
//! and the `sasl.login.*` refresh, timeout and retry settings.

use std::time::Duration;

use kafka_codec::security::{JaasConfig, SaslConfig};

use super::super::keys::*;
use super::super::ConfigError;
use super::SecurityProps;

/// The login callback handlers that mean "fetch tokens from an endpoint".
const LOGIN_HANDLERS: &[&str] = &[
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
];

#[cfg(feature = "oidc")]
const RETRIEVER: &str = "org.apache.kafka.common.security.oauthbearer.";

/// Whether the properties ask for tokens from an endpoint (as opposed to
/// Kafka's unsecured tokens).
pub(super) fn wanted(p: &SecurityProps) -> Result<bool, ConfigError> {
    match p.non_empty(SASL_LOGIN_CALLBACK_HANDLER_CLASS) {
        None => Ok(p.non_empty(SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL).is_some()),
        Some(c) if LOGIN_HANDLERS.contains(&c) => Ok(true),
        Some(c) => Err(ConfigError::new(
            [SASL_LOGIN_CALLBACK_HANDLER_CLASS],
            format!(
                "{SASL_LOGIN_CALLBACK_HANDLER_CLASS}: Java classes cannot be loaded here ({c:?}); \
                 Kafka's OAuthBearerLoginCallbackHandler is built in (feature `oidc`), and other \
                 token sources are a TokenProvider (ProducerConfigBuilder::security)"
            ),
        )),
    }
}

fn seconds(
    p: &SecurityProps,
    key: &'static str,
    range: (u64, u64),
) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = p.non_empty(key) else {
        return Ok(None);
    };
    match v.parse::<u64>() {
        Ok(n) if n >= range.0 && n <= range.1 => Ok(Some(Duration::from_secs(n))),
        _ => Err(ConfigError::invalid(
            key,
            v,
            format!("expected whole seconds from {} to {}", range.0, range.1),
        )),
    }
}

fn fraction(
    p: &SecurityProps,
    key: &'static str,
    range: (f64, f64),
) -> Result<Option<f64>, ConfigError> {
    let Some(v) = p.non_empty(key) else {
        return Ok(None);
    };
    match v.parse::<f64>() {
        Ok(x) if x >= range.0 && x <= range.1 => Ok(Some(x)),
        _ => Err(ConfigError::invalid(
            key,
            v,
            format!("expected a number from {} to {}", range.0, range.1),
        )),
    }
}

fn millis(p: &SecurityProps, key: &'static str) -> Result<Option<Duration>, ConfigError> {
    p.non_empty(key).map(|v| parse_long_ms(key, v)).transpose()
}

/// The provider the properties describe.
#[cfg(feature = "oidc")]
pub(super) fn provider(p: &SecurityProps, jaas: &JaasConfig) -> Result<SaslConfig, ConfigError> {
    use kafka_codec::security::oidc::{
        Assertion, AssertionAlgorithm, Grant, OidcConfig, OidcTokenProvider,
    };
    use kafka_codec::security::Secret;

    let Some(url) = p.non_empty(SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL) else {
        return Err(ConfigError::new(
            [SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL],
            format!("OAuthBearerLoginCallbackHandler needs {SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL}"),
        ));
    };
    let file = url.starts_with("file://");
    if !file && !url.starts_with("https://") && !url.starts_with("http://") {
        return Err(ConfigError::invalid(
            SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
            url,
            "expected an https://, http:// or file:// URL",
        ));
    }
    // Java's DefaultJwtRetriever: a file for file://, else client credentials.
    let retriever = p
        .non_empty(SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS)
        .map(|c| c.strip_prefix(RETRIEVER).unwrap_or(c));
    let kind = match retriever {
        None | Some("DefaultJwtRetriever") if file => "FileJwtRetriever",
        None | Some("DefaultJwtRetriever") => "ClientCredentialsJwtRetriever",
        Some(k @ ("FileJwtRetriever" | "ClientCredentialsJwtRetriever" | "JwtBearerJwtRetriever")) => k,
        Some(other) => {
            return Err(ConfigError::new(
                [SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS],
                format!(
                    "{SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS}: Java classes cannot be loaded here ({other:?}); \
                     Kafka's Default, ClientCredentials, JwtBearer and File retrievers are built in"
                ),
            ))
        }
    };
    let opt = |key: &'static str, jaas_option: &str| {
        p.non_empty(key)
            .or_else(|| jaas.option(jaas_option).filter(|v| !v.is_empty()))
    };
    let grant = match kind {
        "FileJwtRetriever" => Grant::File,
        "ClientCredentialsJwtRetriever" => {
            let id = opt(SASL_OAUTHBEARER_CLIENT_ID, "clientId");
            let secret = opt(SASL_OAUTHBEARER_CLIENT_SECRET, "clientSecret");
            let (Some(id), Some(secret)) = (id, secret) else {
                let hint = if p
                    .non_empty(SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE)
                    .is_some()
                    || p.non_empty(SASL_OAUTHBEARER_ASSERTION_FILE).is_some()
                {
                    format!(
                        "; for the jwt-bearer grant set {SASL_OAUTHBEARER_JWT_RETRIEVER_CLASS}={RETRIEVER}JwtBearerJwtRetriever"
                    )
                } else {
                    String::new()
                };
                return Err(ConfigError::new(
                    [SASL_OAUTHBEARER_CLIENT_ID, SASL_OAUTHBEARER_CLIENT_SECRET],
                    format!(
                        "the client credentials grant needs {SASL_OAUTHBEARER_CLIENT_ID} and \
                         {SASL_OAUTHBEARER_CLIENT_SECRET} (or clientId and clientSecret in \
                         {SASL_JAAS_CONFIG}){hint}"
                    ),
                ));
            };
            Grant::ClientCredentials {
                client_id: id.to_string(),
                client_secret: Secret::new(secret),
            }
        }
        _ => {
            let algorithm = match p.non_empty(SASL_OAUTHBEARER_ASSERTION_ALGORITHM) {
                None => AssertionAlgorithm::Rs256,
                Some(a) if a.eq_ignore_ascii_case("RS256") => AssertionAlgorithm::Rs256,
                Some(a) if a.eq_ignore_ascii_case("ES256") => AssertionAlgorithm::Es256,
                Some(a) => {
                    return Err(ConfigError::invalid(
                        SASL_OAUTHBEARER_ASSERTION_ALGORITHM,
                        a,
                        "expected RS256 or ES256",
                    ))
                }
            };
            let private_key = p.non_empty(SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE);
            let ready = p.non_empty(SASL_OAUTHBEARER_ASSERTION_FILE);
            if private_key.is_none() && ready.is_none() {
                return Err(ConfigError::new(
                    [
                        SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE,
                        SASL_OAUTHBEARER_ASSERTION_FILE,
                    ],
                    format!(
                        "the jwt-bearer grant needs {SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_FILE} \
                         (to sign the assertion) or {SASL_OAUTHBEARER_ASSERTION_FILE}"
                    ),
                ));
            }
            let claim = |k| p.non_empty(k).map(str::to_string);
            Grant::JwtBearer(Assertion {
                algorithm,
                private_key_file: private_key.map(Into::into),
                passphrase: p
                    .non_empty(SASL_OAUTHBEARER_ASSERTION_PRIVATE_KEY_PASSPHRASE)
                    .map(Secret::new),
                iss: claim(SASL_OAUTHBEARER_ASSERTION_CLAIM_ISS),
                sub: claim(SASL_OAUTHBEARER_ASSERTION_CLAIM_SUB),
                aud: claim(SASL_OAUTHBEARER_ASSERTION_CLAIM_AUD),
                exp: seconds(p, SASL_OAUTHBEARER_ASSERTION_CLAIM_EXP_SECONDS, (0, 86_400))?
                    .unwrap_or(Duration::from_secs(300)),
                nbf: seconds(p, SASL_OAUTHBEARER_ASSERTION_CLAIM_NBF_SECONDS, (0, 3_600))?
                    .unwrap_or(Duration::from_secs(60)),
                include_jti: p
                    .non_empty(SASL_OAUTHBEARER_ASSERTION_CLAIM_JTI_INCLUDE)
                    .map(|v| parse_bool(SASL_OAUTHBEARER_ASSERTION_CLAIM_JTI_INCLUDE, v))
                    .transpose()?
                    .unwrap_or(false),
                template_file: p
                    .non_empty(SASL_OAUTHBEARER_ASSERTION_TEMPLATE_FILE)
                    .map(Into::into),
                assertion_file: ready.map(Into::into),
            })
        }
    };
    let mut c = OidcConfig::new(url, grant);
    c.scope = opt(SASL_OAUTHBEARER_SCOPE, "scope").map(str::to_string);
    if let Some(name) = p.non_empty(SASL_OAUTHBEARER_SUB_CLAIM_NAME) {
        c.sub_claim = name.to_string();
    }
    if let Some(v) = p.non_empty(SASL_OAUTHBEARER_HEADER_URLENCODE) {
        c.header_urlencode = parse_bool(SASL_OAUTHBEARER_HEADER_URLENCODE, v)?;
    }
    // Java's ranges for the refresh settings.
    if let Some(f) = fraction(p, SASL_LOGIN_REFRESH_WINDOW_FACTOR, (0.5, 1.0))? {
        c.refresh_window_factor = f;
    }
    if let Some(j) = fraction(p, SASL_LOGIN_REFRESH_WINDOW_JITTER, (0.0, 0.25))? {
        c.refresh_window_jitter = j;
    }
    if let Some(d) = seconds(p, SASL_LOGIN_REFRESH_MIN_PERIOD_SECONDS, (0, 900))? {
        c.refresh_min_period = d;
    }
    if let Some(d) = seconds(p, SASL_LOGIN_REFRESH_BUFFER_SECONDS, (0, 3_600))? {
        c.refresh_buffer = d;
    }
    if let Some(d) = millis(p, SASL_LOGIN_CONNECT_TIMEOUT_MS)? {
        c.connect_timeout = d;
    }
    if let Some(d) = millis(p, SASL_LOGIN_READ_TIMEOUT_MS)? {
        c.read_timeout = d;
    }
    if let Some(d) = millis(p, SASL_LOGIN_RETRY_BACKOFF_MS)? {
        c.retry_backoff = d;
    }
    if let Some(d) = millis(p, SASL_LOGIN_RETRY_BACKOFF_MAX_MS)? {
        c.retry_backoff_max = d;
    }
    // JAAS `extension_<name>="value"`: SASL extensions (Confluent Cloud's
    // logicalCluster and identityPoolId, say).
    for name in jaas.option_names() {
        if let Some(ext) = name.strip_prefix("extension_") {
            let value = jaas.option(name).unwrap_or_default();
            c.extensions.push((ext.to_string(), value.to_string()));
        }
    }
    Ok(SaslConfig::OAuthBearer(std::sync::Arc::new(
        OidcTokenProvider::new(c),
    )))
}

#[cfg(not(feature = "oidc"))]
pub(super) fn provider(_: &SecurityProps, _: &JaasConfig) -> Result<SaslConfig, ConfigError> {
    let _ = (seconds, fraction, millis);
    Err(ConfigError::new(
        [
            SASL_LOGIN_CALLBACK_HANDLER_CLASS,
            SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
        ],
        "OAUTHBEARER token endpoints need the `oidc` feature of kafka-producer",
    ))
}
