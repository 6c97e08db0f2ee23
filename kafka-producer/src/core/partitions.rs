//! What the metadata says of a topic's partitions, for the application
//! (Java's `partitionsFor`).

use std::sync::Arc;
use std::time::Duration;

use super::metadata::Node;
use super::ProducerCore;
use crate::error::{broker_error, ProducerError};

/// A partition as the cluster's metadata describes it (Java's
/// `PartitionInfo`), from `Producer::partitions_for`. A broker the
/// metadata does not list (a replica on a broker that is down) is a
/// [`Node`] with an empty address.
///
/// ```no_run
/// # async fn demo(producer: kafka_producer::Producer) -> Result<(), kafka_producer::ProducerError> {
/// let under_replicated = producer
///     .partitions_for("orders")
///     .await?
///     .into_iter()
///     .filter(|p| p.in_sync_replicas.len() < p.replicas.len())
///     .count();
/// println!("{under_replicated} partitions of orders are under-replicated");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition index.
    pub partition: i32,
    /// The leader, `None` while the partition has none (an election).
    pub leader: Option<Node>,
    /// Every replica, the preferred leader first.
    pub replicas: Vec<Node>,
    /// The replicas in sync with the leader.
    pub in_sync_replicas: Vec<Node>,
    /// The replicas on a log directory that failed.
    pub offline_replicas: Vec<Node>,
}

impl ProducerCore {
    /// The partitions of `topic` when its metadata is known; `Ok(None)`
    /// after asking for it (the I/O task sends the request); an error when
    /// the cluster refused the topic for good. `fresh` forgets an earlier
    /// refusal, to ask again.
    pub fn partitions_for(
        &mut self,
        topic: &Arc<str>,
        fresh: bool,
    ) -> Result<Option<Vec<PartitionInfo>>, ProducerError> {
        let metadata = &mut self.metadata;
        if fresh {
            metadata.refused.remove(topic);
        }
        if let Some(code) = metadata.refused.get(topic) {
            return Err(broker_error(*code, None, 0));
        }
        let Some(meta) = metadata.topics.get(topic) else {
            metadata.want(topic.clone());
            return Ok(None);
        };
        let node = |id: i32| {
            metadata.node(id).unwrap_or(Node {
                id,
                addr: String::new(),
            })
        };
        let nodes = |ids: &[i32]| ids.iter().map(|id| node(*id)).collect::<Vec<_>>();
        let infos = meta
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| PartitionInfo {
                topic: meta.name.clone(),
                partition: i as i32,
                leader: (p.leader >= 0).then(|| node(p.leader)),
                replicas: nodes(&p.replicas),
                in_sync_replicas: nodes(&p.isr),
                offline_replicas: nodes(&p.offline),
            })
            .collect();
        Ok(Some(infos))
    }

    /// The error of a `partitions_for` that waited `waited` in vain.
    pub fn partitions_not_known(&self, topic: &str, waited: Duration) -> ProducerError {
        self.metadata.not_known(topic.to_string(), None, waited)
    }
}
