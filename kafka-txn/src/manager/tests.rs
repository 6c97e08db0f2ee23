//! The manager against a scripted coordinator: each test answers the
//! requests it asks for, as a broker would (or would not).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_codec::BrokerVersions;
use kafka_producer::core::{ProducerIdAndEpoch, TopicPartition, Transmit, TransportFailure};
use kafka_producer::{ErrorClass, ErrorCode, ProducerError};
use kafka_protocol::generated::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::generated::api_versions_response::{ApiVersion, FinalizedFeatureKey};
use kafka_protocol::generated::describe_transactions_response::TransactionState as DescribedState;
use kafka_protocol::generated::{
    AddPartitionsToTxnResponse, ApiVersionsResponse, DescribeTransactionsResponse, EndTxnResponse,
    FindCoordinatorResponse, InitProducerIdResponse,
};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use proptest::prelude::*;

use super::*;

fn config() -> TransactionConfig {
    TransactionConfig {
        transactional_id: "t1".into(),
        transaction_timeout: Duration::from_secs(60),
        retry_backoff: Duration::from_millis(100),
        bootstrap_servers: vec!["b1:9092".into()],
        two_phase_commit: false,
    }
}

fn versions(v2: bool) -> BrokerVersions {
    versions_with(v2, true)
}

/// A broker's versions, with or without DescribeTransactions (Kafka 3.0).
pub(super) fn versions_with(v2: bool, describe: bool) -> BrokerVersions {
    let api = |key: ApiKey, max: i16| ApiVersion {
        api_key: key as i16,
        min_version: 0,
        max_version: max,
        ..Default::default()
    };
    BrokerVersions::from_response(&ApiVersionsResponse {
        api_keys: vec![
            api(ApiKey::Produce, 12),
            api(ApiKey::EndTxn, 5),
            api(ApiKey::TxnOffsetCommit, 5),
            api(ApiKey::InitProducerId, 5),
            api(ApiKey::FindCoordinator, 6),
            api(ApiKey::AddPartitionsToTxn, 5),
            api(ApiKey::DescribeTransactions, 0),
        ]
        .into_iter()
        .filter(|a| describe || a.api_key != ApiKey::DescribeTransactions as i16)
        .collect(),
        finalized_features: vec![FinalizedFeatureKey {
            name: "transaction.version".into(),
            min_version_level: if v2 { 2 } else { 0 },
            max_version_level: if v2 { 2 } else { 0 },
            ..Default::default()
        }],
        ..Default::default()
    })
}

pub(super) fn tp(partition: i32) -> TopicPartition {
    TopicPartition {
        topic: Arc::from("out"),
        partition,
    }
}

/// A manager plus a clock, answering requests by hand.
pub(super) struct Harness {
    pub(super) m: TransactionManager,
    pub(super) now: Instant,
    epoch: i16,
}

impl Harness {
    pub(super) fn new(v2: bool) -> Self {
        let mut m = TransactionManager::new(config());
        m.handle_connected(&versions(v2));
        Harness {
            m,
            now: Instant::now(),
            epoch: 0,
        }
    }

    pub(super) fn next(&mut self) -> Option<Transmit> {
        self.m.poll_transmit(self.now)
    }

    pub(super) fn expect(&mut self, api: ApiKey) -> Transmit {
        let t = self
            .next()
            .unwrap_or_else(|| panic!("expected {api:?}, nothing to send"));
        assert_eq!(t.request.api_key(), api, "{:?}", t.request);
        t
    }

    pub(super) fn answer(&mut self, t: &Transmit, resp: ResponseKind) {
        self.m
            .handle_response(t.request_id, Ok(Some(resp)), self.now);
    }

    fn find_coordinator(&mut self) {
        let t = self.expect(ApiKey::FindCoordinator);
        self.answer(
            &t,
            ResponseKind::FindCoordinator(FindCoordinatorResponse {
                node_id: 1,
                host: "b1".into(),
                port: 9092,
                ..Default::default()
            }),
        );
    }

    fn init_producer_id(&mut self) -> Transmit {
        let t = self.expect(ApiKey::InitProducerId);
        self.answer(
            &t,
            ResponseKind::InitProducerId(InitProducerIdResponse {
                producer_id: 7,
                producer_epoch: self.epoch,
                ..Default::default()
            }),
        );
        t
    }

