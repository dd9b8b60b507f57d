import NIOCore

struct TransactionState {
    enum Phase: Equatable {
        case ready, inTransaction, ending
    }
    var phase: Phase = .ready
    var coordinator: Int32?
    /// Partitions written in the current transaction.
    var partitionsInTransaction: Set<TopicPartitionKey> = []
    /// Those of them the coordinator knows about (AddPartitionsToTxn succeeded).
    var partitionsAdded: Set<TopicPartitionKey> = []
}

extension KafkaProducer {
    /// The transaction coordinator's node id (FindCoordinator), or nil for a producer without
    /// a transactional id (any broker serves InitProducerId then).
    func transactionCoordinator() async throws -> Int32? {
        guard let transactionalID = configuration.transactionalID else { return nil }
        if let c = transactionStateCoordinator() { return c }
        if cluster.brokers.isEmpty { try await cluster.metadata(topics: []) }
        let response = try await cluster.send(to: nil) { (version: Int16) -> FindCoordinatorRequest in
            var r = FindCoordinatorRequest()
            if version >= 4 { r.coordinatorKeys = [transactionalID] } else { r.key = transactionalID }
            r.keyType = 1
            return r
        }
        let (code, node) = response.coordinators.first.map { ($0.errorCode, $0.nodeId) } ?? (response.errorCode, response.nodeId)
        if KafkaErrorCode(code).isError { throw KafkaWireError.broker(KafkaErrorCode(code), "FindCoordinator \(transactionalID)") }
        if !cluster.brokers.contains(where: { $0.id == node }) { try await cluster.metadata(topics: []) }
        setTransactionCoordinator(node)
        return node
    }

    /// Starts a transaction: records enqueued from now on are committed or aborted together.
    public func beginTransaction() throws {
        guard configuration.transactionalID != nil else {
            throw KafkaWireError(.invalidArgument, "beginTransaction on a producer without a transactional id")
        }
        try mutateTransaction { t in
            guard t.phase == .ready else { throw KafkaWireError(.invalidArgument, "a transaction is already open") }
            t.phase = .inTransaction
            t.partitionsInTransaction = []
            t.partitionsAdded = []
        }
    }

    /// Flushes the transaction's records and commits them.
    public func commitTransaction() async throws {
        try await endTransaction(commit: true)
    }

    /// Flushes what is in flight and aborts the transaction: readers with `read_committed` skip it.
    public func abortTransaction() async throws {
        try await endTransaction(commit: false)
    }

    private func endTransaction(commit: Bool) async throws {
        try mutateTransaction { t in
            guard t.phase == .inTransaction else { throw KafkaWireError(.invalidArgument, "no open transaction") }
            t.phase = .ending
        }
        do {
            try await flush()
            let added = transactionPartitionsAdded()
            if !added.isEmpty {
                let coordinator = try await transactionCoordinator()
                let (id, epoch) = producerIdentity()
                var attempt = 0
                while true {
                    let response = try await cluster.send(EndTxnRequest(transactionalId: configuration.transactionalID!,
                                                                       producerId: id, producerEpoch: epoch, committed: commit),
                                                          to: coordinator)
                    let code = KafkaErrorCode(response.errorCode)
                    if !code.isError { break }
                    if code.isRetriable && attempt < 20 {
                        try await cluster.sleepBackoff(attempt: attempt)
                        attempt += 1
                        continue
                    }
                    throw KafkaWireError.broker(code, "EndTxn(\(commit ? "commit" : "abort"))")
                }
            }
            try mutateTransaction { $0.phase = .ready }
        } catch {
            try? mutateTransaction { $0.phase = .inTransaction }
            throw error
        }
    }

    /// Tells the coordinator about partitions the transaction writes for the first time;
    /// false when that failed (the caller tries again later).
    func addPartitionsToTransactionIfNeeded() async throws -> Bool {
        guard let transactionalID = configuration.transactionalID else { return true }
        let missing = transactionPartitionsMissing()
        if missing.isEmpty { return true }
        do {
            let coordinator = try await transactionCoordinator()
            let (id, epoch) = producerIdentity()
            var byTopic: [String: [Int32]] = [:]
            for p in missing { byTopic[p.topic, default: []].append(p.partition) }
            let response = try await cluster.send(AddPartitionsToTxnRequest(
                v3AndBelowTransactionalId: transactionalID, v3AndBelowProducerId: id, v3AndBelowProducerEpoch: epoch,
                v3AndBelowTopics: byTopic.map { .init(name: $0.key, partitions: $0.value.sorted()) }), to: coordinator)
            var added: [TopicPartitionKey] = []
            for t in response.resultsByTopicV3AndBelow {
                for p in t.resultsByPartition {
                    let code = KafkaErrorCode(p.partitionErrorCode)
                    if !code.isError {
                        added.append(TopicPartitionKey(topic: t.name, partition: p.partitionIndex))
                    } else if !code.isRetriable && code != .concurrentTransactions {
                        throw KafkaWireError.broker(code, "AddPartitionsToTxn \(t.name)/\(p.partitionIndex)")
                    }
                }
            }
            markPartitionsAdded(added)
            return added.count == missing.count
        } catch let e as KafkaWireError where e.isRetriable {
            if e.brokerErrorCode == .notCoordinator { setTransactionCoordinator(nil) }
            try await cluster.sleepBackoff(attempt: 0)
            return false
        }
    }
}
