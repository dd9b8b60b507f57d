import CoreMetrics
import KafkaWire
import Logging
import NIOCore
import PgWire
import PipeConfig
import PipeRuntime
import Storage
import Synchronization

/// One connection's worth of pg.Source: setup, then streaming until a failure or a stop.
final class PgSourceSession: Sendable {
    let environment: ConnectorEnvironment
    let settings: PgSourceSettings
    let control: PgSourceControl
    let metrics: PgSourceMetrics
    private let progress = Atomic<Bool>(false)
    private let lastMessage = Mutex(ContinuousClock.now)

    /// Whether this session saved a position (a later failure then restarts the backoff).
    var madeProgress: Bool { progress.load(ordering: .relaxed) }

    init(environment: ConnectorEnvironment, settings: PgSourceSettings, control: PgSourceControl, metrics: PgSourceMetrics) {
        self.environment = environment
        self.settings = settings
        self.control = control
        self.metrics = metrics
    }

    private var logger: Logger { environment.logger }
    private var namespace: StateNamespace { environment.store.namespace(environment.name) }

    /// What setup found out.
    struct Prepared: Sendable {
        var primaryKeys: [TableName: [String]]
        var slotConfirmed: LSN?
        var walSenderTimeout: Duration
    }

    func run() async throws {
        let query = try await connect(replication: false)
        do {
            try await stream(query: query)
        } catch {
            await query.close()
            throw error
        }
        await query.close()
    }

    // MARK: setup

    private func connect(replication: Bool) async throws -> PostgresConnection {
        let configuration = PgConnect.configuration(settings.url, replication: replication)
        do {
            return try await PostgresConnection.connect(configuration, logger: logger)
        } catch {
            throw Self.classify(error, "connecting to PostgreSQL at \(settings.url.address) as \(settings.url.user)"
                                    + (replication ? " (replication)" : ""))
        }
    }

    /// SQLSTATEs an operator has to fix: retrying will not help.
    static let configurationStates: Set<String> = [
        "28P01", "28000", "3D000", "42501", "42P01", "42704", "42703", "42P10", "42809", "55000", "53400", "0A000",
    ]

    /// A PostgreSQL failure as a `ConnectorError`: configuration problems are final, the rest retriable.
    static func classify(_ error: any Error, _ doing: String) -> ConnectorError {
        if let e = error as? ConnectorError { return e }
        if let e = error as? PostgresError {
            if let state = e.sqlState, configurationStates.contains(state) {
                return ConnectorError(.configuration, "\(doing): \(e.message ?? "\(e)") (SQLSTATE \(state))")
            }
            return ConnectorError(.postgres, doing, cause: e)
        }
        if let e = error as? KafkaWireError {
            if e.code == .saslAuthenticationFailed { return ConnectorError(.configuration, doing, cause: e) }
            return ConnectorError(.kafka, doing, cause: e)
        }
        return ConnectorError(.postgres, "\(doing): \(error)")
    }

    private func sql(_ connection: PostgresConnection, _ text: String, _ parameters: [PostgresValue?] = [],
                     doing: String) async throws -> [PostgresRow] {
        do {
            return try await connection.query(text, parameters)
        } catch {
            throw Self.classify(error, doing)
        }
    }

    private var healthTableSQL: String {
        quoteIdentifier(settings.healthTable.schema) + "." + quoteIdentifier(settings.healthTable.table)
    }

