public import NIOCore
import NIOPosix
import Synchronization

/// How a client reaches the cluster.
public struct KafkaClientConfiguration: Sendable {
    public struct Broker: Sendable, Hashable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// Seed brokers; any one that answers is enough.
    public var bootstrap: [Broker]
    public var clientID: String = "kafka-pipe"
    /// How long one request may wait for its response (default 30 s).
    public var requestTimeout: TimeAmount = .seconds(30)
    /// How long a TCP connect may take (default 10 s).
    public var connectTimeout: TimeAmount = .seconds(10)
    /// Metadata older than this is refreshed before use (default 5 min).
    public var metadataMaxAge: TimeAmount = .minutes(5)
    /// Delay before reconnecting to a broker or retrying a request: doubles from min to max.
    public var retryBackoffMin: TimeAmount = .milliseconds(100)
    public var retryBackoffMax: TimeAmount = .seconds(1)
    /// Runs on each new channel before the Kafka handler is added: the place for TLS (and the
    /// handlers SASL needs). nil for plain TCP.
    public var channelInitializer: (@Sendable (any Channel) -> EventLoopFuture<Void>)?
    /// TLS and SASL (see `KafkaSecurity`); default plaintext without authentication.
    public var security = KafkaSecurity()

    public init(bootstrap: [Broker], clientID: String = "kafka-pipe") {
        self.bootstrap = bootstrap
        self.clientID = clientID
    }

    /// Parses `host:port[,host:port...]`.
    public init(bootstrapServers: String, clientID: String = "kafka-pipe") throws {
        var brokers: [Broker] = []
        for part in bootstrapServers.split(separator: ",") {
            let item = part.trimmingSpaces
            guard let colon = item.lastIndex(of: ":"), let port = Int(item[item.index(after: colon)...]) else {
                throw KafkaWireError(.invalidArgument, "broker address \(item) (want host:port)")
            }
            brokers.append(Broker(host: String(item[..<colon]), port: port))
        }
        guard !brokers.isEmpty else { throw KafkaWireError(.invalidArgument, "no bootstrap brokers") }
        self.init(bootstrap: brokers, clientID: clientID)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

/// What the cluster knows about one topic.
public struct KafkaTopicMetadata: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        public var id: Int32
        public var leader: Int32
        public var leaderEpoch: Int32
        public var errorCode: KafkaErrorCode
    }
    public var name: String
    public var errorCode: KafkaErrorCode
    /// Sorted by partition id.
    public var partitions: [Partition]
}

/// A broker's node id and address.
public struct KafkaBrokerInfo: Sendable, Hashable {
    public var id: Int32
    public var host: String
    public var port: Int
}

/// The connection pool and the metadata cache: one connection per broker, requests pipelined on
/// it, api versions negotiated per broker, metadata refreshed when stale, on demand, or after a
/// leader change.
public final class KafkaCluster: Sendable {
    public let configuration: KafkaClientConfiguration
    let group: any EventLoopGroup

    private struct Slot {
        var connection: Task<KafkaConnection, any Error>?
        var failures = 0
        var notBefore: NIODeadline = .uptimeNanoseconds(0)
    }

    private struct State {
        var brokers: [Int32: KafkaBrokerInfo] = [:]
        var slots: [Int32: Slot] = [:]
        /// Connections to seeds before their node ids are known (keyed by the bootstrap index).
        var seedSlots: [Int: Slot] = [:]
        var topics: [String: KafkaTopicMetadata] = [:]
        var topicFetchedAt: [String: NIODeadline] = [:]
        var controllerID: Int32 = -1
        var closed = false
    }

    private let state = Mutex(State())

    /// `eventLoopGroup` nil: NIO's shared singleton group.
    public init(configuration: KafkaClientConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil) {
        self.configuration = configuration
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
    }

    private func connection(_ broker: Int32?) async throws -> KafkaConnection {
        if let broker { return try await connection(to: broker) }
        return try await anyConnection()
    }

    /// Service-style: returns when cancelled, then closes every connection.
    public func run() async throws {
        await withTaskCancellationHandler {
            await AsyncSleepUntilCancelled.wait()
        } onCancel: {}
        await shutdown()
    }

    /// Closes every connection; later requests fail with `closed`.
    public func shutdown() async {
        let tasks = state.withLock { s -> [Task<KafkaConnection, any Error>] in
            s.closed = true
            let all = s.slots.values.compactMap(\.connection) + s.seedSlots.values.compactMap(\.connection)
            s.slots.removeAll()
            s.seedSlots.removeAll()
            return all
        }
        for t in tasks { if let c = try? await t.value { await c.close() } }
    }

    // MARK: connections

    private func backoff(failures: Int) -> TimeAmount {
        let min = configuration.retryBackoffMin.nanoseconds, max = configuration.retryBackoffMax.nanoseconds
        let shift = Swift.min(failures, 20)
        return .nanoseconds(Swift.min(max, min << Int64(shift)))
    }

