//! `partitions_for`: a topic's partitions from metadata, fetched if
//! needed within `max.block.ms`, as Java's `partitionsFor`.

use super::*;
use crate::core::PartitionInfo;

impl Producer {
    /// The partitions of `topic` with their leader, replicas, in-sync and
    /// offline replicas, from the producer's metadata; fetched first when
    /// the topic is not known yet, waiting at most `max.block.ms` (Java's
    /// `partitionsFor`).
    ///
    /// ```no_run
    /// # async fn demo(producer: kafka_producer::Producer) -> Result<(), kafka_producer::ProducerError> {
    /// for p in producer.partitions_for("orders").await? {
    ///     let leader = p.leader.map(|n| n.id);
    ///     println!("orders-{}: leader {leader:?}, {} in sync", p.partition, p.in_sync_replicas.len());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ProducerError::TopicNotFound`] when no metadata came within
    /// `max.block.ms`, the broker's error when it refused the topic
    /// (authorization, an invalid name), or why the producer stopped.
    pub async fn partitions_for(&self, topic: &str) -> Result<Vec<PartitionInfo>, ProducerError> {
        let topic: Arc<str> = Arc::from(topic);
        let started = Instant::now();
        let deadline = crate::core::later(started, self.shared.config.max_block);
        let inner = &self.shared.inner;
        let mut fresh = true;
        loop {
            if let Some(e) = self.shared.fatal.get() {
                return Err(e.clone());
            }
            // Registered before looking, so an answer in between wakes it.
            let notified = inner.metadata.notified();
            let (known, wake) = {
                let mut door = inner.door();
                let known = door.core.partitions_for(&topic, std::mem::take(&mut fresh));
                let wake = matches!(known, Ok(None)) && door.wake_for(Instant::now());
                (known, wake)
            };
            if wake {
                inner.wake.notify_one();
            }
            if let Some(infos) = known? {
                return Ok(infos);
            }
            let now = Instant::now();
            if now >= deadline || in_callback() {
                return Err(inner
                    .door()
                    .core
                    .partitions_not_known(&topic, started.elapsed()));
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            let _ = tokio::time::timeout(wait, notified).await;
        }
    }
}
