// s3.Sink (SPEC §6): Kafka → S3 as gzip'd JSON lines, grouped by partition and time bucket.
//
// Delivery: records are buffered per partition until `kafka:batch:size` records or
// `kafka:batch:timeout`; then every (partition, bucket) chunk is stored, and only after all of a
// partition's chunks are in S3 is its offset committed. A replay after a crash meets the objects
// already stored: a chunk at or below the newest object's last offset is skipped, a partial
// overlap trimmed. A merge (appending to the newest object when it is ≤ 5 MiB) writes the old
// key into the state store before the new object is uploaded and removes it after the old one
// is deleted; a restart finishes (or drops, when the new object never arrived) what is pending.
internal import Codecs
internal import CoreMetrics
public import KafkaWire
internal import Logging
internal import NIOCore
public import PipeConfig
public import PipeRuntime
internal import S3Client
internal import ServiceLifecycle
internal import Storage
internal import WireCore

public final class S3SinkConnector: Connector {
    public let className = "s3.Sink"
    let environment: ConnectorEnvironment
    let settings: S3SinkSettings

    /// Objects up to this size take the next lines (SPEC §6).
    static let mergeLimit = 5 << 20

    public init(environment: ConnectorEnvironment) throws {
        guard case .s3Sink(let s) = environment.configuration.connector else {
            throw S3ConnectorError("s3.Sink needs s3.Sink settings")
        }
        self.environment = environment
        self.settings = s
    }

    public func run() async throws {
        let logger = environment.logger
        var clientConfig = settings.kafka.clientConfiguration()
        clientConfig.requestTimeout = .seconds(30)
        let cluster = KafkaCluster(configuration: clientConfig)
        let s3 = settings.s3.makeClient(logger: logger)
        do {
            try await runConsumer(cluster: cluster, s3: s3)
        } catch {
            await s3.shutdown()
            await cluster.shutdown()
            throw error
        }
        await s3.shutdown()
        await cluster.shutdown()
    }

    private func runConsumer(cluster: KafkaCluster, s3: S3Client) async throws {
        let logger = environment.logger
        do {
            try await s3.headBucket(settings.s3.bucket)
        } catch {
            ConnectorMetrics.errors("s3").increment()
            throw S3ConnectorError("s3.Sink: bucket \(settings.s3.bucket) at \(settings.s3.endpoint) is not usable: \(error)")
        }
        let writer = S3SinkWriter(settings: settings, s3: s3, state: environment.store.namespace(environment.name),
                                  logger: logger, readiness: environment.readiness)
        try await writer.retryPendingDeletes()

        var cc = KafkaGroupConsumer.Configuration(groupID: settings.kafka.group, topics: settings.kafka.topics)
        cc.rebalanceTimeout = .nanoseconds(Int64(settings.kafka.rebalanceTimeout.components.seconds) * 1_000_000_000)
        cc.fetchMaxBytes = Int32(clamping: settings.kafka.fetchMaxBytes)
        cc.fetchMaxPartitionBytes = Int32(clamping: settings.kafka.fetchMaxPartitionBytes)
        cc.sessionTimeout = .seconds(10)
        let box = ConsumerBox()
        let consumer = KafkaGroupConsumer(cluster: cluster, configuration: cc, onRevoke: { partitions in
            await writer.revoked(partitions, consumer: box.consumer)
        }, onAssign: { partitions in
            await writer.assigned(partitions)
        })
        box.consumer = consumer
        writer.consumer = consumer
        environment.readiness.setReady()
        logger.info("s3.Sink running", metadata: ["topics": "\(settings.kafka.topics.joined(separator: ","))",
                                                  "bucket": "\(settings.s3.bucket)", "group": "\(settings.kafka.group)"])

        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await consumer.run() }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(200))
                        try await writer.flushIfDue()
                    }
                }
                group.addTask {
                    for await batch in consumer.batches {
                        try await writer.add(batch)
                    }
                }
                // The consumer's run ends on leave() (graceful stop) after the revoke flushed.
                _ = try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            consumer.leave()
        }
        environment.readiness.setNotReady("stopped")
        logger.info("s3.Sink stopped")
    }
}

