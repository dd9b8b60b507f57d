import Logging
import CoreMetrics
import KafkaWire
import NIOCore
import PgWire
import PipeConfig
import PipeRuntime
import ServiceLifecycle
import Storage

/// pg.Snapshot (SPEC §4): copies `pg:tables` to Kafka, then returns (exit status 0).
///
/// Data path, per table, inside one `REPEATABLE READ` transaction for the whole run:
///
/// 1. `count(*)` of the table under `pg:condition` (the `total` header and the progress bar).
/// 2. Chunks of `pg:chunk.size` rows in primary-key order, by keyset pagination:
///    `SELECT * FROM (SELECT * FROM t {condition}) WHERE (pk) > ($1..) ORDER BY pk LIMIT n`.
///    Each row becomes a record with pg.Source's key and value (`PgRowEncoder`) and the
///    snapshot headers `version`, `ts_ms` (the snapshot's start), `host`, `port`, `database`,
///    `table`, `op`=`r`, `total`.
/// 3. A chunk's records are enqueued, then the producer is flushed while the next chunk is read
///    from PostgreSQL (the two overlap). Once every record of the chunk is acknowledged, the
///    chunk's last key and the row count are saved in the state store (`snapshot/{schema}.{table}`),
///    and only then is the next chunk enqueued.
///
/// Delivery across a crash: at most one chunk is ever unacknowledged or unsaved. A process
/// killed at a chunk boundary (or stopped with SIGINT/SIGTERM, which finishes the chunk in
/// flight) resumes after the last saved key, so every row arrives exactly once. A process killed
/// while a chunk is in flight sends that chunk again on resume: duplicates are confined to the
/// `pg:chunk.size` rows after the saved key. A resumed run reads in a new snapshot (rows
/// committed meanwhile past the saved key are included).
///
/// A table without a primary key is read in one pass in storage order (a cursor, with
/// synchronized sequential scans off) with a warning; it is saved only once complete, so a
/// crash during it sends the whole table again. Its record key is that of pg.Source: the
/// replica-identity index columns, every column under `REPLICA IDENTITY FULL`, else `{}`.
///
/// When every configured table is already complete in the state store, the run starts a new
/// snapshot from the beginning (a completed snapshot leaves nothing to resume).
public struct PgSnapshotConnector: Connector {
    public let className = ConnectorClass.pgSnapshot.rawValue
    let environment: ConnectorEnvironment
    let settings: PgSnapshotSettings

    public init(environment: ConnectorEnvironment) throws {
        guard case .pgSnapshot(let settings) = environment.configuration.connector else {
            throw ConnectorError(.configuration, "pg.Snapshot needs the pg.Snapshot settings")
        }
        self.environment = environment
        self.settings = settings
    }

    var logger: Logger { environment.logger }
    var state: StateNamespace { environment.store.namespace(environment.name) }

    private enum Finished: Sendable {
        case snapshot
        case kafkaClient
    }

    public func run() async throws {
        let postgres: PostgresConnection
        do {
            postgres = try await connectPostgres()
        } catch {
            ConnectorMetrics.countError(error)
            throw error
        }
        do {
            try await runSnapshot(postgres)
        } catch {
            // pg.Snapshot does not retry: the error that ends the run is counted.
            ConnectorMetrics.countError(error)
            await postgres.close()
            throw error
        }
        await postgres.close()
    }

