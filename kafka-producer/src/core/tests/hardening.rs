//! The hardening defects of the core: each test failed before its fix.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_compression::{Codec, CompressionError, CompressionType};

use super::bench::{cluster, drive, Answer, Bench};
use crate::core::{DrainGate, PendingRecord, TopicPartition};
use crate::{ProducerError, ProducerRecord};

const PLAIN: [(&str, &str); 2] = [("enable.idempotence", "false"), ("acks", "1")];

/// A Metadata answer that comes `retry.backoff.ms` or more after its
/// request and shows no leader: the refresh must go at once (the time it
/// was due has passed), not at the batch's delivery timeout.
#[test]
fn a_leaderless_partition_is_asked_about_again_without_waiting_for_expiry() {
    let mut props = PLAIN.to_vec();
    props.push(("retry.backoff.ms", "100"));
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, -1, 0)])]));
    let mut rx = b.send("t", None, None);
    b.step(|_, _| Answer::Hold);
    assert_eq!(b.held.len(), 1, "the metadata request is held");
    b.now += Duration::from_millis(150);
    b.answer_held();
    // The leader was elected meanwhile.
    b.metadata = cluster(&[1], &[("t", &[(0, 1, 1)])]);
    drive(&mut b, Duration::from_secs(1), |_, _| Answer::Healthy);
    assert!(
        matches!(rx.try_recv(), Ok(Ok(_))),
        "delivered within a second, not at delivery.timeout.ms"
    );
}

/// Compresses by copying, and fails for a batch holding "poison".
#[derive(Debug)]
struct FailsOnPoison;

impl Codec for FailsOnPoison {
    fn compression_type(&self) -> CompressionType {
        CompressionType::Gzip
    }
    fn compress(&self, input: &[u8], out: &mut BytesMut) -> Result<(), CompressionError> {
        if input.windows(6).any(|w| w == b"poison") {
            return Err(CompressionError::CompressFailed {
                codec: CompressionType::Gzip,
                detail: "poisoned".into(),
            });
        }
        out.extend_from_slice(input);
        Ok(())
    }
    fn decompress(
        &self,
        _input: &[u8],
        _out: &mut BytesMut,
        _limit: usize,
    ) -> Result<(), CompressionError> {
        Err(CompressionError::CompressFailed {
            codec: CompressionType::Gzip,
            detail: "not used".into(),
        })
    }
}

/// A batch that cannot be encoded fails alone: another broker's ready
/// batch leaves in the same poll, not at an unrelated wake-up.
#[test]
fn an_encoding_failure_does_not_hold_up_other_brokers() {
    let metadata = cluster(&[1, 2], &[("t", &[(0, 1, 0), (1, 2, 0)])]);
    let mut b = Bench::new(&PLAIN, metadata);
    b.core.set_codec(Box::new(FailsOnPoison));
    let now = b.now;
    let mut enqueue = |value: &'static str, partition: i32| {
        let record = ProducerRecord::new("t").value(value).partition(partition);
        b.core
            .enqueue(PendingRecord::new(record, 1, 64), || now)
            .delivery
    };
    let mut poisoned = enqueue("poison", 0);
    let mut good = enqueue("good", 1);
    drive(&mut b, Duration::from_secs(1), |_, _| Answer::Healthy);
    assert!(matches!(
        poisoned.try_recv(),
        Ok(Err(ProducerError::Encoding(_)))
    ));
    assert!(
        matches!(good.try_recv(), Ok(Ok(_))),
        "the other broker's batch is delivered at once"
    );
}

/// A gate that refuses new batches while `refuse` is set (a transaction
/// being aborted).
#[derive(Debug, Default)]
struct Gate {
    refuse: AtomicBool,
}

impl DrainGate for Gate {
    fn may_drain(&self, _tp: &TopicPartition) -> bool {
        true
    }
    fn batch_opened(&self, _tp: &TopicPartition) -> Result<(), ProducerError> {
        if self.refuse.load(Ordering::SeqCst) {
            Err(ProducerError::TransactionAborted)
        } else {
            Ok(())
        }
    }
}

