//! The manager against a hostile coordinator: every answer is well formed
//! but one field of some is changed (indexes, ids, epochs, error codes,
//! partitions nobody asked for or missing, the wrong response kind). The
//! property, over thousands of seeded runs: no panic, at most one request
//! in flight, a fatal state is never left, and no operation stays pending
//! once its request has been answered and nothing more is asked.

use std::time::Duration;

use kafka_producer::core::{Transmit, TransportFailure};
use kafka_protocol::messages::{RequestKind, ResponseKind};
use proptest::prelude::*;

use super::tests::{answer_for, tp, Harness};
use super::*;

fn edge_i32(n: u64) -> i32 {
    [i32::MIN, -2, -1, 0, 1, 99, 500_000_000, i32::MAX][(n % 8) as usize]
}

fn edge_i16(n: u64) -> i16 {
    [i16::MIN, -2, -1, 0, 1, 51, 999, i16::MAX][(n % 8) as usize]
}

fn edge_i64(n: u64) -> i64 {
    [i64::MIN, -1, 0, 7, i64::MAX][(n % 5) as usize]
}

/// The healthy answer to `request`, with one thing changed (chosen by `n`).
fn hostile_answer(request: &RequestKind, n: u64, epoch: i16) -> ResponseKind {
    let healthy = answer_for(request, 0, epoch);
    let pick = n % 7;
    let v = n / 7;
    match healthy {
        ResponseKind::FindCoordinator(mut r) => {
            match pick {
                0 => r.node_id = edge_i32(v),
                1 => r.port = edge_i32(v),
                2 => r.host = "".into(),
                3 => r.error_code = edge_i16(v),
                4 => r.throttle_time_ms = edge_i32(v),
                5 => return ResponseKind::EndTxn(Default::default()),
                _ => r.coordinators.push(Default::default()),
            }
            ResponseKind::FindCoordinator(r)
        }
        ResponseKind::InitProducerId(mut r) => {
            match pick {
                0 | 1 => r.producer_id = edge_i64(v),
                2 | 3 => r.producer_epoch = edge_i16(v),
                4 => r.error_code = edge_i16(v),
                5 => r.throttle_time_ms = edge_i32(v),
                _ => return ResponseKind::FindCoordinator(Default::default()),
            }
            ResponseKind::InitProducerId(r)
        }
        ResponseKind::AddPartitionsToTxn(mut r) => {
            match pick {
                0 => r.results_by_topic_v3_and_below.clear(),
                1 => {
                    for t in &mut r.results_by_topic_v3_and_below {
                        for p in &mut t.results_by_partition {
                            p.partition_index = edge_i32(v);
                        }
                    }
                }
                2 => {
                    for t in &mut r.results_by_topic_v3_and_below {
                        t.name = "not-asked".into();
                    }
                }
                3 => {
                    for t in &mut r.results_by_topic_v3_and_below {
                        t.results_by_partition.clear();
                    }
                }
                4 => r.error_code = edge_i16(v),
                5 => {
                    for t in &mut r.results_by_topic_v3_and_below {
                        for p in &mut t.results_by_partition {
                            p.partition_error_code = edge_i16(v);
                        }
                    }
                }
                _ => r.results_by_transaction.push(Default::default()),
            }
            ResponseKind::AddPartitionsToTxn(r)
        }
        ResponseKind::TxnOffsetCommit(mut r) => {
            match pick {
                0 => r.topics.clear(),
                1 => {
                    for t in &mut r.topics {
                        for p in &mut t.partitions {
                            p.partition_index = edge_i32(v);
                        }
                    }
                }
                2 => {
                    for t in &mut r.topics {
                        t.name = "not-asked".into();
                    }
                }
                3 => {
                    for t in &mut r.topics {
                        for p in &mut t.partitions {
                            p.error_code = edge_i16(v);
                        }
                    }
                }
                4 => r.throttle_time_ms = edge_i32(v),
                5 => {
                    if let Some(t) = r.topics.first().cloned() {
                        r.topics.push(t);
                    }
                }
                _ => return ResponseKind::InitProducerId(Default::default()),
            }
            ResponseKind::TxnOffsetCommit(r)
        }
        ResponseKind::EndTxn(mut r) => {
            match pick {
                0 | 1 => r.producer_id = edge_i64(v),
                2 | 3 => r.producer_epoch = edge_i16(v),
                4 => r.error_code = edge_i16(v),
                5 => r.throttle_time_ms = edge_i32(v),
                _ => return ResponseKind::AddOffsetsToTxn(Default::default()),
            }
            ResponseKind::EndTxn(r)
        }
        ResponseKind::AddOffsetsToTxn(mut r) => {
            match pick {
                0..=3 => r.error_code = edge_i16(v),
                _ => r.throttle_time_ms = edge_i32(v),
            }
            ResponseKind::AddOffsetsToTxn(r)
        }
        other => other,
    }
}