    /// Tables, primary keys, the health table, the publication and the slot's position.
    private func prepare(_ c: PostgresConnection) async throws -> Prepared {
        var keys: [TableName: [String]] = [:]
        for table in settings.tables {
            let exists = try await sql(c, "SELECT 1 FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
                                        + "WHERE n.nspname = $1 AND r.relname = $2 AND r.relkind IN ('r','p')",
                                       [.text(table.schema), .text(table.table)], doing: "looking up table \(table)")
            guard !exists.isEmpty else {
                throw ConnectorError(.configuration, "pg:tables: table \(table) does not exist in database \(settings.url.database) "
                                     + "(or user \(settings.url.user) cannot see it)")
            }
            do {
                keys[table] = try await PgCatalog.primaryKeyColumns(of: table, on: c)
            } catch {
                throw Self.classify(error, "reading the primary key of \(table)")
            }
            if keys[table]?.isEmpty ?? true {
                logger.warning("table has no primary key: record keys are its replica-identity columns", metadata: ["table": "\(table)"])
            }
        }
        _ = try await sql(c, "CREATE TABLE IF NOT EXISTS \(healthTableSQL) (slot text PRIMARY KEY, ts timestamptz NOT NULL)",
                          doing: "pg:health.table: creating \(settings.healthTable)")
        try await heartbeat(c, doing: "pg:health.table: writing to \(settings.healthTable)")

        let tableList = (settings.tables + [settings.healthTable]).map {
            quoteIdentifier($0.schema) + "." + quoteIdentifier($0.table)
        }.joined(separator: ", ")
        let publication = quoteIdentifier(settings.publication)
        let existing = try await sql(c, "SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1",
                                     [.text(settings.publication)], doing: "looking up publication \(settings.publication)")
        if existing.isEmpty {
            _ = try await sql(c, "CREATE PUBLICATION \(publication) FOR TABLE \(tableList)",
                              doing: "pg:publication: creating publication \(settings.publication)")
            logger.info("created publication", metadata: ["publication": "\(settings.publication)"])
        } else {
            _ = try await sql(c, "ALTER PUBLICATION \(publication) SET TABLE \(tableList)",
                              doing: "pg:publication: setting the tables of publication \(settings.publication)")
        }

        let slots = try await sql(c, "SELECT confirmed_flush_lsn::text, plugin, database FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
                                  [.text(settings.slot)], doing: "looking up slot \(settings.slot)")
        var confirmed: LSN?
        if let row = slots.first {
            guard row.string(1) == "pgoutput" else {
                throw ConnectorError(.configuration, "pg:slot: slot \(settings.slot) exists but is not a logical slot of plugin pgoutput "
                                     + "(plugin \(row.string(1) ?? "none")); choose another slot name or drop it")
            }
            guard row.string(2) == settings.url.database else {
                throw ConnectorError(.configuration, "pg:slot: slot \(settings.slot) belongs to database \(row.string(2) ?? "?"), "
                                     + "not \(settings.url.database); choose another slot name")
            }
            confirmed = row.string(0).flatMap { LSN($0) } ?? .zero
        }
        let timeoutRows = try await sql(c, "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_sender_timeout'",
                                        doing: "reading wal_sender_timeout")
        let timeoutMs = timeoutRows.first?.string(0).flatMap { Int64($0) } ?? 60_000
        return Prepared(primaryKeys: keys, slotConfirmed: confirmed, walSenderTimeout: .milliseconds(timeoutMs > 0 ? timeoutMs : 60_000))
    }

    /// Upserts this slot's row of the health table: a tiny transaction that lets the slot advance
    /// while the tables are idle. It is never produced. The server's end of WAL it returns feeds
    /// the lag metric.
    private func heartbeat(_ c: PostgresConnection, doing: String) async throws {
        let rows = try await sql(c, "INSERT INTO \(healthTableSQL) (slot, ts) VALUES ($1, now()) ON CONFLICT (slot) DO UPDATE SET ts = excluded.ts "
                                 + "RETURNING pg_catalog.pg_current_wal_lsn()::text",
                                 [.text(settings.slot)], doing: doing)
        if let end = rows.first?.string(0).flatMap({ LSN($0) }) { metrics.serverWALEnd(end) }
    }

    /// The position to start from, after checking the saved one against the slot (SPEC §3).
    private func resumePosition(slotConfirmed: LSN?) throws -> LSN? {
        let savedText = namespace.getString(PgSourceConnector.positionKey)
        let saved = savedText.flatMap { LSN($0) }
        if savedText != nil && saved == nil {
            throw ConnectorError(.position, "the state store holds an unreadable position \"\(savedText!)\" for connector \(environment.name)")
        }
        switch (saved, slotConfirmed) {
        case (let saved?, nil):
            throw ConnectorError(.position, """
                replication slot \(settings.slot) does not exist, but connector \(environment.name) saved position \(saved): \
                the slot was dropped, so changes after \(saved) may never reach Kafka. Check the tables for missed changes \
                (pg.Snapshot can copy them again), then stop the connector and remove key "\(PgSourceConnector.positionKey)" \
                of connector \(environment.name) from the state store (or use a new connector name) to start a new slot from now
                """)
        case (let saved?, let confirmed?) where saved < confirmed:
            throw ConnectorError(.position, """
                saved position \(saved) of connector \(environment.name) is behind slot \(settings.slot)'s confirmed_flush_lsn \
                \(confirmed): PostgreSQL has already discarded the changes between them (another client used the slot, or the \
                state store was restored from an older copy). Check the tables for missed changes (pg.Snapshot can copy them \
                again), then stop the connector and remove key "\(PgSourceConnector.positionKey)" of connector \
                \(environment.name) from the state store to resume at the slot's position
                """)
        case (let saved?, _):
            return saved
        case (nil, let confirmed):
            return confirmed
        }
    }

