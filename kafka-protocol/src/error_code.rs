//! Kafka's error codes: one table for the whole stack.
//!
//! Every code a 4.x broker can send, with its name, whether the Java client
//! treats it as retriable (its exception extends `RetriableException`),
//! whether it means the client's metadata is stale (`InvalidMetadataException`),
//! and a one-line meaning. Layers above ask this table; none keeps a private
//! constant for a code. How a *producer* reacts to a code (retry, abort the
//! transaction, fence, stop) is decided in `kafka-producer`, on top of these
//! facts.
//!
//! ```
//! use kafka_protocol::ErrorCode;
//!
//! let code = ErrorCode(6);
//! assert_eq!(code, ErrorCode::NOT_LEADER_OR_FOLLOWER);
//! assert_eq!(code.name(), "NOT_LEADER_OR_FOLLOWER");
//! assert!(code.is_retriable() && code.invalidates_metadata());
//! assert_eq!(ErrorCode(9999).name(), "UNKNOWN");
//! ```

use std::fmt;

/// A Kafka error code, as carried in every response (`ErrorCode` fields).
///
/// Any `i16` is a value: codes newer than this table are kept as they came
/// (their [`name`](ErrorCode::name) is `"UNKNOWN"` and they are not
/// retriable, as the Java client maps them to `UNKNOWN_SERVER_ERROR`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ErrorCode(pub i16);

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCodeInfo {
    /// The code.
    pub code: ErrorCode,
    /// Kafka's name, e.g. `NOT_LEADER_OR_FOLLOWER`.
    pub name: &'static str,
    /// The Java client's exception for it extends `RetriableException`:
    /// the same request may succeed later.
    pub retriable: bool,
    /// The Java client's exception for it extends `InvalidMetadataException`:
    /// the client should refresh its metadata before retrying.
    pub invalidates_metadata: bool,
    /// What it means, in one line.
    pub meaning: &'static str,
}

macro_rules! error_codes {
    ($(($code:literal, $name:ident, $retriable:literal, $metadata:literal, $meaning:literal),)*) => {
        impl ErrorCode {
            $(
                #[doc = $meaning]
                pub const $name: ErrorCode = ErrorCode($code);
            )*
        }

        /// Every known code, in code order (-1 first; the codes are contiguous).
        pub const ERROR_CODES: &[ErrorCodeInfo] = &[
            $(ErrorCodeInfo {
                code: ErrorCode($code),
                name: stringify!($name),
                retriable: $retriable,
                invalidates_metadata: $metadata,
                meaning: $meaning,
            },)*
        ];
    };
}

