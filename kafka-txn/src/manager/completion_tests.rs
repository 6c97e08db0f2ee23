//! The wait for the previous transaction's markers (see `completion`).

use std::time::Duration;

use kafka_producer::core::TransportFailure;
use kafka_producer::ErrorCode;
use kafka_protocol::generated::describe_transactions_response::TransactionState as DescribedState;
use kafka_protocol::generated::DescribeTransactionsResponse;
use kafka_protocol::messages::{ApiKey, ResponseKind};

use super::completion::{poll_interval, MAX_POLLS};
use super::tests::{tp, Harness};
use super::*;

fn described(state: &'static str, code: ErrorCode) -> ResponseKind {
    ResponseKind::DescribeTransactions(DescribeTransactionsResponse {
        transaction_states: vec![DescribedState {
            error_code: code.0,
            transactional_id: "t1".into(),
            transaction_state: state.into(),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// One transaction on partition 0, committed: the DescribeTransactions that
/// follows EndTxn's answer is returned unanswered.
fn commit_one(h: &mut Harness) -> Transmit {
    let v2 = h.m.is_v2();
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    if !v2 {
        let t = h.expect(ApiKey::AddPartitionsToTxn);
        h.add_partitions_ok(&t);
    }
    let op = h.m.begin_commit(false).unwrap();
    let t = h.expect(ApiKey::EndTxn);
    h.end_txn(&t, ErrorCode::NONE, v2.then_some(1));
    assert_eq!(
        h.m.take_result(op),
        Some(Ok(())),
        "commit returns at EndTxn's answer"
    );
    h.events();
    h.expect(ApiKey::DescribeTransactions)
}

#[test]
fn v2_holds_the_next_transactions_produce_until_the_markers_are_written() {
    let mut h = Harness::new(true);
    h.init();
    let t = commit_one(&mut h);
    // The next transaction starts at once; its records wait in the accumulator.
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(1)]).unwrap();
    assert!(
        !h.m.may_send_to(&tp(1)),
        "sent while the markers are written"
    );
    // Asked again at once a few times, then every millisecond.
    let mut t = t;
    for _ in 0..8 {
        h.answer(&t, described("PrepareCommit", ErrorCode::NONE));
        t = h.expect(ApiKey::DescribeTransactions);
    }
    h.answer(&t, described("PrepareCommit", ErrorCode::NONE));
    assert!(h.next().is_none(), "polled again before its backoff");
    h.now += Duration::from_millis(1);
    let t = h.expect(ApiKey::DescribeTransactions);
    assert!(!h.m.may_send_to(&tp(1)));
    h.events();
    h.answer(&t, described("CompleteCommit", ErrorCode::NONE));
    assert!(h.m.may_send_to(&tp(1)));
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, TransactionEvent::PartitionsAdded(p) if p == &vec![tp(1)])),
        "the producer is woken for the partitions held back"
    );
    assert!(h.next().is_none(), "no more polls");
}

#[test]
fn v1_holds_the_next_add_partitions_until_the_markers_are_written() {
    let mut h = Harness::new(false);
    h.init();
    let t = commit_one(&mut h);
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(1)]).unwrap();
    assert!(h.next().is_none(), "AddPartitionsToTxn before the markers");
    h.answer(&t, described("PrepareAbort", ErrorCode::NONE));
    h.now += Duration::from_millis(1);
    let t = h.expect(ApiKey::DescribeTransactions);
    h.answer(&t, described("CompleteAbort", ErrorCode::NONE));
    let t = h.expect(ApiKey::AddPartitionsToTxn);
    h.add_partitions_ok(&t);
    assert!(h.m.may_send_to(&tp(1)));
}

#[test]
fn the_poll_interval_is_capped_at_retry_backoff_and_the_wait_bounded() {
    assert_eq!(poll_interval(0), Duration::ZERO);
    assert_eq!(poll_interval(7), Duration::ZERO);
    assert_eq!(poll_interval(8), Duration::from_millis(1));
    assert_eq!(poll_interval(24), Duration::from_millis(1));
    assert_eq!(poll_interval(25), Duration::from_millis(2));
    assert_eq!(poll_interval(u32::MAX), Duration::from_millis(65_536));
    let mut h = Harness::new(true);
    h.init();
    let mut t = commit_one(&mut h);
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    for _ in 1..MAX_POLLS {
        h.answer(&t, described("PrepareCommit", ErrorCode::NONE));
        assert!(!h.m.may_send_to(&tp(0)));
        h.now += Duration::from_millis(100);
        t = h.expect(ApiKey::DescribeTransactions);
    }
    // The last answer still says preparing: the wait ends anyway.
    h.answer(&t, described("PrepareCommit", ErrorCode::NONE));
    assert!(h.m.may_send_to(&tp(0)));
    h.now += Duration::from_millis(100);
    assert!(h.next().is_none(), "no more polls");
}

#[test]
fn any_answer_but_preparing_ends_the_wait() {
    for (answer, describes_again) in [
        (Ok(described("Empty", ErrorCode::NONE)), true),
        (Ok(described("Ongoing", ErrorCode::NONE)), true),
        (
            Ok(described("", ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)),
            true,
        ),
        (Ok(described("", ErrorCode::NOT_COORDINATOR)), true),
        (
            Ok(described(
                "",
                ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            )),
            false,
        ),
        (
            Ok(ResponseKind::DescribeTransactions(Default::default())),
            true,
        ),
        (
            Err(TransportFailure {
                message: "connection reset".into(),
                connect_failed: false,
                authentication: false,
            }),
            true,
        ),
    ] {
        let mut h = Harness::new(true);
        h.init();
        let t = commit_one(&mut h);
        h.m.begin_transaction().unwrap();
        h.m.add_partitions([tp(0)]).unwrap();
        let label = format!("{answer:?}");
        h.m.handle_response(t.request_id, answer.map(Some), h.now);
        assert!(h.m.may_send_to(&tp(0)), "{label}");
        assert_eq!(h.m.state(), TransactionState::InTransaction, "{label}");
        assert!(h.next().is_none(), "{label}");
        // The next commit: a refused DESCRIBE is not asked again.
        let op = h.m.begin_commit(false).unwrap();
        let t = h.expect(ApiKey::EndTxn);
        h.end_txn(&t, ErrorCode::NONE, Some(2));
        assert_eq!(h.m.take_result(op), Some(Ok(())));
        let next = h.next().map(|t| t.request.api_key());
        assert_eq!(
            next,
            describes_again.then_some(ApiKey::DescribeTransactions),
            "{label}"
        );
    }
}

#[test]
fn a_broker_without_describe_transactions_is_not_asked() {
    let mut h = Harness::new(true);
    h.m.handle_connected(&super::tests::versions_with(true, false));
    h.init();
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    let op = h.m.begin_commit(false).unwrap();
    let t = h.expect(ApiKey::EndTxn);
    h.end_txn(&t, ErrorCode::NONE, Some(1));
    assert_eq!(h.m.take_result(op), Some(Ok(())));
    assert!(h.next().is_none());
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    assert!(h.m.may_send_to(&tp(0)));
}
