//! Turning keys and values into bytes, byte for byte as the Java client's
//! built-in serializers (`org.apache.kafka.common.serialization`) do, so that
//! Java consumers read what this producer writes with their usual
//! deserializers, and keys hash to the same partitions.
//!
//! | here | Java | bytes |
//! |---|---|---|
//! | [`BytesSerializer`] | `ByteArraySerializer`, `BytesSerializer` | as given |
//! | [`StringSerializer`] | `StringSerializer` | UTF-8 |
//! | [`ShortSerializer`] | `ShortSerializer` | `i16` big-endian |
//! | [`IntegerSerializer`] | `IntegerSerializer` | `i32` big-endian |
//! | [`LongSerializer`] | `LongSerializer` | `i64` big-endian |
//! | [`FloatSerializer`] | `FloatSerializer` | IEEE 754 `f32` bits, big-endian |
//! | [`DoubleSerializer`] | `DoubleSerializer` | IEEE 754 `f64` bits, big-endian, NaN canonical |
//! | [`BooleanSerializer`] | `BooleanSerializer` | one byte, 1 or 0 |
//! | [`UuidSerializer`] | `UUIDSerializer` | the 36-character text form, UTF-8 |
//!
//! A null key or value (Java's `null`) never reaches a serializer here: the
//! record holds an `Option`, and `None` is written as a null on the wire, as
//! Java's serializers return `null` for `null`.

use std::fmt;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

/// Serializes a key or value of type `T` for a record of `topic`.
///
/// The counterpart of Java's `Serializer<T>`. The topic is passed because
/// some formats depend on it (a schema registry's subject, say); the
/// built-in serializers ignore it. `Send + Sync` because one serializer
/// serves every task that sends.
pub trait Serializer<T: ?Sized>: Send + Sync {
    /// The bytes of `data`.
    ///
    /// # Errors
    /// [`SerializeError`] when `data` cannot be represented; the send fails
    /// with it and nothing is queued.
    fn serialize(&self, topic: &str, data: &T) -> Result<Bytes, SerializeError>;
}

/// A key or value that could not be serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializeError {
    /// What went wrong, in words.
    pub message: String,
}

impl SerializeError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for SerializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "serialization failed: {}", self.message)
    }
}

impl std::error::Error for SerializeError {}

// Serializers behind references and smart pointers, so a producer can hold a
// `Box<dyn Serializer<T>>` or share an `Arc` between producers.
impl<T: ?Sized, S: Serializer<T> + ?Sized> Serializer<T> for &S {
    fn serialize(&self, topic: &str, data: &T) -> Result<Bytes, SerializeError> {
        (**self).serialize(topic, data)
    }
}

impl<T: ?Sized, S: Serializer<T> + ?Sized> Serializer<T> for Box<S> {
    fn serialize(&self, topic: &str, data: &T) -> Result<Bytes, SerializeError> {
        (**self).serialize(topic, data)
    }
}

impl<T: ?Sized, S: Serializer<T> + ?Sized> Serializer<T> for Arc<S> {
    fn serialize(&self, topic: &str, data: &T) -> Result<Bytes, SerializeError> {
        (**self).serialize(topic, data)
    }
}

/// Raw bytes, written as they are (Java's `ByteArraySerializer` and
/// `BytesSerializer`). Serializing [`Bytes`] is free: the buffer is shared,
/// not copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BytesSerializer;

impl Serializer<Bytes> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &Bytes) -> Result<Bytes, SerializeError> {
        Ok(data.clone())
    }
}

impl Serializer<Vec<u8>> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &Vec<u8>) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data))
    }
}

impl Serializer<[u8]> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &[u8]) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data))
    }
}

/// Text as UTF-8 (Java's `StringSerializer` with its default encoding).
///
/// Java can be configured for another charset (`serializer.encoding`);
/// nearly nobody does, and Rust strings are UTF-8, so only UTF-8 is offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StringSerializer;

impl Serializer<str> for StringSerializer {
    fn serialize(&self, _topic: &str, data: &str) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data.as_bytes()))
    }
}

impl Serializer<String> for StringSerializer {
    fn serialize(&self, _topic: &str, data: &String) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(data.as_bytes()))
    }
}

/// `i16` as 2 bytes, big-endian (Java's `ShortSerializer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShortSerializer;

impl Serializer<i16> for ShortSerializer {
    fn serialize(&self, _topic: &str, data: &i16) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(&data.to_be_bytes()))
    }
}

/// `i32` as 4 bytes, big-endian (Java's `IntegerSerializer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntegerSerializer;

impl Serializer<i32> for IntegerSerializer {
    fn serialize(&self, _topic: &str, data: &i32) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(&data.to_be_bytes()))
    }
}

/// `i64` as 8 bytes, big-endian (Java's `LongSerializer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LongSerializer;

impl Serializer<i64> for LongSerializer {
    fn serialize(&self, _topic: &str, data: &i64) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(&data.to_be_bytes()))
    }
}

