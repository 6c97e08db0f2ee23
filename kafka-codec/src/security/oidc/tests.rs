//! The provider against a token endpoint played by the test: what it
//! sends for each grant, what it keeps, when it fetches again, and what
//! each failure looks like.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A JWT (unsigned: the client does not verify) expiring in `secs`.
fn token(secs: i64, sub: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = serde_json::json!({"sub": sub, "iat": now, "exp": now + secs});
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn ok(access_token: &str) -> String {
    let body =
        serde_json::json!({"access_token": access_token, "token_type": "Bearer"}).to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A token endpoint answering with `answers` in turn (the last one again
/// once they run out); the requests it got.
async fn endpoint(answers: Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let k = s.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if buf.len() >= i + 4 + len || k == 0 {
                        break;
                    }
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf).to_string());
            let answer = &answers[n.min(answers.len() - 1)];
            n += 1;
            let _ = s.write_all(answer.as_bytes()).await;
        }
    });
    (url, seen)
}

fn credentials(url: &str) -> OidcConfig {
    let mut c = OidcConfig::new(
        url,
        Grant::ClientCredentials {
            client_id: "app".into(),
            client_secret: Secret::new("s3cret"),
        },
    );
    c.scope = Some("kafka write".into());
    c.retry_backoff = Duration::from_millis(10);
    c.retry_backoff_max = Duration::from_millis(200);
    c
}

#[tokio::test]
async fn client_credentials_are_sent_as_java_sends_them_and_the_token_is_kept() {
    let (url, seen) = endpoint(vec![ok(&token(3600, "app"))]).await;
    let p = OidcTokenProvider::new(credentials(&url));
    let t = p.token().await.unwrap();
    assert!(t.lifetime > Duration::from_secs(3500));
    let again = p.token().await.unwrap();
    assert_eq!(t.value, again.value);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "kept until its refresh time");
    let request = &seen[0];
    assert!(request.starts_with("POST /token HTTP/1.1\r\n"));
    // Basic base64("app:s3cret").
    assert!(
        request.contains("Authorization: Basic YXBwOnMzY3JldA==\r\n"),
        "{request}"
    );
    assert!(
        request.ends_with("grant_type=client_credentials&scope=kafka+write"),
        "{request}"
    );
}