    private func runSnapshot(_ postgres: PostgresConnection) async throws {
        // The one snapshot every table is read in; `now()` is its start time (the `ts_ms` header).
        let millis: Int64
        do {
            try await postgres.simpleQuery("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL synchronize_seqscans = off")
            let rows = try await postgres.simpleQuery("SELECT floor(extract(epoch FROM now()) * 1000)::int8")
            millis = rows.first?.string(0).flatMap { Int64($0) } ?? 0
        } catch {
            throw ConnectorError(.postgres, "starting the snapshot transaction on \(endpoint)", cause: error)
        }
        var unique: [TableName] = []
        for t in settings.tables where !unique.contains(t) { unique.append(t) }
        let tables = unique
        var layouts: [TableLayout] = []
        for table in tables { layouts.append(try await layout(of: table, on: postgres)) }

        try await startNewSnapshotIfComplete(tables)
        let pending = layouts.filter { state.snapshotProgress($0.table)?.status != .done }
        for done in layouts where !pending.contains(where: { $0.table == done.table }) {
            logger.info("table already copied in this snapshot", metadata: ["table": "\(done.table)"])
        }

        let topics = TopicSetup(settings: settings.kafka.topic)
        let cluster = TopicSetup.makeCluster(settings.kafka)
        let producer = TopicSetup.makeProducer(settings.kafka, cluster: cluster)
        try await withThrowingTaskGroup(of: Finished.self) { group in
            group.addTask {
                try await cluster.run()
                return .kafkaClient
            }
            group.addTask {
                try await producer.run()
                return .kafkaClient
            }
            group.addTask {
                let names = pending.map { topics.topicName(for: $0.table) }
                try await topics.createMissingTopics(names, admin: KafkaAdmin(cluster: cluster), logger: logger)
                environment.readiness.setReady()
                for layout in pending {
                    let copier = TableCopier(connector: self, postgres: postgres, producer: producer, layout: layout,
                                             topic: topics.topicName(for: layout.table), millis: millis)
                    guard try await copier.run() else { return .snapshot }
                }
                logger.info("snapshot complete", metadata: ["tables": "\(tables.count)"])
                return .snapshot
            }
            defer { group.cancelAll() }
            switch try await group.next() {
            case .snapshot?: break
            case .kafkaClient?, nil:
                throw ConnectorError(.kafka, "the Kafka client stopped before the snapshot finished")
            }
        }
        _ = try? await postgres.simpleQuery("COMMIT")
        environment.readiness.setNotReady("snapshot finished")
    }

    private var endpoint: String {
        "PostgreSQL \(settings.url.host):\(settings.url.port)/\(settings.url.database)"
    }

    private func connectPostgres() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(PgConnect.configuration(settings.url), logger: logger)
        } catch {
            throw ConnectorError(.postgres, "cannot connect to \(endpoint) (pg:url)", cause: error)
        }
    }

    /// When the state says every table is done, the previous snapshot is complete: forget it.
    private func startNewSnapshotIfComplete(_ tables: [TableName]) async throws {
        let saved = tables.map { state.snapshotProgress($0) }
        guard !tables.isEmpty, saved.allSatisfy({ $0?.status == .done }) else {
            let resumed = zip(tables, saved).filter { $0.1 != nil }
            if !resumed.isEmpty {
                logger.info("resuming the snapshot from the state store", metadata: [
                    "tables": "\(resumed.map { "\($0.0)=\($0.1!.rows)" }.joined(separator: ","))",
                ])
            }
            return
        }
        logger.info("the previous snapshot of these tables is complete; starting a new one")
        var batch = StateBatch()
        for t in tables { batch.delete(SnapshotTableProgress.key(for: t)) }
        do {
            try await state.write(batch)
            Counter(label: PipeMetric.stateStoreWrites).increment()
        } catch {
            throw ConnectorError(.stateStore, "clearing the completed snapshot's progress", cause: error)
        }
    }

    // MARK: catalog

    /// What the snapshot needs to know about a table before reading it.
    struct TableLayout: Sendable {
        var table: TableName
        /// Primary-key columns in key order; empty without a primary key.
        var primaryKey: [String]
        /// The record key's columns when there is no primary key (pg.Source's replica identity);
        /// nil: every column (`REPLICA IDENTITY FULL`).
        var identity: [String]?
    }

    private func layout(of table: TableName, on postgres: PostgresConnection) async throws -> TableLayout {
        do {
            let relation = try await postgres.query(SnapshotSQL.relation, [.text(table.schema), .text(table.table)])
            guard let row = relation.first else {
                throw ConnectorError(.configuration,
                                     "table \(table) (pg:tables) does not exist in \(endpoint), or the user cannot see it")
            }
            let primaryKey = try await postgres.query(SnapshotSQL.indexColumns(primary: true),
                                                      [.text(table.schema), .text(table.table)]).compactMap { $0.string(0) }
            if !primaryKey.isEmpty { return TableLayout(table: table, primaryKey: primaryKey, identity: []) }
            switch row.string(1) {
            case "f":
                return TableLayout(table: table, primaryKey: [], identity: nil)
            case "i":
                let columns = try await postgres.query(SnapshotSQL.indexColumns(primary: false),
                                                       [.text(table.schema), .text(table.table)]).compactMap { $0.string(0) }
                return TableLayout(table: table, primaryKey: [], identity: columns)
            default:
                return TableLayout(table: table, primaryKey: [], identity: [])
            }
        } catch let e as ConnectorError {
            throw e
        } catch {
            throw ConnectorError(.postgres, "looking up table \(table) (pg:tables) in \(endpoint)", cause: error)
        }
    }
}
