//! The property of the request and response decode targets: any (api key,
//! version, body) decodes to an error or to a message that re-encodes (to
//! exactly `encoded_size` bytes), and whose re-encoding decodes and
//! re-encodes to the same bytes.

macro_rules! check_roundtrip {
    ($kind:ty, $data:expr) => {{
        use bytes::{Bytes, BytesMut};
        use kafka_protocol::messages::ApiKey;
        let data: &[u8] = $data;
        if data.len() >= 2 {
            let api = ApiKey::ALL[data[0] as usize % ApiKey::ALL.len()];
            let range = api.versions();
            let version = range.min + (data[1] as i16 % (range.max - range.min + 1));
            let body = Bytes::copy_from_slice(&data[2..]);
            if let Ok(msg) = <$kind>::decode(api, version, &body) {
                let mut first = BytesMut::new();
                msg.encode(&mut first, version)
                    .expect("a decoded message re-encodes");
                assert_eq!(first.len(), msg.encoded_size(version).unwrap());
                let first = first.freeze();
                let again = <$kind>::decode(api, version, &first).expect("our encoding decodes");
                let mut second = BytesMut::new();
                again.encode(&mut second, version).unwrap();
                assert_eq!(first, second.freeze());
            }
        }
    }};
}
