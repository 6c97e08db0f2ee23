//! SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka speaks it:
//! no channel binding (`n,,`), no SASLprep (UTF-8 as given), and the
//! server's signature checked before the exchange counts as done.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::{digest, hmac, pbkdf2};

use super::{Mechanism, Step};
use crate::security::ScramMechanism;

/// Fewer iterations than this are refused (as the Java client and franz-go do).
const MIN_ITERATIONS: u32 = 4096;
/// More than this is refused too: a hostile server could make the client
/// spin on PBKDF2 for minutes (Kafka's own maximum is 16384).
const MAX_ITERATIONS: u32 = 1 << 16;

enum State {
    Start,
    /// client-first sent; waiting for server-first.
    SentFirst,
    /// client-final sent; the server's signature it must send back.
    SentFinal {
        server_signature: hmac::Tag,
    },
    Done,
}

pub(crate) struct Scram {
    mechanism: ScramMechanism,
    password: String,
    client_nonce: String,
    client_first_bare: String,
    state: State,
}

impl Scram {
    pub(crate) fn new(
        mechanism: ScramMechanism,
        username: &str,
        password: &str,
    ) -> Result<Self, String> {
        let mut nonce = [0u8; 24];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| "no randomness for the SCRAM nonce".to_string())?;
        Ok(Self::with_nonce(
            mechanism,
            username,
            password,
            URL_SAFE_NO_PAD.encode(nonce),
        ))
    }

    pub(crate) fn with_nonce(
        mechanism: ScramMechanism,
        username: &str,
        password: &str,
        client_nonce: String,
    ) -> Self {
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Scram {
            mechanism,
            password: password.to_string(),
            client_first_bare: format!("n={name},r={client_nonce}"),
            client_nonce,
            state: State::Start,
        }
    }

    fn algorithms(
        &self,
    ) -> (
        pbkdf2::Algorithm,
        hmac::Algorithm,
        &'static digest::Algorithm,
    ) {
        match self.mechanism {
            ScramMechanism::Sha256 => (
                pbkdf2::PBKDF2_HMAC_SHA256,
                hmac::HMAC_SHA256,
                &digest::SHA256,
            ),
            ScramMechanism::Sha512 => (
                pbkdf2::PBKDF2_HMAC_SHA512,
                hmac::HMAC_SHA512,
                &digest::SHA512,
            ),
        }
    }

    fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| "server-first-message is not UTF-8".to_string())?;
        let attrs = attributes(server_first);
        if let Some(e) = attrs.iter().find(|(k, _)| *k == 'e') {
            return Err(format!("server error: {}", e.1));
        }
        let get = |k: char| {
            attrs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("server-first-message has no {k}= attribute"))
        };
        let nonce = get('r')?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("the server's nonce does not extend ours".into());
        }
        let salt = STANDARD
            .decode(get('s')?)
            .map_err(|_| "the server's salt is not base64".to_string())?;
        let iterations: u32 = get('i')?
            .parse()
            .map_err(|_| "the server's iteration count is not a number".to_string())?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(format!(
                "the server asks for {iterations} iterations, outside {MIN_ITERATIONS}..={MAX_ITERATIONS}"
            ));
        }

        let (kdf, mac, hash) = self.algorithms();
        let mut salted = vec![0u8; hash.output_len()];
        pbkdf2::derive(
            kdf,
            std::num::NonZeroU32::new(iterations).expect("checked above"),
            &salt,
            self.password.as_bytes(),
            &mut salted,
        );
        let salted = hmac::Key::new(mac, &salted);
        let client_key = hmac::sign(&salted, b"Client Key");
        let stored_key = digest::digest(hash, client_key.as_ref());
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hmac::sign(
            &hmac::Key::new(mac, stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(client_signature.as_ref())
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac::sign(&salted, b"Server Key");
        let server_signature = hmac::sign(
            &hmac::Key::new(mac, server_key.as_ref()),
            auth_message.as_bytes(),
        );
        self.state = State::SentFinal { server_signature };
        Ok(format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes())
    }
}

/// `k=v` pairs of a SCRAM message (values may hold `=`).
fn attributes(message: &str) -> Vec<(char, &str)> {
    message
        .split(',')
        .filter_map(|part| {
            let mut chars = part.chars();
            let k = chars.next()?;
            part.get(1..)?.strip_prefix('=').map(|v| (k, v))
        })
        .collect()
}

impl Mechanism for Scram {
    fn start(&mut self) -> Result<Vec<u8>, String> {
        self.state = State::SentFirst;
        Ok(format!("n,,{}", self.client_first_bare).into_bytes())
    }

