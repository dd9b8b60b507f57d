// A ClickHouse table as ch.Sink fills it: its insertable columns from `system.columns`, and the
// turning of a batch of records into insert blocks (SPEC §5).
public import ClickHouseNative
public import KafkaWire
internal import PipeConfig
internal import WireCore

/// A column of the destination table, as a `beforeInsert` hook sees it.
public struct ChSinkColumn: Sendable, Hashable {
    public var name: String
    public var type: ClickHouseType
    /// The column has a `DEFAULT` expression (an absent value takes it, not the type's zero).
    public var hasDefaultExpression: Bool

    public init(name: String, type: ClickHouseType, hasDefaultExpression: Bool) {
        self.name = name
        self.type = type
        self.hasDefaultExpression = hasDefaultExpression
    }
}

/// One row a `beforeInsert` hook returns: values by column name (matched case-insensitively);
/// a column left out takes its default.
public struct ChSinkRow: Sendable {
    public var values: [String: ClickHouseValue]
    public init(_ values: [String: ClickHouseValue] = [:]) { self.values = values }
}

/// The hook of SPEC §5 that replaces the JSON/Avro mapping: the records of one partition's batch
/// (in offset order) and the table's columns in, rows out. It must be deterministic: after a
/// crash the same records are turned into rows again and must give the identical block, or the
/// server's deduplication cannot recognise the retry.
public typealias ChBeforeInsert = @Sendable (_ table: String, _ columns: [ChSinkColumn], _ records: [KafkaRecord]) throws -> [ChSinkRow]

struct ChTableSchema: Sendable {
    /// As written in the insert (`db.table`, quoted).
    var qualifiedName: String
    /// For messages: `db.table`.
    var displayName: String
    var columns: [ChSinkColumn]
    /// Lowercased and exact names → column index.
    var index: [String: Int]
    /// Columns that cannot be inserted (MATERIALIZED, ALIAS), lowercased: fields naming them are ignored.
    var computed: Set<String>

    init(database: String, table: String, columns: [ChSinkColumn], computed: Set<String>) {
        self.qualifiedName = "`" + database.replacingOccurrences("`", "\\`") + "`.`" + table.replacingOccurrences("`", "\\`") + "`"
        self.displayName = database + "." + table
        self.columns = columns
        var index: [String: Int] = [:]
        for (i, c) in columns.enumerated() { index[c.name.lowercased()] = index[c.name.lowercased()] ?? i }
        for (i, c) in columns.enumerated() { index[c.name] = i }
        self.index = index
        self.computed = computed
    }

    func column(named name: String) -> Int? {
        if let i = index[name] { return i }
        return index[name.lowercased()]
    }

    /// Splits `table` (`db.table` or `table`) and reads its columns.
    static func load(_ table: String, defaultDatabase: String, pool: ClickHouseConnectionPool) async throws -> ChTableSchema {
        var database = defaultDatabase
        var name = table
        if let dot = table.firstIndex(of: "."), !table.hasPrefix("`") {
            database = String(table[..<dot])
            name = String(table[table.index(after: dot)...])
        }
        let sql = "SELECT name, type, default_kind FROM system.columns WHERE database = '\(sqlString(database))' AND table = '\(sqlString(name))'"
        let result: ClickHouseResult
        do {
            result = try await pool.withConnection { try await $0.query(sql) }
        } catch {
            throw ConnectorError(.clickHouse, "ch.Sink: reading the columns of \(database).\(name)", cause: error)
        }
        var columns: [ChSinkColumn] = []
        var computed: Set<String> = []
        for row in result.rows {
            guard row.count == 3, case .bytes(let n) = row[0], case .bytes(let t) = row[1], case .bytes(let k) = row[2] else { continue }
            let colName = String(decoding: n, as: UTF8.self)
            let typeName = String(decoding: t, as: UTF8.self)
            let kind = String(decoding: k, as: UTF8.self)
            if kind == "MATERIALIZED" || kind == "ALIAS" {
                computed.insert(colName.lowercased())
                continue
            }
            let type: ClickHouseType
            do {
                type = try ClickHouseType.parse(typeName)
            } catch {
                if kind == "DEFAULT" {
                    // Never sent: the server fills it.
                    computed.insert(colName.lowercased())
                    continue
                }
                throw ConnectorError(.configuration,
                                     "ch.Sink: column \(database).\(name).\(colName) has type \(typeName), which ch.Sink cannot write yet")
            }
            columns.append(ChSinkColumn(name: colName, type: type, hasDefaultExpression: kind == "DEFAULT"))
        }
        guard !columns.isEmpty else {
            throw ConnectorError(.configuration, "ch.Sink: table \(database).\(name) does not exist in ClickHouse or has no columns to insert (check `routes`)")
        }
        return ChTableSchema(database: database, table: name, columns: columns, computed: computed)
    }

