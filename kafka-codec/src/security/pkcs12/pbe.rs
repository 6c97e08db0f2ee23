//! Password-based decryption as Java's and OpenSSL's stores use it:
//! PBES2 (PBKDF2 with HMAC-SHA-1/256/384/512, then AES-CBC or 3DES-CBC;
//! the password as UTF-8), PKCS#12's own PBE (SHA-1, 3DES or RC2; the
//! password as BMPString) and the PKCS#12 MAC (RFC 7292 appendix B).
//! Hashes, HMAC and PBKDF2 come from ring; the block ciphers from RustCrypto.

use std::num::NonZeroU32;

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, InnerIvInit, KeyInit, KeyIvInit};
use ring::{digest, hmac, pbkdf2};

use super::der::{Der, INTEGER};
use super::oid::*;
use super::Pkcs12Error;

/// More than any store needs (Java writes 10,000, OpenSSL 2,048), and a
/// bound on the work a hostile file can ask for.
const MAX_ITERATIONS: u32 = 10_000_000;

fn unsupported(what: &str) -> Pkcs12Error {
    Pkcs12Error::Unsupported(what.to_string())
}

fn iterations(n: u32) -> Result<NonZeroU32, Pkcs12Error> {
    if n > MAX_ITERATIONS {
        return Err(Pkcs12Error::Malformed("iteration count over 10,000,000"));
    }
    NonZeroU32::new(n).ok_or(Pkcs12Error::Malformed("iteration count 0"))
}

/// Decrypts `data`, encrypted with the algorithm `alg` (its parameters in
/// `params`) under `password`.
pub fn decrypt(
    alg: &[u8],
    params: Der<'_>,
    data: &[u8],
    password: &str,
) -> Result<Vec<u8>, Pkcs12Error> {
    match alg {
        PBES2 => pbes2(params, data, password),
        PBE_SHA1_3DES | PBE_SHA1_RC2_40 | PBE_SHA1_RC2_128 => {
            let mut p = params;
            let mut p = p.sequence("PKCS#12 PBE parameters")?;
            let salt = p.octets("PKCS#12 PBE salt")?;
            let n = iterations(p.small_uint("PKCS#12 PBE iterations")?)?.get();
            let pass = bmp_password(password);
            let sha1 = &digest::SHA1_FOR_LEGACY_USE_ONLY;
            let iv = kdf(sha1, &pass, salt, 2, n, 8);
            match alg {
                PBE_SHA1_3DES => {
                    let key = kdf(sha1, &pass, salt, 1, n, 24);
                    cbc_decrypt::<des::TdesEde3>(&key, &iv, data)
                }
                _ => {
                    let bits = if alg == PBE_SHA1_RC2_40 { 40 } else { 128 };
                    let key = kdf(sha1, &pass, salt, 1, n, bits / 8);
                    let cipher = rc2::Rc2::new_with_eff_key_len(&key, bits);
                    let iv = cbc::cipher::generic_array::GenericArray::from_slice(&iv);
                    cbc::Decryptor::inner_iv_init(cipher, iv)
                        .decrypt_padded_vec_mut::<Pkcs7>(data)
                        .map_err(|_| Pkcs12Error::WrongPassword)
                }
            }
        }
        _ => Err(unsupported(
            "an encryption other than PBES2 (AES, 3DES) and PKCS#12's SHA-1 3DES and RC2",
        )),
    }
}

