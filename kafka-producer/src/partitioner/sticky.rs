//! The Java producer's built-in partitioner for records without a key: the
//! uniform sticky partitioner of KIP-794 (Kafka 3.3 and later), with its
//! adaptive weighting.
//!
//! # How Java's `BuiltInPartitioner` behaves (kafka-clients 4.1)
//!
//! What follows is our summary of `BuiltInPartitioner` and the parts of
//! `RecordAccumulator` that drive it.
//!
//! - **One sticky partition per topic.** Keyless records of a topic all go
//!   to the current sticky partition. The first record of a topic picks one.
//! - **Bytes, not records, decide when to move on.** Every append to the
//!   sticky partition adds the appended size to a counter. Once the counter
//!   reaches `batch.size`, the partitioner moves on, but only if the last
//!   batch in that partition's queue is full (so a half-filled batch is not
//!   left behind to linger). Whatever the batch state, it moves on once the
//!   counter reaches twice `batch.size`, so mixed keyed/keyless traffic
//!   cannot pin it forever. A switch resets the counter. A switch held back
//!   by a non-full batch is completed by the next append once the queue's
//!   batches are all full (Java calls the update again with 0 bytes).
//! - **Uniform choice.** Without load statistics, the next partition is
//!   drawn uniformly among the partitions that have a leader; if none has
//!   one, among all partitions. The same partition may be drawn again.
//! - **Adaptive choice** (`partitioner.adaptive.partitioning.enable`, on by
//!   default). The accumulator reports, per partition with a leader, how
//!   many batches are queued. Each gets the weight `max_queue + 1 - queue`;
//!   a running sum of the weights forms a cumulative table, and a random
//!   number in `[0, total)` picks the first entry strictly greater than it.
//!   Shorter queues (faster brokers) are picked more often; a partition with
//!   the longest queue keeps a weight of 1. No statistics are kept (uniform
//!   choice applies) when all queues are equally long and none was left
//!   out, or when the topic has fewer than 2 partitions; and the accumulator
//!   only starts reporting once every partition of the topic has had a
//!   batch, so that no partition is invisible to the weighting.
//! - **Availability timeout** (`partitioner.availability.timeout.ms`, 0 =
//!   off): partitions whose leader broker has had batches ready but not
//!   drained for longer than the timeout are left out of the statistics, so
//!   new records avoid them.
//! - Partitions without a leader are never in the statistics.
//!
//! # This implementation
//!
//! A plain state machine owned by one caller: `&mut self`, no clock, no
//! locks, and a seeded random generator, so a test (or a simulation) replays
//! exactly. The caller (the record accumulator) brings what Java reads from
//! shared state: the partitions it may pick (`available`), whether the
//! partition's last batch is full, and the queue lengths.
//!
//! One difference in what the accumulator reports: it counts a batch as
//! full as soon as it cannot take another record of the size just appended
//! (Java's is full only once a record did not fit). With Java's rule a
//! batch closed by the record that did not fit is followed by a new batch
//! of one record, which is not full, so the switch waits for twice
//! `batch.size` and leaves a new batch of a few records behind, waiting
//! for `linger.ms`: the slowest records of a run. Records still spread in
//! runs of about `batch.size` bytes per partition.
//!
//! Leaving partitions out of the statistics and offering only the other
//! ones in `available` come to the same thing: when the reported queues are
//! all equal, the uniform pick among `available` has the same distribution
//! as Java's weighted pick with equal weights over the same partitions.

