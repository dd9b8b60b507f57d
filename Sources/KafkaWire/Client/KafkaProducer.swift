import WireCore
public import NIOCore
import Synchronization

/// Producer settings. The defaults are those of SPEC §2.2: idempotent, `acks=all`.
public struct KafkaProducerConfiguration: Sendable {
    /// -1 (all in-sync replicas), 1 (leader) or 0 (no response). Idempotence needs -1.
    public var acks: Int16 = -1
    /// InitProducerId plus per-partition sequence numbers: retries neither reorder nor duplicate.
    public var idempotent = true
    /// How long a batch waits for more records before it is sent (`kafka:batch:timeout`).
    public var linger: TimeAmount = .milliseconds(5)
    /// A batch is sent once it holds this many records (`kafka:batch:size`)...
    public var batchMaxRecords = 10_000
    /// ...or this many bytes.
    public var batchMaxBytes = 1 << 20
    /// Records buffered and in flight are bounded by this; `enqueue` waits for space beyond it.
    public var maxBufferedBytes = 64 << 20
    public var compression: KafkaCompressionCodec = .none
    /// Produce requests in flight per broker (at most 5 with idempotence, as Kafka requires).
    public var maxInFlightPerBroker = 5
    /// A record not acknowledged within this time fails (retries included).
    public var deliveryTimeout: TimeAmount = .minutes(2)
    /// How long the broker may wait for the replicas (Produce `timeoutMs`).
    public var produceTimeoutMs: Int32 = 30_000
    /// Set for a transactional producer (implies idempotence).
    public var transactionalID: String?
    public var transactionTimeoutMs: Int32 = 60_000

    public init() {}
}

/// Where a record landed.
public struct DeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

/// The pending acknowledgement of one enqueued record.
public struct DeliveryFuture: Sendable {
    public let topic: String
    public let partition: Int32
    let index: Int32
    let batch: BatchHandle

    /// Waits for the broker's acknowledgement: the record's offset, or the error that ended it.
    /// Returns at once, without a thread hop, when the record's batch is already acknowledged.
    public func get() async throws -> DeliveryReport {
        let base = try await batch.get()
        return DeliveryReport(topic: topic, partition: partition, offset: base < 0 ? -1 : base + Int64(index))
    }

    /// Whether both records travel in the same batch (they are acknowledged or failed together),
    /// so a caller checking many records can await one per batch.
    public func isInSameBatch(as other: DeliveryFuture) -> Bool { batch === other.batch }
}

/// An idempotent, batching, pipelining Kafka producer. Call `run()` (a `Service`-style task)
/// for it to send anything; `send` and `enqueue` may be called from any task meanwhile.
public final class KafkaProducer: Sendable {
    public let cluster: KafkaCluster
    public let configuration: KafkaProducerConfiguration

    private struct State {
        var accumulator: ProducerAccumulator
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var progressWaiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
        var running = false
        var transaction = TransactionState()
        var fatalError: KafkaWireError?
    }

    private let state: Mutex<State>
    private let wake = WakeSignal()

    public init(cluster: KafkaCluster, configuration: KafkaProducerConfiguration = KafkaProducerConfiguration()) {
        self.cluster = cluster
        var configuration = configuration
        if configuration.transactionalID != nil { configuration.idempotent = true }
        if configuration.idempotent {
            configuration.acks = -1
            configuration.maxInFlightPerBroker = min(configuration.maxInFlightPerBroker, 5)
        }
        self.configuration = configuration
        let limits = ProducerAccumulator.Limits(
            batchMaxBytes: configuration.batchMaxBytes, batchMaxRecords: configuration.batchMaxRecords,
            linger: configuration.linger, maxBufferedBytes: configuration.maxBufferedBytes,
            maxInFlightPerBroker: max(1, configuration.maxInFlightPerBroker), idempotent: configuration.idempotent,
            compression: configuration.compression, transactional: configuration.transactionalID != nil,
            deliveryTimeout: configuration.deliveryTimeout)
        state = Mutex(State(accumulator: ProducerAccumulator(limits: limits)))
    }

    // MARK: producing