    /// The connection to broker `id` (a node id from metadata), connecting when needed.
    func connection(to id: Int32) async throws -> KafkaConnection {
        let (task, wait): (Task<KafkaConnection, any Error>, NIODeadline) = try state.withLock { s in
            guard !s.closed else { throw KafkaWireError(.closed, "cluster closed") }
            guard let info = s.brokers[id] else {
                throw KafkaWireError(.metadataUnavailable, "broker \(id) is not in the metadata")
            }
            var slot = s.slots[id] ?? Slot()
            if let t = slot.connection { return (t, .uptimeNanoseconds(0)) }
            let config = configuration, group = group
            let notBefore = slot.notBefore
            let t = Task {
                let delay = notBefore - .now()
                if delay > .zero { try await Task.sleep(nanoseconds: UInt64(delay.nanoseconds)) }
                return try await KafkaConnection.connect(host: info.host, port: info.port, brokerID: id,
                                                         configuration: config, group: group)
            }
            slot.connection = t
            s.slots[id] = slot
            return (t, notBefore)
        }
        _ = wait
        do {
            let c = try await task.value
            if c.isActive {
                state.withLock { s in s.slots[id]?.failures = 0 }
                return c
            }
            // Closed since: drop it and connect again (once; the caller retries beyond that).
            state.withLock { s in
                if s.slots[id]?.connection == task { s.slots[id]?.connection = nil }
            }
            return try await connection(to: id)
        } catch {
            connectFailed(id: id, task: task)
            throw error
        }
    }

    private func connectFailed(id: Int32, task: Task<KafkaConnection, any Error>) {
        state.withLock { s in
            guard var slot = s.slots[id], slot.connection == task else { return }
            slot.connection = nil
            slot.failures += 1
            slot.notBefore = .now() + backoff(failures: slot.failures - 1)
            s.slots[id] = slot
        }
    }

    /// Any usable connection: a known broker's, else a seed's. Tries each until one answers.
    func anyConnection() async throws -> KafkaConnection {
        let ids = state.withLock { s in Array(s.brokers.keys).sorted() }
        var lastError: (any Error)?
        // Prefer a connection that already exists.
        for id in ids {
            let existing = state.withLock { s in s.slots[id]?.connection }
            if let existing, let c = try? await existing.value, c.isActive { return c }
        }
        for id in ids {
            do { return try await connection(to: id) } catch { lastError = error }
        }
        for (index, seed) in configuration.bootstrap.enumerated() {
            do { return try await seedConnection(index: index, seed: seed) } catch { lastError = error }
        }
        if let e = lastError as? KafkaWireError { throw e }
        throw KafkaWireError(.connectionFailed, "no broker reachable (bootstrap \(configuration.bootstrap.map { "\($0.host):\($0.port)" }.joined(separator: ",")))")
    }

    private func seedConnection(index: Int, seed: KafkaClientConfiguration.Broker) async throws -> KafkaConnection {
        let task: Task<KafkaConnection, any Error> = try state.withLock { s in
            guard !s.closed else { throw KafkaWireError(.closed, "cluster closed") }
            var slot = s.seedSlots[index] ?? Slot()
            if let t = slot.connection { return t }
            let config = configuration, group = group, notBefore = slot.notBefore
            let t = Task {
                let delay = notBefore - .now()
                if delay > .zero { try await Task.sleep(nanoseconds: UInt64(delay.nanoseconds)) }
                return try await KafkaConnection.connect(host: seed.host, port: seed.port, brokerID: nil,
                                                         configuration: config, group: group)
            }
            slot.connection = t
            s.seedSlots[index] = slot
            return t
        }
        do {
            let c = try await task.value
            if c.isActive { return c }
            state.withLock { s in if s.seedSlots[index]?.connection == task { s.seedSlots[index]?.connection = nil } }
            throw KafkaWireError(.connectionFailed, "\(seed.host):\(seed.port): connection closed")
        } catch {
            state.withLock { s in
                guard var slot = s.seedSlots[index], slot.connection == task else { return }
                slot.connection = nil
                slot.failures += 1
                slot.notBefore = .now() + backoff(failures: slot.failures - 1)
                s.seedSlots[index] = slot
            }
            throw error
        }
    }

    /// The version of `R` negotiated with `broker` (nil: any broker).
    public func negotiatedVersion<R: KafkaRequest>(of request: R.Type, broker: Int32?) async throws -> Int16 {
        let c = try await connection(broker)
        return try c.version(for: R.self)
    }

    /// Sends `request` to `broker` (a node id), or to any broker when nil, at the highest
    /// version both sides speak; waits for the response or the request timeout.
    public func send<R: KafkaRequest>(_ request: R, to broker: Int32? = nil) async throws -> R.Response {
        let c = try await connection(broker)
        return try await c.send(request, clientID: configuration.clientID, timeout: configuration.requestTimeout)
    }

