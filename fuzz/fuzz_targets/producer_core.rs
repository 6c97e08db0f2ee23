//! The sans-IO producer core under arbitrary sequences of records, clock
//! steps, flushes, closes and answers: responses that are arbitrary bytes
//! decoded as the request's response kind (or a transport failure when they
//! do not decode), structurally valid responses with fuzzed fields, lost
//! requests. It must never panic, and:
//! - every record completes exactly once (none is dropped unanswered, none
//!   is left once the producer is closed and aborted), and all buffer
//!   memory comes back;
//! - sequences never go backwards: under one producer id and epoch, one
//!   sequence of a partition always carries the same record, a record
//!   keeps its sequence, and a record sent for the first time gets a
//!   sequence above every one the partition used before;
//! - the application's code (delivery callbacks, a partitioner) may panic
//!   at random: a callback is still called exactly once per record, a
//!   panicking partitioner fails its record alone, and the invariants above
//!   hold.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_producer::core::{Completion, PendingRecord, ProducerCore, Transmit, TransportFailure};
use kafka_producer::partitioner::{ask, Partitioner};
use kafka_producer::{DeliveryFuture, ProducerConfig, ProducerError, ProducerRecord, TryRecvError};
use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::generated::{InitProducerIdResponse, MetadataResponse, ProduceResponse};
use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::records::{DefaultCodecs, RecordBatch};
use libfuzzer_sys::fuzz_target;

const TOPICS: [&str; 2] = ["a", "b"];
/// Error codes a Produce answer picks from: success, retriable, the
/// idempotence ones, fatal and unknown.
const CODES: [i16; 12] = [0, 0, 0, 6, 7, 19, 45, 46, 47, 10, 29, 999];

/// What the application's code panics with (kept quiet, and not a crash).
const HOOK_PANIC: &str = "fuzz: the application's code panics";

/// Chooses by the record's id, leaves every third to the built-in choice,
/// and panics for a record whose ninth value byte is 1.
#[derive(Debug)]
struct FuzzPartitioner;

impl Partitioner for FuzzPartitioner {
    fn partition(&self, _: &str, _: Option<&[u8]>, value: Option<&[u8]>, n: i32) -> Option<i32> {
        let v = value.expect("a value");
        if v.get(8) == Some(&1) {
            std::panic::panic_any(HOOK_PANIC);
        }
        let id = u64::from_be_bytes(v[..8].try_into().unwrap());
        (id % 3 != 0).then(|| (id % n.max(1) as u64) as i32)
    }
}

/// libfuzzer's panic hook aborts: panics of the application's code are
/// caught by the producer, so they pass it by.
fn let_hook_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&HOOK_PANIC) {
                previous(info);
            }
        }));
    });
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

struct Run {
    core: ProducerCore,
    now: Instant,
    held: Vec<Transmit>,
    deliveries: Vec<(u64, DeliveryFuture)>,
    permits_out: usize,
    permits_back: usize,
    next_record: u64,
    /// (topic, partition, producer id, epoch, sequence) -> record id.
    by_sequence: HashMap<(String, i32, i64, i16, i32), u64>,
    /// (record id, producer id, epoch) -> (partition, sequence).
    of_record: HashMap<(u64, i64, i16), (i32, i32)>,
    /// (topic, partition, producer id, epoch) -> the highest sequence used.
    highest: HashMap<(String, i32, i64, i16), i32>,
    /// Per record with a callback, how often it was called.
    callback_calls: Arc<Mutex<HashMap<u64, u32>>>,
}

impl Run {
    fn poll(&mut self) {
        // As the driver: the partitioner is asked outside the core.
        for record in self.core.take_awaiting_partitioner() {
            let choice = match record.needs_partitioner() {
                true => ask(&FuzzPartitioner, record.record(), record.partitions()),
                false => Ok(None),
            };
            self.core.partitioned(record, choice, self.now);
        }
        while let Some(t) = self.core.poll_transmit(self.now) {
            if let RequestKind::Produce(r) = &t.request {
                self.check_sequences(r);
            }
            self.held.push(t);
        }
        self.permits_back += self.core.take_released_permits();
        self.core
            .take_completions()
            .into_iter()
            .for_each(Completion::run);
    }