error_codes! {
    (-1, UNKNOWN_SERVER_ERROR, false, false, "Broker hit an unexpected internal failure; also what clients map unknown codes to."),
    (0, NONE, false, false, "Success, no error."),
    (1, OFFSET_OUT_OF_RANGE, false, false, "Requested offset lies outside the log range the broker currently retains."),
    (2, CORRUPT_MESSAGE, true, false, "Record batch is corrupt: bad CRC, bad size, null key on compacted topic, etc."),
    (3, UNKNOWN_TOPIC_OR_PARTITION, true, true, "Broker does not host this topic-partition (or topic is unknown / not visible)."),
    (4, INVALID_FETCH_SIZE, false, false, "The max bytes value given in a fetch is not acceptable."),
    (5, LEADER_NOT_AVAILABLE, true, true, "Partition currently has no leader, typically mid leader election."),
    (6, NOT_LEADER_OR_FOLLOWER, true, true, "Broker is not the leader (or not a replica) for the partition the request targets."),
    (7, REQUEST_TIMED_OUT, true, false, "Broker-side request timeout expired before the operation finished."),
    (8, BROKER_NOT_AVAILABLE, false, false, "Target broker is not available."),
    (9, REPLICA_NOT_AVAILABLE, true, true, "Replica for the partition is not available on this broker."),
    (10, MESSAGE_TOO_LARGE, false, false, "A record or batch exceeds the maximum message size the broker allows."),
    (11, STALE_CONTROLLER_EPOCH, false, false, "Controller epoch in the request is stale; controller moved."),
    (12, OFFSET_METADATA_TOO_LARGE, false, false, "Offset commit metadata string is longer than the broker allows."),
    (13, NETWORK_EXCEPTION, true, true, "Connection dropped before a response arrived (usually client-synthesized)."),
    (14, COORDINATOR_LOAD_IN_PROGRESS, true, false, "Coordinator is still loading its state; back off and retry the same coordinator."),
    (15, COORDINATOR_NOT_AVAILABLE, true, false, "Coordinator is unavailable; look it up again and retry."),
    (16, NOT_COORDINATOR, true, false, "Request went to a broker that is not the coordinator for this key."),
    (17, INVALID_TOPIC_EXCEPTION, false, false, "Operation targeted an invalid topic name or a topic it may not touch (e.g. internal)."),
    (18, RECORD_LIST_TOO_LARGE, false, false, "Produced batch is larger than the segment size configured on the broker."),
    (19, NOT_ENOUGH_REPLICAS, true, false, "Write refused because in-sync replica count is below min.insync.replicas."),
    (20, NOT_ENOUGH_REPLICAS_AFTER_APPEND, true, false, "Write landed in the log but ISR dropped below the minimum before acks completed."),
    (21, INVALID_REQUIRED_ACKS, false, false, "Produce request carried an unsupported acks value."),
    (22, ILLEGAL_GENERATION, false, false, "Group generation id in the request is not the current one."),
    (23, INCONSISTENT_GROUP_PROTOCOL, false, false, "Member's protocol type or list is incompatible with the group or empty."),
    (24, INVALID_GROUP_ID, false, false, "Group id is empty or otherwise not acceptable."),
    (25, UNKNOWN_MEMBER_ID, false, false, "Coordinator does not recognize this member id."),
    (26, INVALID_SESSION_TIMEOUT, false, false, "Session timeout is outside the broker's allowed min/max range."),
    (27, REBALANCE_IN_PROGRESS, false, false, "Group is rebalancing; the member must rejoin."),
    (28, INVALID_COMMIT_OFFSET_SIZE, false, false, "Offset commit payload size is not valid."),
    (29, TOPIC_AUTHORIZATION_FAILED, false, false, "Caller lacks permission on the topic."),
    (30, GROUP_AUTHORIZATION_FAILED, false, false, "Caller lacks permission on the group."),
    (31, CLUSTER_AUTHORIZATION_FAILED, false, false, "Caller lacks cluster-level permission for the operation."),
    (32, INVALID_TIMESTAMP, false, false, "Record timestamp falls outside the range the broker accepts."),
    (33, UNSUPPORTED_SASL_MECHANISM, false, false, "Broker does not support the requested SASL mechanism."),
    (34, ILLEGAL_SASL_STATE, false, false, "Request is not allowed in the current SASL handshake state."),
    (35, UNSUPPORTED_VERSION, false, false, "Broker does not support this API or API version."),
    (36, TOPIC_ALREADY_EXISTS, false, false, "A topic with that name already exists."),
    (37, INVALID_PARTITIONS, false, false, "Partition count is invalid (e.g. below 1 or not an increase)."),
    (38, INVALID_REPLICATION_FACTOR, false, false, "Replication factor is invalid or exceeds available brokers."),
    (39, INVALID_REPLICA_ASSIGNMENT, false, false, "Explicit replica assignment is invalid."),
    (40, INVALID_CONFIG, false, false, "Supplied configuration is invalid."),
    (41, NOT_CONTROLLER, true, false, "Receiver is not the active controller."),
    (42, INVALID_REQUEST, false, false, "Request is malformed or not valid for this broker; see broker logs."),
    (43, UNSUPPORTED_FOR_MESSAGE_FORMAT, false, false, "Broker's message format version cannot serve this request."),
    (44, POLICY_VIOLATION, false, false, "Request violates a broker-side policy (create topic / alter config policy)."),
    (45, OUT_OF_ORDER_SEQUENCE_NUMBER, false, false, "Broker saw a producer sequence number that is not the expected next one."),
    (46, DUPLICATE_SEQUENCE_NUMBER, false, false, "Broker saw a producer sequence number it already accepted."),
    (47, INVALID_PRODUCER_EPOCH, false, false, "Producer used an epoch older than the current one for its producer id."),
    (48, INVALID_TXN_STATE, false, false, "Transactional operation not allowed in the transaction's current state."),
    (49, INVALID_PRODUCER_ID_MAPPING, false, false, "Producer id is not the one currently bound to the transactional id."),
    (50, INVALID_TRANSACTION_TIMEOUT, false, false, "Requested transaction timeout exceeds transaction.max.timeout.ms."),
    (51, CONCURRENT_TRANSACTIONS, true, false, "Another operation on the same transaction is still in progress."),
    (52, TRANSACTION_COORDINATOR_FENCED, false, false, "Txn coordinator sending WriteTxnMarkers has been superseded for this producer."),
    (53, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, false, false, "Caller lacks permission on the transactional id."),
    (54, SECURITY_DISABLED, false, false, "Security features are turned off on the broker."),
    (55, OPERATION_NOT_ATTEMPTED, false, false, "Broker skipped this item because other items in the batch failed."),
    (56, KAFKA_STORAGE_ERROR, true, true, "Disk or storage failure accessing the log on the broker."),
    (57, LOG_DIR_NOT_FOUND, false, false, "Named log directory is not in the broker configuration."),
    (58, SASL_AUTHENTICATION_FAILED, false, false, "SASL authentication failed (bad credentials or similar)."),
    (59, UNKNOWN_PRODUCER_ID, false, false, "Broker has no state for this producer id (e.g. expired by retention)."),
    (60, REASSIGNMENT_IN_PROGRESS, false, false, "A partition reassignment is in progress, blocking the operation."),
    (61, DELEGATION_TOKEN_AUTH_DISABLED, false, false, "Delegation token support is not enabled on the broker."),
    (62, DELEGATION_TOKEN_NOT_FOUND, false, false, "Referenced delegation token does not exist."),
    (63, DELEGATION_TOKEN_OWNER_MISMATCH, false, false, "Principal is not the owner or an allowed renewer of the token."),
    (64, DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, false, false, "Token requests not allowed over this channel or token-authenticated session."),
    (65, DELEGATION_TOKEN_AUTHORIZATION_FAILED, false, false, "Caller lacks permission for the delegation token operation."),
    (66, DELEGATION_TOKEN_EXPIRED, false, false, "Delegation token has expired."),
    (67, INVALID_PRINCIPAL_TYPE, false, false, "Principal type in the request is not supported."),
    (68, NON_EMPTY_GROUP, false, false, "Operation requires an empty group but the group has members."),
    (69, GROUP_ID_NOT_FOUND, false, false, "Group does not exist."),
    (70, FETCH_SESSION_ID_NOT_FOUND, true, false, "Incremental fetch session id is unknown to the broker."),
    (71, INVALID_FETCH_SESSION_EPOCH, true, false, "Fetch session epoch does not match what the broker expects."),
    (72, LISTENER_NOT_FOUND, true, true, "Leader has no listener matching the one the metadata request used."),
    (73, TOPIC_DELETION_DISABLED, false, false, "Topic deletion is disabled on the cluster."),
    (74, FENCED_LEADER_EPOCH, true, true, "Request's leader epoch is older than the broker's; refresh metadata."),
    (75, UNKNOWN_LEADER_EPOCH, true, false, "Request's leader epoch is newer than the broker knows; broker lagging, retry."),
    (76, UNSUPPORTED_COMPRESSION_TYPE, false, false, "Client cannot handle the compression type used by the partition."),
    (77, STALE_BROKER_EPOCH, false, false, "Broker epoch in the request is outdated."),
    (78, OFFSET_NOT_AVAILABLE, true, false, "Leader cannot serve offsets yet; high watermark not caught up after election."),
    (79, MEMBER_ID_REQUIRED, false, false, "Member must obtain a member id first (join again with the returned id)."),
    (80, PREFERRED_LEADER_NOT_AVAILABLE, true, true, "Preferred leader for the partition is not available."),
    (81, GROUP_MAX_SIZE_REACHED, false, false, "Group already has the maximum allowed number of members."),
    (82, FENCED_INSTANCE_ID, false, false, "Static member was replaced by another member using the same group.instance.id."),
    (83, ELIGIBLE_LEADERS_NOT_AVAILABLE, true, true, "No eligible leader candidates for the partition election."),
    (84, ELECTION_NOT_NEEDED, true, true, "Leader election is unnecessary; the partition already has the desired leader."),
    (85, NO_REASSIGNMENT_IN_PROGRESS, false, false, "There is no partition reassignment to cancel or list."),
    (86, GROUP_SUBSCRIBED_TO_TOPIC, false, false, "Cannot delete offsets for a topic the group is actively consuming."),
    (87, INVALID_RECORD, false, false, "Broker-side validation rejected one or more records."),
    (88, UNSTABLE_OFFSET_COMMIT, true, false, "Offsets are pending an open transaction; retry once it completes."),
    (89, THROTTLING_QUOTA_EXCEEDED, true, false, "Request exceeded a controller mutation quota; retry after the throttle delay."),
    (90, PRODUCER_FENCED, false, false, "A newer producer with the same transactional id has fenced this one."),
    (91, RESOURCE_NOT_FOUND, false, false, "Request referenced a resource that does not exist."),
    (92, DUPLICATE_RESOURCE, false, false, "Request referenced the same resource more than once."),
    (93, UNACCEPTABLE_CREDENTIAL, false, false, "Proposed credential does not meet acceptability rules."),
    (94, INCONSISTENT_VOTER_SET, false, false, "Sender or receiver of a voter-only (KRaft) request is not an expected voter."),
    (95, INVALID_UPDATE_VERSION, false, false, "Supplied update version is not valid."),
    (96, FEATURE_UPDATE_FAILED, false, false, "Finalized feature update failed due to an unexpected server problem."),
    (97, PRINCIPAL_DESERIALIZATION_FAILURE, false, false, "Forwarded request's principal could not be deserialized (broker setup issue)."),
    (98, SNAPSHOT_NOT_FOUND, false, false, "Requested metadata snapshot was not found."),
    (99, POSITION_OUT_OF_RANGE, false, false, "Requested snapshot position is negative or beyond the snapshot size."),
    (100, UNKNOWN_TOPIC_ID, true, true, "Broker does not host a topic with this topic id."),
    (101, DUPLICATE_BROKER_REGISTRATION, false, false, "A broker with this id is already registered."),
    (102, BROKER_ID_NOT_REGISTERED, false, false, "Broker id has not been registered with the controller."),
    (103, INCONSISTENT_TOPIC_ID, true, true, "Topic id in the request does not match the log's topic id."),
    (104, INCONSISTENT_CLUSTER_ID, false, false, "Cluster id in the request does not match the server's cluster id."),
    (105, TRANSACTIONAL_ID_NOT_FOUND, false, false, "Transactional id is not known."),
    (106, FETCH_SESSION_TOPIC_ID_ERROR, true, false, "Fetch session mixed or mismatched topic id usage."),
    (107, INELIGIBLE_REPLICA, false, false, "Proposed ISR includes at least one replica that is not eligible."),
    (108, NEW_LEADER_ELECTED, false, false, "AlterPartition was applied but the partition leader changed."),
    (109, OFFSET_MOVED_TO_TIERED_STORAGE, false, false, "Requested offset has been moved to tiered (remote) storage."),
    (110, FENCED_MEMBER_EPOCH, false, false, "Member epoch fenced by the coordinator; drop partitions and rejoin."),
    (111, UNRELEASED_INSTANCE_ID, false, false, "Instance id still owned by another member, which must leave first."),
    (112, UNSUPPORTED_ASSIGNOR, false, false, "Requested assignor or its version range is not supported by the group."),
    (113, STALE_MEMBER_EPOCH, false, false, "Member epoch is stale; retry after getting the new epoch via heartbeat."),
    (114, MISMATCHED_ENDPOINT_TYPE, false, false, "Request sent to the wrong kind of endpoint (broker vs controller)."),
    (115, UNSUPPORTED_ENDPOINT_TYPE, false, false, "This endpoint type is not supported yet."),
    (116, UNKNOWN_CONTROLLER_ID, false, false, "Referenced controller id is unknown."),
    (117, UNKNOWN_SUBSCRIPTION_ID, false, false, "Telemetry push used an unknown or outdated subscription id."),
    (118, TELEMETRY_TOO_LARGE, false, false, "Telemetry push payload is larger than the broker allows."),
    (119, INVALID_REGISTRATION, false, false, "Controller deemed the broker registration invalid."),
    (120, TRANSACTION_ABORTABLE, false, false, "Transaction hit a server-side problem; abort it and keep using the transactional id."),
    (121, INVALID_RECORD_STATE, false, false, "Share-group record is in a state that does not allow the acknowledgement."),
    (122, SHARE_SESSION_NOT_FOUND, true, false, "Share session not found on the broker."),
    (123, INVALID_SHARE_SESSION_EPOCH, true, false, "Share session epoch is not valid."),
    (124, FENCED_STATE_EPOCH, false, false, "Share coordinator rejected request: share-group state epoch mismatch."),
    (125, INVALID_VOTER_KEY, false, false, "Voter key does not match the key of the receiving replica."),
    (126, DUPLICATE_VOTER, false, false, "Voter is already in the voter set."),
    (127, VOTER_NOT_FOUND, false, false, "Voter is not in the voter set."),
    (128, INVALID_REGULAR_EXPRESSION, false, false, "Supplied regular expression (e.g. subscription pattern) is invalid."),
    (129, REBOOTSTRAP_REQUIRED, false, false, "Client metadata is too stale; client should rebootstrap to get fresh metadata."),
    (130, STREAMS_INVALID_TOPOLOGY, false, false, "Streams group topology supplied by the member is invalid."),
    (131, STREAMS_INVALID_TOPOLOGY_EPOCH, false, false, "Streams group topology epoch supplied is invalid."),
    (132, STREAMS_TOPOLOGY_FENCED, false, false, "Streams group topology epoch supplied is outdated (fenced)."),
    (133, SHARE_SESSION_LIMIT_REACHED, true, false, "Broker's limit on the number of share sessions has been reached."),
}

