import Foundation
import Logging
import PgWire
import PipeTestSupport
import Testing

/// The dev servers: `KP_PG15` / `KP_PG18` URLs. `KP_PG15_SOCKET` / `KP_PG18_SOCKET` (a socket
/// directory) switch to a unix-socket connection with the same user.
enum PgTestServer: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case pg15 = "KP_PG15"
    case pg18 = "KP_PG18"
    var testDescription: String { rawValue }

    func configuration(replication: Bool = false) -> PostgresConfiguration? {
        // PostgreSQL 18 sits behind a TLS front in the service scripts; these tests want the server
        // itself (plain TCP), which `KP_PG18_DIRECT` names.
        let direct = self == .pg18 ? TestEnv.value("KP_PG18_DIRECT") : nil
        guard let url = direct ?? TestEnv.require(rawValue, onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return nil }
        guard var c = try? PostgresConfiguration(url: url) else {
            Issue.record("\(rawValue) is not a valid URL")
            return nil
        }
        if let socket = TestEnv.value(rawValue + "_SOCKET") { c.unixSocketPath = socket }
        c.replication = replication
        c.sslMode = .disable
        return c
    }

    func connect(replication: Bool = false) async throws -> PostgresConnection? {
        guard let c = configuration(replication: replication) else { return nil }
        return try await PostgresConnection.connect(c, logger: Logger(label: "test"))
    }
}

extension PostgresConnection {
    func scalar(_ sql: String) async throws -> String? {
        try await simpleQuery(sql).first?.string(0)
    }
}