    // MARK: streaming

    private func stream(query: PostgresConnection) async throws {
        let prepared = try await prepare(query)
        var resume = try resumePosition(slotConfirmed: prepared.slotConfirmed)

        let topics = TopicSetup(settings: settings.kafka.topic)
        let cluster = TopicSetup.makeCluster(settings.kafka)
        let producer = TopicSetup.makeProducer(settings.kafka, cluster: cluster)
        let replication = try await connect(replication: true)
        defer { control.attach(nil) }

        enum Child: Sendable { case done, acker }
        do {
            try await withThrowingTaskGroup(of: Child.self) { group in
                group.addTask {
                    try await cluster.run()
                    return .done
                }
                let topicNames = settings.tables.map { topics.topicName(for: $0) }
                do {
                    try await topics.createMissingTopics(topicNames, admin: KafkaAdmin(cluster: cluster), logger: logger)
                } catch let e as ConnectorError where e.code == .kafka {
                    if let cause = e.cause as? KafkaWireError, cause.code == .saslAuthenticationFailed {
                        throw ConnectorError(.configuration, e.context, cause: cause)
                    }
                    throw e
                }
                group.addTask {
                    try await producer.run()
                    return .done
                }

                if resume == nil {
                    let slot: ReplicationSlotInfo
                    do {
                        slot = try await replication.createReplicationSlot(settings.slot)
                    } catch {
                        throw Self.classify(error, "pg:slot: creating replication slot \(settings.slot)")
                    }
                    logger.info("created replication slot", metadata: ["slot": "\(settings.slot)", "lsn": "\(slot.consistentPoint)"])
                    resume = slot.consistentPoint
                }
                let start = resume ?? .zero
                let stream: ReplicationStream
                do {
                    stream = try await replication.startReplication(
                        slot: settings.slot, start: start, options: PgOutputOptions(publications: [settings.publication]))
                } catch {
                    throw Self.classify(error, "pg:slot: starting replication from slot \(settings.slot) at \(start)")
                }
                control.attach(stream)
                logger.info("streaming", metadata: [
                    "slot": "\(settings.slot)", "publication": "\(settings.publication)", "from": "\(start)",
                    "pgoutput": "\(stream.protocolVersion)",
                ])
                environment.readiness.setReady()
                lastMessage.withLock { $0 = .now }

                let acker = PgSourceAcker(metrics: metrics)
                let metrics = self.metrics
                let namespace = self.namespace
                let readiness = environment.readiness
                group.addTask {
                    try await acker.run { lsn in
                        do {
                            try await namespace.put(PgSourceConnector.positionKey, string: lsn.description)
                            metrics.stateWrites.increment()
                        } catch {
                            throw ConnectorError(.stateStore, "saving position \(lsn) of connector \(self.environment.name)",
                                                 cause: error)
                        }
                        stream.confirm(flushed: lsn)
                        metrics.updateLag(stream)
                        self.progress.store(true, ordering: .relaxed)
                        readiness.progress()
                    }
                    return .acker
                }
                let watchdog = max(settings.heartbeat * 3, prepared.walSenderTimeout * 2)
                group.addTask {
                    try await self.heartbeats(query: query, stream: stream, watchdog: watchdog)
                    return .done
                }
                let decoder = PgSourceDecoder(settings: settings, primaryKeys: prepared.primaryKeys, topics: topics,
                                              skipBefore: start)
                group.addTask {
                    try await withTaskCancellationHandler {
                        try await self.consume(stream, decoder: decoder, producer: producer, acker: acker)
                    } onCancel: {
                        Task { await replication.close() }
                    }
                    return .done
                }
                while let child = try await group.next() {
                    if case .acker = child { break }
                }
                group.cancelAll()
            }
        } catch {
            await replication.close()
            throw error
        }
        await replication.close()
    }

