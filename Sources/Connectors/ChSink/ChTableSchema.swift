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
/// is present in some rows and absent in others), each of encoded columns of equal length.
struct ChInsertBlock: Sendable {
    var block: ClickHouseEncodedBlock
    var columns: [ClickHouseEncodedColumn] { block.columns }
    var rowCount: Int { block.rowCount }
}

/// One field of a row read by the fast JSON path: absent, a value, or the bytes `start..<end` of
/// the record (a String column's text as it is).
enum ChCell {
    case absent
    case value(ClickHouseValue)
    case text(Int, Int)
    /// An array of plain strings: `ranges[start..<start+count]` of the fast reader's scratch.
    case texts(start: Int, count: Int)
}

/// Accumulates converted rows for one batch, written straight into native column buffers.
/// Rows are grouped by which DEFAULT-expression columns they carry (one group when the table has
/// none); a group's block leaves out the DEFAULT-expression columns its rows lack, and every
/// block leaves out the columns no row of the batch had.
struct ChRowAccumulator {
    let schema: ChTableSchema
    private let capacity: Int
    /// Per column: some row had the column.
    private(set) var presentAnywhere: [Bool]
    private let defaultExprColumns: [Int]
    private var groups: [Group] = []
    private var groupIndex: [[Bool]: Int] = [:]
    private(set) var rowCount = 0
    /// A value did not fit its column (a hook's row): the batch cannot be encoded.
    private var broken: (any Error)?

    struct Group {
        let key: [Bool]
        var builders: [ClickHouseColumnBuilder]
        init(schema: ChTableSchema, key: [Bool], capacity: Int) {
            self.key = key
            builders = schema.columns.map { ClickHouseColumnBuilder(name: $0.name, type: $0.type, reservingRows: capacity) }
        }
    }

    init(schema: ChTableSchema, capacity: Int) {
        self.schema = schema
        self.capacity = capacity
        presentAnywhere = Array(repeating: false, count: schema.columns.count)
        defaultExprColumns = schema.columns.indices.filter { schema.columns[$0].hasDefaultExpression }
    }

    /// The index of the row's group in `groups`.
    private mutating func group(_ present: (Int) -> Bool) -> Int {
        if defaultExprColumns.isEmpty {
            if groups.isEmpty { groups.append(Group(schema: schema, key: [], capacity: capacity)) }
            return 0
        }
        let key = defaultExprColumns.map(present)
        if let g = groupIndex[key] { return g }
        groupIndex[key] = groups.count
        groups.append(Group(schema: schema, key: key, capacity: groups.isEmpty ? capacity : 16))
        return groups.count - 1
    }

    /// Adds a row: `row[i]` the value of column i, nil when absent.
    mutating func add(_ row: [ClickHouseValue?]) {
        guard broken == nil else { return }
        let g = group { row[$0] != nil }
        do {
            for i in 0..<row.count {
                if let v = row[i] {
                    try groups[g].builders[i].append(v)
                    presentAnywhere[i] = true
                } else {
                    groups[g].builders[i].appendDefault()
                }
            }
        } catch {
            broken = error
        }
        rowCount += 1
    }

    /// Adds a row read by the fast path from the record bytes `p` (`ranges`: the reader's scratch
    /// of string ranges for `.texts` cells).
    mutating func add(_ cells: [ChCell], _ p: UnsafeRawBufferPointer, ranges: [(Int, Int)] = []) {
        guard broken == nil else { return }
        let g = group { if case .absent = cells[$0] { return false } else { return true } }
        do {
            for i in 0..<cells.count {
                switch cells[i] {
                case .absent:
                    groups[g].builders[i].appendDefault()
                case .value(let v):
                    try groups[g].builders[i].append(v)
                    presentAnywhere[i] = true
                case .text(let s, let e):
                    try groups[g].builders[i].append(bytes: UnsafeRawBufferPointer(rebasing: p[s..<e]))
                    presentAnywhere[i] = true
                case .texts(let start, let count):
                    try groups[g].builders[i].appendArray(count: count) { k in
                        let r = ranges[start + k]
                        return UnsafeRawBufferPointer(rebasing: p[r.0..<r.1])
                    }
                    presentAnywhere[i] = true
                }
            }
        } catch {
            broken = error
        }
        rowCount += 1
    }

    /// The inserts, deterministic for the same rows.
    func blocks() throws -> [ChInsertBlock] {
        if let broken { throw broken }
        guard rowCount > 0 else { return [] }
        return try groups.map { g in
            var columns: [ClickHouseEncodedColumn] = []
            for c in schema.columns.indices {
                let include: Bool
                if let k = defaultExprColumns.firstIndex(of: c) {
                    include = g.key[k]
                } else {
                    include = presentAnywhere[c]
                }
                if include { columns.append(try g.builders[c].finish()) }
            }
            if columns.isEmpty {
                // Rows with none of the table's fields are rows of defaults: send one column of them.
                let c = schema.columns.indices.first { !schema.columns[$0].hasDefaultExpression } ?? 0
                columns.append(try g.builders[c].finish())
            }
            return ChInsertBlock(block: try ClickHouseEncodedBlock(columns: columns))
        }
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String { replacing(a, with: b) }
}
