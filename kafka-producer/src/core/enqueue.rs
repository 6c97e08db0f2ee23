//! How a record enters the core: accepted into a batch, handed back for
//! buffer memory (or its topic's metadata), parked for its topic's metadata
//! or for the application's partitioner, or refused.

use super::*;

impl ProducerCore {
    /// Accepts a record; returns its future. Partitioning waits for the
    /// topic's metadata. `now` is read only when the record opens a batch
    /// or must wait (most records join an open batch and need no clock).
    ///
    /// It never refuses for buffer memory: a batch the record opens
    /// without the memory for a whole buffer holds the memory of its
    /// records (`permits`) and grows with them. The driver, which bounds
    /// memory by `buffer.memory`, uses [`try_enqueue`](Self::try_enqueue).
    pub fn enqueue(&mut self, rec: PendingRecord, now: impl FnOnce() -> Instant) -> Enqueued {
        match self.accept(rec, now, true) {
            Ok(enqueued) => enqueued,
            Err(_) => unreachable!("a batch that may grow needs no more memory"),
        }
    }

    /// As [`enqueue`](Self::enqueue), but a record that would open a batch
    /// (or wait for its topic's metadata) holding less buffer memory than
    /// that needs is handed back with how much it needs in all, as Java's
    /// `RecordAccumulator.append` allocates a buffer only for a new batch:
    /// reserve that much (waiting up to `max.block.ms`) and offer it again.
    /// A record that joins an open batch needs none; what a record brought
    /// and did not need comes back through
    /// [`take_released_permits`](Self::take_released_permits).
    #[allow(clippy::result_large_err)] // the record handed back, not an error
    pub fn try_enqueue(
        &mut self,
        rec: PendingRecord,
        now: impl FnOnce() -> Instant,
    ) -> Result<Enqueued, NeedsMemory> {
        self.accept(rec, now, false)
    }

    #[allow(clippy::result_large_err)]
    fn accept(
        &mut self,
        rec: PendingRecord,
        now: impl FnOnce() -> Instant,
        may_grow: bool,
    ) -> Result<Enqueued, NeedsMemory> {
        let mut now = LazyNow {
            read: Some(now),
            at: None,
        };
        let mut incoming = Incoming::new(rec, self.completions.enqueued());
        let refused = match &self.fatal {
            Some(e) => Some(e.clone()),
            None if self.closing => Some(ProducerError::Closed),
            None => None,
        };
        if let Some(e) = refused {
            return Ok(Enqueued {
                delivery: self.completions.fail_record(incoming.unbatched(), e),
                poll_at: None,
            });
        }
        // A record for the partitioner whose metadata came after the
        // driver looked goes to the driver now; any record of a topic with
        // records out for the partitioner queues behind them (send order).
        let behind = incoming.awaits_partitioner
            || self.accumulator.awaits_partitioner(&incoming.record.topic);
        let known = match self.metadata.topics.get_mut(&*incoming.record.topic) {
            Some(meta) if !behind => Some(meta),
            Some(meta) => {
                // It waits (with the driver) holding its own memory.
                let partitions = meta.partitions.len() as i32;
                incoming = self.needs_own_memory(incoming, may_grow)?;
                let delivery = own_outcome(&mut incoming);
                let since = now.now();
                self.accumulator
                    .await_partitioner(WaitingRecord { incoming, since }, partitions);
                return Ok(Enqueued {
                    delivery,
                    poll_at: Some(since),
                });
            }
            None => None,
        };
        let mut unknown_partition = false;
        let incoming = match known {
            Some(meta) => match self.accumulator.partition_and_append(
                meta,
                incoming,
                &mut now,
                &mut self.completions,
                may_grow,
            ) {
                Ok(Appended {
                    delivery,
                    ready_at,
                    leader,
                }) => {
                    if ready_at.is_some() {
                        // A topic's use is noted when a batch opens or
                        // fills (metadata.max.idle.ms is minutes; a topic
                        // with batches is never forgotten).
                        meta.last_used = now.now();
                    }
                    // A leader with its maximum of requests in flight
                    // takes nothing before one is answered, and the driver
                    // polls after every answer: no need to look sooner.
                    let max_in_flight = self.config.max_in_flight_requests_per_connection.max(1);
                    let poll_at = ready_at.filter(|_| {
                        leader.is_none_or(|l| self.sender.nodes.in_flight(l) < max_in_flight)
                    });
                    return Ok(Enqueued {
                        delivery: delivery.expect("a new record gets a future"),
                        poll_at,
                    });
                }
                Err(NotAppended::UnknownPartition(incoming)) => {
                    unknown_partition = true;
                    incoming
                }
                Err(NotAppended::NeedsMemory(incoming, needed)) => {
                    return Err(self.hand_back(incoming, needed, false));
                }
            },
            None => incoming,
        };
        // It waits for its topic's metadata holding its own memory.
        let incoming = match self.needs_own_memory(incoming, may_grow) {
            Ok(incoming) => incoming,
            Err(mut back) => {
                let topic = back.record.record.topic.clone();
                if unknown_partition {
                    self.metadata.retry_topic(topic, now.now());
                } else {
                    self.metadata.want(topic);
                }
                back.metadata = true;
                return Err(back);
            }
        };
        let at = now.now();
        let (delivery, topic) = self.accumulator.wait_for_metadata(incoming, at);
        self.metadata.want(topic);
        Ok(Enqueued {
            delivery,
            poll_at: Some(at),
        })
    }

