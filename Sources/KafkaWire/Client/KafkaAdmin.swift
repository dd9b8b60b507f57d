/// Topic administration and offset queries over a `KafkaCluster`.
public struct KafkaAdmin: Sendable {
    public let cluster: KafkaCluster

    public init(cluster: KafkaCluster) {
        self.cluster = cluster
    }

    /// A topic to create.
    public struct TopicSpec: Sendable, Hashable {
        public var name: String
        public var partitions: Int32
        public var replicationFactor: Int16
        /// Topic configs such as `cleanup.policy`, `retention.ms`, `retention.bytes`, `compression.type`.
        public var configs: [String: String]

        public init(name: String, partitions: Int32 = 1, replicationFactor: Int16 = 1, configs: [String: String] = [:]) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.configs = configs
        }
    }

    /// What became of one topic in `createTopics`.
    public enum CreateResult: Sendable, Hashable {
        case created
        case alreadyExisted
    }

    /// Creates topics (on the controller when known). With `ifNotExists`, a topic that is
    /// already there is `.alreadyExisted`, not an error; any other failure throws.
    @discardableResult
    public func createTopics(_ topics: [TopicSpec], ifNotExists: Bool = true,
                             timeoutMs: Int32 = 30_000) async throws -> [String: CreateResult] {
        var request = CreateTopicsRequest()
        request.timeoutMs = timeoutMs
        request.topics = topics.map { t in
            CreateTopicsRequest.CreatableTopic(
                name: t.name, numPartitions: t.partitions, replicationFactor: t.replicationFactor,
                configs: t.configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })
        }
        let response = try await withRetries("CreateTopics") {
            try await cluster.send(request, to: try await controller())
        }
        var results: [String: CreateResult] = [:]
        for t in response.topics {
            let code = KafkaErrorCode(t.errorCode)
            if code == .noError {
                results[t.name] = .created
            } else if code == .topicAlreadyExists && ifNotExists {
                results[t.name] = .alreadyExisted
            } else {
                throw KafkaWireError.broker(code, "create topic \(t.name)\(t.errorMessage.map { ": \($0)" } ?? "")")
            }
        }
        for t in topics where results[t.name] == nil {
            throw KafkaWireError(.protocolViolation, "CreateTopics response leaves out topic \(t.name)")
        }
        for t in topics { cluster.invalidate(topic: t.name) }
        return results
    }

    /// Deletes topics; a topic that does not exist is not an error.
    public func deleteTopics(_ names: [String], timeoutMs: Int32 = 30_000) async throws {
        let controller = try await controller()
        let response = try await cluster.send(to: controller) { (version: Int16) -> DeleteTopicsRequest in
            var r = DeleteTopicsRequest()
            r.timeoutMs = timeoutMs
            if version >= 6 { r.topics = names.map { .init(name: $0) } } else { r.topicNames = names }
            return r
        }
        for t in response.responses {
            let code = KafkaErrorCode(t.errorCode)
            if code.isError && code != .unknownTopicOrPartition {
                throw KafkaWireError.broker(code, "delete topic \(t.name ?? "?")")
            }
        }
        for n in names { cluster.invalidate(topic: n) }
    }

    /// The metadata of some topics (all when nil).
    public func metadata(topics: [String]?) async throws -> MetadataResponse {
        try await cluster.metadata(topics: topics)
    }

    /// Which offset `listOffsets` asks for.
    public enum OffsetSpec: Sendable, Hashable {
        /// The log start offset.
        case earliest
        /// The offset the next record will get (the high watermark).
        case latest
        /// The first offset whose timestamp is at or after this time (ms since the epoch);
        /// -1 in the result when there is none.
        case timestamp(Int64)

        var wireValue: Int64 {
            switch self {
            case .earliest: -2
            case .latest: -1
            case .timestamp(let t): t
            }
        }
    }

    /// An offset of one partition, asked of its leader.
    public func listOffsets(topic: String, partition: Int32, _ spec: OffsetSpec,
                            isolation: KafkaIsolationLevel = .readUncommitted) async throws -> Int64 {
        let response = try await withRetries("ListOffsets \(topic)/\(partition)", topic: topic) {
            let leader = try await cluster.leader(topic: topic, partition: partition)
            let response = try await cluster.send(ListOffsetsRequest(
                replicaId: -1, isolationLevel: isolation.rawValue,
                topics: [.init(name: topic, partitions: [.init(partitionIndex: partition, timestamp: spec.wireValue)])]),
                to: leader)
            guard let p = response.topics.first(where: { $0.name == topic })?.partitions
                .first(where: { $0.partitionIndex == partition }) else {
                throw KafkaWireError(.protocolViolation, "ListOffsets response leaves out \(topic)/\(partition)")
            }
            let code = KafkaErrorCode(p.errorCode)
            if code.isError { throw KafkaWireError.broker(code, "list offsets of \(topic)/\(partition)") }
            return p
        }
        return response.offset
    }

    /// Topic configs as the broker reports them (all keys when `keys` is nil).
    public func describeConfigs(topic: String, keys: [String]? = nil) async throws -> [String: String?] {
        let response = try await cluster.send(DescribeConfigsRequest(
            resources: [.init(resourceType: 2, resourceName: topic, configurationKeys: keys)]))
        guard let result = response.results.first else {
            throw KafkaWireError(.protocolViolation, "DescribeConfigs response without results")
        }
        let code = KafkaErrorCode(result.errorCode)
        if code.isError {
            throw KafkaWireError.broker(code, "describe configs of \(topic)\(result.errorMessage.map { ": \($0)" } ?? "")")
        }
        var configs: [String: String?] = [:]
        for c in result.configs { configs[c.name] = c.isSensitive ? nil : c.value }
        return configs
    }

    private func controller() async throws -> Int32? {
        if cluster.controllerID < 0 { try await cluster.metadata(topics: []) }
        let id = cluster.controllerID
        // Some peers (librdkafka's mock) name a controller that is not in the broker list.
        return id >= 0 && cluster.brokers.contains { $0.id == id } ? id : nil
    }

    /// Runs `body`, retrying retriable errors with backoff (and fresh metadata for `topic`).
    private func withRetries<T>(_ what: String, topic: String? = nil, attempts: Int = 5,
                                _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let e as KafkaWireError where e.isRetriable && attempt + 1 < attempts {
                if let topic { cluster.invalidate(topic: topic) }
                try await cluster.sleepBackoff(attempt: attempt)
                attempt += 1
            }
        }
    }
}

/// Which records a fetch or an offset query may see.
public enum KafkaIsolationLevel: Int8, Sendable, Hashable {
    /// Every record, committed or not.
    case readUncommitted = 0
    /// Only records of committed transactions (and non-transactional ones), up to the last stable offset.
    case readCommitted = 1
}