fn pbes2(params: Der<'_>, data: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let mut params = params;
    let mut p = params.sequence("PBES2 parameters")?;
    let (kdf_oid, mut kdf_params) = p.algorithm("PBES2 key derivation")?;
    if kdf_oid != PBKDF2 {
        return Err(unsupported(
            "a PBES2 key derivation other than PBKDF2 (scrypt?)",
        ));
    }
    let mut k = kdf_params.sequence("PBKDF2 parameters")?;
    let salt = k.octets("PBKDF2 salt (only an explicit salt is defined)")?;
    let n = iterations(k.small_uint("PBKDF2 iterations")?)?;
    // The key length, when given, is the cipher's own: skipped.
    k.optional(INTEGER)?;
    let prf = if k.is_empty() {
        HMAC_SHA1
    } else {
        k.algorithm("PBKDF2 PRF")?.0
    };
    let prf = match prf {
        HMAC_SHA1 => pbkdf2::PBKDF2_HMAC_SHA1,
        HMAC_SHA256 => pbkdf2::PBKDF2_HMAC_SHA256,
        HMAC_SHA384 => pbkdf2::PBKDF2_HMAC_SHA384,
        HMAC_SHA512 => pbkdf2::PBKDF2_HMAC_SHA512,
        _ => {
            return Err(unsupported(
                "a PBKDF2 PRF other than HMAC-SHA-1/256/384/512",
            ))
        }
    };
    let (scheme, mut scheme_params) = p.algorithm("PBES2 encryption scheme")?;
    let iv = scheme_params.octets("PBES2 IV")?;
    let key_len = match scheme {
        AES128_CBC => 16,
        AES192_CBC => 24,
        AES256_CBC => 32,
        DES_EDE3_CBC => 24,
        _ => return Err(unsupported("a PBES2 cipher other than AES-CBC or 3DES-CBC")),
    };
    let mut key = vec![0u8; key_len];
    pbkdf2::derive(prf, n, salt, password.as_bytes(), &mut key);
    match scheme {
        AES128_CBC => cbc_decrypt::<aes::Aes128>(&key, iv, data),
        AES192_CBC => cbc_decrypt::<aes::Aes192>(&key, iv, data),
        AES256_CBC => cbc_decrypt::<aes::Aes256>(&key, iv, data),
        _ => cbc_decrypt::<des::TdesEde3>(&key, iv, data),
    }
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, Pkcs12Error>
where
    C: cbc::cipher::BlockDecrypt + cbc::cipher::BlockCipher + KeyInit,
    cbc::Decryptor<C>: KeyIvInit,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| Pkcs12Error::Malformed("IV of the wrong length"))?;
    // A wrong password shows as bad padding (when no MAC said so first).
    decryptor
        .decrypt_padded_vec_mut::<Pkcs7>(data)
        .map_err(|_| Pkcs12Error::WrongPassword)
}

/// The password as PKCS#12 hashes it: UTF-16BE with a two-byte terminator.
fn bmp_password(password: &str) -> Vec<u8> {
    let mut out: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    out.extend_from_slice(&[0, 0]);
    out
}

/// RFC 7292 appendix B.2: `n` bytes of key material (`id` 1: key, 2: IV,
/// 3: MAC key).
fn kdf(
    alg: &'static digest::Algorithm,
    password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u32,
    n: usize,
) -> Vec<u8> {
    let u = alg.output_len();
    let v = alg.block_len();
    let fill = |x: &[u8]| -> Vec<u8> {
        if x.is_empty() {
            return Vec::new();
        }
        (0..v * x.len().div_ceil(v))
            .map(|i| x[i % x.len()])
            .collect()
    };
    let d = vec![id; v];
    let mut i_buf = [fill(salt), fill(password)].concat();
    let mut out = Vec::with_capacity(n);
    loop {
        let mut ctx = digest::Context::new(alg);
        ctx.update(&d);
        ctx.update(&i_buf);
        let mut a = ctx.finish();
        for _ in 1..iterations {
            a = digest::digest(alg, a.as_ref());
        }
        let a = a.as_ref();
        out.extend_from_slice(&a[..(n - out.len()).min(u)]);
        if out.len() >= n {
            return out;
        }
        // I_j = (I_j + B + 1) mod 2^(8v), with B the hash repeated to v bytes.
        for block in i_buf.chunks_mut(v) {
            let mut carry = 1u16;
            for k in (0..v).rev() {
                let sum = u16::from(block[k]) + u16::from(a[k % u]) + carry;
                block[k] = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

/// Checks a PKCS#12 MAC over `data`: a mismatch means a wrong password
/// (or a damaged file).
pub fn verify_mac(
    digest_alg: &[u8],
    expected: &[u8],
    salt: &[u8],
    iterations_n: u32,
    password: &str,
    data: &[u8],
) -> Result<(), Pkcs12Error> {
    let (d, h) = match digest_alg {
        SHA1 => (
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        ),
        SHA256 => (&digest::SHA256, hmac::HMAC_SHA256),
        SHA384 => (&digest::SHA384, hmac::HMAC_SHA384),
        SHA512 => (&digest::SHA512, hmac::HMAC_SHA512),
        _ => return Err(unsupported("a MAC digest other than SHA-1/256/384/512")),
    };
    let n = iterations(iterations_n)?.get();
    let key = kdf(d, &bmp_password(password), salt, 3, n, d.output_len());
    hmac::verify(&hmac::Key::new(h, &key), data, expected).map_err(|_| Pkcs12Error::WrongPassword)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7292's KDF against a vector computed with OpenSSL's
    /// PKCS12_key_gen_uni (password "smeg", salt 0a58cf64530d823f, 1
    /// iteration, id 1, 24 bytes), as published in OpenSSL's test suite.
    #[test]
    fn the_pkcs12_kdf_matches_openssl() {
        let salt = [0x0a, 0x58, 0xcf, 0x64, 0x53, 0x0d, 0x82, 0x3f];
        let key = kdf(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            &bmp_password("smeg"),
            &salt,
            1,
            1,
            24,
        );
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3");
    }
}
