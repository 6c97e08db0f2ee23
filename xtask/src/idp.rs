//! A local OAuth identity provider for the test cluster's `OAUTH` listener
//! (`kafka up --security oauth`, part of `all`): a token endpoint and a
//! JWKS endpoint on 127.0.0.1, served by this binary (`xtask idp-serve`)
//! as a background process that `kafka down` stops.
//!
//! Tokens are ES256 JWTs (issuer `http://127.0.0.1:<port>`, audience
//! `kafka`) that the brokers check with Kafka's
//! `OAuthBearerValidatorCallbackHandler` against `/jwks`. The clients it
//! knows (client credentials, HTTP Basic):
//!
//! | client id | secret | token |
//! |---|---|---|
//! | `producer` | `producer-secret` | valid 1 hour |
//! | `short-lived` | `short-secret` | valid 4 s (refresh tests) |
//! | `expired` | `expired-secret` | expired a minute ago |
//! | `forged` | `forged-secret` | signed by a key not in the JWKS |
//!
//! and the jwt-bearer grant (KIP-1139): an ES256 assertion signed with
//! `oauth-assertion-key.pem` (written beside), issuer `assertion-client`,
//! audience the issuer URL. Every token issued is a line of
//! `idp-issued.log` (client, iat, exp).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The clients of the client credentials grant: id, secret, lifetime (s).
const CLIENTS: &[(&str, &str, i64)] = &[
    ("producer", "producer-secret", 3600),
    ("short-lived", "short-secret", 4),
    ("expired", "expired-secret", -60),
    ("forged", "forged-secret", 3600),
];

/// The issuer of jwt-bearer assertions the provider accepts.
pub const ASSERTION_ISSUER: &str = "assertion-client";

struct Idp {
    issuer: String,
    signing: EcdsaKeyPair,
    forged: EcdsaKeyPair,
    assertion_public: Vec<u8>,
    issued: PathBuf,
    rng: SystemRandom,
}

fn key(rng: &SystemRandom) -> Result<(EcdsaKeyPair, Vec<u8>), String> {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
        .map_err(|_| "cannot make a P-256 key")?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), rng)
        .map_err(|_| "cannot read the P-256 key")?;
    Ok((pair, pkcs8.as_ref().to_vec()))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Idp {
    fn jwks(&self) -> Value {
        let public = self.signing.public_key().as_ref();
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "idp-1",
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
        }]})
    }

    fn token(&self, sub: &str, lifetime: i64, scope: &str, forged: bool) -> Result<String, String> {
        let iat = now();
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": "idp-1"});
        let claims = json!({
            "iss": self.issuer, "aud": "kafka", "sub": sub, "scope": scope,
            "iat": iat, "exp": iat + lifetime,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let key = if forged { &self.forged } else { &self.signing };
        let sig = key
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| "signing failed")?;
        if let Ok(mut f) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.issued)
        {
            let _ = writeln!(f, "{sub}\t{iat}\t{}", iat + lifetime);
        }
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }

    /// The answer to a token request: status and JSON body.
    fn token_request(
        &self,
        authorization: Option<&str>,
        form: &HashMap<String, String>,
    ) -> (u16, Value) {
        let scope = form.get("scope").map_or("kafka", String::as_str);
        let denied = |status, error: &str| (status, json!({"error": error}));
        match form.get("grant_type").map(String::as_str) {
            Some("client_credentials") => {
                let Some((id, secret)) = authorization
                    .and_then(|a| a.strip_prefix("Basic "))
                    .and_then(|b| STANDARD.decode(b.trim()).ok())
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| {
                        s.split_once(':')
                            .map(|(a, b)| (a.to_string(), b.to_string()))
                    })
                else {
                    return denied(401, "invalid_client");
                };
                match CLIENTS.iter().find(|(i, s, _)| *i == id && *s == secret) {
                    Some((id, _, lifetime)) => {
                        match self.token(id, *lifetime, scope, *id == "forged") {
                            Ok(t) => (
                                200,
                                json!({"access_token": t, "token_type": "Bearer", "expires_in": lifetime}),
                            ),
                            Err(e) => (500, json!({"error": e})),
                        }
                    }
                    None => denied(401, "invalid_client"),
                }
            }
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
                match form.get("assertion").map(|a| self.check_assertion(a)) {
                    Some(Ok(sub)) => match self.token(&sub, 3600, scope, false) {
                        Ok(t) => (
                            200,
                            json!({"access_token": t, "token_type": "Bearer", "expires_in": 3600}),
                        ),
                        Err(e) => (500, json!({"error": e})),
                    },
                    Some(Err(why)) => (
                        400,
                        json!({"error": "invalid_grant", "error_description": why}),
                    ),
                    None => denied(400, "invalid_request"),
                }
            }
            _ => denied(400, "unsupported_grant_type"),
        }
    }

    /// The assertion's subject, once its signature and claims check out.
    fn check_assertion(&self, assertion: &str) -> Result<String, String> {
        let (input, sig) = assertion.rsplit_once('.').ok_or("not a JWT")?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| "bad signature encoding")?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.assertion_public)
            .verify(input.as_bytes(), &sig)
            .map_err(|_| "the assertion's signature does not verify")?;
        let payload = input.split('.').nth(1).ok_or("not a JWT")?;
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(payload)
                .map_err(|_| "bad payload encoding")?,
        )
        .map_err(|_| "the payload is not JSON")?;
        if claims["iss"] != ASSERTION_ISSUER {
            return Err(format!("iss must be {ASSERTION_ISSUER}"));
        }
        if claims["aud"] != self.issuer.as_str() {
            return Err(format!("aud must be {}", self.issuer));
        }
        if claims["exp"].as_i64().is_none_or(|e| e <= now()) {
            return Err("the assertion expired".into());
        }
        Ok(claims["sub"]
            .as_str()
            .unwrap_or(ASSERTION_ISSUER)
            .to_string())
    }
}

