public import NIOCore
public import PgWire

// Record key, value and headers of SPEC §3, shared by pg.Source (pgoutput tuples) and
// pg.Snapshot (SELECT rows in text format): both hand a row over as text values in the table's
// column order, plus the column descriptions.

/// A table column as the record encoding needs it.
public struct PgColumn: Sendable, Hashable {
    public var name: String
    public var typeOID: UInt32
    /// Part of the record key: a primary-key column, or, for a table without a primary key, a
    /// replica-identity column.
    public var isKey: Bool

    public init(name: String, typeOID: UInt32, isKey: Bool) {
        self.name = name
        self.typeOID = typeOID
        self.isKey = isKey
    }
}

/// Encodes rows of one table layout into record keys and values (SPEC §3):
/// - key: compact JSON object of the key columns, keys sorted (`{}` when there are none);
/// - value: flat JSON object of the columns, keys sorted, each value converted by
///   `PostgresJSON.fragment(typeOID:text:)`.
///
/// Keys sort by the bytes of their UTF-8 names (as Go's `encoding/json` sorts map keys). Build
/// one encoder per table layout (per Relation message, or per SELECT) and reuse it for every row.
public struct PgRowEncoder: Sendable {
    public let columns: [PgColumn]
    /// `"name":` per column, JSON-escaped once.
    private let namePrefixes: [[UInt8]]
    /// Column indexes in key order (sorted names).
    private let valueOrder: [Int]
    /// Key-column indexes in key order.
    private let keyOrder: [Int]

    public init(columns: [PgColumn]) {
        self.columns = columns
        namePrefixes = columns.map { Array((PostgresJSON.quoted($0.name) + ":").utf8) }
        valueOrder = columns.indices.sorted { columns[$0].name.utf8.lexicographicallyPrecedes(columns[$1].name.utf8) }
        keyOrder = valueOrder.filter { columns[$0].isKey }
    }

    /// The layout of a SELECT result (text format), with `keyColumns` (names) as the key.
    public init(fields: [BackendMessage.FieldDescription], keyColumns: Set<String>) {
        self.init(columns: fields.map { PgColumn(name: $0.name, typeOID: $0.dataTypeOID, isKey: keyColumns.contains($0.name)) })
    }

    /// Whether the layout has key columns (a record key other than `{}`).
    public var hasKey: Bool { !keyOrder.isEmpty }

    /// The record key of a row: its key columns, `values` in column order (nil: NULL).
    public func key(_ values: [String?]) -> [UInt8] {
        encode(values, order: keyOrder, omit: nil)
    }

    /// The record value of a row, `values` in column order (nil: NULL). Columns whose `omit`
    /// entry is true are left out (unchanged TOASTed values, SPEC §3).
    public func value(_ values: [String?], omit: [Bool]? = nil) -> [UInt8] {
        encode(values, order: valueOrder, omit: omit)
    }

    /// The record key of a row whose text values (`values`, column order, nil: NULL) are still
    /// the bytes PostgreSQL sent: the same bytes as `key(_:)` of their Strings.
    public func key(buffers values: [ByteBuffer?]) -> [UInt8] {
        encode(buffers: values, order: keyOrder, omit: nil)
    }

    /// The record value of a row from the bytes PostgreSQL sent (see `key(buffers:)`).
    public func value(buffers values: [ByteBuffer?], omit: [Bool]? = nil) -> [UInt8] {
        encode(buffers: values, order: valueOrder, omit: omit)
    }

    /// Appends the record key of a row (see `key(buffers:)`) to `out`.
    public func appendKey(buffers values: [ByteBuffer?], to out: inout [UInt8]) {
        append(buffers: values, order: keyOrder, omit: nil, to: &out)
    }

    /// Appends the record value of a row (see `value(buffers:)`) to `out`.
    public func appendValue(buffers values: [ByteBuffer?], omit: [Bool]? = nil, to out: inout [UInt8]) {
        append(buffers: values, order: valueOrder, omit: omit, to: &out)
    }

    private func encode(buffers values: [ByteBuffer?], order: [Int], omit: [Bool]?) -> [UInt8] {
        var out: [UInt8] = []
        var size = 2 + order.count * 4
        for i in order where i < values.count { size += namePrefixes[i].count + (values[i]?.readableBytes ?? 0) }
        out.reserveCapacity(size)
        append(buffers: values, order: order, omit: omit, to: &out)
        return out
    }

