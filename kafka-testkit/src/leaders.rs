//! Moving a partition's leader on a real cluster, as an operator does:
//! the replicas reordered so another broker is preferred (a reassignment
//! to the same replica set, which completes at once), then a preferred
//! leader election. Producers see NOT_LEADER_OR_FOLLOWER from the old
//! leader and must learn the new one from metadata.

use std::time::Duration;

use kafka_codec::{CodecError, Connection};
use kafka_protocol::generated::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::generated::elect_leaders_request::TopicPartitions;
use kafka_protocol::generated::metadata_request::MetadataRequestTopic;
use kafka_protocol::generated::{
    AlterPartitionReassignmentsRequest, ElectLeadersRequest, MetadataRequest,
};
use kafka_protocol::ErrorCode;

/// How long a leader move may take before it counts as failed.
const MOVE_TIMEOUT: Duration = Duration::from_secs(60);

fn failed(what: String) -> CodecError {
    CodecError::Disconnected(what.into())
}

/// The leader and replicas of `topic`-`partition`, from `conn`'s metadata.
pub async fn replicas(
    conn: &Connection,
    topic: &str,
    partition: i32,
) -> Result<(i32, Vec<i32>), CodecError> {
    let md = conn
        .send(&MetadataRequest {
            topics: Some(vec![MetadataRequestTopic {
                name: Some(topic.to_string().into()),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .await?;
    md.topics
        .iter()
        .flat_map(|t| &t.partitions)
        .find(|p| p.partition_index == partition)
        .map(|p| (p.leader_id, p.replica_nodes.clone()))
        .ok_or_else(|| failed(format!("no metadata for {topic}-{partition}")))
}

/// Moves the leadership of `topic`-`partition` to another of its replicas
/// and returns the new leader's node id, once metadata names it. The
/// partition needs at least two replicas in sync.
pub async fn move_leader(
    conn: &Connection,
    topic: &str,
    partition: i32,
) -> Result<i32, CodecError> {
    let (leader, replicas) = replicas(conn, topic, partition).await?;
    let target = *replicas
        .iter()
        .find(|r| **r != leader)
        .ok_or_else(|| failed(format!("{topic}-{partition} has one replica")))?;
    let mut order = vec![target];
    order.extend(replicas.iter().copied().filter(|r| *r != target));
    let resp = conn
        .send(&AlterPartitionReassignmentsRequest {
            timeout_ms: 30_000,
            topics: vec![ReassignableTopic {
                name: topic.to_string().into(),
                partitions: vec![ReassignablePartition {
                    partition_index: partition,
                    replicas: Some(order.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        })
        .await?;
    let code = std::iter::once(resp.error_code)
        .chain(
            resp.responses
                .iter()
                .flat_map(|t| &t.partitions)
                .map(|p| p.error_code),
        )
        .find(|c| *c != 0);
    if let Some(code) = code {
        return Err(failed(format!(
            "reassigning {topic}-{partition}: {}",
            ErrorCode(code)
        )));
    }
    let deadline = tokio::time::Instant::now() + MOVE_TIMEOUT;
    loop {
        let (now_leader, now_replicas) = self::replicas(conn, topic, partition).await?;
        if now_leader == target {
            return Ok(target);
        }
        if now_replicas == order {
            elect_preferred(conn, topic, partition).await?;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(failed(format!(
                "{topic}-{partition}: leader still {now_leader}, wanted {target}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks for a preferred leader election of one partition. "Not needed"
/// and "preferred leader not available yet" are not failures: the caller
/// looks at metadata and asks again.
async fn elect_preferred(conn: &Connection, topic: &str, partition: i32) -> Result<(), CodecError> {
    let resp = conn
        .send(&ElectLeadersRequest {
            election_type: 0,
            topic_partitions: Some(vec![TopicPartitions {
                topic: topic.to_string().into(),
                partitions: vec![partition],
                ..Default::default()
            }]),
            timeout_ms: 30_000,
            ..Default::default()
        })
        .await?;
    let codes = std::iter::once(resp.error_code).chain(
        resp.replica_election_results
            .iter()
            .flat_map(|r| &r.partition_result)
            .map(|p| p.error_code),
    );
    for code in codes {
        match ErrorCode(code) {
            ErrorCode::NONE
            | ErrorCode::ELECTION_NOT_NEEDED
            | ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE => {}
            other => {
                return Err(failed(format!(
                    "electing a leader of {topic}-{partition}: {other}"
                )))
            }
        }
    }
    Ok(())
}
