import Foundation
import NIOCore
import PgWire
import PipeTestSupport
import Testing

/// Logical replication against the real servers: every pgoutput message type, replica identities,
/// TOAST, streaming, error cases.
@Suite(.serialized) struct ReplicationIntegrationTests {
    struct Fixture {
        let sql: PostgresConnection
        let repl: PostgresConnection
        let table: String
        let publication: String
        let slot: String
        let start: LSN

        func close() async {
            await repl.close()
            _ = try? await sql.simpleQuery("DROP PUBLICATION IF EXISTS \(publication); DROP TABLE IF EXISTS \(table) CASCADE")
            await sql.close()
        }
    }

    /// A table, a publication on it and a temporary slot on a replication connection.
    static func fixture(_ server: PgTestServer, columns: String = "id int PRIMARY KEY, name text",
                        identity: String? = nil) async throws -> Fixture? {
        guard let sql = try await server.connect(), let repl = try await server.connect(replication: true) else { return nil }
        let table = TestEnv.unique("pgw_t")
        let publication = TestEnv.unique("pgw_pub")
        let slot = TestEnv.unique("pgw_slot")
        try await sql.simpleQuery("CREATE TABLE \(table) (\(columns)); CREATE PUBLICATION \(publication) FOR TABLE \(table)")
        if let identity { try await sql.simpleQuery("ALTER TABLE \(table) REPLICA IDENTITY \(identity)") }
        let info = try await repl.createReplicationSlot(slot, temporary: true)
        #expect(info.slotName == slot)
        #expect(info.outputPlugin == "pgoutput")
        return Fixture(sql: sql, repl: repl, table: table, publication: publication, slot: slot, start: info.consistentPoint)
    }

    /// Reads events until `count` commits were seen (or the stream ends).
    static func collect(_ stream: ReplicationStream, commits: Int, on connection: PostgresConnection,
                        timeout: Duration = .seconds(60),
                        until done: ([ReplicationEvent]) -> Bool = { _ in false }) async throws -> [ReplicationEvent] {
        // A test must not hang: closing the connection ends the iteration with an error.
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            Issue.record("replication stream timed out")
            await connection.close()
        }
        defer { watchdog.cancel() }
        var events: [ReplicationEvent] = []
        var seen = 0
        for try await e in stream {
            events.append(e)
            switch e.message {
            case .commit, .streamCommit, .commitPrepared, .rollbackPrepared, .prepare, .streamAbort:
                seen += 1
            default: break
            }
            if seen >= commits || done(events) { break }
        }
        return events
    }

    static func texts(_ t: [TupleValue]?) -> [String?]? {
        t?.map { v in
            switch v {
            case .null: return nil
            case .unchangedToast: return "<unchanged>"
            case .text(let b): return String(buffer: b)
            case .binary(let b): return "<binary \(b.readableBytes)>"
            }
        }
    }

    @Test(arguments: PgTestServer.allCases)
    func everyBasicMessageType(_ server: PgTestServer) async throws {
        guard let f = try await Self.fixture(server) else { return }
        defer { Task { await f.close() } }
        let sys = try await f.repl.identifySystem()
        #expect(sys.timeline >= 1)
        #expect(!sys.systemID.isEmpty)
        for statement in [
            "INSERT INTO \(f.table) VALUES (1, 'one'), (2, NULL)",
            "UPDATE \(f.table) SET name = 'uno' WHERE id = 1",
            "UPDATE \(f.table) SET id = 3 WHERE id = 2",
            "DELETE FROM \(f.table) WHERE id = 1",
            "BEGIN; SELECT pg_logical_emit_message(true, 'pfx', 'hello'); INSERT INTO \(f.table) VALUES (9, 'x'); COMMIT",
            "SELECT pg_logical_emit_message(false, 'nontx', '\\x00ff'::bytea)",
            "TRUNCATE \(f.table)",
        ] { try await f.sql.simpleQuery(statement) }
        let stream = try await f.repl.startReplication(slot: f.slot, start: f.start,
                                                       options: .init(publications: [f.publication], messages: true))
        #expect(stream.protocolVersion == (server == .pg15 ? 3 : 4))
        let events = try await Self.collect(stream, commits: 100, on: f.repl) { events in
            // Up to the commit after the TRUNCATE.
            guard case .commit = events.last?.message else { return false }
            return events.contains { if case .truncate = $0.message { true } else { false } }
        }
        let messages = events.map(\.message)
        if TestEnv.value("PGW_DEBUG") != nil { for m in messages { print("EVENT", m) } }
        var relationOID: UInt32 = 0
        var inserts: [[String?]] = [], updates: [(old: [String?]?, new: [String?])] = [], deletes: [[String?]] = []
        var sawMessage = false, sawNonTx = false, sawTruncate = false, begins = 0, commits = 0
        var lastEnd = LSN.zero
        for m in messages {
            switch m {
            case .relation(let r):
                relationOID = r.oid
                #expect(r.name == f.table)
                #expect(r.namespace == "public")
                #expect(r.columns.map(\.name) == ["id", "name"])
                #expect(r.columns.map(\.typeOID) == [23, 25])
                #expect(r.columns[0].isKey && !r.columns[1].isKey)
                #expect(r.replicaIdentity == UInt8(ascii: "d"))
            case .begin(let final, let time, let xid):
                begins += 1
                #expect(final > f.start)
                #expect(time > 0 && xid > 0)
            case .commit(_, let commitLSN, let end, _):
                commits += 1
                #expect(end > commitLSN && end > lastEnd)
                lastEnd = end
            case .insert(_, let rel, let new):
                #expect(rel == relationOID)
                inserts.append(Self.texts(new)!)
            case .update(_, _, let oldKey, let oldTuple, let new):
                #expect(oldTuple == nil)
                updates.append((Self.texts(oldKey), Self.texts(new)!))
            case .delete(_, _, let oldKey, let oldTuple):
                #expect(oldTuple == nil)
                deletes.append(Self.texts(oldKey)!)
            case .message(_, let flags, _, let prefix, let content):
                if prefix == "pfx" { sawMessage = flags == 1 && String(buffer: content) == "hello" }
                if prefix == "nontx" { sawNonTx = flags == 0 && Array(content.readableBytesView) == [0, 255] }
            case .truncate(_, _, let rels):
                sawTruncate = rels == [relationOID]
            default: break
            }
        }
        #expect(inserts == [["1", "one"], ["2", nil], ["9", "x"]])
        #expect(updates.count == 2)
        #expect(updates.first?.old == nil && updates.first?.new == ["1", "uno"])
        #expect(updates.last?.old == ["2", nil] && updates.last?.new == ["3", nil])
        #expect(deletes == [["1", nil]])
        #expect(sawMessage && sawNonTx && sawTruncate)
        #expect(begins >= 6 && begins == commits)
        stream.confirm(flushed: lastEnd)
        try await stream.sendStandbyStatus()
        try await stream.stop()
        for try await _ in stream {}
        // The connection is usable again after the stream ended.
        #expect(try await f.repl.identifySystem().systemID == sys.systemID)
    }
}
