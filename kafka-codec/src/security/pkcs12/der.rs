//! Just enough DER to walk PKCS#12 and PKCS#8 structures: every read is
//! bounds-checked and a bad length is an error, never a panic or an
//! allocation.

use super::Pkcs12Error;

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
/// `[0]`, constructed (EXPLICIT, or IMPLICIT of a constructed type).
pub const CONTEXT_0: u8 = 0xa0;
/// `[0]` IMPLICIT OCTET STRING, primitive.
pub const CONTEXT_0_PRIMITIVE: u8 = 0x80;

/// A reader over the elements of one DER value's contents.
#[derive(Clone, Copy)]
pub struct Der<'a> {
    rest: &'a [u8],
}

fn malformed(what: &'static str) -> Pkcs12Error {
    Pkcs12Error::Malformed(what)
}

impl<'a> Der<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Der { rest: data }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element: its tag and contents.
    pub fn any(&mut self) -> Result<(u8, &'a [u8]), Pkcs12Error> {
        let [tag, first, rest @ ..] = self.rest else {
            return Err(malformed("truncated DER element"));
        };
        let (len, rest) = if first & 0x80 == 0 {
            (usize::from(*first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err(malformed(
                    "indefinite-length (BER) encoding; re-export the store as DER",
                ));
            }
            if n > 4 || rest.len() < n {
                return Err(malformed("DER length out of range"));
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return Err(malformed("DER element longer than its container"));
        }
        let (contents, after) = rest.split_at(len);
        self.rest = after;
        Ok((*tag, contents))
    }

    /// The next element, which must have `tag`.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], Pkcs12Error> {
        match self.any()? {
            (t, contents) if t == tag => Ok(contents),
            _ => Err(malformed(what)),
        }
    }

    /// The next element if it has `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, Pkcs12Error> {
        match self.rest.first() {
            Some(t) if *t == tag => Ok(Some(self.any()?.1)),
            _ => Ok(None),
        }
    }

    pub fn sequence(&mut self, what: &'static str) -> Result<Der<'a>, Pkcs12Error> {
        Ok(Der::new(self.expect(SEQUENCE, what)?))
    }

    pub fn oid(&mut self, what: &'static str) -> Result<&'a [u8], Pkcs12Error> {
        self.expect(OID, what)
    }

    pub fn octets(&mut self, what: &'static str) -> Result<&'a [u8], Pkcs12Error> {
        self.expect(OCTET_STRING, what)
    }

    /// A non-negative INTEGER that fits a u32 (versions, iteration counts).
    pub fn small_uint(&mut self, what: &'static str) -> Result<u32, Pkcs12Error> {
        let bytes = self.expect(INTEGER, what)?;
        let bytes = match bytes {
            [0, rest @ ..] => rest,
            [b, ..] if b & 0x80 != 0 => return Err(malformed(what)),
            other => other,
        };
        if bytes.len() > 4 {
            return Err(malformed(what));
        }
        Ok(bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
    }

    /// An AlgorithmIdentifier: its OID and its parameters (if any).
    pub fn algorithm(&mut self, what: &'static str) -> Result<(&'a [u8], Der<'a>), Pkcs12Error> {
        let mut alg = self.sequence(what)?;
        let oid = alg.oid(what)?;
        Ok((oid, alg))
    }
}
