//! [`TransactionalProducer`]: the async producer of `kafka-producer`, with
//! its batches gated by a transaction and every transactional call async
//! and bounded by `max.block.ms`.

use std::sync::Arc;
use std::time::Duration;

use kafka_codec::ConnectionConfig;
use kafka_producer::{
    DeliveryFuture, PartitionInfo, Partitioner, Producer, ProducerConfig, ProducerError,
    ProducerMetrics, ProducerRecord, RecordMetadata, TopicPartition, Uuid,
};

use crate::client::{ProducerLink, TransactionClient};
use crate::error::TransactionError;
use crate::gate::TransactionGate;
use crate::manager::TransactionConfig;
use crate::offsets::{ConsumerGroupMetadata, OffsetAndMetadata, PreparedTxnState};
use crate::state::TransactionState;

/// A transactional producer: records sent between `begin_transaction` and
/// `commit_transaction` become visible to `read_committed` readers all
/// together, or (after `abort_transaction`) never.
///
/// ```no_run
/// use kafka_txn::{ErrorClass, ProducerRecord, TransactionalProducer};
///
/// # async fn demo() -> Result<(), kafka_txn::TransactionError> {
/// let producer = TransactionalProducer::from_properties([
///     ("bootstrap.servers", "127.0.0.1:9092"),
///     ("transactional.id", "orders-writer-1"),
/// ])?;
/// producer.init_transactions().await?;
/// loop {
///     producer.begin_transaction()?;
///     let outcome = async {
///         for n in 0..100 {
///             // The commit fails if a record did: its future may be dropped.
///             let _ = producer.send(ProducerRecord::new("orders").value(format!("order {n}"))).await?;
///         }
///         producer.commit_transaction().await
///     }
///     .await;
///     match outcome {
///         Ok(()) => break,
///         // Abort, then try again with a new transaction.
///         Err(e) if e.class() == ErrorClass::Abortable => producer.abort_transaction().await?,
///         // Fenced by a newer instance, or fatal: build a new producer.
///         Err(e) => return Err(e),
///     }
/// }
/// producer.close(std::time::Duration::from_secs(10)).await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TransactionalProducer {
    producer: Producer,
    client: TransactionClient,
}

