public import PipeConfig
import Storage
import WireCore

/// How far pg.Snapshot got with one table, as saved in the state store under
/// `snapshot/{schema}.{table}` in the connector's namespace (SPEC §4).
///
/// The value is a small JSON object, readable with `kafka-pipe state`:
/// `{"status":"running","key":["id"],"after":["41999"],"rows":42000}` or
/// `{"status":"done","rows":1000000}`. `after` holds the text form of the primary-key values of
/// the last row whose record Kafka acknowledged; `rows` counts the records acknowledged so far.
/// It is written only after every record up to that row was acknowledged.
public struct SnapshotTableProgress: Sendable, Equatable {
    public enum Status: String, Sendable {
        case running, done
    }

    public var status: Status
    /// The primary-key columns the position is about (empty for a table without one).
    public var keyColumns: [String]
    /// The primary key of the last acknowledged row, in `keyColumns` order; nil before the first.
    public var after: [String]?
    /// Records acknowledged for this table so far.
    public var rows: Int64

    public init(status: Status, keyColumns: [String], after: [String]?, rows: Int64) {
        self.status = status
        self.keyColumns = keyColumns
        self.after = after
        self.rows = rows
    }

    /// The state-store key of `table`.
    public static func key(for table: TableName) -> String { "snapshot/\(table.schema).\(table.table)" }

    public var encoded: [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.beginObject()
        w.key("status")
        w.string(status.rawValue)
        if status == .running {
            w.key("key")
            w.beginArray()
            for c in keyColumns { w.string(c) }
            w.endArray()
            if let after {
                w.key("after")
                w.beginArray()
                for v in after { w.string(v) }
                w.endArray()
            }
        }
        w.key("rows")
        w.int(rows)
        w.endObject()
        return w.bytes
    }

    /// Reads a saved value; nil when it is not one this version wrote (the table then starts over).
    public init?(decoding bytes: [UInt8]) {
        guard let json = try? JSONValue.parse(bytes, limits: .init(maxDepth: 4, maxBytes: 1 << 20)),
              case .string(let s)? = json["status"], let status = Status(rawValue: s),
              case .number(let n)? = json["rows"], let rows = Int64(n), rows >= 0 else { return nil }
        func strings(_ v: JSONValue?) -> [String]? {
            guard case .array(let items)? = v else { return nil }
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { return nil }
                out.append(s)
            }
            return out
        }
        self.status = status
        self.rows = rows
        self.keyColumns = strings(json["key"]) ?? []
        self.after = strings(json["after"])
        if let after, after.count != keyColumns.count { return nil }
    }
}

extension StateNamespace {
    /// The saved progress of `table`, nil when there is none (or it is unreadable).
    func snapshotProgress(_ table: TableName) -> SnapshotTableProgress? {
        get(SnapshotTableProgress.key(for: table)).flatMap(SnapshotTableProgress.init(decoding:))
    }
}
