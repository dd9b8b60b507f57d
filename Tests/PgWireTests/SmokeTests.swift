import PgWire
import PipeAuth
import PipeTestSupport
import Testing

@Suite struct SmokeTests {
    @Test(arguments: PgTestServer.allCases)
    func connectAndQuery(_ server: PgTestServer) async throws {
        guard let c = try await server.connect() else { return }
        defer { Task { await c.close() } }
        let rows = try await c.simpleQuery("SELECT 1 AS one, 'x' AS two; SELECT NULL::text")
        #expect(rows.count == 2)
        #expect(rows[0].string("one") == "1")
        #expect(rows[0].string("two") == "x")
        #expect(rows[1].string(0) == nil)
        let r2 = try await c.query("SELECT $1::int8 + 1, $2::text", [.int(41), .text("hé")])
        #expect(r2.first?.string(0) == "42")
        #expect(r2.first?.string(1) == "hé")
    }
}

@Suite struct SSLModeTests {
    /// Both clusters offer TLS: `require` (encryption without verification) connects over TCP.
    /// The refusal of `require` by a server without TLS is AuthIntegrationTests' (KP_PG18_DIRECT).
    @Test(arguments: PgTestServer.allCases)
    func requireConnectsToAServerWithTLS(_ server: PgTestServer) async throws {
        guard let url = TestEnv.require(server.rawValue, onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return }
        var c = try PostgresConfiguration(url: url)
        c.sslMode = .require
        let conn = try await PostgresConnection.connect(c)
        // PostgreSQL 15 terminates TLS itself; 18's front does it, so the server sees plain TCP.
        if server == .pg15 { #expect(try await conn.scalar("SHOW ssl") == "on") }
        #expect(try await conn.scalar("SELECT 1") == "1")
        await conn.close()
    }
}

/// Messages split across socket reads at every kind of boundary (inside the 5-byte header, inside
/// the body, values of several MiB spanning many reads, thousands of small rows per read) come
/// out whole and in order, over TLS and plain TCP.
@Suite struct MessageFramingTests {
    @Test(arguments: PgTestServer.allCases, [PostgresConfiguration.SSLMode.disable, .require])
    func rowsOfEverySizeArriveWhole(_ server: PgTestServer, _ sslMode: PostgresConfiguration.SSLMode) async throws {
        guard let url = TestEnv.require(server.rawValue, onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return }
        var configuration = try PostgresConfiguration(url: url)
        configuration.sslMode = sslMode
        let c = try await PostgresConnection.connect(configuration)
        // Sizes from 1 byte to 3 MiB, in an order that puts boundaries everywhere.
        let sql = """
        SELECT g, repeat(md5(g::text), CASE WHEN g % 97 = 0 THEN 100000 WHEN g % 13 = 0 THEN 500 ELSE g % 7 END)
        FROM generate_series(1, 3000) g
        """
        var seen = 0
        try await c.query(sql, []) { row in
            seen += 1
            let g = try #require(row.string(0).flatMap { Int($0) })
            #expect(g == seen)
            let value = row.string(1) ?? ""
            let times = g % 97 == 0 ? 100_000 : g % 13 == 0 ? 500 : g % 7
            #expect(value.utf8.count == 32 * times, "row \(g)")
            let md5 = Hex.encode(Digest.md5.hash(Array(String(g).utf8)))
            #expect(value == String(repeating: md5, count: times), "row \(g)")
        }
        #expect(seen == 3000)
        await c.close()
    }
}