    pub(super) fn init(&mut self) -> OperationId {
        let op = self.m.init_transactions(false).unwrap();
        self.find_coordinator();
        self.init_producer_id();
        assert_eq!(
            self.m.take_result(op).expect("done"),
            Ok(()).map_err(|_: ()| unreachable!())
        );
        assert_eq!(self.m.state(), TransactionState::Ready);
        op
    }

    pub(super) fn events(&mut self) -> Vec<TransactionEvent> {
        std::iter::from_fn(|| self.m.poll_event()).collect()
    }

    pub(super) fn add_partitions_ok(&mut self, t: &Transmit) {
        let RequestKind::AddPartitionsToTxn(r) = &t.request else {
            panic!("not AddPartitionsToTxn")
        };
        let results = r
            .v3_and_below_topics
            .iter()
            .map(|topic| AddPartitionsToTxnTopicResult {
                name: topic.name.clone(),
                results_by_partition: topic
                    .partitions
                    .iter()
                    .map(|p| AddPartitionsToTxnPartitionResult {
                        partition_index: *p,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        self.answer(
            t,
            ResponseKind::AddPartitionsToTxn(AddPartitionsToTxnResponse {
                results_by_topic_v3_and_below: results,
                ..Default::default()
            }),
        );
    }

    pub(super) fn end_txn(&mut self, t: &Transmit, code: ErrorCode, next_epoch: Option<i16>) {
        self.answer(
            t,
            ResponseKind::EndTxn(EndTxnResponse {
                error_code: code.0,
                producer_id: if next_epoch.is_some() { 7 } else { -1 },
                producer_epoch: next_epoch.unwrap_or(-1),
                ..Default::default()
            }),
        );
    }
}

impl PartialEq for TransactionError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

#[test]
fn v1_adds_partitions_before_their_batches_and_ends_after_them() {
    let mut h = Harness::new(false);
    h.init();
    assert!(!h.m.is_v2());
    assert_eq!(h.m.produce_version_cap(), Some(11));
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0), tp(1)]).unwrap();
    assert!(!h.m.is_partition_added(&tp(0)));
    let t = h.expect(ApiKey::AddPartitionsToTxn);
    assert_eq!(t.max_version, Some(3), "client versions only");
    assert!(h.next().is_none(), "one request in flight at a time");
    h.add_partitions_ok(&t);
    assert!(h.m.is_partition_added(&tp(0)) && h.m.is_partition_added(&tp(1)));
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, TransactionEvent::PartitionsAdded(tps) if tps.len() == 2)));

    let op = h.m.begin_commit(true).unwrap();
    assert!(h.next().is_none(), "EndTxn waits for the batches");
    h.m.batches_done();
    let t = h.expect(ApiKey::EndTxn);
    assert_eq!(
        t.max_version,
        Some(4),
        "no EndTxn v5 without transactions v2"
    );
    let RequestKind::EndTxn(r) = &t.request else {
        unreachable!()
    };
    assert!(r.committed && r.producer_id == 7);
    h.end_txn(&t, ErrorCode::NONE, None);
    assert_eq!(h.m.take_result(op), Some(Ok(())));
    assert_eq!(h.m.state(), TransactionState::Ready);
}

#[test]
fn v2_adds_partitions_with_the_first_produce_and_adopts_the_next_epoch() {
    let mut h = Harness::new(true);
    h.init();
    assert!(h.m.is_v2());
    assert_eq!(h.m.produce_version_cap(), None);
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    assert!(h.m.is_partition_added(&tp(0)), "no AddPartitionsToTxn");
    let op = h.m.begin_commit(false).unwrap();
    let t = h.expect(ApiKey::EndTxn);
    assert_eq!(
        t.max_version,
        Some(5),
        "EndTxn v5: transactions v2, no higher"
    );
    h.events();
    h.end_txn(&t, ErrorCode::NONE, Some(1));
    assert_eq!(h.m.take_result(op), Some(Ok(())));
    assert_eq!(
        h.m.producer_id_and_epoch(),
        Some(ProducerIdAndEpoch {
            producer_id: 7,
            epoch: 1
        })
    );
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, TransactionEvent::ProducerId(p) if p.epoch == 1)));
}