/// Java's uniform sticky partitioner (KIP-794) for keyless records, one
/// sticky partition per topic; see the [module documentation](self) for the
/// rules.
///
/// Use: [`partition`](Self::partition) gives the partition of the next
/// keyless record; after appending it, report the appended bytes with
/// [`on_append`](Self::on_append), which may move the topic to another
/// partition; feed queue lengths to [`update_load`](Self::update_load)
/// whenever the accumulator computes them.
#[derive(Debug, Clone)]
pub struct StickyPartitioner {
    /// `batch.size`, at least 1 (the Java producer treats 0 as 1).
    batch_size: usize,
    /// `partitioner.adaptive.partitioning.enable`.
    adaptive: bool,
    rng: SplitMix64,
    /// Index of each topic's state in `states`.
    topics: crate::core::hash::FastMap<String, usize>,
    /// Each topic's name (as in `topics`) and state.
    states: Vec<(Box<str>, TopicState)>,
    /// The index of the last topic looked up: records come in runs to one
    /// topic, and a short comparison is cheaper than hashing the name.
    last: Option<usize>,
}

/// Per-topic state: Java keeps one `BuiltInPartitioner` per topic.
#[derive(Debug, Clone, Default)]
struct TopicState {
    /// The current sticky partition, once one was chosen.
    sticky: Option<Sticky>,
    /// Adaptive weights, when the last report asked for them.
    load: Option<LoadStats>,
}

#[derive(Debug, Clone, Copy)]
struct Sticky {
    partition: i32,
    /// Bytes appended to `partition` since it became the sticky one.
    produced_bytes: usize,
}

/// The cumulative frequency table of Java's `PartitionLoadStats`.
#[derive(Debug, Clone)]
struct LoadStats {
    /// Running sums of the weights; strictly increasing, the last entry is
    /// the total weight.
    cumulative: Vec<u64>,
    /// Partition of each entry of `cumulative`.
    partitions: Vec<i32>,
}

impl StickyPartitioner {
    /// A partitioner switching after `batch_size` bytes (Java's
    /// `batch.size`; 0 counts as 1, as the Java producer treats it),
    /// weighting its picks by queue length when `adaptive` is true (Java's
    /// `partitioner.adaptive.partitioning.enable`), drawing its random
    /// numbers from a generator seeded with `seed`.
    pub fn new(batch_size: usize, adaptive: bool, seed: u64) -> Self {
        Self {
            batch_size: batch_size.max(1),
            adaptive,
            rng: SplitMix64(seed),
            topics: Default::default(),
            states: Vec::new(),
            last: None,
        }
    }

    /// The partition for the next keyless record of `topic`: the current
    /// sticky partition, or, when the topic has none yet, a new one.
    ///
    /// A new one is drawn with the adaptive weights when the last
    /// [`update_load`](Self::update_load) left some; otherwise uniformly
    /// among `available` (the partitions that have a leader and are not
    /// excluded by `partitioner.availability.timeout.ms`), or among
    /// `0..num_partitions` when `available` is empty.
    ///
    /// Like Java, an existing sticky partition is kept even if it lost its
    /// leader meanwhile: it is replaced at the next switch. The one
    /// exception is a sticky partition at or above `num_partitions` (only
    /// possible if the topic was recreated smaller), which is replaced at
    /// once.
    ///
    /// # Panics
    /// If a partition must be drawn while `available` is empty and
    /// `num_partitions` is not positive.
    pub fn partition(&mut self, topic: &str, num_partitions: i32, available: &[i32]) -> i32 {
        let state = self.topic_state(topic);
        if let Some(sticky) = state.sticky {
            if sticky.partition < num_partitions {
                return sticky.partition;
            }
        }
        let (rng, state) = self.rng_and_state(topic);
        let partition = next_partition(rng, state.load.as_ref(), num_partitions, available);
        state.sticky = Some(Sticky {
            partition,
            produced_bytes: 0,
        });
        partition
    }

