/// A Kafka error code as brokers return it, with its name, whether a client may retry the
/// request unchanged, and a short description (after the Kafka protocol guide's error table).
///
/// A code this table does not know keeps its number; its name is `UNKNOWN_CODE_<n>` and it is
/// not retriable.
public struct KafkaErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16

    public init(rawValue: Int16) { self.rawValue = rawValue }
    public init(_ rawValue: Int16) { self.rawValue = rawValue }

    /// One row of the table.
    public struct Info: Sendable, Hashable {
        public let code: Int16
        public let name: String
        public let isRetriable: Bool
        public let description: String
    }

    /// The row for this code, or nil for a code the table does not know.
    public var info: Info? {
        let index = Int(rawValue) + 1
        guard index >= 0, index < Self.table.count else { return nil }
        return Self.table[index]
    }

    public var name: String { info?.name ?? "UNKNOWN_CODE_\(rawValue)" }
    public var isRetriable: Bool { info?.isRetriable ?? false }
    public var isError: Bool { rawValue != 0 }
    public var errorDescription: String { info?.description ?? "An error code this client does not know." }
    public var description: String { "\(name) (\(rawValue))" }

    public static let unknownServerError = KafkaErrorCode(rawValue: -1)
    public static let noError = KafkaErrorCode(rawValue: 0)
    public static let offsetOutOfRange = KafkaErrorCode(rawValue: 1)
    public static let corruptMessage = KafkaErrorCode(rawValue: 2)
    public static let unknownTopicOrPartition = KafkaErrorCode(rawValue: 3)
    public static let invalidFetchSize = KafkaErrorCode(rawValue: 4)
    public static let leaderNotAvailable = KafkaErrorCode(rawValue: 5)
    public static let notLeaderOrFollower = KafkaErrorCode(rawValue: 6)
    public static let requestTimedOut = KafkaErrorCode(rawValue: 7)
    public static let brokerNotAvailable = KafkaErrorCode(rawValue: 8)
    public static let replicaNotAvailable = KafkaErrorCode(rawValue: 9)
    public static let messageTooLarge = KafkaErrorCode(rawValue: 10)
    public static let staleControllerEpoch = KafkaErrorCode(rawValue: 11)
    public static let offsetMetadataTooLarge = KafkaErrorCode(rawValue: 12)
    public static let networkException = KafkaErrorCode(rawValue: 13)
    public static let coordinatorLoadInProgress = KafkaErrorCode(rawValue: 14)
    public static let coordinatorNotAvailable = KafkaErrorCode(rawValue: 15)
    public static let notCoordinator = KafkaErrorCode(rawValue: 16)
    public static let invalidTopicException = KafkaErrorCode(rawValue: 17)
    public static let recordListTooLarge = KafkaErrorCode(rawValue: 18)
    public static let notEnoughReplicas = KafkaErrorCode(rawValue: 19)
    public static let notEnoughReplicasAfterAppend = KafkaErrorCode(rawValue: 20)
    public static let invalidRequiredAcks = KafkaErrorCode(rawValue: 21)
    public static let illegalGeneration = KafkaErrorCode(rawValue: 22)
    public static let inconsistentGroupProtocol = KafkaErrorCode(rawValue: 23)
    public static let invalidGroupId = KafkaErrorCode(rawValue: 24)
    public static let unknownMemberId = KafkaErrorCode(rawValue: 25)
    public static let invalidSessionTimeout = KafkaErrorCode(rawValue: 26)
    public static let rebalanceInProgress = KafkaErrorCode(rawValue: 27)
    public static let invalidCommitOffsetSize = KafkaErrorCode(rawValue: 28)
    public static let topicAuthorizationFailed = KafkaErrorCode(rawValue: 29)
    public static let groupAuthorizationFailed = KafkaErrorCode(rawValue: 30)
    public static let clusterAuthorizationFailed = KafkaErrorCode(rawValue: 31)
    public static let invalidTimestamp = KafkaErrorCode(rawValue: 32)
    public static let unsupportedSaslMechanism = KafkaErrorCode(rawValue: 33)
    public static let illegalSaslState = KafkaErrorCode(rawValue: 34)
    public static let unsupportedVersion = KafkaErrorCode(rawValue: 35)
    public static let topicAlreadyExists = KafkaErrorCode(rawValue: 36)
    public static let invalidPartitions = KafkaErrorCode(rawValue: 37)
    public static let invalidReplicationFactor = KafkaErrorCode(rawValue: 38)
    public static let invalidReplicaAssignment = KafkaErrorCode(rawValue: 39)
    public static let invalidConfig = KafkaErrorCode(rawValue: 40)
    public static let notController = KafkaErrorCode(rawValue: 41)
    public static let invalidRequest = KafkaErrorCode(rawValue: 42)
    public static let unsupportedForMessageFormat = KafkaErrorCode(rawValue: 43)
    public static let policyViolation = KafkaErrorCode(rawValue: 44)
    public static let outOfOrderSequenceNumber = KafkaErrorCode(rawValue: 45)
    public static let duplicateSequenceNumber = KafkaErrorCode(rawValue: 46)
    public static let invalidProducerEpoch = KafkaErrorCode(rawValue: 47)
    public static let invalidTxnState = KafkaErrorCode(rawValue: 48)
    public static let invalidProducerIdMapping = KafkaErrorCode(rawValue: 49)
    public static let invalidTransactionTimeout = KafkaErrorCode(rawValue: 50)
    public static let concurrentTransactions = KafkaErrorCode(rawValue: 51)
    public static let transactionCoordinatorFenced = KafkaErrorCode(rawValue: 52)
    public static let transactionalIdAuthorizationFailed = KafkaErrorCode(rawValue: 53)
    public static let securityDisabled = KafkaErrorCode(rawValue: 54)
    public static let operationNotAttempted = KafkaErrorCode(rawValue: 55)
    public static let kafkaStorageError = KafkaErrorCode(rawValue: 56)
    public static let logDirNotFound = KafkaErrorCode(rawValue: 57)
    public static let saslAuthenticationFailed = KafkaErrorCode(rawValue: 58)
    public static let unknownProducerId = KafkaErrorCode(rawValue: 59)
    public static let reassignmentInProgress = KafkaErrorCode(rawValue: 60)
    public static let delegationTokenAuthDisabled = KafkaErrorCode(rawValue: 61)
    public static let delegationTokenNotFound = KafkaErrorCode(rawValue: 62)
    public static let delegationTokenOwnerMismatch = KafkaErrorCode(rawValue: 63)
    public static let delegationTokenRequestNotAllowed = KafkaErrorCode(rawValue: 64)
    public static let delegationTokenAuthorizationFailed = KafkaErrorCode(rawValue: 65)
    public static let delegationTokenExpired = KafkaErrorCode(rawValue: 66)
    public static let invalidPrincipalType = KafkaErrorCode(rawValue: 67)
    public static let nonEmptyGroup = KafkaErrorCode(rawValue: 68)
    public static let groupIdNotFound = KafkaErrorCode(rawValue: 69)
    public static let fetchSessionIdNotFound = KafkaErrorCode(rawValue: 70)
    public static let invalidFetchSessionEpoch = KafkaErrorCode(rawValue: 71)
    public static let listenerNotFound = KafkaErrorCode(rawValue: 72)
    public static let topicDeletionDisabled = KafkaErrorCode(rawValue: 73)
    public static let fencedLeaderEpoch = KafkaErrorCode(rawValue: 74)
    public static let unknownLeaderEpoch = KafkaErrorCode(rawValue: 75)
    public static let unsupportedCompressionType = KafkaErrorCode(rawValue: 76)
    public static let staleBrokerEpoch = KafkaErrorCode(rawValue: 77)
    public static let offsetNotAvailable = KafkaErrorCode(rawValue: 78)
    public static let memberIdRequired = KafkaErrorCode(rawValue: 79)
    public static let preferredLeaderNotAvailable = KafkaErrorCode(rawValue: 80)
    public static let groupMaxSizeReached = KafkaErrorCode(rawValue: 81)
    public static let fencedInstanceId = KafkaErrorCode(rawValue: 82)
    public static let eligibleLeadersNotAvailable = KafkaErrorCode(rawValue: 83)
    public static let electionNotNeeded = KafkaErrorCode(rawValue: 84)
    public static let noReassignmentInProgress = KafkaErrorCode(rawValue: 85)
    public static let groupSubscribedToTopic = KafkaErrorCode(rawValue: 86)
    public static let invalidRecord = KafkaErrorCode(rawValue: 87)
    public static let unstableOffsetCommit = KafkaErrorCode(rawValue: 88)
    public static let throttlingQuotaExceeded = KafkaErrorCode(rawValue: 89)
    public static let producerFenced = KafkaErrorCode(rawValue: 90)
    public static let resourceNotFound = KafkaErrorCode(rawValue: 91)
    public static let duplicateResource = KafkaErrorCode(rawValue: 92)
    public static let unacceptableCredential = KafkaErrorCode(rawValue: 93)
    public static let inconsistentVoterSet = KafkaErrorCode(rawValue: 94)
    public static let invalidUpdateVersion = KafkaErrorCode(rawValue: 95)
    public static let featureUpdateFailed = KafkaErrorCode(rawValue: 96)
    public static let principalDeserializationFailure = KafkaErrorCode(rawValue: 97)
    public static let snapshotNotFound = KafkaErrorCode(rawValue: 98)
    public static let positionOutOfRange = KafkaErrorCode(rawValue: 99)
    public static let unknownTopicId = KafkaErrorCode(rawValue: 100)
    public static let duplicateBrokerRegistration = KafkaErrorCode(rawValue: 101)
    public static let brokerIdNotRegistered = KafkaErrorCode(rawValue: 102)
    public static let inconsistentTopicId = KafkaErrorCode(rawValue: 103)
    public static let inconsistentClusterId = KafkaErrorCode(rawValue: 104)
    public static let transactionalIdNotFound = KafkaErrorCode(rawValue: 105)
    public static let fetchSessionTopicIdError = KafkaErrorCode(rawValue: 106)
    public static let ineligibleReplica = KafkaErrorCode(rawValue: 107)
    public static let newLeaderElected = KafkaErrorCode(rawValue: 108)
    public static let offsetMovedToTieredStorage = KafkaErrorCode(rawValue: 109)
    public static let fencedMemberEpoch = KafkaErrorCode(rawValue: 110)
    public static let unreleasedInstanceId = KafkaErrorCode(rawValue: 111)
    public static let unsupportedAssignor = KafkaErrorCode(rawValue: 112)
    public static let staleMemberEpoch = KafkaErrorCode(rawValue: 113)
    public static let mismatchedEndpointType = KafkaErrorCode(rawValue: 114)
    public static let unsupportedEndpointType = KafkaErrorCode(rawValue: 115)
    public static let unknownControllerId = KafkaErrorCode(rawValue: 116)
    public static let unknownSubscriptionId = KafkaErrorCode(rawValue: 117)
    public static let telemetryTooLarge = KafkaErrorCode(rawValue: 118)
    public static let invalidRegistration = KafkaErrorCode(rawValue: 119)
    public static let transactionAbortable = KafkaErrorCode(rawValue: 120)
    public static let invalidRecordState = KafkaErrorCode(rawValue: 121)
    public static let shareSessionNotFound = KafkaErrorCode(rawValue: 122)
    public static let invalidShareSessionEpoch = KafkaErrorCode(rawValue: 123)
    public static let fencedStateEpoch = KafkaErrorCode(rawValue: 124)
    public static let invalidVoterKey = KafkaErrorCode(rawValue: 125)
    public static let duplicateVoter = KafkaErrorCode(rawValue: 126)
    public static let voterNotFound = KafkaErrorCode(rawValue: 127)

    /// Every known code from -1 upwards, without gaps (`table[code + 1]`).
    public static let table: [Info] = [
        Info(code: -1, name: "UNKNOWN_SERVER_ERROR", isRetriable: false,
             description: "The server hit an unexpected error while handling the request."),
        Info(code: 0, name: "NONE", isRetriable: false,
             description: "No error."),
        Info(code: 1, name: "OFFSET_OUT_OF_RANGE", isRetriable: false,
             description: "The requested offset lies outside the range the server holds for the partition."),
        Info(code: 2, name: "CORRUPT_MESSAGE", isRetriable: true,
             description: "A message failed its CRC check, has an invalid size, has a null key for a compacted topic, or is otherwise corrupt."),
        Info(code: 3, name: "UNKNOWN_TOPIC_OR_PARTITION", isRetriable: true,
             description: "This server does not host the topic-partition."),
        Info(code: 4, name: "INVALID_FETCH_SIZE", isRetriable: false,
             description: "The requested fetch size is invalid."),
        Info(code: 5, name: "LEADER_NOT_AVAILABLE", isRetriable: true,
             description: "The partition has no leader at the moment (a leader election is in progress)."),
        Info(code: 6, name: "NOT_LEADER_OR_FOLLOWER", isRetriable: true,
             description: "This broker is not the partition's leader (or, for requests any replica may serve, not one of its replicas)."),
        Info(code: 7, name: "REQUEST_TIMED_OUT", isRetriable: true,
             description: "The request timed out."),
        Info(code: 8, name: "BROKER_NOT_AVAILABLE", isRetriable: false,
             description: "The broker is not available."),
        Info(code: 9, name: "REPLICA_NOT_AVAILABLE", isRetriable: true,
             description: "The replica is not available for the requested topic-partition."),
        Info(code: 10, name: "MESSAGE_TOO_LARGE", isRetriable: false,
             description: "The request held a message larger than the server accepts."),
        Info(code: 11, name: "STALE_CONTROLLER_EPOCH", isRetriable: false,
             description: "The controller has moved to another broker."),
        Info(code: 12, name: "OFFSET_METADATA_TOO_LARGE", isRetriable: false,
             description: "The metadata attached to the committed offset is too large."),
        Info(code: 13, name: "NETWORK_EXCEPTION", isRetriable: true,
             description: "The server disconnected before a response was received."),
        Info(code: 14, name: "COORDINATOR_LOAD_IN_PROGRESS", isRetriable: true,
             description: "The coordinator is still loading and cannot serve requests yet."),
        Info(code: 15, name: "COORDINATOR_NOT_AVAILABLE", isRetriable: true,
             description: "The coordinator is not available."),
        Info(code: 16, name: "NOT_COORDINATOR", isRetriable: true,
             description: "This broker is not the coordinator for the group or transaction."),
        Info(code: 17, name: "INVALID_TOPIC_EXCEPTION", isRetriable: false,
             description: "The request tried to act on an invalid topic."),
        Info(code: 18, name: "RECORD_LIST_TOO_LARGE", isRetriable: false,
             description: "The request held a batch larger than the server's configured segment size."),
        Info(code: 19, name: "NOT_ENOUGH_REPLICAS", isRetriable: true,
             description: "Rejected: fewer in-sync replicas than required."),
        Info(code: 20, name: "NOT_ENOUGH_REPLICAS_AFTER_APPEND", isRetriable: true,
             description: "Written to the log, but to fewer in-sync replicas than required."),
        Info(code: 21, name: "INVALID_REQUIRED_ACKS", isRetriable: false,
             description: "The produce request asked for an invalid acks value."),
        Info(code: 22, name: "ILLEGAL_GENERATION", isRetriable: false,
             description: "The group generation id is not valid."),
        Info(code: 23, name: "INCONSISTENT_GROUP_PROTOCOL", isRetriable: false,
             description: "The member's protocols are incompatible with those of the group's members, or its protocol type or list is empty."),
        Info(code: 24, name: "INVALID_GROUP_ID", isRetriable: false,
             description: "The group id is invalid."),
        Info(code: 25, name: "UNKNOWN_MEMBER_ID", isRetriable: false,
             description: "The coordinator does not know this member."),
        Info(code: 26, name: "INVALID_SESSION_TIMEOUT", isRetriable: false,
             description: "The session timeout is outside the broker's allowed range (group.min/max.session.timeout.ms)."),
        Info(code: 27, name: "REBALANCE_IN_PROGRESS", isRetriable: false,
             description: "The group is rebalancing: the member must rejoin."),
        Info(code: 28, name: "INVALID_COMMIT_OFFSET_SIZE", isRetriable: false,
             description: "The committed offset data has an invalid size."),
        Info(code: 29, name: "TOPIC_AUTHORIZATION_FAILED", isRetriable: false,
             description: "Not authorized to access the topic."),
        Info(code: 30, name: "GROUP_AUTHORIZATION_FAILED", isRetriable: false,
             description: "Not authorized to access the group."),
        Info(code: 31, name: "CLUSTER_AUTHORIZATION_FAILED", isRetriable: false,
             description: "Not authorized for this cluster operation."),
        Info(code: 32, name: "INVALID_TIMESTAMP", isRetriable: false,
             description: "A message timestamp is outside the accepted range."),
        Info(code: 33, name: "UNSUPPORTED_SASL_MECHANISM", isRetriable: false,
             description: "The broker does not support the requested SASL mechanism."),
        Info(code: 34, name: "ILLEGAL_SASL_STATE", isRetriable: false,
             description: "The request is not valid in the current SASL state."),
        Info(code: 35, name: "UNSUPPORTED_VERSION", isRetriable: false,
             description: "The API version is not supported."),
        Info(code: 36, name: "TOPIC_ALREADY_EXISTS", isRetriable: false,
             description: "A topic with this name already exists."),
        Info(code: 37, name: "INVALID_PARTITIONS", isRetriable: false,
             description: "The number of partitions is invalid."),
        Info(code: 38, name: "INVALID_REPLICATION_FACTOR", isRetriable: false,
             description: "The replication factor is invalid."),
        Info(code: 39, name: "INVALID_REPLICA_ASSIGNMENT", isRetriable: false,
             description: "The replica assignment is invalid."),
        Info(code: 40, name: "INVALID_CONFIG", isRetriable: false,
             description: "The configuration is invalid."),
        Info(code: 41, name: "NOT_CONTROLLER", isRetriable: true,
             description: "This broker is not the cluster's controller."),
        Info(code: 42, name: "INVALID_REQUEST", isRetriable: false,
             description: "The request is malformed or was sent to an incompatible broker; the broker log has details."),
        Info(code: 43, name: "UNSUPPORTED_FOR_MESSAGE_FORMAT", isRetriable: false,
             description: "The broker's message format version does not support the request."),
        Info(code: 44, name: "POLICY_VIOLATION", isRetriable: false,
             description: "The request parameters break a configured policy."),
        Info(code: 45, name: "OUT_OF_ORDER_SEQUENCE_NUMBER", isRetriable: false,
             description: "The broker received an out-of-order sequence number."),
        Info(code: 46, name: "DUPLICATE_SEQUENCE_NUMBER", isRetriable: false,
             description: "The broker received a duplicate sequence number."),
        Info(code: 47, name: "INVALID_PRODUCER_EPOCH", isRetriable: false,
             description: "The producer used an old epoch: a newer producer with the same transactional id exists, or the transaction expired."),
        Info(code: 48, name: "INVALID_TXN_STATE", isRetriable: false,
             description: "The transactional operation is not valid in the transaction's current state."),
        Info(code: 49, name: "INVALID_PRODUCER_ID_MAPPING", isRetriable: false,
             description: "The producer id is not the one assigned to this transactional id."),
        Info(code: 50, name: "INVALID_TRANSACTION_TIMEOUT", isRetriable: false,
             description: "The transaction timeout exceeds the broker's maximum (transaction.max.timeout.ms)."),
        Info(code: 51, name: "CONCURRENT_TRANSACTIONS", isRetriable: true,
             description: "Another operation on the same transaction is in progress. (The protocol guide marks this not retriable, but brokers expect the client to retry, as the Java client does.)"),
        Info(code: 52, name: "TRANSACTION_COORDINATOR_FENCED", isRetriable: false,
             description: "The coordinator sending WriteTxnMarkers is no longer the producer's current coordinator."),
        Info(code: 53, name: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", isRetriable: false,
             description: "Not authorized for the transactional id."),
        Info(code: 54, name: "SECURITY_DISABLED", isRetriable: false,
             description: "Security features are disabled."),
        Info(code: 55, name: "OPERATION_NOT_ATTEMPTED", isRetriable: false,
             description: "The broker did not try this operation, because others in the same batched request failed."),
        Info(code: 56, name: "KAFKA_STORAGE_ERROR", isRetriable: true,
             description: "The broker had a disk error accessing the log."),
        Info(code: 57, name: "LOG_DIR_NOT_FOUND", isRetriable: false,
             description: "The log directory is not in the broker's configuration."),
        Info(code: 58, name: "SASL_AUTHENTICATION_FAILED", isRetriable: false,
             description: "SASL authentication failed."),
        Info(code: 59, name: "UNKNOWN_PRODUCER_ID", isRetriable: false,
             description: "The broker has no state for the producer id (its records may have been removed by retention)."),
        Info(code: 60, name: "REASSIGNMENT_IN_PROGRESS", isRetriable: false,
             description: "A partition reassignment is in progress."),
        Info(code: 61, name: "DELEGATION_TOKEN_AUTH_DISABLED", isRetriable: false,
             description: "Delegation tokens are not enabled."),
        Info(code: 62, name: "DELEGATION_TOKEN_NOT_FOUND", isRetriable: false,
             description: "The delegation token does not exist on the server."),
        Info(code: 63, name: "DELEGATION_TOKEN_OWNER_MISMATCH", isRetriable: false,
             description: "The principal is not a valid owner or renewer of the token."),
        Info(code: 64, name: "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", isRetriable: false,
             description: "Delegation token requests are not allowed on plaintext/1-way TLS channels or token-authenticated channels."),
        Info(code: 65, name: "DELEGATION_TOKEN_AUTHORIZATION_FAILED", isRetriable: false,
             description: "Not authorized for the delegation token."),
        Info(code: 66, name: "DELEGATION_TOKEN_EXPIRED", isRetriable: false,
             description: "The delegation token has expired."),
        Info(code: 67, name: "INVALID_PRINCIPAL_TYPE", isRetriable: false,
             description: "The principal type is not supported."),
        Info(code: 68, name: "NON_EMPTY_GROUP", isRetriable: false,
             description: "The group is not empty."),
        Info(code: 69, name: "GROUP_ID_NOT_FOUND", isRetriable: false,
             description: "The group id does not exist."),
        Info(code: 70, name: "FETCH_SESSION_ID_NOT_FOUND", isRetriable: true,
             description: "The fetch session id was not found."),
        Info(code: 71, name: "INVALID_FETCH_SESSION_EPOCH", isRetriable: true,
             description: "The fetch session epoch is invalid."),
        Info(code: 72, name: "LISTENER_NOT_FOUND", isRetriable: true,
             description: "The leader has no listener matching the one the metadata request came in on."),
        Info(code: 73, name: "TOPIC_DELETION_DISABLED", isRetriable: false,
             description: "Topic deletion is disabled."),
        Info(code: 74, name: "FENCED_LEADER_EPOCH", isRetriable: true,
             description: "The request's leader epoch is older than the broker's."),
        Info(code: 75, name: "UNKNOWN_LEADER_EPOCH", isRetriable: true,
             description: "The request's leader epoch is newer than the broker's."),
        Info(code: 76, name: "UNSUPPORTED_COMPRESSION_TYPE", isRetriable: false,
             description: "The client does not support the partition's compression type."),
        Info(code: 77, name: "STALE_BROKER_EPOCH", isRetriable: false,
             description: "The broker epoch has changed."),
        Info(code: 78, name: "OFFSET_NOT_AVAILABLE", isRetriable: true,
             description: "The leader's high watermark has not caught up after an election, so offsets are not yet guaranteed monotonic."),
        Info(code: 79, name: "MEMBER_ID_REQUIRED", isRetriable: false,
             description: "The member needs a member id before it can join the group."),
        Info(code: 80, name: "PREFERRED_LEADER_NOT_AVAILABLE", isRetriable: true,
             description: "The preferred leader is not available."),
        Info(code: 81, name: "GROUP_MAX_SIZE_REACHED", isRetriable: false,
             description: "The group has reached its maximum size."),
        Info(code: 82, name: "FENCED_INSTANCE_ID", isRetriable: false,
             description: "Another member registered the same group.instance.id with a different member id."),
        Info(code: 83, name: "ELIGIBLE_LEADERS_NOT_AVAILABLE", isRetriable: true,
             description: "No eligible leader is available for the partition."),
        Info(code: 84, name: "ELECTION_NOT_NEEDED", isRetriable: true,
             description: "The partition needs no leader election."),
        Info(code: 85, name: "NO_REASSIGNMENT_IN_PROGRESS", isRetriable: false,
             description: "No partition reassignment is in progress."),
        Info(code: 86, name: "GROUP_SUBSCRIBED_TO_TOPIC", isRetriable: false,
             description: "Offsets of a topic cannot be deleted while the group is subscribed to it."),
        Info(code: 87, name: "INVALID_RECORD", isRetriable: false,
             description: "The broker's validation rejected the record."),
        Info(code: 88, name: "UNSTABLE_OFFSET_COMMIT", isRetriable: true,
             description: "Pending transactional offsets must be resolved first."),
        Info(code: 89, name: "THROTTLING_QUOTA_EXCEEDED", isRetriable: true,
             description: "The throttling quota was exceeded."),
        Info(code: 90, name: "PRODUCER_FENCED", isRetriable: false,
             description: "A newer producer with the same transactional id has fenced this one."),
        Info(code: 91, name: "RESOURCE_NOT_FOUND", isRetriable: false,
             description: "The request names a resource that does not exist."),
        Info(code: 92, name: "DUPLICATE_RESOURCE", isRetriable: false,
             description: "The request names the same resource twice."),
        Info(code: 93, name: "UNACCEPTABLE_CREDENTIAL", isRetriable: false,
             description: "The credential does not meet the acceptance criteria."),
        Info(code: 94, name: "INCONSISTENT_VOTER_SET", isRetriable: false,
             description: "The sender or receiver of a voter-only request is not an expected voter."),
        Info(code: 95, name: "INVALID_UPDATE_VERSION", isRetriable: false,
             description: "The update version is invalid."),
        Info(code: 96, name: "FEATURE_UPDATE_FAILED", isRetriable: false,
             description: "The finalized features could not be updated because of a server error."),
        Info(code: 97, name: "PRINCIPAL_DESERIALIZATION_FAILURE", isRetriable: false,
             description: "The forwarded request's principal could not be deserialized."),
        Info(code: 98, name: "SNAPSHOT_NOT_FOUND", isRetriable: false,
             description: "The requested snapshot does not exist."),
        Info(code: 99, name: "POSITION_OUT_OF_RANGE", isRetriable: false,
             description: "The requested position is outside the snapshot."),
        Info(code: 100, name: "UNKNOWN_TOPIC_ID", isRetriable: true,
             description: "This server does not host the topic id."),
        Info(code: 101, name: "DUPLICATE_BROKER_REGISTRATION", isRetriable: false,
             description: "The broker id is already registered."),
        Info(code: 102, name: "BROKER_ID_NOT_REGISTERED", isRetriable: false,
             description: "The broker id is not registered."),
        Info(code: 103, name: "INCONSISTENT_TOPIC_ID", isRetriable: true,
             description: "The log's topic id does not match the request's."),
        Info(code: 104, name: "INCONSISTENT_CLUSTER_ID", isRetriable: false,
             description: "The request's cluster id does not match the server's."),
        Info(code: 105, name: "TRANSACTIONAL_ID_NOT_FOUND", isRetriable: false,
             description: "The transactional id does not exist."),
        Info(code: 106, name: "FETCH_SESSION_TOPIC_ID_ERROR", isRetriable: true,
             description: "The fetch session used topic ids inconsistently."),
        Info(code: 107, name: "INELIGIBLE_REPLICA", isRetriable: false,
             description: "The new ISR holds an ineligible replica."),
        Info(code: 108, name: "NEW_LEADER_ELECTED", isRetriable: false,
             description: "The AlterPartition request succeeded but the leader has changed."),
        Info(code: 109, name: "OFFSET_MOVED_TO_TIERED_STORAGE", isRetriable: false,
             description: "The requested offset has moved to tiered storage."),
        Info(code: 110, name: "FENCED_MEMBER_EPOCH", isRetriable: false,
             description: "The member epoch is fenced: the member must give up its partitions and rejoin."),
        Info(code: 111, name: "UNRELEASED_INSTANCE_ID", isRetriable: false,
             description: "Another member still uses the instance id and must leave first."),
        Info(code: 112, name: "UNSUPPORTED_ASSIGNOR", isRetriable: false,
             description: "The group does not support the assignor or its version range."),
        Info(code: 113, name: "STALE_MEMBER_EPOCH", isRetriable: false,
             description: "The member epoch is stale: retry after the next ConsumerGroupHeartbeat response."),
        Info(code: 114, name: "MISMATCHED_ENDPOINT_TYPE", isRetriable: false,
             description: "The request went to an endpoint of the wrong type."),
        Info(code: 115, name: "UNSUPPORTED_ENDPOINT_TYPE", isRetriable: false,
             description: "The endpoint type is not supported yet."),
        Info(code: 116, name: "UNKNOWN_CONTROLLER_ID", isRetriable: false,
             description: "The controller id is unknown."),
        Info(code: 117, name: "UNKNOWN_SUBSCRIPTION_ID", isRetriable: false,
             description: "The telemetry subscription id is unknown or outdated."),
        Info(code: 118, name: "TELEMETRY_TOO_LARGE", isRetriable: false,
             description: "The telemetry push is larger than the broker accepts."),
        Info(code: 119, name: "INVALID_REGISTRATION", isRetriable: false,
             description: "The controller found the broker registration invalid."),
        Info(code: 120, name: "TRANSACTION_ABORTABLE", isRetriable: false,
             description: "The transaction hit an error; aborting it lets the transactional id be used again."),
        Info(code: 121, name: "INVALID_RECORD_STATE", isRetriable: false,
             description: "The record state is invalid, so the delivery acknowledgement failed."),
        Info(code: 122, name: "SHARE_SESSION_NOT_FOUND", isRetriable: true,
             description: "The share session was not found."),
        Info(code: 123, name: "INVALID_SHARE_SESSION_EPOCH", isRetriable: true,
             description: "The share session epoch is invalid."),
        Info(code: 124, name: "FENCED_STATE_EPOCH", isRetriable: false,
             description: "The share coordinator rejected a mismatched share-group state epoch."),
        Info(code: 125, name: "INVALID_VOTER_KEY", isRetriable: false,
             description: "The voter key does not match the receiving replica's."),
        Info(code: 126, name: "DUPLICATE_VOTER", isRetriable: false,
             description: "The voter is already in the voter set."),
        Info(code: 127, name: "VOTER_NOT_FOUND", isRetriable: false,
             description: "The voter is not in the voter set."),
    ]
}
