//! Records without a partition yet: waiting for their topic's metadata
//! (up to `max.block.ms`), or out for the application's partitioner.

use super::*;

impl Accumulator {
    // ---------------------------------------------------- waiting for metadata

    /// Parks a record until its topic's metadata is known; returns its
    /// future and the topic name to ask metadata for (shared with the
    /// waiting queue).
    pub fn wait_for_metadata(
        &mut self,
        mut incoming: Incoming,
        now: Instant,
    ) -> (DeliveryFuture, Arc<str>) {
        let delivery = own_outcome(&mut incoming);
        let topic = self.wait_again(WaitingRecord {
            incoming,
            since: now,
        });
        (delivery, topic)
    }

    /// Parks a record again (its metadata does not know its partition yet),
    /// keeping the time it started waiting.
    pub fn wait_again(&mut self, w: WaitingRecord) -> Arc<str> {
        let topic: Arc<str> = self
            .waiting
            .get_key_value(&*w.incoming.record.topic)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| w.incoming.record.topic.clone());
        self.waiting.entry(topic.clone()).or_default().push_back(w);
        topic
    }

    /// The records that waited for `topic`.
    pub fn take_waiting(&mut self, topic: &str) -> VecDeque<WaitingRecord> {
        self.waiting.remove(topic).unwrap_or_default()
    }

    /// Hands a record to the application's partitioner (through the
    /// driver); its topic has `partitions`.
    pub fn await_partitioner(&mut self, waiting: WaitingRecord, partitions: i32) {
        let topic = &waiting.incoming.record.topic;
        match self.awaiting_per_topic.get_mut(&**topic) {
            Some(n) => *n += 1,
            None => {
                self.awaiting_per_topic.insert(topic.clone(), 1);
            }
        }
        self.awaiting.push(AwaitingPartitioner {
            waiting,
            partitions,
        });
    }

    /// The records for the application's partitioner.
    pub fn take_awaiting(&mut self) -> Vec<AwaitingPartitioner> {
        std::mem::take(&mut self.awaiting)
    }

    /// Whether records of `topic` are out for the partitioner: a later
    /// record of the topic must queue behind them.
    pub fn awaits_partitioner(&self, topic: &str) -> bool {
        !self.awaiting_per_topic.is_empty() && self.awaiting_per_topic.contains_key(topic)
    }

    /// A record out for the partitioner is back (or failed).
    pub fn partitioner_answered(&mut self, topic: &str) {
        if let Some(n) = self.awaiting_per_topic.get_mut(topic) {
            *n -= 1;
            if *n == 0 {
                self.awaiting_per_topic.remove(topic);
            }
        }
    }

    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Fails the records that waited `max.block.ms` for their topic (or,
    /// for an explicit partition, for metadata that knows it).
    /// `last_error`: why metadata could not be fetched, if it could not.
    pub fn expire_waiting(
        &mut self,
        now: Instant,
        metadata: &Metadata,
        completions: &mut Completions,
    ) {
        let max_block = self.config.max_block;
        let mut expired = Vec::new();
        for (topic, q) in self.waiting.iter_mut() {
            while q
                .front()
                .is_some_and(|w| now.duration_since(w.since) >= max_block)
            {
                if let Some(w) = q.pop_front() {
                    expired.push((w, topic.to_string()));
                }
            }
        }
        self.waiting.retain(|_, q| !q.is_empty());
        for (w, topic) in expired {
            let waited = now.duration_since(w.since);
            let e = metadata.not_known(topic, w.incoming.record.partition, waited);
            completions.fail_waiting(w.incoming.unbatched(), e);
        }
    }

    /// Fails the records that have no partition yet (waiting for metadata
    /// or for the application's partitioner).
    pub(super) fn fail_unpartitioned(
        &mut self,
        error: &ProducerError,
        completions: &mut Completions,
    ) {
        for a in std::mem::take(&mut self.awaiting) {
            self.partitioner_answered(&a.waiting.incoming.record.topic);
            completions.fail_waiting(a.waiting.incoming.unbatched(), error.clone());
        }
        for w in self.waiting.drain().flat_map(|(_, q)| q) {
            completions.fail_waiting(w.incoming.unbatched(), error.clone());
        }
    }
}
