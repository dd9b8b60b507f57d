import CoreMetrics
import KafkaWire
import Logging
import NIOCore
import PgWire
import PipeConfig
import PipeRuntime
import ServiceLifecycle
import Storage

/// One chunk read from PostgreSQL: its records, and the primary key of its last row.
struct SnapshotChunk: Sendable {
    var records = KafkaRecordBlock()
    var lastKey: [String]?
    var bytes: Int64 { Int64(records.byteCount) }
    var count: Int { records.count }
}

/// Copies one table of the snapshot (see `PgSnapshotConnector` for the data path).
struct TableCopier {
    let connector: PgSnapshotConnector
    let postgres: PostgresConnection
    let producer: KafkaProducer
    let layout: PgSnapshotConnector.TableLayout
    let topic: String
    let millis: Int64

    private var logger: Logger { connector.logger }
    private var table: TableName { layout.table }
    private var chunkSize: Int { connector.settings.chunkSize }
    private var resumable: Bool { !layout.primaryKey.isEmpty }

    /// Copies the table; false when a graceful stop interrupted it (its progress is saved).
    func run() async throws -> Bool {
        let sql = SnapshotSQL(table: table, condition: connector.settings.condition, keyColumns: layout.primaryKey)
        let state = connector.state
        var saved = state.snapshotProgress(table) ?? SnapshotTableProgress(status: .running, keyColumns: layout.primaryKey,
                                                                             after: nil, rows: 0)
        if saved.keyColumns != layout.primaryKey || !resumable {
            if saved.rows > 0 || saved.after != nil {
                logger.warning("the saved position no longer fits the table's primary key; copying the table from its start",
                               metadata: ["table": "\(table)", "saved_key": "\(saved.keyColumns)", "key": "\(layout.primaryKey)"])
            }
            saved = SnapshotTableProgress(status: .running, keyColumns: layout.primaryKey, after: nil, rows: 0)
        }
        if !resumable {
            logger.warning("table has no primary key: reading it in one pass in storage order; an interrupted run copies it again from its start",
                           metadata: ["table": "\(table)"])
        }

        let total: Int64
        do {
            let rows = try await postgres.simpleQuery(sql.count)
            total = rows.first?.string(0).flatMap { Int64($0) } ?? 0
        } catch {
            throw ConnectorError(.postgres, "counting the rows of \(table)", cause: error)
        }
        let url = connector.settings.url
        let headers = PgRecordHeaders.snapshot(millis: millis, host: url.host, port: url.port, database: url.database,
                                               table: "\(table)", total: total)
        let label = saved.rows > 0 ? "\(table) (resumed after \(saved.rows) rows)" : "\(table)"
        let progress = ProgressReporter(label: label, unit: "rows", total: max(0, total - saved.rows), logger: logger)
        let recordsOut = Counter(label: PipeMetric.recordsOut, dimensions: [("table", "\(table)")])
        let bytesOut = Counter(label: PipeMetric.bytesOut, dimensions: [("table", "\(table)")])
        let stateWrites = Counter(label: PipeMetric.stateStoreWrites)
        logger.info("copying table", metadata: [
            "table": "\(table)", "topic": "\(topic)", "rows": "\(total)", "already_copied": "\(saved.rows)",
        ])

        let reader = ChunkReader(postgres: postgres, sql: sql, layout: layout, chunkSize: chunkSize)
        if !resumable {
            do { try await postgres.simpleQuery(sql.declareCursor) } catch {
                throw ConnectorError(.postgres, "reading table \(table)", cause: error)
            }
        }
        let encodedHeaders = KafkaRecordHeaders(headers)
        return try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await progress.run() }
            defer { group.cancelAll() }

            // Three chunks in flight: chunk N+1 is read (and encoded) from PostgreSQL while
            // chunk N is handed to the producer and chunk N-1's acknowledgements are awaited. A
            // chunk's position is saved only once every one of its records is acknowledged, and
            // positions are saved in order.
            typealias Pending = (chunk: SnapshotChunk, deliveries: [DeliveryFuture], started: ContinuousClock.Instant)
            var unacknowledged: Pending?
            func settle(_ p: Pending) async throws {
                try await acknowledged(p.deliveries)
                saved.rows += Int64(p.chunk.count)
                saved.after = p.chunk.lastKey
                if resumable {
                    do {
                        try await state.put(SnapshotTableProgress.key(for: table), saved.encoded)
                        stateWrites.increment()
                    } catch {
                        throw ConnectorError(.stateStore, "saving the snapshot position of \(table)", cause: error)
                    }
                }
                recordsOut.increment(by: Int64(p.chunk.count))
                bytesOut.increment(by: p.chunk.bytes)
                progress.advance(by: Int64(p.chunk.count), bytes: p.chunk.bytes)
                connector.environment.readiness.progress()
                logger.debug("chunk acknowledged", metadata: [
                    "table": "\(table)", "rows": "\(saved.rows)", "after": "\(saved.after ?? [])",
                    "acknowledged_after": "\(ContinuousClock.now - p.started)",
                ])
            }

