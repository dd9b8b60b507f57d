import NIOCore
import PgWire
import PipeConfig

/// A record ready for the producer.
struct PgSourceRecord: Sendable {
    var topic: String
    var key: [UInt8]
    var value: [UInt8]?
    var headers: [(String, [UInt8]?)]
    var timestamp: Int64
}

/// Turns pgoutput messages into records (SPEC §3), without I/O: a value the session feeds one
/// replication event at a time.
struct PgSourceDecoder: Sendable {
    enum Output: Sendable {
        case none
        case records([PgSourceRecord])
        /// A transaction ended at this LSN (its records, if any, were output before).
        case commit(LSN)
    }

    /// What the decoder knows of a relation from its Relation message.
    struct Relation: Sendable {
        var name: String
        var columns: [RelationColumn]
        var encoder: PgRowEncoder
        /// nil: not a configured table (the health table, or one added to the publication by hand).
        var topic: String?
    }

    let settings: PgSourceSettings
    let primaryKeys: [TableName: [String]]
    let topics: TopicSetup
    /// Transactions whose commit lies before this position were delivered already.
    let skipBefore: LSN
    private var relations: [UInt32: Relation] = [:]
    private var commitMillis: Int64 = 0
    private var skipping = false
    private var inTransaction = false
    /// Insert, update and delete messages of configured tables handled so far (not those of
    /// transactions delivered before `skipBefore`).
    private(set) var changes = 0

    init(settings: PgSourceSettings, primaryKeys: [TableName: [String]], topics: TopicSetup, skipBefore: LSN) {
        self.settings = settings
        self.primaryKeys = primaryKeys
        self.topics = topics
        self.skipBefore = skipBefore
    }

    mutating func handle(_ event: ReplicationEvent) throws(ConnectorError) -> Output {
        switch event.message {
        case .begin(let finalLSN, let commitTime, _):
            inTransaction = true
            skipping = finalLSN < skipBefore
            commitMillis = PgRecordHeaders.unixMillis(postgresMicros: commitTime)
            return .none
        case .commit(_, _, let endLSN, _):
            inTransaction = false
            if skipping {
                skipping = false
                return .none
            }
            return .commit(endLSN)
        case .relation(let r):
            let table = TableName(schema: r.namespace, table: r.name)
            let configured = settings.tables.contains(table) && table != settings.healthTable
            let pk = primaryKeys[table] ?? []
            let columns = r.columns.map { c in
                PgColumn(name: c.name, typeOID: c.typeOID, isKey: pk.isEmpty ? c.isKey : pk.contains(c.name))
            }
            relations[r.oid] = Relation(name: table.description, columns: r.columns, encoder: PgRowEncoder(columns: columns),
                                        topic: configured ? topics.topicName(for: table) : nil)
            return .none
        case .insert(_, let oid, let newTuple):
            guard !skipping, let rel = try relation(oid), let topic = rel.topic else { return .none }
            changes += 1
            let values = try texts(newTuple, rel, "insert")
            return .records([record(rel, topic, event.header.walStart, op: .create, values: values.texts, omit: values.unchanged)])
        case .update(_, let oid, let oldKey, let oldTuple, let newTuple):
            guard !skipping, let rel = try relation(oid), let topic = rel.topic else { return .none }
            changes += 1
            var values = try texts(newTuple, rel, "update")
            if values.unchanged.contains(true), let oldTuple {
                // REPLICA IDENTITY FULL: an unchanged TOASTed value is in the old row.
                let old = try texts(oldTuple, rel, "update (old row)")
                for i in values.unchanged.indices where values.unchanged[i] && !old.unchanged[i] {
                    values.texts[i] = old.texts[i]
                    values.unchanged[i] = false
                }
            }
            var keyValues = values.texts
            if let oldKey, values.unchanged.contains(true) {
                // A key column left unchanged is in the old key tuple.
                let old = try texts(oldKey, rel, "update (old key)")
                for i in keyValues.indices where values.unchanged[i] && rel.encoder.columns[i].isKey { keyValues[i] = old.texts[i] }
            }
            return .records([record(rel, topic, event.header.walStart, op: .update, values: values.texts,
                                    omit: values.unchanged, keyValues: keyValues)])
        case .delete(_, let oid, let oldKey, let oldTuple):
            if !skipping, settings.skipDelete, relations[oid]?.topic != nil { changes += 1 }
            guard !skipping, !settings.skipDelete, let rel = try relation(oid), let topic = rel.topic else { return .none }
            changes += 1
            let values: (texts: [ByteBuffer?], unchanged: [Bool])
            if let old = oldTuple ?? oldKey {
                values = try texts(old, rel, "delete")
            } else {
                values = (Array(repeating: nil, count: rel.columns.count), Array(repeating: false, count: rel.columns.count))
            }
            let delete = record(rel, topic, event.header.walStart, op: .delete, values: values.texts, omit: values.unchanged)
            if settings.tombstones {
                var tombstone = delete
                tombstone.value = nil
                return .records([delete, tombstone])
            }
            return .records([delete])
        case .truncate, .type, .origin, .message:
            return .none
        case .streamStart, .streamStop, .streamCommit, .streamAbort, .beginPrepare, .prepare, .commitPrepared,
             .rollbackPrepared, .streamPrepare:
            // Not asked for (no streaming, no two-phase).
            throw ConnectorError(.invalidData, "unexpected pgoutput message \(event.message) on slot \(settings.slot)")
        }
    }

    private func relation(_ oid: UInt32) throws(ConnectorError) -> Relation? {
        guard let r = relations[oid] else {
            throw ConnectorError(.invalidData, "pgoutput data for relation \(oid) before its Relation message (slot \(settings.slot))")
        }
        return r
    }

    private func texts(_ tuple: [TupleValue], _ rel: Relation, _ what: String) throws(ConnectorError)
        -> (texts: [ByteBuffer?], unchanged: [Bool]) {
        guard tuple.count == rel.columns.count else {
            throw ConnectorError(.invalidData, "\(what) on \(rel.name) has \(tuple.count) columns, its Relation message \(rel.columns.count)")
        }
        var texts = [ByteBuffer?](repeating: nil, count: tuple.count)
        var unchanged = [Bool](repeating: false, count: tuple.count)
        for (i, v) in tuple.enumerated() {
            switch v {
            case .null: break
            case .unchangedToast: unchanged[i] = true
            case .text(let b): texts[i] = b
            case .binary:
                throw ConnectorError(.invalidData, "\(what) on \(rel.name): column \(rel.columns[i].name) arrived in binary form")
            }
        }
        return (texts, unchanged)
    }

    private func record(_ rel: Relation, _ topic: String, _ lsn: LSN, op: PgRecordOperation, values: [ByteBuffer?],
                        omit: [Bool], keyValues: [ByteBuffer?]? = nil) -> PgSourceRecord {
        var unchangedNames: [String] = []
        for i in omit.indices where omit[i] { unchangedNames.append(rel.columns[i].name) }
        let headers = PgRecordHeaders.source(lsn: lsn, commitMillis: commitMillis, host: settings.url.host,
                                             port: settings.url.port, database: settings.url.database,
                                             relation: rel.name, op: op, unchanged: unchangedNames)
        return PgSourceRecord(topic: topic, key: rel.encoder.key(buffers: keyValues ?? values),
                              value: rel.encoder.value(buffers: values, omit: unchangedNames.isEmpty ? nil : omit),
                              headers: headers, timestamp: commitMillis)
    }
}