    fn check_sequences(&mut self, r: &kafka_protocol::generated::ProduceRequest) {
        for td in &r.topic_data {
            for pd in &td.partition_data {
                let Some(bytes) = &pd.records else { continue };
                let (batch, _) = RecordBatch::parse(bytes).expect("the core writes valid batches");
                if batch.producer_id < 0 {
                    continue;
                }
                let section = batch
                    .decompressed_records(&DefaultCodecs::default(), 64 << 20)
                    .expect("decompresses");
                for (i, rec) in batch.records_in(&section).enumerate() {
                    let rec = rec.expect("a record");
                    let id =
                        u64::from_be_bytes(rec.value.expect("a value")[..8].try_into().unwrap());
                    let seq = batch.base_sequence.wrapping_add(i as i32);
                    let key = (
                        td.name.to_string(),
                        pd.index,
                        batch.producer_id,
                        batch.producer_epoch,
                        seq,
                    );
                    let owner = *self.by_sequence.entry(key).or_insert(id);
                    assert_eq!(
                        owner, id,
                        "two records share sequence {seq} of {}-{}",
                        td.name, pd.index
                    );
                    let first_time = !self
                        .of_record
                        .contains_key(&(id, batch.producer_id, batch.producer_epoch));
                    let partition = (
                        td.name.to_string(),
                        pd.index,
                        batch.producer_id,
                        batch.producer_epoch,
                    );
                    let highest = self.highest.get(&partition).copied();
                    if first_time {
                        assert!(
                            highest.is_none_or(|h| seq > h),
                            "record {id} got sequence {seq} of {}-{} after {highest:?} was used",
                            td.name,
                            pd.index
                        );
                    }
                    self.highest
                        .insert(partition, highest.map_or(seq, |h| h.max(seq)));
                    let place = *self
                        .of_record
                        .entry((id, batch.producer_id, batch.producer_epoch))
                        .or_insert((pd.index, seq));
                    assert_eq!(
                        place,
                        (pd.index, seq),
                        "record {id} changed its sequence under one epoch"
                    );
                }
            }
        }
    }

    fn answer(&mut self, t: Transmit, result: Result<Option<ResponseKind>, TransportFailure>) {
        self.core.handle_response(t.request_id, result, self.now);
        self.poll();
    }

    fn settle(&mut self) {
        self.deliveries.retain_mut(|(_, d)| match d.try_recv() {
            Ok(_) => false,
            Err(TryRecvError::Empty) => true,
        });
    }
}

fn failure(connect_failed: bool) -> TransportFailure {
    TransportFailure {
        message: "fuzz".into(),
        connect_failed,
        authentication: false,
    }
}

