//! Transactions against a real Apache Kafka (`cargo xtask kafka up`, or
//! `cargo xtask ci`): what `read_committed` and `read_uncommitted` readers
//! see after commits and aborts, fencing, the coordinator's timeout, and
//! offsets committed with a transaction. `KAFKA_VERSION` (written by
//! `kafka up`) tells whether transactions v2 are expected (4.x) or not
//! (3.9).

use std::collections::BTreeSet;
use std::time::Duration;

use kafka_codec::Connection;
use kafka_protocol::generated::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::generated::{FindCoordinatorRequest, OffsetFetchRequest};
use kafka_protocol::messages::ApiKey;
use kafka_testkit::{self as testkit, FetchedRecord, TopicInfo};
use kafka_txn::TopicPartition;
use kafka_txn::{
    ConsumerGroupMetadata, OffsetAndMetadata, TransactionError, TransactionState,
    TransactionalProducer,
};
use kafka_txn::{ErrorClass, ProducerError, ProducerRecord};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn env(key: &str) -> String {
    testkit::cluster_env(ROOT)
        .get(key)
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no Kafka cluster ({key}): run `cargo xtask kafka up` first (or `cargo xtask ci`)"
            )
        })
}

tokio::task_local! {
    /// Set while a test body runs against kafka-fake: its bootstrap address
    /// and whether it plays transactions v2.
    static FAKE: (String, bool);
}

fn bootstrap() -> String {
    FAKE.try_with(|f| f.0.clone())
        .unwrap_or_else(|_| env("KAFKA_BOOTSTRAP"))
}

/// Transactions v2 on this cluster: Kafka 4.x finalizes transaction.version 2.
fn expect_v2() -> bool {
    FAKE.try_with(|f| f.1)
        .unwrap_or_else(|_| !env("KAFKA_VERSION").starts_with('3'))
}

/// Runs a test body against a 3-broker kafka-fake instead of the real
/// cluster: one body, two clusters.
async fn on_fake(transaction_version: i16, body: impl std::future::Future<Output = ()>) {
    let fake = kafka_fake::FakeCluster::builder()
        .brokers(3)
        .transaction_version(transaction_version)
        .start()
        .await
        .expect("fake cluster");
    FAKE.scope((fake.bootstrap(), transaction_version >= 2), body)
        .await
}

async fn admin() -> Connection {
    testkit::connect(bootstrap().split(',').next().unwrap())
        .await
        .expect("connect")
}

async fn new_topic(prefix: &str, partitions: i32) -> (String, TopicInfo) {
    let name = testkit::unique_topic(prefix);
    let info = testkit::create_topic(&admin().await, &name, partitions, 1)
        .await
        .expect("create topic");
    (name, info)
}

/// Every partition of `topic`, as a reader at that isolation level sees it.
async fn read(topic: &str, info: &TopicInfo, read_committed: bool) -> Vec<FetchedRecord> {
    let mut out = Vec::new();
    for (p, leader) in info.leaders.iter().enumerate() {
        let conn = testkit::connect(leader).await.unwrap();
        out.extend(
            testkit::fetch_partition_isolated(&conn, topic, info, p as i32, read_committed)
                .await
                .unwrap_or_else(|e| panic!("fetch {topic}-{p}: {e}")),
        );
    }
    out
}

/// What a read_committed reader sees once the commit markers are written:
/// EndTxn returns when the coordinator decided, the markers follow, and
/// until a partition's marker lands its records sit above the last stable
/// offset. Reads again (up to 10 s) until `expected` shows; the caller
/// compares.
async fn committed_values(
    topic: &str,
    info: &TopicInfo,
    expected: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut seen = values(&read(topic, info, true).await);
    for _ in 0..50 {
        if seen == *expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        seen = values(&read(topic, info, true).await);
    }
    seen
}