    /// Accounts for `appended_bytes` just appended to `partition` of
    /// `topic`, and switches the topic to a new sticky partition when enough
    /// went to this one (Java's `updatePartitionInfo`).
    ///
    /// `batch_is_full`: whether the last batch in the partition's queue is
    /// now full (Java's `allBatchesFull`, its `enableSwitch`). The switch
    /// happens once the partition received at least `batch_size` bytes and
    /// `batch_is_full`, or at least `2 * batch_size` bytes whatever the
    /// batch. A switch held back by a non-full batch can be completed by
    /// calling this again with 0 bytes and `batch_is_full = true`, as Java
    /// does before its next append to the partition.
    ///
    /// Call it only for records placed by [`partition`](Self::partition):
    /// keyed records and records with an explicit partition do not count
    /// (Java passes no sticky info for them). A `partition` that is not the
    /// topic's current sticky partition is ignored, like Java's check that
    /// the sticky partition did not change under the caller.
    ///
    /// `num_partitions` and `available` are used for the new pick, as in
    /// [`partition`](Self::partition).
    pub fn on_append(
        &mut self,
        topic: &str,
        partition: i32,
        appended_bytes: usize,
        batch_is_full: bool,
        num_partitions: i32,
        available: &[i32],
    ) {
        let batch_size = self.batch_size;
        let (rng, state) = self.rng_and_state(topic);
        let Some(sticky) = state.sticky.as_mut() else {
            return;
        };
        if sticky.partition != partition {
            return;
        }
        sticky.produced_bytes = sticky.produced_bytes.saturating_add(appended_bytes);
        let produced = sticky.produced_bytes;
        if (produced >= batch_size && batch_is_full) || produced >= batch_size.saturating_mul(2) {
            let next = next_partition(rng, state.load.as_ref(), num_partitions, available);
            state.sticky = Some(Sticky {
                partition: next,
                produced_bytes: 0,
            });
        }
    }

    /// Records the queue lengths of `topic` for the adaptive weighting
    /// (Java's `updatePartitionLoadStats`): pairs of (partition, number of
    /// batches queued), for the partitions that may be picked, i.e. those
    /// with a leader and not excluded by `partitioner.availability.timeout.ms`.
    ///
    /// Java's accumulator only reports once every partition of the topic has
    /// had a batch (otherwise an unseen partition would never be weighted);
    /// until then, and whenever adaptive partitioning is off, pass an empty
    /// slice, which drops the weights. The weights are also dropped (uniform
    /// choice among `available`, which then has the same distribution) when
    /// fewer than 2 partitions are given or all queues are equally long.
    ///
    /// The weights only affect the next switch; the current sticky partition
    /// stays.
    pub fn update_load(&mut self, topic: &str, queue_sizes: &[(i32, usize)]) {
        let load = if self.adaptive {
            LoadStats::from_queue_sizes(queue_sizes)
        } else {
            None
        };
        self.topic_state(topic).load = load;
    }

    /// The current sticky partition of `topic`, if one was chosen: a peek
    /// that never draws.
    pub fn current(&self, topic: &str) -> Option<i32> {
        self.topics
            .get(topic)
            .and_then(|&i| self.states[i].1.sticky)
            .map(|sticky| sticky.partition)
    }

    fn topic_state(&mut self, topic: &str) -> &mut TopicState {
        self.rng_and_state(topic).1
    }

    /// The generator and the topic's state, borrowed together.
    fn rng_and_state(&mut self, topic: &str) -> (&mut SplitMix64, &mut TopicState) {
        let i = match self.last {
            Some(i) if *self.states[i].0 == *topic => i,
            _ => {
                let i = match self.topics.get(topic) {
                    Some(&i) => i,
                    None => {
                        self.states.push((topic.into(), TopicState::default()));
                        self.topics.insert(topic.to_owned(), self.states.len() - 1);
                        self.states.len() - 1
                    }
                };
                self.last = Some(i);
                i
            }
        };
        (&mut self.rng, &mut self.states[i].1)
    }
}

