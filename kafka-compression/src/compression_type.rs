//! The codec id carried in bits 0-2 of a RecordBatch's attributes.

use std::fmt;
use std::str::FromStr;

use crate::CompressionError;

/// Codec id in bits 0-2 of a RecordBatch's attributes.
///
/// The names are those of the Java client's `compression.type` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum CompressionType {
    /// `none`: the records section is stored as it is.
    #[default]
    None = 0,
    /// `gzip`: one gzip stream (RFC 1952).
    Gzip = 1,
    /// `snappy`: a raw snappy block (xerial framing is also read).
    Snappy = 2,
    /// `lz4`: one LZ4 frame (not the bare block format).
    Lz4 = 3,
    /// `zstd`: zstd frames; brokers accept it from Produce v7 on.
    Zstd = 4,
}

impl CompressionType {
    /// The bits of a RecordBatch's attributes that hold the codec id.
    pub const ATTRIBUTES_MASK: i16 = 0b111;

    /// Every compression type, in id order.
    pub const ALL: [CompressionType; 5] = [
        CompressionType::None,
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];

    /// The compression type with this id.
    ///
    /// # Errors
    /// [`CompressionError::UnknownCodecId`] for ids other than 0 to 4.
    pub fn from_id(id: u8) -> Result<Self, CompressionError> {
        match id {
            0 => Ok(Self::None),
            1 => Ok(Self::Gzip),
            2 => Ok(Self::Snappy),
            3 => Ok(Self::Lz4),
            4 => Ok(Self::Zstd),
            other => Err(CompressionError::UnknownCodecId(other)),
        }
    }

    /// The compression type named by bits 0-2 of a RecordBatch's attributes;
    /// the other bits are ignored.
    ///
    /// # Errors
    /// [`CompressionError::UnknownCodecId`] for the unassigned ids 5, 6 and 7.
    pub fn from_attributes(attrs: i16) -> Result<Self, CompressionError> {
        // The mask keeps the value in 0..=7, so the cast cannot truncate.
        Self::from_id((attrs & Self::ATTRIBUTES_MASK) as u8)
    }

    /// The id written in bits 0-2 of a RecordBatch's attributes.
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// The name used by the Java client's `compression.type` setting.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }

    /// Whether this build can compress and decompress the type: `none`
    /// always, the others when their cargo feature is on.
    pub const fn is_supported(self) -> bool {
        match self {
            Self::None => true,
            Self::Gzip => cfg!(feature = "gzip"),
            Self::Snappy => cfg!(feature = "snappy"),
            Self::Lz4 => cfg!(feature = "lz4"),
            Self::Zstd => cfg!(feature = "zstd"),
        }
    }
}

impl fmt::Display for CompressionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CompressionType {
    type Err = CompressionError;

    /// Parses a `compression.type` value. Like the Java client, the match is
    /// exact: `"gzip"` is accepted, `"GZIP"` is not.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| CompressionError::UnknownCodecName(s.to_owned()))
    }
}

impl TryFrom<u8> for CompressionType {
    type Error = CompressionError;

    fn try_from(id: u8) -> Result<Self, Self::Error> {
        Self::from_id(id)
    }
}

impl From<CompressionType> for u8 {
    fn from(t: CompressionType) -> u8 {
        t.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for t in CompressionType::ALL {
            assert_eq!(CompressionType::from_id(t.id()).unwrap(), t);
            assert_eq!(t.name().parse::<CompressionType>().unwrap(), t);
            assert_eq!(t.to_string(), t.name());
        }
        assert_eq!(CompressionType::Zstd.id(), 4);
    }

    #[test]
    fn unknown_ids_are_errors() {
        for id in 5..=u8::MAX {
            match CompressionType::from_id(id) {
                Err(CompressionError::UnknownCodecId(got)) => assert_eq!(got, id),
                other => panic!("id {id}: expected UnknownCodecId, got {other:?}"),
            }
        }
    }

    #[test]
    fn attributes_use_the_low_three_bits_only() {
        // Transactional (bit 4) and control (bit 5) set, codec lz4.
        assert_eq!(
            CompressionType::from_attributes(0b11_0011).unwrap(),
            CompressionType::Lz4
        );
        // All high bits set, codec zstd.
        assert_eq!(
            CompressionType::from_attributes(!0b11).unwrap(),
            CompressionType::Zstd
        );
        assert!(matches!(
            CompressionType::from_attributes(0b0110),
            Err(CompressionError::UnknownCodecId(6))
        ));
        assert!(matches!(
            CompressionType::from_attributes(-1),
            Err(CompressionError::UnknownCodecId(7))
        ));
    }

    #[test]
    fn names_are_matched_exactly_as_java_does() {
        for bad in ["GZIP", " gzip", "lz4 ", "zstandard", "", "producer"] {
            assert!(
                matches!(bad.parse::<CompressionType>(), Err(CompressionError::UnknownCodecName(ref n)) if n == bad),
                "{bad:?} should be rejected"
            );
        }
    }
}
