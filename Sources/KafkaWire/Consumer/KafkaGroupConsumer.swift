public import NIOCore
import Synchronization

/// The records one fetch returned for one partition.
public struct ConsumerBatch: Sendable {
    public var topic: String
    public var partition: Int32
    public var records: [KafkaRecord]
    public var highWatermark: Int64
    /// The offset after the last record (what to commit once the batch is processed).
    public var nextOffset: Int64

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}

/// A member of a consumer group (the classic protocol, eager rebalancing, protocol type
/// "consumer"): joins the group, gets partitions from the leader's assignor, fetches them and
/// hands the records out as `batches`, an `AsyncSequence` with back-pressure (a bounded buffer;
/// fetching waits while the application lags). Offsets are committed only by `commit(_:)`.
///
/// Run it with `run()` (Service style: returns after `leave()` or when cancelled). Before
/// partitions are taken away `onRevoke` is awaited; from the moment it starts no record of
/// those partitions is delivered and the buffered ones are dropped.
public final class KafkaGroupConsumer: Sendable {
    public struct Configuration: Sendable {
        public var groupID: String
        public var topics: [String]
        /// JoinGroup's session timeout: the coordinator drops a member silent this long.
        public var sessionTimeout: TimeAmount = .seconds(10)
        /// How long the coordinator waits for members to rejoin during a rebalance.
        public var rebalanceTimeout: TimeAmount = .seconds(60)
        public var heartbeatInterval: TimeAmount = .seconds(3)
        /// `.range` (eager, the default; interoperates with Java and librdkafka range members) or
        /// `.cooperativeSticky` (KIP-429: every member of the group must use it).
        public var assignor: ConsumerAssignor = .range
        public var fetchMaxBytes: Int32 = 50 << 20
        public var fetchMaxPartitionBytes: Int32 = 1 << 20
        public var fetchMaxWait: TimeAmount = .milliseconds(500)
        public var isolation: KafkaIsolationLevel = .readUncommitted
        /// Batches held for the application before fetching waits.
        public var maxBufferedBatches: Int = 16
        public var retryBackoff: TimeAmount = .milliseconds(200)

        public init(groupID: String, topics: [String]) {
            self.groupID = groupID
            self.topics = topics
        }
    }

    public let cluster: KafkaCluster
    /// The group requests' own connections (same configuration and event loops as `cluster`).
    /// A broker handles one request of a connection at a time, and JoinGroup is held until the
    /// rebalance completes: members sharing `cluster` (several consumers in one process) would
    /// queue their JoinGroups behind each other and never meet in one generation. Java and
    /// librdkafka members have their own connections too.
    private let coordination: KafkaCluster
    public let configuration: Configuration
    private let onRevoke: @Sendable ([TopicPartition]) async -> Void
    private let onAssign: @Sendable ([TopicPartition]) async -> Void

    struct PartitionState {
        /// The next offset to fetch; nil until the committed offset is known.
        var offset: Int64?
        var paused = false
    }

    struct State {
        var membership: GroupMembershipStateMachine
        var coordinator: Int32?
        var assigned: [TopicPartition: PartitionState] = [:]
        /// Bumped on every assignment change, so fetch results of an older one are dropped.
        var assignmentEpoch: UInt64 = 0
        var buffer: [ConsumerBatch] = []
        var reader: CheckedContinuation<ConsumerBatch?, Never>?
        var writers: [CheckedContinuation<Void, Never>] = []
        var leaveRequested = false
        var finished = false
    }

    private let state: Mutex<State>

