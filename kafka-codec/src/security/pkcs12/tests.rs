//! Stores written by OpenSSL 3 (its default PBES2/AES-256 and its
//! `-legacy` RC2/3DES), by Java 17's keytool (a keystore and a
//! truststore), a JKS store, and encrypted PKCS#8 keys; each read back to
//! the DER OpenSSL printed for the same key and certificates.

use super::*;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/src/security/pkcs12/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const PASSWORD: &str = "s3cret";

fn check_identity(store: &str) {
    let contents = parse(&data(store), Some(PASSWORD), None).unwrap();
    let (chain, key) = contents.identity().expect("a key and its certificate");
    assert_eq!(key, data("leaf.pk8.der"), "{store}: the key");
    assert_eq!(
        chain,
        vec![data("leaf.der"), data("ca.der")],
        "{store}: leaf first, then the CA"
    );
}

#[test]
fn openssl_default_stores_are_read() {
    check_identity("modern.p12");
}

#[test]
fn openssl_legacy_stores_are_read() {
    check_identity("legacy.p12");
}

#[test]
fn java_keytool_stores_are_read() {
    check_identity("java.p12");
    let trust = parse(&data("trust.p12"), Some(PASSWORD), None).unwrap();
    assert!(trust.keys.is_empty());
    assert_eq!(trust.certificates.len(), 1);
    assert_eq!(trust.certificates[0].1, data("ca.der"));
}

#[test]
fn ec_keys_are_read() {
    let contents = parse(&data("ec.p12"), Some(PASSWORD), None).unwrap();
    assert_eq!(contents.identity().unwrap().1, data("ec.pk8.der"));
}

#[test]
fn a_wrong_password_is_said_to_be_one() {
    for store in ["modern.p12", "legacy.p12", "java.p12", "trust.p12"] {
        assert_eq!(
            parse(&data(store), Some("wrong"), None),
            Err(Pkcs12Error::WrongPassword),
            "{store}"
        );
    }
    // Right store password, wrong key password.
    assert_eq!(
        parse(&data("modern.p12"), Some(PASSWORD), Some("wrong")),
        Err(Pkcs12Error::WrongPassword)
    );
    // Encrypted parts and no password.
    assert_eq!(
        parse(&data("modern.p12"), None, None),
        Err(Pkcs12Error::PasswordNeeded)
    );
}

#[test]
fn jks_is_refused_with_the_conversion() {
    let err = parse(&data("trust.jks"), Some(PASSWORD), None).unwrap_err();
    assert_eq!(err, Pkcs12Error::Jks);
    assert!(err.to_string().contains("keytool -importkeystore"));
}

fn pem_der(name: &str) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8(data(name)).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn encrypted_pkcs8_keys_are_decrypted() {
    for name in ["leaf.aes.key", "leaf.des3.key", "leaf.pbe-sha1-3des.key"] {
        let der = pem_der(name);
        assert_eq!(
            decrypt_pkcs8(&der, PASSWORD).unwrap(),
            data("leaf.pk8.der"),
            "{name}"
        );
        assert_eq!(
            decrypt_pkcs8(&der, "wrong"),
            Err(Pkcs12Error::WrongPassword),
            "{name}"
        );
    }
}

#[test]
fn damaged_stores_give_errors_not_panics() {
    let store = data("modern.p12");
    for cut in (0..store.len()).step_by(7) {
        assert!(parse(&store[..cut], Some(PASSWORD), None).is_err());
    }
    for at in (0..store.len()).step_by(13) {
        let mut bad = store.clone();
        bad[at] ^= 0x5a;
        // Any outcome but a panic; a flipped byte inside a certificate
        // outside the MAC'd part cannot exist (all of it is MAC'd).
        let _ = parse(&bad, Some(PASSWORD), None);
    }
    assert!(matches!(
        parse(&[0x30, 0x80, 0, 0], None, None),
        Err(Pkcs12Error::Malformed(_))
    ));
}

proptest::proptest! {
    /// Any bytes: an answer, never a panic.
    #[test]
    fn any_bytes_give_an_answer(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = parse(&bytes, Some(PASSWORD), None);
        let _ = decrypt_pkcs8(&bytes, PASSWORD);
    }
}
