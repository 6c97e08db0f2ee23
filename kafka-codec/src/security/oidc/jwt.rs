//! JWTs on the client side: the claims of an access token (read, not
//! verified: the broker verifies), and the signed assertion of the
//! jwt-bearer grant (KIP-1139), RS256 or ES256 with ring.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use rustls::pki_types::PrivateKeyDer;
use serde_json::{json, Map, Value};

use super::{Assertion, AssertionAlgorithm};

/// The claims of a JWT (its middle part), without checking its signature.
pub fn claims(token: &str) -> Result<Map<String, Value>, String> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the access token is not a JWT (three dot-separated parts)".into());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the access token's payload is not base64url")?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err("the access token's payload is not a JSON object".into()),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A signed assertion for the jwt-bearer grant.
pub fn assertion(a: &Assertion) -> Result<String, String> {
    if let Some(file) = &a.assertion_file {
        // A ready-made assertion, read afresh each time (it may be rotated).
        return std::fs::read_to_string(file)
            .map(|s| s.trim().to_string())
            .map_err(|e| {
                format!(
                    "cannot read sasl.oauthbearer.assertion.file {}: {e}",
                    file.display()
                )
            });
    }
    let (mut header, mut payload) = (Map::new(), Map::new());
    if let Some(t) = &a.template_file {
        let text = std::fs::read_to_string(t).map_err(|e| {
            format!(
                "cannot read sasl.oauthbearer.assertion.template.file {}: {e}",
                t.display()
            )
        })?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("sasl.oauthbearer.assertion.template.file is not JSON: {e}"))?;
        for (part, into) in [("header", &mut header), ("payload", &mut payload)] {
            if let Some(Value::Object(m)) = v.get(part) {
                into.extend(m.clone());
            }
        }
    }
    let alg = match a.algorithm {
        AssertionAlgorithm::Rs256 => "RS256",
        AssertionAlgorithm::Es256 => "ES256",
    };
    header.insert("alg".into(), json!(alg));
    header.insert("typ".into(), json!("JWT"));
    let now = now_secs();
    payload.insert("iat".into(), json!(now));
    payload.insert("exp".into(), json!(now + a.exp.as_secs()));
    payload.insert("nbf".into(), json!(now.saturating_sub(a.nbf.as_secs())));
    for (claim, value) in [("iss", &a.iss), ("sub", &a.sub), ("aud", &a.aud)] {
        if let Some(v) = value {
            payload.insert(claim.into(), json!(v));
        }
    }
    if a.include_jti {
        let mut id = [0u8; 16];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut id)
            .map_err(|_| "no randomness for the assertion's jti")?;
        payload.insert("jti".into(), json!(URL_SAFE_NO_PAD.encode(id)));
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string())
    );
    let key = private_key(a)?;
    let rng = SystemRandom::new();
    let signature = match a.algorithm {
        AssertionAlgorithm::Rs256 => {
            let pair = RsaKeyPair::from_pkcs8(&key)
                .or_else(|_| RsaKeyPair::from_der(&key))
                .map_err(|e| format!("sasl.oauthbearer.assertion.private.key.file is not an RSA key for RS256: {e}"))?;
            let mut sig = vec![0u8; pair.public().modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &rng, signing_input.as_bytes(), &mut sig)
                .map_err(|_| "RS256 signing failed")?;
            sig
        }
        AssertionAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key, &rng)
                .map_err(|e| format!("sasl.oauthbearer.assertion.private.key.file is not a P-256 PKCS#8 key for ES256: {e}"))?;
            pair.sign(&rng, signing_input.as_bytes())
                .map_err(|_| "ES256 signing failed")?
                .as_ref()
                .to_vec()
        }
    };
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// The DER of the assertion key (PKCS#8 or PKCS#1, maybe an encrypted
/// PKCS#8 with the passphrase), read as TLS keys are.
fn private_key(a: &Assertion) -> Result<Vec<u8>, String> {
    let what = "sasl.oauthbearer.assertion.private.key.file";
    let path = a.private_key_file.as_ref().ok_or_else(|| {
        format!("the jwt-bearer grant needs {what} (or sasl.oauthbearer.assertion.file)")
    })?;
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    let key = crate::security::stores::private_key(
        &pem,
        what,
        a.passphrase.as_ref(),
        "sasl.oauthbearer.assertion.private.key.passphrase",
    )?;
    match key {
        PrivateKeyDer::Pkcs8(k) => Ok(k.secret_pkcs8_der().to_vec()),
        PrivateKeyDer::Pkcs1(k) => Ok(k.secret_pkcs1_der().to_vec()),
        _ => Err(format!(
            "{what} holds a SEC1 EC key: convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)"
        )),
    }
}