impl LoadStats {
    /// Java's construction of the cumulative frequency table, or `None` when
    /// it would not use one.
    fn from_queue_sizes(queue_sizes: &[(i32, usize)]) -> Option<Self> {
        if queue_sizes.len() < 2 {
            return None;
        }
        let max = queue_sizes.iter().map(|&(_, q)| q).max()?;
        if queue_sizes.iter().all(|&(_, q)| q == max) {
            return None;
        }
        let max_plus_1 = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
        let mut total = 0u64;
        let mut cumulative = Vec::with_capacity(queue_sizes.len());
        let mut partitions = Vec::with_capacity(queue_sizes.len());
        for &(partition, queue) in queue_sizes {
            // queue <= max, so every weight is at least 1 and the sums grow
            // strictly.
            let weight = max_plus_1 - u64::try_from(queue).unwrap_or(u64::MAX);
            total = total.saturating_add(weight);
            cumulative.push(total);
            partitions.push(partition);
        }
        Some(Self {
            cumulative,
            partitions,
        })
    }

    /// The partition whose slice of `[0, total)` contains `random % total`.
    fn pick(&self, random: u64) -> i32 {
        let total = *self
            .cumulative
            .last()
            .expect("load stats have at least two entries");
        let r = random % total;
        // First entry strictly greater than r (Java's binary search + 1).
        let index = self.cumulative.partition_point(|&sum| sum <= r);
        self.partitions[index]
    }
}