            var chunk = try await reader.read(after: saved.after)
            while chunk.count > 0 {
                let started = ContinuousClock.now
                let more = chunk.count == chunkSize
                let lastKey = chunk.lastKey
                // The next chunk's query goes out before this one is handed to the producer, so
                // PostgreSQL works while we enqueue.
                let expectedBytes = chunk.records.byteCount
                async let following = more ? reader.read(after: lastKey, expectedBytes: expectedBytes) : SnapshotChunk()
                let deliveries = try await enqueue(chunk, headers: encodedHeaders)
                producer.sendBuffered()   // no linger (kafka:batch:timeout) at a chunk's end
                if let previous = unacknowledged { try await settle(previous) }
                unacknowledged = (chunk, deliveries, started)
                let next = try await following
                if Task.isShuttingDownGracefully || next.count == 0 {
                    do { try await producer.flush() } catch {
                        throw ConnectorError(.kafka, "delivering rows of \(table) to topic \(topic)", cause: error)
                    }
                    try await settle(unacknowledged!)
                    unacknowledged = nil
                }
                if Task.isShuttingDownGracefully {
                    logger.info(resumable ? "stopped before the snapshot finished; run again to resume"
                                    : "stopped before the snapshot finished; run again to copy this table from its start",
                                metadata: ["table": "\(table)", "rows": "\(saved.rows)"])
                    return false
                }
                chunk = next
            }
            if !resumable {
                _ = try? await postgres.simpleQuery(sql.closeCursor)
            }
            saved.status = .done
            do {
                try await state.put(SnapshotTableProgress.key(for: table), saved.encoded)
                stateWrites.increment()
            } catch {
                throw ConnectorError(.stateStore, "saving the snapshot position of \(table)", cause: error)
            }
            logger.info("table copied", metadata: ["table": "\(table)", "topic": "\(topic)", "rows": "\(saved.rows)"])
            return true
        }
    }

    /// Hands the records of `chunk` to the producer (waiting only while its buffer is full).
    private func enqueue(_ chunk: SnapshotChunk, headers: KafkaRecordHeaders) async throws -> [DeliveryFuture] {
        do {
            return try await producer.enqueue(topic: topic, records: chunk.records, headers: headers)
        } catch {
            throw ConnectorError(.kafka, "delivering rows of \(table) to topic \(topic)", cause: error)
        }
    }

    /// Returns once Kafka acknowledged every record of `deliveries`.
    private func acknowledged(_ deliveries: [DeliveryFuture]) async throws {
        do {
            // Every record's batch must be acknowledged; one await per batch (an await per
            // record costs an event-loop hop each).
            var previous: DeliveryFuture?
            for d in deliveries where previous.map({ !d.isInSameBatch(as: $0) }) ?? true {
                _ = try await d.get()
                previous = d
            }
        } catch {
            throw ConnectorError(.kafka, "delivering rows of \(table) to topic \(topic)", cause: error)
        }
    }
}

/// Reads one chunk at a time: keyset pagination over the primary key, or FETCH from the
/// cursor of a table without one. Rows are encoded into record keys and values as they arrive.
struct ChunkReader: Sendable {
    let postgres: PostgresConnection
    let sql: SnapshotSQL
    let layout: PgSnapshotConnector.TableLayout
    let chunkSize: Int

    /// Reads the chunk after the row with primary key `after` (nil: the first one);
    /// `expectedBytes` (the previous chunk's size) sizes the record block in one allocation.
    func read(after: [String]?, expectedBytes: Int = 0) async throws -> SnapshotChunk {
        let query: String
        var parameters: [PostgresValue?] = []
        if layout.primaryKey.isEmpty {
            query = sql.fetch(chunkSize)
        } else {
            query = sql.chunk(afterKey: after != nil, limit: chunkSize)
            parameters = (after ?? []).map { PostgresValue.text($0) }
        }
        var chunk = SnapshotChunk()
        chunk.records = KafkaRecordBlock(reservingRecords: chunkSize,
                                         bytes: expectedBytes > 0 ? expectedBytes + expectedBytes / 8 : chunkSize * 64)
        var encoder: PgRowEncoder?
        var keyIndexes: [Int] = []
        var lastRow: BackendMessage.DataRow?
        do {
            try await postgres.query(query, parameters, onFields: { fields in
                let keyColumns: Set<String> = layout.primaryKey.isEmpty
                    ? Set(layout.identity ?? fields.map(\.name)) : Set(layout.primaryKey)
                encoder = PgRowEncoder(fields: fields, keyColumns: keyColumns)
                keyIndexes = try layout.primaryKey.map { name in
                    guard let i = fields.firstIndex(where: { $0.name == name }) else {
                        throw ConnectorError(.invalidData, "table \(layout.table): primary-key column \(name) is not in the result")
                    }
                    return i
                }
            }, onDataRow: { row in
                guard let encoder else {
                    throw ConnectorError(.invalidData, "table \(layout.table): a row arrived before its description")
                }
                row.withColumns { columns in
                    chunk.records.appendRecord(key: { encoder.appendKey(columns: columns, to: &$0) },
                                               value: { encoder.appendValue(columns: columns, to: &$0) })
                }
                lastRow = row
            })
        } catch let e as ConnectorError {
            throw e
        } catch {
            throw ConnectorError(.postgres, "reading table \(layout.table)", cause: error)
        }
        if !keyIndexes.isEmpty, let lastRow {
            let values = lastRow.columns
            chunk.lastKey = keyIndexes.map { values[$0].map { String(buffer: $0) } ?? "" }
        }
        return chunk
    }
}
