//! Seeded simulations of transactions: the producer core and the
//! transaction manager, both sans-IO, driven together in one thread (the
//! manager answering the core's drain gate, as in `TransactionalProducer`)
//! against a fake cluster with a transaction coordinator, and a fake
//! clock. Faults: lost requests, lost responses (the broker acted, the
//! client cannot tell), delays, the coordinator moving, injected
//! CONCURRENT_TRANSACTIONS, markers that take time to write, and a rival
//! producer with the same transactional id fencing this one.
//!
//! The property, per seed: the `read_committed` view of the logs holds
//! exactly the records of the transactions the application saw commit,
//! each once; nothing of a transaction it saw abort; a transaction whose
//! outcome it could not learn (fenced while committing) is all or nothing;
//! the committed offsets are those of the last committed transaction.
//!
//! `SIM_SEED=n` replays one seed, `SIM_SEEDS=n` sets how many run,
//! `SIM_TRACE=1` prints every step.

#[path = "../../kafka-producer/tests/sim/rng.rs"]
#[allow(dead_code)]
mod rng;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_producer::core::{
    DrainGate, PendingRecord, ProducerCore, TopicPartition, Transmit, TransportFailure,
};
use kafka_producer::{ErrorClass, ProducerConfig, ProducerError, ProducerRecord};
use kafka_protocol::generated::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::generated::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::generated::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::generated::*;
use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::records::RecordBatch;
use kafka_protocol::ErrorCode;
use kafka_txn::{
    ConsumerGroupMetadata, OffsetAndMetadata, OperationId, TransactionConfig, TransactionError,
    TransactionEvent, TransactionManager, TransactionState,
};
use rng::Rng;

const TOPIC: &str = "out";
const PARTITIONS: i32 = 3;
const MS: u64 = 1_000_000;

// ------------------------------------------------------------------ cluster

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Committed,
    Aborted,
}

#[derive(Debug, Clone)]
struct Entry {
    record: u64,
    /// The coordinator's serial number of the transaction it was written in.
    txn: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TxnStatus {
    Empty,
    Ongoing,
    /// Markers being written until the time given: CONCURRENT_TRANSACTIONS.
    Completing(Outcome, u64),
    Complete(Outcome),
}

/// The transaction coordinator's state of the one transactional id, and
/// the partitions' logs.
struct Cluster {
    v2: bool,
    coordinator: i32,
    producer_id: i64,
    epoch: i16,
    last_epoch: i16,
    status: TxnStatus,
    txn: u64,
    partitions_in_txn: BTreeSet<i32>,
    pending_offsets: BTreeMap<i32, i64>,
    committed_offsets: BTreeMap<i32, i64>,
    outcomes: HashMap<u64, Outcome>,
    logs: Vec<Vec<Entry>>,
    sequences: Vec<Option<SequenceState>>,
}

/// A partition's idempotence state: the epoch, the last sequence, and the
/// last batches (base sequence, count, base offset) for duplicates.
type SequenceState = (i16, i32, Vec<(i32, i32, i64)>);

/// An answer on its way: (deliver at, send order, owner, request id, result).
type InTransit = (
    u64,
    u64,
    Owner,
    u64,
    Result<Option<ResponseKind>, TransportFailure>,
);

impl Cluster {
    fn new(v2: bool) -> Self {
        Cluster {
            v2,
            coordinator: 1,
            producer_id: 4000,
            epoch: -1,
            last_epoch: -1,
            status: TxnStatus::Empty,
            txn: 0,
            partitions_in_txn: BTreeSet::new(),
            pending_offsets: BTreeMap::new(),
            committed_offsets: BTreeMap::new(),
            outcomes: HashMap::new(),
            logs: vec![Vec::new(); PARTITIONS as usize],
            sequences: vec![None; PARTITIONS as usize],
        }
    }

    fn completing(&mut self, now: u64) -> bool {
        if let TxnStatus::Completing(o, until) = self.status {
            if now >= until {
                self.status = TxnStatus::Complete(o);
            }
        }
        matches!(self.status, TxnStatus::Completing(..))
    }

    fn start_txn(&mut self) {
        self.txn += 1;
        self.status = TxnStatus::Ongoing;
        self.partitions_in_txn.clear();
        self.pending_offsets.clear();
    }

    /// Writes the markers of the ongoing transaction.
    fn end(&mut self, outcome: Outcome, now: u64, rng: &mut Rng) {
        self.outcomes.insert(self.txn, outcome);
        if outcome == Outcome::Committed {
            self.committed_offsets
                .extend(std::mem::take(&mut self.pending_offsets));
        }
        self.status = TxnStatus::Completing(outcome, now + rng.range(0, 3) * MS);
    }

    fn epoch_error(&self, epoch: i16) -> Option<ErrorCode> {
        (epoch != self.epoch).then_some(ErrorCode::PRODUCER_FENCED)
    }

