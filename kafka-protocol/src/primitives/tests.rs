//! Round trips and bounds of every primitive.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

fn roundtrip<T: PartialEq + std::fmt::Debug>(
    v: T,
    write: impl Fn(&mut BytesMut, &T),
    read: impl for<'a> Fn(&'a [u8], &Bytes) -> PResult<'a, T>,
    size: Option<usize>,
) {
    let mut b = BytesMut::new();
    write(&mut b, &v);
    if let Some(size) = size {
        assert_eq!(b.len(), size, "size of {v:?}");
    }
    let owner = b.freeze();
    let (rest, got) = read(&owner, &owner).unwrap();
    assert!(rest.is_empty(), "{v:?} left {} bytes", rest.len());
    assert_eq!(got, v);
    // Every strict prefix is too short.
    for cut in 0..owner.len() {
        assert!(
            read(&owner[..cut], &owner).is_err(),
            "{v:?} cut at {cut} parsed"
        );
    }
}

proptest! {
    #[test]
    fn fixed_width(a in any::<i8>(), b in any::<i16>(), c in any::<i32>(), d in any::<i64>(), e in any::<u16>(), f in any::<u32>(), g in -1e300f64..1e300, h in any::<bool>(), u in any::<[u8; 16]>()) {
        roundtrip(a, |b, v| write_i8(b, *v), |i, _| read_i8(i), Some(1));
        roundtrip(b, |b, v| write_i16(b, *v), |i, _| read_i16(i), Some(2));
        roundtrip(c, |b, v| write_i32(b, *v), |i, _| read_i32(i), Some(4));
        roundtrip(d, |b, v| write_i64(b, *v), |i, _| read_i64(i), Some(8));
        roundtrip(e, |b, v| write_u16(b, *v), |i, _| read_u16(i), Some(2));
        roundtrip(f, |b, v| write_u32(b, *v), |i, _| read_u32(i), Some(4));
        roundtrip(g, |b, v| write_f64(b, *v), |i, _| read_f64(i), Some(8));
        roundtrip(h, |b, v| write_bool(b, *v), |i, _| read_bool(i), Some(1));
        roundtrip(Uuid(u), write_uuid, |i, _| read_uuid(i), Some(16));
    }

    #[test]
    fn varints(a in any::<u32>(), b in any::<u64>(), c in any::<i32>(), d in any::<i64>()) {
        roundtrip(a, |b, v| write_uvarint(b, *v), |i, _| read_uvarint(i), Some(uvarint_size(a)));
        roundtrip(b, |bb, v| write_uvarlong(bb, *v), |i, _| read_uvarlong(i), Some(uvarlong_size(b)));
        roundtrip(c, |b, v| write_varint(b, *v), |i, _| read_varint(i), Some(varint_size(c)));
        roundtrip(d, |b, v| write_varlong(b, *v), |i, _| read_varlong(i), Some(varlong_size(d)));
    }

    #[test]
    fn strings(s in proptest::option::of("\\PC{0,40}"), flexible in any::<bool>()) {
        let v = s.map(StrBytes::from_string);
        let size = nullable_string_size(v.as_ref(), flexible);
        roundtrip(v, |b, v| write_nullable_string(b, v.as_ref(), flexible).unwrap(), |i, o| read_nullable_string(i, o, flexible), Some(size));
    }

    #[test]
    fn bytes(v in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)), flexible in any::<bool>()) {
        let v = v.map(Bytes::from);
        let size = nullable_bytes_size(v.as_deref(), flexible);
        roundtrip(v, |b, v| write_nullable_bytes(b, v.as_deref(), flexible).unwrap(), |i, o| read_nullable_bytes(i, o, flexible), Some(size));
    }

    #[test]
    fn arrays(v in proptest::option::of(proptest::collection::vec(any::<i32>(), 0..50)), flexible in any::<bool>()) {
        let size = nullable_array_size(v.as_deref(), flexible, |_| Ok(4)).unwrap();
        roundtrip(
            v,
            |b, v| write_nullable_array(b, v.as_deref(), flexible, |b, e| { write_i32(b, *e); Ok(()) }).unwrap(),
            |i, _| read_nullable_array(i, flexible, read_i32),
            Some(size),
        );
    }

    #[test]
    fn tagged_sections(fields in proptest::collection::btree_map(0u32..1000, proptest::collection::vec(any::<u8>(), 0..20), 0..6)) {
        let unknown: UnknownTaggedFields = fields.into_iter().map(|(k, v)| (k, Bytes::from(v))).collect();
        let size = unknown_tagged_fields_size(0, &unknown);
        roundtrip(
            unknown,
            |b, v| TaggedFieldsWriter::begin(b, 0, v).finish(b),
            |i, o| read_tagged_fields(i, o, |_, _| Ok(false)),
            Some(size),
        );
    }
}

#[test]
fn hostile_lengths_are_errors_not_allocations() {
    let owner = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    assert!(matches!(
        read_nullable_bytes(&owner, &owner, false),
        Err(nom::Err::Error(ProtocolError::LengthExceedsInput { .. }))
    ));
    assert!(matches!(
        read_nullable_array(&owner, false, read_i8),
        Err(nom::Err::Error(ProtocolError::LengthExceedsInput { .. }))
    ));
    let neg = Bytes::from_static(&[0xff, 0xfe]);
    assert!(matches!(
        read_nullable_string(&neg, &neg, false),
        Err(nom::Err::Error(ProtocolError::InvalidLength { .. }))
    ));
    let long = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert!(matches!(
        read_uvarint(&long),
        Err(nom::Err::Error(ProtocolError::VarintTooLong { .. }))
    ));
    let bad_utf8 = Bytes::from_static(&[0, 2, 0xc3, 0x28]);
    assert!(matches!(
        read_nullable_string(&bad_utf8, &bad_utf8, false),
        Err(nom::Err::Error(ProtocolError::InvalidUtf8))
    ));
}

#[test]
fn known_encodings() {
    // Zigzag: 0 -> 0, -1 -> 1, 1 -> 2, -64 -> 127, 64 -> 128 (two bytes).
    let cases: &[(i32, &[u8])] = &[
        (0, &[0]),
        (-1, &[1]),
        (1, &[2]),
        (-64, &[0x7f]),
        (64, &[0x80, 0x01]),
    ];
    for (v, want) in cases {
        let mut b = BytesMut::new();
        write_varint(&mut b, *v);
        assert_eq!(&b[..], *want, "{v}");
    }
    // Compact strings carry length + 1; null is 0.
    let mut b = BytesMut::new();
    write_nullable_string(&mut b, Some(&StrBytes::from_static_str("ab")), true).unwrap();
    write_nullable_string(&mut b, None, true).unwrap();
    write_nullable_string(&mut b, None, false).unwrap();
    assert_eq!(&b[..], &[3, b'a', b'b', 0, 0xff, 0xff]);
}

#[test]
fn decoded_payloads_share_the_input() {
    let owner = Bytes::from_static(&[0, 0, 0, 3, b'x', b'y', b'z']);
    let (_, v) = read_nullable_bytes(&owner, &owner, false).unwrap();
    let v = v.unwrap();
    assert_eq!(v.as_ptr(), owner[4..].as_ptr());
}