    public init(cluster: KafkaCluster, configuration: Configuration,
                onRevoke: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in },
                onAssign: @escaping @Sendable ([TopicPartition]) async -> Void = { _ in }) {
        self.cluster = cluster
        self.coordination = KafkaCluster(configuration: cluster.configuration, eventLoopGroup: cluster.group)
        self.configuration = configuration
        self.onRevoke = onRevoke
        self.onAssign = onAssign
        self.state = Mutex(State(membership: GroupMembershipStateMachine(heartbeatInterval: configuration.heartbeatInterval,
                                                                         cooperative: configuration.assignor.isCooperative)))
    }

    /// This member's id (empty before the first join).
    public var memberID: String { state.withLock { $0.membership.memberID } }

    /// The partitions this member owns now.
    public var assignment: [TopicPartition] { state.withLock { $0.assigned.keys.sorted() } }

    // MARK: application API

    /// Commits, for each partition, the next offset to read (the last processed offset + 1).
    /// `metadata` is stored with a partition's offset (OffsetCommit's metadata string) and read
    /// back by `committed(_:)`; partitions not named in it get an empty string.
    public func commit(_ offsets: [TopicPartition: Int64], metadata: [TopicPartition: String] = [:]) async throws {
        guard !offsets.isEmpty else { return }
        let (coordinator, memberID, generation) = state.withLock { s in
            (s.coordinator, s.membership.memberID, s.membership.generation)
        }
        guard let coordinator, let generation else {
            throw KafkaWireError(.invalidArgument, "commit while the group \(configuration.groupID) is rebalancing")
        }
        let groupID = configuration.groupID
        var byTopic: [String: [OffsetCommitRequest.OffsetCommitRequestPartition]] = [:]
        for (tp, offset) in offsets {
            byTopic[tp.topic, default: []].append(.init(partitionIndex: tp.partition, committedOffset: offset,
                                                        committedMetadata: metadata[tp] ?? ""))
        }
        let response = try await coordination.send(to: coordinator) { (_: Int16) in
            var r = OffsetCommitRequest()
            r.groupId = groupID
            r.generationIdOrMemberEpoch = generation
            r.memberId = memberID
            r.topics = byTopic.map { .init(name: $0.key, partitions: $0.value) }
            return r
        }
        for t in response.topics {
            for p in t.partitions where KafkaErrorCode(p.errorCode).isError {
                throw KafkaWireError.broker(KafkaErrorCode(p.errorCode), "OffsetCommit \(t.name)/\(p.partitionIndex) group \(groupID)")
            }
        }
    }

    /// Stops fetching these partitions (buffered batches stay) until `resume`.
    public func pause(_ partitions: [TopicPartition]) {
        state.withLock { s in for p in partitions { s.assigned[p]?.paused = true } }
    }

    public func resume(_ partitions: [TopicPartition]) {
        state.withLock { s in for p in partitions { s.assigned[p]?.paused = false } }
    }

    /// Asks `run()` to revoke, leave the group (LeaveGroup) and return.
    public func leave() {
        state.withLock { $0.leaveRequested = true }
    }

    // MARK: batches

    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = ConsumerBatch
        let consumer: KafkaGroupConsumer

        public struct AsyncIterator: AsyncIteratorProtocol {
            let consumer: KafkaGroupConsumer
            public mutating func next() async -> ConsumerBatch? {
                await consumer.nextBatch()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
    }

    /// The fetched batches, one partition each, in fetch order; ends when `run()` returns.
    /// Iterate from one task.
    public var batches: Batches { Batches(consumer: self) }

    func nextBatch() async -> ConsumerBatch? {
        await withCheckedContinuation { (c: CheckedContinuation<ConsumerBatch?, Never>) in
            let (immediate, writer): (ConsumerBatch??, CheckedContinuation<Void, Never>?) = state.withLock { s in
                if !s.buffer.isEmpty { let b = s.buffer.removeFirst()
                    return (.some(b), s.writers.isEmpty ? nil : s.writers.removeFirst())
                }
                if s.finished { return (.some(nil), nil) }
                s.reader = c
                return (nil, nil)
            }
            writer?.resume()
            if let immediate { c.resume(returning: immediate) }
        }
    }

    /// Appends a fetched batch when its partition is still assigned in the same assignment and
    /// the fetch started at the partition's current offset; waits while the buffer is full.
    private func deliver(_ batch: ConsumerBatch, fetchedAt offset: Int64, epoch: UInt64) async {
        let tp = batch.topicPartition
        while true {
            enum Step { case dropped, delivered(CheckedContinuation<ConsumerBatch?, Never>?), full }
            let step: Step = state.withLock { s in
                guard s.assignmentEpoch == epoch, let p = s.assigned[tp], p.offset == offset, !s.finished else {
                    return .dropped
                }
                s.assigned[tp]?.offset = batch.nextOffset
                if batch.records.isEmpty { return .delivered(nil) }
                if let reader = s.reader {
                    s.reader = nil
                    return .delivered(reader)
                }
                if s.buffer.count < configuration.maxBufferedBatches {
                    s.buffer.append(batch)
                    return .delivered(nil)
                }
                s.assigned[tp]?.offset = offset
                return .full
            }
            switch step {
            case .dropped: return
            case .delivered(let reader):
                reader?.resume(returning: batch)
                return
            case .full:
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { s -> Bool in
                        if s.buffer.count < configuration.maxBufferedBatches || s.finished { return true }
                        s.writers.append(c)
                        return false
                    }
                    if ready { c.resume() }
                }
            }
        }
    }

    // MARK: run

    /// Joins the group and consumes until `leave()` or cancellation (then leaves the group too).
    public func run() async throws {
        do {
            try await consume()
        } catch {
            await coordination.shutdown()
            throw error
        }
        await coordination.shutdown()
    }

    private func consume() async throws {
        defer { finish() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.fetchLoop() }
            group.addTask { try await self.membershipLoop() }
            // The first to end ends both; `finish` wakes a fetch waiting for buffer space.
            do {
                _ = try await group.next()
            } catch {
                finish()
                group.cancelAll()
                throw error
            }
            finish()
            group.cancelAll()
        }
    }

    private func finish() {
        let (reader, writers) = state.withLock { s in
            s.finished = true
            s.buffer.removeAll()
            s.assigned = [:]
            let r = s.reader
            s.reader = nil
            let w = s.writers
            s.writers = []
            return (r, w)
        }
        reader?.resume(returning: nil)
        for w in writers { w.resume() }
    }

    private func membershipLoop() async throws {
        var queue = state.withLock { $0.membership.start() }
        while true {
            if queue.isEmpty {
                if Task.isCancelled || state.withLock({ $0.leaveRequested }) {
                    queue.append(contentsOf: state.withLock { $0.membership.leave() })
                    continue
                }
                try? await Task.sleep(nanoseconds: 50_000_000)
                queue.append(contentsOf: state.withLock { $0.membership.timer(now: .now()) })
                continue
            }
            let action = queue.removeFirst()
            switch action {
            case .findCoordinator:
                do {
                    let node = try await findCoordinator()
                    queue.append(contentsOf: state.withLock { s in
                        s.coordinator = node
                        return s.membership.coordinatorFound()
                    })
                } catch {
                    queue.append(contentsOf: state.withLock { $0.membership.coordinatorLost() })
                }
            case .backoff:
                try? await Task.sleep(nanoseconds: UInt64(configuration.retryBackoff.nanoseconds))
            case .sendJoin(let memberID):
                if Task.isCancelled || state.withLock({ $0.leaveRequested }) {
                    queue = state.withLock { $0.membership.leave() }
                    continue
                }
                do {
                    let result = try await join(memberID: memberID)
                    queue.append(contentsOf: state.withLock { $0.membership.joinResponse(result, now: .now()) })
                } catch {
                    queue.append(contentsOf: state.withLock { $0.membership.coordinatorLost() })
                }
            case .sendSync(let memberID, let generation, let protocolName, let members):
                let result: Result<[TopicPartition], KafkaWireError>
                do {
                    result = .success(try await sync(memberID: memberID, generation: generation,
                                                     protocolName: protocolName, members: members))
                } catch let e as KafkaWireError where e.brokerErrorCode != nil {
                    result = .failure(e)
                } catch {
                    queue.append(contentsOf: state.withLock { $0.membership.coordinatorLost() })
                    continue
                }
                queue.append(contentsOf: state.withLock { $0.membership.syncResponse(result, now: .now()) })
            case .sendHeartbeat(let memberID, let generation):
                do {
                    let code = try await heartbeat(memberID: memberID, generation: generation)
                    queue.append(contentsOf: state.withLock { $0.membership.heartbeatResponse(code, now: .now()) })
                } catch {
                    queue.append(contentsOf: state.withLock { $0.membership.coordinatorLost() })
                }
            case .revoke(let partitions):
                let readers: [CheckedContinuation<Void, Never>] = state.withLock { s in
                    let gone = Set(partitions)
                    for p in partitions { s.assigned[p] = nil }
                    s.assignmentEpoch &+= 1
                    s.buffer.removeAll { gone.contains($0.topicPartition) }
                    let w = s.writers
                    s.writers = []
                    return w
                }
                for w in readers { w.resume() }
                await onRevoke(partitions)
            case .assign(let partitions):
                var offsets: [TopicPartition: Int64] = [:]
                for attempt in 0..<5 {
                    do {
                        offsets = try await committedOffsets(partitions)
                        break
                    } catch {
                        if attempt == 4 { throw error }
                        try? await Task.sleep(nanoseconds: UInt64(configuration.retryBackoff.nanoseconds) << attempt)
                    }
                }
                state.withLock { s in
                    s.assignmentEpoch &+= 1
                    for p in partitions { s.assigned[p] = PartitionState(offset: offsets[p]) }
                }
                await onAssign(partitions)
            case .sendLeave(let memberID):
                try? await leaveGroup(memberID: memberID)
            case .fail(let error):
                throw error
            case .done:
                return
            }
        }
    }

    private func fetchLoop() async throws {
        let fetcher = KafkaFetcher(cluster: cluster)
        while !Task.isCancelled {
            let (epoch, wanted) = state.withLock { s in
                (s.assignmentEpoch, s.assigned.compactMap { tp, p -> KafkaFetcher.Assignment? in
                    guard !p.paused, let o = p.offset else { return nil }
                    return KafkaFetcher.Assignment(topic: tp.topic, partition: tp.partition, offset: o)
                })
            }
            if wanted.isEmpty {
                try? await Task.sleep(nanoseconds: 50_000_000)
                continue
            }
            let results: [KafkaFetcher.FetchedPartition]
            do {
                results = try await fetcher.fetch(wanted, maxBytes: configuration.fetchMaxBytes,
                                                  maxPartitionBytes: configuration.fetchMaxPartitionBytes,
                                                  maxWaitMs: Int32(configuration.fetchMaxWait.nanoseconds / 1_000_000),
                                                  isolation: configuration.isolation)
            } catch {
                try? await Task.sleep(nanoseconds: UInt64(configuration.retryBackoff.nanoseconds))
                continue
            }
            var failed = false
            for r in results {
                let asked = wanted.first { $0.topic == r.topic && $0.partition == r.partition }?.offset ?? -1
                if let e = r.error {
                    failed = true
                    if e.code == .offsetOutOfRange {
                        // Outside the log (deleted by retention): start again at the earliest offset.
                        let tp = TopicPartition(topic: r.topic, partition: r.partition)
                        if let earliest = try? await KafkaAdmin(cluster: cluster)
                            .listOffsets(topic: r.topic, partition: r.partition, .earliest) {
                            state.withLock { s in
                                if s.assignmentEpoch == epoch, s.assigned[tp]?.offset == asked { s.assigned[tp]?.offset = earliest }
                            }
                        }
                    }
                    continue
                }
                await deliver(ConsumerBatch(topic: r.topic, partition: r.partition, records: r.records,
                                            highWatermark: r.highWatermark, nextOffset: r.nextOffset),
                              fetchedAt: asked, epoch: epoch)
            }
            if failed { try? await Task.sleep(nanoseconds: UInt64(configuration.retryBackoff.nanoseconds)) }
        }
    }

    // MARK: requests

    private func findCoordinator() async throws -> Int32 {
        if coordination.brokers.isEmpty { try await coordination.metadata(topics: []) }
        let groupID = configuration.groupID
        let response = try await coordination.send(to: nil) { (version: Int16) -> FindCoordinatorRequest in
            var r = FindCoordinatorRequest()
            if version >= 4 { r.coordinatorKeys = [groupID] } else { r.key = groupID }
            r.keyType = 0
            return r
        }
        let (code, node) = response.coordinators.first.map { ($0.errorCode, $0.nodeId) } ?? (response.errorCode, response.nodeId)
        if KafkaErrorCode(code).isError { throw KafkaWireError.broker(KafkaErrorCode(code), "FindCoordinator \(groupID)") }
        if !coordination.brokers.contains(where: { $0.id == node }) { try await coordination.metadata(topics: []) }
        return node
    }

    private func coordinatorNode() throws -> Int32 {
        guard let c = state.withLock({ $0.coordinator }) else {
            throw KafkaWireError(.metadataUnavailable, "no coordinator for group \(configuration.groupID)")
        }
        return c
    }

    private func join(memberID: String) async throws -> GroupMembershipStateMachine.JoinResult {
        let c = try coordinatorNode()
        let config = configuration
        let owned = state.withLock { $0.assigned.keys.sorted() }
        let metadata = try ConsumerSubscription(topics: config.topics.sorted(), ownedPartitions: owned).encode(version: 1)
        let response = try await coordination.send(to: c) { (_: Int16) in
            var r = JoinGroupRequest()
            r.groupId = config.groupID
            r.sessionTimeoutMs = Int32(config.sessionTimeout.nanoseconds / 1_000_000)
            r.rebalanceTimeoutMs = Int32(config.rebalanceTimeout.nanoseconds / 1_000_000)
            r.memberId = memberID
            r.protocolType = "consumer"
            r.protocols = [.init(name: config.assignor.protocolName, metadata: metadata)]
            return r
        }
        let code = KafkaErrorCode(response.errorCode)
        if code.isError { return .error(code, memberID: response.memberId) }
        return .joined(memberID: response.memberId, generation: response.generationId, leader: response.leader,
                       protocolName: response.protocolName,
                       members: response.members.map { .init(memberID: $0.memberId, groupInstanceID: $0.groupInstanceId,
                                                             metadata: $0.metadata) })
    }

    private func sync(memberID: String, generation: Int32, protocolName: String?,
                      members: [GroupMembershipStateMachine.JoinedMember]?) async throws -> [TopicPartition] {
        let c = try coordinatorNode()
        var assignments: [SyncGroupRequest.SyncGroupRequestAssignment] = []
        if let members {
            var decoded: [ConsumerGroupMember] = []
            for m in members {
                let sub = (try? ConsumerSubscription(decoding: m.metadata)) ?? ConsumerSubscription(topics: [])
                decoded.append(ConsumerGroupMember(memberID: m.memberID, groupInstanceID: m.groupInstanceID, subscription: sub))
            }
            var counts: [String: Int32] = [:]
            for topic in Set(decoded.flatMap(\.subscription.topics)) {
                if let t = try? await cluster.topicMetadata(topic) { counts[topic] = Int32(t.partitions.count) }
            }
            let assignor = ConsumerAssignor(rawValue: protocolName ?? "") ?? configuration.assignor
            for (member, partitions) in assignor.assign(members: decoded, partitionCounts: counts) {
                assignments.append(.init(memberId: member, assignment: try ConsumerAssignment(partitions: partitions).encode()))
            }
        }
        var request = SyncGroupRequest()
        request.groupId = configuration.groupID
        request.generationId = generation
        request.memberId = memberID
        request.protocolType = "consumer"
        request.protocolName = protocolName
        request.assignments = assignments
        let response = try await Self.syncGroup(request, cluster: coordination, coordinator: c)
        let groupID = configuration.groupID
        let code = KafkaErrorCode(response.errorCode)
        if code.isError { throw KafkaWireError.broker(code, "SyncGroup \(groupID)") }
        return try ConsumerAssignment(decoding: response.assignment).partitions
            .filter { configuration.topics.contains($0.topic) }
    }

    /// SyncGroup, tolerating one peer quirk: librdkafka's mock cluster answers a SyncGroup it
    /// aborts (REBALANCE_IN_PROGRESS, another member joined) with a null assignment, which the
    /// protocol does not allow. The error code is read from its fixed place then, so the member
    /// rejoins at once instead of treating the answer as a broken connection.
    static func syncGroup(_ request: SyncGroupRequest, cluster: KafkaCluster, coordinator: Int32) async throws -> SyncGroupResponse {
        let connection = try await cluster.connection(to: coordinator)
        let version = try connection.version(for: SyncGroupRequest.self)
        var frame = connection.channel.allocator.buffer(capacity: 256)
        try KafkaFrame.encodeRequest(request, version: version, correlationId: 0,
                                     clientId: cluster.configuration.clientID, into: &frame)
        let body = try await connection.sendFrame(frame, apiKey: SyncGroupRequest.apiKey, version: version,
                                                  timeout: cluster.configuration.requestTimeout)
        var full = body
        do {
            return try KafkaFrame.decodeResponse(to: SyncGroupRequest.self, version: version, from: &full).response
        } catch let e as KafkaWireError where e.code == .nullNotAllowed {
            var rest = body
            _ = try KafkaFrame.decodeResponseHeader(apiKey: SyncGroupRequest.apiKey, apiVersion: version, from: &rest)
            if version >= 1 { _ = rest.readInteger(as: Int32.self) }  // throttle_time_ms
            guard let code = rest.readInteger(as: Int16.self), code != 0 else {
                throw KafkaWireError(e.code, "\(connection.peer): SyncGroup \(request.groupId): \(e.context)")
            }
            var response = SyncGroupResponse()
            response.errorCode = code
            return response
        }
    }

    private func heartbeat(memberID: String, generation: Int32) async throws -> KafkaErrorCode {
        let c = try coordinatorNode()
        let groupID = configuration.groupID
        let response = try await coordination.send(to: c) { (_: Int16) in
            var r = HeartbeatRequest()
            r.groupId = groupID
            r.generationId = generation
            r.memberId = memberID
            return r
        }
        return KafkaErrorCode(response.errorCode)
    }

    private func leaveGroup(memberID: String) async throws {
        let c = try coordinatorNode()
        let groupID = configuration.groupID
        _ = try await coordination.send(to: c) { (version: Int16) in
            var r = LeaveGroupRequest()
            r.groupId = groupID
            if version >= 3 { r.members = [.init(memberId: memberID)] } else { r.memberId = memberID }
            return r
        }
    }

    /// The committed offsets of `partitions`; a partition without one starts at the earliest offset.
    private func committedOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        var out = try await committed(partitions).mapValues(\.offset)
        let admin = KafkaAdmin(cluster: cluster)
        for p in partitions where out[p] == nil {
            out[p] = try await admin.listOffsets(topic: p.topic, partition: p.partition, .earliest)
        }
        return out
    }

    /// What the group has committed for `partitions` (OffsetFetch): offset and metadata string.
    /// A partition without a commit is absent.
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: (offset: Int64, metadata: String)] {
        guard !partitions.isEmpty else { return [:] }
        let c = try coordinatorNode()
        let groupID = configuration.groupID
        let grouped = ConsumerProtocolCoding.grouped(partitions)
        let response = try await coordination.send(to: c) { (version: Int16) in
            var r = OffsetFetchRequest()
            if version >= 8 {
                r.groups = [.init(groupId: groupID, topics: grouped.map { .init(name: $0.0, partitionIndexes: $0.1) })]
            } else {
                r.groupId = groupID
                r.topics = grouped.map { .init(name: $0.0, partitionIndexes: $0.1) }
            }
            return r
        }
        var out: [TopicPartition: (offset: Int64, metadata: String)] = [:]
        var topLevel = KafkaErrorCode(response.errorCode)
        if let g = response.groups.first {
            topLevel = KafkaErrorCode(g.errorCode)
            for t in g.topics {
                for p in t.partitions where !KafkaErrorCode(p.errorCode).isError && p.committedOffset >= 0 {
                    out[TopicPartition(topic: t.name, partition: p.partitionIndex)] = (p.committedOffset, p.metadata ?? "")
                }
            }
        } else {
            for t in response.topics {
                for p in t.partitions where !KafkaErrorCode(p.errorCode).isError && p.committedOffset >= 0 {
                    out[TopicPartition(topic: t.name, partition: p.partitionIndex)] = (p.committedOffset, p.metadata ?? "")
                }
            }
        }
        if topLevel.isError { throw KafkaWireError.broker(topLevel, "OffsetFetch \(groupID)") }
        return out
    }
}
