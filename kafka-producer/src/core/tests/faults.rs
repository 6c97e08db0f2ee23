//! What a hostile or failing broker did to the core, each pinned by a test
//! that failed before its fix.

use std::time::Duration;

use kafka_protocol::generated::produce_response::NodeEndpoint;
use kafka_protocol::generated::ProduceResponse;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kafka_protocol::ErrorCode;

use super::bench::{cluster, drive, produce_error, Answer, Bench};
use crate::error::ProducerError;

const PLAIN: &[(&str, &str)] = &[("enable.idempotence", "false"), ("acks", "1")];

fn is_produce(t: &crate::core::Transmit) -> bool {
    matches!(t.request, RequestKind::Produce(_))
}

/// Produce requests are held (in flight until the test answers them),
/// the rest answered as a healthy broker.
fn hold_produces(_: &mut Bench, t: &crate::core::Transmit) -> Answer {
    if is_produce(t) {
        Answer::Hold
    } else {
        Answer::Healthy
    }
}

/// Every record of `deliveries` is acknowledged.
fn assert_delivered(deliveries: &mut [crate::DeliveryFuture]) {
    for d in deliveries.iter_mut() {
        assert!(d.try_recv().unwrap().is_ok());
    }
}

// --------------------------------------------- 1. partition lists in Metadata

#[test]
fn hostile_partition_indexes_are_refused_and_a_good_view_is_awaited() {
    let hostile: [&[(i32, i32, i32)]; 5] = [
        &[(500_000_000, 1, 0)],
        &[(i32::MAX, 1, 0)],
        &[(-1, 1, 0)],
        &[(0, 1, 0), (0, 1, 0)],
        &[(0, 1, 0), (2, 1, 0)],
    ];
    for parts in hostile {
        let mut b = Bench::new(PLAIN, cluster(&[1], &[("t", parts)]));
        // A keyed record (murmur2) and a keyless one (sticky): both would
        // divide by a partition count of 0.
        let mut keyed = b.send("t", None, Some("k"));
        let mut keyless = b.send("t", None, None);
        b.run();
        assert!(
            keyed.try_recv().is_err(),
            "{parts:?}: waits for a valid view"
        );
        assert!(keyless.try_recv().is_err(), "{parts:?}");
        b.metadata = cluster(&[1], &[("t", &[(0, 1, 0), (1, 1, 0)])]);
        drive(&mut b, Duration::from_secs(1), |_, _| Answer::Healthy);
        assert!(keyed.try_recv().unwrap().is_ok(), "{parts:?}");
        assert!(keyless.try_recv().unwrap().is_ok(), "{parts:?}");
    }
}

#[test]
fn a_hostile_refresh_keeps_the_last_good_view_and_asks_again() {
    let props = [PLAIN, &[("metadata.max.age.ms", "1000")]].concat();
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, 1, 0), (1, 1, 0)])]));
    let mut first = b.send("t", None, Some("k"));
    b.run();
    assert!(first.try_recv().unwrap().is_ok());
    b.metadata = cluster(&[1], &[("t", &[(-1, 1, 0)])]);
    b.advance(Duration::from_millis(1000));
    b.run();
    let asked = b.log.iter().filter(|s| s.api == ApiKey::Metadata).count();
    // The refused view changed nothing: records still go out at once.
    let mut second = b.send("t", None, Some("k"));
    b.run();
    assert!(second.try_recv().unwrap().is_ok());
    // And the refresh is asked again after retry.backoff.ms, not after max age.
    drive(&mut b, Duration::from_millis(300), |_, _| Answer::Healthy);
    let asked_again = b.log.iter().filter(|s| s.api == ApiKey::Metadata).count();
    assert!(asked_again > asked, "{asked} then {asked_again}");
}

// ------------------------------------------- 3. delivery.timeout.ms in flight

#[test]
fn a_batch_in_flight_fails_at_delivery_timeout() {
    let props = [
        ("delivery.timeout.ms", "3000"),
        ("request.timeout.ms", "2000"),
    ];
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut rx = b.send("t", None, None);
    b.step(hold_produces);
    assert_eq!(b.held.len(), 1);
    assert!(b
        .core
        .poll_timeout()
        .is_some_and(|t| t <= b.now + Duration::from_millis(3000)));
    b.advance(Duration::from_millis(2999));
    assert!(rx.try_recv().is_err(), "not yet");
    b.advance(Duration::from_millis(1));
    assert!(matches!(
        rx.try_recv(),
        Ok(Err(ProducerError::DeliveryTimeout { .. }))
    ));
    assert_eq!(b.core.outstanding(), 0);
    // The late answer completes nothing twice, and the producer goes on.
    b.answer_held();
    let mut next = b.send("t", None, None);
    b.run();
    assert!(next.try_recv().unwrap().is_ok());
}

