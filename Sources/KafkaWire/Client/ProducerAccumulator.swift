import NIOCore

/// The producer's buffered records as a value: batches per partition, the sequence numbers of
/// the idempotent producer, the in-flight limits, and what to do with each produce outcome.
/// `KafkaProducer` keeps it behind a mutex and performs the actions it returns.
struct ProducerAccumulator {
    struct Limits {
        var batchMaxBytes: Int
        var batchMaxRecords: Int
        var linger: TimeAmount
        var maxBufferedBytes: Int
        var maxInFlightPerBroker: Int
        var idempotent: Bool
        var compression: KafkaCompressionCodec
        var transactional: Bool
        var deliveryTimeout: TimeAmount
    }

    struct PartitionQueue {
        var open: ProducerBatch?
        /// Sealed batches in send order; retried batches go back in by sequence.
        var ready: [ProducerBatch] = []
        var inFlight = 0
        var nextSequence: Int32 = 0
        /// A batch failed and is being resent: one batch at a time until the resent ones are through.
        var retrying = false
    }

    struct TopicState {
        var partitions: [PartitionQueue]
        var nextRoundRobin: Int32 = 0
    }

    /// One Produce request to send: the batches (one per partition) and the broker.
    struct Request {
        var broker: Int32
        var batches: [ProducerBatch]
    }

    let limits: Limits
    private(set) var topics: [String: TopicState] = [:]
    private(set) var bufferedBytes = 0
    private(set) var inFlightPerBroker: [Int32: Int] = [:]
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1
    /// Every open batch is closed now (flush, memory pressure, shutdown).
    var sealAll = false
    /// A fatal sequence error happened: stop sending until nothing is in flight, then a new
    /// producer id and fresh sequences.
    private(set) var needsProducerIDReset = false

    init(limits: Limits) {
        self.limits = limits
    }

    func partitionCount(topic: String) -> Int32? {
        topics[topic].map { Int32($0.partitions.count) }
    }

    mutating func addTopic(_ name: String, partitionCount: Int) {
        guard topics[name] == nil else { return }
        topics[name] = TopicState(partitions: Array(repeating: PartitionQueue(), count: partitionCount))
    }

    mutating func roundRobinPartition(topic: String) -> Int32 {
        // In place: a copy of the topic's state would copy its partitions (and their batches).
        guard let count = topics[topic]?.partitions.count else { return 0 }
        let p = topics[topic]!.nextRoundRobin
        topics[topic]!.nextRoundRobin = (p + 1) % Int32(count)
        return p
    }

    enum AppendResult {
        /// Appended; `wakeSender` when a batch opened (its linger starts) or filled up.
        case appended(BatchHandle, index: Int32, wakeSender: Bool)
        /// Over the buffer limit: wait for space and try again.
        case bufferFull
    }

    /// Appends a record to its partition's open batch, opening a new one when it does not fit.
    mutating func append(topic: String, partition: Int32, timestamp: Int64, key: UnsafeRawBufferPointer?,
                         value: UnsafeRawBufferPointer?, headers: KafkaRecordHeaders,
                         now: NIODeadline, makePromise: () -> EventLoopPromise<Int64>) -> AppendResult {
        let estimate = ProducerBatch.recordSize(offsetDelta: Int32(limits.batchMaxRecords), timestampDelta: 1 << 40,
                                                keyCount: key?.count, valueCount: value?.count, headers: headers)
        if bufferedBytes > 0 && bufferedBytes + estimate > limits.maxBufferedBytes {
            sealAll = true
            return .bufferFull
        }
        let limits = self.limits
        var added = 0
        let result = topics[topic]!.partitions.withUnsafeMutableBufferPointer { parts -> AppendResult in
            let i = Int(partition)
            var wake = false
            if let open = parts[i].open,
               open.recordCount >= limits.batchMaxRecords || open.byteCount + estimate > limits.batchMaxBytes {
                parts[i].ready.append(open)
                parts[i].open = nil
                wake = true
            }
            if parts[i].open == nil {
                let capacity = min(limits.batchMaxBytes, max(estimate + RecordBatch.headerSize, 16 * 1024))
                parts[i].open = ProducerBatch(topic: topic, partition: partition, capacity: capacity,
                                              promise: makePromise(), now: now)
                wake = true
            }
            let before = parts[i].open!.byteCount
            parts[i].open!.append(timestamp: timestamp, key: key, value: value, headers: headers)
            added = parts[i].open!.byteCount - before
            parts[i].open!.accountedBytes += added
            let recordCount = parts[i].open!.recordCount
            if recordCount >= limits.batchMaxRecords { wake = true }
            return .appended(parts[i].open!.handle, index: recordCount - 1, wakeSender: wake)
        }
        bufferedBytes += added
        return result
    }