#[test]
fn an_empty_transaction_ends_without_a_request() {
    let mut h = Harness::new(false);
    h.init();
    h.m.begin_transaction().unwrap();
    let op = h.m.begin_commit(false).unwrap();
    assert!(h.next().is_none());
    assert_eq!(h.m.take_result(op), Some(Ok(())));
    assert_eq!(h.m.state(), TransactionState::Ready);
}

#[test]
fn a_moved_coordinator_is_found_again_and_the_request_retried() {
    let mut h = Harness::new(true);
    h.init();
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    let op = h.m.begin_commit(false).unwrap();
    let t = h.expect(ApiKey::EndTxn);
    h.end_txn(&t, ErrorCode::NOT_COORDINATOR, None);
    assert!(h.next().is_none(), "after the backoff");
    h.now += Duration::from_millis(100);
    h.find_coordinator();
    let t = h.expect(ApiKey::EndTxn);
    h.end_txn(&t, ErrorCode::NONE, Some(1));
    assert_eq!(h.m.take_result(op), Some(Ok(())));
}

#[test]
fn concurrent_transactions_on_the_first_add_retry_quickly() {
    let mut h = Harness::new(false);
    h.init();
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    let t = h.expect(ApiKey::AddPartitionsToTxn);
    h.answer(
        &t,
        ResponseKind::AddPartitionsToTxn(AddPartitionsToTxnResponse {
            results_by_topic_v3_and_below: vec![AddPartitionsToTxnTopicResult {
                name: "out".into(),
                results_by_partition: vec![AddPartitionsToTxnPartitionResult {
                    partition_index: 0,
                    partition_error_code: ErrorCode::CONCURRENT_TRANSACTIONS.0,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
    );
    assert_eq!(h.m.poll_timeout(), Some(h.now + Duration::from_millis(20)));
    h.now += Duration::from_millis(20);
    let t = h.expect(ApiKey::AddPartitionsToTxn);
    h.add_partitions_ok(&t);
    assert!(h.m.is_partition_added(&tp(0)));
}

#[test]
fn an_end_txn_without_an_answer_is_retried_and_the_next_transaction_gets_a_fresh_epoch() {
    let mut h = Harness::new(false);
    h.init();
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    let t = h.expect(ApiKey::AddPartitionsToTxn);
    h.add_partitions_ok(&t);
    let op = h.m.begin_commit(false).unwrap();
    let t = h.expect(ApiKey::EndTxn);
    let f = TransportFailure {
        message: "request timed out".into(),
        connect_failed: false,
        authentication: false,
    };
    h.m.handle_response(t.request_id, Err(f), h.now);
    h.now += Duration::from_millis(100);
    h.find_coordinator();
    let t = h.expect(ApiKey::EndTxn);
    h.end_txn(&t, ErrorCode::NONE, None);
    // A delayed copy of the first EndTxn must not end a later transaction.
    assert_eq!(h.m.state(), TransactionState::Initializing);
    assert!(
        h.m.take_result(op).is_none(),
        "the commit waits for the bump"
    );
    h.epoch = 1;
    let bump = h.init_producer_id();
    let RequestKind::InitProducerId(r) = &bump.request else {
        unreachable!()
    };
    assert_eq!(
        (r.producer_id, r.producer_epoch),
        (7, 0),
        "KIP-360: the current id and epoch"
    );
    assert_eq!(h.m.take_result(op), Some(Ok(())));
    assert_eq!(h.m.producer_id_and_epoch().map(|p| p.epoch), Some(1));
}

#[test]
fn a_failed_batch_makes_the_transaction_abortable_and_the_abort_bumps_the_epoch() {
    let mut h = Harness::new(false);
    h.init();
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    let t = h.expect(ApiKey::AddPartitionsToTxn);
    h.add_partitions_ok(&t);
    h.m.produce_failed(&ProducerError::DeliveryTimeout {
        elapsed: Duration::from_secs(120),
        attempts: 3,
        last_error: None,
    });
    assert_eq!(h.m.state(), TransactionState::AbortableError);
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, TransactionEvent::AbortUnsent(_))));
    let e = h.m.begin_commit(true).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Abortable);
    let op = h.m.begin_abort(false).unwrap();
    let t = h.expect(ApiKey::EndTxn);
    let RequestKind::EndTxn(r) = &t.request else {
        unreachable!()
    };
    assert!(!r.committed);
    h.end_txn(&t, ErrorCode::NONE, None);
    h.epoch = 1;
    h.init_producer_id();
    assert_eq!(h.m.take_result(op), Some(Ok(())));
    assert_eq!(h.m.state(), TransactionState::Ready);
}

#[test]
fn fencing_on_end_txn_is_fatal_and_says_fenced() {
    let mut h = Harness::new(false);
    h.init();
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    let t = h.expect(ApiKey::AddPartitionsToTxn);
    h.add_partitions_ok(&t);
    let op = h.m.begin_commit(false).unwrap();
    let t = h.expect(ApiKey::EndTxn);
    h.end_txn(&t, ErrorCode::PRODUCER_FENCED, None);
    let e = h.m.take_result(op).unwrap().unwrap_err();
    assert!(matches!(e, TransactionError::Fenced(_)), "{e}");
    assert_eq!(e.class(), ErrorClass::ApplicationRecoverable);
    assert_eq!(h.m.state(), TransactionState::FatalError);
    assert!(h.next().is_none());
    assert!(matches!(
        h.m.begin_transaction(),
        Err(TransactionError::Fenced(_))
    ));
}

#[test]
fn a_timed_out_call_can_be_made_again_but_no_other() {
    let mut h = Harness::new(true);
    h.init();
    h.m.begin_transaction().unwrap();
    h.m.add_partitions([tp(0)]).unwrap();
    let op = h.m.begin_commit(false).unwrap();
    assert_eq!(h.m.begin_commit(false).unwrap(), op, "the same outcome");
    assert!(matches!(
        h.m.begin_abort(false),
        Err(TransactionError::PendingOperation {
            operation: "abort_transaction",
            pending: "commit_transaction"
        })
    ));
}

// ------------------------------------------------------------- properties

/// One step a test can take: a call, or an answer to the request in flight.
#[derive(Debug, Clone)]
enum Step {
    Init,
    Begin,
    Add(i32),
    Offsets,
    Commit,
    Abort,
    BatchesDone,
    ProduceFailed(bool),
    Answer(i16),
    Lost,
    Time(u64),
}

fn step() -> impl Strategy<Value = Step> {
    // Mostly successes, so that runs get deep into the state machine.
    let codes = prop_oneof![
        12 => Just(0i16),
        1 => Just(ErrorCode::NOT_COORDINATOR.0),
        1 => Just(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS.0),
        1 => Just(ErrorCode::CONCURRENT_TRANSACTIONS.0),
        1 => Just(ErrorCode::PRODUCER_FENCED.0),
        1 => Just(ErrorCode::INVALID_PRODUCER_EPOCH.0),
        1 => Just(ErrorCode::TRANSACTION_ABORTABLE.0),
        1 => Just(ErrorCode::UNKNOWN_PRODUCER_ID.0),
        1 => Just(ErrorCode::INVALID_TXN_STATE.0),
        1 => Just(ErrorCode::TOPIC_AUTHORIZATION_FAILED.0),
        1 => Just(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED.0),
        1 => Just(999i16),
    ];
    prop_oneof![
        2 => Just(Step::Init),
        3 => Just(Step::Begin),
        3 => (0..3i32).prop_map(Step::Add),
        1 => Just(Step::Offsets),
        2 => Just(Step::Commit),
        2 => Just(Step::Abort),
        3 => Just(Step::BatchesDone),
        1 => any::<bool>().prop_map(Step::ProduceFailed),
        12 => codes.prop_map(Step::Answer),
        1 => Just(Step::Lost),
        3 => (0..300u64).prop_map(Step::Time),
    ]
}

/// A well-formed answer to `request` carrying `code`.
pub(super) fn answer_for(request: &RequestKind, code: i16, epoch: i16) -> ResponseKind {
    match request {
        RequestKind::FindCoordinator(_) => ResponseKind::FindCoordinator(FindCoordinatorResponse {
            error_code: code,
            node_id: 1,
            host: "b1".into(),
            port: 9092,
            ..Default::default()
        }),
        RequestKind::InitProducerId(_) => ResponseKind::InitProducerId(InitProducerIdResponse {
            error_code: code,
            producer_id: 7,
            producer_epoch: epoch,
            ..Default::default()
        }),
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(AddPartitionsToTxnResponse {
                results_by_topic_v3_and_below: r
                    .v3_and_below_topics
                    .iter()
                    .map(|t| AddPartitionsToTxnTopicResult {
                        name: t.name.clone(),
                        results_by_partition: t
                            .partitions
                            .iter()
                            .map(|p| AddPartitionsToTxnPartitionResult {
                                partition_index: *p,
                                partition_error_code: code,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
        }
        RequestKind::AddOffsetsToTxn(_) => {
            ResponseKind::AddOffsetsToTxn(kafka_protocol::generated::AddOffsetsToTxnResponse {
                error_code: code,
                ..Default::default()
            })
        }
        RequestKind::TxnOffsetCommit(r) => {
            use kafka_protocol::generated::txn_offset_commit_response::{
                TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
            };
            ResponseKind::TxnOffsetCommit(kafka_protocol::generated::TxnOffsetCommitResponse {
                topics: r
                    .topics
                    .iter()
                    .map(|t| TxnOffsetCommitResponseTopic {
                        name: t.name.clone(),
                        partitions: t
                            .partitions
                            .iter()
                            .map(|p| TxnOffsetCommitResponsePartition {
                                partition_index: p.partition_index,
                                error_code: code,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
        }
        RequestKind::EndTxn(_) => ResponseKind::EndTxn(EndTxnResponse {
            error_code: code,
            producer_id: 7,
            producer_epoch: epoch,
            ..Default::default()
        }),
        RequestKind::DescribeTransactions(r) => {
            ResponseKind::DescribeTransactions(DescribeTransactionsResponse {
                transaction_states: r
                    .transactional_ids
                    .iter()
                    .map(|id| DescribedState {
                        error_code: code,
                        transactional_id: id.clone(),
                        // Both the answers that keep the wait and those that end it.
                        transaction_state: if epoch % 2 == 0 {
                            "PrepareCommit".into()
                        } else {
                            "CompleteCommit".into()
                        },
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
        }
        other => panic!("the manager sent {:?}", other.api_key()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// No sequence of calls, answers, lost requests and time reaches a
    /// transition outside Java's table (the manager checks each one and a
    /// debug build panics on a bad one), at most one request is in flight,
    /// and a fatal state is never left.
    #[test]
    fn every_transition_is_in_the_table(v2 in any::<bool>(), steps in proptest::collection::vec(step(), 1..80)) {
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
                Step::ProduceFailed(fatal) => {
                    let e = if fatal {
                        ProducerError::Fatal(kafka_producer::FatalError::Fenced(kafka_producer::BrokerError::new(ErrorCode::PRODUCER_FENCED, None)))
                    } else {
                        ProducerError::Broker(kafka_producer::BrokerError::new(ErrorCode::TRANSACTION_ABORTABLE, None))
                    };
                    h.m.produce_failed(&e);
                }
                Step::Answer(code) => {
                    if let Some(t) = in_flight.take() {
                        epoch = epoch.saturating_add(1);
                        let resp = answer_for(&t.request, code, epoch);
                        h.m.handle_response(t.request_id, Ok(Some(resp)), h.now);
                    }
                }
                Step::Lost => {
                    if let Some(t) = in_flight.take() {
                        let f = TransportFailure { message: "lost".into(), connect_failed: false, authentication: false, };
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
            // Checked here, not only by the debug assertion in `transition`
            // (release-mode runs skip it): a move outside the table is
            // caught there and ends in FatalError with this error.
            prop_assert!(
                !matches!(
                    h.m.last_error(),
                    Some(TransactionError::InvalidState { operation: "an internal transition", .. })
                ),
                "a transition outside the table from {:?}",
                before
            );
            if in_flight.is_none() {
                in_flight = h.next();
            } else {
                prop_assert!(h.next().is_none(), "two requests in flight");
            }
            while h.m.poll_event().is_some() {}
            ops.retain(|op| h.m.take_result(*op).is_none());
        }
    }
}