fn values(records: &[FetchedRecord]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

fn producer(id: &str, extra: &[(&str, &str)]) -> TransactionalProducer {
    let mut props = vec![
        ("bootstrap.servers".to_string(), bootstrap()),
        ("transactional.id".to_string(), id.to_string()),
        ("linger.ms".to_string(), "5".to_string()),
        ("max.block.ms".to_string(), "30000".to_string()),
    ];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    TransactionalProducer::from_properties(props).expect("producer")
}

async fn send_all(
    p: &TransactionalProducer,
    topic: &str,
    values: impl IntoIterator<Item = String>,
) -> Vec<kafka_txn::DeliveryFuture> {
    let mut out = Vec::new();
    for v in values {
        out.push(
            p.send(ProducerRecord::new(topic).key(v.clone()).value(v))
                .await
                .expect("send"),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_records_are_visible_to_read_committed_and_aborted_ones_are_not() {
    committed_records_are_visible_to_read_committed_and_aborted_ones_are_not_body().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_records_are_visible_to_read_committed_and_aborted_ones_are_not_on_kafka_fake() {
    on_fake(
        2,
        committed_records_are_visible_to_read_committed_and_aborted_ones_are_not_body(),
    )
    .await;
    on_fake(
        1,
        committed_records_are_visible_to_read_committed_and_aborted_ones_are_not_body(),
    )
    .await;
}

async fn committed_records_are_visible_to_read_committed_and_aborted_ones_are_not_body() {
    let (topic, info) = new_topic("txn-basic", 3).await;
    let p = producer(&testkit::unique_topic("tid-basic"), &[]);
    p.init_transactions().await.expect("init");
    assert_eq!(p.state(), TransactionState::Ready);
    assert_eq!(
        p.transaction_client().is_v2(),
        expect_v2(),
        "transactions v2 on this cluster"
    );

    p.begin_transaction().unwrap();
    let committed = send_all(&p, &topic, (0..50).map(|n| format!("c{n}"))).await;
    p.commit_transaction().await.expect("commit");
    for d in committed {
        let md = d.await.expect("committed record acknowledged");
        assert!(md.offset >= 0);
    }

    p.begin_transaction().unwrap();
    let aborted = send_all(&p, &topic, (0..30).map(|n| format!("a{n}"))).await;
    p.flush().await.unwrap();
    p.abort_transaction().await.expect("abort");
    for d in aborted {
        // Written (acknowledged) before the abort: offsets exist, the
        // records are marked aborted by the abort marker.
        d.await.expect("sent before the abort");
    }

    // A third transaction after the abort commits again.
    p.begin_transaction().unwrap();
    send_all(&p, &topic, (50..60).map(|n| format!("c{n}"))).await;
    p.commit_transaction().await.expect("commit after abort");

    let expected: BTreeSet<String> = (0..60).map(|n| format!("c{n}")).collect();
    assert_eq!(
        committed_values(&topic, &info, &expected).await,
        expected,
        "read_committed"
    );
    let all = read(&topic, &info, false).await;
    assert_eq!(
        all.len(),
        90,
        "read_uncommitted sees the aborted records too"
    );
    assert!(all.iter().all(|r| r.transactional));
    p.close(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsent_records_of_an_aborted_transaction_fail_as_aborted() {
    let (topic, info) = new_topic("txn-abort-unsent", 1).await;
    // A long linger: the records are still in the accumulator at the abort.
    let p = producer(
        &testkit::unique_topic("tid-unsent"),
        &[("linger.ms", "60000"), ("batch.size", "1000000")],
    );
    p.init_transactions().await.unwrap();
    p.begin_transaction().unwrap();
    let pending = send_all(&p, &topic, (0..10).map(|n| format!("x{n}"))).await;
    p.abort_transaction().await.expect("abort");
    for d in pending {
        let e = d.await.expect_err("never sent");
        assert!(matches!(e, ProducerError::TransactionAborted), "{e}");
    }
    assert!(
        read(&topic, &info, false).await.is_empty(),
        "nothing was written"
    );
    assert!(matches!(
        p.send(ProducerRecord::new(&topic).value("late")).await,
        Err(TransactionError::InvalidState {
            operation: "send",
            state: TransactionState::Ready
        })
    ));
    p.close(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_transaction_over_three_topics_is_all_or_nothing() {
    one_transaction_over_three_topics_is_all_or_nothing_body().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_transaction_over_three_topics_is_all_or_nothing_on_kafka_fake() {
    on_fake(
        2,
        one_transaction_over_three_topics_is_all_or_nothing_body(),
    )
    .await;
    on_fake(
        1,
        one_transaction_over_three_topics_is_all_or_nothing_body(),
    )
    .await;
}

async fn one_transaction_over_three_topics_is_all_or_nothing_body() {
    let mut topics = Vec::new();
    for n in 0..3 {
        topics.push(new_topic(&format!("txn-multi-{n}"), 4).await);
    }
    let p = producer(&testkit::unique_topic("tid-multi"), &[]);
    p.init_transactions().await.unwrap();
    for (round, commit) in [(0, false), (1, true), (2, false), (3, true)] {
        p.begin_transaction().unwrap();
        for (t, _) in &topics {
            send_all(&p, t, (0..40).map(|n| format!("r{round}-{n}"))).await;
        }
        if commit {
            p.commit_transaction().await.unwrap();
        } else {
            p.flush().await.unwrap();
            p.abort_transaction().await.unwrap();
        }
    }
    for (t, info) in &topics {
        let expected: BTreeSet<String> = [1, 3]
            .iter()
            .flat_map(|r| (0..40).map(move |n| format!("r{r}-{n}")))
            .collect();
        let seen = committed_values(t, info, &expected).await;
        assert_eq!(seen, expected, "{t}");
        assert_eq!(
            read(t, info, false).await.len(),
            160,
            "{t}: every round was written"
        );
    }
    p.close(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_with_the_same_id_fences_the_first() {
    a_second_producer_with_the_same_id_fences_the_first_body().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_with_the_same_id_fences_the_first_on_kafka_fake() {
    on_fake(
        2,
        a_second_producer_with_the_same_id_fences_the_first_body(),
    )
    .await;
    on_fake(
        1,
        a_second_producer_with_the_same_id_fences_the_first_body(),
    )
    .await;
}

async fn a_second_producer_with_the_same_id_fences_the_first_body() {
    let (topic, info) = new_topic("txn-fence", 2).await;
    let id = testkit::unique_topic("tid-fence");
    let first = producer(&id, &[]);
    first.init_transactions().await.unwrap();
    first.begin_transaction().unwrap();
    send_all(&first, &topic, (0..20).map(|n| format!("zombie{n}"))).await;
    first.flush().await.unwrap();

    // The new instance takes over: its init aborts the open transaction.
    let second = producer(&id, &[]);
    second.init_transactions().await.unwrap();

    let e = first
        .commit_transaction()
        .await
        .expect_err("the zombie cannot commit");
    assert_eq!(e.class(), ErrorClass::ApplicationRecoverable, "{e}");
    assert!(matches!(e, TransactionError::Fenced(_)), "{e}");
    assert_eq!(first.state(), TransactionState::FatalError);

    second.begin_transaction().unwrap();
    send_all(&second, &topic, (0..5).map(|n| format!("live{n}"))).await;
    second.commit_transaction().await.unwrap();
    let live: BTreeSet<String> = (0..5).map(|n| format!("live{n}")).collect();
    assert_eq!(
        committed_values(&topic, &info, &live).await,
        live,
        "nothing of the fenced transaction"
    );
    first.close(Duration::from_secs(5)).await;
    second.close(Duration::from_secs(10)).await;
}

/// With transactions v2 (Kafka 4.x) the producer recovers in place: the
/// abort finds the transaction already aborted and the broker hands out the
/// next epoch. Without them (Kafka 3.9) the coordinator's abort fenced the
/// producer's epoch for good (it forgets the previous epoch, so neither
/// EndTxn nor an epoch bump with it is accepted): the abort reports fencing,
/// and a new producer with the same transactional id goes on. That is
/// Kafka's own behaviour, the "fenced with a single instance" complaint
/// about transaction timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_past_its_timeout_is_aborted_and_the_producer_recovers() {
    a_transaction_past_its_timeout_is_aborted_and_the_producer_recovers_body().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_past_its_timeout_is_aborted_and_the_producer_recovers_on_kafka_fake() {
    on_fake(
        2,
        a_transaction_past_its_timeout_is_aborted_and_the_producer_recovers_body(),
    )
    .await;
    on_fake(
        1,
        a_transaction_past_its_timeout_is_aborted_and_the_producer_recovers_body(),
    )
    .await;
}

async fn a_transaction_past_its_timeout_is_aborted_and_the_producer_recovers_body() {
    let (topic, info) = new_topic("txn-timeout", 1).await;
    let id = testkit::unique_topic("tid-timeout");
    let mut p = producer(&id, &[("transaction.timeout.ms", "2000")]);
    p.init_transactions().await.unwrap();
    p.begin_transaction().unwrap();
    send_all(&p, &topic, ["early".to_string()]).await;
    p.flush().await.unwrap();
    // The coordinator aborts it: Kafka's check runs every few seconds, the
    // fake's at its next request after the timeout.
    let wait = if FAKE.try_with(|_| ()).is_ok() { 3 } else { 12 };
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let late = p
        .send(ProducerRecord::new(&topic).value("late"))
        .await
        .unwrap();
    let e = late
        .await
        .expect_err("the coordinator aborted the transaction");
    assert!(
        matches!(p.state(), TransactionState::AbortableError),
        "{e}: {:?}",
        p.state()
    );
    let commit = p.commit_transaction().await.expect_err("cannot commit");
    assert_eq!(commit.class(), ErrorClass::Abortable, "{commit}");
    if expect_v2() {
        p.abort_transaction().await.expect("abort recovers");
    } else {
        let e = p
            .abort_transaction()
            .await
            .expect_err("fenced by the coordinator's abort");
        assert_eq!(e.class(), ErrorClass::ApplicationRecoverable, "{e}");
        p.close(Duration::from_secs(5)).await;
        p = producer(&id, &[("transaction.timeout.ms", "2000")]);
        p.init_transactions()
            .await
            .expect("a new producer takes over");
    }
    p.begin_transaction().unwrap();
    send_all(&p, &topic, ["after".to_string()]).await;
    p.commit_transaction()
        .await
        .expect("a new transaction commits");
    let after = BTreeSet::from(["after".to_string()]);
    assert_eq!(committed_values(&topic, &info, &after).await, after);
    p.close(Duration::from_secs(10)).await;
}

/// Counts the outcomes an interceptor sees.
#[derive(Debug, Default)]
struct CountAcks(std::sync::atomic::AtomicUsize);

impl kafka_txn::ProducerInterceptor for CountAcks {
    fn on_acknowledgement(&self, _: &str, _: Result<&kafka_txn::RecordMetadata, &ProducerError>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Every record without a partition goes to the last one, and a record
/// valued "boom" makes the partitioner panic.
#[derive(Debug)]
struct LastPartition;

impl kafka_txn::Partitioner for LastPartition {
    fn partition(&self, _: &str, _: Option<&[u8]>, value: Option<&[u8]>, n: i32) -> Option<i32> {
        assert!(
            value != Some(b"boom".as_slice()),
            "the partitioner panicked"
        );
        Some(n - 1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_try_send_and_a_partitioner_in_a_transaction() {
    callbacks_try_send_and_a_partitioner_in_a_transaction_body().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_try_send_and_a_partitioner_in_a_transaction_on_kafka_fake() {
    on_fake(
        2,
        callbacks_try_send_and_a_partitioner_in_a_transaction_body(),
    )
    .await;
    on_fake(
        1,
        callbacks_try_send_and_a_partitioner_in_a_transaction_body(),
    )
    .await;
}

/// What `Producer` offers besides `send`, on the transactional producer:
/// callbacks (each called once, with the offset the record holds once
/// committed), `try_send`, interceptors, and a custom partitioner whose
/// panic fails its record alone and leaves the transaction to commit.
async fn callbacks_try_send_and_a_partitioner_in_a_transaction_body() {
    let (topic, info) = new_topic("txn-hooks", 3).await;
    let acknowledged = std::sync::Arc::new(CountAcks::default());
    let config = kafka_producer::ProducerConfig::builder()
        .bootstrap_servers(bootstrap())
        .property("transactional.id", testkit::unique_topic("tid-hooks"))
        .property("linger.ms", "5")
        .interceptor(acknowledged.clone())
        .build()
        .unwrap();
    let p =
        TransactionalProducer::with_partitioner(config, Some(std::sync::Arc::new(LastPartition)))
            .unwrap();
    p.init_transactions().await.unwrap();
    assert!(
        p.try_send(ProducerRecord::new(&topic).value("early"))
            .is_err(),
        "no record outside a transaction"
    );
    p.begin_transaction().unwrap();
    let called = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for n in 0..20 {
        let called = called.clone();
        p.send_with_callback(
            ProducerRecord::new(&topic).value(format!("cb{n}")),
            move |outcome| called.lock().unwrap().push((n, outcome)),
        )
        .await
        .unwrap();
    }
    let tried = p
        .try_send(ProducerRecord::new(&topic).value("tried"))
        .unwrap();
    // The partitioner's panic fails that record's delivery, and nothing else.
    let boom = p
        .send(ProducerRecord::new(&topic).value("boom"))
        .await
        .expect("queued")
        .await;
    assert!(
        matches!(boom, Err(ProducerError::UserCodePanicked { .. })),
        "{boom:?}"
    );
    p.commit_transaction()
        .await
        .expect("the panic failed one record only");
    let md = tried.await.expect("try_send delivered");
    assert_eq!(md.partition, 2, "the partitioner chose");
    let called = std::mem::take(&mut *called.lock().unwrap());
    assert_eq!(called.len(), 20, "one callback per record");
    for (n, outcome) in called.iter() {
        let md = outcome.as_ref().unwrap_or_else(|e| panic!("cb{n}: {e}"));
        assert_eq!(md.partition, 2);
    }
    // The interceptor saw every outcome: the refused early record, 20
    // callbacks, try_send, the panic.
    assert_eq!(
        acknowledged.0.load(std::sync::atomic::Ordering::Relaxed),
        23
    );
    let mut want: BTreeSet<String> = (0..20).map(|n| format!("cb{n}")).collect();
    want.insert("tried".to_string());
    assert_eq!(committed_values(&topic, &info, &want).await, want);
    p.close(Duration::from_secs(10)).await;
}

/// The committed offset of `group` for `topic`-0, through OffsetFetch at
/// the group coordinator.
async fn committed_offset(group: &str, topic: &str) -> i64 {
    let admin = admin().await;
    // v3: one key (v4 and later batch them).
    let fc = admin
        .send_version(
            &FindCoordinatorRequest {
                key: group.to_string().into(),
                key_type: 0,
                ..Default::default()
            },
            3,
        )
        .await
        .unwrap();
    let addr = format!("{}:{}", fc.host, fc.port);
    let conn = testkit::connect(&addr).await.unwrap();
    // v8+: groups (both Kafka 3.9 and 4.x speak it).
    let req = OffsetFetchRequest {
        groups: vec![OffsetFetchRequestGroup {
            group_id: group.to_string().into(),
            topics: Some(vec![OffsetFetchRequestTopics {
                name: topic.to_string().into(),
                partition_indexes: vec![0],
                ..Default::default()
            }]),
            ..Default::default()
        }],
        require_stable: true,
        ..Default::default()
    };
    // With require_stable, a transactional commit whose marker has not
    // landed yet answers UNSTABLE_OFFSET_COMMIT: ask again (10 s at most).
    // v10 (KIP-848) names topics by id only; this asks by name.
    let version = conn
        .versions()
        .negotiate_at_most(ApiKey::OffsetFetch, Some(9))
        .unwrap();
    for _ in 0..100 {
        let resp = conn.send_version(&req, version).await.unwrap();
        let group = resp.groups.first();
        let partition = group
            .and_then(|g| g.topics.first())
            .and_then(|t| t.partitions.first());
        let unstable = group.is_some_and(|g| g.error_code == 88)
            || partition.is_some_and(|p| p.error_code == 88);
        if !unstable {
            return partition.map_or(-1, |p| p.committed_offset);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the offsets of {group} stayed unstable for 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_commit_with_the_transaction_and_not_with_an_abort() {
    offsets_commit_with_the_transaction_and_not_with_an_abort_body().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_commit_with_the_transaction_and_not_with_an_abort_on_kafka_fake() {
    on_fake(
        2,
        offsets_commit_with_the_transaction_and_not_with_an_abort_body(),
    )
    .await;
    on_fake(
        1,
        offsets_commit_with_the_transaction_and_not_with_an_abort_body(),
    )
    .await;
}

async fn offsets_commit_with_the_transaction_and_not_with_an_abort_body() {
    let (out, _) = new_topic("txn-offsets-out", 1).await;
    let (input, _) = new_topic("txn-offsets-in", 1).await;
    let group = ConsumerGroupMetadata::new(testkit::unique_topic("group"));
    let p = producer(&testkit::unique_topic("tid-offsets"), &[]);
    p.init_transactions().await.unwrap();
    let tp = TopicPartition {
        topic: input.as_str().into(),
        partition: 0,
    };

    p.begin_transaction().unwrap();
    send_all(&p, &out, ["one".to_string()]).await;
    p.send_offsets_to_transaction([(tp.clone(), OffsetAndMetadata::new(42))], &group)
        .await
        .expect("offsets");
    p.commit_transaction().await.unwrap();
    assert_eq!(committed_offset(&group.group_id, &input).await, 42);

    p.begin_transaction().unwrap();
    send_all(&p, &out, ["two".to_string()]).await;
    p.send_offsets_to_transaction([(tp, OffsetAndMetadata::new(99))], &group)
        .await
        .unwrap();
    p.flush().await.unwrap();
    p.abort_transaction().await.unwrap();
    assert_eq!(
        committed_offset(&group.group_id, &input).await,
        42,
        "unchanged by the abort"
    );
    p.close(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkas_console_consumer_reads_only_committed_records() {
    let (topic, _) = new_topic("txn-console", 1).await;
    let p = producer(&testkit::unique_topic("tid-console"), &[]);
    p.init_transactions().await.unwrap();
    p.begin_transaction().unwrap();
    send_all(&p, &topic, ["aborted".to_string()]).await;
    p.flush().await.unwrap();
    p.abort_transaction().await.unwrap();
    p.begin_transaction().unwrap();
    send_all(&p, &topic, ["kept".to_string()]).await;
    p.commit_transaction().await.unwrap();
    p.close(Duration::from_secs(10)).await;
    let libs = env("KAFKA_LIBS");
    let lines = tokio::task::spawn_blocking(move || {
        testkit::console_consumer_with(
            &libs,
            &bootstrap(),
            &topic,
            1,
            false,
            &["--isolation-level", "read_committed"],
        )
    })
    .await
    .unwrap()
    .expect("console consumer");
    assert_eq!(lines, ["kept\tkept"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_the_wrong_state_name_it() {
    let p = producer(&testkit::unique_topic("tid-states"), &[]);
    assert!(matches!(
        p.begin_transaction(),
        Err(TransactionError::InvalidState {
            operation: "begin_transaction",
            state: TransactionState::Uninitialized
        })
    ));
    assert!(matches!(
        p.commit_transaction().await,
        Err(TransactionError::InvalidState {
            state: TransactionState::Uninitialized,
            ..
        })
    ));
    p.init_transactions().await.unwrap();
    assert!(matches!(
        p.init_transactions().await,
        Err(TransactionError::InvalidState {
            operation: "init_transactions",
            state: TransactionState::Ready
        })
    ));
    p.begin_transaction().unwrap();
    let e = p.begin_transaction().unwrap_err();
    assert_eq!(
        e.to_string(),
        "begin_transaction is not allowed while the producer is in a transaction"
    );
    // Nothing was sent: commit and abort end it without a request.
    p.commit_transaction().await.unwrap();
    p.begin_transaction().unwrap();
    p.abort_transaction().await.unwrap();
    p.close(Duration::from_secs(5)).await;
}

/// Two-phase commit's client side (KIP-939): prepare flushes and holds the
/// transaction; complete commits it when handed the state prepare gave,
/// else aborts it. (Kafka 4.4.0 advertises InitProducerId up to v5, so the
/// broker does not know the transaction is prepared: it still times out
/// after transaction.timeout.ms.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_transaction_completes_as_its_state_says() {
    let (topic, info) = new_topic("txn-2pc", 1).await;
    let p = producer(
        &testkit::unique_topic("tid-2pc"),
        &[("transaction.two.phase.commit.enable", "true")],
    );
    p.init_transactions().await.unwrap();
    p.begin_transaction().unwrap();
    send_all(&p, &topic, ["prepared-1".to_string()]).await;
    let prepared = p.prepare_transaction().await.expect("prepare");
    assert_eq!(p.state(), TransactionState::PreparedTransaction);
    assert!(matches!(
        p.send(ProducerRecord::new(&topic).value("x")).await,
        Err(TransactionError::InvalidState {
            state: TransactionState::PreparedTransaction,
            ..
        })
    ));
    let text = prepared.to_string();
    p.complete_transaction(text.parse().unwrap())
        .await
        .expect("complete: commit");

    p.begin_transaction().unwrap();
    send_all(&p, &topic, ["prepared-2".to_string()]).await;
    p.prepare_transaction().await.unwrap();
    // Another state (say, what a crashed instance had prepared): abort.
    p.complete_transaction(kafka_txn::PreparedTxnState(None))
        .await
        .expect("complete: abort");
    let prepared = BTreeSet::from(["prepared-1".to_string()]);
    assert_eq!(committed_values(&topic, &info, &prepared).await, prepared);
    // Without the setting, prepare is refused.
    let q = producer(&testkit::unique_topic("tid-no2pc"), &[]);
    q.init_transactions().await.unwrap();
    q.begin_transaction().unwrap();
    assert!(matches!(
        q.prepare_transaction().await,
        Err(TransactionError::InvalidArgument(_))
    ));
    p.close(Duration::from_secs(5)).await;
    q.close(Duration::from_secs(5)).await;
}
