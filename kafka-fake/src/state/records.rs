//! The data path: Produce (leaders, transactions, the log's rules),
//! ListOffsets and Fetch (long polls, read_committed).

use kafka_protocol::generated::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::generated::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::generated::produce_response::{
    LeaderIdAndEpoch, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::generated::{
    FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, ProduceRequest,
    ProduceResponse,
};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::ErrorCode;

use super::{name, State};

impl State {
    /// The error of a partition request at `broker`, before any data: an
    /// injected fault, an unknown partition, a broker that does not lead it.
    pub(super) fn partition_error(
        &mut self,
        api: ApiKey,
        broker: i32,
        topic: &str,
        partition: i32,
        request_fault: Option<ErrorCode>,
    ) -> Result<(), (ErrorCode, Option<(i32, i32)>)> {
        if let Some(code) =
            request_fault.or_else(|| self.take_fault(api, broker, Some((topic, partition))))
        {
            return Err((code, None));
        }
        let Some(p) = self.partition_mut(topic, partition) else {
            return Err((ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None));
        };
        if p.leader != broker {
            return Err((
                ErrorCode::NOT_LEADER_OR_FOLLOWER,
                Some((p.leader, p.leader_epoch)),
            ));
        }
        Ok(())
    }

    pub(super) fn produce(
        &mut self,
        broker: i32,
        version: i16,
        req: &ProduceRequest,
        fault: Option<ErrorCode>,
    ) -> ProduceResponse {
        let mut responses = Vec::new();
        let acks_valid = matches!(req.acks, -1..=1);
        let late_fault = self.take_fault_after_append(ApiKey::Produce, broker, None);
        for t in &req.topic_data {
            let topic = if t.name.is_empty() {
                self.topic_by_id(t.topic_id)
            } else {
                Some(name(&t.name))
            };
            let mut partitions = Vec::new();
            for p in &t.partition_data {
                let mut pr = PartitionProduceResponse {
                    index: p.index,
                    base_offset: -1,
                    log_append_time_ms: -1,
                    ..Default::default()
                };
                let result = match &topic {
                    None => Err((ErrorCode::UNKNOWN_TOPIC_ID, None)),
                    Some(_) if !acks_valid => Err((ErrorCode::INVALID_REQUIRED_ACKS, None)),
                    Some(topic) => self
                        .partition_error(ApiKey::Produce, broker, topic, p.index, fault)
                        .and_then(|()| {
                            let records = p.records.clone().unwrap_or_default();
                            if self.sink {
                                let part = self.partition_mut(topic, p.index).expect("checked");
                                return Ok(part.log.sink(&records));
                            }
                            // A transactional batch's partition must be in its
                            // transaction (v2: the Produce adds it). The header is
                            // peeked; the log checks the whole batch next.
                            if let Some((pid, epoch)) = transactional_producer(&records) {
                                self.produce_adds_partition(pid, epoch, topic, p.index, version)
                                    .map_err(|code| (code, None))?;
                            }
                            let max = self.max_message_bytes;
                            let part = self.partition_mut(topic, p.index).expect("checked");
                            part.log.append(&records, max).map_err(|code| (code, None))
                        }),
                };
                // An after-append fault turns a write that landed into an error.
                let result = result.and_then(|offset| {
                    let late = match &topic {
                        Some(topic) => late_fault.or_else(|| {
                            self.take_fault_after_append(
                                ApiKey::Produce,
                                broker,
                                Some((topic, p.index)),
                            )
                        }),
                        None => None,
                    };
                    late.map_or(Ok(offset), |code| Err((code, None)))
                });
                match result {
                    Ok(offset) => pr.base_offset = offset,
                    Err((code, leader)) => {
                        pr.error_code = code.0;
                        if let Some((leader_id, leader_epoch)) = leader {
                            pr.current_leader = LeaderIdAndEpoch {
                                leader_id,
                                leader_epoch,
                                ..Default::default()
                            };
                        }
                    }
                }
                partitions.push(pr);
            }
            responses.push(TopicProduceResponse {
                name: t.name.clone(),
                topic_id: t.topic_id,
                partition_responses: partitions,
                ..Default::default()
            });
        }
        ProduceResponse {
            responses,
            throttle_time_ms: self.throttle_ms,
            ..Default::default()
        }
    }

    pub(super) fn list_offsets(
        &mut self,
        broker: i32,
        version: i16,
        req: &ListOffsetsRequest,
        fault: Option<ErrorCode>,
    ) -> ListOffsetsResponse {
        let mut topics = Vec::new();
        for t in &req.topics {
            let topic = name(&t.name);
            let mut partitions = Vec::new();
            for p in &t.partitions {
                let mut pr = ListOffsetsPartitionResponse {
                    partition_index: p.partition_index,
                    timestamp: -1,
                    offset: -1,
                    ..Default::default()
                };
                match self.partition_error(
                    ApiKey::ListOffsets,
                    broker,
                    &topic,
                    p.partition_index,
                    fault,
                ) {
                    Err((code, _)) => pr.error_code = code.0,
                    Ok(()) => {
                        let part = self
                            .partition_mut(&topic, p.partition_index)
                            .expect("checked");
                        if version >= 4 {
                            pr.leader_epoch = part.leader_epoch;
                        }
                        pr.offset = match p.timestamp {
                            // Latest (and latest tiered): the log end.
                            -1 | -5 => part.log.end_offset(),
                            // Earliest (and earliest local): the log start.
                            -2 | -4 => 0,
                            ts if ts >= 0 => part.log.offset_for_time(ts).unwrap_or(-1),
                            _ => part.log.end_offset(),
                        };
                    }
                }
                partitions.push(pr);
            }
            topics.push(ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions,
                ..Default::default()
            });
        }
        ListOffsetsResponse {
            throttle_time_ms: self.throttle_ms,
            topics,
            ..Default::default()
        }
    }

    pub(super) fn fetch(
        &mut self,
        broker: i32,
        req: &FetchRequest,
        fault: Option<ErrorCode>,
    ) -> FetchResponse {
        let mut budget = usize::try_from(req.max_bytes).unwrap_or(0).max(1);
        let mut responses = Vec::new();
        for t in &req.topics {
            let topic = if t.topic.is_empty() {
                self.topic_by_id(t.topic_id)
            } else {
                Some(name(&t.topic))
            };
            let mut partitions = Vec::new();
            for p in &t.partitions {
                let mut pd = PartitionData {
                    partition_index: p.partition,
                    high_watermark: -1,
                    last_stable_offset: -1,
                    log_start_offset: -1,
                    preferred_read_replica: -1,
                    ..Default::default()
                };
                let checked = match &topic {
                    None => Err((ErrorCode::UNKNOWN_TOPIC_ID, None)),
                    Some(topic) => {
                        self.partition_error(ApiKey::Fetch, broker, topic, p.partition, fault)
                    }
                };
                match checked {
                    Err((code, _)) => pd.error_code = code.0,
                    Ok(()) => {
                        let topic = topic.as_deref().expect("checked");
                        let log = &self.partition_mut(topic, p.partition).expect("checked").log;
                        let end = log.end_offset();
                        let lso = log.last_stable_offset();
                        pd.high_watermark = end;
                        pd.last_stable_offset = lso;
                        pd.log_start_offset = 0;
                        if p.fetch_offset < 0 || p.fetch_offset > end {
                            pd.error_code = ErrorCode::OFFSET_OUT_OF_RANGE.0;
                        } else {
                            let max = usize::try_from(p.partition_max_bytes)
                                .unwrap_or(0)
                                .min(budget);
                            // read_committed stops at the last stable offset and names the
                            // aborted transactions to skip.
                            let committed = req.isolation_level == 1;
                            let upto = if committed { lso } else { i64::MAX };
                            let data = log.read(p.fetch_offset, upto, max);
                            if committed {
                                pd.aborted_transactions = Some(
                                    log.aborted_in(p.fetch_offset, upto)
                                        .into_iter()
                                        .map(|(producer_id, first_offset)| AbortedTransaction {
                                            producer_id,
                                            first_offset,
                                            ..Default::default()
                                        })
                                        .collect(),
                                );
                            }
                            budget = budget.saturating_sub(data.len());
                            pd.records = Some(data);
                        }
                    }
                }
                partitions.push(pd);
            }
            responses.push(FetchableTopicResponse {
                topic: t.topic.clone(),
                topic_id: t.topic_id,
                partitions,
                ..Default::default()
            });
        }
        FetchResponse {
            throttle_time_ms: self.throttle_ms,
            responses,
            ..Default::default()
        }
    }
}

/// The producer id and epoch of the first batch of `records` when it is
/// transactional, read from its header (offsets of the v2 batch layout).
fn transactional_producer(records: &[u8]) -> Option<(i64, i16)> {
    let header = records.get(..61)?;
    let attributes = i16::from_be_bytes([header[21], header[22]]);
    let transactional = attributes & 0x10 != 0;
    let pid = i64::from_be_bytes(header[43..51].try_into().ok()?);
    let epoch = i16::from_be_bytes([header[51], header[52]]);
    transactional.then_some((pid, epoch))
}

/// Whether a Fetch response carries no record (a long poll waits then).
pub(crate) fn fetch_is_empty(resp: &FetchResponse) -> bool {
    resp.responses
        .iter()
        .flat_map(|t| &t.partitions)
        .all(|p| p.error_code == 0 && p.records.as_ref().is_none_or(|r| r.is_empty()))
}
