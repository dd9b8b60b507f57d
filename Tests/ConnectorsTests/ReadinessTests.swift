import Foundation
import PipeTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A TCP forwarder (`scripts/tools/tcp_forward.py`) between a connector and one of its peers:
/// `stop()` drops every connection through it and refuses new ones until `start()`.
final class Forwarder: @unchecked Sendable {
    let port: Int
    let target: (host: String, port: Int)
    private var process: ChildProcess?

    init(port: Int, to host: String, _ targetPort: Int) {
        self.port = port
        target = (host, targetPort)
    }

    func start() async throws {
        let p = ChildProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", TestEnv.repoRoot.appendingPathComponent("scripts/tools/tcp_forward.py").path,
                       "\(port)", target.host, "\(target.port)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        for _ in 0..<100 where !(await S3T.portOpen(port)) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(await S3T.portOpen(port), "the forwarder on \(port) did not start")
    }

    func stop() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit { stop() }
}

/// `GET /ready` of a running connector: (status, body), nil when nothing answers.
enum ReadyProbe {
    static func get(port: Int) async -> (status: Int, body: String)? {
        guard let r = try? await Run.shell("curl -s --max-time 3 -w '\\n%{http_code}' http://127.0.0.1:\(port)/ready"),
              let last = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).last,
              let code = Int(last), code != 0 else { return nil }
        return (code, String(r.stdout.dropLast(last.count + 1)))
    }

    /// Polls until `/ready` answers `status` (and its body contains `body`); returns the last answer.
    static func waitFor(port: Int, status: Int, body: String = "", seconds: Double = 30) async -> (status: Int, body: String)? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: (status: Int, body: String)?
        repeat {
            last = await get(port: port)
            if let l = last, l.status == status, body.isEmpty || l.body.contains(body) { return l }
            try? await Task.sleep(for: .milliseconds(100))
        } while Date() < deadline
        return last
    }
}

