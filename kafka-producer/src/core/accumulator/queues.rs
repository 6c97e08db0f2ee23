//! The queues of batches: one per partition, oldest batch first, indexed
//! by topic.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::core::batch::{BatchId, ProducerBatch};
use crate::core::hash::FastMap;
use crate::core::TopicPartition;

/// The batches of one partition, oldest first.
pub(crate) struct PartitionQueue {
    pub tp: TopicPartition,
    pub batches: VecDeque<ProducerBatch>,
    /// How many of them are in flight.
    pub in_flight: usize,
    /// A batch not in flight may stand before one in flight (a retry backing
    /// off, a split's halves): until none is in flight again, finding the
    /// next batch to send walks the queue. Otherwise the ones in flight are
    /// the first `in_flight`, as the drain sends them in order.
    pub(super) gapped: bool,
    /// Records in the partition's last batch before the open one: a new
    /// batch's record lists are sized by it.
    pub(super) recent_records: usize,
}

impl PartitionQueue {
    pub(super) fn new(tp: TopicPartition) -> Self {
        PartitionQueue {
            tp,
            batches: VecDeque::new(),
            in_flight: 0,
            gapped: false,
            recent_records: 0,
        }
    }

    pub(super) fn position(&self, id: BatchId) -> Option<usize> {
        self.batches.iter().position(|b| b.id == id)
    }

    /// The batch the drain would send next: the first not in flight. With
    /// thousands of partitions most queues hold only batches in flight, and
    /// the drain asks every one of them at every wake-up: the count answers
    /// without a walk.
    pub(super) fn next_to_send(&self) -> Option<&ProducerBatch> {
        let next = match self.in_flight {
            0 => self.batches.front(),
            n if n >= self.batches.len() => None,
            n if !self.gapped => self.batches.get(n),
            _ => self.batches.iter().find(|b| !b.in_flight()),
        };
        debug_assert!(
            std::ptr::eq(
                next.map_or(std::ptr::null(), |b| b as *const _),
                self.batches
                    .iter()
                    .find(|b| !b.in_flight())
                    .map_or(std::ptr::null(), |b| b as *const _),
            ),
            "the queue's count of batches in flight and its gap flag"
        );
        next
    }

    /// One of its batches in flight left that state (answered, backing
    /// off): the count goes down, and with none left in flight no gap is.
    pub(super) fn left_flight(&mut self) {
        self.in_flight -= 1;
        if self.in_flight == 0 {
            self.gapped = false;
        }
    }
}

/// A queue's position in [`Queues`]: valid until a topic is added (which
/// the drain, holding it, never does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct QueueAt {
    topic: u32,
    partition: u32,
}

impl QueueAt {
    /// The topic's position, for telling queues of one topic together.
    pub(super) fn topic(self) -> u32 {
        self.topic
    }
}

/// The queues of one topic's partitions (indexed by partition).
pub(super) struct TopicQueues {
    name: Arc<str>,
    partitions: Vec<PartitionQueue>,
    /// Partitions the partitioners may pick when some are left out for a
    /// lagging leader (`partitioner.availability.timeout.ms`).
    pub(super) unlagged: Option<Vec<i32>>,
    /// A built-in partitioner placed a record of the topic without its key
    /// (sticky or round-robin): only then are its partitions' load
    /// statistics kept.
    pub(super) balanced: bool,
}

impl TopicQueues {
    /// The queue of `partition`, if it has one.
    pub(super) fn get(&self, partition: i32) -> Option<&PartitionQueue> {
        self.partitions.get(usize::try_from(partition).ok()?)
    }

    pub(super) fn queue(&mut self, partition: i32) -> &mut PartitionQueue {
        let p = usize::try_from(partition).expect("partitions are not negative");
        while self.partitions.len() <= p {
            let tp = TopicPartition {
                topic: self.name.clone(),
                partition: self.partitions.len() as i32,
            };
            self.partitions.push(PartitionQueue::new(tp));
        }
        &mut self.partitions[p]
    }
}

/// Every partition queue, per topic. Records arrive in runs to one topic,
/// so the last topic looked up is remembered: most records cost a pointer
/// (or short string) comparison instead of hashing the topic name.
#[derive(Default)]
pub(crate) struct Queues {
    pub(super) topics: Vec<TopicQueues>,
    index: FastMap<Arc<str>, usize>,
    last: Option<(Arc<str>, usize)>,
}

impl Queues {
    /// Partitions with a queue, every topic together.
    pub(super) fn partition_count(&self) -> usize {
        self.topics.iter().map(|t| t.partitions.len()).sum()
    }

    /// The index of `topic`'s queues (created when new).
    pub(super) fn topic(&mut self, topic: &Arc<str>) -> usize {
        if let Some((name, i)) = &self.last {
            if Arc::ptr_eq(name, topic) || **name == **topic {
                return *i;
            }
        }
        let i = match self.index.get(&**topic) {
            Some(i) => *i,
            None => {
                self.topics.push(TopicQueues {
                    name: topic.clone(),
                    partitions: Vec::new(),
                    unlagged: None,
                    balanced: false,
                });
                self.index.insert(topic.clone(), self.topics.len() - 1);
                self.topics.len() - 1
            }
        };
        self.last = Some((topic.clone(), i));
        i
    }

    /// Where the queues holding batches are, in queue order (topics as
    /// first seen, then by partition): the drain's candidates, found by
    /// position rather than by name.
    pub(super) fn with_batches(&self, out: &mut Vec<QueueAt>) {
        out.clear();
        for (t, topic) in self.topics.iter().enumerate() {
            for (p, q) in topic.partitions.iter().enumerate() {
                if !q.batches.is_empty() {
                    out.push(QueueAt {
                        topic: t as u32,
                        partition: p as u32,
                    });
                }
            }
        }
    }

    pub(super) fn at(&self, at: QueueAt) -> &PartitionQueue {
        &self.topics[at.topic as usize].partitions[at.partition as usize]
    }

    pub(super) fn at_mut(&mut self, at: QueueAt) -> &mut PartitionQueue {
        &mut self.topics[at.topic as usize].partitions[at.partition as usize]
    }

    pub fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionQueue> {
        // A response's batches share their topic's name: most skip the hash.
        let i = match &self.last {
            Some((name, i)) if Arc::ptr_eq(name, &tp.topic) => *i,
            _ => *self.index.get(&*tp.topic)?,
        };
        let t = &mut self.topics[i];
        t.partitions.get_mut(usize::try_from(tp.partition).ok()?)
    }

    /// `tp`'s queue, created when new.
    pub fn entry(&mut self, tp: &TopicPartition) -> &mut PartitionQueue {
        let i = self.topic(&tp.topic);
        self.topics[i].queue(tp.partition)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PartitionQueue> {
        self.topics.iter().flat_map(|t| t.partitions.iter())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut PartitionQueue> {
        self.topics.iter_mut().flat_map(|t| t.partitions.iter_mut())
    }

    /// The position of `topic`'s queues, if a built-in partitioner placed
    /// records of it by load.
    pub(super) fn balanced(&self, topic: &str) -> Option<usize> {
        self.index
            .get(topic)
            .copied()
            .filter(|&t| self.topics[t].balanced)
    }
}