    fn step(&mut self, server: &[u8]) -> Result<Step, String> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::SentFirst => self.client_final(server).map(Step::Respond),
            State::SentFinal { server_signature } => {
                let text = std::str::from_utf8(server)
                    .map_err(|_| "server-final-message is not UTF-8".to_string())?;
                let attrs = attributes(text);
                if let Some((_, e)) = attrs.iter().find(|(k, _)| *k == 'e') {
                    return Err(format!("server error: {e}"));
                }
                let v = attrs
                    .iter()
                    .find(|(k, _)| *k == 'v')
                    .map(|(_, v)| *v)
                    .ok_or("server-final-message has no v= attribute")?;
                let got = STANDARD
                    .decode(v)
                    .map_err(|_| "the server's signature is not base64".to_string())?;
                // Constant-time comparison of what we computed and what came.
                let expected = server_signature.as_ref();
                let same = got.len() == expected.len()
                    && got
                        .iter()
                        .zip(expected)
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0;
                if !same {
                    return Err("the server's signature is wrong: it does not know the password (or the exchange was tampered with)".into());
                }
                Ok(Step::Done)
            }
            State::Start | State::Done => Err("unexpected SCRAM message".into()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 7677 section 3's SCRAM-SHA-256 example.
    #[test]
    fn rfc7677_example() {
        let mut m = Scram::with_nonce(
            ScramMechanism::Sha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(m.start().unwrap(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let first = m
            .step(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            first,
            Step::Respond(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".to_vec()
            )
        );
        assert_eq!(
            m.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap(),
            Step::Done
        );
    }

    fn after_first(mech: ScramMechanism) -> Scram {
        let mut m = Scram::with_nonce(mech, "user", "pencil", "abc".into());
        m.start().unwrap();
        assert!(matches!(
            m.step(b"r=abcdef,s=c2FsdA==,i=4096").unwrap(),
            Step::Respond(_)
        ));
        m
    }

    /// A server that knows the password computes the same signature: the
    /// exchange of a SHA-512 server, computed here from the RFC's formulas.
    #[test]
    fn sha512_verifies_a_server_that_knows_the_password() {
        let mut m = Scram::with_nonce(ScramMechanism::Sha512, "u=,x", "pw", "cn".into());
        assert_eq!(m.start().unwrap(), b"n,,n=u=3D=2Cx,r=cn");
        let server_first = "r=cnsn,s=c2FsdA==,i=4096";
        let Step::Respond(final_msg) = m.step(server_first.as_bytes()).unwrap() else {
            panic!("expected client-final");
        };
        let final_msg = String::from_utf8(final_msg).unwrap();
        let without_proof = final_msg.rsplit_once(",p=").unwrap().0;
        let mut salted = [0u8; 64];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA512,
            4096.try_into().unwrap(),
            b"salt",
            b"pw",
            &mut salted,
        );
        let salted = hmac::Key::new(hmac::HMAC_SHA512, &salted);
        let auth = format!("n=u=3D=2Cx,r=cn,{server_first},{without_proof}");
        let server_key = hmac::sign(&salted, b"Server Key");
        let sig = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA512, server_key.as_ref()),
            auth.as_bytes(),
        );
        // The client's proof checks out on the server side too.
        let client_key = hmac::sign(&salted, b"Client Key");
        let stored = digest::digest(&digest::SHA512, client_key.as_ref());
        let client_sig = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA512, stored.as_ref()),
            auth.as_bytes(),
        );
        let proof = STANDARD
            .decode(final_msg.rsplit_once(",p=").unwrap().1)
            .unwrap();
        let recovered: Vec<u8> = proof
            .iter()
            .zip(client_sig.as_ref())
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(
            digest::digest(&digest::SHA512, &recovered).as_ref(),
            stored.as_ref()
        );
        let v = format!("v={}", STANDARD.encode(sig.as_ref()));
        assert_eq!(m.step(v.as_bytes()).unwrap(), Step::Done);
    }

    #[test]
    fn a_wrong_server_signature_is_an_error() {
        for mech in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            let mut m = after_first(mech);
            let e = m
                .step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap_err();
            assert!(e.contains("signature is wrong"), "{e}");
            let mut m = after_first(mech);
            assert!(m
                .step(b"e=invalid-proof")
                .unwrap_err()
                .contains("invalid-proof"));
            let mut m = after_first(mech);
            assert!(m.step(b"x=1").is_err());
            let mut m = after_first(mech);
            assert!(m.step(b"v=not base64!").is_err());
        }
    }

    #[test]
    fn hostile_server_first_messages_are_refused() {
        for (msg, want) in [
            ("r=xyz,s=c2FsdA==,i=4096", "nonce"),
            ("r=abc,s=c2FsdA==,i=4096", "nonce"),
            ("r=abcd,s=c2FsdA==,i=4095", "iterations"),
            ("r=abcd,s=c2FsdA==,i=4000000000", "iterations"),
            ("r=abcd,s=c2FsdA==,i=x", "not a number"),
            ("r=abcd,s=***,i=4096", "salt"),
            ("r=abcd,i=4096", "s="),
            ("e=unknown-user", "unknown-user"),
            ("", "r="),
        ] {
            let mut m = Scram::with_nonce(ScramMechanism::Sha256, "user", "pencil", "abc".into());
            m.start().unwrap();
            let e = m.step(msg.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{msg}: {e}");
            assert!(!e.contains("pencil"));
        }
        let mut m = Scram::with_nonce(ScramMechanism::Sha256, "user", "pencil", "abc".into());
        m.start().unwrap();
        assert!(m.step(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn random_nonces_differ_and_are_printable_without_commas() {
        let a = Scram::new(ScramMechanism::Sha256, "u", "p").unwrap();
        let b = Scram::new(ScramMechanism::Sha256, "u", "p").unwrap();
        assert_ne!(a.client_nonce, b.client_nonce);
        assert!(a
            .client_nonce
            .bytes()
            .all(|c| c.is_ascii_graphic() && c != b','));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_server_bytes(first in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
                                        last in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut m = Scram::with_nonce(ScramMechanism::Sha256, "user", "pencil", "abc".into());
            m.start().unwrap();
            let _ = m.step(&first);
            let _ = m.step(&last);
            let mut m = after_first(ScramMechanism::Sha512);
            let _ = m.step(&last);
        }
    }
}