    static func sqlString(_ s: String) -> String {
        s.replacingOccurrences("\\", "\\\\").replacingOccurrences("'", "\\'")
    }
}

/// What a batch becomes: one or more inserts (more only when a column with a DEFAULT expression
/// is present in some rows and absent in others), each columns of equal length.
struct ChInsertBlock: Sendable {
    var columns: [ClickHouseColumn]
    var rowCount: Int
}

/// Accumulates converted rows for one batch.
struct ChRowAccumulator {
    let schema: ChTableSchema
    /// Per column, per row; absent entries hold the type's default.
    private(set) var values: [[ClickHouseValue]]
    /// Per column: some row had the column.
    private(set) var presentAnywhere: [Bool]
    /// Per row, for the columns with DEFAULT expressions: which were present.
    private var defaultExprPresence: [[Bool]] = []
    private let defaultExprColumns: [Int]
    private(set) var rowCount = 0

    init(schema: ChTableSchema, capacity: Int) {
        self.schema = schema
        values = schema.columns.map { _ in
            var a: [ClickHouseValue] = []
            a.reserveCapacity(capacity)
            return a
        }
        presentAnywhere = Array(repeating: false, count: schema.columns.count)
        defaultExprColumns = schema.columns.indices.filter { schema.columns[$0].hasDefaultExpression }
    }

    /// Adds a row: `row[i]` the value of column i, nil when absent.
    mutating func add(_ row: [ClickHouseValue?]) {
        for i in 0..<values.count {
            if let v = row[i] {
                values[i].append(v)
                presentAnywhere[i] = true
            } else {
                values[i].append(schema.columns[i].type.defaultValue)
            }
        }
        if !defaultExprColumns.isEmpty { defaultExprPresence.append(defaultExprColumns.map { row[$0] != nil }) }
        rowCount += 1
    }

    /// The inserts, deterministic for the same rows.
    func blocks() -> [ChInsertBlock] {
        guard rowCount > 0 else { return [] }
        // DEFAULT-expression columns present in some rows but not all split the rows into groups
        // by which of them they have; otherwise one block.
        let partial = defaultExprColumns.indices.filter { k in
            presentAnywhere[defaultExprColumns[k]] && defaultExprPresence.contains { !$0[k] }
        }
        if partial.isEmpty {
            let cols = values.indices.filter { presentAnywhere[$0] }
            return [ChInsertBlock(columns: cols.map { ClickHouseColumn(name: schema.columns[$0].name, type: schema.columns[$0].type,
                                                                       values: values[$0]) }, rowCount: rowCount)]
        }
        var groups: [[Bool]: [Int]] = [:]
        var order: [[Bool]] = []
        for r in 0..<rowCount {
            let key = partial.map { defaultExprPresence[r][$0] }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(r)
        }
        let partialColumns = Set(partial.map { defaultExprColumns[$0] })
        return order.map { key in
            let rows = groups[key]!
            let absent = Set(zip(partial, key).filter { !$0.1 }.map { defaultExprColumns[$0.0] })
            let cols = values.indices.filter { presentAnywhere[$0] && !(partialColumns.contains($0) && absent.contains($0)) }
            return ChInsertBlock(columns: cols.map { c in
                ClickHouseColumn(name: schema.columns[c].name, type: schema.columns[c].type, values: rows.map { values[c][$0] })
            }, rowCount: rows.count)
        }
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String { replacing(a, with: b) }
}
