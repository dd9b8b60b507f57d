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

/// A throwaway PostgreSQL cluster of our own (initdb in a temporary folder, trust auth, a free
/// port), for tests that restart the server: restarting the shared ones would break the tests
/// running beside them.
final class PrivateCluster: @unchecked Sendable {
    let bin: String, dir: String, port: Int

    init(bin: String) async throws {
        self.bin = bin
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp_pgpriv")).path
        let free = try await Run.shell("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'")
        port = Int(free.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let script = """
        set -e
        mkdir -p '\(dir)' && chown postgres '\(dir)' && chmod 700 '\(dir)'
        runuser -u postgres -- '\(bin)/initdb' -D '\(dir)' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >> '\(dir)/postgresql.conf' <<CONF
        listen_addresses = '127.0.0.1'
        port = \(port)
        unix_socket_directories = '\(dir)'
        wal_level = logical
        max_replication_slots = 4
        max_wal_senders = 4
        fsync = off
        CONF
        runuser -u postgres -- '\(bin)/pg_ctl' -D '\(dir)' -l '\(dir)/server.log' -w -t 60 start >/dev/null
        """
        let r = try await Run.shell(script, timeout: 120)
        guard r.status == 0 else { throw PostgresError(code: .connectFailed, context: "private cluster: \(r.stderr)") }
    }

    func configuration(replication: Bool = false) -> PostgresConfiguration {
        var c = PostgresConfiguration(host: "127.0.0.1", port: port, user: "postgres", password: nil, database: "postgres")
        c.sslMode = .disable
        c.replication = replication
        return c
    }

    func connect(replication: Bool = false) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration(replication: replication), logger: Logger(label: "test"))
    }

    func restart() async throws -> ProcessResult {
        try await Run.program("/usr/sbin/runuser", ["-u", "postgres", "--", bin + "/pg_ctl", "-D", dir, "restart", "-m", "fast", "-w"],
                              timeout: 120)
    }

    func stop() async {
        _ = try? await Run.program("/usr/sbin/runuser", ["-u", "postgres", "--", bin + "/pg_ctl", "-D", dir, "stop", "-m", "immediate"],
                                   timeout: 60)
        try? FileManager.default.removeItem(atPath: dir)
    }
}
