//! TLS with rustls and the ring provider (no cmake, no C library to link
//! besides ring's own): the client configuration built once from
//! [`TlsConfig`], the handshake, and errors that say which side refused what.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme,
};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::stores::{identity, roots};
use super::{TlsConfig, TlsVersion};
use crate::error::TlsFailure;
use crate::CodecError;

/// A suite's IANA name, which Java's `ssl.cipher.suites` uses: rustls
/// names TLS 1.3's suites `TLS13_*` where IANA says `TLS_*`.
fn iana_name(suite: &rustls::SupportedCipherSuite) -> String {
    let name = suite
        .suite()
        .as_str()
        .map_or_else(|| format!("{:?}", suite.suite()), str::to_string);
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// The cipher suites TLS here can offer (rustls with ring), by the IANA
/// names Java's `ssl.cipher.suites` takes, in rustls's order of
/// preference.
///
/// ```
/// let suites = kafka_codec::security::supported_cipher_suites();
/// assert!(suites.iter().any(|s| s == "TLS_AES_128_GCM_SHA256"));
/// assert!(suites.iter().any(|s| s == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
/// ```
pub fn supported_cipher_suites() -> Vec<String> {
    rustls::crypto::ring::default_provider()
        .cipher_suites
        .iter()
        .map(iana_name)
        .collect()
}

/// The provider, offering only `names` (in that order) when any are given.
fn provider_with_suites(names: &[String]) -> Result<Arc<rustls::crypto::CryptoProvider>, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    if names.is_empty() {
        return Ok(Arc::new(provider));
    }
    let mut chosen = Vec::with_capacity(names.len());
    for name in names {
        let suite = provider
            .cipher_suites
            .iter()
            .find(|s| iana_name(s).eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "ssl.cipher.suites: {name} is not supported; the supported suites are {}",
                    supported_cipher_suites().join(", ")
                )
            })?;
        if !chosen.contains(suite) {
            chosen.push(*suite);
        }
    }
    provider.cipher_suites = chosen;
    Ok(Arc::new(provider))
}

/// Checks the chain and ignores only a name mismatch
/// (`ssl.endpoint.identification.algorithm=` with an empty value).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means the chain is good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The rustls client configuration for `config`.
pub(crate) fn build(config: &TlsConfig) -> Result<Arc<ClientConfig>, String> {
    let provider = provider_with_suites(&config.cipher_suites)?;
    let roots = Arc::new(roots(&config.trust)?);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = config
        .versions
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    if versions.is_empty() {
        return Err("ssl.enabled.protocols names no protocol".into());
    }
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| match e {
            // Every suite given belongs to a version that is not enabled.
            rustls::Error::General(_) if !config.cipher_suites.is_empty() => format!(
                "ssl.cipher.suites: none of {:?} is usable with ssl.enabled.protocols {:?}",
                config.cipher_suites,
                config.versions.iter().map(|v| v.name()).collect::<Vec<_>>()
            ),
            e => format!("TLS setup: {e}"),
        })?;
    let builder = if config.verify_hostname {
        builder.with_root_certificates(roots)
    } else {
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| format!("TLS setup: {e}"))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(verifier)))
    };
    let config = match &config.identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let (chain, key) = identity(id, config.key_password.as_ref())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("the client certificate and key do not fit: {e}"))?
        }
    };
    Ok(Arc::new(config))
}

impl TlsConfig {
    /// The client configuration, built (files read, PEM parsed) at the first call.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, CodecError> {
        self.built
            .get_or_init(|| build(self))
            .clone()
            .map_err(CodecError::SecurityConfig)
    }
}

/// The host part of `host:port` (brackets of an IPv6 literal removed).
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The TLS handshake over a connected socket, checking the broker's
/// certificate against `addr`'s host.
pub(crate) async fn handshake(
    stream: TcpStream,
    addr: &str,
    peer: &str,
    config: &TlsConfig,
) -> Result<TlsStream<TcpStream>, CodecError> {
    let client = config.client_config()?;
    let name = ServerName::try_from(host_of(addr).to_string()).map_err(|_| {
        CodecError::SecurityConfig(format!("{addr}: not a host name TLS can check"))
    })?;
    TlsConnector::from(client)
        .connect(name, stream)
        .await
        .map_err(|e| classify(e, peer))
}

/// What a TLS error on an established connection means (the broker
/// refusing our certificate arrives with the first read under TLS 1.3).
pub(crate) fn classify_io(e: &std::io::Error) -> Option<(TlsFailure, String)> {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())?;
    Some(classify_tls(tls))
}

