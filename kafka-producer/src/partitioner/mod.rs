//! Choosing the partition of a record, as the Java producer does.
//!
//! - Records with a key: [`partition_for_key`] (murmur2 over ALL partitions,
//!   identical to the Java client, see [`murmur2`](mod@murmur2)).
//! - Records without a key (or every record with
//!   `partitioner.ignore.keys=true`): the built-in uniform sticky partitioner
//!   of KIP-794, [`StickyPartitioner`].
//! - `partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner`:
//!   [`RoundRobinPartitioner`], one partition per record in turn, keys
//!   ignored.
//! - Anything else: an application's own [`Partitioner`].

pub mod murmur2;
pub mod sticky;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

pub use self::murmur2::{murmur2, partition_for_key, to_positive};

pub use self::sticky::StickyPartitioner;
use crate::error::{panic_message, ProducerError, UserHook};
use crate::record::ProducerRecord;

/// A custom partitioner, the counterpart of Java's
/// `org.apache.kafka.clients.producer.Partitioner`.
///
/// It sees the serialized key and value (`None` for a null key or value, a
/// tombstone) and the topic's partition count, and returns the partition,
/// which must be in `0..num_partitions`. Returning `None` hands the record
/// back to the built-in logic (murmur2 for keys, sticky otherwise), where
/// Java's partitioners would return -1 (`RecordMetadata.UNKNOWN_PARTITION`).
///
/// `Send + Sync` because one partitioner serves every task that sends, and
/// `&self` because it is called concurrently: keep any state behind atomics
/// or locks, as [`RoundRobinPartitioner`] does.
///
/// The producer calls it as [`ask`] does: in `send` (or on the producer's
/// I/O task for a record that waited for its topic's metadata), never
/// while holding a lock of its own, and a panic fails only the record it
/// was choosing for.
pub trait Partitioner: Send + Sync + fmt::Debug {
    /// The partition for a record of `topic`, or `None` to let the built-in
    /// logic choose.
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        num_partitions: i32,
    ) -> Option<i32>;
}

/// Asks `partitioner` for `record`'s partition among `num_partitions`, as
/// the producer does: never while holding a lock of the producer's (so a
/// partitioner may call the producer), with a panic caught and turned into
/// [`ProducerError::UserCodePanicked`] for this record alone, and an answer
/// outside `0..num_partitions` turned into
/// [`ProducerError::InvalidPartition`].
///
/// ```
/// use kafka_producer::partitioner::{ask, Partitioner};
/// use kafka_producer::{ProducerError, ProducerRecord};
///
/// #[derive(Debug)]
/// struct Broken;
/// impl Partitioner for Broken {
///     fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, _: i32) -> Option<i32> {
///         panic!("no partition for you")
///     }
/// }
/// let record = ProducerRecord::new("t").value("v");
/// assert!(matches!(ask(&Broken, &record, 3), Err(ProducerError::UserCodePanicked { .. })));
/// ```
pub fn ask(
    partitioner: &dyn Partitioner,
    record: &ProducerRecord,
    num_partitions: i32,
) -> Result<Option<i32>, ProducerError> {
    let (key, value) = (record.key.as_deref(), record.value.as_deref());
    let asked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        partitioner.partition(&record.topic, key, value, num_partitions)
    }));
    match asked {
        Ok(Some(p)) if !(0..num_partitions).contains(&p) => Err(ProducerError::InvalidPartition {
            topic: record.topic.to_string(),
            partition: p,
            partitions: num_partitions,
        }),
        Ok(choice) => Ok(choice),
        Err(payload) => {
            let message = panic_message(&*payload);
            tracing::error!(
                hook = %UserHook::Partitioner,
                topic = %record.topic,
                panic = %message,
                "the partitioner panicked; its record fails, the producer goes on"
            );
            Err(ProducerError::UserCodePanicked {
                hook: UserHook::Partitioner,
                message,
            })
        }
    }
}

/// Java's `org.apache.kafka.clients.producer.RoundRobinPartitioner`: every
/// record, keyed or not, goes to the next partition of its topic in turn.
///
/// One counter per topic, starting at 0 and shared by all callers. Like
/// Java's, the counter walks over the partitions that have a leader when the
/// caller knows some (see [`RoundRobinPartitioner::next`]), and over all
/// partitions otherwise; the counter itself advances by one per record
/// either way and wraps like a Java `int`.
///
/// Spreads records evenly but makes small batches (one record per partition
/// per round); the built-in sticky partitioner is usually the better choice.
#[derive(Debug, Default)]
pub struct RoundRobinPartitioner {
    /// topic -> next counter value. Read-locked on the hot path: the write
    /// lock is taken once per topic, when its counter is created.
    counters: RwLock<HashMap<String, Arc<AtomicI32>>>,
}