    /// Produces one record and waits for its acknowledgement.
    public func send(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [(String, [UInt8]?)] = [],
                     timestamp: Int64? = nil, partition: Int32? = nil) async throws -> DeliveryReport {
        try await enqueue(topic: topic, key: key, value: value, headers: headers, timestamp: timestamp,
                          partition: partition).get()
    }

    /// Buffers one record and returns without waiting for the broker; waits only while the
    /// buffer is full (back-pressure). Acknowledgements of one partition arrive in order.
    public func enqueue(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [(String, [UInt8]?)] = [],
                        timestamp: Int64? = nil, partition: Int32? = nil) async throws -> DeliveryFuture {
        var future: DeliveryFuture?
        try await append(topic: topic, .one(key: key, value: value), headers: KafkaRecordHeaders(headers),
                         timestamp: timestamp, partition: partition) { future = $0 }
        return future!
    }

    /// Buffers the records of `records`, in order, all with the same `headers` (encoded once)
    /// and timestamp, and returns their futures; waits only while the buffer is full. One lock
    /// and one topic lookup serve many records: the way to produce a chunk of rows.
    public func enqueue(topic: String, records: KafkaRecordBlock, headers: KafkaRecordHeaders = .none,
                        timestamp: Int64? = nil, partition: Int32? = nil) async throws -> [DeliveryFuture] {
        var futures: [DeliveryFuture] = []
        futures.reserveCapacity(records.count)
        try await append(topic: topic, .block(records), headers: headers, timestamp: timestamp,
                         partition: partition) { futures.append($0) }
        return futures
    }

    /// What `append` buffers: one record, or a block of them.
    private enum Records {
        case one(key: [UInt8]?, value: [UInt8]?)
        case block(KafkaRecordBlock)

        var count: Int {
            switch self {
            case .one: 1
            case .block(let b): b.count
            }
        }

        /// Calls `body` with the key and value of each record of `range`, until it returns false;
        /// returns the index it stopped at.
        func forEach(in range: Range<Int>, _ body: (UnsafeRawBufferPointer?, UnsafeRawBufferPointer?) -> Bool) -> Int {
            switch self {
            case let .one(key, value):
                guard !range.isEmpty else { return range.lowerBound }
                let go = withOptionalBytes(key) { k in withOptionalBytes(value) { v in body(k, v) } }
                return go ? range.upperBound : range.lowerBound
            case .block(let block):
                return block.bytes.withUnsafeBytes { all in
                    for i in range where !block.withRecord(i, in: all, body) { return i }
                    return range.upperBound
                }
            }
        }
    }

