// s3.Backup (SPEC §7): restores the objects s3.Sink wrote back into Kafka, then exits.
//
// For each topic the objects whose time bucket lies in [date_since, date_to] are restored per
// partition in offset order to the same partition, with key, value, headers and timestamp.
// State per partition (`restored/{topic}/{partition}`): the offset ranges already restored,
// saved after each object; rows inside them are skipped, nothing else is. Exactly once across a
// crash inside an object: before an object's rows are produced, the target partition's end
// offset is saved (`inflight/{topic}/{partition}`); on the next start the records after it are
// the delivered prefix of that object's rows (the idempotent producer writes a partition in
// order), so exactly those are marked restored. This assumes no other producer writes to the
// partition during a restore.
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

public final class S3BackupConnector: Connector {
    public let className = "s3.Backup"
    let environment: ConnectorEnvironment
    let settings: S3BackupSettings

    /// Lines read from objects and the objects' (gzip'd) bytes.
    let recordsIn = Counter(label: PipeMetric.recordsIn)
    let bytesIn = Counter(label: PipeMetric.bytesIn)
    /// Records Kafka acknowledged and their key + value bytes.
    let recordsOut = Counter(label: PipeMetric.recordsOut)
    let bytesOut = Counter(label: PipeMetric.bytesOut)
    let stateWrites = Counter(label: PipeMetric.stateStoreWrites)

    public init(environment: ConnectorEnvironment) throws {
        guard case .s3Backup(let s) = environment.configuration.connector else {
            throw S3ConnectorError("s3.Backup needs s3.Backup settings")
        }
        self.environment = environment
        self.settings = s
    }