/// Lets the revoke callback reach the consumer that is built after it.
final class ConsumerBox: @unchecked Sendable {
    var consumer: KafkaGroupConsumer?
}

/// The buffering, uploading and committing of s3.Sink. Every entry point takes `lock`, so a
/// flush, a revoke and a timer tick never interleave.
final class S3SinkWriter: @unchecked Sendable {
    struct Newest {
        var key: S3ObjectKey
        var size: Int
        /// The object's bytes when this process wrote it (saves a GET before the next merge).
        var body: [UInt8]?
        var count: Int?
    }

    struct Buffer {
        var records: [KafkaRecord] = []
        var nextOffset: Int64 = 0
        var since: ContinuousClock.Instant = .now
    }

    let settings: S3SinkSettings
    let s3: S3Client
    let state: StateNamespace
    let logger: Logger
    let readiness: Readiness
    let lock = AsyncLock()
    let intervalSeconds: Int64
    let batchSize: Int
    let batchTimeout: Duration
    var consumer: KafkaGroupConsumer?

    // Guarded by `lock`.
    private var buffers: [TopicPartition: Buffer] = [:]
    private var buffered = 0
    private var newest: [String: Newest?] = [:]
    /// Records and bytes in, lag per partition.
    private var intake = ConsumerIntakeMetrics()

    /// Records in uploaded objects (the new ones, not those a merge carried over) and the bytes uploaded.
    let recordsOut = Counter(label: PipeMetric.recordsOut)
    let bytesOut = Counter(label: PipeMetric.bytesOut)
    /// Per upload: from the start of storing a chunk (listing, merging, gzip) to S3's answer.
    let latency = Timer(label: PipeMetric.batchLatency)
    let stateWrites = Counter(label: PipeMetric.stateStoreWrites)
    let s3Errors = ConnectorMetrics.errors("s3")
    let kafkaErrors = ConnectorMetrics.errors("kafka")

    init(settings: S3SinkSettings, s3: S3Client, state: StateNamespace, logger: Logger, readiness: Readiness) {
        self.settings = settings
        self.s3 = s3
        self.state = state
        self.logger = logger
        self.readiness = readiness
        self.intervalSeconds = max(1, settings.groupTimeInterval.components.seconds)
        self.batchSize = max(1, settings.kafka.batch.size)
        self.batchTimeout = settings.kafka.batch.timeout
    }

    var bucket: String { settings.s3.bucket }

    func add(_ batch: ConsumerBatch) async throws {
        try await lock.withLock {
            intake.record(batch)
            var b = buffers[batch.topicPartition] ?? Buffer()
            if b.records.isEmpty { b.since = .now }
            if let lastBuffered = b.records.last?.offset {
                b.records += batch.records.filter { $0.offset > lastBuffered }
            } else {
                b.records += batch.records
            }
            b.nextOffset = max(b.nextOffset, batch.nextOffset)
            buffers[batch.topicPartition] = b
            buffered = buffers.values.reduce(0) { $0 + $1.records.count }
            if buffered >= batchSize { try await flush(Array(buffers.keys)) }
        }
    }

    func flushIfDue() async throws {
        try await lock.withLock {
            let now = ContinuousClock.now
            let due = buffers.filter { !$0.value.records.isEmpty && now - $0.value.since >= batchTimeout }
            if !due.isEmpty { try await flush(Array(buffers.keys)) }
        }
    }

    func assigned(_ partitions: [TopicPartition]) async {
        logger.info("s3.Sink: partitions assigned", metadata: ["partitions": "\(partitions.sorted().map(\.description).joined(separator: ","))"])
        await lock.withLock {
            for p in partitions { buffers[p] = nil }
            newest = [:]
        }
    }

    /// Before partitions move: store and commit what is buffered for them, then forget them.
    func revoked(_ partitions: [TopicPartition], consumer: KafkaGroupConsumer?) async {
        await lock.withLock {
            do {
                try await flush(partitions)
            } catch {
                logger.warning("s3.Sink: buffered records of revoked partitions not stored; the next owner reads them again",
                               metadata: ["error": "\(error)"])
            }
            for p in partitions { buffers[p] = nil }
            newest = [:]
        }
    }

