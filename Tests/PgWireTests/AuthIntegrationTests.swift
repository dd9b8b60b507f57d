import PgWire
import PipeTestSupport
import Testing

/// Authentication against the dev servers over TCP (SCRAM-SHA-256 for postgres), and the roles
/// the service scripts create when `KP_PG_AUTH_USERS=1` (md5user, clearuser, trustuser, cdc).
@Suite struct AuthIntegrationTests {
    func tcp(_ server: PgTestServer) -> PostgresConfiguration? {
        guard let url = TestEnv.require(server.rawValue, onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              var c = try? PostgresConfiguration(url: url) else { return nil }
        c.sslMode = .prefer  // the dev servers answer 'N': plain TCP
        return c
    }

    @Test(arguments: PgTestServer.allCases)
    func scramOverTCP(_ server: PgTestServer) async throws {
        guard let c = tcp(server) else { return }
        let conn = try await PostgresConnection.connect(c)
        #expect(try await conn.scalar("SELECT current_user") == c.user)
        await conn.close()
    }

    @Test(arguments: PgTestServer.allCases)
    func wrongPasswordIsAClearError(_ server: PgTestServer) async throws {
        guard var c = tcp(server) else { return }
        c.password = "definitely-wrong-pw"
        let e = await #expect(throws: PostgresError.self) { _ = try await PostgresConnection.connect(c) }
        #expect(e?.sqlState == "28P01")
        #expect(e?.message?.contains("password authentication failed") == true)
        #expect(e.map { !"\($0)".contains("definitely-wrong-pw") } == true)
    }

    /// PostgreSQL 18 itself, without the TLS front the service scripts put before it: it answers 'N'.
    @Test func sslModeRequireAgainstAServerWithoutTLS() async throws {
        guard let url = TestEnv.require("KP_PG18_DIRECT", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return }
        var c = try PostgresConfiguration(url: url)
        c.sslMode = .require
        let e = await #expect(throws: PostgresError.self) { _ = try await PostgresConnection.connect(c) }
        #expect(e?.code == .tlsRequired)
    }

    /// Both clusters accept TLS (15 natively, 18 through its front): verify-full with the CA that
    /// signed their certificates works, by IP and by name; another CA is refused.
    @Test(arguments: PgTestServer.allCases)
    func verifyFullWithTheRightCA(_ server: PgTestServer) async throws {
        guard var c = tcp(server),
              let ca = TestEnv.require("KP_PG_CA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let otherCA = TestEnv.require("KP_TLS_OTHER_CA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) })
        else { return }
        c.sslMode = .verifyFull
        c.sslRootCert = ca
        for host in ["127.0.0.1", "localhost"] {
            c.host = host
            let conn = try await PostgresConnection.connect(c)
            #expect(try await conn.scalar("SELECT current_user") == c.user)
            await conn.close()
        }
        c.sslRootCert = otherCA
        await #expect(throws: (any Error).self) { _ = try await PostgresConnection.connect(c) }
    }

    @Test(arguments: [("md5user", "md5pass"), ("clearuser", "clearpass"), ("trustuser", nil), ("cdc", "cdcpass")] as [(String, String?)])
    func serviceRoles(_ user: String, _ password: String?) async throws {
        guard TestEnv.value("KP_PG_AUTH_USERS") == "1" else {
            if TestEnv.isCI { Issue.record("KP_PG_AUTH_USERS is not 1 under CI") } else { print("skipping: KP_PG_AUTH_USERS is not 1") }
            return
        }
        for server in PgTestServer.allCases {
            guard var c = tcp(server) else { return }
            c.user = user
            c.password = password
            let conn = try await PostgresConnection.connect(c)
            #expect(try await conn.scalar("SELECT current_user") == user)
            await conn.close()
        }
    }
}

@Suite struct PasswordMechanismTests {
    /// "md5" + hex(md5(hex(md5(password + user)) + salt)), checked against Python's hashlib.
    @Test func md5Answer() throws {
        let m = try #require(PostgresConnection.passwordMechanisms)
        #expect(m.md5Answer("alice", "secret", [1, 2, 3, 4]) == "md598a0412b9c31436fc53776e863350083")
    }
}