#[derive(Debug, Clone)]
enum Step {
    Init,
    Begin,
    Add(i32),
    Offsets,
    Commit,
    Abort,
    BatchesDone,
    Healthy,
    Hostile(u64),
    Lost,
    Time(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Init),
        3 => Just(Step::Begin),
        3 => (0..3i32).prop_map(Step::Add),
        1 => Just(Step::Offsets),
        2 => Just(Step::Commit),
        1 => Just(Step::Abort),
        3 => Just(Step::BatchesDone),
        8 => Just(Step::Healthy),
        6 => any::<u64>().prop_map(Step::Hostile),
        1 => Just(Step::Lost),
        2 => (0..300u64).prop_map(Step::Time),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_hostile_coordinator_cannot_break_the_manager(
        v2 in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut h = Harness::new(v2);
        let mut in_flight: Option<Transmit> = None;
        let mut ops: Vec<OperationId> = Vec::new();
        let mut epoch = 0i16;
        for s in steps {
            let before = h.m.state();
            match s {
                Step::Init => ops.extend(h.m.init_transactions(false).ok()),
                Step::Begin => { let _ = h.m.begin_transaction(); }
                Step::Add(p) => { let _ = h.m.add_partitions([tp(p)]); }
                Step::Offsets => {
                    let group = ConsumerGroupMetadata::new("g");
                    if let Ok(Some(op)) = h.m.send_offsets([(tp(0), OffsetAndMetadata::new(5))], group) {
                        ops.push(op);
                    }
                }
                Step::Commit => ops.extend(h.m.begin_commit(true).ok()),
                Step::Abort => ops.extend(h.m.begin_abort(true).ok()),
                Step::BatchesDone => h.m.batches_done(),
                Step::Healthy | Step::Hostile(_) => {
                    if let Some(t) = in_flight.take() {
                        epoch = epoch.saturating_add(1);
                        let resp = match s {
                            Step::Hostile(n) => hostile_answer(&t.request, n, epoch),
                            _ => answer_for(&t.request, 0, epoch),
                        };
                        h.m.handle_response(t.request_id, Ok(Some(resp)), h.now);
                    }
                }
                Step::Lost => {
                    if let Some(t) = in_flight.take() {
                        let f = TransportFailure { message: "garbled".into(), connect_failed: false, authentication: false };
                        h.m.handle_response(t.request_id, Err(f), h.now);
                    }
                }
                Step::Time(ms) => {
                    h.now += Duration::from_millis(ms);
                    h.m.handle_timeout(h.now);
                }
            }
            if before == TransactionState::FatalError {
                prop_assert_eq!(h.m.state(), TransactionState::FatalError);
            }
            if in_flight.is_none() {
                in_flight = h.next();
            } else {
                prop_assert!(h.next().is_none(), "two requests in flight");
            }
            while h.m.poll_event().is_some() {}
            // A call made again while pending shares the operation.
            ops.sort_by_key(|op| op.0);
            ops.dedup();
            ops.retain(|op| h.m.take_result(*op).is_none());
        }
        // Nothing asked any more: every operation has its answer once the
        // coordinator answers healthily (or the manager gave up).
        for _ in 0..200 {
            match in_flight.take().or_else(|| h.next()) {
                Some(t) => {
                    epoch = epoch.saturating_add(1);
                    let resp = answer_for(&t.request, 0, epoch);
                    h.m.handle_response(t.request_id, Ok(Some(resp)), h.now);
                }
                None => {
                    h.now += Duration::from_millis(500);
                    h.m.handle_timeout(h.now);
                    h.m.batches_done();
                }
            }
            while h.m.poll_event().is_some() {}
            ops.retain(|op| h.m.take_result(*op).is_none());
            if ops.is_empty() {
                break;
            }
        }
        prop_assert!(ops.is_empty(), "operations left pending: {:?} in {:?}", ops, h.m.state());
    }
}
