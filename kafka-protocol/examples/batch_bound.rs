//! The floor under any producer's cost per record: each record written in
//! wire form into a batch (varints and a copy of its bytes), then per batch
//! the CRC-32C and, when asked, compression. No partitioning, no
//! bookkeeping, no I/O. BENCHMARKS.md sets a producer's CPU per record
//! against this.
//!
//! ```text
//! cargo run --release -p kafka-protocol --features compression --example batch_bound -- [RECORDS] [RECORD_SIZE] [BATCH_SIZE]
//! ```

use std::time::Instant;

use kafka_compression::CompressionType;
use kafka_protocol::records::{BatchParams, CodecRegistry, DefaultCodecs, RecordBatchWriter};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number"))
        .collect();
    let records = args.first().copied().unwrap_or(10_000_000);
    let size = args.get(1).copied().unwrap_or(100);
    let batch_size = args.get(2).copied().unwrap_or(16_384);
    let codecs = DefaultCodecs::default();
    // Values as ProducerPerformance sends them: random letters.
    let value: Vec<u8> = (0..size).map(|i| b'A' + (i * 7 % 26) as u8).collect();
    for compression in [
        CompressionType::None,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ] {
        let codec = codecs.codec(compression);
        let started = Instant::now();
        let mut bytes_out = 0usize;
        let mut written = 0usize;
        while written < records {
            let mut w = RecordBatchWriter::new(batch_size);
            while written < records && w.size_in_bytes() + size + 16 <= batch_size {
                w.append(
                    written as i64,
                    None,
                    Some(&value[..]),
                    std::iter::empty::<(&str, Option<&[u8]>)>(),
                )
                .expect("append");
                written += 1;
            }
            let batch = w.finish(BatchParams::default(), codec).expect("finish");
            bytes_out += batch.len();
        }
        let ns = started.elapsed().as_nanos() as f64 / records as f64;
        println!(
            "{:<5} {records} records of {size} B in {batch_size} B batches: {ns:.1} ns/record, {:.1} MB out",
            format!("{compression:?}").to_lowercase(),
            bytes_out as f64 / 1e6
        );
    }
}