fn form_decode(s: &str) -> HashMap<String, String> {
    let decode = |v: &str| {
        let bytes = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).to_string()
    };
    s.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn serve_one(idp: &Idp, mut s: tokio::net::TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head, body) = loop {
        let n = s.read(&mut chunk).await?;
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= i + 4 + len || n == 0 {
                let end = (i + 4 + len).min(buf.len());
                break (head, String::from_utf8_lossy(&buf[i + 4..end]).to_string());
            }
        } else if n == 0 || buf.len() > 1 << 20 {
            return Ok(());
        }
    };
    let request_line = head.lines().next().unwrap_or_default();
    let authorization = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("authorization")
            .then(|| v.trim().to_string())
    });
    let (status, answer) = if request_line.starts_with("GET /jwks") {
        (200, idp.jwks())
    } else if request_line.starts_with("POST /token") {
        idp.token_request(authorization.as_deref(), &form_decode(&body))
    } else {
        (404, json!({"error": "not_found"}))
    };
    let text = answer.to_string();
    let reply = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        if status == 200 { "OK" } else { "Error" },
        text.len()
    );
    s.write_all(reply.as_bytes()).await?;
    s.shutdown().await
}

/// `xtask idp-serve --port P --dir D`: serves until killed.
pub fn serve(args: &[String]) -> Result<(), String> {
    let mut port = None;
    let mut dir = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next().and_then(|p| p.parse::<u16>().ok()),
            "--dir" => dir = it.next().map(PathBuf::from),
            other => return Err(format!("idp-serve: unknown argument {other}")),
        }
    }
    let (Some(port), Some(dir)) = (port, dir) else {
        return Err("idp-serve needs --port and --dir".into());
    };
    let rng = SystemRandom::new();
    let (signing, _) = key(&rng)?;
    let (forged, _) = key(&rng)?;
    let (assertion, assertion_pkcs8) = key(&rng)?;
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(&assertion_pkcs8)
    );
    fs::write(dir.join("oauth-assertion-key.pem"), pem).map_err(|e| e.to_string())?;
    let idp = Idp {
        issuer: format!("http://127.0.0.1:{port}"),
        assertion_public: assertion.public_key().as_ref().to_vec(),
        signing,
        forged,
        issued: dir.join("idp-issued.log"),
        rng,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("idp: cannot listen on {port}: {e}"))?;
        loop {
            let (s, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let _ = tokio::time::timeout(Duration::from_secs(10), serve_one(&idp, s)).await;
        }
    })
}

/// Starts the provider in the background for `kafka up`; waits until it
/// answers. Its pid, for `kafka down`.
pub fn spawn(dir: &Path, port: u16) -> Result<u32, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = fs::File::create(dir.join("idp.log")).map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["idp-serve", "--port", &port.to_string(), "--dir"])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the identity provider: {e}"))?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && dir.join("oauth-assertion-key.pem").exists()
        {
            return Ok(child.id());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the identity provider did not start (see idp.log)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let f = form_decode("grant_type=client_credentials&scope=kafka+write&x=%3A%2F");
        assert_eq!(f["grant_type"], "client_credentials");
        assert_eq!(f["scope"], "kafka write");
        assert_eq!(f["x"], ":/");
    }
}
