//! The handle a test holds: starting, stopping, faults and inspection.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fault::Fault;
use crate::log::StoredRecord;
use crate::server::{serve, Generations, Shared};
use crate::state::{BrokerInfo, RequestLogEntry, State};
use crate::EndedTransaction;

/// How a [`FakeCluster`] starts.
#[derive(Debug, Clone)]
pub struct FakeClusterBuilder {
    brokers: usize,
    ports: Vec<u16>,
    topics: Vec<(String, i32)>,
    auto_create: bool,
    default_partitions: i32,
    max_versions: HashMap<ApiKey, i16>,
    max_message_bytes: usize,
    transaction_version: i16,
    sink: bool,
    sasl_users: Option<std::collections::BTreeMap<String, String>>,
    racks: HashMap<i32, String>,
}

impl Default for FakeClusterBuilder {
    fn default() -> Self {
        FakeClusterBuilder {
            brokers: 1,
            ports: Vec::new(),
            topics: Vec::new(),
            auto_create: true,
            default_partitions: 1,
            max_versions: HashMap::new(),
            max_message_bytes: crate::state::DEFAULT_MAX_MESSAGE_BYTES,
            transaction_version: 2,
            sink: false,
            sasl_users: None,
            racks: HashMap::new(),
        }
    }
}

impl FakeClusterBuilder {
    /// Number of brokers (ids 1..=n); 1 by default.
    pub fn brokers(mut self, n: usize) -> Self {
        self.brokers = n.max(1);
        self
    }

    /// Listen on these ports, one per broker in order (default: ephemeral).
    pub fn ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        self.ports = ports.into_iter().collect();
        self
    }

    /// Broker `id`'s `broker.rack`, reported in metadata (for rack-aware
    /// clients); brokers have none by default.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cluster = kafka_fake::FakeCluster::builder()
    ///     .brokers(2)
    ///     .broker_rack(1, "eu-west-1a")
    ///     .broker_rack(2, "eu-west-1b")
    ///     .start()
    ///     .await
    ///     .unwrap();
    /// # drop(cluster); }
    /// ```
    pub fn broker_rack(mut self, id: i32, rack: &str) -> Self {
        self.racks.insert(id, rack.to_string());
        self
    }

    /// A topic that exists from the start, its leaders spread over the brokers.
    pub fn topic(mut self, name: &str, partitions: i32) -> Self {
        self.topics.push((name.to_string(), partitions));
        self
    }

    /// Whether Metadata creates the topics it is asked for
    /// (`auto.create.topics.enable`, on by default as in Kafka).
    pub fn auto_create_topics(mut self, on: bool) -> Self {
        self.auto_create = on;
        self
    }

    /// Partitions of an auto-created topic (`num.partitions`, default 1).
    pub fn default_partitions(mut self, n: i32) -> Self {
        self.default_partitions = n.max(1);
        self
    }

    /// The highest version of `api` the brokers advertise, to play an older
    /// broker (`Produce` at 12: topics by name only).
    pub fn max_version(mut self, api: ApiKey, version: i16) -> Self {
        self.max_versions.insert(api, version);
        self
    }

    /// The largest batch a Produce may carry (Kafka's `message.max.bytes`,
    /// default 1048588); a larger one is answered MESSAGE_TOO_LARGE.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// The finalized `transaction.version`: 2 (the default, KIP-890's
    /// transactions v2, as Kafka 4.x) or 1 (transactions v1, as Kafka 3.x).
    pub fn transaction_version(mut self, level: i16) -> Self {
        self.transaction_version = level.clamp(0, 2);
        self
    }

    /// Sink mode: Produce requests are acknowledged with offsets but neither
    /// checked nor stored, so a producer's throughput ceiling can be
    /// measured without a broker's cost (`records` stays empty).
    pub fn sink(mut self, on: bool) -> Self {
        self.sink = on;
        self
    }

    /// Every listener takes SASL (as a SASL_PLAINTEXT listener): PLAIN,
    /// SCRAM-SHA-256 or SCRAM-SHA-512 as one of these (user, password);
    /// a connection must authenticate before anything but ApiVersions.
    #[cfg(feature = "sasl")]
    pub fn sasl_users<U, P>(mut self, users: impl IntoIterator<Item = (U, P)>) -> Self
    where
        U: Into<String>,
        P: Into<String>,
    {
        self.sasl_users = Some(
            users
                .into_iter()
                .map(|(u, p)| (u.into(), p.into()))
                .collect(),
        );
        self
    }

    /// Binds every broker and starts serving (inside a tokio runtime).
    pub async fn start(self) -> io::Result<FakeCluster> {
        let mut listeners = Vec::new();
        for i in 0..self.brokers {
            let port = self.ports.get(i).copied().unwrap_or(0);
            let listener = TcpListener::bind(("127.0.0.1", port)).await?;
            let port = listener.local_addr()?.port();
            listeners.push((i as i32 + 1, port, listener));
        }
        let infos = listeners
            .iter()
            .map(|(id, port, _)| BrokerInfo {
                id: *id,
                port: *port,
                up: true,
                rack: self.racks.get(id).cloned(),
            })
            .collect();
        let mut state = State::new(infos);
        state.auto_create = self.auto_create;
        state.default_partitions = self.default_partitions;
        state.max_versions = self.max_versions;
        state.max_message_bytes = self.max_message_bytes;
        state.transaction_version = self.transaction_version;
        state.sink = self.sink;
        state.sasl_users = self.sasl_users;
        for (name, partitions) in &self.topics {
            state.create_topic(name, *partitions).map_err(|code| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("topic {name}: {code}"))
            })?;
        }
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for (id, _, _) in &listeners {
            let (tx, rx) = watch::channel(Generations::default());
            senders.push((*id, tx));
            receivers.push((*id, rx));
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            latency_us: AtomicU64::new(0),
            generations: receivers,
        });
        let tasks = listeners
            .into_iter()
            .map(|(id, _, listener)| (id, tokio::spawn(serve(shared.clone(), id, listener))))
            .collect();
        Ok(FakeCluster {
            shared,
            generations: senders,
            tasks: Mutex::new(tasks),
        })
    }
}

