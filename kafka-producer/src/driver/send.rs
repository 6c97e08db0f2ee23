//! The send path: a record's partition chosen (the application's
//! partitioner asked outside the core's lock), the record offered to the
//! core, and the waits `send` may make first, as Java's: for the topic's
//! metadata, and for the buffer memory of a new batch's buffer.

use super::*;

impl Producer {
    /// The record after the interceptors' `on_send`, and what its outcome
    /// goes to.
    fn intercept(&self, record: ProducerRecord) -> (ProducerRecord, Acknowledge) {
        let chain = &self.shared.config.interceptors;
        let (record, acks) = chain.on_send(record);
        let ack = Acknowledge(Arc::new(Mutex::new(Some(AckState {
            chain: chain.clone(),
            topic: record.topic.clone(),
            acks,
        }))));
        (record, ack)
    }

    /// The record as the core takes it: its timestamp resolved and its
    /// partition chosen by the application's partitioner (asked here,
    /// between two looks at the core, never under its lock; before the
    /// topic's partition count is known, the I/O task asks it once
    /// metadata came). `Err` when the partitioner failed it: the record is
    /// refused (its future holds why).
    fn prepare(
        &self,
        record: ProducerRecord,
        callback: Option<DeliveryCallback>,
        ack: Option<&Acknowledge>,
    ) -> Result<PendingRecord, DeliveryFuture> {
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let callback = match ack {
            None => callback,
            Some(ack) => Some(ack.before(callback)),
        };
        let mut pending = PendingRecord {
            record,
            timestamp,
            permits: 0,
            callback,
            awaits_partitioner: false,
        };
        match self.partition(&mut pending) {
            Ok(()) => Ok(pending),
            Err(e) => Err(self.refuse(pending, e)),
        }
    }

    /// Asks the application's partitioner, if there is one and the record
    /// has no partition: now when its topic's partition count is known,
    /// else it is marked for the I/O task to ask once metadata came.
    fn partition(&self, pending: &mut PendingRecord) -> Result<(), ProducerError> {
        let Some(p) = &self.shared.partitioner else {
            return Ok(());
        };
        let record = &mut pending.record;
        if record.partition.is_some() {
            return Ok(());
        }
        let partitions = self.shared.inner.door().core.partition_count(&record.topic);
        pending.awaits_partitioner = partitions.is_none();
        if let Some(n) = partitions {
            record.partition = crate::partitioner::ask(&**p, record, n)?;
        }
        Ok(())
    }

    /// Fails a record at once with `e` (its future holds it).
    #[allow(clippy::result_large_err)] // the record handed back, not an error
    fn refuse(&self, pending: PendingRecord, e: ProducerError) -> DeliveryFuture {
        self.enter(|core| Ok(core.refuse(pending, e)))
            .unwrap_or_else(|_| unreachable!("a refused record needs no memory"))
    }

    /// Offers the record to the core: `Err` hands it back with the buffer
    /// memory it needs in all (it would open a batch, or wait for metadata).
    #[allow(clippy::result_large_err)] // the record handed back, not an error
    fn offer(&self, pending: PendingRecord) -> Result<DeliveryFuture, NeedsMemory> {
        self.enter(|core| core.try_enqueue(pending, Instant::now))
    }

