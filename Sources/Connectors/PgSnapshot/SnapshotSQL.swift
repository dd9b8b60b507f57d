import PgWire
import PipeConfig

/// The SQL pg.Snapshot sends (SPEC §4). The table's rows under `pg:condition` are the subquery
/// `SELECT * FROM schema.table {condition}`; keyset pagination wraps it, so a condition may hold
/// any clause that can follow `FROM table` (`WHERE`, `TABLESAMPLE`, a join alias...). PostgreSQL
/// pulls such a subquery up into the outer query, so each chunk is an index range scan on the
/// primary key.
struct SnapshotSQL: Sendable {
    let table: TableName
    let condition: String
    /// Quoted primary-key column names, in key order (empty: no primary key).
    let keyColumns: [String]

    init(table: TableName, condition: String, keyColumns: [String]) {
        self.table = table
        self.condition = Self.trimmed(condition)
        self.keyColumns = keyColumns.map(quoteIdentifier)
    }

    var qualifiedName: String { quoteIdentifier(table.schema) + "." + quoteIdentifier(table.table) }

    /// The table's rows under the condition, as a derived table named `kp_rows`.
    var rows: String {
        // The newline ends a `--` comment the condition may end with.
        "(SELECT * FROM \(qualifiedName)\(condition.isEmpty ? "" : " " + condition)\n) AS kp_rows"
    }

    /// The row count in the current snapshot.
    var count: String { "SELECT count(*) FROM \(rows)" }

    /// The next chunk: `limit` rows in key order after the key `$1...$n` (or from the start).
    func chunk(afterKey: Bool, limit: Int) -> String {
        let list = keyColumns.joined(separator: ", ")
        var sql = "SELECT * FROM \(rows)"
        if afterKey {
            let params = (1...keyColumns.count).map { "$\($0)" }.joined(separator: ", ")
            sql += " WHERE (\(list)) > (\(params))"
        }
        return sql + " ORDER BY \(list) LIMIT \(limit)"
    }

    /// A table without a primary key: one cursor over every row, in storage order.
    static let cursorName = "kp_snapshot_rows"
    var declareCursor: String { "DECLARE \(Self.cursorName) NO SCROLL CURSOR FOR SELECT * FROM \(rows)" }
    func fetch(_ limit: Int) -> String { "FETCH FORWARD \(limit) FROM \(Self.cursorName)" }
    var closeCursor: String { "CLOSE \(Self.cursorName)" }

    /// The table's kind and replica identity (`d`, `n`, `f`, `i`); no row when there is no such
    /// table (or view) visible to the user. Parameters: schema, table.
    static let relation = """
        SELECT c.relkind, c.relreplident FROM pg_catalog.pg_class c \
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        """

    /// The columns of the primary key (`indisprimary`) or of the replica-identity index
    /// (`indisreplident`), in index order. Parameters: schema, table.
    static func indexColumns(primary: Bool) -> String {
        let flag = primary ? "i.indisprimary" : "i.indisreplident"
        return """
            SELECT a.attname FROM pg_catalog.pg_index i \
            JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
            WHERE n.nspname = $1 AND c.relname = $2 AND \(flag) \
            ORDER BY array_position(i.indkey::int2[], a.attnum)
            """
    }

    private static func trimmed(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