    /// Stores the buffered records of `partitions` and commits their offsets. Called with `lock` held.
    private func flush(_ partitions: [TopicPartition]) async throws {
        var offsets: [TopicPartition: Int64] = [:]
        for tp in partitions.sorted() {
            guard let b = buffers[tp], b.nextOffset > 0 || !b.records.isEmpty else { continue }
            // Chunks per time bucket, each in offset order.
            var chunks: [Int64: [KafkaRecord]] = [:]
            var order: [Int64] = []
            for r in b.records {
                let t = S3ObjectKey.bucket(timestampMs: r.timestamp, intervalSeconds: intervalSeconds)
                if chunks[t] == nil { order.append(t) }
                chunks[t, default: []].append(r)
            }
            for t in order {
                try await storeWithRetry(topic: tp.topic, partition: tp.partition, bucketTime: t, records: chunks[t]!)
            }
            offsets[tp] = b.nextOffset
            buffers[tp] = nil
        }
        buffered = buffers.values.reduce(0) { $0 + $1.records.count }
        try await processPendingDeletes(wait: false)
        guard !offsets.isEmpty, let consumer else { return }
        do {
            try await consumer.commit(offsets)
            readiness.progress()
        } catch {
            kafkaErrors.increment()
            // Stored but not committed: a replay is skipped or trimmed against the stored objects.
            logger.warning("s3.Sink: offset commit failed (records are stored; a replay will be skipped)",
                           metadata: ["error": "\(error)"])
        }
    }

    /// Stores one chunk, waiting out S3 failures (logged, not ready) until it is stored.
    private func storeWithRetry(topic: String, partition: Int32, bucketTime: Int64, records: [KafkaRecord]) async throws {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        var failures = 0
        while true {
            do {
                try await store(topic: topic, partition: partition, bucketTime: bucketTime, records: records)
                if failures > 0 {
                    logger.info("s3.Sink: S3 reachable again", metadata: ["after_failures": "\(failures)"])
                    readiness.setReady()
                }
                return
            } catch {
                failures += 1
                s3Errors.increment()
                // What S3 holds may have changed meanwhile: list again before the next merge.
                newest = [:]
                readiness.setNotReady("S3 unavailable: \(error.code)")
                logger.warning("s3.Sink: storing \(topic)/\(partition) failed; retrying",
                               metadata: ["error": "\(error)", "attempt": "\(failures)"])
                try await backoff.wait()
            }
        }
    }

    /// The newest object under a prefix (largest last offset), from the cache or a listing.
    private func newestObject(prefix: String) async throws(S3Error) -> Newest? {
        if let cached = newest[prefix] { return cached }
        let listed = try await s3.listAll(bucket: bucket, prefix: prefix)
        var best: Newest?
        for o in listed {
            guard let k = S3ObjectKey(parsing: o.key), k.prefix == prefix else { continue }
            if best == nil || k.last > best!.key.last { best = Newest(key: k, size: Int(o.size), body: nil, count: nil) }
        }
        newest[prefix] = .some(best)
        return best
    }

