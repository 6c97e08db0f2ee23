//! The property every decompress target checks: arbitrary bytes through a
//! decoder give never a panic, never more output (or buffer capacity) than
//! the limit, the buffer untouched on error, and whatever decodes survives a
//! round trip.

use bytes::BytesMut;
use kafka_compression::Codec;

const LIMIT: usize = 1 << 20;
const PREFIX: &[u8] = b"prefix";

pub fn check(codec: &impl Codec, data: &[u8]) {
    let mut out = BytesMut::from(PREFIX);
    let result = codec.decompress(data, &mut out, LIMIT);
    assert!(
        out.capacity() <= PREFIX.len() + LIMIT,
        "capacity {}",
        out.capacity()
    );
    assert_eq!(&out[..PREFIX.len()], PREFIX);
    match result {
        Ok(()) => {
            let plain = &out[PREFIX.len()..];
            assert!(plain.len() <= LIMIT);
            let mut again = BytesMut::new();
            codec
                .compress(plain, &mut again)
                .expect("compress what was decoded");
            let mut back = BytesMut::new();
            codec
                .decompress(&again, &mut back, plain.len())
                .expect("decode our own output");
            assert_eq!(&back[..], plain);
        }
        Err(_) => assert_eq!(out.len(), PREFIX.len(), "output restored on error"),
    }
}