impl RoundRobinPartitioner {
    /// A partitioner whose counters all start at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next partition of `topic`: the counter's value picks one of
    /// `available` (the partitions that currently have a leader, in the
    /// metadata's order) when it is not empty, else one of
    /// `0..num_partitions`.
    ///
    /// # Panics
    /// If `available` is empty and `num_partitions` is 0.
    pub fn next(&self, topic: &str, num_partitions: i32, available: &[i32]) -> i32 {
        // Java's AtomicInteger.getAndIncrement wraps from MAX to MIN; so does
        // fetch_add on an AtomicI32.
        let value = to_positive(self.counter(topic).fetch_add(1, Ordering::Relaxed));
        if available.is_empty() {
            assert!(
                num_partitions != 0,
                "RoundRobinPartitioner: a topic has at least one partition"
            );
            value % num_partitions
        } else {
            // `value` is non-negative, so the conversion cannot fail.
            available[usize::try_from(value).unwrap_or(0) % available.len()]
        }
    }

    fn counter(&self, topic: &str) -> Arc<AtomicI32> {
        // A poisoned lock only means another caller panicked while holding
        // it; the map itself is always consistent, so keep using it.
        if let Some(counter) = self
            .counters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
        {
            return Arc::clone(counter);
        }
        let mut counters = self
            .counters
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(counters.entry(topic.to_owned()).or_default())
    }
}

impl Partitioner for RoundRobinPartitioner {
    /// Round robin over all partitions (the trait has no availability
    /// information; the producer calls [`RoundRobinPartitioner::next`] when
    /// it has some).
    fn partition(
        &self,
        topic: &str,
        _key: Option<&[u8]>,
        _value: Option<&[u8]>,
        num_partitions: i32,
    ) -> Option<i32> {
        Some(self.next(topic, num_partitions, &[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_cycles_per_topic() {
        let rr = RoundRobinPartitioner::new();
        let a: Vec<i32> = (0..7).map(|_| rr.next("a", 3, &[])).collect();
        assert_eq!(a, [0, 1, 2, 0, 1, 2, 0]);
        // Another topic has its own counter.
        assert_eq!(rr.next("b", 3, &[]), 0);
        assert_eq!(rr.next("a", 3, &[]), 1);
    }

    #[test]
    fn round_robin_ignores_keys_through_the_trait() {
        let rr = RoundRobinPartitioner::new();
        let p: &dyn Partitioner = &rr;
        let got: Vec<_> = (0..4)
            .map(|_| p.partition("t", Some(b"same key"), Some(b"v"), 2))
            .collect();
        assert_eq!(got, [Some(0), Some(1), Some(0), Some(1)]);
    }

    #[test]
    fn round_robin_skips_partitions_without_leader() {
        let rr = RoundRobinPartitioner::new();
        // Partitions 0 and 2 of 4 have no leader.
        let got: Vec<i32> = (0..5).map(|_| rr.next("t", 4, &[1, 3])).collect();
        assert_eq!(got, [1, 3, 1, 3, 1]);
        // The counter advanced by 5 meanwhile, as Java's does.
        assert_eq!(rr.next("t", 4, &[]), 1);
    }

    #[test]
    fn round_robin_counter_wraps_like_java() {
        let rr = RoundRobinPartitioner::new();
        rr.counter("t").store(i32::MAX, Ordering::Relaxed);
        // toPositive(MAX) % 10 = 7, then toPositive(MIN) = 0, then 1.
        assert_eq!(rr.next("t", 10, &[]), 7);
        assert_eq!(rr.next("t", 10, &[]), 0);
        assert_eq!(rr.next("t", 10, &[]), 1);
    }

    #[test]
    fn round_robin_is_shared_between_threads() {
        let rr = Arc::new(RoundRobinPartitioner::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let rr = Arc::clone(&rr);
                std::thread::spawn(move || {
                    let mut counts = [0u32; 4];
                    for _ in 0..1000 {
                        counts[rr.next("t", 4, &[]) as usize] += 1;
                    }
                    counts
                })
            })
            .collect();
        let mut total = [0u32; 4];
        for h in handles {
            for (t, c) in total.iter_mut().zip(h.join().unwrap()) {
                *t += c;
            }
        }
        // 4000 records over 4 partitions by one shared counter: exactly even.
        assert_eq!(total, [1000; 4]);
    }
}