impl TransactionalProducer {
    /// A transactional producer from the Java client's property names
    /// (`transactional.id` required).
    pub fn from_properties<I, K, V>(props: I) -> Result<Self, TransactionError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let config =
            ProducerConfig::from_properties(props).map_err(kafka_producer::ProducerError::from)?;
        Self::new(config)
    }

    /// A transactional producer for `config` (inside a tokio runtime).
    pub fn new(config: ProducerConfig) -> Result<Self, TransactionError> {
        Self::with_partitioner(config, None)
    }

    /// As [`new`](Self::new), asking `partitioner` first for records
    /// without a partition (as `Producer::with_partitioner`; it runs in
    /// `send`, never under a lock of the producer, and a panic in it fails
    /// its record alone).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use kafka_txn::{Partitioner, ProducerConfig, TransactionalProducer};
    ///
    /// /// Every record without a partition to partition 0.
    /// #[derive(Debug)]
    /// struct First;
    /// impl Partitioner for First {
    ///     fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, _: i32) -> Option<i32> {
    ///         Some(0)
    ///     }
    /// }
    ///
    /// # fn demo() -> Result<(), kafka_txn::TransactionError> {
    /// let config = ProducerConfig::from_properties([
    ///     ("bootstrap.servers", "127.0.0.1:9092"),
    ///     ("transactional.id", "orders-writer-1"),
    /// ])
    /// .map_err(kafka_txn::ProducerError::from)?;
    /// let producer = TransactionalProducer::with_partitioner(config, Some(Arc::new(First)))?;
    /// # let _ = producer; Ok(()) }
    /// ```
    pub fn with_partitioner(
        config: ProducerConfig,
        partitioner: Option<Arc<dyn Partitioner>>,
    ) -> Result<Self, TransactionError> {
        let txn = TransactionConfig::from_producer(&config)?;
        let max_block = config.max_block;
        let connection = ConnectionConfig {
            request_timeout: config.request_timeout,
            ..config.connection_config("kafka-rs-txn")
        };
        let shared = TransactionClient::shared(txn, max_block, true);
        let gate = Arc::new(TransactionGate::new(shared.clone()));
        let (producer, handle) =
            Producer::transactional_with_partitioner(config, gate, partitioner)?;
        let link = ProducerLink { handle };
        let client = TransactionClient::start_linked(shared, Some(link), connection)?;
        Ok(TransactionalProducer { producer, client })
    }

    /// The state.
    pub fn state(&self) -> TransactionState {
        self.client.state()
    }

    /// The producer underneath (configuration, buffered bytes).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// The coordinator client underneath (producer id, transactions v2).
    pub fn transaction_client(&self) -> &TransactionClient {
        &self.client
    }

    /// Gets the producer id and epoch (fencing older producers of this
    /// transactional id and completing what they left open). Once, first.
    pub async fn init_transactions(&self) -> Result<(), TransactionError> {
        self.client.init_transactions().await.map(|_| ())
    }

    /// Opens a transaction (nothing is sent).
    pub fn begin_transaction(&self) -> Result<(), TransactionError> {
        self.client.begin_transaction()
    }

    /// Sends a record in the open transaction: the same backpressure and
    /// delivery futures as `Producer::send`.
    ///
    /// The delivery future may be dropped: `commit_transaction` fails
    /// (abortable) if any record of the transaction failed. Its error is a
    /// [`ProducerError`], which converts into a [`TransactionError`].
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, TransactionError> {
        self.sendable("send", &record)?;
        Ok(self.producer.send(record).await?)
    }

    /// As [`send`](Self::send), the outcome going to `callback` (as
    /// `Producer::send_with_callback`: on the producer's I/O task, never
    /// under a lock of the producer, a panic caught and logged).
    ///
    /// ```no_run
    /// # async fn demo(p: kafka_txn::TransactionalProducer) -> Result<(), kafka_txn::TransactionError> {
    /// use kafka_txn::ProducerRecord;
    /// p.begin_transaction()?;
    /// p.send_with_callback(ProducerRecord::new("orders").value("o-1"), |outcome| {
    ///     if let Ok(md) = outcome {
    ///         println!("o-1 at {}-{}@{}, visible once committed", md.topic, md.partition, md.offset);
    ///     }
    /// })
    /// .await?;
    /// p.commit_transaction().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> Result<(), TransactionError>
    where
        F: FnOnce(Result<RecordMetadata, ProducerError>) + Send + 'static,
    {
        self.sendable("send_with_callback", &record)?;
        Ok(self.producer.send_with_callback(record, callback).await?)
    }

    /// As [`send`](Self::send) if the buffer memory the record needs is
    /// free now; fails at once otherwise (as `Producer::try_send`).
    ///
    /// ```no_run
    /// # fn demo(p: kafka_txn::TransactionalProducer) {
    /// use kafka_txn::ProducerRecord;
    /// match p.try_send(ProducerRecord::new("orders").value("o-1")) {
    ///     Ok(_delivery) => {}
    ///     Err(e) => eprintln!("not queued now: {e}"),
    /// }
    /// # }
    /// ```
    pub fn try_send(&self, record: ProducerRecord) -> Result<DeliveryFuture, TransactionError> {
        self.sendable("try_send", &record)?;
        Ok(self.producer.try_send(record)?)
    }

    /// Whether records may be sent now: only in a transaction, and not
    /// after an error that needs an abort (that error is returned, and the
    /// interceptors see the record refused with it, as in Java).
    fn sendable(
        &self,
        operation: &'static str,
        record: &ProducerRecord,
    ) -> Result<(), TransactionError> {
        let refused = self.refusal(operation);
        if let Err(e) = &refused {
            self.producer
                .refuse_intercepted(record.clone(), &e.as_refusal());
        }
        refused
    }

    fn refusal(&self, operation: &'static str) -> Result<(), TransactionError> {
        match self.client.state() {
            TransactionState::InTransaction => Ok(()),
            TransactionState::AbortableError | TransactionState::FatalError => Err(self
                .client
                .last_error()
                .unwrap_or(TransactionError::InvalidState {
                    operation,
                    state: self.client.state(),
                })),
            state => Err(TransactionError::InvalidState { operation, state }),
        }
    }

    /// Commits consumer offsets as part of the transaction (KIP-447):
    /// completes when the group coordinator has them.
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: impl IntoIterator<Item = (TopicPartition, OffsetAndMetadata)>,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), TransactionError> {
        self.client
            .send_offsets_to_transaction(offsets.into_iter().collect(), group)
            .await
    }

    /// Sends every record of the transaction, waits for all of them, then
    /// commits (EndTxn). A batch that failed makes the commit fail as
    /// abortable. Timed out, it goes on; call it again to wait.
    pub async fn commit_transaction(&self) -> Result<(), TransactionError> {
        self.client.end(true).await
    }

    /// Fails the records not sent yet (`ProducerError::TransactionAborted`),
    /// waits for those in flight, then aborts (EndTxn).
    pub async fn abort_transaction(&self) -> Result<(), TransactionError> {
        self.client.end(false).await
    }

    /// Two-phase commit (KIP-939): flushes, then keeps the transaction open
    /// until [`complete_transaction`](Self::complete_transaction); returns
    /// the state to keep with the application's own.
    pub async fn prepare_transaction(&self) -> Result<PreparedTxnState, TransactionError> {
        self.producer.flush().await?;
        self.client.prepare_transaction()
    }

    /// Commits the prepared transaction if `prepared` is it, else aborts.
    pub async fn complete_transaction(
        &self,
        prepared: PreparedTxnState,
    ) -> Result<(), TransactionError> {
        self.client.complete_transaction(prepared).await
    }

    /// The topic's partitions with their leader and replicas, from
    /// metadata within `max.block.ms` (Java's `partitionsFor`).
    ///
    /// ```no_run
    /// # async fn demo(p: kafka_txn::TransactionalProducer) -> Result<(), kafka_txn::TransactionError> {
    /// for info in p.partitions_for("orders").await? {
    ///     println!("orders-{} led by {:?}", info.partition, info.leader.map(|n| n.id));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn partitions_for(
        &self,
        topic: &str,
    ) -> Result<Vec<PartitionInfo>, TransactionError> {
        Ok(self.producer.partitions_for(topic).await?)
    }

    /// The producer's metrics, by Java's names (as `Producer::metrics`).
    ///
    /// ```no_run
    /// # async fn demo(p: kafka_txn::TransactionalProducer) -> Result<(), kafka_txn::TransactionError> {
    /// let m = p.metrics().await?;
    /// println!("{} records sent", m.get("record-send-total").unwrap_or(0.0));
    /// # Ok(()) }
    /// ```
    pub async fn metrics(&self) -> Result<ProducerMetrics, TransactionError> {
        Ok(self.producer.metrics().await?)
    }

    /// The id the cluster gave this client for its telemetry (KIP-714),
    /// within `timeout` (as `Producer::client_instance_id`).
    ///
    /// ```no_run
    /// # async fn demo(p: kafka_txn::TransactionalProducer) -> Result<(), kafka_txn::TransactionError> {
    /// let id = p.client_instance_id(std::time::Duration::from_secs(5)).await?;
    /// println!("telemetry id: {id:?}");
    /// # Ok(()) }
    /// ```
    pub async fn client_instance_id(
        &self,
        timeout: Duration,
    ) -> Result<Option<Uuid>, TransactionError> {
        Ok(self.producer.client_instance_id(timeout).await?)
    }

    /// Waits for every record sent so far.
    pub async fn flush(&self) -> Result<(), TransactionError> {
        Ok(self.producer.flush().await?)
    }

    /// Aborts an open transaction (within `timeout`), then closes the
    /// producer: every record still pending fails.
    pub async fn close(&self, timeout: Duration) {
        if self.state().has_open_transaction()
            && self.state() != TransactionState::PreparedTransaction
        {
            let _ = tokio::time::timeout(timeout, self.abort_transaction()).await;
        }
        self.client.close();
        self.producer.close(timeout).await;
    }
}