#[tokio::test]
async fn the_token_is_fetched_again_at_its_refresh_time() {
    let (url, seen) = endpoint(vec![ok(&token(2, "app")), ok(&token(3600, "app"))]).await;
    let mut c = credentials(&url);
    c.refresh_min_period = Duration::ZERO;
    c.refresh_buffer = Duration::ZERO;
    c.refresh_window_factor = 0.5;
    c.refresh_window_jitter = 0.0;
    let p = OidcTokenProvider::new(c);
    let first = p.token().await.unwrap();
    assert_eq!(p.token().await.unwrap().value, first.value);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = p.token().await.unwrap();
    assert_ne!(second.value, first.value);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn refresh_times_follow_javas_settings() {
    let c = OidcConfig::new("file:///t", Grant::File);
    let hour = Duration::from_secs(3600);
    // 0.8 of an hour, plus up to 0.05 of it.
    assert_eq!(refresh_after(&c, hour, 0.0), Duration::from_secs(2880));
    assert_eq!(refresh_after(&c, hour, 1.0), Duration::from_secs(3060));
    // No later than 300 s before expiry, no sooner than 60 s.
    let ten_min = Duration::from_secs(600);
    assert_eq!(refresh_after(&c, ten_min, 0.0), Duration::from_secs(300));
    let short = Duration::from_secs(30);
    assert_eq!(refresh_after(&c, short, 0.0), short);
}

#[tokio::test]
async fn a_wrong_secret_is_not_retried_and_says_what_the_endpoint_said() {
    let denied =
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 26\r\n\r\n{\"error\":\"invalid_client\"}";
    let (url, seen) = endpoint(vec![denied.into()]).await;
    let e = OidcTokenProvider::new(credentials(&url))
        .token()
        .await
        .unwrap_err();
    assert!(e.permanent, "a refusal repeats");
    let e = e.message;
    assert!(e.contains("401") && e.contains("invalid_client"), "{e}");
    assert!(!e.contains("s3cret"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_busy_endpoint_is_retried() {
    let busy = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".to_string();
    let (url, seen) = endpoint(vec![busy.clone(), busy, ok(&token(60, "app"))]).await;
    OidcTokenProvider::new(credentials(&url))
        .token()
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_within_the_retry_bound() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let e = OidcTokenProvider::new(credentials(&format!("http://127.0.0.1:{port}/token")))
        .token()
        .await
        .unwrap_err();
    assert!(!e.permanent, "the endpoint may come back");
    assert!(e.message.contains("cannot connect"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn tokens_without_life_or_subject_are_refused() {
    let (url, _) = endpoint(vec![ok(&token(-10, "app"))]).await;
    let e = OidcTokenProvider::new(credentials(&url))
        .token()
        .await
        .unwrap_err();
    assert!(e.permanent && e.message.contains("expired"), "{e}");
    let (url, _) = endpoint(vec![ok(&token(60, ""))]).await;
    let e = OidcTokenProvider::new(credentials(&url))
        .token()
        .await
        .unwrap_err();
    assert!(e.permanent && e.message.contains("no sub claim"), "{e}");
    let (url, _) = endpoint(vec![ok("not-a-jwt")]).await;
    assert!(OidcTokenProvider::new(credentials(&url))
        .token()
        .await
        .is_err());
}

#[tokio::test]
async fn a_token_file_is_read_at_every_fetch() {
    let dir = std::env::temp_dir().join(format!("oidc-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, format!("{}\n", token(3600, "app"))).unwrap();
    let p = OidcTokenProvider::new(OidcConfig::new(
        format!("file://{}", file.display()),
        Grant::File,
    ));
    let t = p.token().await.unwrap();
    assert_eq!(t.value.expose(), token_text(&file));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn token_text(file: &std::path::Path) -> String {
    std::fs::read_to_string(file).unwrap().trim().to_string()
}

/// The assertion in a jwt-bearer request, its signing input and signature.
fn assertion_of(request: &str) -> (String, Vec<u8>, serde_json::Value) {
    let form = request.rsplit("\r\n\r\n").next().unwrap();
    assert!(
        form.starts_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        ),
        "{form}"
    );
    let jwt = form
        .split("assertion=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let claims = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(input.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    (
        input.to_string(),
        URL_SAFE_NO_PAD.decode(sig).unwrap(),
        claims,
    )
}

fn jwt_bearer(url: &str, alg: AssertionAlgorithm, key: &std::path::Path) -> OidcConfig {
    let mut a = Assertion::new(alg, key);
    a.iss = Some("app".into());
    a.sub = Some("app".into());
    a.aud = Some("https://idp.example.com".into());
    a.include_jti = true;
    OidcConfig::new(url, Grant::JwtBearer(a))
}

#[tokio::test]
async fn jwt_bearer_assertions_are_signed_es256_and_rs256() {
    let dir = std::env::temp_dir().join(format!("oidc-jwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // ES256 with a key made here.
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
    );
    let ec = dir.join("ec.pem");
    std::fs::write(&ec, pem).unwrap();
    let (url, seen) = endpoint(vec![ok(&token(60, "app"))]).await;
    OidcTokenProvider::new(jwt_bearer(&url, AssertionAlgorithm::Es256, &ec))
        .token()
        .await
        .unwrap();
    let (input, sig, claims) = assertion_of(&seen.lock().unwrap()[0]);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
        .verify(input.as_bytes(), &sig)
        .expect("a valid ES256 signature");
    assert_eq!(claims["iss"], "app");
    assert_eq!(claims["aud"], "https://idp.example.com");
    assert!(claims["jti"].is_string());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        300
    );
    // RS256 with the fixture key.
    let rsa = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/security/oidc/testdata/rsa.pem");
    let (url, seen) = endpoint(vec![ok(&token(60, "app"))]).await;
    OidcTokenProvider::new(jwt_bearer(&url, AssertionAlgorithm::Rs256, &rsa))
        .token()
        .await
        .unwrap();
    let (input, sig, _) = assertion_of(&seen.lock().unwrap()[0]);
    let text = std::fs::read_to_string(&rsa).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public().as_ref())
        .verify(input.as_bytes(), &sig)
        .expect("a valid RS256 signature");
    std::fs::remove_dir_all(&dir).unwrap();
}
