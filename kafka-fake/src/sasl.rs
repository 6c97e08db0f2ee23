//! SASL on the fake's listeners (feature `sasl`, on by default), the
//! server side of what `kafka-codec` speaks as a client: PLAIN and
//! SCRAM-SHA-256/512 (RFC 5802/7677) against the users a test sets. A
//! connection authenticates once (SaslHandshake v1, then SaslAuthenticate);
//! until then only ApiVersions and those two are read, as a broker does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::{digest, hmac, pbkdf2};

/// The mechanisms offered, in Kafka's names.
pub(crate) const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// SCRAM iterations (Kafka's minimum is 4096).
const ITERATIONS: u32 = 4096;

/// Server nonces differ per exchange; nothing here needs them unpredictable.
static NONCE: AtomicU64 = AtomicU64::new(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scram {
    Sha256,
    Sha512,
}

impl Scram {
    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Scram::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Scram::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Scram::Sha256 => hmac::HMAC_SHA256,
            Scram::Sha512 => hmac::HMAC_SHA512,
        }
    }
    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Scram::Sha256 => &digest::SHA256,
            Scram::Sha512 => &digest::SHA512,
        }
    }
    fn len(self) -> usize {
        match self {
            Scram::Sha256 => 32,
            Scram::Sha512 => 64,
        }
    }
}

/// Where one connection is in its authentication.
#[derive(Debug, Default)]
pub(crate) enum Auth {
    /// No SaslHandshake yet.
    #[default]
    Start,
    /// The mechanism chosen; its first message is next.
    Chosen(&'static str),
    /// SCRAM: the server-first message was sent.
    ScramSent {
        scram: Scram,
        salted: Vec<u8>,
        client_first_bare: String,
        server_first: String,
        nonce: String,
    },
    /// Authenticated.
    Done,
}

impl Auth {
    pub fn is_done(&self) -> bool {
        matches!(self, Auth::Done)
    }

    /// SaslHandshake: the mechanism, if offered.
    pub fn handshake(&mut self, mechanism: &str) -> bool {
        match MECHANISMS.iter().find(|m| **m == mechanism) {
            Some(m) if matches!(self, Auth::Start) => {
                *self = Auth::Chosen(m);
                true
            }
            _ => false,
        }
    }