/// `f32` as its 4 IEEE 754 bytes, big-endian (Java's `FloatSerializer`).
///
/// Java uses `floatToRawIntBits`, so every NaN keeps its own bit pattern;
/// `f32::to_bits` does the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloatSerializer;

impl Serializer<f32> for FloatSerializer {
    fn serialize(&self, _topic: &str, data: &f32) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(&data.to_bits().to_be_bytes()))
    }
}

/// `f64` as its 8 IEEE 754 bytes, big-endian (Java's `DoubleSerializer`).
///
/// Java uses `doubleToLongBits`, which writes every NaN as the canonical
/// `0x7ff8000000000000`; so does this serializer, so that a NaN key hashes
/// as Java's does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DoubleSerializer;

/// The one NaN `Double.doubleToLongBits` returns.
const JAVA_CANONICAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0000;

impl Serializer<f64> for DoubleSerializer {
    fn serialize(&self, _topic: &str, data: &f64) -> Result<Bytes, SerializeError> {
        let bits = if data.is_nan() {
            JAVA_CANONICAL_NAN_BITS
        } else {
            data.to_bits()
        };
        Ok(Bytes::copy_from_slice(&bits.to_be_bytes()))
    }
}

/// `bool` as one byte, 1 for true and 0 for false (Java's
/// `BooleanSerializer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BooleanSerializer;

impl Serializer<bool> for BooleanSerializer {
    fn serialize(&self, _topic: &str, data: &bool) -> Result<Bytes, SerializeError> {
        Ok(Bytes::copy_from_slice(&[u8::from(*data)]))
    }
}

/// A UUID as its 36-character text, lowercase `8-4-4-4-12` hex digits in
/// UTF-8 (Java's `UUIDSerializer`, which writes `UUID.toString()`).
///
/// Takes the 16 bytes of the UUID in their usual (big-endian, RFC 9562)
/// order, or the same as a `u128`, so it works with any UUID crate's
/// `as_bytes()` / `as_u128()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UuidSerializer;

impl UuidSerializer {
    fn text(bytes: &[u8; 16]) -> Bytes {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = BytesMut::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            // Dashes before bytes 4, 6, 8 and 10: 8-4-4-4-12 digits.
            if matches!(i, 4 | 6 | 8 | 10) {
                out.put_u8(b'-');
            }
            out.put_u8(HEX[usize::from(b >> 4)]);
            out.put_u8(HEX[usize::from(b & 0x0f)]);
        }
        out.freeze()
    }
}

impl Serializer<[u8; 16]> for UuidSerializer {
    fn serialize(&self, _topic: &str, data: &[u8; 16]) -> Result<Bytes, SerializeError> {
        Ok(Self::text(data))
    }
}

impl Serializer<u128> for UuidSerializer {
    fn serialize(&self, _topic: &str, data: &u128) -> Result<Bytes, SerializeError> {
        Ok(Self::text(&data.to_be_bytes()))
    }
}

/// JSON through serde (feature `serde-json`): any `Serialize` value as its
/// compact JSON text, which is what a JSON deserializer on the consumer side
/// (Java's `JsonDeserializer` of Kafka Connect, for instance) expects.
#[cfg(feature = "serde-json")]
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSerializer;

#[cfg(feature = "serde-json")]
impl<T: serde::Serialize + ?Sized> Serializer<T> for JsonSerializer {
    fn serialize(&self, _topic: &str, data: &T) -> Result<Bytes, SerializeError> {
        serde_json::to_vec(data)
            .map(Bytes::from)
            .map_err(|e| SerializeError::new(format!("JSON: {e}")))
    }
}

