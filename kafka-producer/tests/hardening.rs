//! Nothing the application's code does, and nothing that ends the I/O
//! task, silently stops the producer: against a real Apache Kafka
//! (`cargo xtask kafka up`; `cargo xtask ci` starts one).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use kafka_producer::partitioner::Partitioner;
use kafka_producer::{Producer, ProducerConfig, ProducerError, ProducerRecord, UserHook};
use kafka_testkit::{self as testkit, TopicInfo};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Every call that must not hang gets this long.
const BOUND: Duration = Duration::from_secs(20);

fn bootstrap() -> String {
    testkit::cluster_env(ROOT)
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("no Kafka cluster: run `cargo xtask kafka up` first (or `cargo xtask ci`)")
}

async fn new_topic(prefix: &str, partitions: i32) -> (String, TopicInfo) {
    let b = bootstrap();
    let admin = testkit::connect(b.split(',').next().unwrap())
        .await
        .expect("connect");
    let name = testkit::unique_topic(prefix);
    let info = testkit::create_topic(&admin, &name, partitions, 1)
        .await
        .expect("create topic");
    (name, info)
}

/// How many records the topic's log holds.
async fn count(topic: &str, info: &TopicInfo) -> usize {
    let mut n = 0;
    for (p, leader) in info.leaders.iter().enumerate() {
        let conn = testkit::connect(leader).await.unwrap();
        n += testkit::fetch_partition(&conn, topic, info, p as i32)
            .await
            .unwrap_or_else(|e| panic!("fetch {topic}-{p}: {e}"))
            .len();
    }
    n
}

fn config(props: &[(&str, &str)]) -> ProducerConfig {
    let b = bootstrap();
    let mut all: Vec<(&str, &str)> = vec![("bootstrap.servers", b.as_str())];
    all.extend_from_slice(props);
    ProducerConfig::from_properties(all).expect("valid producer config")
}

async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return within {BOUND:?}"))
}

/// Sends `n` records and checks every one is delivered.
async fn all_delivered(producer: &Producer, topic: &str, n: usize) {
    let mut deliveries = Vec::with_capacity(n);
    for i in 0..n {
        let record = ProducerRecord::new(topic)
            .key(format!("k{}", i % 17))
            .value(format!("v{i}"));
        deliveries.push(bounded("send", producer.send(record)).await.expect("send"));
    }
    for (i, d) in deliveries.into_iter().enumerate() {
        bounded("a delivery", d)
            .await
            .unwrap_or_else(|e| panic!("record {i} not delivered: {e}"));
    }
}

