//! Bookkeeping for runs under faults: records whose value names their key
//! and per-key sequence, a [`Tracker`] that times every record's outcome as
//! it happens, and the read-back [`check`] that counts lost, duplicated and
//! reordered records.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use super::{FetchedRecord, TopicInfo};

/// The key, value and partition of record `index` of a run over `keys`
/// keys and `partitions` partitions: key `k<index % keys>` on partition
/// `key % partitions`, value `k<key>/<per-key sequence index / keys>`.
pub fn key_value(index: u64, keys: u64, partitions: i32) -> (String, String, i32) {
    let (key, seq) = (index % keys, index / keys);
    (
        format!("k{key}"),
        format!("k{key}/{seq}"),
        partition_of(index, keys, partitions),
    )
}

/// The partition [`key_value`] puts record `index` on.
pub fn partition_of(index: u64, keys: u64, partitions: i32) -> i32 {
    ((index % keys) % partitions.max(1) as u64) as i32
}

/// The (key, sequence) a value made by [`key_value`] names.
pub fn parse_value(value: &[u8]) -> Option<(u64, u64)> {
    let s = std::str::from_utf8(value).ok()?;
    let (k, seq) = s.strip_prefix('k')?.split_once('/')?;
    Some((k.parse().ok()?, seq.parse().ok()?))
}

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Sent, no outcome yet.
    Pending,
    /// Acknowledged.
    Acked,
    /// Failed.
    Failed,
}

/// Every record's outcome, as the tracker saw it.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// By record index.
    pub status: Vec<Status>,
    /// Records whose outcome came later than the bound (index, after).
    pub late: Vec<(u64, Duration)>,
    /// How many records failed with each error (its text up to the first digit).
    pub errors: BTreeMap<String, u64>,
    /// The longest time from send to outcome.
    pub slowest: Duration,
}

impl Outcomes {
    /// Records acknowledged.
    pub fn acked(&self) -> u64 {
        self.status.iter().filter(|s| **s == Status::Acked).count() as u64
    }

    /// Records failed.
    pub fn failed(&self) -> u64 {
        self.status.iter().filter(|s| **s == Status::Failed).count() as u64
    }

    /// Records without an outcome.
    pub fn pending(&self) -> u64 {
        self.status
            .iter()
            .filter(|s| **s == Status::Pending)
            .count() as u64
    }
}

/// Awaits delivery futures in a task of its own, so each outcome is timed
/// when it happens, not when the test gets round to it.
pub struct Tracker {
    tx: Option<mpsc::UnboundedSender<(u64, Instant, Delivery)>>,
    task: tokio::task::JoinHandle<Outcomes>,
}

/// A delivery future with its outcome reduced to acknowledged or the error's text.
type Delivery = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

impl Tracker {
    /// A tracker that counts outcomes later than `bound` after the send.
    pub fn new(bound: Duration) -> Tracker {
        let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Instant, Delivery)>();
        let task = tokio::spawn(async move {
            let mut out = Outcomes::default();
            let mut pending = FuturesUnordered::new();
            let mut open = true;
            loop {
                tokio::select! {
                    next = rx.recv(), if open => match next {
                        Some((i, at, d)) => {
                            let i_us = i as usize;
                            if out.status.len() <= i_us {
                                out.status.resize(i_us + 1, Status::Pending);
                            }
                            pending.push(async move { (i, at, d.await, Instant::now()) });
                        }
                        None => open = false,
                    },
                    Some((i, at, result, done)) = pending.next(), if !pending.is_empty() => {
                        let took = done - at;
                        out.slowest = out.slowest.max(took);
                        if took > bound {
                            out.late.push((i, took));
                        }
                        out.status[i as usize] = match result {
                            Ok(_) => Status::Acked,
                            Err(text) => {
                                let kind = text
                                    .split(|c: char| c.is_ascii_digit())
                                    .next()
                                    .unwrap_or_default()
                                    .trim()
                                    .to_string();
                                *out.errors.entry(kind).or_default() += 1;
                                Status::Failed
                            }
                        };
                    }
                    else => break,
                }
            }
            out
        });
        Tracker { tx: Some(tx), task }
    }

    /// Tracks record `index`, sent now, whose outcome `delivery` gives.
    pub fn track<F, T, E>(&self, index: u64, delivery: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        E: Display,
    {
        if let Some(tx) = &self.tx {
            let d: Delivery =
                Box::pin(async move { delivery.await.map(drop).map_err(|e| e.to_string()) });
            let _ = tx.send((index, Instant::now(), d));
        }
    }

    /// Waits for every outcome; panics when some have none after `max_wait`
    /// (the producer hangs).
    pub async fn finish(mut self, max_wait: Duration) -> Outcomes {
        self.tx = None;
        match tokio::time::timeout(max_wait, &mut self.task).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => panic!("the tracker task failed: {e}"),
            Err(_) => {
                self.task.abort();
                panic!("records still without an outcome after {max_wait:?}: the producer hangs");
            }
        }
    }
}

