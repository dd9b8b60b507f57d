// The batching, converting, inserting and committing of one ch.Sink group member (SPEC §5).
//
// Exactly once, per partition: a batch is the records of one offset range [first, last]. Before
// its insert the range is written down as pending, in the state store and in the group's
// committed metadata of the partition (`kafka-pipe pending FIRST LAST`, with the offset at
// FIRST), so whichever process owns the partition next knows it. After the insert the range is
// saved as done and the offset LAST+1 is committed. A pending range found at start (or on
// assignment) is rebuilt from exactly the same records into the identical block and sent again
// with the same `insert_deduplication_token`; a table with insert deduplication (Replicated*,
// or `non_replicated_deduplication_window`) then keeps it once. A done range is skipped.
internal import ClickHouseNative
internal import Logging
internal import CoreMetrics
internal import KafkaWire
internal import PipeConfig
internal import PipeRuntime
internal import Storage
internal import Synchronization
internal import WireCore
#if canImport(Glibc)
internal import Glibc
#endif

/// An offset range of one partition and what became of it.
struct ChRangeState: Equatable, Sendable {
    enum Phase: String, Sendable { case pending, done }
    var phase: Phase
    var first: Int64
    var last: Int64

    static let metadataPrefix = "kafka-pipe "

    var encoded: String { "\(phase.rawValue) \(first) \(last)" }

    init(_ phase: Phase, _ first: Int64, _ last: Int64) {
        self.phase = phase; self.first = first; self.last = last
    }

    init?(parsing s: String) {
        let parts = s.split(separator: " ")
        guard parts.count == 3, let phase = Phase(rawValue: String(parts[0])),
              let f = Int64(parts[1]), let l = Int64(parts[2]), f >= 0, l >= f else { return nil }
        self.init(phase, f, l)
    }

    /// The state-store key of a partition.
    static func key(_ tp: TopicPartition) -> String { "ch/\(tp.topic)/\(tp.partition)" }
}

final class ChSinkWriter: @unchecked Sendable {
    struct Part {
        /// Records at or below this offset are in ClickHouse already.
        var skipThrough: Int64 = -1
        /// A pending range to send again exactly.
        var rebuild: ChRangeState?
        var records: [KafkaRecord] = []
        var since: ContinuousClock.Instant = .now
    }

    let settings: ChSinkSettings
    let pool: ClickHouseConnectionPool
    let state: StateNamespace
    let logger: Logger
    let readiness: Readiness
    let mapper: ChRecordMapper
    let dlq: KafkaProducer?
    let supportsDedupToken: Bool
    let lock = AsyncLock()
    let batchSize: Int
    let batchTimeout: Duration
    var consumer: KafkaGroupConsumer?
    /// `KP_DEBUG_CH_CRASH_AFTER_INSERT=N`: the process exits at once after its N-th insert,
    /// before the range is saved as done (tests of the crash window).
    let crashAfterInsert: Int?
    private var inserts = 0
    /// Set when a batch failed (the connector is stopping with that error).
    private var failed = false
    /// The insert of the previous batch (steps 2-4 of `insertRange`), running while the next
    /// batch is read and converted. At most one; awaited (`drain`) before the next one starts,
    /// before partitions are given up and on every timer tick that finds it ended.
    private var inflight: Task<(String, ChTableSchema)?, any Error>?
    /// Set by the in-flight insert when it ends.
    private let inflightEnded = Atomic<Bool>(false)

    // Guarded by `lock`.
    private var parts: [TopicPartition: Part] = [:]
    /// Records and bytes in, lag per partition.
    private var intake = ConsumerIntakeMetrics()
    private var schemas: [String: ChTableSchema] = [:]

    let recordsOut: Counter
    let errors: Counter
    let stateWrites: Counter
    let latency: Timer

    init(settings: ChSinkSettings, pool: ClickHouseConnectionPool, state: StateNamespace, logger: Logger,
         readiness: Readiness, mapper: ChRecordMapper, dlq: KafkaProducer?, supportsDedupToken: Bool) {
        self.settings = settings
        self.pool = pool
        self.state = state
        self.logger = logger
        self.readiness = readiness
        self.mapper = mapper
        self.dlq = dlq
        self.supportsDedupToken = supportsDedupToken
        self.batchSize = max(1, settings.kafka.batch.size)
        self.batchTimeout = settings.kafka.batch.timeout
        if let v = getenv("KP_DEBUG_CH_CRASH_AFTER_INSERT") { crashAfterInsert = Int(String(cString: v)) } else { crashAfterInsert = nil }
        recordsOut = Counter(label: PipeMetric.recordsOut)
        errors = Counter(label: PipeMetric.errors, dimensions: [("kind", "clickhouse")])
        stateWrites = Counter(label: PipeMetric.stateStoreWrites)
        latency = Timer(label: PipeMetric.batchLatency)
    }