/// Sends one record and flushes it out (whatever linger.ms is).
async fn deliver_one(producer: &Producer, topic: &str) {
    let d = producer
        .send(ProducerRecord::new(topic).value("one"))
        .await
        .unwrap();
    bounded("flush", producer.flush()).await.unwrap();
    bounded("delivery", d).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_callback_affects_only_itself() {
    let (topic, info) = new_topic("panicking-callback", 3).await;
    let producer = Producer::new(config(&[("linger.ms", "5")])).unwrap();
    producer
        .send_with_callback(ProducerRecord::new(&*topic).value("first"), |_| {
            panic!("the application's callback panics")
        })
        .await
        .unwrap();
    all_delivered(&producer, &topic, 1000).await;
    // And later ones too, after the panic surely ran.
    bounded("flush", producer.flush()).await.unwrap();
    all_delivered(&producer, &topic, 10).await;
    bounded("close", producer.close(Duration::from_secs(10))).await;
    assert_eq!(count(&topic, &info).await, 1011);
}

/// Panics for key "boom"; calls the producer for key "reenter"; hashes
/// other keys to a partition.
#[derive(Debug, Default)]
struct Unruly {
    producer: OnceLock<Producer>,
    reentered: AtomicUsize,
}

impl Partitioner for Unruly {
    fn partition(&self, topic: &str, key: Option<&[u8]>, _: Option<&[u8]>, n: i32) -> Option<i32> {
        match key {
            Some(b"boom") => panic!("the application's partitioner panics"),
            Some(b"reenter") => {
                // A partitioner that calls the producer: no lock of the
                // producer's is held, so this neither deadlocks nor hangs.
                let p = self.producer.get().expect("set");
                let record = ProducerRecord::new(topic)
                    .key("plain")
                    .value("from the partitioner");
                drop(p.try_send(record).expect("try_send inside the partitioner"));
                self.reentered.fetch_add(1, Ordering::SeqCst);
                Some(0)
            }
            Some(k) => Some(k.iter().map(|b| i32::from(*b)).sum::<i32>() % n),
            None => None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_partitioner_fails_its_record_alone() {
    let (topic, info) = new_topic("panicking-partitioner", 3).await;
    let unruly = Arc::new(Unruly::default());
    let producer =
        Producer::with_partitioner(config(&[("linger.ms", "5")]), Some(unruly.clone())).unwrap();
    unruly.producer.set(producer.clone()).unwrap();
    // The first record of the topic waits for its metadata, so the I/O task
    // asks the partitioner for it; later ones are asked in `send`.
    for (round, _) in ["waiting for metadata", "metadata known"]
        .iter()
        .enumerate()
    {
        let boom = bounded(
            "send",
            producer.send(ProducerRecord::new(&*topic).key("boom").value("x")),
        )
        .await
        .expect("the send itself is accepted");
        match bounded("the panicking record's delivery", boom).await {
            Err(ProducerError::UserCodePanicked {
                hook: UserHook::Partitioner,
                message,
            }) => assert!(message.contains("panics"), "{message}"),
            other => panic!("round {round}: expected the partitioner's panic, got {other:?}"),
        }
        let reenter = producer
            .send(ProducerRecord::new(&*topic).key("reenter").value("y"))
            .await
            .unwrap();
        assert_eq!(
            bounded("reentrant delivery", reenter)
                .await
                .unwrap()
                .partition,
            0
        );
        all_delivered(&producer, &topic, 500).await;
    }
    bounded("flush", producer.flush()).await.unwrap();
    assert_eq!(unruly.reentered.load(Ordering::SeqCst), 2);
    bounded("close", producer.close(Duration::from_secs(10))).await;
    // 2 x (reenter + the record it sent + 500); the panicking ones are not written.
    assert_eq!(count(&topic, &info).await, 2 * 502);
}

/// Polls a future once, as a blocking executor inside a callback would.
fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
    let mut f = std::pin::pin!(f);
    f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_may_call_the_producer() {
    let (topic, info) = new_topic("callback-calls", 1).await;
    let producer = Producer::new(config(&[("linger.ms", "5")])).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (p, t, s) = (producer.clone(), topic.clone(), seen.clone());
    producer
        .send_with_callback(
            ProducerRecord::new(&*topic).value("first"),
            move |outcome| {
                outcome.expect("delivered");
                let mut seen = s.lock().unwrap();
                // A record sent from the callback is taken.
                seen.push(format!(
                    "{:?}",
                    p.try_send(ProducerRecord::new(&*t).value("second")).is_ok()
                ));
                // What would wait for the task running this callback fails at once.
                seen.push(format!("{:?}", poll_once(p.flush())));
                seen.push(format!(
                    "{:?}",
                    poll_once(p.metrics()).map(|m| m.map(|_| ()))
                ));
            },
        )
        .await
        .unwrap();
    bounded("flush", producer.flush()).await.unwrap();
    bounded("flush", producer.flush()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0], "true");
    assert!(
        seen[1].contains("CalledFromCallback(\"flush\")"),
        "{seen:?}"
    );
    assert!(
        seen[2].contains("CalledFromCallback(\"metrics\")"),
        "{seen:?}"
    );
    bounded("close", producer.close(Duration::from_secs(10))).await;
    assert_eq!(count(&topic, &info).await, 2);
}

/// After the I/O task is gone, every call returns an error within a bound
/// and every record pending then has failed.
async fn every_call_fails(
    producer: &Producer,
    topic: &str,
    pending: Vec<kafka_producer::DeliveryFuture>,
) {
    let stopped = |e: &ProducerError| matches!(e, ProducerError::IoTaskStopped(_));
    for d in pending {
        let e = bounded("a pending delivery", d).await.unwrap_err();
        assert!(stopped(&e), "{e:?}");
    }
    let e = bounded(
        "send",
        producer.send(ProducerRecord::new(topic).value("late")),
    )
    .await
    .unwrap_err();
    assert!(stopped(&e), "{e:?}");
    let e = producer
        .try_send(ProducerRecord::new(topic).value("late"))
        .unwrap_err();
    assert!(stopped(&e), "{e:?}");
    let e = bounded("flush", producer.flush()).await.unwrap_err();
    assert!(stopped(&e), "{e:?}");
    let e = bounded("metrics", producer.metrics()).await.unwrap_err();
    assert!(stopped(&e), "{e:?}");
    bounded("close", producer.close(Duration::from_secs(60))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_io_task_stops_the_producer_loudly() {
    let (topic, _) = new_topic("io-task-panics", 1).await;
    let producer = Producer::new(config(&[("linger.ms", "60000")])).unwrap();
    deliver_one(&producer, &topic).await;
    let mut pending = Vec::new();
    for i in 0..100 {
        pending.push(
            producer
                .send(ProducerRecord::new(&*topic).value(format!("{i}")))
                .await
                .unwrap(),
        );
    }
    producer.panic_io_task_for_tests();
    every_call_fails(&producer, &topic, pending).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_shut_down_stops_the_producer_loudly() {
    let (topic, _) = new_topic("io-runtime-gone", 1).await;
    let t = topic.clone();
    // The producer lives on a runtime of its own, which is then shut down.
    let (producer, pending) = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let out = rt.block_on(async {
            let producer = Producer::new(config(&[("linger.ms", "60000")])).unwrap();
            let mut pending = Vec::new();
            for i in 0..100 {
                pending.push(
                    producer
                        .send(ProducerRecord::new(&*t).value(format!("{i}")))
                        .await
                        .unwrap(),
                );
            }
            (producer, pending)
        });
        drop(rt);
        out
    })
    .join()
    .unwrap();
    every_call_fails(&producer, &topic, pending).await;
}

/// A close whose timeout passed writes nothing more: records it failed
/// with `Closed` must not reach the log (a caller re-sending them would
/// write duplicates). Ten lingering batches of one request each, so that
/// several requests would be handed to the connection at the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_close_writes_nothing_it_failed() {
    for round in 0..5 {
        let (topic, info) = new_topic("forced-close", 10).await;
        let producer = Producer::new(config(&[
            ("linger.ms", "30000"),
            ("max.request.size", "1500"),
        ]))
        .unwrap();
        deliver_one(&producer, &topic).await;
        let mut pending = Vec::new();
        for i in 0..100 {
            let record = ProducerRecord::new(&*topic)
                .partition(i % 10)
                .value(vec![b'x'; 100]);
            pending.push(producer.send(record).await.unwrap());
        }
        bounded("close", producer.close(Duration::ZERO)).await;
        for d in pending {
            assert!(matches!(
                bounded("delivery", d).await,
                Err(ProducerError::Closed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            count(&topic, &info).await,
            1,
            "round {round}: only the record delivered before"
        );
    }
}

/// A record that waits for buffer memory makes lingering batches ready at
/// once (Java: "someone waits for memory"), even when the memory free is
/// more than a batch but less than the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_record_waiting_for_memory_sends_lingering_batches() {
    let (topic, info) = new_topic("memory-pressure", 10).await;
    let producer = Producer::new(config(&[
        ("buffer.memory", "100000"),
        ("batch.size", "16384"),
        ("linger.ms", "60000"),
        ("max.block.ms", "3000"),
    ]))
    .unwrap();
    deliver_one(&producer, &topic).await;
    // Five lingering batches, each holding a whole batch buffer (records of
    // 2,000 bytes: a crowded producer's right-sized batches hold eight).
    let mut pending = Vec::new();
    for p in 0..5 {
        let record = ProducerRecord::new(&*topic)
            .partition(p)
            .value(vec![b'x'; 2000]);
        pending.push(producer.send(record).await.unwrap());
    }
    let held = producer.buffered_bytes();
    assert!(
        (5 * 16_384..100_000 - 16_384).contains(&held),
        "five batch buffers are held, more than a batch is free: {held}"
    );
    // The I/O task goes to sleep until the batches' linger ends.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let large = ProducerRecord::new(&*topic)
        .partition(0)
        .value(vec![b'y'; 30_000]);
    let large = bounded("send", producer.send(large))
        .await
        .expect("memory comes back from the lingering batches within max.block.ms");
    bounded("delivery", large).await.unwrap();
    for d in pending {
        bounded("delivery", d).await.unwrap();
    }
    bounded("close", producer.close(Duration::from_secs(10))).await;
    assert_eq!(count(&topic, &info).await, 7);
}

/// More partitions than `buffer.memory` holds full batch buffers for:
/// batches are right-sized, so fifty lingering batches of small records fit
/// in 100,000 bytes and no send waits for memory (Java's 16 KiB per batch
/// would need 800 KiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_partitions_get_right_sized_batches() {
    let (topic, info) = new_topic("right-sized", 50).await;
    let producer = Producer::new(config(&[
        ("buffer.memory", "100000"),
        ("batch.size", "16384"),
        ("linger.ms", "60000"),
        ("max.block.ms", "3000"),
    ]))
    .unwrap();
    deliver_one(&producer, &topic).await;
    let mut pending = Vec::new();
    for p in 0..50 {
        let record = ProducerRecord::new(&*topic).partition(p).value("small");
        pending.push(producer.send(record).await.unwrap());
    }
    let held = producer.buffered_bytes();
    assert!(held < 50_000, "fifty small batches hold {held} bytes");
    let metrics = producer.metrics().await.unwrap();
    assert_eq!(
        metrics.producer.get("bufferpool-wait-time-ns-total"),
        Some(&0.0),
        "a send waited for buffer memory"
    );
    bounded("flush", producer.flush()).await.unwrap();
    for d in pending {
        bounded("delivery", d).await.unwrap();
    }
    bounded("close", producer.close(Duration::from_secs(10))).await;
    assert_eq!(count(&topic, &info).await, 51);
}

/// `buffer.memory` bounds the batch buffers, not only the records' bytes:
/// keyed records over many partitions open a batch buffer each, and a
/// send waits (then fails after max.block.ms) once the buffers use it up,
/// although the records themselves are small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffer_memory_bounds_the_batch_buffers() {
    let (topic, _) = new_topic("memory-bound", 20).await;
    let producer = Producer::new(config(&[
        ("buffer.memory", "100000"),
        ("batch.size", "16384"),
        ("linger.ms", "60000"),
        ("max.block.ms", "500"),
    ]))
    .unwrap();
    deliver_one(&producer, &topic).await;
    let mut pending = Vec::new();
    let mut refused = None;
    for p in 0..20 {
        let record = ProducerRecord::new(&*topic).partition(p).value("small");
        match producer.send(record).await {
            Ok(d) => pending.push(d),
            Err(e) => {
                refused = Some((p, e));
                break;
            }
        }
        assert!(producer.buffered_bytes() <= 100_000);
    }
    // Six buffers of 16 KiB fit in 100,000 bytes; the seventh waits, its
    // wait makes the lingering batches go, and their memory comes back.
    assert!(refused.is_none(), "{refused:?}");
    assert!(pending.len() == 20);
    bounded("flush", producer.flush()).await.unwrap();
    for d in pending {
        bounded("delivery", d).await.unwrap();
    }
    bounded("close", producer.close(Duration::from_secs(10))).await;
}

/// Under a steady stream of answers the I/O task's sleep never wins its
/// select: expiries must run anyway. A record for a partition that does
/// not exist fails at max.block.ms while other records keep the task busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_runs_under_a_steady_stream_of_answers() {
    let (topic, _) = new_topic("steady-stream", 1).await;
    let producer = Producer::new(config(&[
        ("linger.ms", "0"),
        ("acks", "1"),
        ("enable.idempotence", "false"),
        ("max.block.ms", "1000"),
    ]))
    .unwrap();
    all_delivered(&producer, &topic, 1).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stream = {
        let (producer, topic, stop) = (producer.clone(), topic.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let _ = producer
                    .send(ProducerRecord::new(&*topic).value("busy"))
                    .await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let missing = producer
        .send(ProducerRecord::new(&*topic).partition(7).value("nowhere"))
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), missing).await;
    let waited = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    stream.await.unwrap();
    match outcome {
        Ok(Err(ProducerError::InvalidPartition { partition: 7, .. })) => {}
        other => {
            panic!("expected the record to fail at max.block.ms, got {other:?} after {waited:?}")
        }
    }
    // max.block.ms is 1 s; the bound leaves room for a loaded machine.
    assert!(
        waited < Duration::from_secs(5),
        "failed only after {waited:?}"
    );
    bounded("close", producer.close(Duration::from_secs(10))).await;
}