    fn init_producer_id(
        &mut self,
        req: &InitProducerIdRequest,
        now: u64,
        rng: &mut Rng,
    ) -> InitProducerIdResponse {
        let resp = |code: ErrorCode, s: &Cluster| InitProducerIdResponse {
            error_code: code.0,
            producer_id: s.producer_id,
            producer_epoch: s.epoch,
            ..Default::default()
        };
        if self.completing(now) {
            return resp(ErrorCode::CONCURRENT_TRANSACTIONS, self);
        }
        if req.producer_epoch >= 0 {
            if req.producer_epoch == self.last_epoch && req.producer_epoch != self.epoch {
                // A retry of a bump already done.
                return resp(ErrorCode::NONE, self);
            }
            if req.producer_epoch != self.epoch {
                return resp(ErrorCode::PRODUCER_FENCED, self);
            }
        }
        if self.status == TxnStatus::Ongoing {
            // Fencing (or the bump) aborts what is open.
            self.end(Outcome::Aborted, now, rng);
            self.status = TxnStatus::Complete(Outcome::Aborted);
        }
        self.last_epoch = if req.producer_epoch >= 0 {
            self.epoch
        } else {
            -1
        };
        self.epoch += 1;
        resp(ErrorCode::NONE, self)
    }

    fn add_partitions(
        &mut self,
        req: &AddPartitionsToTxnRequest,
        now: u64,
    ) -> AddPartitionsToTxnResponse {
        let code = if let Some(e) = self.epoch_error(req.v3_and_below_producer_epoch) {
            e
        } else if self.completing(now) {
            ErrorCode::CONCURRENT_TRANSACTIONS
        } else {
            if self.status != TxnStatus::Ongoing {
                self.start_txn();
            }
            for t in &req.v3_and_below_topics {
                self.partitions_in_txn.extend(t.partitions.iter().copied());
            }
            ErrorCode::NONE
        };
        AddPartitionsToTxnResponse {
            results_by_topic_v3_and_below: req
                .v3_and_below_topics
                .iter()
                .map(|t| AddPartitionsToTxnTopicResult {
                    name: t.name.clone(),
                    results_by_partition: t
                        .partitions
                        .iter()
                        .map(|p| AddPartitionsToTxnPartitionResult {
                            partition_index: *p,
                            partition_error_code: code.0,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn add_offsets(&mut self, req: &AddOffsetsToTxnRequest, now: u64) -> AddOffsetsToTxnResponse {
        let code = if let Some(e) = self.epoch_error(req.producer_epoch) {
            e
        } else if self.completing(now) {
            ErrorCode::CONCURRENT_TRANSACTIONS
        } else {
            if self.status != TxnStatus::Ongoing {
                self.start_txn();
            }
            ErrorCode::NONE
        };
        AddOffsetsToTxnResponse {
            error_code: code.0,
            ..Default::default()
        }
    }

    fn txn_offset_commit(
        &mut self,
        req: &TxnOffsetCommitRequest,
        now: u64,
    ) -> TxnOffsetCommitResponse {
        let code = if let Some(e) = self.epoch_error(req.producer_epoch) {
            e
        } else if self.v2 && self.completing(now) {
            ErrorCode::CONCURRENT_TRANSACTIONS
        } else if !self.v2 && self.status != TxnStatus::Ongoing {
            ErrorCode::INVALID_TXN_STATE
        } else {
            if self.status != TxnStatus::Ongoing {
                self.start_txn();
            }
            for t in &req.topics {
                for p in &t.partitions {
                    self.pending_offsets
                        .insert(p.partition_index, p.committed_offset);
                }
            }
            ErrorCode::NONE
        };
        TxnOffsetCommitResponse {
            topics: req
                .topics
                .iter()
                .map(|t| TxnOffsetCommitResponseTopic {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| TxnOffsetCommitResponsePartition {
                            partition_index: p.partition_index,
                            error_code: code.0,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn end_txn(&mut self, req: &EndTxnRequest, now: u64, rng: &mut Rng) -> EndTxnResponse {
        let wanted = if req.committed {
            Outcome::Committed
        } else {
            Outcome::Aborted
        };
        let resp = |code: ErrorCode, s: &Cluster| EndTxnResponse {
            error_code: code.0,
            producer_id: if s.v2 { s.producer_id } else { -1 },
            producer_epoch: if s.v2 { s.epoch } else { -1 },
            ..Default::default()
        };
        if self.completing(now) {
            return resp(ErrorCode::CONCURRENT_TRANSACTIONS, self);
        }
        if req.producer_epoch != self.epoch {
            // v2: a retry of an EndTxn that bumped the epoch.
            if self.v2
                && req.producer_epoch == self.epoch - 1
                && self.status == TxnStatus::Complete(wanted)
            {
                return resp(ErrorCode::NONE, self);
            }
            return resp(ErrorCode::PRODUCER_FENCED, self);
        }
        match self.status {
            TxnStatus::Ongoing => {
                self.end(wanted, now, rng);
                if self.v2 {
                    self.last_epoch = self.epoch;
                    self.epoch += 1;
                }
                resp(ErrorCode::NONE, self)
            }
            TxnStatus::Complete(o) if o == wanted && !self.v2 => resp(ErrorCode::NONE, self),
            _ if self.v2 && !req.committed => {
                self.last_epoch = self.epoch;
                self.epoch += 1;
                self.status = TxnStatus::Complete(Outcome::Aborted);
                resp(ErrorCode::NONE, self)
            }
            _ => resp(ErrorCode::INVALID_TXN_STATE, self),
        }
    }

    fn produce(
        &mut self,
        req: &ProduceRequest,
        now: u64,
        records: &mut HashMap<u64, u64>,
    ) -> ProduceResponse {
        let mut responses = Vec::new();
        for t in &req.topic_data {
            let mut parts = Vec::new();
            for pd in &t.partition_data {
                let (code, base) =
                    self.produce_partition(pd.index, pd.records.as_ref(), now, records);
                parts.push(PartitionProduceResponse {
                    index: pd.index,
                    error_code: code.0,
                    base_offset: base,
                    ..Default::default()
                });
            }
            responses.push(TopicProduceResponse {
                name: t.name.clone(),
                partition_responses: parts,
                ..Default::default()
            });
        }
        ProduceResponse {
            responses,
            ..Default::default()
        }
    }

    fn produce_partition(
        &mut self,
        partition: i32,
        bytes: Option<&bytes::Bytes>,
        now: u64,
        record_ids: &mut HashMap<u64, u64>,
    ) -> (ErrorCode, i64) {
        let Some(bytes) = bytes else {
            return (ErrorCode::CORRUPT_MESSAGE, -1);
        };
        let Ok((batch, _)) = RecordBatch::parse(bytes) else {
            return (ErrorCode::CORRUPT_MESSAGE, -1);
        };
        if !batch.is_transactional() {
            return (ErrorCode::INVALID_RECORD, -1);
        }
        if batch.producer_epoch < self.epoch {
            return (ErrorCode::INVALID_PRODUCER_EPOCH, -1);
        }
        if batch.producer_epoch > self.epoch {
            return (ErrorCode::INVALID_PRODUCER_EPOCH, -1);
        }
        if self.v2 {
            if self.completing(now) {
                return (ErrorCode::CONCURRENT_TRANSACTIONS, -1);
            }
            if self.status != TxnStatus::Ongoing {
                self.start_txn();
            }
            self.partitions_in_txn.insert(partition);
        } else if self.status != TxnStatus::Ongoing || !self.partitions_in_txn.contains(&partition)
        {
            return (ErrorCode::INVALID_TXN_STATE, -1);
        }
        let p = partition as usize;
        let count = batch.record_count;
        let seq = batch.base_sequence;
        let state = self.sequences[p].get_or_insert((batch.producer_epoch, -1, Vec::new()));
        if state.0 != batch.producer_epoch {
            *state = (batch.producer_epoch, -1, Vec::new());
        }
        if let Some((_, _, offset)) = state.2.iter().find(|(s, n, _)| *s == seq && *n == count) {
            return (ErrorCode::DUPLICATE_SEQUENCE_NUMBER, *offset);
        }
        if seq != state.1.wrapping_add(1) {
            return (ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, -1);
        }
        let base = self.logs[p].len() as i64;
        let Ok(records) = batch.records() else {
            return (ErrorCode::CORRUPT_MESSAGE, -1);
        };
        for r in records {
            let Ok(r) = r else {
                return (ErrorCode::CORRUPT_MESSAGE, -1);
            };
            let id: u64 = String::from_utf8_lossy(r.value.unwrap_or_default())
                .parse()
                .unwrap_or(u64::MAX);
            *record_ids.entry(id).or_default() += 1;
            self.logs[p].push(Entry {
                record: id,
                txn: self.txn,
            });
        }
        state.1 = seq + count - 1;
        state.2.push((seq, count, base));
        if state.2.len() > 5 {
            state.2.remove(0);
        }
        (ErrorCode::NONE, base)
    }

    /// What a `read_committed` reader sees: records of committed transactions.
    fn read_committed(&self) -> Vec<u64> {
        self.logs
            .iter()
            .flatten()
            .filter(|e| self.outcomes.get(&e.txn) == Some(&Outcome::Committed))
            .map(|e| e.record)
            .collect()
    }
}

// ------------------------------------------------------------------ driver

/// The manager as the core's drain gate (what `TransactionalProducer` does
/// across its two tasks, here in one thread).
struct Gate(Arc<Mutex<TransactionManager>>);

impl DrainGate for Gate {
    fn may_drain(&self, tp: &TopicPartition) -> bool {
        self.0.lock().unwrap().may_send_to(tp)
    }
    fn batch_opened(&self, tp: &TopicPartition) -> Result<(), ProducerError> {
        self.0
            .lock()
            .unwrap()
            .add_partitions([tp.clone()])
            .map_err(|_| ProducerError::TransactionAborted)
    }
    fn batch_failed(&self, _tp: &TopicPartition, e: &ProducerError) {
        self.0.lock().unwrap().produce_failed(e);
    }
    fn producer_stopped(&self, e: &ProducerError) {
        self.0.lock().unwrap().produce_failed(e);
    }
    fn produce_version_cap(&self) -> Option<i16> {
        self.0.lock().unwrap().produce_version_cap()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    Core,
    Manager,
}

/// What the application knows about each of its transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AppOutcome {
    Committed,
    Aborted,
    /// Fenced or fatal while committing: the outcome is the coordinator's.
    Unknown,
}

#[derive(Debug, Clone, Copy)]
enum AppState {
    Init(OperationId),
    Idle,
    /// send_offsets_to_transaction under way; then commit, or abort when true.
    Offsets(OperationId, bool),
    Committing(OperationId),
    Aborting(OperationId),
    Done,
}

struct Faults {
    /// A request that timed out for the client arrives at the broker later
    /// anyway (a zombie copy, after the client moved on).
    zombie: f64,
    lose_request: f64,
    lose_response: f64,
    concurrent: f64,
    coordinator_move: f64,
    rival: f64,
}

struct Sim {
    rng: Rng,
    trace: bool,
    now: u64,
    base: Instant,
    cluster: Cluster,
    mgr: Arc<Mutex<TransactionManager>>,
    core: ProducerCore,
    faults: Faults,
    pending: Vec<InTransit>,
    /// Zombie copies of requests: (arrive at, node, request).
    zombies: Vec<(u64, i32, RequestKind)>,
    conn_clock: HashMap<(Owner, i32), u64>,
    seq: u64,
    app: AppState,
    txns: Vec<(Vec<u64>, Option<i64>, AppOutcome)>,
    current: Vec<u64>,
    current_offset: Option<i64>,
    next_record: u64,
    written: HashMap<u64, u64>,
    flushing: Option<kafka_producer::core::FlushId>,
    transactions_left: u32,
    /// Transactions the application meant to run.
    planned: u32,
    /// Why the application stopped before running them all, and whether
    /// that was fencing (a rival producer took over: a legitimate end).
    stopped: Option<(String, bool)>,
}

impl Sim {
    fn instant(&self) -> Instant {
        self.base + Duration::from_nanos(self.now)
    }

    fn log(&self, f: impl FnOnce() -> String) {
        if self.trace {
            println!("{:>8.3} ms  {}", self.now as f64 / MS as f64, f());
        }
    }

    fn new(seed: u64, trace: bool) -> Self {
        let mut rng = Rng::new(seed, 1);
        let v2 = rng.chance(0.5);
        let cluster = Cluster::new(v2);
        let config = TransactionConfig {
            transactional_id: "sim".into(),
            transaction_timeout: Duration::from_secs(60),
            retry_backoff: Duration::from_millis(rng.range(5, 50)),
            bootstrap_servers: vec!["b1:9092".into()],
            two_phase_commit: false,
        };
        let mut manager = TransactionManager::new(config);
        // As the client does on connecting: the broker's versions and features.
        manager.handle_connected(&broker_versions(v2));
        let mgr = Arc::new(Mutex::new(manager));
        let pconfig = ProducerConfig::from_properties([
            ("bootstrap.servers", "b1:9092"),
            ("transactional.id", "sim"),
            ("linger.ms", "2"),
            ("request.timeout.ms", "100"),
            ("delivery.timeout.ms", "2000"),
            ("retry.backoff.ms", "5"),
            ("retry.backoff.max.ms", "20"),
        ])
        .unwrap();
        let mut core = ProducerCore::new(Arc::new(pconfig), seed).unwrap();
        core.set_drain_gate(Arc::new(Gate(mgr.clone())));
        let faults = Faults {
            zombie: rng.unit() * 0.05,
            lose_request: rng.unit() * 0.05,
            lose_response: rng.unit() * 0.08,
            concurrent: rng.unit() * 0.1,
            coordinator_move: rng.unit() * 0.03,
            rival: if rng.chance(0.3) {
                rng.unit() * 0.003
            } else {
                0.0
            },
        };
        let planned = rng.range(10, 30) as u32;
        let op = mgr.lock().unwrap().init_transactions(false).unwrap();
        Sim {
            trace,
            now: 0,
            base: Instant::now(),
            cluster,
            core,
            faults,
            pending: Vec::new(),
            zombies: Vec::new(),
            conn_clock: HashMap::new(),
            seq: 0,
            app: AppState::Init(op),
            txns: Vec::new(),
            current: Vec::new(),
            current_offset: None,
            next_record: 0,
            written: HashMap::new(),
            flushing: None,
            transactions_left: planned,
            planned,
            stopped: None,
            mgr,
            rng,
        }
    }

    /// Sends one request through the network.
    fn send(&mut self, owner: Owner, t: Transmit) {
        let api = t.request.api_key();
        let node = t.node.id;
        let conn = (owner, node);
        let latency = self.rng.range(0, 2) * MS + self.rng.range(0, 1000) * 1000;
        let at = (*self.conn_clock.get(&conn).unwrap_or(&0)).max(self.now + latency);
        self.conn_clock.insert(conn, at);
        self.seq += 1;
        if matches!(t.request, RequestKind::EndTxn(_) | RequestKind::Produce(_))
            && self.rng.chance(self.faults.zombie)
        {
            let arrive = self.now + self.rng.range(20, 400) * MS;
            self.log(|| {
                format!(
                    "{owner:?} {api:?} stuck in the network until {} ms",
                    arrive / MS
                )
            });
            self.zombies.push((arrive, node, t.request));
            let f = TransportFailure {
                message: "request timed out".into(),
                connect_failed: false,
                authentication: false,
            };
            self.pending
                .push((at + 100 * MS, self.seq, owner, t.request_id, Err(f)));
            return;
        }
        if self.rng.chance(self.faults.lose_request) {
            self.log(|| format!("{owner:?} {api:?} lost on the way"));
            let f = TransportFailure {
                message: "request timed out".into(),
                connect_failed: false,
                authentication: false,
            };
            self.pending
                .push((at + 100 * MS, self.seq, owner, t.request_id, Err(f)));
            return;
        }
        let resp = self.serve(node, t.request);
        if self.rng.chance(self.faults.lose_response) {
            self.log(|| format!("{owner:?} {api:?} applied, response lost"));
            let f = TransportFailure {
                message: "connection reset".into(),
                connect_failed: false,
                authentication: false,
            };
            self.pending
                .push((at + 100 * MS, self.seq, owner, t.request_id, Err(f)));
            return;
        }
        self.log(|| format!("{owner:?} {api:?} -> {}", describe(&resp)));
        self.pending
            .push((at, self.seq, owner, t.request_id, Ok(resp)));
    }

    fn serve(&mut self, node: i32, request: RequestKind) -> Option<ResponseKind> {
        let now = self.now;
        let not_coordinator = node >= 0 && node != self.cluster.coordinator;
        let concurrent = self.rng.chance(self.faults.concurrent);
        Some(match request {
            RequestKind::Metadata(_) => ResponseKind::Metadata(metadata()),
            RequestKind::FindCoordinator(_) => {
                ResponseKind::FindCoordinator(FindCoordinatorResponse {
                    node_id: self.cluster.coordinator,
                    host: format!("b{}", self.cluster.coordinator).into(),
                    port: 9092,
                    ..Default::default()
                })
            }
            RequestKind::InitProducerId(r) => ResponseKind::InitProducerId(if not_coordinator {
                InitProducerIdResponse {
                    error_code: ErrorCode::NOT_COORDINATOR.0,
                    ..Default::default()
                }
            } else if concurrent {
                InitProducerIdResponse {
                    error_code: ErrorCode::CONCURRENT_TRANSACTIONS.0,
                    ..Default::default()
                }
            } else {
                self.cluster.init_producer_id(&r, now, &mut self.rng)
            }),
            RequestKind::AddPartitionsToTxn(r) => {
                let mut resp = self.cluster.add_partitions(&r, now);
                if not_coordinator || concurrent {
                    let code = if not_coordinator {
                        ErrorCode::NOT_COORDINATOR
                    } else {
                        ErrorCode::CONCURRENT_TRANSACTIONS
                    };
                    for t in &mut resp.results_by_topic_v3_and_below {
                        for p in &mut t.results_by_partition {
                            p.partition_error_code = code.0;
                        }
                    }
                }
                ResponseKind::AddPartitionsToTxn(resp)
            }
            RequestKind::AddOffsetsToTxn(r) => ResponseKind::AddOffsetsToTxn(if not_coordinator {
                AddOffsetsToTxnResponse {
                    error_code: ErrorCode::NOT_COORDINATOR.0,
                    ..Default::default()
                }
            } else {
                self.cluster.add_offsets(&r, now)
            }),
            RequestKind::TxnOffsetCommit(r) => {
                ResponseKind::TxnOffsetCommit(self.cluster.txn_offset_commit(&r, now))
            }
            RequestKind::EndTxn(r) => ResponseKind::EndTxn(if not_coordinator {
                EndTxnResponse {
                    error_code: ErrorCode::NOT_COORDINATOR.0,
                    producer_id: -1,
                    producer_epoch: -1,
                    ..Default::default()
                }
            } else {
                self.cluster.end_txn(&r, now, &mut self.rng)
            }),
            RequestKind::Produce(r) => {
                ResponseKind::Produce(self.cluster.produce(&r, now, &mut self.written))
            }
            other => panic!("unexpected {:?}", other.api_key()),
        })
    }

    /// One step of the application.
    fn app_step(&mut self) {
        let mut mgr = self.mgr.lock().unwrap();
        match self.app {
            AppState::Init(op) => match mgr.take_result(op) {
                Some(Ok(())) => self.app = AppState::Idle,
                Some(Err(e)) => {
                    drop(mgr);
                    self.log(|| format!("app: init failed: {e}"));
                    self.stop(format!("init failed: {e}"), fenced(&e));
                }
                None => {}
            },
            AppState::Idle if mgr.state() == TransactionState::FatalError => {
                let why = format!("the manager went fatal: {:?}", mgr.last_error());
                let was_fenced = mgr.last_error().is_some_and(fenced);
                drop(mgr);
                self.stop(why, was_fenced);
            }
            AppState::Idle if self.transactions_left == 0 => self.app = AppState::Done,
            AppState::Idle => {
                if let Err(e) = mgr.begin_transaction() {
                    drop(mgr);
                    self.stop(format!("begin_transaction failed: {e}"), fenced(&e));
                    return;
                }
                drop(mgr);
                self.transactions_left -= 1;
                let n = self.rng.range(1, 12);
                for _ in 0..n {
                    let id = self.next_record;
                    self.next_record += 1;
                    let record = ProducerRecord::new(TOPIC)
                        .partition(self.rng.index(PARTITIONS as usize) as i32)
                        .value(id.to_string());
                    let now = self.instant();
                    let _ = self.core.enqueue(PendingRecord::new(record, 0, 64), || now);
                    self.current.push(id);
                }
                let mut mgr = self.mgr.lock().unwrap();
                self.current_offset = None;
                let abort = self.rng.chance(0.25);
                if self.rng.chance(0.5) {
                    let offset = self.next_record as i64;
                    let tp = TopicPartition {
                        topic: Arc::from("in"),
                        partition: 0,
                    };
                    match mgr.send_offsets(
                        [(tp, OffsetAndMetadata::new(offset))],
                        ConsumerGroupMetadata::new("g"),
                    ) {
                        Ok(Some(op)) => {
                            self.current_offset = Some(offset);
                            self.app = AppState::Offsets(op, abort);
                            return;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            drop(mgr);
                            return self.failed_commit(e);
                        }
                    }
                }
                drop(mgr);
                self.end(abort);
            }
            AppState::Offsets(op, abort) => match mgr.take_result(op) {
                Some(Ok(())) => {
                    drop(mgr);
                    self.end(abort);
                }
                Some(Err(e)) => {
                    drop(mgr);
                    self.failed_commit(e);
                }
                None => {}
            },
            AppState::Committing(op) => match mgr.take_result(op) {
                Some(Ok(())) => {
                    drop(mgr);
                    self.finish(AppOutcome::Committed);
                }
                Some(Err(e)) => {
                    drop(mgr);
                    self.failed_commit(e);
                }
                None => {}
            },
            AppState::Aborting(op) => match mgr.take_result(op) {
                Some(Ok(())) => {
                    drop(mgr);
                    self.finish(AppOutcome::Aborted);
                }
                Some(Err(e)) => {
                    drop(mgr);
                    self.log(|| format!("app: abort failed: {e}"));
                    self.finish(AppOutcome::Aborted);
                    self.stop(format!("abort failed: {e}"), fenced(&e));
                }
                None => {}
            },
            AppState::Done => {}
        }
    }

    /// Commits (or aborts) the open transaction.
    fn end(&mut self, abort: bool) {
        let r = {
            let mut mgr = self.mgr.lock().unwrap();
            if abort {
                mgr.begin_abort(true)
            } else {
                mgr.begin_commit(true)
            }
        };
        match r {
            Ok(op) if abort => {
                self.core.abort_unsent(ProducerError::TransactionAborted);
                self.app = AppState::Aborting(op);
                self.flushing = Some(self.core.begin_flush());
            }
            Ok(op) => {
                self.app = AppState::Committing(op);
                self.flushing = Some(self.core.begin_flush());
            }
            Err(e) => self.failed_commit(e),
        }
    }

    fn failed_commit(&mut self, e: TransactionError) {
        self.log(|| format!("app: commit failed ({:?}): {e}", e.class()));
        if e.class() == ErrorClass::Abortable {
            let r = self.mgr.lock().unwrap().begin_abort(true);
            match r {
                Ok(op) => {
                    self.core.abort_unsent(ProducerError::TransactionAborted);
                    self.app = AppState::Aborting(op);
                    self.flushing = Some(self.core.begin_flush());
                }
                Err(abort) => {
                    self.finish(AppOutcome::Unknown);
                    self.stop(
                        format!("commit failed: {e}; abort refused: {abort}"),
                        fenced(&abort),
                    );
                }
            }
        } else {
            self.finish(AppOutcome::Unknown);
            self.stop(format!("commit failed: {e}"), fenced(&e));
        }
    }

    /// The application stops before running all its transactions.
    fn stop(&mut self, why: String, fenced: bool) {
        self.log(|| format!("app: stops: {why}"));
        self.stopped = Some((why, fenced));
        self.app = AppState::Done;
    }

    fn finish(&mut self, outcome: AppOutcome) {
        let records = std::mem::take(&mut self.current);
        self.log(|| format!("app: transaction of {} records: {outcome:?}", records.len()));
        self.txns
            .push((records, self.current_offset.take(), outcome));
        if !matches!(self.app, AppState::Done) {
            self.app = AppState::Idle;
        }
    }

    fn run(&mut self) -> Result<(), String> {
        for _ in 0..200_000 {
            if matches!(self.app, AppState::Done)
                && self.pending.is_empty()
                && self.zombies.is_empty()
            {
                break;
            }
            let now = self.instant();
            // Chaos.
            if self.rng.chance(self.faults.coordinator_move) {
                self.cluster.coordinator = 3 - self.cluster.coordinator;
                self.log(|| format!("chaos: coordinator moves to {}", self.cluster.coordinator));
            }
            if self.rng.chance(self.faults.rival) {
                let r = InitProducerIdRequest {
                    transactional_id: Some("sim".into()),
                    producer_id: -1,
                    producer_epoch: -1,
                    ..Default::default()
                };
                let resp = self.cluster.init_producer_id(&r, self.now, &mut self.rng);
                self.log(|| {
                    format!(
                        "chaos: a rival producer takes epoch {}",
                        resp.producer_epoch
                    )
                });
            }
            // Zombie copies arrive; their answers go nowhere.
            while let Some(pos) = self.zombies.iter().position(|(at, ..)| *at <= self.now) {
                let (_, node, request) = self.zombies.remove(pos);
                let api = request.api_key();
                let resp = self.serve(node, request);
                self.log(|| format!("zombie {api:?} arrives: {}", describe(&resp)));
            }
            // Outputs.
            loop {
                let t = self.mgr.lock().unwrap().poll_transmit(now);
                let Some(t) = t else { break };
                self.send(Owner::Manager, t);
            }
            while let Some(t) = self.core.poll_transmit(now) {
                self.send(Owner::Core, t);
            }
            loop {
                let ev = self.mgr.lock().unwrap().poll_event();
                match ev {
                    Some(TransactionEvent::ProducerId(p)) => self.core.adopt_producer_id(p),
                    Some(TransactionEvent::AbortUnsent(_)) => {
                        self.core.abort_unsent(ProducerError::TransactionAborted)
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            if let Some(f) = self.flushing {
                if self.core.flushed(f) {
                    self.flushing = None;
                    self.mgr.lock().unwrap().batches_done();
                }
            }
            self.core.take_released_permits();
            self.app_step();
            // Inputs: the next answer due.
            self.pending.sort_by_key(|(at, seq, ..)| (*at, *seq));
            if let Some(&(at, ..)) = self.pending.first() {
                if at <= self.now {
                    let (_, _, owner, id, result) = self.pending.remove(0);
                    match owner {
                        Owner::Core => self.core.handle_response(id, result, now),
                        Owner::Manager => self.mgr.lock().unwrap().handle_response(id, result, now),
                    }
                    continue;
                }
            }
            self.core.handle_timeout(now);
            self.mgr.lock().unwrap().handle_timeout(now);
            self.now += MS / 2;
        }
        self.check()
    }

    fn check(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        if !matches!(self.app, AppState::Done) {
            errors.push(format!("the run did not finish: {:?}", self.app));
        }
        // Every planned transaction ran, unless a rival producer fenced
        // this one (only seeds with a rival have one).
        let ran = self.txns.len() as u32;
        if ran < self.planned {
            match &self.stopped {
                Some((_, true)) if self.faults.rival > 0.0 => {}
                Some((why, _)) => errors.push(format!(
                    "only {ran} of {} transactions ran: {why}",
                    self.planned
                )),
                None => errors.push(format!(
                    "only {ran} of {} transactions ran, and nothing said why",
                    self.planned
                )),
            }
        }
        let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
        for r in self.cluster.read_committed() {
            *seen.entry(r).or_default() += 1;
        }
        for (r, n) in &seen {
            if *n > 1 {
                errors.push(format!("record {r} is {n} times in the committed view"));
            }
        }
        let mut last_offset = None;
        for (i, (records, offset, outcome)) in self.txns.iter().enumerate() {
            let visible = records.iter().filter(|r| seen.contains_key(r)).count();
            match outcome {
                AppOutcome::Committed => {
                    if visible != records.len() {
                        errors.push(format!(
                            "transaction {i} committed, but {visible} of {} records are visible",
                            records.len()
                        ));
                    }
                    if offset.is_some() {
                        last_offset = *offset;
                    }
                }
                AppOutcome::Aborted => {
                    if visible != 0 {
                        errors.push(format!(
                            "transaction {i} aborted, but {visible} of its records are visible"
                        ));
                    }
                }
                AppOutcome::Unknown => {
                    if visible != 0 && visible != records.len() {
                        errors.push(format!(
                            "transaction {i} half visible: {visible} of {}",
                            records.len()
                        ));
                    }
                    if visible == records.len() && offset.is_some() {
                        last_offset = *offset;
                    }
                }
            }
        }
        let known: BTreeSet<u64> = self
            .txns
            .iter()
            .flat_map(|(r, ..)| r.iter().copied())
            .collect();
        for r in seen.keys() {
            if !known.contains(r) {
                errors.push(format!(
                    "record {r} visible but its transaction never ended"
                ));
            }
        }
        // An unknown outcome counts as committed exactly when its records
        // are visible (records and offsets commit together).
        let committed_offset = self.cluster.committed_offsets.get(&0).copied();
        if committed_offset != last_offset {
            errors.push(format!("committed offset {committed_offset:?}, the last committed transaction sent {last_offset:?}"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n"))
        }
    }
}

/// A 4.x broker's versions, with transactions v2 finalized or not.
fn broker_versions(v2: bool) -> kafka_codec::BrokerVersions {
    use kafka_protocol::generated::api_versions_response::{ApiVersion, FinalizedFeatureKey};
    use kafka_protocol::messages::ApiKey;
    let api = |key: ApiKey, max: i16| ApiVersion {
        api_key: key as i16,
        min_version: 0,
        max_version: max,
        ..Default::default()
    };
    kafka_codec::BrokerVersions::from_response(&ApiVersionsResponse {
        api_keys: vec![
            api(ApiKey::Produce, 12),
            api(ApiKey::EndTxn, 5),
            api(ApiKey::TxnOffsetCommit, 5),
            api(ApiKey::InitProducerId, 5),
            api(ApiKey::FindCoordinator, 6),
            api(ApiKey::AddPartitionsToTxn, 5),
            api(ApiKey::AddOffsetsToTxn, 4),
            api(ApiKey::Metadata, 12),
        ],
        finalized_features: vec![FinalizedFeatureKey {
            name: "transaction.version".into(),
            min_version_level: if v2 { 2 } else { 0 },
            max_version_level: if v2 { 2 } else { 0 },
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn metadata() -> MetadataResponse {
    MetadataResponse {
        brokers: [1, 2]
            .iter()
            .map(|id| MetadataResponseBroker {
                node_id: *id,
                host: format!("b{id}").into(),
                port: 9092,
                ..Default::default()
            })
            .collect(),
        topics: vec![MetadataResponseTopic {
            name: Some(TOPIC.into()),
            partitions: (0..PARTITIONS)
                .map(|p| MetadataResponsePartition {
                    partition_index: p,
                    leader_id: 1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn describe(resp: &Option<ResponseKind>) -> String {
    match resp {
        Some(ResponseKind::Produce(p)) => format!(
            "Produce {:?}",
            p.responses
                .iter()
                .flat_map(|t| t
                    .partition_responses
                    .iter()
                    .map(|p| (p.index, ErrorCode(p.error_code).name())))
                .collect::<Vec<_>>()
        ),
        Some(ResponseKind::EndTxn(r)) => format!(
            "EndTxn {} epoch {}",
            ErrorCode(r.error_code).name(),
            r.producer_epoch
        ),
        Some(ResponseKind::InitProducerId(r)) => {
            format!(
                "InitProducerId {} epoch {}",
                ErrorCode(r.error_code).name(),
                r.producer_epoch
            )
        }
        Some(other) => format!("{:?}", other.api_key()),
        None => "written".into(),
    }
}

/// Whether `e` means another producer took over the transactional id.
fn fenced(e: &TransactionError) -> bool {
    e.class() == ErrorClass::ApplicationRecoverable
}

#[test]
fn read_committed_sees_exactly_the_committed_transactions() {
    let trace = std::env::var("SIM_TRACE").is_ok();
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.parse().expect("SIM_SEED")],
        Err(_) => {
            let n: u64 = std::env::var("SIM_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(300);
            (0..n).collect()
        }
    };
    let mut failures = Vec::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for seed in seeds {
        let mut sim = Sim::new(seed, trace);
        let result = sim.run();
        for t in &sim.txns {
            *outcomes.entry(format!("{:?}", t.2)).or_default() += 1;
        }
        *outcomes
            .entry(format!(
                "epoch bumps on the broker {}",
                if sim.cluster.v2 { "(v2)" } else { "(v1)" }
            ))
            .or_default() += sim.cluster.epoch.max(0) as usize;
        if let Some((_, was_fenced)) = &sim.stopped {
            let why = if *was_fenced { "fenced" } else { "not fenced" };
            *outcomes
                .entry(format!("seeds stopped early ({why})"))
                .or_default() += 1;
        }
        if let Err(e) = result {
            failures.push(format!("seed {seed} (v2: {}):\n{e}", sim.cluster.v2));
        }
    }
    println!("transactions by outcome: {outcomes:?}");
    assert!(
        failures.is_empty(),
        "{} seeds failed; first:\n{}",
        failures.len(),
        failures[0]
    );
    let n = |k: &str| outcomes.get(k).copied().unwrap_or(0);
    assert!(
        n("Committed") > 0 && n("Aborted") > 0,
        "the runs commit and abort: {outcomes:?}"
    );
}