// ------------------------------------------------------- 5. split then expire

#[test]
fn split_halves_that_expire_leave_an_epoch_bump_behind() {
    let props = [
        ("delivery.timeout.ms", "3000"),
        ("request.timeout.ms", "2000"),
    ];
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    // Appended together when the metadata comes: one batch of four.
    let mut records: Vec<_> = (0..4).map(|_| b.send("t", None, None)).collect();
    let mut first = true;
    b.step(|_, t| {
        if is_produce(t) && std::mem::take(&mut first) {
            Answer::Respond(produce_error(
                "t",
                &[(0, ErrorCode::MESSAGE_TOO_LARGE, None)],
            ))
        } else if is_produce(t) {
            Answer::Hold
        } else {
            Answer::Healthy
        }
    });
    assert_eq!(b.produces()[0].stamps, vec![(0, 0, 0)]);
    // The halves' requests never end; the records expire.
    b.advance(Duration::from_millis(3000));
    for r in records.iter_mut() {
        assert!(matches!(
            r.try_recv(),
            Ok(Err(ProducerError::DeliveryTimeout { .. }))
        ));
    }
    for t in std::mem::take(&mut b.held) {
        let r = produce_error("t", &[(0, ErrorCode::REQUEST_TIMED_OUT, None)]);
        b.core.handle_response(t.request_id, Ok(Some(r)), b.now);
    }
    // Sequences 0..3 are unresolved: the next record goes under a new epoch
    // from sequence 0, not at sequence 4 behind a gap.
    let mut next = b.send("t", None, None);
    b.run();
    assert!(next.try_recv().unwrap().is_ok());
    let last = b.produces().last().unwrap().stamps.clone();
    assert_eq!(last, vec![(0, 1, 0)]);
}

// ---------------------------------------- 6. INVALID_PRODUCER_EPOCH, idempotent