    /// Runs `f` on the core under its lock; wakes the I/O task when the
    /// record changed what it waits for, gives back buffer memory the
    /// record did not need, and runs what completed at once (a record
    /// refused) after letting go of the lock.
    #[allow(clippy::result_large_err)]
    fn enter(
        &self,
        f: impl FnOnce(&mut ProducerCore) -> Result<crate::core::Enqueued, NeedsMemory>,
    ) -> Result<DeliveryFuture, NeedsMemory> {
        let inner = &self.shared.inner;
        let (enqueued, wake, released, completions) = {
            let mut door = inner.door();
            let enqueued = match f(&mut door.core) {
                Ok(enqueued) => enqueued,
                Err(back) => {
                    // The core asked for the topic's metadata: the I/O
                    // task fetches it now.
                    if back.metadata && door.wake_for(Instant::now()) {
                        drop(door);
                        inner.wake.notify_one();
                    }
                    return Err(back);
                }
            };
            let wake = enqueued.poll_at.is_some_and(|at| door.wake_for(at));
            // Empty, and no allocation, unless the record was refused.
            let completions = door.core.take_completions();
            (
                enqueued,
                wake,
                door.core.take_released_permits(),
                completions,
            )
        };
        if wake {
            inner.wake.notify_one();
        }
        if released > 0 {
            self.shared.memory.add_permits(released);
        }
        completions.into_iter().for_each(Completion::run);
        Ok(enqueued.delivery)
    }