    public func run() async throws {
        let cluster = KafkaCluster(configuration: settings.kafka.clientConfiguration())
        let s3 = settings.s3.makeClient(logger: environment.logger, requestTimeout: .seconds(120))
        var pc = KafkaProducerConfiguration()
        pc.batchMaxRecords = max(1, settings.kafka.batch.size)
        pc.linger = .milliseconds(5)
        let producer = KafkaProducer(cluster: cluster, configuration: pc)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await producer.run() }
                try await restore(cluster: cluster, producer: producer, s3: s3)
                group.cancelAll()
            }
        } catch {
            if !(error is S3ConnectorError) { ConnectorMetrics.errors(Self.errorKind(error)).increment() }
            await s3.shutdown()
            await cluster.shutdown()
            throw error
        }
        await s3.shutdown()
        await cluster.shutdown()
    }

    /// The `kind` of `kafka_pipe_errors_total` of an error not counted where it was made.
    static func errorKind(_ error: any Error) -> String {
        if error is S3Error { return "s3" }
        if error is KafkaWireError { return "kafka" }
        if error is StorageError { return "state_store" }
        return ConnectorMetrics.kind(error)
    }

    /// An error of this connector, counted in `kafka_pipe_errors_total{kind}`.
    static func failure(_ kind: String, _ description: String) -> S3ConnectorError {
        ConnectorMetrics.errors(kind).increment()
        return S3ConnectorError(description)
    }

    struct PartitionPlan {
        var topic: String
        var partition: Int32
        var objects: [S3ObjectKey]
    }

    private func restore(cluster: KafkaCluster, producer: KafkaProducer, s3: S3Client) async throws {
        let logger = environment.logger
        let bucket = settings.s3.bucket
        let since = settings.dateSince.secondsSince1970, to = settings.dateTo.secondsSince1970
        environment.readiness.setReady()

        // 1. Every object of every topic in the range, and the partitions each topic needs.
        var plans: [PartitionPlan] = []
        var needed: [String: Int32] = [:]
        var estimate: Int64 = 0
        for topic in settings.topics {
            let listed: [S3Client.ObjectSummary]
            do {
                listed = try await s3.listAll(bucket: bucket, prefix: topic + "/")
            } catch {
                throw Self.failure("s3", "s3.Backup: listing \(topic)/ in bucket \(bucket) failed: \(error)")
            }
            var byPartition: [Int32: [S3ObjectKey]] = [:]
            for o in listed {
                guard let k = S3ObjectKey(parsing: o.key), k.topic == topic, k.bucketTime >= since, k.bucketTime <= to else { continue }
                byPartition[k.partition, default: []].append(k)
                estimate += k.last - k.first + 1
            }
            for (p, objects) in byPartition.sorted(by: { $0.key < $1.key }) {
                plans.append(PartitionPlan(topic: topic, partition: p,
                                           objects: objects.sorted { ($0.first, $0.last, $0.bucketTime) < ($1.first, $1.last, $1.bucketTime) }))
                needed[topic] = max(needed[topic] ?? 0, p + 1)
            }
            logger.info("s3.Backup: objects to restore", metadata: ["topic": "\(topic)", "objects": "\(byPartition.values.reduce(0) { $0 + $1.count })"])
        }

        // 2. Topics: a missing one is created; one with too few partitions stops us before any write.
        let admin = KafkaAdmin(cluster: cluster)
        let metadata = try await admin.metadata(topics: Array(needed.keys))
        var toCreate: [KafkaAdmin.TopicSpec] = []
        for (topic, count) in needed.sorted(by: { $0.key < $1.key }) {
            let t = metadata.topics.first { $0.name == topic }
            let code = t.map { KafkaErrorCode($0.errorCode) } ?? .unknownTopicOrPartition
            if code == .unknownTopicOrPartition || (t?.partitions.isEmpty ?? true) {
                toCreate.append(.init(name: topic, partitions: count))
            } else if code.isError {
                throw Self.failure("kafka", "s3.Backup: metadata of topic \(topic): \(code)")
            } else if let t, t.partitions.count < Int(count) {
                throw Self.failure("configuration", "s3.Backup: topic \(topic) has \(t.partitions.count) partitions but the backup holds partition \(count - 1); add partitions first")
            }
        }
        if !toCreate.isEmpty {
            try await admin.createTopics(toCreate)
            for t in toCreate {
                logger.info("s3.Backup: created topic", metadata: ["topic": "\(t.name)", "partitions": "\(t.partitions)"])
                // Wait until the new topic has leaders.
                for _ in 0..<50 {
                    if let m = try? await cluster.topicMetadata(t.name), m.partitions.count == Int(t.partitions) { break }
                    cluster.invalidate(topic: t.name)
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }

        // 3. Restore, partition after partition, object after object.
        let progress = ProgressReporter(label: "s3.Backup \(environment.name)", unit: "records", total: estimate,
                                        logger: logger, interval: .seconds(5))
        let state = environment.store.namespace(environment.name)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await progress.run() }
            for plan in plans {
                try await restorePartition(plan, state: state, producer: producer, s3: s3, admin: admin, progress: progress)
            }
            group.cancelAll()
        }
        let snap = progress.snapshot
        logger.info("s3.Backup: done", metadata: ["records": "\(snap.done)", "topics": "\(settings.topics.joined(separator: ","))"])
        environment.readiness.setNotReady("done")
    }

    private func restorePartition(_ plan: PartitionPlan, state: StateNamespace, producer: KafkaProducer,
                                  s3: S3Client, admin: KafkaAdmin, progress: ProgressReporter) async throws {
        let topic = plan.topic, partition = plan.partition
        let restoredKey = "restored/\(topic)/\(partition)"
        let inflightKey = "inflight/\(topic)/\(partition)"
        var restored = OffsetRanges(text: state.getString(restoredKey) ?? "")

        // A previous run stopped inside an object: mark its delivered prefix.
        if let inflight = state.getString(inflightKey) {
            let parts = inflight.split(separator: "\n", maxSplits: 1)
            if parts.count == 2, let start = Int64(parts[0]), let key = S3ObjectKey(parsing: String(parts[1])) {
                let end = try await endOffset(topic: topic, partition: partition, admin: admin)
                let delivered = max(0, end - start)
                let rows = try await load(key, s3: s3).filter { !restored.contains($0.offset) }
                let n = Int(min(Int64(rows.count), delivered))
                if n > 0 { restored.insert(rows[0].offset, rows[n - 1].offset) }
                environment.logger.info("s3.Backup: resuming inside an object", metadata: [
                    "key": "\(key)", "delivered": "\(n)", "of": "\(rows.count)"])
            }
            var batch = StateBatch()
            batch.put(restoredKey, string: restored.text)
            batch.delete(inflightKey)
            try await state.write(batch)
            stateWrites.increment()
        }

        for key in plan.objects {
            if restored.contains(key.first, key.last) {
                progress.advance(by: key.last - key.first + 1)
                continue
            }
            let rows = try await load(key, s3: s3)
            let todo = rows.filter { !restored.contains($0.offset) }
            if !todo.isEmpty {
                let end = try await endOffset(topic: topic, partition: partition, admin: admin)
                try await state.put(inflightKey, string: "\(end)\n\(key)")
                stateWrites.increment()
                // Awaiting every record's future costs a thread hop each; instead the last one is
                // awaited (its failure surfaces) and the partition must have grown by exactly the
                // rows sent (flush waits until every batch is settled).
                var lastFuture: DeliveryFuture?
                for r in todo {
                    lastFuture = try await producer.enqueue(
                        topic: topic, key: r.key, value: r.value, headers: r.headers.map { ($0.key, $0.value) },
                        timestamp: r.timestamp, partition: partition)
                }
                try await producer.flush()
                _ = try await lastFuture?.get()
                let grown = try await endOffset(topic: topic, partition: partition, admin: admin) - end
                guard grown == Int64(todo.count) else {
                    throw Self.failure("kafka", "s3.Backup: \(topic)/\(partition): \(todo.count) records of \(key) sent but the partition grew by \(grown); another producer writes to it, or records were refused")
                }
                recordsOut.increment(by: todo.count)
                bytesOut.increment(by: todo.reduce(0) { $0 + ($1.key?.count ?? 0) + ($1.value?.count ?? 0) })
            }
            if let lo = rows.map(\.offset).min(), let hi = rows.map(\.offset).max() { restored.insert(lo, hi) }
            var batch = StateBatch()
            batch.put(restoredKey, string: restored.text)
            batch.delete(inflightKey)
            try await state.write(batch)
            stateWrites.increment()
            progress.advance(by: Int64(rows.count))
            environment.readiness.progress()
        }
    }

    /// The offset the next record of a partition gets. ListOffsets "latest" is the start, then
    /// fetches from there until nothing more comes back: tansu answers "latest" with the base
    /// offset of the last batch, not the end of the log.
    private func endOffset(topic: String, partition: Int32, admin: KafkaAdmin) async throws -> Int64 {
        var offset = max(0, try await admin.listOffsets(topic: topic, partition: partition, .latest))
        let fetcher = KafkaFetcher(cluster: admin.cluster)
        for _ in 0..<10_000 {
            let r: [KafkaFetcher.FetchedPartition]
            do {
                r = try await fetcher.fetch([.init(topic: topic, partition: partition, offset: offset)],
                                            maxBytes: 1 << 20, maxPartitionBytes: 1 << 20, maxWaitMs: 200, minBytes: 1)
            } catch let e as KafkaWireError where e.code == .protocolViolation {
                // tansu leaves a partition out of the response when nothing is at or after the offset.
                return offset
            }
            guard let p = r.first(where: { $0.topic == topic && $0.partition == partition }) else {
                throw Self.failure("kafka", "s3.Backup: fetch of \(topic)/\(partition) returned nothing")
            }
            if let e = p.error {
                // tansu leaves a partition out of the response when nothing is at or after the offset.
                if e.code == .protocolViolation { return offset }
                throw Self.failure("kafka", "s3.Backup: end offset of \(topic)/\(partition): \(e)")
            }
            if p.records.isEmpty && p.nextOffset <= offset { return max(offset, p.highWatermark) }
            offset = max(p.nextOffset, offset)
            if offset >= p.highWatermark && p.records.isEmpty { return offset }
        }
        throw Self.failure("kafka", "s3.Backup: the end of \(topic)/\(partition) keeps moving")
    }

    private func load(_ key: S3ObjectKey, s3: S3Client) async throws -> [S3Row] {
        let body: [UInt8]
        do {
            body = try await s3.getObject(bucket: settings.s3.bucket, key: key.description).1
        } catch {
            throw Self.failure("s3", "s3.Backup: reading \(key) failed: \(error)")
        }
        bytesIn.increment(by: body.count)
        do {
            let content = try S3LineFormat.gunzip(body)
            let rows = try S3LineFormat.rows(content)
            recordsIn.increment(by: rows.count)
            return rows
        } catch {
            throw Self.failure("invalid_data", "s3.Backup: object \(key) in bucket \(settings.s3.bucket) is not gzip'd JSON lines: \(error)")
        }
    }
}