    /// Closes batches that are full, past their linger, or all of them under `sealAll`, and
    /// groups sendable ones by leader into requests. `leader` maps a partition to its broker
    /// (nil when unknown: the batch waits, and the topic is reported in `needMetadata`).
    mutating func drain(now: NIODeadline, mayDrain: (String, Int32) -> Bool = { _, _ in true },
                        leader: (String, Int32) -> Int32?)
        -> (requests: [Request], nextWakeup: NIODeadline?, needMetadata: Set<String>, expired: [(ProducerBatch, KafkaWireError)]) {
        var requests: [Int32: Request] = [:]
        var nextWakeup: NIODeadline?
        var needMetadata: Set<String> = []
        var expired: [(ProducerBatch, KafkaWireError)] = []
        let canSend = !(limits.idempotent && (producerID < 0 || needsProducerIDReset))
        for name in topics.keys.sorted() {
            // Taken out while changed (and put back below): a batch referenced from two places
            // would be copied, all of its bytes, when `seal` writes its header.
            var t = topics.removeValue(forKey: name)!
            for i in t.partitions.indices {
                var q = PartitionQueue()
                swap(&q, &t.partitions[i])
                if var open = q.open {
                    let due = open.createdAt + limits.linger
                    if sealAll || due <= now {
                        open.accountedBytes += 0
                        q.ready.append(open)
                        q.open = nil
                    } else {
                        nextWakeup = min(nextWakeup ?? due, due)
                    }
                }
                // Batches past the delivery timeout that were never sent fail here.
                while let first = q.ready.first, first.baseSequence < 0, first.createdAt + limits.deliveryTimeout <= now {
                    q.ready.removeFirst()
                    bufferedBytes -= first.accountedBytes
                    expired.append((first, KafkaWireError(.timedOut, "\(name)/\(i): record not delivered within the delivery timeout")))
                }
                guard canSend, !q.ready.isEmpty, mayDrain(name, Int32(i)) else {
                    t.partitions[i] = q
                    continue
                }
                guard let broker = leader(name, Int32(i)) else {
                    needMetadata.insert(name)
                    t.partitions[i] = q
                    continue
                }
                let perPartitionLimit = q.retrying ? 1 : (limits.idempotent ? 5 : 1)
                let brokerInFlight = inFlightPerBroker[broker, default: 0]
                let alreadyInRequest = requests[broker] != nil
                guard q.inFlight < perPartitionLimit,
                      alreadyInRequest || brokerInFlight < limits.maxInFlightPerBroker else {
                    t.partitions[i] = q
                    continue
                }
                var batch = q.ready.removeFirst()
                do {
                    try batch.seal(compression: limits.compression, transactional: limits.transactional)
                } catch {
                    bufferedBytes -= batch.accountedBytes
                    expired.append((batch, error as? KafkaWireError ?? KafkaWireError(.compressionFailed, "\(name)/\(i)")))
                    t.partitions[i] = q
                    continue
                }
                if batch.baseSequence < 0 || !limits.idempotent {
                    let seq = limits.idempotent ? q.nextSequence : -1
                    batch.stamp(producerID: producerID, epoch: producerEpoch, baseSequence: seq)
                    if limits.idempotent {
                        q.nextSequence = q.nextSequence &+ batch.recordCount
                        if q.nextSequence < 0 { q.nextSequence = q.nextSequence & Int32.max }
                    }
                }
                batch.attempts += 1
                q.inFlight += 1
                if q.retrying && !q.ready.contains(where: { $0.baseSequence >= 0 }) { q.retrying = false }
                if !alreadyInRequest {
                    inFlightPerBroker[broker, default: 0] += 1
                    requests[broker] = Request(broker: broker, batches: [])
                }
                requests[broker]!.batches.append(batch)
                t.partitions[i] = q
            }
            topics[name] = t
        }
        // One drain honours a flush or memory pressure; the next one asks again if it still holds.
        sealAll = false
        return (requests.values.sorted { $0.broker < $1.broker }, nextWakeup, needMetadata, expired)
    }