#[cfg(all(test, feature = "serde-json"))]
mod json_tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Click<'a> {
        user: &'a str,
        n: u32,
    }

    #[test]
    fn values_become_compact_json() {
        let b = JsonSerializer
            .serialize("t", &Click { user: "ada", n: 3 })
            .unwrap();
        assert_eq!(&b[..], br#"{"user":"ada","n":3}"#);
    }

    #[test]
    fn unrepresentable_values_are_errors() {
        // JSON object keys must be strings: a map keyed by a struct is not representable.
        #[derive(serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
        struct K {
            a: u8,
        }
        let m: std::collections::BTreeMap<K, u8> = [(K { a: 1 }, 2)].into_iter().collect();
        assert!(JsonSerializer.serialize("t", &m).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ser<T: ?Sized>(s: &dyn Serializer<T>, data: &T) -> Vec<u8> {
        s.serialize("topic", data).unwrap().to_vec()
    }

    #[test]
    fn bytes_are_written_as_given() {
        let data = Bytes::from_static(b"\x00\x01\xfe\xff");
        let out = BytesSerializer.serialize("t", &data).unwrap();
        assert_eq!(out, data);
        // Shared, not copied.
        assert_eq!(out.as_ptr(), data.as_ptr());
        assert_eq!(ser::<Vec<u8>>(&BytesSerializer, &vec![1, 2, 3]), [1, 2, 3]);
        assert_eq!(ser::<[u8]>(&BytesSerializer, &b"ab"[..]), b"ab");
        assert_eq!(ser::<[u8]>(&BytesSerializer, &[][..]), b"");
    }

    #[test]
    fn strings_are_utf8() {
        assert_eq!(ser::<str>(&StringSerializer, "key-1"), b"key-1");
        assert_eq!(
            ser::<str>(&StringSerializer, "ключ-キー-ü"),
            [
                0xd0, 0xba, 0xd0, 0xbb, 0xd1, 0x8e, 0xd1, 0x87, b'-', 0xe3, 0x82, 0xad, 0xe3, 0x83,
                0xbc, b'-', 0xc3, 0xbc
            ]
        );
        assert_eq!(
            ser::<String>(&StringSerializer, &"😀".to_owned()),
            [0xf0, 0x9f, 0x98, 0x80]
        );
        assert_eq!(ser::<str>(&StringSerializer, ""), b"");
    }

    #[test]
    fn integers_are_big_endian() {
        assert_eq!(ser(&ShortSerializer, &0x0102), [1, 2]);
        assert_eq!(ser(&ShortSerializer, &-2), [0xff, 0xfe]);
        assert_eq!(ser(&IntegerSerializer, &0x0102_0304), [1, 2, 3, 4]);
        assert_eq!(ser(&IntegerSerializer, &-1), [0xff; 4]);
        assert_eq!(ser(&IntegerSerializer, &i32::MIN), [0x80, 0, 0, 0]);
        assert_eq!(
            ser(&LongSerializer, &0x0102_0304_0506_0708),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(
            ser(&LongSerializer, &1_700_000_000_000),
            [0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00]
        );
        assert_eq!(ser(&LongSerializer, &i64::MIN), [0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn floats_are_ieee_big_endian() {
        assert_eq!(ser(&FloatSerializer, &1.0), [0x3f, 0x80, 0, 0]);
        assert_eq!(ser(&FloatSerializer, &-2.5), [0xc0, 0x20, 0, 0]);
        assert_eq!(ser(&FloatSerializer, &-0.0), [0x80, 0, 0, 0]);
        // Raw bits: a NaN with a payload keeps it (floatToRawIntBits).
        assert_eq!(
            ser(&FloatSerializer, &f32::from_bits(0x7fc0_0001)),
            [0x7f, 0xc0, 0, 1]
        );
        assert_eq!(ser(&DoubleSerializer, &1.0), [0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            ser(&DoubleSerializer, &std::f64::consts::PI),
            [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]
        );
        assert_eq!(
            ser(&DoubleSerializer, &f64::NEG_INFINITY),
            [0xff, 0xf0, 0, 0, 0, 0, 0, 0]
        );
        // doubleToLongBits: every NaN is the canonical one.
        for nan in [f64::NAN, -f64::NAN, f64::from_bits(0x7ff0_0000_0000_0001)] {
            assert_eq!(ser(&DoubleSerializer, &nan), [0x7f, 0xf8, 0, 0, 0, 0, 0, 0]);
        }
    }

    #[test]
    fn booleans_are_one_byte() {
        assert_eq!(ser(&BooleanSerializer, &true), [1]);
        assert_eq!(ser(&BooleanSerializer, &false), [0]);
    }

    #[test]
    fn uuids_are_their_lowercase_text() {
        let bytes = [
            0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4, 0xa7, 0x16, 0x44, 0x66, 0x55, 0x44,
            0x00, 0x00,
        ];
        assert_eq!(
            ser(&UuidSerializer, &bytes),
            b"550e8400-e29b-41d4-a716-446655440000"
        );
        assert_eq!(
            ser(
                &UuidSerializer,
                &0x550e_8400_e29b_41d4_a716_4466_5544_0000_u128
            ),
            b"550e8400-e29b-41d4-a716-446655440000"
        );
        assert_eq!(
            ser(&UuidSerializer, &[0xff; 16]),
            b"ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
        assert_eq!(
            ser(&UuidSerializer, &0u128),
            b"00000000-0000-0000-0000-000000000000"
        );
    }

    #[test]
    fn serializers_work_behind_pointers() {
        let boxed: Box<dyn Serializer<str>> = Box::new(StringSerializer);
        assert_eq!(boxed.serialize("t", "x").unwrap(), "x");
        let shared: Arc<dyn Serializer<i32>> = Arc::new(IntegerSerializer);
        assert_eq!(ser(&shared, &7), [0, 0, 0, 7]);
        assert_eq!(ser(&&LongSerializer, &1), [0, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn errors_display_their_message() {
        let e = SerializeError::new("value too large");
        assert_eq!(e.to_string(), "serialization failed: value too large");
        assert_eq!(e.message, "value too large");
    }
}
