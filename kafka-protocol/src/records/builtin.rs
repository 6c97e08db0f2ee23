//! Glue to `kafka-compression` (feature `compression`): its codecs compress
//! and decompress record batches, and [`BuiltinCodecs`] finds one per batch.

use bytes::BytesMut;
use kafka_compression::{BuiltinCodec, Codec, CompressionType};

use super::codec::{CodecRegistry, Compression, RecordsCodec};
use crate::ProtocolError;

impl<C: Codec + ?Sized> RecordsCodec for C {
    fn compression(&self) -> Compression {
        // Both crates use the attribute ids of the batch format.
        Compression::from_id(self.compression_type().id()).unwrap_or(Compression::None)
    }

    fn compress(&self, records: &[u8], out: &mut BytesMut) -> Result<(), ProtocolError> {
        Codec::compress(self, records, out).map_err(|e| ProtocolError::Compression(Box::new(e)))
    }

    fn decompress(
        &self,
        compressed: &[u8],
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        Codec::decompress(self, compressed, out, limit)
            .map_err(|e| ProtocolError::Compression(Box::new(e)))
    }
}

/// Every codec of `kafka-compression` that this build enables, at default
/// levels (decompression does not depend on the level).
#[derive(Debug)]
pub struct BuiltinCodecs {
    codecs: Vec<BuiltinCodec>,
}

impl Default for BuiltinCodecs {
    fn default() -> Self {
        let codecs = [
            CompressionType::Gzip,
            CompressionType::Snappy,
            CompressionType::Lz4,
            CompressionType::Zstd,
        ]
        .into_iter()
        .filter_map(|t| BuiltinCodec::new(t, None).ok())
        .collect();
        BuiltinCodecs { codecs }
    }
}

impl CodecRegistry for BuiltinCodecs {
    fn codec(&self, compression: Compression) -> Option<&dyn RecordsCodec> {
        self.codecs
            .iter()
            .find(|c| c.compression_type().id() == compression.id())
            .map(|c| c as &dyn RecordsCodec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{BatchParams, RecordBatch, RecordBatchWriter};

    #[test]
    fn every_builtin_codec_roundtrips_a_batch() {
        let registry = BuiltinCodecs::default();
        for t in [
            CompressionType::Gzip,
            CompressionType::Snappy,
            CompressionType::Lz4,
            CompressionType::Zstd,
        ] {
            let codec = BuiltinCodec::new(t, None).unwrap();
            let mut w = RecordBatchWriter::new(1024);
            for n in 0..100u32 {
                let value = format!("{{\"n\":{n},\"msg\":\"hello hello hello\"}}");
                w.append(
                    1000 + i64::from(n),
                    Some(&n.to_be_bytes()),
                    Some(value.as_bytes()),
                    [],
                )
                .unwrap();
            }
            let batch = w.finish(BatchParams::default(), Some(&codec)).unwrap();
            let (parsed, _) = RecordBatch::parse(&batch).unwrap();
            assert_eq!(parsed.compression().unwrap().id(), t.id());
            let section = parsed.decompressed_records(&registry, 1 << 20).unwrap();
            let n = parsed
                .records_in(&section)
                .map(|r| r.unwrap())
                .filter(|r| r.value.unwrap().starts_with(b"{"))
                .count();
            assert_eq!(n, 100, "{t:?}");
            assert!(
                parsed.decompressed_records(&registry, 100).is_err(),
                "{t:?}: the limit holds"
            );
        }
    }
}