    // MARK: entry points (each takes `lock`)

    func add(_ batch: ConsumerBatch) async throws {
        do {
            try await addLocked(batch)
        } catch {
            // A failure stops the connector: the revoke that follows must not insert anything more.
            failed = true
            throw error
        }
    }

    private func addLocked(_ batch: ConsumerBatch) async throws {
        try await lock.withLock {
            let tp = batch.topicPartition
            var p = try await part(tp)
            parts[tp] = nil  // `p` is the only copy while it grows (no copy of its records on append)
            intake.record(batch)
            for r in batch.records where r.offset > p.skipThrough {
                if let rb = p.rebuild {
                    if r.offset < rb.first { continue }
                    if r.offset <= rb.last { p.records.append(r) }
                    if r.offset >= rb.last {
                        try await flushRebuild(tp, &p)
                        if r.offset > rb.last { p.records = [r]; p.since = .now }
                    }
                    continue
                }
                if p.records.isEmpty { p.since = .now }
                p.records.append(r)
                if p.records.count >= batchSize {
                    try await insertRange(tp, &p, records: p.records, first: p.records.first!.offset, last: p.records.last!.offset)
                }
            }
            // The range's last record may be gone (a control record, compaction): the fetch moved past it.
            if let rb = p.rebuild, batch.nextOffset > rb.last { try await flushRebuild(tp, &p) }
            parts[tp] = p
        }
    }

    func flushIfDue() async throws {
        guard !failed else { return }
        do {
            try await flushDueLocked()
        } catch {
            failed = true
            throw error
        }
    }

    private func flushDueLocked() async throws {
        try await lock.withLock {
            if inflightEnded.load(ordering: .acquiring) { try await drain() }
            let now = ContinuousClock.now
            for tp in parts.keys.sorted() {
                guard var p = parts[tp], p.rebuild == nil, !p.records.isEmpty, now - p.since >= batchTimeout else { continue }
                try await insertRange(tp, &p, records: p.records, first: p.records.first!.offset, last: p.records.last!.offset)
                parts[tp] = p
            }
        }
    }

    func assigned(_ partitions: [TopicPartition]) async {
        logger.info("ch.Sink: partitions assigned", metadata: ["partitions": "\(partitions.sorted().map { "\($0.topic)/\($0.partition)" }.joined(separator: ","))"])
        await lock.withLock {
            for p in partitions { parts[p] = nil }
        }
    }

    /// Before partitions move: insert and commit what is buffered for them, then forget them. A
    /// range being rebuilt stays pending (in the group's metadata too) for the next owner.
    func revoked(_ partitions: [TopicPartition]) async {
        await lock.withLock {
            do {
                try await drain()  // a failure sets `failed`
            } catch {
                logger.warning("ch.Sink: the last insert failed; its range stays pending for the next owner",
                               metadata: ["error": "\(error)"])
            }
            for tp in partitions.sorted() {
                guard var p = parts[tp] else { continue }
                if p.rebuild == nil, !p.records.isEmpty, !failed {
                    do {
                        try await insertRange(tp, &p, records: p.records, first: p.records.first!.offset, last: p.records.last!.offset)
                        try await drain()
                    } catch {
                        failed = true
                        logger.warning("ch.Sink: buffered records of a revoked partition not inserted; the next owner reads them again",
                                       metadata: ["partition": "\(tp)", "error": "\(error)"])
                    }
                }
                parts[tp] = nil
            }
        }
    }

    // MARK: batches

    /// The partition's buffer, loading what the state store and the group know of it on first use.
    private func part(_ tp: TopicPartition) async throws -> Part {
        if let p = parts[tp] { return p }
        var p = Part()
        let local = state.getString(ChRangeState.key(tp)).flatMap { ChRangeState(parsing: $0) }
        var committed: (offset: Int64, metadata: String)?
        if let consumer {
            // The group's metadata may hold a range another member left pending: read it, or fail
            // rather than risk sending that range again as a different block.
            var attempt = 0
            while true {
                do {
                    committed = try await consumer.committed([tp])[tp]
                    break
                } catch {
                    attempt += 1
                    if attempt >= 5 {
                        throw ConnectorError(.kafka, "ch.Sink: reading the committed offset of \(tp.topic)/\(tp.partition)", cause: error)
                    }
                    try await Task.sleep(for: .milliseconds(200 << attempt))
                }
            }
        }
        var group: ChRangeState?
        if let c = committed, c.metadata.hasPrefix(ChRangeState.metadataPrefix),
           let r = ChRangeState(parsing: String(c.metadata.dropFirst(ChRangeState.metadataPrefix.count))),
           r.phase == .pending, r.first == c.offset {
            group = r
        }
        let committedOffset = committed?.offset ?? 0
        if let local, local.phase == .pending, local.last >= committedOffset {
            p.rebuild = local
        } else if let group {
            p.rebuild = group
        }
        if let rb = p.rebuild {
            p.skipThrough = rb.first - 1
            logger.info("ch.Sink: sending a pending range again",
                        metadata: ["partition": "\(tp)", "first": "\(rb.first)", "last": "\(rb.last)"])
        } else if let local, local.phase == .done {
            p.skipThrough = local.last
        }
        parts[tp] = p
        return p
    }