/// What the log holds against what the producer said.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Records sent.
    pub sent: u64,
    /// Acknowledged.
    pub acked: u64,
    /// Failed.
    pub failed: u64,
    /// Acknowledged, and not in the log.
    pub lost: u64,
    /// In the log more than once (each extra copy counts).
    pub duplicated: u64,
    /// In the log after a later record of the same key.
    pub out_of_order: u64,
    /// Failed, yet in the log (allowed: the outcome was unknown).
    pub failed_but_written: u64,
    /// In the log, never sent by this run.
    pub foreign: u64,
}

impl Report {
    /// No loss, no duplicate, per-key order kept, nothing foreign.
    pub fn is_clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.out_of_order == 0 && self.foreign == 0
    }
}

/// Compares `log` (every partition, each in offset order) with `outcomes`
/// of a run over `keys` keys. Values that [`parse_value`] cannot read, or
/// name a record never sent, count as foreign.
pub fn check(outcomes: &Outcomes, keys: u64, log: &[Vec<FetchedRecord>]) -> Report {
    let mut r = Report {
        sent: outcomes.status.len() as u64,
        acked: outcomes.acked(),
        failed: outcomes.failed(),
        ..Report::default()
    };
    let mut copies = vec![0u8; outcomes.status.len()];
    let mut last_seq: HashMap<u64, u64> = HashMap::new();
    for partition in log {
        for rec in partition {
            let Some((key, seq)) = rec.value.as_deref().and_then(parse_value) else {
                r.foreign += 1;
                continue;
            };
            let index = seq * keys + key;
            let Some(slot) = copies.get_mut(index as usize) else {
                r.foreign += 1;
                continue;
            };
            *slot = slot.saturating_add(1);
            if *slot > 1 {
                r.duplicated += 1;
                continue;
            }
            match last_seq.get(&key) {
                Some(prev) if *prev > seq => r.out_of_order += 1,
                _ => {
                    last_seq.insert(key, seq);
                }
            }
        }
    }
    for (i, status) in outcomes.status.iter().enumerate() {
        match status {
            Status::Acked if copies[i] == 0 => r.lost += 1,
            Status::Failed if copies[i] > 0 => r.failed_but_written += 1,
            _ => {}
        }
    }
    r
}

/// Reads every partition of `topic` back from its current leader (through
/// `bootstrap`, the direct listeners), retrying while leaders move, as a
/// `read_uncommitted` reader sees them. Panics when a partition cannot be
/// read for two minutes.
pub async fn read_topic(bootstrap: &str, topic: &str, partitions: i32) -> Vec<Vec<FetchedRecord>> {
    read_topic_isolated(bootstrap, topic, partitions, false).await
}

/// As [`read_topic`]; with `read_committed`, what a `read_committed` reader sees.
pub async fn read_topic_isolated(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    read_committed: bool,
) -> Vec<Vec<FetchedRecord>> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut out = Vec::new();
    for p in 0..partitions {
        loop {
            match read_partition(bootstrap, topic, p, read_committed).await {
                Ok(records) => {
                    out.push(records);
                    break;
                }
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "cannot read {topic}-{p} back: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
    out
}

async fn read_partition(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    read_committed: bool,
) -> Result<Vec<FetchedRecord>, String> {
    let info = leaders(bootstrap, topic).await?;
    let leader = info
        .leaders
        .get(partition as usize)
        .ok_or_else(|| format!("{topic} has no partition {partition}"))?;
    let conn = super::connect(leader).await.map_err(|e| e.to_string())?;
    super::fetch_partition_isolated(&conn, topic, &info, partition, read_committed)
        .await
        .map_err(|e| e.to_string())
}

/// The topic's leaders, asked of the first broker of `bootstrap` that answers.
pub async fn leaders(bootstrap: &str, topic: &str) -> Result<TopicInfo, String> {
    let mut last = String::from("no broker in bootstrap");
    for addr in bootstrap.split(',') {
        match super::connect(addr).await {
            Ok(conn) => match super::topic_info(&conn, topic).await {
                Ok(Some(info)) => return Ok(info),
                Ok(None) => last = format!("{topic} has a partition without a leader"),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// The node (1-based) of the broker at `addr` (a direct listener).
pub fn node_of(root: &str, addr: &str) -> Option<i32> {
    super::brokers(root)
        .into_iter()
        .find(|b| b.addr() == addr)
        .map(|b| b.node)
}
