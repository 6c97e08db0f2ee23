//! Feature `compression`: [`DefaultCodecs`], the registry of every codec of
//! `kafka-compression`, for reading batches of any codec.

use kafka_compression::{BuiltinCodec, Codec, CompressionType};

use super::codec::CodecRegistry;

/// Every codec of `kafka-compression`, at default levels (decompression does
/// not depend on the level).
#[derive(Debug)]
pub struct DefaultCodecs {
    codecs: Vec<BuiltinCodec>,
}

impl Default for DefaultCodecs {
    fn default() -> Self {
        let codecs = CompressionType::ALL
            .into_iter()
            .filter(|t| *t != CompressionType::None)
            .filter_map(|t| BuiltinCodec::new(t, None).ok())
            .collect();
        DefaultCodecs { codecs }
    }
}

impl CodecRegistry for DefaultCodecs {
    fn codec(&self, compression: CompressionType) -> Option<&dyn Codec> {
        self.codecs
            .iter()
            .find(|c| c.compression_type() == compression)
            .map(|c| c as &dyn Codec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{BatchParams, RecordBatch, RecordBatchWriter};

    #[test]
    fn every_builtin_codec_roundtrips_a_batch() {
        let registry = DefaultCodecs::default();
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
            assert_eq!(parsed.compression().unwrap(), t);
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
