//! Each codec of kafka-compression against a direct call of the crate under
//! it, on the same records section, in the same run.
//!
//! ```text
//! CARGO_TARGET_DIR=target/compression cargo bench -p kafka-compression --bench codecs
//! ```
//!
//! Payload: a RecordBatch records section (v2 record encoding, zigzag
//! varints) of JSON log lines, 16 KiB (a default `batch.size`) and 1 MiB.
//! Both sides reuse their output buffer between iterations, as a producer
//! would, emptying it first (so a zero fill the API needs is paid each time
//! on both sides). Throughput is counted in uncompressed bytes for both
//! directions.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::Duration;

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use kafka_compression::{Codec, Gzip, Lz4, Snappy, Zstd};

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A records section of about `size` bytes: records with a key and a JSON
/// log line as value, the way a v2 RecordBatch lays them out.
fn records_section(size: usize) -> Vec<u8> {
    let mut section = Vec::with_capacity(size + 512);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut i = 0i64;
    while section.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = format!("user-{}", x % 5000);
        let value = format!(
            r#"{{"ts":"2025-11-27T15:{:02}:{:02}.{:03}Z","level":"{}","service":"checkout-{}","msg":"order {} paid with {} in {} ms","trace_id":"{:016x}","amount":{}.{:02}}}"#,
            (i / 60) % 60,
            i % 60,
            x % 1000,
            ["INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"][(x % 6) as usize],
            x % 4,
            100_000 + i,
            ["card", "paypal", "voucher"][(x % 3) as usize],
            x % 900,
            x,
            x % 500,
            x % 100
        );
        let mut body = Vec::new();
        body.push(0); // attributes
        put_varint(&mut body, i * 3); // timestamp delta
        put_varint(&mut body, i); // offset delta
        put_varint(&mut body, key.len() as i64);
        body.extend_from_slice(key.as_bytes());
        put_varint(&mut body, value.len() as i64);
        body.extend_from_slice(value.as_bytes());
        put_varint(&mut body, 0); // headers
        put_varint(&mut section, body.len() as i64);
        section.extend_from_slice(&body);
        i += 1;
    }
    section
}

fn config(group: &mut BenchmarkGroup<'_, WallTime>, bytes: usize) {
    group
        .throughput(Throughput::Bytes(bytes as u64))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
}