/// Sorted, merged, inclusive offset ranges; text form `a-b,c-d`.
struct OffsetRanges: Equatable {
    private(set) var ranges: [(Int64, Int64)] = []

    static func == (a: OffsetRanges, b: OffsetRanges) -> Bool { a.text == b.text }

    init(text: String) {
        for part in text.split(separator: ",") {
            let ab = part.split(separator: "-")
            if ab.count == 2, let a = Int64(ab[0]), let b = Int64(ab[1]), a <= b { insert(a, b) }
        }
    }

    var text: String { ranges.map { "\($0.0)-\($0.1)" }.joined(separator: ",") }

    func contains(_ offset: Int64) -> Bool { contains(offset, offset) }

    /// Whether all of `lo...hi` lies inside one range.
    func contains(_ lo: Int64, _ hi: Int64) -> Bool {
        ranges.contains { $0.0 <= lo && hi <= $0.1 }
    }

    mutating func insert(_ lo: Int64, _ hi: Int64) {
        var all = ranges + [(lo, hi)]
        all.sort { $0.0 < $1.0 }
        var merged: [(Int64, Int64)] = []
        for r in all {
            if let last = merged.last, r.0 <= last.1 &+ 1 {
                merged[merged.count - 1].1 = max(last.1, r.1)
            } else {
                merged.append(r)
            }
        }
        ranges = merged
    }
}