    private func flushRebuild(_ tp: TopicPartition, _ p: inout Part) async throws {
        guard let rb = p.rebuild else { return }
        try await insertRange(tp, &p, records: p.records, first: rb.first, last: rb.last)
        p.rebuild = nil
    }

    /// Waits for the in-flight insert; its failure is the connector's.
    private func drain() async throws {
        guard let t = inflight else { return }
        inflight = nil
        inflightEnded.store(false, ordering: .releasing)
        do {
            if let (table, reloaded) = try await t.value { schemas[table] = reloaded }
        } catch {
            failed = true
            throw error
        }
    }

    /// Inserts the records of [first, last] (all of `p.records` when it is a new batch; exactly
    /// those records again when rebuilt) and commits. On return the partition's buffer is empty
    /// and the insert is under way: converting happens here, then the previous insert is awaited
    /// and this one runs (pending, insert, done, commit) while the caller goes on reading.
    private func insertRange(_ tp: TopicPartition, _ p: inout Part, records: [KafkaRecord], first: Int64, last: Int64) async throws {
        let started = ContinuousClock.now
        let table = settings.table(forTopic: tp.topic)
        let schema = try await schemaFor(table)

        // 1. Rows (the conversion decides on_error before anything is written down).
        let converted = try mapper.rows(records, topic: tp.topic, partition: tp.partition, schema: schema)
        try await sendToDLQ(converted.rejected, topic: tp.topic, partition: tp.partition)

        // Ranges of one partition follow each other in the state store and the group.
        try await drain()
        p.skipThrough = last
        p.records = []
        inflight = Task {
            defer { self.inflightEnded.store(true, ordering: .releasing) }
            return try await self.commitRange(tp, records: records, converted: converted, schema: schema, table: table,
                                              first: first, last: last, started: started)
        }
    }

    /// Steps 2-4 of a batch; returns the table and its columns when they had to be read again.
    private func commitRange(_ tp: TopicPartition, records: [KafkaRecord], converted: ChConvertedBatch, schema: ChTableSchema,
                             table: String, first: Int64, last: Int64, started: ContinuousClock.Instant) async throws -> (String, ChTableSchema)? {
        var converted = converted
        var schema = schema
        let key = ChRangeState.key(tp)
        // 2. The range is pending, here and in the group.
        let pending = ChRangeState(.pending, first, last)
        try await save(key, pending)
        if let consumer {
            do {
                try await consumer.commit([tp: first], metadata: [tp: ChRangeState.metadataPrefix + pending.encoded])
            } catch {
                logger.warning("ch.Sink: could not record the pending range in the group (kept in the state store)",
                               metadata: ["partition": "\(tp)", "error": "\(error)"])
            }
        }

        // 3. The insert, retried until it succeeds (a retry sends the identical block).
        var reloaded: ChTableSchema?
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        var failures = 0
        while true {
            do {
                try await insert(converted.blocks, schema: schema, tp: tp, first: first, last: last)
                break
            } catch let e as ClickHouseError {
                errors.increment()
                if let server = e.serverException, ChSinkWriter.schemaErrorCodes.contains(server.code), reloaded == nil {
                    logger.warning("ch.Sink: insert refused by the table's schema; reading the columns again",
                                   metadata: ["table": "\(schema.displayName)", "error": "\(e)"])
                    schema = try await ChTableSchema.load(table, defaultDatabase: settings.clickHouse.database, pool: pool)
                    reloaded = schema
                    converted = try mapper.rows(records, topic: tp.topic, partition: tp.partition, schema: schema)
                    continue
                }
                if e.serverException != nil && (failures >= 4 || reloaded != nil) {
                    throw ConnectorError(.clickHouse, "ch.Sink: insert into \(schema.displayName) of \(tp.topic)/\(tp.partition) offsets \(first)-\(last) failed", cause: e)
                }
                failures += 1
                readiness.setNotReady("ClickHouse unavailable: \(e.code)")
                logger.warning("ch.Sink: insert failed; retrying the same block",
                               metadata: ["table": "\(schema.displayName)", "partition": "\(tp)", "error": "\(e)", "attempt": "\(failures)"])
                try await backoff.wait()
            }
        }
        if failures > 0 { readiness.setReady() }
        inserts += 1
        if let n = crashAfterInsert, inserts >= n {
            logger.critical("ch.Sink: KP_DEBUG_CH_CRASH_AFTER_INSERT reached; exiting before the range is saved")
            _exit(137)
        }

        // 4. Done, then the offset.
        try await save(key, ChRangeState(.done, first, last))
        let rows = converted.blocks.reduce(0) { $0 + $1.rowCount }
        recordsOut.increment(by: rows)
        let took = (ContinuousClock.now - started).components
        latency.recordNanoseconds(took.seconds * 1_000_000_000 + took.attoseconds / 1_000_000_000)
        if let consumer {
            do {
                try await consumer.commit([tp: last + 1])
            } catch {
                logger.warning("ch.Sink: offset commit failed (rows are inserted and saved as done; a replay is skipped)",
                               metadata: ["partition": "\(tp)", "error": "\(error)"])
            }
        }
        readiness.progress()
        logger.debug("ch.Sink: inserted", metadata: ["table": "\(schema.displayName)", "partition": "\(tp)",
                                                    "first": "\(first)", "last": "\(last)", "rows": "\(rows)"])
        return reloaded.map { (table, $0) }
    }