/// `ours` and `raw` for one codec: compress and decompress.
fn compare<C: Codec>(
    c: &mut Criterion,
    name: &str,
    codec: &C,
    input: &[u8],
    raw_compress: impl Fn(&[u8], &mut Vec<u8>),
    raw_decompress: impl Fn(&[u8], &mut Vec<u8>),
) {
    let size = if input.len() >= 1 << 20 {
        "1MiB"
    } else {
        "16KiB"
    };
    let mut compressed = BytesMut::new();
    codec.compress(input, &mut compressed).unwrap();

    // Both sides must agree with each other before being timed.
    let mut raw_compressed = Vec::new();
    raw_compress(input, &mut raw_compressed);
    let mut check = BytesMut::new();
    codec
        .decompress(&raw_compressed, &mut check, input.len())
        .unwrap();
    assert_eq!(&check[..], input, "{name}: raw output reads back");
    let mut check = Vec::new();
    raw_decompress(&compressed, &mut check);
    assert_eq!(
        check, input,
        "{name}: our output reads back with the raw crate"
    );

    let mut group = c.benchmark_group(format!("compress/{name}/{size}"));
    config(&mut group, input.len());
    let mut out = BytesMut::new();
    group.bench_function("ours", |b| {
        b.iter(|| {
            out.clear();
            codec.compress(black_box(input), &mut out).unwrap();
            black_box(out.len())
        })
    });
    let mut out = Vec::new();
    group.bench_function("raw", |b| {
        b.iter(|| {
            raw_compress(black_box(input), &mut out);
            black_box(out.len())
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("decompress/{name}/{size}"));
    config(&mut group, input.len());
    let mut out = BytesMut::new();
    group.bench_function("ours", |b| {
        b.iter(|| {
            out.clear();
            codec
                .decompress(black_box(&compressed), &mut out, 64 << 20)
                .unwrap();
            black_box(out.len())
        })
    });
    let mut out = Vec::new();
    group.bench_function("raw", |b| {
        b.iter(|| {
            raw_decompress(black_box(&compressed), &mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

fn gzip(c: &mut Criterion, input: &[u8]) {
    compare(
        c,
        "gzip",
        &Gzip::default(),
        input,
        |input, out| {
            out.clear();
            // Java's default level -1 is zlib's 6.
            let mut enc =
                flate2::write::GzEncoder::new(std::mem::take(out), flate2::Compression::new(6));
            enc.write_all(input).unwrap();
            *out = enc.finish().unwrap();
        },
        |input, out| {
            out.clear();
            flate2::bufread::MultiGzDecoder::new(input)
                .read_to_end(out)
                .unwrap();
        },
    );
}

fn snappy(c: &mut Criterion, input: &[u8]) {
    compare(
        c,
        "snappy",
        &Snappy,
        input,
        |input, out| {
            out.clear();
            out.resize(snap::raw::max_compress_len(input.len()), 0);
            let n = snap::raw::Encoder::new().compress(input, out).unwrap();
            out.truncate(n);
        },
        |input, out| {
            out.clear();
            out.resize(snap::raw::decompress_len(input).unwrap(), 0);
            snap::raw::Decoder::new().decompress(input, out).unwrap();
        },
    );
}

fn lz4(c: &mut Criterion, input: &[u8]) {
    use lz4_flex::frame::{BlockSize, FrameDecoder, FrameEncoder, FrameInfo};
    compare(
        c,
        "lz4",
        &Lz4::default(),
        input,
        |input, out| {
            out.clear();
            // The frame Java writes: 64 KiB independent blocks, no checksums.
            let info = FrameInfo::new()
                .block_size(BlockSize::Max64KB)
                .content_checksum(false);
            let mut enc = FrameEncoder::with_frame_info(info, std::mem::take(out));
            enc.write_all(input).unwrap();
            *out = enc.finish().unwrap();
        },
        |input, out| {
            out.clear();
            FrameDecoder::new(input).read_to_end(out).unwrap();
        },
    );
}

fn zstd(c: &mut Criterion, input: &[u8]) {
    compare(
        c,
        "zstd",
        &Zstd::default(),
        input,
        |input, out| {
            out.clear();
            out.reserve(zstd::zstd_safe::compress_bound(input.len()));
            zstd::bulk::Compressor::new(3)
                .unwrap()
                .compress_to_buffer(input, out)
                .unwrap();
        },
        |input, out| {
            out.clear();
            zstd::stream::read::Decoder::with_buffer(input)
                .unwrap()
                .read_to_end(out)
                .unwrap();
        },
    );
}

/// flate2's zlib-rs backend (what `Gzip` uses) against miniz_oxide, flate2's
/// default backend, on raw deflate streams at level 6.
fn deflate_backends(c: &mut Criterion, input: &[u8]) {
    let size = if input.len() >= 1 << 20 {
        "1MiB"
    } else {
        "16KiB"
    };
    let deflated = miniz_oxide::deflate::compress_to_vec(input, 6);

    let mut group = c.benchmark_group(format!("deflate-backend/compress/{size}"));
    config(&mut group, input.len());
    let mut out = Vec::with_capacity(input.len() * 2);
    group.bench_function("zlib-rs", |b| {
        b.iter(|| {
            out.clear();
            let mut z = flate2::Compress::new(flate2::Compression::new(6), false);
            z.compress_vec(black_box(input), &mut out, flate2::FlushCompress::Finish)
                .unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("miniz_oxide", |b| {
        b.iter(|| black_box(miniz_oxide::deflate::compress_to_vec(black_box(input), 6).len()))
    });
    group.finish();

    let mut group = c.benchmark_group(format!("deflate-backend/decompress/{size}"));
    config(&mut group, input.len());
    let mut out = Vec::with_capacity(input.len() + 1024);
    group.bench_function("zlib-rs", |b| {
        b.iter(|| {
            out.clear();
            let mut z = flate2::Decompress::new(false);
            z.decompress_vec(
                black_box(&deflated),
                &mut out,
                flate2::FlushDecompress::Finish,
            )
            .unwrap();
            assert_eq!(out.len(), input.len());
        })
    });
    group.bench_function("miniz_oxide", |b| {
        b.iter(|| {
            let plain = miniz_oxide::inflate::decompress_to_vec(black_box(&deflated)).unwrap();
            assert_eq!(plain.len(), input.len());
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    for size in [16 << 10, 1 << 20] {
        let input = records_section(size);
        gzip(c, &input);
        snappy(c, &input);
        lz4(c, &input);
        zstd(c, &input);
        deflate_backends(c, &input);
    }
}

criterion_group!(codecs, benches);
criterion_main!(codecs);