    /// What to do with one batch after its Produce response (or failure).
    enum BatchOutcome: Equatable {
        case delivered(baseOffset: Int64)
        case retry
        case failed(KafkaErrorCode?)
    }

    /// Records the outcome of a request; returns the batches to complete (successes with their
    /// offsets, failures with errors) and whether anything buffered was freed.
    mutating func requestFinished(broker: Int32, outcomes: [(ProducerBatch, BatchOutcome, KafkaWireError?)], now: NIODeadline)
        -> [(ProducerBatch, Result<Int64, KafkaWireError>)] {
        inFlightPerBroker[broker, default: 1] -= 1
        var done: [(ProducerBatch, Result<Int64, KafkaWireError>)] = []
        for (batch, outcome, error) in outcomes {
            guard var t = topics.removeValue(forKey: batch.topic) else { continue }
            var q = PartitionQueue()
            swap(&q, &t.partitions[Int(batch.partition)])
            q.inFlight -= 1
            switch outcome {
            case .delivered(let offset):
                bufferedBytes -= batch.accountedBytes
                done.append((batch, .success(offset)))
            case .retry where batch.createdAt + limits.deliveryTimeout > now:
                // Back in by sequence, so the resend keeps the partition's order.
                let at = q.ready.firstIndex { $0.baseSequence < 0 || $0.baseSequence > batch.baseSequence } ?? q.ready.endIndex
                q.ready.insert(batch, at: at)
                q.retrying = limits.idempotent
            case .retry, .failed:
                bufferedBytes -= batch.accountedBytes
                let e = error ?? KafkaWireError(.timedOut, "\(batch.topic)/\(batch.partition): not delivered within the delivery timeout")
                done.append((batch, .failure(e)))
                if limits.idempotent {
                    // The broker's sequence for this partition now has a gap: start afresh.
                    needsProducerIDReset = true
                }
            }
            t.partitions[Int(batch.partition)] = q
            topics[batch.topic] = t
        }
        return done
    }

    var totalInFlight: Int { inFlightPerBroker.values.reduce(0, +) }

    /// Whether nothing is buffered or in flight.
    var isEmpty: Bool {
        bufferedBytes == 0 && totalInFlight == 0 && topics.values.allSatisfy { t in
            t.partitions.allSatisfy { $0.open == nil && $0.ready.isEmpty }
        }
    }

    /// Whether the producer id must be renewed now (a reset is pending and nothing is in flight).
    var readyForProducerIDReset: Bool { needsProducerIDReset && totalInFlight == 0 }

    /// A new producer id (or epoch): every partition's sequence restarts at 0 and unsent
    /// batches get new sequences when next sent.
    mutating func producerIDAssigned(id: Int64, epoch: Int16) {
        producerID = id
        producerEpoch = epoch
        needsProducerIDReset = false
        for name in topics.keys {
            for i in topics[name]!.partitions.indices {
                topics[name]!.partitions[i].nextSequence = 0
                topics[name]!.partitions[i].retrying = false
                for j in topics[name]!.partitions[i].ready.indices {
                    topics[name]!.partitions[i].ready[j].baseSequence = -1
                }
            }
        }
    }

    /// Every promise still held, for a shutdown that fails them.
    mutating func removeAllUnsent() -> [ProducerBatch] {
        var all: [ProducerBatch] = []
        for name in topics.keys {
            for i in topics[name]!.partitions.indices {
                if let o = topics[name]!.partitions[i].open { all.append(o) }
                all.append(contentsOf: topics[name]!.partitions[i].ready)
                topics[name]!.partitions[i].open = nil
                topics[name]!.partitions[i].ready = []
            }
        }
        for b in all { bufferedBytes -= b.accountedBytes }
        return all
    }

    /// The futures of every batch buffered now (for flush).
    func pendingFutures() -> [EventLoopFuture<Int64>] {
        topics.values.flatMap { t in
            t.partitions.flatMap { q in (q.open.map { [$0] } ?? []) + q.ready }.map(\.promise.futureResult)
        }
    }
}
