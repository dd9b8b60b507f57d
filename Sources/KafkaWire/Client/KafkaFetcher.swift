import NIOCore

/// Fetches records of assigned partitions from their leaders (no consumer group).
public struct KafkaFetcher: Sendable {
    public let cluster: KafkaCluster

    public init(cluster: KafkaCluster) {
        self.cluster = cluster
    }

    public struct Assignment: Sendable, Hashable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    /// What one partition returned.
    public struct FetchedPartition: Sendable {
        public var topic: String
        public var partition: Int32
        /// Records at or after the requested offset, control records and (under
        /// `readCommitted`) aborted transactions left out.
        public var records: [KafkaRecord]
        /// The offset to ask for next (past skipped control batches too).
        public var nextOffset: Int64
        public var highWatermark: Int64
        public var lastStableOffset: Int64
        public var logStartOffset: Int64
        /// The partition's error; `offsetOutOfRange` when the offset is outside the log.
        public var error: KafkaWireError?
        /// The codecs of the batches this round decoded (what the producers chose).
        public var batchCompressions: Set<KafkaCompressionCodec> = []
    }

    /// One fetch round: a Fetch request per leader, in parallel.
    public func fetch(_ assignments: [Assignment], maxBytes: Int32 = 50 << 20, maxPartitionBytes: Int32 = 1 << 20,
                      maxWaitMs: Int32 = 500, minBytes: Int32 = 1,
                      isolation: KafkaIsolationLevel = .readUncommitted,
                      decoding: RecordBatchDecodingOptions = RecordBatchDecodingOptions()) async throws -> [FetchedPartition] {
        var byLeader: [Int32: [Assignment]] = [:]
        var results: [FetchedPartition] = []
        for a in assignments {
            do {
                let leader = try await cluster.leader(topic: a.topic, partition: a.partition)
                byLeader[leader, default: []].append(a)
            } catch let e as KafkaWireError {
                results.append(FetchedPartition(topic: a.topic, partition: a.partition, records: [], nextOffset: a.offset,
                                                highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, error: e))
            }
        }
        let cluster = self.cluster
        try await withThrowingTaskGroup(of: [FetchedPartition].self) { group in
            for (leader, list) in byLeader {
                group.addTask {
                    try await Self.fetch(from: leader, list, cluster: cluster, maxBytes: maxBytes,
                                         maxPartitionBytes: maxPartitionBytes, maxWaitMs: maxWaitMs, minBytes: minBytes,
                                         isolation: isolation, decoding: decoding)
                }
            }
            for try await part in group { results.append(contentsOf: part) }
        }
        return results
    }