    /// One SaslAuthenticate: the bytes to answer, or why authentication
    /// failed (the connection closes after the answer).
    pub fn step(
        &mut self,
        users: &BTreeMap<String, String>,
        bytes: &[u8],
    ) -> Result<Vec<u8>, String> {
        match std::mem::take(self) {
            Auth::Chosen("PLAIN") => {
                // authzid NUL authcid NUL passwd
                let text =
                    std::str::from_utf8(bytes).map_err(|_| "PLAIN: not UTF-8".to_string())?;
                let mut parts = text.split('\0');
                let (_, user, password) = (parts.next(), parts.next(), parts.next());
                match (user, password) {
                    (Some(u), Some(p)) if users.get(u).is_some_and(|want| want == p) => {
                        *self = Auth::Done;
                        Ok(Vec::new())
                    }
                    _ => Err("Authentication failed: Invalid username or password".into()),
                }
            }
            Auth::Chosen(m) => {
                let scram = if m == "SCRAM-SHA-512" {
                    Scram::Sha512
                } else {
                    Scram::Sha256
                };
                let (reply, next) = server_first(scram, users, bytes)?;
                *self = next;
                Ok(reply)
            }
            Auth::ScramSent {
                scram,
                salted,
                client_first_bare,
                server_first,
                nonce,
            } => {
                let text =
                    std::str::from_utf8(bytes).map_err(|_| "SCRAM: not UTF-8".to_string())?;
                let (without_proof, proof) = text
                    .rsplit_once(",p=")
                    .ok_or("SCRAM: client-final without a proof")?;
                if attribute(without_proof, 'r') != Some(nonce.as_str()) {
                    return Err("SCRAM: nonce mismatch".into());
                }
                let proof = B64
                    .decode(proof)
                    .map_err(|_| "SCRAM: proof not base64".to_string())?;
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let key = hmac::Key::new(scram.hmac(), &salted);
                let client_key = hmac::sign(&key, b"Client Key");
                let stored_key = digest::digest(scram.digest(), client_key.as_ref());
                let signature = hmac::sign(
                    &hmac::Key::new(scram.hmac(), stored_key.as_ref()),
                    auth_message.as_bytes(),
                );
                let recovered: Vec<u8> = proof
                    .iter()
                    .zip(signature.as_ref())
                    .map(|(a, b)| a ^ b)
                    .collect();
                if proof.len() != scram.len()
                    || digest::digest(scram.digest(), &recovered).as_ref() != stored_key.as_ref()
                {
                    return Err("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM".into());
                }
                let server_key = hmac::sign(&key, b"Server Key");
                let server_signature = hmac::sign(
                    &hmac::Key::new(scram.hmac(), server_key.as_ref()),
                    auth_message.as_bytes(),
                );
                *self = Auth::Done;
                Ok(format!("v={}", B64.encode(server_signature.as_ref())).into_bytes())
            }
            Auth::Start | Auth::Done => Err("SaslAuthenticate out of order".into()),
        }
    }
}

/// The value of attribute `name` in a SCRAM message.
fn attribute(message: &str, name: char) -> Option<&str> {
    message.split(',').find_map(|a| {
        let mut chars = a.chars();
        (chars.next() == Some(name) && chars.next() == Some('=')).then(|| &a[2..])
    })
}

fn server_first(
    scram: Scram,
    users: &BTreeMap<String, String>,
    bytes: &[u8],
) -> Result<(Vec<u8>, Auth), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "SCRAM: not UTF-8".to_string())?;
    // gs2 header "n,," (or "n,a=authzid,"), then the bare message.
    let bare = text
        .strip_prefix("n,")
        .and_then(|rest| rest.split_once(',').map(|(_, bare)| bare))
        .ok_or("SCRAM: client-first without a gs2 header")?;
    let user = attribute(bare, 'n').ok_or("SCRAM: no user")?;
    let client_nonce = attribute(bare, 'r').ok_or("SCRAM: no nonce")?;
    let password = users
        .get(user)
        .ok_or("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM")?;
    let salt = digest::digest(
        &digest::SHA256,
        format!("kafka-fake salt {user}").as_bytes(),
    );
    let mut salted = vec![0u8; scram.len()];
    pbkdf2::derive(
        scram.pbkdf2(),
        std::num::NonZeroU32::new(ITERATIONS).expect("not zero"),
        salt.as_ref(),
        password.as_bytes(),
        &mut salted,
    );
    let nonce = format!(
        "{client_nonce}{:016x}",
        NONCE.fetch_add(1, Ordering::Relaxed)
    );
    let server_first = format!("r={nonce},s={},i={ITERATIONS}", B64.encode(salt.as_ref()));
    let next = Auth::ScramSent {
        scram,
        salted,
        client_first_bare: bare.to_string(),
        server_first: server_first.clone(),
        nonce,
    };
    Ok((server_first.into_bytes(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> BTreeMap<String, String> {
        [("alice".to_string(), "secret".to_string())].into()
    }

    #[test]
    fn plain_takes_the_right_password_only() {
        let mut a = Auth::default();
        assert!(a.handshake("PLAIN"));
        assert!(a.step(&users(), b"\0alice\0secret").is_ok());
        assert!(a.is_done());
        let mut b = Auth::default();
        assert!(b.handshake("PLAIN"));
        assert!(b.step(&users(), b"\0alice\0wrong").is_err());
        assert!(!Auth::default().handshake("GSSAPI"));
    }

    #[test]
    fn scram_refuses_a_wrong_proof() {
        let mut a = Auth::default();
        assert!(a.handshake("SCRAM-SHA-256"));
        let first = a.step(&users(), b"n,,n=alice,r=abc").unwrap();
        let first = String::from_utf8(first).unwrap();
        let nonce = attribute(&first, 'r').unwrap();
        assert!(nonce.starts_with("abc"));
        let bogus = format!("c=biws,r={nonce},p={}", B64.encode([0u8; 32]));
        assert!(a.step(&users(), bogus.as_bytes()).is_err());
        assert!(!a.is_done());
    }
}
