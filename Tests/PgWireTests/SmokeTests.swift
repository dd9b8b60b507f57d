import PgWire
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