    /// A record that waits (for metadata, for the partitioner) holds its
    /// own estimated size of buffer memory; one that holds less is handed
    /// back unless `may_grow`.
    #[allow(clippy::result_large_err)]
    fn needs_own_memory(
        &mut self,
        incoming: Incoming,
        may_grow: bool,
    ) -> Result<Incoming, NeedsMemory> {
        if may_grow {
            return Ok(incoming);
        }
        let size = incoming.record.estimated_size();
        if incoming.permits >= size {
            return Ok(incoming);
        }
        Err(self.hand_back(incoming, size, false))
    }

    /// Hands a record back to wait for buffer memory, uncounted.
    fn hand_back(&mut self, incoming: Incoming, needed: usize, metadata: bool) -> NeedsMemory {
        self.completions.withdraw();
        NeedsMemory {
            metadata,
            needed: needed.min(self.config.buffer_memory),
            record: PendingRecord {
                record: incoming.record,
                timestamp: incoming.timestamp,
                permits: incoming.permits,
                callback: incoming.callback,
                awaits_partitioner: incoming.awaits_partitioner,
            },
        }
    }

    /// The records whose partition the application's partitioner chooses
    /// now (their topic's partition count is known). Ask it without holding
    /// the core, and hand each answer to [`partitioned`](Self::partitioned).
    pub fn take_awaiting_partitioner(&mut self) -> Vec<AwaitingPartitioner> {
        self.accumulator.take_awaiting()
    }

    /// The application's partitioner chose for `record`: a partition, `None`
    /// for the built-in choice, or an error that fails the record (it
    /// panicked, or named a partition the topic does not have).
    pub fn partitioned(
        &mut self,
        record: AwaitingPartitioner,
        choice: Result<Option<i32>, ProducerError>,
        now: Instant,
    ) {
        let WaitingRecord {
            mut incoming,
            since,
        } = record.waiting;
        self.accumulator
            .partitioner_answered(&incoming.record.topic);
        let choice = if incoming.awaits_partitioner {
            choice
        } else {
            Ok(None)
        };
        incoming.awaits_partitioner = false;
        let choice = match &self.fatal {
            Some(e) => Err(e.clone()),
            None => choice,
        };
        match choice {
            Err(e) => self.completions.fail_waiting(incoming.unbatched(), e),
            Ok(partition) => {
                if partition.is_some() {
                    incoming.record.partition = partition;
                }
                let mut clock = LazyNow {
                    read: Some(|| now),
                    at: None,
                };
                // The I/O task cannot wait for memory: a batch it opens
                // holds its records' memory.
                let left = match self.metadata.topics.get_mut(&*incoming.record.topic) {
                    Some(meta) => match self.accumulator.partition_and_append(
                        meta,
                        incoming,
                        &mut clock,
                        &mut self.completions,
                        true,
                    ) {
                        Ok(_) => None,
                        Err(NotAppended::UnknownPartition(i) | NotAppended::NeedsMemory(i, _)) => {
                            Some(i)
                        }
                    },
                    None => Some(incoming),
                };
                // Its topic left the metadata meanwhile: it waits again.
                if let Some(incoming) = left {
                    let topic = self
                        .accumulator
                        .wait_again(WaitingRecord { incoming, since });
                    self.metadata.want(topic);
                }
            }
        }
    }

    /// The partition count of `topic`, when its metadata is known.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        self.metadata
            .topics
            .get(topic)
            .map(|m| m.partitions.len() as i32)
    }

    /// Stops the producer for good with `error` (its I/O task ended): every
    /// record not complete fails with it, and so does every later one.
    pub fn stop(&mut self, error: ProducerError) {
        self.go_fatal(error);
    }

    /// Compresses batches with `codec` instead of `compression.type`'s.
    #[cfg(test)]
    pub(crate) fn set_codec(&mut self, codec: Box<dyn Codec>) {
        self.codec = Some(codec);
    }

    /// Counts a record in and fails it at once with `error` (the driver
    /// refused it before the append: its partitioner panicked, say).
    pub fn refuse(&mut self, rec: PendingRecord, error: ProducerError) -> Enqueued {
        // A producer closed or stopped refuses it for that reason first.
        let error = match &self.fatal {
            Some(e) => e.clone(),
            None if self.closing => ProducerError::Closed,
            None => error,
        };
        let incoming = Incoming::new(rec, self.completions.enqueued());
        Enqueued {
            delivery: self.completions.fail_record(incoming.unbatched(), error),
            poll_at: None,
        }
    }

    /// Refuses a record whose topic's metadata (or whose explicit
    /// partition) did not come within `waited` (`max.block.ms`): it fails
    /// with [`ProducerError::TopicNotFound`] (saying why metadata could not
    /// be fetched, if it could not) or [`ProducerError::InvalidPartition`].
    pub fn refuse_unknown(&mut self, rec: PendingRecord, waited: Duration) -> Enqueued {
        let topic = rec.record.topic.to_string();
        let e = self.metadata.not_known(topic, rec.record.partition, waited);
        self.refuse(rec, e)
    }

    /// How many Metadata answers the core took in: a caller waiting for a
    /// topic's metadata offers its record again when this moves.
    pub fn metadata_updates(&self) -> u64 {
        self.metadata_updates
    }
}
