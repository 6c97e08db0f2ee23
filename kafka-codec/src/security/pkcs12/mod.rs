//! PKCS#12 stores (Java's default keystore type) and encrypted PKCS#8
//! keys, read in pure Rust (feature `pkcs12`).
//!
//! A store's integrity MAC is checked with its password (a mismatch is
//! [`Pkcs12Error::WrongPassword`]); encrypted certificate bags and
//! shrouded key bags are decrypted; what comes out is DER for rustls. A
//! JKS store is recognised and refused with the `keytool` command that
//! converts it. Every length is checked: hostile bytes give an error,
//! never a panic.

mod der;
mod oid;
mod pbe;

use der::{Der, CONTEXT_0, CONTEXT_0_PRIMITIVE, SET};
use oid::*;

/// Why a store or key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs12Error {
    /// Not the structure it should be.
    #[error("malformed store: {0}")]
    Malformed(&'static str),
    /// A valid store using what is not built in.
    #[error("the store uses {0}, which is not supported")]
    Unsupported(String),
    /// The MAC or the padding did not check out under the password given.
    #[error("wrong password (or a damaged file)")]
    WrongPassword,
    /// The store is encrypted and no password was given.
    #[error("the store is encrypted: its password is needed")]
    PasswordNeeded,
    /// A Java KeyStore (JKS), a format only Java reads.
    #[error(
        "a JKS store, which only Java reads: convert it with `keytool -importkeystore -srckeystore <file> -destkeystore <file>.p12 -deststoretype PKCS12`"
    )]
    Jks,
}

/// What a PKCS#12 store holds, as DER.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pkcs12Contents {
    /// Private keys (PKCS#8 `PrivateKeyInfo`), with their `localKeyId`.
    pub keys: Vec<(Option<Vec<u8>>, Vec<u8>)>,
    /// Certificates, with their `localKeyId` (a key's own certificate
    /// shares the key's).
    pub certificates: Vec<(Option<Vec<u8>>, Vec<u8>)>,
}

impl Pkcs12Contents {
    /// The first key and its certificate chain: the certificate sharing
    /// the key's `localKeyId` first (else the first one), then the others
    /// in store order.
    pub fn identity(&self) -> Option<(Vec<Vec<u8>>, &[u8])> {
        let (id, key) = self.keys.first()?;
        let leaf = self
            .certificates
            .iter()
            .position(|(cid, _)| id.is_some() && cid == id)
            .or((!self.certificates.is_empty()).then_some(0))?;
        let mut chain = vec![self.certificates[leaf].1.clone()];
        chain.extend(
            self.certificates
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != leaf)
                .map(|(_, (_, c))| c.clone()),
        );
        Some((chain, key))
    }
}

/// Reads a PKCS#12 store. `password` checks the MAC and decrypts the
/// certificates; `key_password` (else `password`) decrypts the keys.
/// Without a password an unencrypted store is read unchecked, as Java does
/// for a truststore without `ssl.truststore.password`.
pub fn parse(
    data: &[u8],
    password: Option<&str>,
    key_password: Option<&str>,
) -> Result<Pkcs12Contents, Pkcs12Error> {
    if data.starts_with(&[0xfe, 0xed, 0xfe, 0xed]) {
        return Err(Pkcs12Error::Jks);
    }
    let mut top = Der::new(data);
    let mut pfx = top.sequence("not a PKCS#12 store (no PFX sequence)")?;
    let version = pfx.small_uint("PFX version")?;
    if version != 3 {
        return Err(Pkcs12Error::Malformed("PFX version is not 3"));
    }
    let mut auth_safe = pfx.sequence("PFX authSafe")?;
    if auth_safe.oid("authSafe content type")? != DATA {
        return Err(Pkcs12Error::Unsupported(
            "a public-key-signed store (authSafe not of type data)".into(),
        ));
    }
    let mut explicit = Der::new(auth_safe.expect(CONTEXT_0, "authSafe content")?);
    let safes = explicit.octets("authSafe octets")?;
    if !pfx.is_empty() {
        let mut mac_data = pfx.sequence("MacData")?;
        let mut digest_info = mac_data.sequence("MAC DigestInfo")?;
        let (digest_alg, _) = digest_info.algorithm("MAC digest algorithm")?;
        let expected = digest_info.octets("MAC digest")?;
        let salt = mac_data.octets("MAC salt")?;
        let iterations = if mac_data.is_empty() {
            1
        } else {
            mac_data.small_uint("MAC iterations")?
        };
        if let Some(p) = password {
            pbe::verify_mac(digest_alg, expected, salt, iterations, p, safes)?;
        }
    }
    let mut contents = Pkcs12Contents::default();
    let mut list = Der::new(safes).sequence("AuthenticatedSafe")?;
    while !list.is_empty() {
        let mut info = list.sequence("AuthenticatedSafe ContentInfo")?;
        let kind = info.oid("ContentInfo type")?;
        let mut body = Der::new(info.expect(CONTEXT_0, "ContentInfo content")?);
        match kind {
            DATA => bags(
                body.octets("SafeContents octets")?,
                &mut contents,
                password,
                key_password,
            )?,
            ENCRYPTED_DATA => {
                let password = password.ok_or(Pkcs12Error::PasswordNeeded)?;
                let mut encrypted = body.sequence("EncryptedData")?;
                encrypted.small_uint("EncryptedData version")?;
                let mut info = encrypted.sequence("EncryptedContentInfo")?;
                info.oid("encrypted content type")?;
                let (alg, params) = info.algorithm("content encryption algorithm")?;
                let ciphertext = match info.any()? {
                    (CONTEXT_0_PRIMITIVE, c) => c,
                    _ => {
                        return Err(Pkcs12Error::Malformed(
                            "encrypted content is not a primitive [0] OCTET STRING",
                        ))
                    }
                };
                let plain = pbe::decrypt(alg, params, ciphertext, password)?;
                bags(&plain, &mut contents, Some(password), key_password)?;
            }
            _ => {
                return Err(Pkcs12Error::Unsupported(
                    "an enveloped (public-key encrypted) part".into(),
                ))
            }
        }
    }
    Ok(contents)
}