/// `/ready` follows the connection to the peer a connector depends on: not ready (503, with the
/// reason) while the peer is away, ready (200) once the connector is back at work, for each
/// long-running class.
@Suite(.serialized) struct ConnectorReadinessTests {
    @Test func pgSourceReadyFollowsPostgres() async throws {
        guard let url = TestEnv.require("KP_PG15", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let kafka = TestEnv.require("KP_KAFKA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              TestEnv.require("KP_KCAT", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) != nil else { return }
        var components = try #require(URLComponents(string: url))
        let pgPort = try #require(components.port)
        let forwarder = Forwarder(port: try await S3T.freePort(), to: components.host ?? "127.0.0.1", pgPort)
        components.port = forwarder.port
        let viaForwarder = try #require(components.string)

        let t = TestEnv.unique("pgs_ready")
        let slot = t + "_slot", publication = t + "_pub"
        try await PgSourceTestKit.sql(url, "CREATE TABLE public.\(t) (id int PRIMARY KEY, v text);")
        let http = try await S3T.freePort()
        let dir = try PgSourceTestKit.workdir(PgSourceTestKit.config(
            name: "ready", url: viaForwarder, slot: slot, publication: publication, tables: ["public.\(t)"],
            topicPrefix: t, kafka: kafka, listen: "127.0.0.1:\(http)"))
        let pipe = try PipeProcess(configIn: dir)
        defer { forwarder.stop() }

        // PostgreSQL unreachable: up (/health) but not ready, and the reason says why.
        let away = await ReadyProbe.waitFor(port: http, status: 503, body: "reconnecting")
        #expect(away?.status == 503 && away?.body.contains("reconnecting") == true, "\(String(describing: away)) \(pipe.output)")
        try await Task.sleep(for: .seconds(1))
        #expect(await ReadyProbe.get(port: http)?.status == 503, "ready without PostgreSQL: \(pipe.output)")

        // PostgreSQL there: ready once streaming, and a change made now arrives.
        try await forwarder.start()
        let back = await ReadyProbe.waitFor(port: http, status: 200, seconds: 60)
        #expect(back?.status == 200, "\(String(describing: back)) \(pipe.output)")
        try await PgSourceTestKit.sql(url, "INSERT INTO public.\(t) VALUES (1, 'a');")
        let first = try await PgSourceTestKit.consume(topic: "\(t).public.\(t)", kafka: kafka, atLeast: 1)
        #expect(first.count == 1)

        // The connection dropped mid-stream: not ready until the session is back.
        forwarder.stop()
        let dropped = await ReadyProbe.waitFor(port: http, status: 503, body: "reconnecting", seconds: 20)
        #expect(dropped?.status == 503, "\(String(describing: dropped)) \(pipe.output)")
        try await PgSourceTestKit.sql(url, "INSERT INTO public.\(t) VALUES (2, 'b');")
        try await forwarder.start()
        let again = await ReadyProbe.waitFor(port: http, status: 200, seconds: 60)
        #expect(again?.status == 200, "\(String(describing: again)) \(pipe.output)")
        let both = try await PgSourceTestKit.consume(topic: "\(t).public.\(t)", kafka: kafka, atLeast: 2)
        #expect(both.compactMap(\.key) == [#"{"id":1}"#, #"{"id":2}"#], "\(both.map { $0.key ?? "nil" })")

        #expect(await pipe.stop() == 0, "\(pipe.output)")
        #expect(await ReadyProbe.get(port: http) == nil, "the endpoint outlived the process")
        await PgSourceTestKit.dropSlot(url, slot: slot, publication: publication)
    }

    @Test func s3SinkReadyFollowsS3() async throws {
        guard let svc = S3T.services() else { return }
        let s3 = try #require(URLComponents(string: svc.s3))
        let forwarder = Forwarder(port: try await S3T.freePort(), to: s3.host ?? "127.0.0.1", try #require(s3.port))
        defer { forwarder.stop() }
        try await forwarder.start()
        let topic = S3T.uniqueName("ready"), bucket = S3T.uniqueName("kp-ready")
        try await S3T.tool(svc, ["mkbucket", bucket])
        let kcat = "'\(svc.kcat)' -b \(svc.kafka) -P -t \(topic) -p 0"
        let first = try await Run.shell("seq 1 10 | \(kcat)")
        #expect(first.status == 0, "kcat: \(first.stderr)")

        let http = try await S3T.freePort()
        let sink = try BackgroundProcess.pipe(S3T.sinkYAML(name: "ready-sink", svc: svc, endpoint: "http://127.0.0.1:\(forwarder.port)",
                                                           bucket: bucket, topic: topic, group: "g-" + topic,
                                                           timeout: "200ms", listen: "127.0.0.1:\(http)"), in: try S3T.tempDir())
        defer { sink.killNow() }
        let stored = try await S3ConnectorTests.waitForRows(svc, bucket: bucket, prefix: topic + "/", count: 10, while: sink)
        S3ConnectorTests.expectExactlyOnce(stored.rows, count: 10, "before S3 went away")
        #expect(await ReadyProbe.get(port: http)?.status == 200, "\(sink.output)")

        // S3 away while records wait: not ready, naming S3, and nothing acknowledged meanwhile.
        forwarder.stop()
        let more = try await Run.shell("seq 11 15 | \(kcat)")
        #expect(more.status == 0, "kcat: \(more.stderr)")
        let away = await ReadyProbe.waitFor(port: http, status: 503, body: "S3 unavailable")
        #expect(away?.status == 503 && away?.body.contains("S3 unavailable") == true, "\(String(describing: away)) \(sink.output)")

        // S3 back: the waiting records are stored once and the sink is ready again.
        try await forwarder.start()
        let again = await ReadyProbe.waitFor(port: http, status: 200, seconds: 60)
        #expect(again?.status == 200, "\(String(describing: again)) \(sink.output)")
        let all = try await S3ConnectorTests.waitForRows(svc, bucket: bucket, prefix: topic + "/", count: 15, while: sink)
        #expect(await sink.stop(SIGTERM) == 0, "\(sink.output)")
        S3ConnectorTests.expectExactlyOnce(all.rows, count: 15, "after S3 came back")
    }

    @Test func chSinkReadyFollowsClickHouse() async throws {
        guard let svc = CHT.services() else { return }
        let forwarder = Forwarder(port: try await S3T.freePort(), to: svc.host, try #require(Int(svc.port)))
        defer { forwarder.stop() }
        try await forwarder.start()
        var viaForwarder = svc
        viaForwarder.ch = "127.0.0.1:\(forwarder.port)"
        let t = CHT.name("chready"), topic = t.replacingOccurrences(of: "_", with: "-")
        try await CHT.sql(svc, "CREATE TABLE default.\(t) (id UInt64) ENGINE = MergeTree ORDER BY id")
        try await CHT.produce(svc, topic: topic, lines: (1...5).map { #"{"id":\#($0)}"# }.joined(separator: "\n") + "\n", options: "-p 0")
        let http = try await S3T.freePort()
        let sink = try BackgroundProcess.pipe(CHT.yaml(name: "ready", svc: viaForwarder, topics: [topic], group: "g-" + topic,
                                                       table: t, http: "127.0.0.1:\(http)"), in: try S3T.tempDir())
        defer { sink.killNow() }
        #expect(try await CHT.waitForRows(svc, "default.\(t)", 5, while: sink) == 5, "\(sink.output)")
        #expect(await ReadyProbe.get(port: http)?.status == 200, "\(sink.output)")

        // ClickHouse away while records wait: not ready, naming ClickHouse.
        forwarder.stop()
        try await CHT.produce(svc, topic: topic, lines: (6...10).map { #"{"id":\#($0)}"# }.joined(separator: "\n") + "\n", options: "-p 0")
        let away = await ReadyProbe.waitFor(port: http, status: 503, body: "ClickHouse unavailable")
        #expect(away?.status == 503 && away?.body.contains("ClickHouse unavailable") == true, "\(String(describing: away)) \(sink.output)")
        #expect(try await CHT.count(svc, "default.\(t)") == 5)

        // Back: the block that waited is inserted once, and the sink is ready again.
        try await forwarder.start()
        let again = await ReadyProbe.waitFor(port: http, status: 200, seconds: 60)
        #expect(again?.status == 200, "\(String(describing: again)) \(sink.output)")
        #expect(try await CHT.waitForRows(svc, "default.\(t)", 10, while: sink) == 10, "\(sink.output)")
        #expect(await sink.stop(SIGTERM) == 0, "\(sink.output)")
        #expect(try await CHT.sql(svc, "SELECT count(), uniqExact(id) FROM default.\(t) FORMAT TSV") == "10\t10\n")
    }
}
