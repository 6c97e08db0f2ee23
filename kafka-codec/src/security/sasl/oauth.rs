//! OAUTHBEARER (RFC 7628) and Kafka's unsecured JWS tokens.
//!
//! The client sends `n,,\x01auth=Bearer <token>(\x01key=value)*\x01\x01`.
//! A broker that rejects the token answers with a JSON status and no error
//! code; the client then sends `\x01` (as the Java client does) so that the
//! broker ends the exchange with SASL_AUTHENTICATION_FAILED and the status
//! as its message, which is what the user gets to see.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::{Mechanism, Step};
use crate::security::{OAuthToken, Secret, UnsecuredJwsProvider};

enum State {
    Start,
    Sent,
    /// The broker said no; `\x01` sent, its JSON kept for the error.
    Rejected(String),
}

pub(crate) struct OAuthBearer {
    message: Vec<u8>,
    state: State,
}

fn check_token(token: &str) -> Result<(), String> {
    // Kafka matches the token with `[-_~+/.a-zA-Z0-9]+=*`.
    let body = token.trim_end_matches('=');
    if body.is_empty()
        || !body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_~+/.".contains(&c))
    {
        return Err("the OAUTHBEARER token holds characters a bearer token may not (RFC 6750: letters, digits, -._~+/ and trailing =)".into());
    }
    Ok(())
}

fn check_extension(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphabetic()) || key == "auth" {
        return Err(format!(
            "SASL extension name {key:?} is not allowed (letters only, not \"auth\")"
        ));
    }
    if value.is_empty()
        || !value
            .bytes()
            .all(|c| (0x21..=0x7e).contains(&c) || b" \t\r\n".contains(&c))
    {
        return Err(format!(
            "the value of SASL extension {key} holds characters RFC 7628 does not allow"
        ));
    }
    Ok(())
}

impl OAuthBearer {
    pub(crate) fn new(token: &OAuthToken) -> Result<Self, String> {
        check_token(token.value.expose())?;
        let mut message = format!("n,,\x01auth=Bearer {}", token.value.expose()).into_bytes();
        for (k, v) in &token.extensions {
            check_extension(k, v)?;
            message.extend_from_slice(format!("\x01{k}={v}").as_bytes());
        }
        message.extend_from_slice(b"\x01\x01");
        Ok(OAuthBearer {
            message,
            state: State::Start,
        })
    }

    /// The broker's JSON status, once it rejected the token.
    #[cfg(test)]
    pub(crate) fn rejection(&self) -> Option<&str> {
        match &self.state {
            State::Rejected(json) => Some(json),
            _ => None,
        }
    }
}

impl Mechanism for OAuthBearer {
    fn start(&mut self) -> Result<Vec<u8>, String> {
        self.state = State::Sent;
        Ok(std::mem::take(&mut self.message))
    }

    fn step(&mut self, server: &[u8]) -> Result<Step, String> {
        match &self.state {
            State::Sent if server.is_empty() => Ok(Step::Done),
            State::Sent => {
                self.state = State::Rejected(String::from_utf8_lossy(server).into_owned());
                Ok(Step::Respond(vec![0x01]))
            }
            State::Rejected(json) => Err(format!("the broker rejected the token: {json}")),
            State::Start => Err("unexpected OAUTHBEARER message".into()),
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl UnsecuredJwsProvider {
    /// A token issued `now`: `{"alg":"none"}`, claims `iat`, `exp`, `sub`
    /// and `scope`, and an empty signature.
    pub fn token_at(&self, now: SystemTime) -> OAuthToken {
        let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let exp = iat.saturating_add(self.lifetime.as_secs().max(1));
        let mut claims = format!(
            "{{\"iat\":{iat},\"exp\":{exp},\"sub\":{}",
            json_string(&self.subject)
        );
        if !self.scopes.is_empty() {
            let scopes: Vec<String> = self.scopes.iter().map(|s| json_string(s)).collect();
            claims.push_str(&format!(",\"scope\":[{}]", scopes.join(",")));
        }
        claims.push('}');
        let value = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.as_bytes())
        );
        OAuthToken {
            value: Secret::new(value),
            lifetime: Duration::from_secs(exp - iat),
            extensions: self.extensions.clone(),
        }
    }
}

impl crate::security::TokenProvider for UnsecuredJwsProvider {
    fn token(
        &self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<OAuthToken, crate::security::TokenError>>
                + Send
                + '_,
        >,
    > {
        let token = self.token_at(SystemTime::now());
        Box::pin(async move { Ok(token) })
    }

    fn as_unsecured(&self) -> Option<&UnsecuredJwsProvider> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> OAuthToken {
        OAuthToken {
            value: Secret::new(value),
            lifetime: Duration::from_secs(60),
            extensions: vec![("traceId".into(), "123".into())],
        }
    }

    #[test]
    fn client_first_message_and_success() {
        let mut m = OAuthBearer::new(&token("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")).unwrap();
        assert_eq!(
            m.start().unwrap(),
            b"n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.\x01traceId=123\x01\x01"
        );
        assert_eq!(m.step(b"").unwrap(), Step::Done);
    }

    #[test]
    fn a_rejection_answers_0x01_and_keeps_the_status() {
        let mut m = OAuthBearer::new(&token("abc")).unwrap();
        m.start().unwrap();
        assert_eq!(
            m.step(br#"{"status":"invalid_token"}"#).unwrap(),
            Step::Respond(vec![1])
        );
        assert_eq!(m.rejection(), Some(r#"{"status":"invalid_token"}"#));
        assert!(m.step(b"").unwrap_err().contains("invalid_token"));
    }

    #[test]
    fn bad_tokens_and_extensions_are_refused_without_quoting_the_token() {
        for bad in ["", "sec ret", "sec=ret", "sec\x01ret", "sécret"] {
            let e = OAuthBearer::new(&token(bad)).err().unwrap();
            assert!(e.contains("token"), "{e}");
            if !bad.is_empty() {
                assert!(!e.contains(bad));
            }
        }
        for (k, v) in [
            ("auth", "x"),
            ("a1", "x"),
            ("", "x"),
            ("ok", ""),
            ("ok", "\x01"),
        ] {
            let t = OAuthToken {
                extensions: vec![(k.into(), v.into())],
                ..token("abc")
            };
            assert!(OAuthBearer::new(&t).is_err(), "{k}={v:?}");
        }
    }

    #[test]
    fn unsecured_jws_layout() {
        let p = UnsecuredJwsProvider {
            subject: "al\"ice".into(),
            scopes: vec!["read".into(), "write".into()],
            lifetime: Duration::from_secs(60),
            extensions: vec![],
        };
        let t = p.token_at(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_eq!(t.lifetime, Duration::from_secs(60));
        let parts: Vec<&str> = t.value.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], "");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(parts[0]).unwrap(),
            br#"{"alg":"none"}"#
        );
        assert_eq!(
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap(),
            r#"{"iat":1700000000,"exp":1700000060,"sub":"al\"ice","scope":["read","write"]}"#
        );
        check_token(t.value.expose()).unwrap();
    }
}