impl ErrorCode {
    /// The table row of this code, `None` for a code the table does not know.
    pub fn info(self) -> Option<&'static ErrorCodeInfo> {
        let first = ERROR_CODES[0].code.0;
        let index = usize::try_from(i32::from(self.0) - i32::from(first)).ok()?;
        ERROR_CODES.get(index)
    }

    /// Whether this is [`ErrorCode::NONE`].
    pub fn is_ok(self) -> bool {
        self == ErrorCode::NONE
    }

    /// Kafka's name of the code, `"UNKNOWN"` for a code the table does not know.
    pub fn name(self) -> &'static str {
        self.info().map_or("UNKNOWN", |i| i.name)
    }

    /// Whether the same request may succeed later (see [`ErrorCodeInfo::retriable`]).
    pub fn is_retriable(self) -> bool {
        self.info().is_some_and(|i| i.retriable)
    }

    /// Whether the client's metadata is stale (see
    /// [`ErrorCodeInfo::invalidates_metadata`]).
    pub fn invalidates_metadata(self) -> bool {
        self.info().is_some_and(|i| i.invalidates_metadata)
    }

    /// The one-line meaning, or a note that the code is unknown.
    pub fn meaning(self) -> &'static str {
        self.info().map_or(
            "A code this client does not know (newer than its table).",
            |i| i.meaning,
        )
    }
}

