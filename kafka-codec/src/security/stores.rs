//! Where TLS's trusted certificates and the client's key come from: PEM
//! files or text, and (feature `pkcs12`) PKCS#12 stores and encrypted
//! PKCS#8 keys. Errors name the setting they come from and never quote a
//! secret.

use rustls::pki_types::pem::PemObject;
#[cfg(feature = "pkcs12")]
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use super::{Identity, Secret, TrustStore};

fn read(path: &std::path::Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what}: bad PEM ({e})"))?;
    if certs.is_empty() {
        return Err(format!(
            "{what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(certs)
}

/// The PEM key in `pem` (from the setting `what`); an `ENCRYPTED PRIVATE
/// KEY` is decrypted with `password`, the value of `password_key`.
pub(crate) fn private_key(
    pem: &[u8],
    what: &str,
    password: Option<&Secret>,
    password_key: &str,
) -> Result<PrivateKeyDer<'static>, String> {
    if let Some(body) = encrypted_section(pem) {
        let Some(password) = password else {
            return Err(format!("{what} holds an encrypted key: set {password_key}"));
        };
        return decrypt_key(body, password, what, password_key);
    }
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|_| format!("{what} holds no private key (PKCS#8, SEC1 or PKCS#1 PEM)"))
}

/// The base64 body of a PEM `ENCRYPTED PRIVATE KEY` section.
fn encrypted_section(pem: &[u8]) -> Option<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &[u8] = b"-----END ENCRYPTED PRIVATE KEY-----";
    let start = pem.windows(BEGIN.len()).position(|w| w == BEGIN)? + BEGIN.len();
    let len = pem[start..].windows(END.len()).position(|w| w == END)?;
    Some(&pem[start..start + len])
}

#[cfg(feature = "pkcs12")]
fn decrypt_key(
    body: &[u8],
    password: &Secret,
    what: &str,
    password_key: &str,
) -> Result<PrivateKeyDer<'static>, String> {
    use base64::Engine;
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| format!("{what}: the encrypted key's PEM is not base64"))?;
    super::pkcs12::decrypt_pkcs8(&der, password.expose())
        .map(|k| PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(k)))
        .map_err(|e| format!("{what}: the encrypted key cannot be read with {password_key}: {e}"))
}

#[cfg(not(feature = "pkcs12"))]
fn decrypt_key(
    _: &[u8],
    _: &Secret,
    what: &str,
    _: &str,
) -> Result<PrivateKeyDer<'static>, String> {
    Err(format!(
        "{what} holds an encrypted key: this build has no `pkcs12` feature to decrypt it \
         (or decrypt it: openssl pkcs8 -topk8 -nocrypt)"
    ))
}

#[cfg(feature = "pkcs12")]
fn pkcs12(
    path: &std::path::Path,
    what: &str,
    password: Option<&Secret>,
    key_password: Option<&Secret>,
) -> Result<super::pkcs12::Pkcs12Contents, String> {
    let bytes = read(path, what)?;
    super::pkcs12::parse(
        &bytes,
        password.map(Secret::expose),
        key_password.map(Secret::expose),
    )
    .map_err(|e| format!("{what} {}: {e}", path.display()))
}

#[cfg(not(feature = "pkcs12"))]
fn no_pkcs12<T>(what: &str) -> Result<T, String> {
    Err(format!(
        "{what} is a PKCS12 store: this build has no `pkcs12` feature (enable it, or convert the store to PEM)"
    ))
}

pub(crate) fn roots(trust: &TrustStore) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let certs = match trust {
        TrustStore::Platform => {
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                return Err(format!(
                    "no platform root certificates found{}; set ssl.truststore.location",
                    found
                        .errors
                        .first()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ));
            }
            found.certs
        }
        TrustStore::PemFile(path) => certificates(
            &read(path, "ssl.truststore.location")?,
            "ssl.truststore.location",
        )?,
        TrustStore::Pem(text) => certificates(text.as_bytes(), "ssl.truststore.certificates")?,
        #[cfg(feature = "pkcs12")]
        TrustStore::Pkcs12File { path, password } => {
            let what = "ssl.truststore.location";
            let store = pkcs12(path, what, password.as_ref(), None)?;
            if store.certificates.is_empty() {
                return Err(format!("{what} {} holds no certificate", path.display()));
            }
            store
                .certificates
                .into_iter()
                .map(|(_, der)| CertificateDer::from(der))
                .collect()
        }
        #[cfg(not(feature = "pkcs12"))]
        TrustStore::Pkcs12File { .. } => return no_pkcs12("ssl.truststore.location"),
    };
    let platform = matches!(trust, TrustStore::Platform);
    for cert in certs {
        // A platform store may hold certificates webpki cannot read; skip those, as rustls-platform tools do.
        if let Err(e) = roots.add(cert) {
            if !platform {
                return Err(format!("a trusted certificate cannot be used: {e}"));
            }
        }
    }
    Ok(roots)
}

pub(crate) fn identity(
    identity: &Identity,
    key_password: Option<&Secret>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    match identity {
        Identity::PemFile(path) => {
            let pem = read(path, "ssl.keystore.location")?;
            Ok((
                certificates(&pem, "ssl.keystore.location")?,
                private_key(
                    &pem,
                    "ssl.keystore.location",
                    key_password,
                    "ssl.key.password",
                )?,
            ))
        }
        Identity::Pem {
            certificate_chain,
            key,
        } => Ok((
            certificates(
                certificate_chain.as_bytes(),
                "ssl.keystore.certificate.chain",
            )?,
            private_key(
                key.expose().as_bytes(),
                "ssl.keystore.key",
                key_password,
                "ssl.key.password",
            )?,
        )),
        #[cfg(feature = "pkcs12")]
        Identity::Pkcs12File { path, password } => {
            let what = "ssl.keystore.location";
            let store = pkcs12(path, what, Some(password), key_password)?;
            let (chain, key) = store.identity().ok_or_else(|| {
                format!(
                    "{what} {} holds no private key with a certificate",
                    path.display()
                )
            })?;
            Ok((
                chain.into_iter().map(CertificateDer::from).collect(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec())),
            ))
        }
        #[cfg(not(feature = "pkcs12"))]
        Identity::Pkcs12File { .. } => no_pkcs12("ssl.keystore.location"),
    }
}
