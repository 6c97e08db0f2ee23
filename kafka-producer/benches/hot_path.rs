//! Allocations and time per record on the producer's hot path: the core's
//! enqueue (partition + append in wire form), drain into Produce requests,
//! and completion, with a counting global allocator. Records are built
//! outside the counted windows and counted apart (the caller's side: a
//! `ProducerRecord` sharing one `Arc<str>` topic); each record's delivery
//! future comes from `enqueue` (the batch's shared outcome and an index).
//!
//! Then the send path of `Producer`, where interceptors run (outside the
//! core): allocations and time per record with no interceptor, and with
//! one that does nothing, against `kafka-fake` in sink mode in this
//! process.
//!
//! `cargo bench -p kafka-producer --bench hot_path`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_producer::core::{NeedsMemory, PendingRecord, ProducerCore, Transmit};
use kafka_producer::{ProducerConfig, ProducerRecord};
use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::generated::{InitProducerIdResponse, MetadataResponse, ProduceResponse};
use kafka_protocol::messages::{RequestKind, ResponseKind};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PARTITIONS: i32 = 6;

fn metadata() -> MetadataResponse {
    MetadataResponse {
        brokers: vec![MetadataResponseBroker {
            node_id: 1,
            host: "b1".into(),
            port: 9092,
            ..Default::default()
        }],
        topics: vec![MetadataResponseTopic {
            name: Some("t".into()),
            partitions: (0..PARTITIONS)
                .map(|p| MetadataResponsePartition {
                    partition_index: p,
                    leader_id: 1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Answers every transmit as a healthy broker would.
fn answer(core: &mut ProducerCore, now: Instant, offsets: &mut [i64]) {
    while let Some(Transmit {
        request_id,
        request,
        ..
    }) = core.poll_transmit(now)
    {
        match request {
            RequestKind::Metadata(_) => core.handle_response(
                request_id,
                Ok(Some(ResponseKind::Metadata(metadata()))),
                now,
            ),
            RequestKind::InitProducerId(_) => {
                let r = InitProducerIdResponse {
                    producer_id: 7,
                    producer_epoch: 0,
                    ..Default::default()
                };
                core.handle_response(request_id, Ok(Some(ResponseKind::InitProducerId(r))), now)
            }
            RequestKind::Produce(request) => {
                let responses = request
                    .topic_data
                    .iter()
                    .map(|t| TopicProduceResponse {
                        name: t.name.clone(),
                        partition_responses: t
                            .partition_data
                            .iter()
                            .map(|p| {
                                let base = offsets[p.index as usize];
                                let count = i32::from_be_bytes(
                                    p.records.as_ref().unwrap()[57..61].try_into().unwrap(),
                                );
                                offsets[p.index as usize] += i64::from(count);
                                PartitionProduceResponse {
                                    index: p.index,
                                    base_offset: base,
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect();
                let resp = ProduceResponse {
                    responses,
                    ..Default::default()
                };
                core.handle_response(request_id, Ok(Some(ResponseKind::Produce(resp))), now)
            }
            other => panic!("unexpected {:?}", other.api_key()),
        }
    }
}

fn run(keyed: bool, compression: &str, total: usize) {
    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", "b1:9092"),
        ("linger.ms", "5"),
        ("batch.size", "65536"),
        ("compression.type", compression),
    ])
    .unwrap();
    let mut core = ProducerCore::new(Arc::new(config), 42).unwrap();
    let start = Instant::now();
    let mut offsets = vec![0i64; PARTITIONS as usize];
    answer(&mut core, start, &mut offsets);
    let value = Bytes::from(vec![b'x'; 100]);
    let keys: Vec<Bytes> = (0..1000)
        .map(|i| Bytes::from(format!("key-{i:012}")))
        .collect();
    let chunk = 10_000;
    let mut counted = 0u64;
    let mut caller_allocs = 0u64;
    let mut busy = Duration::ZERO;
    let mut receivers = Vec::with_capacity(chunk);
    // As a sender does: one topic name shared.
    let topic: Arc<str> = Arc::from("t");
    let mut sent = 0;
    while sent < total {
        // The caller's part, counted apart: the records.
        let before = ALLOCS.load(Ordering::Relaxed);
        let mut batch = Vec::with_capacity(chunk);
        for i in 0..chunk {
            let mut record = ProducerRecord {
                topic: topic.clone(),
                value: Some(value.clone()),
                ..Default::default()
            };
            if keyed {
                record.key = Some(keys[(sent + i) % keys.len()].clone());
            }
            // As the driver: offered without buffer memory first.
            batch.push(PendingRecord::new(record, 1_700_000_000_000, 0));
        }
        caller_allocs += ALLOCS.load(Ordering::Relaxed) - before;
        // The producer's part.
        let before = ALLOCS.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let now = start + Duration::from_millis(sent as u64 / 1000);
        for r in batch.drain(..) {
            // As the driver: a record that opens a batch takes the memory
            // of its buffer (here always free) and is offered again.
            let enqueued = match core.try_enqueue(r, || now) {
                Ok(e) => e,
                Err(NeedsMemory {
                    mut record, needed, ..
                }) => {
                    record.permits = needed;
                    core.try_enqueue(record, || now)
                        .expect("it holds what it needs")
                }
            };
            receivers.push(enqueued.delivery);
        }
        let _ = core.take_released_permits();
        let later = now + Duration::from_millis(10);
        core.handle_timeout(later);
        answer(&mut core, later, &mut offsets);
        busy += t0.elapsed();
        counted += ALLOCS.load(Ordering::Relaxed) - before;
        drop(batch);
        sent += chunk;
        for rx in receivers.drain(..) {
            drop(rx);
        }
    }
    let flush = core.begin_flush();
    answer(&mut core, start + Duration::from_secs(3600), &mut offsets);
    assert!(core.flushed(flush));
    println!(
        "{:<8} {:<6} records: {:>8}  producer allocations/record: {:.4}  caller allocations/record: {:.2}  core time/record: {:.0} ns ({:.2} M records/s)",
        if keyed { "keyed" } else { "keyless" },
        compression,
        total,
        counted as f64 / total as f64,
        caller_allocs as f64 / total as f64,
        busy.as_nanos() as f64 / total as f64,
        total as f64 / busy.as_secs_f64() / 1e6
    );
}

/// An interceptor that does nothing: what the hooks cost when one is set.
#[derive(Debug)]
struct Noop;

impl kafka_producer::ProducerInterceptor for Noop {}

/// `Producer::send` of `total` records (then a flush) with and without an
/// interceptor. Allocations are the whole process's (producer, I/O task
/// and the in-process sink alike), so only their difference is the
/// interceptor's; with none, `send` takes one branch more than without
/// the hooks.
fn send_path(total: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let fake = kafka_fake::FakeCluster::builder()
            .topic("t", PARTITIONS)
            .sink(true)
            .start()
            .await
            .unwrap();
        let value = Bytes::from(vec![b'x'; 100]);
        let topic: Arc<str> = Arc::from("t");
        for interceptors in [0, 1] {
            let mut builder = ProducerConfig::builder()
                .bootstrap_servers(fake.bootstrap())
                .property("linger.ms", "5");
            if interceptors == 1 {
                builder = builder.interceptor(Arc::new(Noop));
            }
            let producer = kafka_producer::Producer::new(builder.build().unwrap()).unwrap();
            let record = || ProducerRecord {
                topic: topic.clone(),
                value: Some(value.clone()),
                ..Default::default()
            };
            // Metadata and the connection first.
            producer.send(record()).await.unwrap().await.unwrap();
            let before = ALLOCS.load(Ordering::Relaxed);
            let t0 = Instant::now();
            for _ in 0..total {
                drop(producer.send(record()).await.unwrap());
            }
            producer.flush().await.unwrap();
            let elapsed = t0.elapsed();
            let allocs = ALLOCS.load(Ordering::Relaxed) - before;
            println!(
                "send     {} interceptor(s)  records: {:>8}  process allocations/record: {:.2}  wall time/record: {:.0} ns",
                interceptors,
                total,
                allocs as f64 / total as f64,
                elapsed.as_nanos() as f64 / total as f64,
            );
            producer.close(Duration::from_secs(5)).await;
        }
    });
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs benches with no args once: keep that quick.
    let total = if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        20_000
    };
    for compression in ["none", "lz4"] {
        for keyed in [false, true] {
            run(keyed, compression, total);
        }
    }
    send_path(total);
}