    /// Reads the stream, produces records, hands their acknowledgements and the commits to the acker.
    private func consume(_ stream: ReplicationStream, decoder: PgSourceDecoder, producer: KafkaProducer,
                         acker: PgSourceAcker) async throws {
        var decoder = decoder
        defer { acker.finish() }
        var changes = decoder.changes
        var recordsSinceCommit = false
        while true {
            let next: ReplicationEvent?
            do {
                next = try await stream.next()
            } catch where control.isStopping {
                // Stopping: however the stream ended, the acker still saves what Kafka acknowledged.
                logger.debug("replication stream ended while stopping", metadata: ["error": "\(error)"])
                return
            }
            guard let event = next else { break }
            lastMessage.withLock { $0 = .now }
            let output = try decoder.handle(event)
            if decoder.changes != changes {
                metrics.recordsIn.increment(by: decoder.changes - changes)
                changes = decoder.changes
            }
            switch output {
            case .none:
                break
            case .records(let records):
                for r in records {
                    let future: DeliveryFuture
                    do {
                        future = try await producer.enqueue(topic: r.topic, key: r.key, value: r.value, headers: r.headers,
                                                            timestamp: r.timestamp)
                    } catch {
                        throw ConnectorError(.kafka, "producing to topic \(r.topic)", cause: error)
                    }
                    acker.push(.record(future, bytes: r.key.count + (r.value?.count ?? 0)))
                    recordsSinceCommit = true
                }
            case .commit(let end):
                acker.push(.commit(end, since: recordsSinceCommit ? ContinuousClock.now : nil))
                recordsSinceCommit = false
            }
        }
        if !control.isStopping {
            throw ConnectorError(.postgres, "PostgreSQL ended the replication stream of slot \(settings.slot)")
        }
    }

    /// Every `pg:heartbeat`: upsert the health row, send a standby status, and check that the
    /// stream is alive. The heartbeat commits reach the stream within a heartbeat or two; when
    /// nothing at all arrived for `watchdog`, the connection is considered dead (a server restart
    /// can leave the replication socket open without an error) and the session ends.
    private func heartbeats(query: PostgresConnection, stream: ReplicationStream, watchdog: Duration) async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: settings.heartbeat)
            try await heartbeat(query, doing: "heartbeat to \(settings.healthTable)")
            metrics.updateLag(stream)
            do {
                try await stream.sendStandbyStatus()
            } catch {
                throw Self.classify(error, "sending a standby status on slot \(settings.slot)")
            }
            let silent = ContinuousClock.now - lastMessage.withLock { $0 }
            if silent > watchdog {
                throw ConnectorError(.postgres, "no message on the replication stream of slot \(settings.slot) for "
                                     + "\(formatDuration(silent)) although heartbeats were written; reconnecting")
            }
        }
    }
}

/// Orders acknowledgements: a commit's end LSN is saved (then confirmed) only after every record
/// enqueued before it was acknowledged by Kafka. Saves are coalesced: when more items wait, at
/// most one save per 200 ms.
final class PgSourceAcker: Sendable {
    enum Item: Sendable {
        /// A produced record and its key + value bytes.
        case record(DeliveryFuture, bytes: Int)
        /// A transaction's end; `since`: when its commit arrived, if it had records (batch latency).
        case commit(LSN, since: ContinuousClock.Instant?)
    }

    private let stream: AsyncStream<Item>
    private let continuation: AsyncStream<Item>.Continuation
    private let queued = Atomic<Int>(0)
    private let metrics: PgSourceMetrics

    init(metrics: PgSourceMetrics) {
        self.metrics = metrics
        (stream, continuation) = AsyncStream.makeStream(of: Item.self)
    }

    func push(_ item: Item) {
        queued.add(1, ordering: .relaxed)
        continuation.yield(item)
    }

    /// No more items: `run` saves what is left and returns.
    func finish() { continuation.finish() }

    func run(save: @Sendable (LSN) async throws -> Void) async throws {
        var pending: LSN?
        var lastSave = ContinuousClock.now
        for await item in stream {
            let left = queued.subtract(1, ordering: .relaxed).newValue
            switch item {
            case .record(let future, let bytes):
                do {
                    _ = try await future.get()
                } catch {
                    throw ConnectorError(.kafka, "Kafka did not acknowledge a record for \(future.topic)/\(future.partition)",
                                         cause: error)
                }
                metrics.recordsOut.increment()
                metrics.bytesOut.increment(by: bytes)
            case .commit(let lsn, let since):
                // Every record before the commit is acknowledged.
                if let since { metrics.latency.recordNanoseconds(ConnectorMetrics.nanoseconds(.now - since)) }
                pending = lsn
            }
            if let p = pending, left == 0 || ContinuousClock.now - lastSave >= .milliseconds(200) {
                try await save(p)
                pending = nil
                lastSave = .now
            }
        }
        if let p = pending { try await save(p) }
    }
}
