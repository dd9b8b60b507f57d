import PgWire
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
    /// The dev servers run without TLS: `prefer` falls back to plain TCP, `require` is a clear error.
    @Test(arguments: PgTestServer.allCases)
    func requireAgainstAServerWithoutTLS(_ server: PgTestServer) async throws {
        guard var c = server.configuration() else { return }
        c.unixSocketPath = nil
        c.sslMode = .require
        let e = await #expect(throws: PostgresError.self) { _ = try await PostgresConnection.connect(c) }
        #expect(e?.code == .tlsRequired)
        #expect(e.map { !"\($0)".contains(c.password ?? "\u{0}") } == true)
    }
}