/// A running fake cluster; stopped when dropped.
pub struct FakeCluster {
    shared: Arc<Shared>,
    generations: Vec<(i32, watch::Sender<Generations>)>,
    tasks: Mutex<HashMap<i32, JoinHandle<()>>>,
}

impl std::fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCluster")
            .field("bootstrap", &self.bootstrap())
            .finish()
    }
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            task.abort();
        }
        // The connections end with their generation's sender.
    }
}

impl FakeCluster {
    /// A cluster of one broker, no topic, auto-creation on.
    pub fn builder() -> FakeClusterBuilder {
        FakeClusterBuilder::default()
    }

    /// `bootstrap.servers` for a client: every broker, comma-separated.
    pub fn bootstrap(&self) -> String {
        let state = self.shared.lock();
        state
            .brokers
            .iter()
            .map(|b| format!("127.0.0.1:{}", b.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The address of broker `id`.
    pub fn broker_addr(&self, id: i32) -> Option<String> {
        let state = self.shared.lock();
        state
            .brokers
            .iter()
            .find(|b| b.id == id)
            .map(|b| format!("127.0.0.1:{}", b.port))
    }

    /// Creates a topic (an error names Kafka's code, e.g. TOPIC_ALREADY_EXISTS).
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
    ) -> Result<(), kafka_protocol::ErrorCode> {
        self.shared
            .lock()
            .create_topic(name, partitions)
            .map(|_| ())
    }

    /// Answers requests with an error, as `fault` says.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Faults injected and not used up yet.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.shared.lock().faults.clone()
    }

    /// Waits this long before every answer (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.shared.latency_us.store(us, Ordering::Relaxed);
    }

    /// The `throttle_time_ms` every response carries (a quota's throttle).
    pub fn set_throttle(&self, ms: i32) {
        self.shared.lock().throttle_ms = ms.max(0);
    }

    /// Closes every connection to broker `id` (it keeps listening).
    pub fn drop_connections(&self, id: i32) {
        self.bump(id, |g| g.close += 1);
    }

    /// Half-closes every open connection to broker `id`: the broker sends
    /// FIN (the client reads the end of the stream) but keeps reading, and
    /// drops what it reads. New connections are served as usual.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use kafka_producer::{Producer, ProducerRecord};
    ///
    /// let cluster = kafka_fake::FakeCluster::builder().topic("t", 1).start().await.unwrap();
    /// let producer = Producer::from_properties([("bootstrap.servers", cluster.bootstrap())]).unwrap();
    /// producer.send(ProducerRecord::new("t").value("a")).await.unwrap().await.unwrap();
    /// cluster.half_close_connections(1);
    /// // The producer sees the end of its connection and opens another.
    /// producer.send(ProducerRecord::new("t").value("b")).await.unwrap().await.unwrap();
    /// assert_eq!(cluster.records("t", 0).len(), 2);
    /// # }
    /// ```
    pub fn half_close_connections(&self, id: i32) {
        self.bump(id, |g| g.half_close += 1);
    }