#[test]
fn invalid_producer_epoch_fails_the_batch_not_the_idempotent_producer() {
    let mut b = Bench::new(&[], cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut rx = b.send("t", None, None);
    b.step(|_, t| {
        if is_produce(t) {
            Answer::Respond(produce_error(
                "t",
                &[(0, ErrorCode::INVALID_PRODUCER_EPOCH, None)],
            ))
        } else {
            Answer::Healthy
        }
    });
    assert!(matches!(rx.try_recv(), Ok(Err(ProducerError::Broker(_)))));
    assert!(b.core.fatal_error().is_none());
    let mut next = b.send("t", None, None);
    b.run();
    assert!(next.try_recv().unwrap().is_ok());
}

// ----------------------------------------- 7. partitions missing or unknown

fn empty_produce_response() -> ResponseKind {
    ResponseKind::Produce(ProduceResponse::default())
}

#[test]
fn a_partition_missing_from_the_response_fails_without_idempotence() {
    let mut b = Bench::new(PLAIN, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut rx = b.send("t", None, None);
    drive(&mut b, Duration::from_secs(2), |_, t| {
        if is_produce(t) {
            Answer::Respond(empty_produce_response())
        } else {
            Answer::Healthy
        }
    });
    assert!(matches!(rx.try_recv(), Ok(Err(ProducerError::Broker(_)))));
    assert_eq!(b.produces().len(), 1, "no retry that could write it twice");
}

#[test]
fn a_partition_missing_from_the_response_is_retried_with_idempotence() {
    let mut b = Bench::new(&[], cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut rx = b.send("t", None, None);
    let mut first = true;
    drive(&mut b, Duration::from_secs(2), |_, t| {
        if is_produce(t) && std::mem::take(&mut first) {
            Answer::Respond(empty_produce_response())
        } else {
            Answer::Healthy
        }
    });
    assert!(rx.try_recv().unwrap().is_ok());
    let produces = b.produces();
    assert_eq!(produces.len(), 2);
    assert_eq!(produces[0].stamps, produces[1].stamps, "the same sequence");
}

#[test]
fn a_partition_the_request_did_not_carry_changes_nothing() {
    let mut b = Bench::new(PLAIN, cluster(&[1], &[("t", &[(0, 1, 0), (1, 1, 0)])]));
    let mut rx = b.send("t", Some(0), None);
    b.step(|_, t| {
        if is_produce(t) {
            Answer::Respond(produce_error(
                "t",
                &[
                    (0, ErrorCode::NONE, None),
                    (1, ErrorCode::NONE, None),
                    (9, ErrorCode::NONE, None),
                ],
            ))
        } else {
            Answer::Healthy
        }
    });
    assert!(rx.try_recv().unwrap().is_ok());
    assert_eq!(b.core.outstanding(), 0);
}

// ------------------------------------------------------ 8. KIP-951 leader hints

fn leader_moves() -> Bench {
    let metadata = cluster(&[1, 2], &[("t", &[(0, 1, 5), (1, 1, 5)])]);
    Bench::new(PLAIN, metadata)
}

/// The request that followed the first Produce.
fn after_first_produce(b: &Bench) -> ApiKey {
    let i = b.log.iter().position(|s| s.api == ApiKey::Produce).unwrap();
    b.log[i + 1].api
}

#[test]
fn a_leader_hint_of_the_same_epoch_is_not_newer() {
    let mut b = leader_moves();
    let mut rx = b.send("t", Some(0), None);
    let mut first = true;
    drive(&mut b, Duration::from_secs(1), |b, t| {
        if is_produce(t) && std::mem::take(&mut first) {
            b.metadata = cluster(&[1, 2], &[("t", &[(0, 2, 6), (1, 1, 5)])]);
            Answer::Respond(produce_error(
                "t",
                &[(0, ErrorCode::NOT_LEADER_OR_FOLLOWER, Some((2, 5)))],
            ))
        } else {
            Answer::Healthy
        }
    });
    assert_eq!(after_first_produce(&b), ApiKey::Metadata);
    assert!(rx.try_recv().unwrap().is_ok());
}

#[test]
fn a_leader_hint_beside_no_error_is_ignored() {
    let mut b = leader_moves();
    let mut first = b.send("t", Some(0), None);
    b.step(|_, t| {
        if is_produce(t) {
            Answer::Respond(produce_error("t", &[(0, ErrorCode::NONE, Some((2, 9)))]))
        } else {
            Answer::Healthy
        }
    });
    assert!(first.try_recv().unwrap().is_ok());
    let mut second = b.send("t", Some(0), None);
    b.run();
    assert!(second.try_recv().unwrap().is_ok());
    assert!(
        b.produces().iter().all(|s| s.node == 1),
        "partition 0 stays on broker 1"
    );
}

#[test]
fn a_moved_broker_address_is_taken_from_the_response() {
    let mut b = leader_moves();
    let mut first = b.send("t", Some(0), None);
    b.step(|b, t| {
        if is_produce(t) {
            let ResponseKind::Produce(mut r) = b.healthy(t) else {
                unreachable!()
            };
            r.node_endpoints = vec![NodeEndpoint {
                node_id: 1,
                host: "moved".into(),
                port: 9093,
                ..Default::default()
            }];
            Answer::Respond(ResponseKind::Produce(r))
        } else {
            Answer::Healthy
        }
    });
    assert!(first.try_recv().unwrap().is_ok());
    let mut second = b.send("t", Some(0), None);
    b.run();
    assert!(second.try_recv().unwrap().is_ok());
    assert_eq!(b.produces().last().unwrap().addr, "moved:9093");
}

#[test]
fn one_hint_does_not_hide_another_partitions_stale_leader() {
    let mut b = leader_moves();
    let mut p0 = b.send("t", Some(0), None);
    let mut p1 = b.send("t", Some(1), None);
    let mut first = true;
    drive(&mut b, Duration::from_secs(1), |b, t| {
        if is_produce(t) && std::mem::take(&mut first) {
            b.metadata = cluster(&[1, 2], &[("t", &[(0, 2, 6), (1, 2, 6)])]);
            Answer::Respond(produce_error(
                "t",
                &[
                    (0, ErrorCode::NOT_LEADER_OR_FOLLOWER, Some((2, 6))),
                    (1, ErrorCode::NOT_LEADER_OR_FOLLOWER, None),
                ],
            ))
        } else {
            Answer::Healthy
        }
    });
    assert_eq!(after_first_produce(&b), ApiKey::Metadata);
    assert!(p0.try_recv().unwrap().is_ok());
    assert!(p1.try_recv().unwrap().is_ok());
    assert!(b.produces().iter().skip(1).all(|s| s.node == 2));
}

// ------------------------------------------ 10. reconnect backoff, any request

#[test]
fn unreachable_brokers_are_retried_at_the_reconnect_backoff() {
    let props = [
        PLAIN,
        &[
            ("reconnect.backoff.ms", "50"),
            ("reconnect.backoff.max.ms", "1000"),
        ],
    ]
    .concat();
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let _rx = b.send("t", None, None);
    drive(&mut b, Duration::from_secs(10), |_, _| Answer::Fail(true));
    // 50, 100, 200, 400, 800 ms, then about one a second (+-20 %): at most
    // 17 in 10 s; retry.backoff.ms alone would give about 100.
    let attempts = b.log.len();
    assert!((8..=17).contains(&attempts), "{attempts} connects in 10 s");
}

// --------------------------------------------- 11. epoch bump per partition

#[test]
fn an_epoch_bump_does_not_wait_for_other_partitions() {
    let metadata = cluster(&[1, 2], &[("t", &[(0, 1, 0), (1, 2, 0)])]);
    let mut b = Bench::new(&[], metadata);
    let mut p1 = b.send("t", Some(1), None);
    b.step(hold_produces);
    assert_eq!(b.held.len(), 1, "partition 1's batch waits on broker 2");
    let mut p0 = b.send("t", Some(0), None);
    let mut first = true;
    drive(&mut b, Duration::from_secs(1), |_, t| {
        if is_produce(t) && t.node.id == 1 && std::mem::take(&mut first) {
            // A real gap: partition 0's first batch is not in the log.
            Answer::Respond(produce_error(
                "t",
                &[(0, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, None)],
            ))
        } else if is_produce(t) && t.node.id == 2 {
            Answer::Hold
        } else {
            Answer::Healthy
        }
    });
    assert!(
        p0.try_recv().unwrap().is_ok(),
        "partition 0 recovered under a new epoch"
    );
    let on_node_1: Vec<_> = b.produces().into_iter().filter(|s| s.node == 1).collect();
    assert_eq!(on_node_1.last().unwrap().stamps, vec![(0, 1, 0)]);
    assert!(p1.try_recv().is_err(), "partition 1 is still in flight");
    // Partition 1 ends under its old epoch, then moves to the new one.
    b.answer_held();
    assert!(p1.try_recv().unwrap().is_ok());
    let mut again = b.send("t", Some(1), None);
    b.run();
    assert!(again.try_recv().unwrap().is_ok());
    assert_eq!(b.produces().last().unwrap().stamps, vec![(1, 1, 0)]);
}

// ------------------------------------- 12. an explicit partition not known yet

#[test]
fn an_explicit_partition_waits_for_metadata_that_knows_it() {
    let mut b = Bench::new(PLAIN, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut rx = b.send("t", Some(2), None);
    b.run();
    assert!(rx.try_recv().is_err(), "waits, as Java within max.block.ms");
    b.metadata = cluster(&[1], &[("t", &[(0, 1, 0), (1, 1, 0), (2, 1, 0)])]);
    drive(&mut b, Duration::from_secs(1), |_, _| Answer::Healthy);
    assert_eq!(rx.try_recv().unwrap().unwrap().partition, 2);
}

#[test]
fn an_explicit_partition_that_never_appears_fails_after_max_block() {
    let props = [PLAIN, &[("max.block.ms", "1000")]].concat();
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut rx = b.send("t", Some(2), None);
    drive(&mut b, Duration::from_millis(900), |_, _| Answer::Healthy);
    assert!(rx.try_recv().is_err());
    drive(&mut b, Duration::from_millis(200), |_, _| Answer::Healthy);
    assert!(matches!(
        rx.try_recv(),
        Ok(Err(ProducerError::InvalidPartition {
            partition: 2,
            partitions: 1,
            ..
        }))
    ));
}

// ------------------------------------------------ 4. every accepted duration

#[test]
fn the_largest_durations_the_config_accepts_work() {
    let long = i64::MAX.to_string();
    let int = i32::MAX.to_string();
    let props: Vec<(&str, &str)> = [
        "retry.backoff.ms",
        "retry.backoff.max.ms",
        "max.block.ms",
        "metadata.max.age.ms",
        "metadata.max.idle.ms",
        "reconnect.backoff.ms",
        "reconnect.backoff.max.ms",
        "connections.max.idle.ms",
        "linger.ms",
        "buffer.memory",
    ]
    .into_iter()
    .map(|k| (k, long.as_str()))
    .chain([
        ("delivery.timeout.ms", int.as_str()),
        ("request.timeout.ms", int.as_str()),
    ])
    .collect();
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    // linger.ms is "forever": a flush sends.
    let mut first = b.send("t", None, None);
    b.core.begin_flush();
    b.run();
    assert!(first.try_recv().unwrap().is_ok());
    // A transport failure: the retry waits retry.backoff.ms ("forever")...
    let mut second = b.send("t", None, None);
    b.core.begin_flush();
    b.step(|_, t| {
        if is_produce(t) {
            Answer::Fail(false)
        } else {
            Answer::Healthy
        }
    });
    assert!(b.core.poll_timeout().is_some());
    b.advance(Duration::from_secs(3600));
    b.run();
    assert!(second.try_recv().is_err(), "still waiting for its retry");
    // ...until delivery.timeout.ms (24.8 days) fails it.
    b.advance(Duration::from_secs(25 * 86_400));
    assert!(matches!(
        second.try_recv(),
        Ok(Err(ProducerError::DeliveryTimeout { .. }))
    ));
    assert_eq!(b.core.outstanding(), 0);
}

// ------------- 13. a broker takes any first sequence from an unknown producer

/// A broker with no state for the producer takes whatever sequence comes
/// first. Had a partition's second batch gone while its first was still
/// out, a first batch refused (its leader not ready yet, as for partitions
/// just created) would find the second in the log and get
/// OUT_OF_ORDER_SEQUENCE_NUMBER until `delivery.timeout.ms`: seen on a
/// topic grown from 5,000 to 10,000 partitions.
#[test]
fn a_partition_pipelines_only_once_its_first_batch_is_acknowledged() {
    let metadata = cluster(&[1], &[("t", &[(0, 1, 0)])]);
    let mut b = Bench::new(&[("batch.size", "1")], metadata);
    let mut deliveries: Vec<_> = (0..3).map(|_| b.send("t", Some(0), None)).collect();
    let hold_produce = |_: &mut Bench, t: &crate::core::Transmit| {
        if is_produce(t) {
            Answer::Hold
        } else {
            Answer::Healthy
        }
    };
    b.step(hold_produce);
    let first: Vec<_> = b.produces().iter().map(|s| s.stamps.clone()).collect();
    assert_eq!(first, vec![vec![(0, 0, 0)]], "the first batch alone");
    // Refused as by a leader not ready: retried first, still alone.
    let refused = b.held.pop().unwrap();
    b.core.handle_response(
        refused.request_id,
        Ok(Some(produce_error(
            "t",
            &[(0, ErrorCode::NOT_LEADER_OR_FOLLOWER, None)],
        ))),
        b.now,
    );
    drive(&mut b, Duration::from_secs(2), hold_produce);
    let stamps: Vec<_> = b.produces().iter().map(|s| s.stamps.clone()).collect();
    assert_eq!(stamps, vec![vec![(0, 0, 0)], vec![(0, 0, 0)]], "{stamps:?}");
    // Acknowledged: the two others go together, in order.
    b.answer_held();
    b.step(hold_produce);
    let stamps: Vec<_> = b
        .produces()
        .iter()
        .skip(2)
        .map(|s| s.stamps.clone())
        .collect();
    assert_eq!(stamps, vec![vec![(0, 0, 1)], vec![(0, 0, 2)]], "{stamps:?}");
    b.answer_held();
    for d in deliveries.iter_mut() {
        assert!(d.try_recv().unwrap().is_ok());
    }
}

/// The batches of one refused request come back together: one jitter per
/// response, not per batch. Per batch, the retries of thousands of
/// partitions refused at once (a topic whose new partitions have no leader
/// yet) ended over the jitter's range, each end a wake-up that looked at
/// every queue and sent a few batches.
#[test]
fn the_batches_of_one_refused_request_are_retried_together() {
    let partitions: Vec<_> = (0..8).map(|p| (p, 1, 0)).collect();
    let mut b = Bench::new(PLAIN, cluster(&[1], &[("t", &partitions)]));
    let mut deliveries: Vec<_> = (0..8).map(|p| b.send("t", Some(p), None)).collect();
    let mut refused = false;
    drive(&mut b, Duration::from_secs(2), |_, t| {
        if is_produce(t) && !std::mem::replace(&mut refused, true) {
            let all: Vec<_> = (0..8)
                .map(|p| (p, ErrorCode::NOT_LEADER_OR_FOLLOWER, None))
                .collect();
            Answer::Respond(produce_error("t", &all))
        } else {
            Answer::Healthy
        }
    });
    let sizes: Vec<_> = b.produces().iter().map(|s| s.stamps.len()).collect();
    assert_eq!(sizes, vec![8, 8], "the retry is one request");
    for d in deliveries.iter_mut() {
        assert!(d.try_recv().unwrap().is_ok());
    }
}

/// Stale leaders ask for metadata at `retry.backoff.ms`, then, while the
/// answers move no leader, at twice the wait each time up to
/// `retry.backoff.max.ms` (Java's `equivalentResponseCount`); an answer
/// that moves a leader starts again at `retry.backoff.ms`. Before, with
/// thousands of partitions refused for tens of seconds (new partitions, no
/// leader ready), some refusal made the view stale at every moment, and
/// the metadata of all of them was fetched ten times a second.
#[test]
fn answers_that_say_nothing_new_back_metadata_off() {
    let mut b = Bench::new(PLAIN, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut rx = b.send("t", Some(0), None);
    b.run();
    assert!(rx.try_recv().unwrap().is_ok());
    // A refusal every 10 ms marks the view stale; when is it asked for?
    let stale_for = |b: &mut Bench, total: Duration| {
        let mut asked = Vec::new();
        let end = b.now + total;
        while b.now < end {
            b.core.metadata.stale = true;
            let now = b.now;
            b.step(|_, t| {
                if matches!(t.request, RequestKind::Metadata(_)) {
                    asked.push(now);
                }
                Answer::Healthy
            });
            b.advance(Duration::from_millis(10));
        }
        let gaps: Vec<u128> = asked
            .windows(2)
            .map(|w| (w[1] - w[0]).as_millis())
            .collect();
        gaps
    };
    let gaps = stale_for(&mut b, Duration::from_secs(5));
    assert_eq!(
        gaps[..7],
        [100, 200, 400, 800, 1000, 1000, 1000],
        "{gaps:?}"
    );
    // The leader moves (a new epoch): asked again at the first backoff.
    b.metadata = cluster(&[1], &[("t", &[(0, 1, 1)])]);
    let gaps = stale_for(&mut b, Duration::from_secs(2));
    assert_eq!(gaps[..3], [100, 100, 200], "{gaps:?}");
}

/// `poll_transmits` skips only the look that would find nothing: batches
/// passed over for another broker or for the request's size still go.
#[test]
fn poll_transmits_leaves_no_ready_batch_behind() {
    let three = [(0, 1, 0), (1, 2, 0), (2, 1, 0)];
    for props in [PLAIN, &[("max.request.size", "100")]] {
        let mut b = Bench::new(props, cluster(&[1, 2], &[("t", &three)]));
        let mut warm_up = b.send("t", Some(0), None);
        b.run();
        assert!(warm_up.try_recv().unwrap().is_ok());
        let mut deliveries: Vec<_> = (0..3).map(|p| b.send("t", Some(p), None)).collect();
        let mut out = Vec::new();
        b.core.poll_transmits(b.now, &mut out);
        let mut batches: Vec<_> = out.iter().map(super::bench::sent).collect();
        batches.retain(|s| s.api == ApiKey::Produce);
        let mut partitions: Vec<_> = batches
            .iter()
            .flat_map(|s| s.stamps.iter().map(|x| x.0))
            .collect();
        partitions.sort();
        assert_eq!(partitions, [0, 1, 2], "{props:?}");
        b.held = out;
        b.answer_held();
        assert_delivered(&mut deliveries);
    }
}

/// A partition's batches behind the one a request took go in the next
/// requests of the same look (pipelined), not at the next wake-up.
#[test]
fn poll_transmits_pipelines_a_partitions_next_batches() {
    let props = [
        ("enable.idempotence", "false"),
        ("acks", "1"),
        ("batch.size", "1"),
    ];
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut warm_up = b.send("t", Some(0), None);
    b.run();
    assert!(warm_up.try_recv().unwrap().is_ok());
    let mut deliveries: Vec<_> = (0..3).map(|_| b.send("t", Some(0), None)).collect();
    let mut out = Vec::new();
    b.core.poll_transmits(b.now, &mut out);
    let produces = out.iter().filter(|t| is_produce(t)).count();
    assert_eq!(produces, 3, "one request per batch, all in this look");
    b.held = out;
    b.answer_held();
    assert_delivered(&mut deliveries);
}

// ------------------------------------ 9. the order of a Produce response's parts

/// The broker answers a request's partitions in an order of its own (a map
/// of its own): each batch takes its own partition's answer, a partition
/// answered twice its first answer, and a partition the request did not
/// carry completes nothing.
#[test]
fn answers_in_any_order_reach_their_own_batches() {
    use kafka_protocol::generated::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    let parts: &[(i32, i32, i32)] = &[(0, 1, 0), (1, 1, 0), (2, 1, 0)];
    let mut b = Bench::new(PLAIN, cluster(&[1], &[("a", parts), ("b", parts)]));
    let mut sent = Vec::new();
    for topic in ["a", "b"] {
        for p in 0..3 {
            sent.push((topic, p, b.send(topic, Some(p), None)));
        }
    }
    // Topic `a` at offsets 100 + partition, `b` at 200 + partition.
    let answer = |topic: &str, index: i32| PartitionProduceResponse {
        index,
        base_offset: if topic == "a" { 100 } else { 200 } + i64::from(index),
        ..Default::default()
    };
    b.step(|_, t| {
        if !is_produce(t) {
            return Answer::Healthy;
        }
        let topic = |name: &str, indexes: &[i32], dup: Option<PartitionProduceResponse>| {
            let mut partition_responses: Vec<_> =
                indexes.iter().map(|&i| answer(name, i)).collect();
            partition_responses.extend(dup);
            TopicProduceResponse {
                name: name.to_string().into(),
                partition_responses,
                ..Default::default()
            }
        };
        let late_duplicate = PartitionProduceResponse {
            index: 2,
            base_offset: 999,
            ..Default::default()
        };
        Answer::Respond(ResponseKind::Produce(ProduceResponse {
            responses: vec![
                topic("b", &[2, 0, 1], None),
                // Partition 7 was not in the request.
                topic("a", &[1, 7, 2, 0], Some(late_duplicate)),
            ],
            ..Default::default()
        }))
    });
    assert_eq!(b.produces().len(), 1, "one request carried the six batches");
    for (topic, p, mut delivery) in sent {
        let meta = delivery.try_recv().unwrap().unwrap();
        let base = if topic == "a" { 100 } else { 200 };
        assert_eq!(
            (meta.partition, meta.offset),
            (p, base + i64::from(p)),
            "{topic}-{p}"
        );
    }
}

/// A batch backing off for a retry while batches sent after it are in
/// flight: the queue's next batch to send is the retry (found by a walk,
/// as the batches in flight no longer lead the queue), and it goes only
/// once nothing else of the partition is in flight, first in line.
#[test]
fn a_retry_behind_batches_in_flight_goes_first_once_they_end() {
    let props = [PLAIN, &[("max.in.flight.requests.per.connection", "5")]].concat();
    let mut b = Bench::new(&props, cluster(&[1], &[("t", &[(0, 1, 0)])]));
    let mut deliveries = Vec::new();
    for _ in 0..3 {
        deliveries.push(b.send("t", Some(0), None));
        b.step(hold_produces);
    }
    assert_eq!(b.held.len(), 3, "three batches of the partition in flight");
    let first = b.held.remove(0);
    let refused = produce_error("t", &[(0, ErrorCode::NOT_LEADER_OR_FOLLOWER, None)]);
    b.core
        .handle_response(first.request_id, Ok(Some(refused)), b.now);
    // Past the backoff: the retry waits for the two batches in flight.
    b.advance(Duration::from_secs(2));
    b.step(hold_produces);
    assert_eq!(
        b.held.len(),
        2,
        "no retry while later batches are in flight"
    );
    b.answer_held();
    b.run();
    assert_eq!(b.produces().len(), 4, "the retry went once they ended");
    assert_delivered(&mut deliveries);
}