    /// Server errors after which the columns are read again (the table changed).
    static let schemaErrorCodes: Set<Int32> = [8, 10, 16, 20, 47, 53, 60, 70]

    private func insert(_ blocks: [ChInsertBlock], schema: ChTableSchema, tp: TopicPartition, first: Int64, last: Int64) async throws {
        for (i, b) in blocks.enumerated() where b.rowCount > 0 {
            var token = "\(tp.topic)-\(tp.partition)-\(first)-\(last)"
            if blocks.count > 1 { token += "-\(i)" }
            let settings: [(String, String)] = supportsDedupToken ? [("insert_deduplication_token", token)] : []
            try await pool.withConnection { conn in
                try await conn.insert(into: schema.qualifiedName, block: b.block, settings: settings, queryID: "")
            }
        }
    }

    private func save(_ key: String, _ s: ChRangeState) async throws {
        do {
            try await state.put(key, string: s.encoded)
            stateWrites.increment()
        } catch {
            throw ConnectorError(.stateStore, "ch.Sink: saving \(key) = \(s.encoded)", cause: error)
        }
    }

    private func schemaFor(_ table: String) async throws -> ChTableSchema {
        if let s = schemas[table] { return s }
        let s = try await ChTableSchema.load(table, defaultDatabase: settings.clickHouse.database, pool: pool)
        schemas[table] = s
        return s
    }

    /// Produces rejected records to the dead-letter topic and waits for every acknowledgement.
    private func sendToDLQ(_ rejected: [ChRejectedRecord], topic: String, partition: Int32) async throws {
        guard !rejected.isEmpty, case .dlq(let dlqTopic) = settings.onError, let dlq else { return }
        var futures: [DeliveryFuture] = []
        for r in rejected {
            var headers: [(String, [UInt8]?)] = r.record.headers.map { h in
                (h.key, h.value.map { Array($0.readableBytesView) })
            }
            headers.append(("kafka-pipe.error", Array(r.reason.utf8)))
            headers.append(("kafka-pipe.topic", Array(topic.utf8)))
            headers.append(("kafka-pipe.partition", Array(String(partition).utf8)))
            headers.append(("kafka-pipe.offset", Array(String(r.record.offset).utf8)))
            do {
                futures.append(try await dlq.enqueue(topic: dlqTopic, key: r.record.key.map { Array($0.readableBytesView) },
                                                     value: r.record.value.map { Array($0.readableBytesView) },
                                                     headers: headers, timestamp: r.record.timestamp))
            } catch {
                throw ConnectorError(.kafka, "ch.Sink: sending \(topic)/\(partition) offset \(r.record.offset) to the dead-letter topic \(dlqTopic)", cause: error)
            }
        }
        for (i, f) in futures.enumerated() {
            do {
                _ = try await f.get()
            } catch {
                throw ConnectorError(.kafka, "ch.Sink: the dead-letter topic \(dlqTopic) did not take \(topic)/\(partition) offset \(rejected[i].record.offset)", cause: error)
            }
        }
    }
}