/// The bags of one SafeContents.
fn bags(
    safe_contents: &[u8],
    out: &mut Pkcs12Contents,
    password: Option<&str>,
    key_password: Option<&str>,
) -> Result<(), Pkcs12Error> {
    let mut list = Der::new(safe_contents).sequence("SafeContents")?;
    while !list.is_empty() {
        let mut bag = list.sequence("SafeBag")?;
        let kind = bag.oid("SafeBag type")?;
        let mut value = Der::new(bag.expect(CONTEXT_0, "SafeBag value")?);
        let local_key_id = match bag.optional(SET)? {
            Some(attrs) => local_key_id(attrs)?,
            None => None,
        };
        match kind {
            KEY_BAG => {
                let (_, key) = value.any()?;
                out.keys.push((local_key_id, reencode_sequence(key)));
            }
            SHROUDED_KEY_BAG => {
                let (tag, epki) = value.any()?;
                if tag != der::SEQUENCE {
                    return Err(Pkcs12Error::Malformed("EncryptedPrivateKeyInfo"));
                }
                let p = key_password
                    .or(password)
                    .ok_or(Pkcs12Error::PasswordNeeded)?;
                out.keys.push((local_key_id, decrypt_epki(epki, p)?));
            }
            CERT_BAG => {
                let mut cert_bag = value.sequence("CertBag")?;
                if cert_bag.oid("CertBag type")? != X509_CERTIFICATE {
                    // SDSI certificates: nothing TLS can use.
                    continue;
                }
                let mut explicit = Der::new(cert_bag.expect(CONTEXT_0, "CertBag value")?);
                out.certificates.push((
                    local_key_id,
                    explicit.octets("certificate octets")?.to_vec(),
                ));
            }
            // CRL, secret and nested bags: nothing TLS needs.
            _ => {}
        }
    }
    Ok(())
}

/// The `localKeyId` among a bag's attributes.
fn local_key_id(attrs: &[u8]) -> Result<Option<Vec<u8>>, Pkcs12Error> {
    let mut attrs = Der::new(attrs);
    while !attrs.is_empty() {
        let mut attr = attrs.sequence("bag attribute")?;
        if attr.oid("attribute type")? == LOCAL_KEY_ID {
            let mut values = Der::new(attr.expect(SET, "attribute values")?);
            return Ok(Some(values.octets("localKeyId")?.to_vec()));
        }
    }
    Ok(None)
}

/// The contents of a SEQUENCE, wrapped again as a whole DER SEQUENCE.
fn reencode_sequence(contents: &[u8]) -> Vec<u8> {
    let mut out = vec![der::SEQUENCE];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// Decrypts an `EncryptedPrivateKeyInfo` (its contents) to a PKCS#8
/// `PrivateKeyInfo`.
fn decrypt_epki(epki: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let mut epki = Der::new(epki);
    let (alg, params) = epki.algorithm("EncryptedPrivateKeyInfo algorithm")?;
    let data = epki.octets("EncryptedPrivateKeyInfo data")?;
    let key = pbe::decrypt(alg, params, data, password)?;
    // The plaintext must be a PrivateKeyInfo: a wrong password that
    // happened to leave valid padding shows here.
    let mut check = Der::new(&key);
    match check.any() {
        Ok((der::SEQUENCE, _)) if check.is_empty() => Ok(key),
        _ => Err(Pkcs12Error::WrongPassword),
    }
}

/// Decrypts a PKCS#8 `EncryptedPrivateKeyInfo` (DER, as in a PEM
/// `ENCRYPTED PRIVATE KEY`) to a `PrivateKeyInfo`.
pub fn decrypt_pkcs8(der: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let mut outer = Der::new(der);
    let (tag, contents) = outer.any()?;
    if tag != der::SEQUENCE {
        return Err(Pkcs12Error::Malformed("not an EncryptedPrivateKeyInfo"));
    }
    decrypt_epki(contents, password)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