    private func append(topic: String, _ records: Records, headers: KafkaRecordHeaders, timestamp: Int64?,
                        partition: Int32?, future: (DeliveryFuture) -> Void) async throws {
        let ts = timestamp ?? Self.nowMillis()
        var partitionCount = state.withLock { $0.accumulator.partitionCount(topic: topic) }
        if partitionCount == nil {
            let metadata = try await cluster.topicMetadata(topic)
            state.withLock { $0.accumulator.addTopic(topic, partitionCount: metadata.partitions.count) }
            partitionCount = Int32(metadata.partitions.count)
        }
        let count = partitionCount!
        if let partition, partition < 0 || partition >= count {
            throw KafkaWireError(.invalidArgument, "\(topic)/\(partition): the topic has \(count) partitions")
        }
        let loop = cluster.group.any()
        let total = records.count
        var next = 0
        while next < total {
            // At most this many records per hold of the lock, so the sender is never kept waiting long.
            let end = min(total, next + 256)
            let (stopped, wakeSender) = try state.withLock { s -> (Int, Bool) in
                if let e = s.fatalError { throw e }
                guard !s.closed else { throw KafkaWireError(.closed, "producer closed") }
                if s.transaction.phase == .ready && configuration.transactionalID != nil {
                    throw KafkaWireError(.invalidArgument, "produce outside a transaction (call beginTransaction)")
                }
                let now = NIODeadline.now()
                var wakeSender = false
                let stopped = records.forEach(in: next..<end) { k, v in
                    let p = partition ?? (k.map { KafkaPartitioner.partition(forKey: $0, partitionCount: count) }
                        ?? s.accumulator.roundRobinPartition(topic: topic))
                    if configuration.transactionalID != nil {
                        s.transaction.partitionsInTransaction.insert(TopicPartitionKey(topic: topic, partition: p))
                    }
                    switch s.accumulator.append(topic: topic, partition: p, timestamp: ts, key: k, value: v, headers: headers,
                                                now: now, makePromise: { loop.makePromise(of: Int64.self) }) {
                    case .appended(let handle, let index, let wake):
                        wakeSender = wakeSender || wake
                        future(DeliveryFuture(topic: topic, partition: p, index: index, batch: handle))
                        return true
                    case .bufferFull:
                        return false
                    }
                }
                return (stopped, wakeSender)
            }
            let full = stopped < end
            next = stopped
            if wakeSender || full { wake.signal() }
            if full {
                await withCheckedContinuation { c in
                    let resumeNow = state.withLock { s -> Bool in
                        if s.accumulator.bufferedBytes == 0 || s.closed { return true }
                        s.spaceWaiters.append(c)
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            }
        }
    }

    /// Sends everything buffered now, without waiting for the linger, and returns at once (the
    /// records' `DeliveryFuture`s report their acknowledgements). For callers that produce in
    /// rounds and await a round's acknowledgements while producing the next.
    public func sendBuffered() {
        state.withLock { $0.accumulator.sealAll = true }
        wake.signal()
    }

    /// Sends everything buffered now and waits until it is acknowledged or failed.
    public func flush() async throws {
        while true {
            let done = try state.withLock { s -> Bool in
                if let e = s.fatalError { throw e }
                s.accumulator.sealAll = true
                return s.accumulator.isEmpty
            }
            if done { return }
            wake.signal()
            await withCheckedContinuation { c in
                let now = state.withLock { s -> Bool in
                    if s.accumulator.isEmpty || s.closed || !s.running { return true }
                    s.progressWaiters.append(c)
                    return false
                }
                if now { c.resume() }
            }
            if state.withLock({ $0.closed || !$0.running }) {
                if state.withLock({ $0.accumulator.isEmpty }) { return }
                throw KafkaWireError(.closed, "producer is not running; \(state.withLock { $0.accumulator.bufferedBytes }) bytes unsent")
            }
        }
    }

    static func nowMillis() -> Int64 { UnixTime.now().milliseconds }

    // MARK: the sender

    /// Sends batches until cancelled; then fails what is left and returns.
    public func run() async throws {
        state.withLock { $0.running = true }
        defer { shutdown() }
        try await withThrowingDiscardingTaskGroup { group in
            try await withTaskCancellationHandler {
                if configuration.idempotent {
                    try await initProducerID()
                }
                while !Task.isCancelled {
                    if state.withLock({ $0.accumulator.readyForProducerIDReset }) {
                        try await initProducerID()
                    }
                    let now = NIODeadline.now()
                    let cluster = self.cluster
                    if try await addPartitionsToTransactionIfNeeded() == false { continue }
                    let transactional = configuration.transactionalID != nil
                    let drained = state.withLock { s in
                        let added = s.transaction.partitionsAdded
                        return s.accumulator.drain(now: now, mayDrain: { topic, partition in
                            !transactional || added.contains(TopicPartitionKey(topic: topic, partition: partition))
                        }) { topic, partition in
                            guard let t = cluster.cachedTopic(topic), Int(partition) < t.partitions.count else { return nil }
                            let leader = t.partitions[Int(partition)].leader
                            return leader >= 0 ? leader : nil
                        }
                    }
                    for (batch, error) in drained.expired { batch.promise.fail(error) }
                    for topic in drained.needMetadata {
                        group.addTask {
                            _ = try? await cluster.metadata(topics: [topic])
                            self.wake.signal()
                        }
                    }
                    // Written here, one after another, so a partition's batches reach the
                    // broker in sequence order; only the waiting for responses runs in parallel.
                    for request in drained.requests {
                        let written = await write(request)
                        group.addTask { await self.settle(request, written) }
                    }
                    if drained.requests.isEmpty {
                        let deadline = drained.needMetadata.isEmpty ? drained.nextWakeup
                            : min(drained.nextWakeup ?? .now() + cluster.configuration.retryBackoffMin,
                                  .now() + cluster.configuration.retryBackoffMin)
                        await wake.wait(until: deadline, on: cluster.group.any())
                    }
                }
            } onCancel: {
                self.wake.signal()
            }
        }
    }

    // Transaction bookkeeping, under the lock.
    func transactionStateCoordinator() -> Int32? { state.withLock { $0.transaction.coordinator } }
    func setTransactionCoordinator(_ id: Int32?) { state.withLock { $0.transaction.coordinator = id } }
    func mutateTransaction(_ body: (inout TransactionState) throws -> Void) throws {
        try state.withLock { try body(&$0.transaction) }
    }
    func transactionPartitionsAdded() -> Set<TopicPartitionKey> { state.withLock { $0.transaction.partitionsAdded } }
    func transactionPartitionsMissing() -> Set<TopicPartitionKey> {
        state.withLock { $0.transaction.partitionsInTransaction.subtracting($0.transaction.partitionsAdded) }
    }
    func markPartitionsAdded(_ added: [TopicPartitionKey]) {
        state.withLock { $0.transaction.partitionsAdded.formUnion(added) }
    }
    func producerIdentity() -> (Int64, Int16) {
        state.withLock { ($0.accumulator.producerID, $0.accumulator.producerEpoch) }
    }

    private func shutdown() {
        let (unsent, waiters) = state.withLock { s in
            s.closed = true
            s.running = false
            let w = s.spaceWaiters + s.progressWaiters
            s.spaceWaiters = []
            s.progressWaiters = []
            return (s.accumulator.removeAllUnsent(), w)
        }
        for b in unsent { b.promise.fail(KafkaWireError(.closed, "\(b.topic)/\(b.partition): producer stopped before sending")) }
        for w in waiters { w.resume() }
    }

    private func initProducerID() async throws {
        var attempt = 0
        while true {
            do {
                let coordinator = try await transactionCoordinator()
                let (id, epoch) = state.withLock { ($0.accumulator.producerID, $0.accumulator.producerEpoch) }
                let response = try await cluster.send(to: coordinator) { (version: Int16) -> InitProducerIdRequest in
                    var r = InitProducerIdRequest(transactionalId: configuration.transactionalID,
                                                  transactionTimeoutMs: configuration.transactionTimeoutMs)
                    if version >= 3 && configuration.transactionalID != nil && id >= 0 {
                        r.producerId = id
                        r.producerEpoch = epoch
                    }
                    return r
                }
                let code = KafkaErrorCode(response.errorCode)
                if code.isError { throw KafkaWireError.broker(code, "InitProducerId") }
                state.withLock { $0.accumulator.producerIDAssigned(id: response.producerId, epoch: response.producerEpoch) }
                return
            } catch let e as KafkaWireError where e.isRetriable && attempt < 20 && !Task.isCancelled {
                if e.brokerErrorCode == .notCoordinator || e.brokerErrorCode == .coordinatorNotAvailable {
                    state.withLock { $0.transaction.coordinator = nil }
                }
                try await cluster.sleepBackoff(attempt: attempt)
                attempt += 1
            }
        }
    }

    /// A Produce request on the wire (or the error that kept it off).
    private struct Written: Sendable {
        var response: EventLoopFuture<ByteBuffer>?
        var peer: String
        var version: Int16
        var error: KafkaWireError?
    }

    private func write(_ request: ProducerAccumulator.Request) async -> Written {
        do {
            let connection = try await cluster.connection(to: request.broker)
            let version = try connection.version(for: ProduceRequest.self)
            var byTopic: [String: [ProduceRequest.PartitionProduceData]] = [:]
            for b in request.batches {
                byTopic[b.topic, default: []].append(.init(index: b.partition, records: b.buffer))
            }
            let produce = ProduceRequest(transactionalId: configuration.transactionalID, acks: configuration.acks,
                                         timeoutMs: configuration.produceTimeoutMs,
                                         topicData: byTopic.map { .init(name: $0.key, partitionData: $0.value) })
            var frame = connection.channel.allocator.buffer(capacity: request.batches.reduce(128) { $0 + $1.byteCount + 32 })
            try KafkaFrame.encodeRequest(produce, version: version, correlationId: 0,
                                         clientId: cluster.configuration.clientID, into: &frame)
            if configuration.acks == 0 {
                let promise = connection.channel.eventLoop.makePromise(of: Void.self)
                connection.channel.writeAndFlush(KafkaOutboundRequest(frame: frame, apiKey: ProduceRequest.apiKey, apiVersion: version,
                                                                      timeout: .seconds(1), promise: nil), promise: promise)
                let empty = promise.futureResult.map { ByteBuffer() }
                return Written(response: empty, peer: connection.peer, version: version)
            }
            let response = connection.writeFrame(frame, apiKey: ProduceRequest.apiKey, version: version,
                                                 timeout: cluster.configuration.requestTimeout)
            return Written(response: response, peer: connection.peer, version: version)
        } catch {
            let e = error as? KafkaWireError ?? KafkaWireError(.connectionFailed, "broker \(request.broker)", cause: error)
            return Written(response: nil, peer: "broker \(request.broker)", version: 0, error: e)
        }
    }

    /// Waits for a Produce response and settles its batches.
    private func settle(_ request: ProducerAccumulator.Request, _ written: Written) async {
        var outcomes: [(ProducerBatch, ProducerAccumulator.BatchOutcome, KafkaWireError?)] = []
        do {
            if let e = written.error { throw e }
            var body = try await written.response!.get()
            if configuration.acks == 0 {
                outcomes = request.batches.map { ($0, .delivered(baseOffset: -1), nil) }
            } else {
                let response = try KafkaFrame.decodeResponse(to: ProduceRequest.self, version: written.version, from: &body).response
                for b in request.batches {
                    guard let p = response.responses.first(where: { $0.name == b.topic })?.partitionResponses
                        .first(where: { $0.index == b.partition }) else {
                        outcomes.append((b, .retry, KafkaWireError(.protocolViolation, "\(written.peer): no response for \(b.topic)/\(b.partition)")))
                        continue
                    }
                    let code = KafkaErrorCode(p.errorCode)
                    let context = "\(written.peer) \(b.topic)/\(b.partition)"
                    if !code.isError {
                        outcomes.append((b, .delivered(baseOffset: p.baseOffset), nil))
                    } else if code == .duplicateSequenceNumber {
                        // Written before (a retry of a batch whose ack was lost): delivered.
                        outcomes.append((b, .delivered(baseOffset: -1), nil))
                    } else if code.isRetriable || (code == .outOfOrderSequenceNumber && b.attempts > 1) {
                        cluster.invalidate(topic: b.topic)
                        outcomes.append((b, .retry, KafkaWireError.broker(code, context)))
                    } else {
                        outcomes.append((b, .failed(code), KafkaWireError.broker(code, context)))
                    }
                }
            }
        } catch {
            let e = error as? KafkaWireError ?? KafkaWireError(.connectionFailed, written.peer, cause: error)
            for b in request.batches { cluster.invalidate(topic: b.topic) }
            if e.isRetriable {
                try? await cluster.sleepBackoff(attempt: 0)
                outcomes = request.batches.map { ($0, .retry, e) }
            } else {
                outcomes = request.batches.map { ($0, .failed(nil), e) }
            }
        }
        let now = NIODeadline.now()
        let (done, waiters) = state.withLock { s in
            let done = s.accumulator.requestFinished(broker: request.broker, outcomes: outcomes, now: now)
            let w = s.spaceWaiters + s.progressWaiters
            s.spaceWaiters = []
            s.progressWaiters = []
            return (done, w)
        }
        for (b, result) in done {
            switch result {
            case .success(let offset): b.promise.succeed(offset)
            case .failure(let e): b.promise.fail(e)
            }
        }
        for w in waiters { w.resume() }
        wake.signal()
    }
}

/// Wakes the sender: a flag plus at most one waiting continuation, with an optional deadline.
final class WakeSignal: Sendable {
    private struct State {
        var signaled = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.signaled = true
            return nil
        }
        waiter?.resume()
    }

    func wait(until deadline: NIODeadline?, on loop: any EventLoop) async {
        await withCheckedContinuation { c in
            let ready = state.withLock { s -> Bool in
                if s.signaled {
                    s.signaled = false
                    return true
                }
                s.waiter = c
                return false
            }
            if ready {
                c.resume()
            } else if let deadline {
                loop.scheduleTask(deadline: deadline) { self.signal() }
            }
        }
        if Task.isCancelled { return }
    }
}

struct TopicPartitionKey: Hashable, Sendable {
    var topic: String
    var partition: Int32
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