/// Java's `nextPartition`: weighted by load when known, else uniform among
/// the available partitions, else among all.
fn next_partition(
    rng: &mut SplitMix64,
    load: Option<&LoadStats>,
    num_partitions: i32,
    available: &[i32],
) -> i32 {
    let random = rng.next_u64();
    if let Some(load) = load {
        return load.pick(random);
    }
    if !available.is_empty() {
        // The remainder is below available.len(), so it fits in usize.
        return available[(random % available.len() as u64) as usize];
    }
    let n = u64::try_from(num_partitions)
        .ok()
        .filter(|&n| n > 0)
        .expect("StickyPartitioner: a topic has at least one partition");
    // The remainder is below num_partitions, an i32.
    (random % n) as i32
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, statistically sound for
/// picking partitions, and deterministic for a given seed. Partition choice
/// needs no cryptographic strength.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[i32] = &[];

    fn produced(p: &StickyPartitioner, topic: &str) -> usize {
        p.states[p.topics[topic]].1.sticky.unwrap().produced_bytes
    }

    #[test]
    fn sticks_until_batch_size_bytes() {
        let mut p = StickyPartitioner::new(1000, false, 1);
        let first = p.partition("t", 100, ALL);
        for i in 1..10 {
            p.on_append("t", first, 100, true, 100, ALL);
            assert_eq!(p.partition("t", 100, ALL), first);
            assert_eq!(produced(&p, "t"), 100 * i);
        }
        // The 10th append reaches batch.size with a full batch: switch, and
        // the new sticky partition starts from 0 bytes.
        p.on_append("t", first, 100, true, 100, ALL);
        assert_eq!(produced(&p, "t"), 0);
        let switches = (0..50)
            .filter(|_| {
                let before = p.partition("t", 100, ALL);
                p.on_append("t", before, 1000, true, 100, ALL);
                p.partition("t", 100, ALL) != before
            })
            .count();
        // Out of 100 partitions the same one comes back now and then, but
        // most switches land elsewhere.
        assert!(switches >= 40, "{switches}");
    }

    #[test]
    fn a_batch_that_is_not_full_holds_the_switch_until_twice_batch_size() {
        let mut p = StickyPartitioner::new(1000, false, 2);
        let first = p.partition("t", 1000, ALL);
        for _ in 0..19 {
            p.on_append("t", first, 100, false, 1000, ALL);
        }
        assert_eq!(produced(&p, "t"), 1900);
        assert_eq!(p.current("t"), Some(first));
        // 2 x batch.size: switch even though the batch is not full.
        p.on_append("t", first, 100, false, 1000, ALL);
        assert_eq!(produced(&p, "t"), 0);
    }

    #[test]
    fn a_held_switch_completes_when_the_batch_fills() {
        let mut p = StickyPartitioner::new(1000, false, 3);
        let first = p.partition("t", 1000, ALL);
        p.on_append("t", first, 1500, false, 1000, ALL);
        assert_eq!(produced(&p, "t"), 1500);
        // Java re-runs the update with 0 bytes once the batches are full.
        p.on_append("t", first, 0, true, 1000, ALL);
        assert_eq!(produced(&p, "t"), 0);
    }

    #[test]
    fn appends_to_other_partitions_are_ignored() {
        let mut p = StickyPartitioner::new(100, false, 4);
        let sticky = p.partition("t", 4, ALL);
        let other = (sticky + 1) % 4;
        p.on_append("t", other, 10_000, true, 4, ALL);
        assert_eq!(p.current("t"), Some(sticky));
        assert_eq!(produced(&p, "t"), 0);
        // Unknown topics are ignored too (nothing was chosen there yet).
        p.on_append("u", 0, 10_000, true, 4, ALL);
        assert_eq!(p.current("u"), None);
    }

    #[test]
    fn topics_are_independent() {
        let mut p = StickyPartitioner::new(100, false, 5);
        let a = p.partition("a", 50, ALL);
        let b = p.partition("b", 50, ALL);
        p.on_append("b", b, 100, true, 50, ALL);
        assert_eq!(p.partition("a", 50, ALL), a);
        assert_eq!(produced(&p, "b"), 0);
    }

    #[test]
    fn batch_size_zero_behaves_as_one() {
        let mut p = StickyPartitioner::new(0, false, 6);
        let first = p.partition("t", 3, ALL);
        p.on_append("t", first, 1, true, 3, ALL);
        assert_eq!(produced(&p, "t"), 0, "one byte is a full batch");
    }

    /// Counts the partitions picked over `switches` switches.
    fn pick_counts(
        p: &mut StickyPartitioner,
        n: i32,
        available: &[i32],
        switches: usize,
    ) -> Vec<usize> {
        let mut counts = vec![0; n as usize];
        for _ in 0..switches {
            let part = p.partition("t", n, available);
            counts[part as usize] += 1;
            p.on_append("t", part, 16384, true, n, available);
        }
        counts
    }

    #[test]
    fn uniform_over_many_switches() {
        let mut p = StickyPartitioner::new(16384, true, 7);
        let counts = pick_counts(&mut p, 10, ALL, 100_000);
        // Expected 10 000 each; the standard deviation is about 95, so
        // +-5% is beyond 5 sigma.
        for (partition, &c) in counts.iter().enumerate() {
            assert!((9_500..=10_500).contains(&c), "partition {partition}: {c}");
        }
    }

    #[test]
    fn only_available_partitions_are_chosen() {
        let mut p = StickyPartitioner::new(16384, false, 8);
        let counts = pick_counts(&mut p, 6, &[1, 4], 10_000);
        assert_eq!(
            counts[0] + counts[2] + counts[3] + counts[5],
            0,
            "{counts:?}"
        );
        assert!(counts[1] > 4_500 && counts[4] > 4_500, "{counts:?}");
    }

    #[test]
    fn no_available_partition_means_any_partition() {
        let mut p = StickyPartitioner::new(16384, false, 9);
        let counts = pick_counts(&mut p, 6, ALL, 6_000);
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }

    #[test]
    fn cumulative_table_matches_javas_example() {
        // Java's comment: queues 0 3 1 -> weights 4 1 3 -> table 4 5 8.
        let stats = LoadStats::from_queue_sizes(&[(10, 0), (11, 3), (12, 1)]).unwrap();
        assert_eq!(stats.cumulative, [4, 5, 8]);
        assert_eq!(stats.partitions, [10, 11, 12]);
        // 0..4 -> first, 4 -> second, 5..8 -> third; wraps modulo 8.
        let picks: Vec<i32> = (0..9).map(|r| stats.pick(r)).collect();
        assert_eq!(picks, [10, 10, 10, 10, 11, 12, 12, 12, 10]);
    }

    #[test]
    fn no_weights_when_they_would_be_uniform() {
        assert!(LoadStats::from_queue_sizes(&[]).is_none());
        assert!(LoadStats::from_queue_sizes(&[(0, 5)]).is_none());
        assert!(LoadStats::from_queue_sizes(&[(0, 2), (1, 2), (2, 2)]).is_none());
        assert!(LoadStats::from_queue_sizes(&[(0, 2), (1, 3)]).is_some());
    }

    #[test]
    fn adaptive_weighting_prefers_short_queues() {
        let mut p = StickyPartitioner::new(16384, true, 10);
        // Weights 11, 1, 1: partition 0 expected 11/13 = 84.6% of picks.
        p.update_load("t", &[(0, 0), (1, 10), (2, 10)]);
        let counts = pick_counts(&mut p, 3, ALL, 10_000);
        assert!(counts[0] > 8_000, "{counts:?}");
        assert!(counts[1] > 500 && counts[2] > 500, "{counts:?}");
    }

    #[test]
    fn weights_only_cover_the_reported_partitions() {
        let mut p = StickyPartitioner::new(16384, true, 11);
        // Partition 2 is absent from the report (no leader, or excluded by
        // the availability timeout): never picked, even though `available`
        // is empty.
        p.update_load("t", &[(0, 1), (1, 4), (3, 0)]);
        let counts = pick_counts(&mut p, 4, ALL, 5_000);
        assert_eq!(counts[2], 0, "{counts:?}");
        assert!(counts[3] > counts[0] && counts[0] > counts[1], "{counts:?}");
    }

    #[test]
    fn adaptive_off_ignores_queue_sizes() {
        let mut p = StickyPartitioner::new(16384, false, 12);
        p.update_load("t", &[(0, 0), (1, 100), (2, 100)]);
        assert!(p.states[p.topics["t"]].1.load.is_none());
        let counts = pick_counts(&mut p, 3, ALL, 9_000);
        assert!(counts.iter().all(|&c| c > 2_700), "{counts:?}");
    }

    #[test]
    fn an_empty_report_drops_the_weights() {
        let mut p = StickyPartitioner::new(16384, true, 13);
        p.update_load("t", &[(0, 0), (1, 9)]);
        assert!(p.states[p.topics["t"]].1.load.is_some());
        p.update_load("t", &[]);
        assert!(p.states[p.topics["t"]].1.load.is_none());
    }

    #[test]
    fn same_seed_same_choices() {
        let run = |seed| {
            let mut p = StickyPartitioner::new(10, true, seed);
            pick_counts(&mut p, 1000, ALL, 50)
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    proptest::proptest! {
        /// Whatever the appends, the sticky partition is one of `available`
        /// (or of the topic when none is), and no partition keeps receiving
        /// past twice `batch.size`.
        #[test]
        fn picks_stay_available_and_switches_happen(
            seed in proptest::prelude::any::<u64>(),
            batch_size in 1usize..5_000,
            num_partitions in 1i32..20,
            available_mask in proptest::prelude::any::<u32>(),
            appends in proptest::collection::vec((0usize..3_000, proptest::prelude::any::<bool>()), 1..200),
        ) {
            let available: Vec<i32> = (0..num_partitions)
                .filter(|p| available_mask & (1 << p) != 0)
                .collect();
            let mut p = StickyPartitioner::new(batch_size, true, seed);
            for (bytes, full) in appends {
                let part = p.partition("t", num_partitions, &available);
                if available.is_empty() {
                    proptest::prop_assert!((0..num_partitions).contains(&part));
                } else {
                    proptest::prop_assert!(available.contains(&part));
                }
                p.on_append("t", part, bytes, full, num_partitions, &available);
                proptest::prop_assert!(produced(&p, "t") < 2 * batch_size);
            }
        }
    }

    #[test]
    fn a_sticky_partition_beyond_the_topic_is_replaced() {
        let mut p = StickyPartitioner::new(16384, false, 14);
        p.partition("t", 1000, &[999]);
        assert_eq!(p.current("t"), Some(999));
        let now = p.partition("t", 3, ALL);
        assert!((0..3).contains(&now));
    }
}