    /// Takes `extra` bytes of buffer memory, waiting (FIFO) until
    /// `deadline` (`max.block.ms` after the send began).
    async fn reserve(
        &self,
        extra: usize,
        needed: usize,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), ProducerError> {
        let memory = &self.shared.memory;
        let permits = u32::try_from(extra).unwrap_or(u32::MAX);
        let permit = match memory.try_acquire_many(permits) {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(self.closed_error()),
            // Inside a delivery callback: the memory comes back through the
            // I/O task that runs the callback, so waiting would never end.
            Err(tokio::sync::TryAcquireError::NoPermits) if in_callback() => {
                return Err(ProducerError::BufferExhausted {
                    needed,
                    waited: Duration::ZERO,
                })
            }
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                // Buffer memory is short: every batch is ready while anyone
                // waits (Java's rule), so lingering batches go now. The
                // pressure is set under the lock the I/O task reads it
                // under, so it cannot be missed between two looks.
                let counters = &self.shared.counters;
                counters.memory_waiters.fetch_add(1, Relaxed);
                let inner = &self.shared.inner;
                let (wake, released) = {
                    let mut door = inner.door();
                    door.core.set_memory_pressure(true);
                    (
                        door.wake_for(Instant::now()),
                        door.core.take_released_permits(),
                    )
                };
                if released > 0 {
                    memory.add_permits(released);
                }
                if wake {
                    inner.wake.notify_one();
                }
                let waiting = Instant::now();
                let waited = tokio::time::timeout_at(
                    tokio::time::Instant::from_std(deadline),
                    memory.acquire_many(permits),
                )
                .await;
                counters.memory_waiters.fetch_sub(1, Relaxed);
                self.shared.counters.buffer_wait_ns.fetch_add(
                    u64::try_from(waiting.elapsed().as_nanos()).unwrap_or(u64::MAX),
                    Relaxed,
                );
                waited
                    .map_err(|_| ProducerError::BufferExhausted {
                        needed,
                        waited: started.elapsed(),
                    })?
                    .map_err(|_| self.closed_error())?
            }
        };
        permit.forget();
        Ok(())
    }

    /// Why buffer memory is closed: the producer was closed, or stopped.
    fn closed_error(&self) -> ProducerError {
        self.shared
            .fatal
            .get()
            .cloned()
            .unwrap_or(ProducerError::Closed)
    }

    /// Sends a prepared record: most join an open batch at once; one that
    /// opens a batch first takes the buffer memory of the batch's buffer
    /// (Java's `BufferPool`), waiting up to `max.block.ms`.
    #[allow(clippy::result_large_err)] // the record handed back, not an error
    async fn send_prepared(
        &self,
        mut pending: PendingRecord,
    ) -> Result<DeliveryFuture, ProducerError> {
        // A send with memory free completes at once: without a yield now
        // and then, a task sending in a loop would hold its worker, and the
        // I/O task it woke (queued behind it on the same worker) would wait
        // until buffer.memory ran out. tokio's budget yields every so often.
        tokio::task::consume_budget().await;
        let started = Instant::now();
        let deadline = crate::core::later(started, self.shared.config.max_block);
        loop {
            match self.offer(pending) {
                Ok(delivery) => return Ok(delivery),
                // As Java's `send`: wait for the topic's metadata (up to
                // max.block.ms) instead of buffering the record meanwhile.
                // Looked at again whenever metadata came, and every 50 ms.
                Err(NeedsMemory {
                    mut record,
                    metadata: true,
                    ..
                }) if !in_callback() => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(self
                            .enter(|core| Ok(core.refuse_unknown(record, started.elapsed())))
                            .unwrap_or_else(|_| unreachable!("a refused record needs no memory")));
                    }
                    let notified = self.shared.inner.metadata.notified();
                    let wait = (deadline - now).min(Duration::from_millis(50));
                    let _ = tokio::time::timeout(wait, notified).await;
                    if std::mem::take(&mut record.awaits_partitioner) {
                        if let Err(e) = self.partition(&mut record) {
                            return Ok(self.refuse(record, e));
                        }
                    }
                    pending = record;
                }
                Err(NeedsMemory { record, needed, .. }) => {
                    let extra = needed.saturating_sub(record.permits);
                    if let Err(e) = self.reserve(extra, needed, started, deadline).await {
                        self.shared.memory.add_permits(record.permits);
                        return Err(e);
                    }
                    pending = record;
                    pending.permits += extra;
                }
            }
        }
    }

    /// Queues a record. Waits only for buffer space (at most `max.block.ms`,
    /// first come first served, and only when the record opens a batch);
    /// the returned future resolves when the record is acknowledged or has
    /// failed for good.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, ProducerError> {
        if self.shared.config.interceptors.is_empty() {
            return self.send_intercepted(record, None).await;
        }
        let (record, ack) = self.intercept(record);
        let sent = self.send_intercepted(record, Some(&ack)).await;
        ack.refused(&sent);
        sent
    }

    /// For a layer built on this producer that refuses a record before
    /// handing it over (the transactional producer outside a
    /// transaction): the interceptors see it as a record `send` refused,
    /// their `on_send`, then `on_acknowledgement` with `error` (Java's
    /// `onSendError`). Nothing else happens to the record.
    ///
    /// ```no_run
    /// # fn demo(p: kafka_producer::Producer, record: kafka_producer::ProducerRecord) {
    /// use kafka_producer::ProducerError;
    /// let why = ProducerError::Refused("not in a transaction".into());
    /// p.refuse_intercepted(record, &why);
    /// # }
    /// ```
    pub fn refuse_intercepted(&self, record: ProducerRecord, error: &ProducerError) {
        if self.shared.config.interceptors.is_empty() {
            return;
        }
        let (_, ack) = self.intercept(record);
        ack.run(Err(error));
    }

    async fn send_intercepted(
        &self,
        record: ProducerRecord,
        ack: Option<&Acknowledge>,
    ) -> Result<DeliveryFuture, ProducerError> {
        self.check_size(&record)?;
        match self.prepare(record, None, ack) {
            Ok(pending) => self.send_prepared(pending).await,
            Err(refused) => Ok(refused),
        }
    }

    /// As [`send`](Self::send), but the record's outcome goes to
    /// `callback` once it is known (Java's `send(record, callback)`), on
    /// the producer's I/O task, instead of to a future; callbacks of one
    /// partition run in the order their records were sent. When this
    /// returns an error the callback is dropped without a call. A panic in
    /// the callback is caught and logged: the producer goes on.
    ///
    /// ```no_run
    /// # async fn demo(producer: kafka_producer::Producer) -> Result<(), kafka_producer::ProducerError> {
    /// use kafka_producer::ProducerRecord;
    /// producer
    ///     .send_with_callback(ProducerRecord::new("events").value("v"), |outcome| match outcome {
    ///         Ok(md) => println!("{}-{}@{}", md.topic, md.partition, md.offset),
    ///         Err(e) => eprintln!("not delivered: {e}"),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), ProducerError>
    where
        F: FnOnce(Result<RecordMetadata, ProducerError>) + Send + 'static,
    {
        if self.shared.config.interceptors.is_empty() {
            return self
                .send_with_callback_intercepted(record, Box::new(callback), None)
                .await;
        }
        let (record, ack) = self.intercept(record);
        let sent = self
            .send_with_callback_intercepted(record, Box::new(callback), Some(&ack))
            .await;
        ack.refused(&sent);
        sent
    }

    async fn send_with_callback_intercepted(
        &self,
        record: ProducerRecord,
        callback: DeliveryCallback,
        ack: Option<&Acknowledge>,
    ) -> Result<(), ProducerError> {
        self.check_size(&record)?;
        // The outcome is the callback's; the batch keeps it either way.
        if let Ok(pending) = self.prepare(record, Some(callback), ack) {
            drop(self.send_prepared(pending).await?);
        }
        Ok(())
    }

    /// Queues a record if the buffer memory it needs is free now; fails at
    /// once otherwise.
    pub fn try_send(&self, record: ProducerRecord) -> Result<DeliveryFuture, ProducerError> {
        if self.shared.config.interceptors.is_empty() {
            return self.try_send_intercepted(record, None);
        }
        let (record, ack) = self.intercept(record);
        let sent = self.try_send_intercepted(record, Some(&ack));
        ack.refused(&sent);
        sent
    }

    fn try_send_intercepted(
        &self,
        record: ProducerRecord,
        ack: Option<&Acknowledge>,
    ) -> Result<DeliveryFuture, ProducerError> {
        self.check_size(&record)?;
        let mut pending = match self.prepare(record, None, ack) {
            Ok(pending) => pending,
            Err(refused) => return Ok(refused),
        };
        loop {
            match self.offer(pending) {
                Ok(delivery) => return Ok(delivery),
                // It cannot wait: a record that waits for metadata holds
                // its own buffer memory in the core.
                Err(NeedsMemory { record, needed, .. }) => {
                    let extra = needed.saturating_sub(record.permits);
                    let permits = u32::try_from(extra).unwrap_or(u32::MAX);
                    match self.shared.memory.try_acquire_many(permits) {
                        Ok(permit) => permit.forget(),
                        Err(e) => {
                            self.shared.memory.add_permits(record.permits);
                            return Err(match e {
                                tokio::sync::TryAcquireError::Closed => self.closed_error(),
                                tokio::sync::TryAcquireError::NoPermits => {
                                    ProducerError::BufferExhausted {
                                        needed,
                                        waited: Duration::ZERO,
                                    }
                                }
                            });
                        }
                    }
                    pending = record;
                    pending.permits += extra;
                }
            }
        }
    }
}

