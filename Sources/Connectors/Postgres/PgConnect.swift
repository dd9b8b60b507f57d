public import PgWire
public import PipeConfig

/// Connecting to PostgreSQL from a `pg:url` (shared by pg.Source and pg.Snapshot).
public enum PgConnect {
    /// The session settings SPEC §3's value encoding assumes.
    public static let sessionOptions: [String: String] = [
        "DateStyle": "ISO", "IntervalStyle": "iso_8601", "TimeZone": "UTC", "extra_float_digits": "3",
    ]

    /// The PgWire configuration of `url`, with the session settings above; `replication` opens a
    /// logical replication connection (`replication=database`).
    public static func configuration(_ url: PostgresURL, replication: Bool = false) -> PostgresConfiguration {
        var options = sessionOptions
        for p in url.parameters { options[p.name] = p.value }
        return PostgresConfiguration(
            host: url.host, port: url.port, user: url.user, password: url.password, database: url.database,
            sslMode: PostgresConfiguration.SSLMode(rawValue: url.sslMode.rawValue) ?? .prefer,
            sslRootCert: url.sslRootCert, replication: replication, applicationName: url.applicationName,
            connectTimeout: url.connectTimeout, options: options)
    }
}

/// Catalog questions the PostgreSQL connectors ask.
public enum PgCatalog {
    /// The primary-key column names of `table`, in key order; empty when it has none.
    /// Throws when the table does not exist.
    public static func primaryKeyColumns(of table: TableName, on connection: PostgresConnection) async throws -> [String] {
        let regclass = quoteIdentifier(table.schema) + "." + quoteIdentifier(table.table)
        let rows = try await connection.query(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                + "WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
            [.text(regclass)])
        return rows.compactMap { $0.string(0) }
    }

    /// Whether `table` exists (visible to the user).
    public static func tableExists(_ table: TableName, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p')",
            [.text(table.schema), .text(table.table)])
        return !rows.isEmpty
    }
}