    /// Appends the record key of a row read in place (`DataRow.withColumns`) to `out`: the same
    /// bytes as `appendKey(buffers:to:)`.
    public func appendKey(columns values: PostgresColumns, to out: inout [UInt8]) {
        append(order: keyOrder, omit: nil, to: &out) { appendColumn($0, of: values, to: &$1) }
    }

    /// Appends the record value of a row read in place to `out` (see `appendKey(columns:to:)`).
    public func appendValue(columns values: PostgresColumns, to out: inout [UInt8]) {
        append(order: valueOrder, omit: nil, to: &out) { appendColumn($0, of: values, to: &$1) }
    }

    /// Column `i`'s JSON fragment from a row read in place.
    @inline(__always)
    private func appendColumn(_ i: Int, of values: PostgresColumns, to out: inout [UInt8]) {
        if let b = values[i] {
            PostgresJSON.appendFragment(typeOID: columns[i].typeOID, bytes: b, to: &out)
        } else {
            PostgresJSON.appendFragment(typeOID: columns[i].typeOID, text: nil, to: &out)
        }
    }

    private func append(buffers values: [ByteBuffer?], order: [Int], omit: [Bool]?, to out: inout [UInt8]) {
        append(order: order, omit: omit, to: &out) { i, out in
            PostgresJSON.appendFragment(typeOID: columns[i].typeOID, text: i < values.count ? values[i] : nil, to: &out)
        }
    }

    /// `{"name":fragment,...}` over the columns of `order`, `fragment` writing column i's value.
    @inline(__always)
    private func append(order: [Int], omit: [Bool]?, to out: inout [UInt8], fragment: (Int, inout [UInt8]) -> Void) {
        out.append(UInt8(ascii: "{"))
        var first = true
        for i in order {
            if let omit, i < omit.count, omit[i] { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: namePrefixes[i])
            fragment(i, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private func encode(_ values: [String?], order: [Int], omit: [Bool]?) -> [UInt8] {
        encode(buffers: values.map { $0.map { ByteBuffer(string: $0) } }, order: order, omit: omit)
    }
}

/// The operation of a record (`op` header).
public enum PgRecordOperation: String, Sendable {
    case create = "c"
    case update = "u"
    case delete = "d"
    /// A snapshot read (pg.Snapshot).
    case read = "r"
}

/// Header values of SPEC §3 (pg.Source) and §4 (pg.Snapshot).
public enum PgRecordHeaders {
    /// The `version` header: the version of this record format.
    public static let formatVersion = "1"

    /// An LSN as PostgreSQL writes it: `0/1A2B3C8` (uppercase hex halves, no leading zeros).
    public static func lsnText(_ lsn: LSN) -> String { lsn.description }

    /// Unix milliseconds of a PostgreSQL replication timestamp (µs since 2000-01-01 UTC).
    public static func unixMillis(postgresMicros: Int64) -> Int64 {
        PostgresTime.unixMillis(postgresMicros)
    }

    /// pg.Source headers, in the SPEC's order: `version`, `lsn`, `ts_ms`, `host`, `port`,
    /// `database`, `relation`, `op`, and `unchanged` only when `unchanged` is not empty.
    public static func source(lsn: LSN, commitMillis: Int64, host: String, port: Int, database: String,
                              relation: String, op: PgRecordOperation, unchanged: [String] = []) -> [(String, [UInt8]?)] {
        var headers: [(String, [UInt8]?)] = [
            ("version", Array(formatVersion.utf8)),
            ("lsn", Array(lsnText(lsn).utf8)),
            ("ts_ms", Array(String(commitMillis).utf8)),
            ("host", Array(host.utf8)),
            ("port", Array(String(port).utf8)),
            ("database", Array(database.utf8)),
            ("relation", Array(relation.utf8)),
            ("op", Array(op.rawValue.utf8)),
        ]
        if !unchanged.isEmpty { headers.append(("unchanged", Array(unchanged.joined(separator: ",").utf8))) }
        return headers
    }

    /// pg.Snapshot headers, in the SPEC's order: `version`, `ts_ms`, `host`, `port`, `database`,
    /// `table`, `op` (= `r`), `total`.
    public static func snapshot(millis: Int64, host: String, port: Int, database: String, table: String,
                                total: Int64) -> [(String, [UInt8]?)] {
        [
            ("version", Array(formatVersion.utf8)),
            ("ts_ms", Array(String(millis).utf8)),
            ("host", Array(host.utf8)),
            ("port", Array(String(port).utf8)),
            ("database", Array(database.utf8)),
            ("table", Array(table.utf8)),
            ("op", Array(PgRecordOperation.read.rawValue.utf8)),
            ("total", Array(String(total).utf8)),
        ]
    }
}