/// Where a record's outcome goes when there are interceptors: its own
/// acknowledgements, then the chain's. Run once: by the record's callback,
/// or by `send` for a record it refused at once (which no callback sees).
pub(super) struct Acknowledge(Arc<Mutex<Option<AckState>>>);

struct AckState {
    chain: crate::interceptor::Interceptors,
    topic: Arc<str>,
    acks: Vec<crate::interceptor::RecordAck>,
}

impl Acknowledge {
    /// Runs, unless it ran already. The interceptors run after the lock
    /// is let go.
    fn run(&self, outcome: Result<&RecordMetadata, &ProducerError>) {
        let state = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(s) = state {
            s.chain.on_acknowledgement(&s.topic, s.acks, outcome);
        }
    }

    /// The record's callback, preceded by this acknowledgement.
    fn before(&self, callback: Option<DeliveryCallback>) -> DeliveryCallback {
        let ack = Acknowledge(self.0.clone());
        Box::new(move |outcome: Result<RecordMetadata, ProducerError>| {
            ack.run(outcome.as_ref());
            if let Some(callback) = callback {
                callback(outcome);
            }
        })
    }

    /// `send` refused the record at once: nothing else will report it.
    fn refused<T>(&self, sent: &Result<T, ProducerError>) {
        if let Err(e) = sent {
            self.run(Err(e));
        }
    }
}