/// A record that would open a batch the gate refuses (no transaction to
/// join) fails at once and opens nothing: a batch left open would take
/// the next transaction's records without its partition being added.
#[test]
fn a_batch_the_gate_refuses_never_opens() {
    let mut b = Bench::new(
        &[("linger.ms", "60000")],
        cluster(&[1], &[("t", &[(0, 1, 0)])]),
    );
    let gate = Arc::new(Gate::default());
    b.core.set_drain_gate(gate.clone());
    let mut first = b.send("t", Some(0), None);
    b.run();
    gate.refuse.store(true, Ordering::SeqCst);
    // The open batch ends with its transaction (a flush before a commit,
    // the abort of unsent batches before an abort).
    b.core.abort_unsent(ProducerError::TransactionAborted);
    assert!(matches!(
        first.try_recv(),
        Ok(Err(ProducerError::TransactionAborted))
    ));
    let mut refused = b.send("t", Some(0), None);
    assert!(matches!(
        refused.try_recv(),
        Ok(Err(ProducerError::TransactionAborted))
    ));
    assert_eq!(b.core.outstanding(), 0);
    gate.refuse.store(false, Ordering::SeqCst);
    let mut next = b.send("t", Some(0), None);
    b.core.begin_flush();
    b.run();
    assert!(matches!(next.try_recv(), Ok(Ok(_))));
}

/// A record for the application's partitioner is handed out once its
/// topic's partition count is known, and goes where the answer says; an
/// error answer fails it alone, memory and counts settled.
#[test]
fn the_partitioner_is_asked_outside_the_core() {
    let mut b = Bench::new(
        &PLAIN,
        cluster(&[1], &[("t", &[(0, 1, 0), (1, 1, 0), (2, 1, 0)])]),
    );
    let now = b.now;
    let enqueue = |b: &mut Bench| {
        let mut pending = PendingRecord::new(ProducerRecord::new("t").value("v"), 1, 64);
        pending.awaits_partitioner = true;
        b.core.enqueue(pending, || now).delivery
    };
    let (mut chosen, mut failed) = (enqueue(&mut b), enqueue(&mut b));
    assert!(
        b.core.take_awaiting_partitioner().is_empty(),
        "no metadata yet"
    );
    b.run();
    let awaiting = b.core.take_awaiting_partitioner();
    assert_eq!(awaiting.len(), 2);
    assert!(awaiting.iter().all(|a| a.partitions() == 3));
    let mut it = awaiting.into_iter();
    b.core.partitioned(it.next().unwrap(), Ok(Some(2)), now);
    let panicked = ProducerError::UserCodePanicked {
        hook: crate::UserHook::Partitioner,
        message: Arc::from("boom"),
    };
    b.core.partitioned(it.next().unwrap(), Err(panicked), now);
    b.run();
    assert_eq!(chosen.try_recv().unwrap().unwrap().partition, 2);
    assert!(matches!(
        failed.try_recv(),
        Ok(Err(ProducerError::UserCodePanicked { .. }))
    ));
    assert_eq!(b.core.outstanding(), 0);
    // With the metadata known, a record for the partitioner is handed out at once.
    let mut later = enqueue(&mut b);
    let awaiting = b.core.take_awaiting_partitioner();
    assert_eq!(awaiting.len(), 1);
    b.core
        .partitioned(awaiting.into_iter().next().unwrap(), Ok(None), now);
    b.run();
    assert!(matches!(later.try_recv(), Ok(Ok(_))));
    assert_eq!(b.core.take_released_permits(), 3 * 64);
}

/// Records sent while one of their topic is out for the partitioner queue
/// behind it: the records of a partition are written in send order.
#[test]
fn records_behind_one_out_for_the_partitioner_keep_send_order() {
    let mut b = Bench::new(&PLAIN, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let warm = b.send("t", Some(0), None);
    b.run();
    drop(warm);
    let now = b.now;
    let mut first = PendingRecord::new(ProducerRecord::new("t").value("1"), 1, 64);
    first.awaits_partitioner = true;
    let mut first = b.core.enqueue(first, || now).delivery;
    let out = b.core.take_awaiting_partitioner();
    assert_eq!(out.len(), 1);
    // Sent while the first is with the partitioner (its answer not back).
    let mut second = b.send("t", Some(0), None);
    b.run();
    assert!(second.try_recv().is_err(), "it waits behind the first");
    for a in out {
        assert!(a.needs_partitioner());
        b.core.partitioned(a, Ok(Some(0)), now);
    }
    let behind = b.core.take_awaiting_partitioner();
    assert_eq!(behind.len(), 1);
    assert!(!behind[0].needs_partitioner());
    for a in behind {
        b.core.partitioned(a, Ok(None), now);
    }
    b.core.begin_flush();
    b.run();
    let (first, second) = (
        first.try_recv().unwrap().unwrap(),
        second.try_recv().unwrap().unwrap(),
    );
    assert!(first.offset < second.offset, "{first:?} then {second:?}");
}