/// A well-formed answer to `t` whose fields come from the input.
fn shaped(t: &Transmit, input: &mut Input) -> ResponseKind {
    match &t.request {
        RequestKind::Metadata(_) => {
            let broker = |id: i32| MetadataResponseBroker {
                node_id: id,
                host: format!("b{id}").into(),
                port: 9092,
                ..Default::default()
            };
            let topics = TOPICS
                .iter()
                .map(|name| {
                    let n = input.byte() % 5;
                    MetadataResponseTopic {
                        name: Some(name.to_string().into()),
                        error_code: if input.byte() % 8 == 0 { 3 } else { 0 },
                        partitions: (0..n as i32)
                            .map(|i| MetadataResponsePartition {
                                partition_index: if input.byte() % 16 == 0 { 7 } else { i },
                                leader_id: (input.byte() % 4) as i32 - 1,
                                leader_epoch: input.byte() as i32,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    }
                })
                .collect();
            ResponseKind::Metadata(MetadataResponse {
                brokers: vec![broker(1), broker(2)],
                topics,
                ..Default::default()
            })
        }
        RequestKind::InitProducerId(_) => ResponseKind::InitProducerId(InitProducerIdResponse {
            error_code: CODES[input.byte() as usize % CODES.len()].min(15),
            producer_id: (input.byte() % 3) as i64,
            producer_epoch: (input.byte() % 3) as i16,
            ..Default::default()
        }),
        RequestKind::Produce(r) => ResponseKind::Produce(ProduceResponse {
            responses: r
                .topic_data
                .iter()
                .map(|td| TopicProduceResponse {
                    name: td.name.clone(),
                    partition_responses: td
                        .partition_data
                        .iter()
                        .filter_map(|p| {
                            // Now and then a partition is missing from the answer.
                            (input.byte() % 16 != 0).then(|| PartitionProduceResponse {
                                index: p.index,
                                error_code: CODES[input.byte() as usize % CODES.len()],
                                base_offset: input.byte() as i64 * 100,
                                ..Default::default()
                            })
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        other => panic!("the core sent {:?}", other.api_key()),
    }
}

fuzz_target!(|data: &[u8]| {
    let_hook_panics_unwind();
    let mut input = Input(data);
    let mode = input.byte();
    let (acks, idempotence) = match mode % 3 {
        0 => ("all", "true"),
        1 => ("1", "false"),
        _ => ("0", "false"),
    };
    let linger = (input.byte() % 10).to_string();
    let batch_size = (64 + input.byte() as usize * 16).to_string();
    let config = ProducerConfig::from_properties([
        ("bootstrap.servers", "b1:9092,b2:9092"),
        ("acks", acks),
        ("enable.idempotence", idempotence),
        ("linger.ms", linger.as_str()),
        ("batch.size", batch_size.as_str()),
        ("request.timeout.ms", "1000"),
        ("delivery.timeout.ms", "3000"),
        ("max.block.ms", "2000"),
        ("retry.backoff.ms", "10"),
    ])
    .expect("a valid config");
    // A record the core dropped instead of answering shows as an outcome
    // abandoned while the core still lives.
    let abandoned = kafka_producer::core::abandoned_outcomes();
    let mut run = Run {
        core: ProducerCore::new(Arc::new(config), u64::from(mode)).expect("a core"),
        now: Instant::now(),
        held: Vec::new(),
        deliveries: Vec::new(),
        permits_out: 0,
        permits_back: 0,
        next_record: 0,
        by_sequence: HashMap::new(),
        of_record: HashMap::new(),
        highest: HashMap::new(),
        callback_calls: Arc::new(Mutex::new(HashMap::new())),
    };
    let mut with_callback = Vec::new();
    let mut steps = 0;
    while !input.0.is_empty() && steps < 2000 {
        steps += 1;
        match input.byte() % 9 {
            0 | 1 => {
                let id = run.next_record;
                run.next_record += 1;
                let flags = input.byte();
                let hooks = input.byte();
                let mut value = id.to_be_bytes().to_vec();
                value.push(u8::from(hooks & 8 != 0));
                let mut record = ProducerRecord::new(TOPICS[(flags & 1) as usize])
                    .value(Bytes::from(value));
                if flags & 2 != 0 {
                    record = record.key(vec![flags >> 4]);
                }
                if flags & 4 != 0 {
                    record.partition = Some((flags >> 5) as i32 - 1);
                }
                let permits = 16 + (flags as usize);
                run.permits_out += permits;
                let now = run.now;
                let mut pending = PendingRecord::new(record, 1, permits);
                if hooks & 1 != 0 {
                    let (calls, panics) = (run.callback_calls.clone(), hooks & 2 != 0);
                    pending.callback = Some(Box::new(move |_| {
                        *calls.lock().unwrap().entry(id).or_default() += 1;
                        if panics {
                            std::panic::panic_any(HOOK_PANIC);
                        }
                    }));
                    with_callback.push(id);
                }
                // As the driver: the partitioner is asked now when the
                // partition count is known, else once metadata came.
                let mut refused = None;
                if hooks & 4 != 0 && pending.record.partition.is_none() {
                    match run.core.partition_count(&pending.record.topic) {
                        Some(n) => match ask(&FuzzPartitioner, &pending.record, n) {
                            Ok(choice) => pending.record.partition = choice,
                            Err(e) => refused = Some(e),
                        },
                        None => pending.awaits_partitioner = true,
                    }
                }
                let delivery = match refused {
                    Some(e) => run.core.refuse(pending, e),
                    None => run.core.enqueue(pending, || now),
                }
                .delivery;
                run.deliveries.push((id, delivery));
            }
            2 => run.poll(),
            3 if !run.held.is_empty() => {
                // Arbitrary bytes as the answer.
                let i = input.byte() as usize % run.held.len();
                let t = run.held.remove(i);
                let len = input.byte() as usize;
                let bytes = Bytes::copy_from_slice(input.take(len));
                let api = t.request.api_key();
                let version = api.versions().max.min(i16::from(input.byte() % 13));
                let result = match ResponseKind::decode(api, version, &bytes) {
                    Ok(r) => Ok(Some(r)),
                    Err(_) => Err(failure(false)),
                };
                run.answer(t, result);
            }
            4 | 5 if !run.held.is_empty() => {
                let i = input.byte() as usize % run.held.len();
                let t = run.held.remove(i);
                let resp = shaped(&t, &mut input);
                run.answer(t, Ok(Some(resp)));
            }
            6 if !run.held.is_empty() => {
                let i = input.byte() as usize % run.held.len();
                let t = run.held.remove(i);
                let result = match input.byte() % 3 {
                    0 => Err(failure(true)),
                    1 => Err(failure(false)),
                    _ => Ok(None),
                };
                run.answer(t, result);
            }
            7 => {
                run.now += Duration::from_millis(input.byte() as u64 * 20);
                run.core.handle_timeout(run.now);
                let _ = run.core.poll_timeout();
            }
            8 => match input.byte() % 8 {
                0 => run.core.begin_close(run.now),
                1 => run.core.abort_all(ProducerError::Closed),
                _ => {
                    run.core.begin_flush();
                }
            },
            _ => {}
        }
        run.poll();
        run.settle();
    }
    // Close: whatever is left fails, every record has its answer, all
    // buffer memory is back, and late answers change nothing.
    run.core.begin_close(run.now);
    run.core.abort_all(ProducerError::Closed);
    run.permits_back += run.core.take_released_permits();
    run.settle();
    assert!(
        run.deliveries.is_empty(),
        "{} records without an answer",
        run.deliveries.len()
    );
    assert_eq!(run.core.outstanding(), 0);
    for t in std::mem::take(&mut run.held) {
        let resp = shaped(&t, &mut input);
        run.answer(t, Ok(Some(resp)));
    }
    run.permits_back += run.core.take_released_permits();
    // Free pooled buffers keep theirs (as Java's free list).
    assert_eq!(
        run.permits_back + run.core.pooled_permits(),
        run.permits_out,
        "buffer memory given back"
    );
    assert_eq!(
        kafka_producer::core::abandoned_outcomes(),
        abandoned,
        "records dropped without an answer"
    );
    run.poll();
    let calls = run.callback_calls.lock().unwrap();
    for id in with_callback {
        assert_eq!(calls.get(&id), Some(&1), "record {id}'s callback calls");
    }
});