fn classify_tls(tls: &rustls::Error) -> (TlsFailure, String) {
    match tls {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => (
            TlsFailure::HostnameMismatch,
            format!(
                "the broker's certificate is not valid for this host ({}); fix the certificate or set ssl.endpoint.identification.algorithm to empty",
                tls
            ),
        ),
        rustls::Error::InvalidCertificate(c) => (
            TlsFailure::UntrustedCertificate,
            format!("the broker's certificate is not trusted: {c:?} (check ssl.truststore.*)"),
        ),
        rustls::Error::AlertReceived(
            a @ (AlertDescription::BadCertificate
            | AlertDescription::CertificateRequired
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied),
        ) => (
            TlsFailure::CertificateRejected,
            format!("the broker refused the client certificate (alert {a:?}): it needs one it trusts (ssl.keystore.*)"),
        ),
        other => (TlsFailure::Handshake, other.to_string()),
    }
}

fn classify(e: std::io::Error, peer: &str) -> CodecError {
    use std::io::ErrorKind;
    let (failure, reason) = match classify_io(&e) {
        Some(known) => known,
        None if matches!(
            e.kind(),
            ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
        ) =>
        {
            (
                TlsFailure::Closed,
                format!("the broker closed the connection during the TLS handshake ({e}); is this a PLAINTEXT or SASL_PLAINTEXT listener?"),
            )
        }
        None => (TlsFailure::Handshake, e.to_string()),
    };
    CodecError::Tls {
        peer: peer.to_string(),
        failure,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{Identity, TrustStore};

    #[test]
    fn host_names() {
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("broker-1.example.com:9093"), "broker-1.example.com");
        assert_eq!(host_of("[::1]:9093"), "::1");
    }

    #[test]
    fn unusable_settings_are_config_errors_naming_the_setting() {
        let missing = TlsConfig::new(TrustStore::PemFile("/nonexistent/ca.pem".into()));
        let e = missing.client_config().unwrap_err().to_string();
        assert!(
            e.contains("ssl.truststore.location") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );
        let empty = TlsConfig::new(TrustStore::Pem("not pem".into()));
        assert!(empty
            .client_config()
            .unwrap_err()
            .to_string()
            .contains("ssl.truststore.certificates"));
        let key = TlsConfig::new(TrustStore::Platform).with_identity(Identity::Pem {
            certificate_chain: "x".into(),
            key:
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
                    .into(),
        });
        let e = key.client_config().unwrap_err().to_string();
        assert!(!e.contains("AAAA"), "{e}");
    }

    fn offered(tls: &TlsConfig) -> Result<Vec<String>, String> {
        let config = build(tls)?;
        Ok(config
            .crypto_provider()
            .cipher_suites
            .iter()
            .map(iana_name)
            .collect())
    }

    fn trusting_a_ca() -> TlsConfig {
        TlsConfig::new(TrustStore::Pem(
            include_str!("pkcs12/testdata/ca.crt").to_string(),
        ))
    }

    #[test]
    fn cipher_suites_go_by_their_iana_names() {
        let all = supported_cipher_suites();
        assert!(all.iter().any(|s| s == "TLS_CHACHA20_POLY1305_SHA256"));
        assert!(all.iter().all(|s| !s.starts_with("TLS13_")), "{all:?}");
        // None given: every suite.
        assert_eq!(offered(&trusting_a_ca()).unwrap(), all);
    }

    #[test]
    fn cipher_suites_given_are_the_ones_offered_in_their_order() {
        let tls = trusting_a_ca().with_cipher_suites([
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "tls_aes_256_gcm_sha384",
            "TLS_AES_256_GCM_SHA384",
        ]);
        assert_eq!(
            offered(&tls).unwrap(),
            [
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_AES_256_GCM_SHA384"
            ]
        );
    }

    #[test]
    fn an_unsupported_or_unusable_cipher_suite_is_an_error_naming_the_supported_ones() {
        // CBC with RSA key exchange: Java knows it, rustls does not offer it.
        let tls = trusting_a_ca().with_cipher_suites(["TLS_RSA_WITH_AES_128_CBC_SHA"]);
        let e = offered(&tls).unwrap_err();
        assert!(
            e.contains("TLS_RSA_WITH_AES_128_CBC_SHA is not supported")
                && e.contains("TLS_AES_128_GCM_SHA256"),
            "{e}"
        );
        let mut tls = trusting_a_ca().with_cipher_suites(["TLS_AES_128_GCM_SHA256"]);
        tls.versions = vec![TlsVersion::Tls12];
        let e = offered(&tls).unwrap_err();
        assert!(e.contains("is usable with ssl.enabled.protocols"), "{e}");
    }

    #[test]
    fn enabled_protocols_are_the_versions_the_suites_must_fit() {
        // A TLS 1.2 suite: refused with TLS 1.3 alone, taken with both.
        let mut tls = trusting_a_ca().with_cipher_suites(["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]);
        tls.versions = vec![TlsVersion::Tls13];
        assert!(offered(&tls).is_err());
        tls.versions = vec![TlsVersion::Tls12, TlsVersion::Tls13];
        assert_eq!(
            offered(&tls).unwrap(),
            ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
        );
    }
}