    /// Silences every open connection to broker `id`: it stays open, its
    /// requests are read and never answered (a broker hung, or gone without
    /// a FIN or RST reaching the client), until the client gives up on it.
    /// New connections are served as usual.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use kafka_producer::{Producer, ProducerRecord};
    ///
    /// let cluster = kafka_fake::FakeCluster::builder().topic("t", 1).start().await.unwrap();
    /// let producer = Producer::from_properties([
    ///     ("bootstrap.servers", cluster.bootstrap()),
    ///     ("request.timeout.ms", "1000".to_string()),
    /// ])
    /// .unwrap();
    /// producer.send(ProducerRecord::new("t").value("a")).await.unwrap().await.unwrap();
    /// cluster.silence_connections(1);
    /// // Unanswered for request.timeout.ms, then sent again on a new connection.
    /// producer.send(ProducerRecord::new("t").value("b")).await.unwrap().await.unwrap();
    /// assert_eq!(cluster.records("t", 0).len(), 2);
    /// # }
    /// ```
    pub fn silence_connections(&self, id: i32) {
        self.bump(id, |g| g.silence += 1);
    }

    fn bump(&self, id: i32, f: impl FnOnce(&mut Generations)) {
        if let Some((_, tx)) = self.generations.iter().find(|(b, _)| *b == id) {
            tx.send_modify(f);
        }
    }

    /// Stops broker `id`: its port closes, its connections drop, and its
    /// partitions get a new leader among the brokers still up.
    pub fn stop_broker(&self, id: i32) {
        if let Some(task) = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
        {
            task.abort();
        }
        self.shared.lock().set_up(id, false);
        self.drop_connections(id);
    }

    /// Starts a stopped broker again on its port (leaders stay where they are).
    pub async fn restart_broker(&self, id: i32) -> io::Result<()> {
        let port = {
            let state = self.shared.lock();
            let b = state.brokers.iter().find(|b| b.id == id).ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no broker {id}"))
            })?;
            b.port
        };
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        self.shared.lock().set_up(id, true);
        let task = tokio::spawn(serve(self.shared.clone(), id, listener));
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, task);
        Ok(())
    }

    /// Makes broker `broker` the leader of a partition (a new leader
    /// epoch); the old leader answers NOT_LEADER_OR_FOLLOWER from now on.
    pub fn move_leader(&self, topic: &str, partition: i32, broker: i32) -> bool {
        self.shared.lock().move_leader(topic, partition, broker)
    }

    /// Every transaction the coordinator ended, in the order it ended
    /// (transactions open longer than their timeout are aborted first).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use kafka_fake::TxnOutcome;
    /// use kafka_txn::{ProducerRecord, TransactionalProducer};
    ///
    /// let cluster = kafka_fake::FakeCluster::builder().topic("t", 1).start().await.unwrap();
    /// let p = TransactionalProducer::from_properties([
    ///     ("bootstrap.servers", cluster.bootstrap()),
    ///     ("transactional.id", "tid".to_string()),
    /// ])
    /// .unwrap();
    /// p.init_transactions().await.unwrap();
    /// p.begin_transaction().unwrap();
    /// let _ = p.send(ProducerRecord::new("t").value("v")).await.unwrap();
    /// p.commit_transaction().await.unwrap();
    /// let ended = cluster.transactions();
    /// assert_eq!(ended[0].outcome, TxnOutcome::Committed);
    /// assert_eq!(ended[0].partitions, [("t".to_string(), 0)]);
    /// # }
    /// ```
    pub fn transactions(&self) -> Vec<EndedTransaction> {
        let mut state = self.shared.lock();
        state.advance_clock(std::time::Instant::now());
        state.ended_transactions().to_vec()
    }

    /// The leader of a partition.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        self.shared
            .lock()
            .partition_mut(topic, partition)
            .map(|p| p.leader)
    }

    /// The records of a partition as stored, in offset order.
    pub fn records(&self, topic: &str, partition: i32) -> Vec<StoredRecord> {
        self.shared
            .lock()
            .partition_mut(topic, partition)
            .map(|p| p.log.records())
            .unwrap_or_default()
    }

    /// The offset the next record of a partition gets.
    pub fn end_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.shared
            .lock()
            .partition_mut(topic, partition)
            .map(|p| p.log.end_offset())
    }

    /// The offset committed for a group's partition (with a transaction), if any.
    pub fn committed_offset(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        let key = (group.to_string(), topic.to_string(), partition);
        self.shared.lock().coordinators.offsets.get(&key).copied()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.shared.lock().requests.clone()
    }
}