    private static func fetch(from leader: Int32, _ assignments: [Assignment], cluster: KafkaCluster, maxBytes: Int32,
                              maxPartitionBytes: Int32, maxWaitMs: Int32, minBytes: Int32,
                              isolation: KafkaIsolationLevel,
                              decoding: RecordBatchDecodingOptions) async throws -> [FetchedPartition] {
        var byTopic: [String: [FetchRequest.FetchPartition]] = [:]
        for a in assignments {
            byTopic[a.topic, default: []].append(.init(partition: a.partition, fetchOffset: a.offset,
                                                       partitionMaxBytes: maxPartitionBytes))
        }
        let request = FetchRequest(maxWaitMs: maxWaitMs, minBytes: minBytes, maxBytes: maxBytes,
                                   isolationLevel: isolation.rawValue,
                                   topics: byTopic.map { .init(topic: $0.key, partitions: $0.value) })
        let response: FetchResponse
        do {
            response = try await cluster.send(request, to: leader)
        } catch let e as KafkaWireError where e.isRetriable {
            for a in assignments { cluster.invalidate(topic: a.topic) }
            return assignments.map {
                FetchedPartition(topic: $0.topic, partition: $0.partition, records: [], nextOffset: $0.offset,
                                 highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, error: e)
            }
        }
        if KafkaErrorCode(response.errorCode).isError {
            throw KafkaWireError.broker(KafkaErrorCode(response.errorCode), "Fetch from broker \(leader)")
        }
        var out: [FetchedPartition] = []
        for a in assignments {
            guard let p = response.responses.first(where: { $0.topic == a.topic })?.partitions
                .first(where: { $0.partitionIndex == a.partition }) else {
                out.append(FetchedPartition(topic: a.topic, partition: a.partition, records: [], nextOffset: a.offset,
                                            highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
                                            error: KafkaWireError(.protocolViolation, "Fetch response leaves out \(a.topic)/\(a.partition)")))
                continue
            }
            var result = FetchedPartition(topic: a.topic, partition: a.partition, records: [], nextOffset: a.offset,
                                          highWatermark: p.highWatermark, lastStableOffset: p.lastStableOffset,
                                          logStartOffset: p.logStartOffset, error: nil)
            let code = KafkaErrorCode(p.errorCode)
            if code.isError {
                if code.isRetriable { cluster.invalidate(topic: a.topic) }
                result.error = KafkaWireError.broker(code, "fetch \(a.topic)/\(a.partition) at offset \(a.offset)")
                out.append(result)
                continue
            }
            if let records = p.records {
                do {
                    let batches = try RecordBatch.decodeAll(records, options: decoding)
                    result.batchCompressions = Set(batches.compactMap(\.attributes.compression))
                    let (kept, next) = Self.filter(batches, from: a.offset, isolation: isolation,
                                                   aborted: p.abortedTransactions ?? [])
                    result.records = kept
                    result.nextOffset = next
                } catch let e as KafkaWireError {
                    result.error = KafkaWireError(e.code, "\(a.topic)/\(a.partition) at offset \(a.offset): \(e.context)")
                }
            }
            out.append(result)
        }
        return out
    }

    /// Drops records before `from` (a compressed batch starts earlier), control batches, and
    /// under `readCommitted` the batches of aborted transactions: a producer's batches from the
    /// first offset the broker lists for it up to its abort marker. Peers that list no aborted
    /// transactions (tansu, librdkafka's mock) are covered by the markers themselves: a
    /// transactional batch is kept when its producer's next marker in the data is a commit,
    /// dropped when it is an abort, and held back (the fetch stops there) when no marker
    /// arrived yet.
    static func filter(_ batches: [RecordBatch], from offset: Int64, isolation: KafkaIsolationLevel,
                       aborted: [FetchResponse.AbortedTransaction]) -> (records: [KafkaRecord], nextOffset: Int64) {
        var records: [KafkaRecord] = []
        var next = offset
        var pendingAborts = aborted.sorted { $0.firstOffset < $1.firstOffset }[...]
        var abortingProducers: Set<Int64> = []
        // For each batch index, the kind of the next marker of the same producer.
        var markerAfter: [Int: KafkaControlRecord.Kind] = [:]
        if isolation == .readCommitted {
            var open: [Int64: [Int]] = [:]
            for (i, b) in batches.enumerated() where b.attributes.isTransactional || b.attributes.isControl {
                if b.attributes.isControl {
                    if let kind = b.controlRecord?.kind {
                        for j in open[b.producerId] ?? [] { markerAfter[j] = kind }
                    }
                    open[b.producerId] = nil
                } else {
                    open[b.producerId, default: []].append(i)
                }
            }
        }
        for (i, batch) in batches.enumerated() {
            if isolation == .readCommitted {
                while let first = pendingAborts.first, first.firstOffset <= batch.nextOffset - 1 {
                    abortingProducers.insert(first.producerId)
                    pendingAborts.removeFirst()
                }
            }
            if batch.attributes.isControl {
                if batch.controlRecord?.kind == .abort { abortingProducers.remove(batch.producerId) }
                next = max(next, batch.nextOffset)
                continue
            }
            if isolation == .readCommitted && batch.attributes.isTransactional {
                if abortingProducers.contains(batch.producerId) || markerAfter[i] == .abort {
                    next = max(next, batch.nextOffset)
                    continue
                }
                if markerAfter[i] == nil && aborted.isEmpty {
                    break  // its outcome is not in this response yet: read it again next time
                }
            }
            next = max(next, batch.nextOffset)
            for r in batch.records where r.offset >= offset {
                var r = r
                r.timestamp = batch.timestamp(of: r)
                records.append(r)
            }
        }
        return (records, next)
    }
}