    /// As `send`, with a request built for the version negotiated with that broker.
    public func send<R: KafkaRequest>(to broker: Int32?, _ build: (Int16) throws -> R) async throws -> R.Response {
        let c = try await connection(broker)
        let v = try c.version(for: R.self)
        return try await c.send(try build(v), version: v, clientID: configuration.clientID,
                                timeout: configuration.requestTimeout)
    }

    // MARK: metadata

    /// Asks for metadata (of `topics`, or of every topic when nil) and updates the cache.
    @discardableResult
    public func metadata(topics: [String]?, allowAutoTopicCreation: Bool = false) async throws -> MetadataResponse {
        var request = MetadataRequest()
        request.topics = topics.map { $0.map { MetadataRequest.MetadataRequestTopic(name: $0) } }
        request.allowAutoTopicCreation = allowAutoTopicCreation
        var lastError: (any Error)?
        for attempt in 0..<3 {
            do {
                let response = try await send(request)
                update(with: response)
                return response
            } catch {
                lastError = error
                if attempt < 2 { try await Task.sleep(nanoseconds: UInt64(backoff(failures: attempt).nanoseconds)) }
            }
        }
        throw lastError!
    }

    private func update(with response: MetadataResponse) {
        let now = NIODeadline.now()
        state.withLock { s in
            for b in response.brokers {
                let info = KafkaBrokerInfo(id: b.nodeId, host: b.host, port: Int(b.port))
                if let old = s.brokers[b.nodeId], old != info {
                    s.slots[b.nodeId] = nil  // moved: reconnect to the new address
                }
                s.brokers[b.nodeId] = info
            }
            s.controllerID = response.controllerId
            for t in response.topics {
                guard let name = t.name else { continue }
                let partitions = t.partitions.map {
                    KafkaTopicMetadata.Partition(id: $0.partitionIndex, leader: $0.leaderId, leaderEpoch: $0.leaderEpoch,
                                                 errorCode: KafkaErrorCode($0.errorCode))
                }.sorted { $0.id < $1.id }
                s.topics[name] = KafkaTopicMetadata(name: name, errorCode: KafkaErrorCode(t.errorCode), partitions: partitions)
                s.topicFetchedAt[name] = now
            }
        }
    }

    /// The brokers the last metadata named.
    public var brokers: [KafkaBrokerInfo] {
        state.withLock { s in s.brokers.values.sorted { $0.id < $1.id } }
    }

    /// The controller's node id from the last metadata (-1 when unknown).
    public var controllerID: Int32 { state.withLock { $0.controllerID } }

    /// A topic's metadata from the cache, fetched when missing or older than `metadataMaxAge`.
    public func topicMetadata(_ name: String) async throws -> KafkaTopicMetadata {
        let maxAge = configuration.metadataMaxAge
        if let cached = state.withLock({ s -> KafkaTopicMetadata? in
            guard let t = s.topics[name], let at = s.topicFetchedAt[name], .now() - at < maxAge,
                  !t.errorCode.isError, !t.partitions.isEmpty else { return nil }
            return t
        }) { return cached }
        try await metadata(topics: [name])
        guard let t = state.withLock({ $0.topics[name] }) else {
            throw KafkaWireError(.metadataUnavailable, "topic \(name) is not in the metadata")
        }
        if t.errorCode.isError { throw KafkaWireError.broker(t.errorCode, "metadata of topic \(name)") }
        guard !t.partitions.isEmpty else { throw KafkaWireError(.metadataUnavailable, "topic \(name) has no partitions") }
        return t
    }

    /// The cached metadata of a topic, without asking the cluster.
    func cachedTopic(_ name: String) -> KafkaTopicMetadata? {
        state.withLock { $0.topics[name] }
    }

    /// The leader's node id of a partition.
    public func leader(topic: String, partition: Int32) async throws -> Int32 {
        let t = try await topicMetadata(topic)
        guard let p = t.partitions.first(where: { $0.id == partition }) else {
            throw KafkaWireError(.invalidArgument, "\(topic)/\(partition): the topic has \(t.partitions.count) partitions")
        }
        guard p.leader >= 0 else {
            invalidate(topic: topic)
            throw KafkaWireError(.metadataUnavailable, "\(topic)/\(partition) has no leader",
                                 brokerErrorCode: .leaderNotAvailable)
        }
        return p.leader
    }

    /// Forgets a topic's metadata, so the next use fetches it (after a leader change or a
    /// retriable error).
    public func invalidate(topic: String) {
        state.withLock { s in s.topicFetchedAt[topic] = nil }
    }

    /// Sleeps for the backoff of the `attempt`-th retry.
    func sleepBackoff(attempt: Int) async throws {
        try await Task.sleep(nanoseconds: UInt64(backoff(failures: attempt).nanoseconds))
    }
}

/// Suspends until the task is cancelled.
enum AsyncSleepUntilCancelled {
    static func wait() async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 3_600_000_000_000)
        }
    }
}
