//! Small value types of the wire format.

use std::fmt;

use bytes::Bytes;

/// A UTF-8 string backed by `Bytes`, so that decoding shares the input buffer
/// instead of copying every string.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrBytes(Bytes);

impl StrBytes {
    /// A string from a `'static str`, without copying.
    pub const fn from_static_str(s: &'static str) -> Self {
        StrBytes(Bytes::from_static(s.as_bytes()))
    }

    /// Takes ownership of a `String`, without copying.
    pub fn from_string(s: String) -> Self {
        StrBytes(Bytes::from(s))
    }

    /// Wraps bytes already known to be valid UTF-8.
    pub(crate) fn from_utf8_unchecked_bytes(b: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&b).is_ok());
        StrBytes(b)
    }

    /// Wraps bytes after checking that they are UTF-8.
    pub fn from_utf8(b: Bytes) -> Result<Self, crate::ProtocolError> {
        std::str::from_utf8(&b).map_err(|_| crate::ProtocolError::InvalidUtf8)?;
        Ok(StrBytes(b))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // Every constructor checks UTF-8 (or starts from a `str`); re-checking is
        // cheap next to a network read but not free, so this is where the
        // crate's single unsafe block would go. We keep the checked form: strings
        // of the protocol are short names.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying `Bytes`.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&'static str> for StrBytes {
    fn from(s: &'static str) -> Self {
        StrBytes::from_static_str(s)
    }
}

impl From<String> for StrBytes {
    fn from(s: String) -> Self {
        StrBytes::from_string(s)
    }
}

impl std::ops::Deref for StrBytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for StrBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for StrBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for StrBytes {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for StrBytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// A 128-bit UUID as Kafka writes it (topic ids, directory ids).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero UUID, Kafka's default and "no id".
    pub const ZERO: Uuid = Uuid([0; 16]);
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, b) in self.0.iter().enumerate() {
            if matches!(n, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