    private func store(topic: String, partition: Int32, bucketTime: Int64, records all: [KafkaRecord]) async throws(S3Error) {
        let started = ContinuousClock.now
        let prefix = S3ObjectKey.prefix(topic: topic, bucketTime: bucketTime, partition: partition)
        let current = try await newestObject(prefix: prefix)
        var records = all
        if let current {
            // Skip what is stored; trim a partial overlap.
            records = all.filter { $0.offset > current.key.last }
            if records.isEmpty {
                logger.debug("s3.Sink: chunk already stored", metadata: ["prefix": "\(prefix)"])
                return
            }
        }
        var w = JSONWriter(capacity: records.count * 256)
        for r in records { S3LineFormat.append(r, to: &w) }
        let member: [UInt8]
        do {
            member = try S3LineFormat.gzip(w.bytes)
        } catch {
            throw S3Error(.invalidArgument, "gzip of \(prefix): \(error)")
        }
        let first = records.first!.offset, last = records.last!.offset

        if let current, current.size <= S3SinkConnector.mergeLimit {
            var oldBody: [UInt8]
            var oldCount: Int
            if let body = current.body, let count = current.count {
                oldBody = body
                oldCount = count
            } else {
                let (info, body) = try await s3.getObject(bucket: bucket, key: current.key.description)
                oldBody = body
                if let c = info.metadata["count"].flatMap({ Int($0) }) {
                    oldCount = c
                } else {
                    oldCount = ((try? S3LineFormat.gunzip(body)) ?? []).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                }
            }
            let newKey = S3ObjectKey(topic: topic, bucketTime: bucketTime, partition: partition,
                                     first: current.key.first, last: last)
            oldBody += member  // gzip members concatenate (RFC 1952 §2.2)
            let count = oldCount + records.count
            // The old key is written down before the new object exists: if this process dies
            // between the upload and the delete, the next start deletes it.
            let pendingKey = "pending-delete/" + current.key.description
            do {
                try await state.put(pendingKey, string: newKey.description)
                stateWrites.increment()
            } catch {
                throw S3Error(.invalidArgument, "state store: \(error)")
            }
            try await s3.putObject(bucket: bucket, key: newKey.description, body: oldBody, contentType: "application/gzip",
                                   metadata: ["count": String(count)])
            uploaded(records: records.count, bytes: oldBody.count, since: started)
            newest[prefix] = .some(Newest(key: newKey, size: oldBody.count, body: oldBody, count: count))
            do {
                try await s3.deleteObject(bucket: bucket, key: current.key.description)
                if (try? await state.delete(pendingKey)) != nil { stateWrites.increment() }
            } catch {
                s3Errors.increment()
                logger.warning("s3.Sink: delete of the merged object failed; kept in the state store and retried",
                               metadata: ["key": "\(current.key.description)", "error": "\(error)"])
            }
        } else {
            let key = S3ObjectKey(topic: topic, bucketTime: bucketTime, partition: partition, first: first, last: last)
            try await s3.putObject(bucket: bucket, key: key.description, body: member, contentType: "application/gzip",
                                   metadata: ["count": String(records.count)])
            uploaded(records: records.count, bytes: member.count, since: started)
            newest[prefix] = .some(Newest(key: key, size: member.count, body: member, count: records.count))
        }
        logger.debug("s3.Sink: stored", metadata: ["prefix": "\(prefix)", "first": "\(first)", "last": "\(last)"])
    }

    private func uploaded(records: Int, bytes: Int, since: ContinuousClock.Instant) {
        recordsOut.increment(by: records)
        bytesOut.increment(by: bytes)
        latency.recordNanoseconds(ConnectorMetrics.nanoseconds(.now - since))
    }

    /// Deletes the objects a merge replaced, as recorded in the state store. The old object goes
    /// when an object with the same first offset and a larger last offset exists under its prefix
    /// (the replacement, or a later merge of it); otherwise (the process died before the upload)
    /// the old object still holds its lines and the entry is dropped. `wait`: retry S3 failures
    /// until done (at start); otherwise one attempt each, the rest stays for the next pass.
    func retryPendingDeletes() async throws {
        try await lock.withLock { try await processPendingDeletes(wait: true) }
    }

    private func processPendingDeletes(wait: Bool) async throws {
        for (key, _) in state.scan(prefix: "pending-delete/") {
            let old = String(key.dropFirst("pending-delete/".count))
            guard let oldKey = S3ObjectKey(parsing: old) else {
                try await state.delete(key)
                stateWrites.increment()
                continue
            }
            var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
            while true {
                do {
                    let listed = try await s3.listAll(bucket: bucket, prefix: oldKey.prefix)
                    let superseded = listed.contains { o in
                        guard let k = S3ObjectKey(parsing: o.key) else { return false }
                        return k.first == oldKey.first && k.last > oldKey.last
                    }
                    if superseded {
                        try await s3.deleteObject(bucket: bucket, key: old)
                        logger.info("s3.Sink: deleted an object replaced by a merge", metadata: ["key": "\(old)"])
                    } else {
                        logger.info("s3.Sink: a merge did not finish; its old object stays", metadata: ["key": "\(old)"])
                    }
                    try await state.delete(key)
                    stateWrites.increment()
                    break
                } catch let e as S3Error {
                    s3Errors.increment()
                    logger.warning("s3.Sink: pending delete failed", metadata: ["key": "\(old)", "error": "\(e)"])
                    if !wait { return }
                    try await backoff.wait()
                }
            }
        }
    }
}
