import Foundation
import PipeTestSupport
import Testing

/// pg.Source through the real binary: configuration and position problems end the run with a clear
/// message and exit status 1, instead of retrying forever or skipping data.
@Suite(.serialized) struct PgSourceConfigTests {
    struct Env {
        var url: String
        var kafka: String
    }

    static func env() -> Env? {
        guard let url = TestEnv.require("KP_PG15", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let kafka = TestEnv.require("KP_KAFKA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return nil }
        return Env(url: url, kafka: kafka)
    }

    /// Runs the connector until it exits by itself; returns the status and output.
    static func runToExit(_ configText: String, in dir: URL? = nil) async throws -> (Int32?, String) {
        let dir = try dir ?? PgSourceTestKit.workdir(configText)
        try configText.write(to: dir.appendingPathComponent("pipe.yaml"), atomically: true, encoding: .utf8)
        let pipe = try PipeProcess(configIn: dir)
        let status = await pipe.waitExit(seconds: 60)
        if status == nil { await pipe.stop(SIGKILL) }
        return (status, pipe.output)
    }

    @Test func unknownTableExitsOne() async throws {
        guard let e = Self.env() else { return }
        let t = TestEnv.unique("pgs_nope")
        let (status, output) = try await Self.runToExit(PgSourceTestKit.config(
            name: "bad", url: e.url, slot: t, publication: t, tables: ["public.\(t)"], topicPrefix: t, kafka: e.kafka))
        #expect(status == 1, "\(output)")
        #expect(output.contains("pg:tables: table public.\(t) does not exist"), "\(output)")
    }

    @Test func wrongPasswordExitsOneWithoutThePassword() async throws {
        guard let e = Self.env(), var url = URLComponents(string: e.url) else { return }
        url.password = "not-the-password-91"
        let t = TestEnv.unique("pgs_pw")
        try await PgSourceTestKit.sql(e.url, "CREATE TABLE \(t) (id int PRIMARY KEY);")
        let (status, output) = try await Self.runToExit(PgSourceTestKit.config(
            name: "bad", url: url.string!, slot: t, publication: t, tables: ["public.\(t)"], topicPrefix: t, kafka: e.kafka))
        try await PgSourceTestKit.sql(e.url, "DROP TABLE \(t);")
        #expect(status == 1, "\(output)")
        #expect(output.contains("password authentication failed"), "\(output)")
        #expect(output.contains("28P01"), "\(output)")
        #expect(!output.contains("not-the-password-91"))
    }

    @Test func missingRightsExitsOne() async throws {
        guard let e = Self.env(), var url = URLComponents(string: e.url) else { return }
        // A replication user that owns neither the table nor the publication's rights on it.
        let user = TestEnv.unique("pgs_norights")
        url.user = user
        url.password = "pw-\(user)"
        let t = TestEnv.unique("pgs_rights")
        try await PgSourceTestKit.sql(e.url, """
            CREATE TABLE \(t) (id int PRIMARY KEY);
            CREATE ROLE \(user) LOGIN REPLICATION PASSWORD 'pw-\(user)';
            GRANT SELECT ON \(t) TO \(user);
            GRANT CREATE ON SCHEMA public TO \(user);
            """)
        let (status, output) = try await Self.runToExit(PgSourceTestKit.config(
            name: "bad", url: url.string!, slot: t, publication: t + "_pub", tables: ["public.\(t)"], topicPrefix: t, kafka: e.kafka))
        try await PgSourceTestKit.sql(e.url, """
            DROP TABLE \(t); DROP TABLE IF EXISTS public.bad_health; DROP PUBLICATION IF EXISTS \(t)_pub;
            REVOKE CREATE ON SCHEMA public FROM \(user); DROP OWNED BY \(user); DROP ROLE \(user);
            """)
        #expect(status == 1, "\(output)")
        #expect(output.contains("pg:publication") && output.contains("42501"), "\(output)")
        #expect(output.contains("permission denied"), "\(output)")
    }

    @Test func vanishedSlotAndPositionBehindTheSlotAreReported() async throws {
        guard let e = Self.env() else { return }
        let t = TestEnv.unique("pgs_slot")
        let slot = t + "_slot", publication = t + "_pub"
        try await PgSourceTestKit.sql(e.url, "CREATE TABLE \(t) (id int PRIMARY KEY);")
        let config = PgSourceTestKit.config(name: "pos", url: e.url, slot: slot, publication: publication,
                                            tables: ["public.\(t)"], topicPrefix: t, kafka: e.kafka)
        let dir = try PgSourceTestKit.workdir(config)
        // A first run saves a position.
        let pipe = try PipeProcess(configIn: dir)
        #expect(await pipe.waitFor("\"streaming\""), "\(pipe.output)")
        try await PgSourceTestKit.sql(e.url, "INSERT INTO \(t) VALUES (1);")
        _ = try await PgSourceTestKit.consume(topic: "\(t).public.\(t)", kafka: e.kafka, atLeast: 1)
        #expect(await pipe.stop() == 0)

        // The slot moved past the saved position (another client used it).
        try await PgSourceTestKit.sql(e.url, """
            INSERT INTO \(t) VALUES (2);
            SELECT pg_replication_slot_advance('\(slot)', pg_current_wal_lsn());
            """)
        let (behind, behindOutput) = try await Self.runToExit(config, in: dir)
        #expect(behind == 1, "\(behindOutput)")
        #expect(behindOutput.contains("is behind slot \(slot)'s confirmed_flush_lsn"), "\(behindOutput)")

        // The slot is gone.
        await PgSourceTestKit.dropSlot(e.url, slot: slot, publication: publication)
        let (gone, goneOutput) = try await Self.runToExit(config, in: dir)
        #expect(gone == 1, "\(goneOutput)")
        #expect(goneOutput.contains("replication slot \(slot) does not exist"), "\(goneOutput)")
        #expect(goneOutput.contains("remove key \\\"lsn\\\"") || goneOutput.contains("remove key \"lsn\""), "\(goneOutput)")
        await PgSourceTestKit.dropSlot(e.url, slot: slot, publication: publication)
        try await PgSourceTestKit.sql(e.url, "DROP TABLE \(t);")
    }
}