impl From<i16> for ErrorCode {
    fn from(code: i16) -> Self {
        ErrorCode(code)
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl fmt::Display for ErrorCode {
    /// `NAME (code)`, e.g. `NOT_LEADER_OR_FOLLOWER (6)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_contiguous_and_names_are_unique() {
        for (i, row) in ERROR_CODES.iter().enumerate() {
            assert_eq!(i32::from(row.code.0), i as i32 - 1, "{}", row.name);
            assert_eq!(row.code.info(), Some(row));
            assert!(row.meaning.ends_with('.') && row.meaning.len() <= 100);
        }
        let mut names: Vec<_> = ERROR_CODES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ERROR_CODES.len());
    }

    #[test]
    fn java_classes() {
        // Spot checks against the Java client's exception hierarchy.
        for retriable in [2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 51, 56, 74, 75, 89] {
            assert!(ErrorCode(retriable).is_retriable(), "{retriable}");
        }
        for not in [-1, 0, 8, 10, 27, 29, 31, 35, 45, 46, 47, 59, 90, 120] {
            assert!(!ErrorCode(not).is_retriable(), "{not}");
        }
        assert!(ErrorCode::FENCED_LEADER_EPOCH.invalidates_metadata());
        assert!(!ErrorCode::UNKNOWN_LEADER_EPOCH.invalidates_metadata());
        assert!(ErrorCode::NETWORK_EXCEPTION.invalidates_metadata());
    }

    #[test]
    fn unknown_codes_are_values() {
        for code in [i16::MIN, -2, 134, 9999, i16::MAX] {
            let c = ErrorCode(code);
            assert!(c.info().is_none());
            assert_eq!(c.name(), "UNKNOWN");
            assert!(!c.is_retriable() && !c.invalidates_metadata());
        }
        assert_eq!(ErrorCode(6).to_string(), "NOT_LEADER_OR_FOLLOWER (6)");
        assert_eq!(
            format!("{:?}", ErrorCode(120)),
            "TRANSACTION_ABORTABLE(120)"
        );
    }
}
