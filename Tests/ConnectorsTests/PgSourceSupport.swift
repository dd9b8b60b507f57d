import Foundation
import PipeTestSupport
import Testing

/// Helpers of the pg.Source tests: the real `kafka-pipe` binary in the background, psql, kcat.
enum PgSourceTestKit {
    /// `KP_BINARY`, else `<repo>/.build/debug/kafka-pipe` (build it first: `swift build --product kafka-pipe`).
    static var binary: String {
        TestEnv.value("KP_BINARY") ?? TestEnv.repoRoot.appendingPathComponent(".build/debug/kafka-pipe").path
    }

    /// psql from the PostgreSQL 15 binaries (it speaks to 18 as well), else the one on PATH.
    static var psql: String {
        for dir in [TestEnv.value("KP_PG18_BIN"), TestEnv.value("KP_PG15_BIN")].compactMap({ $0 }) {
            let p = dir + "/psql"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return "/usr/bin/psql"
    }

    /// Runs SQL with psql (stops at the first error); returns stdout (`-At`).
    @discardableResult
    static func sql(_ url: String, _ sql: String, timeout: TimeInterval = 120) async throws -> String {
        let r = try await Run.program(psql, [url, "-v", "ON_ERROR_STOP=1", "-Atq", "-f", "-"],
                                      input: Data(sql.utf8), timeout: timeout)
        guard r.status == 0 else { throw TestFailure("psql failed (\(r.status)): \(r.stderr)\nSQL: \(sql.prefix(500))") }
        return r.stdout
    }

    /// Drops the slot (waiting until it is free) and the publication; errors ignored.
    static func dropSlot(_ url: String, slot: String, publication: String) async {
        _ = try? await sql(url, """
            SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '\(slot)' AND active_pid IS NOT NULL;
            SELECT pg_sleep(0.2);
            SELECT pg_drop_replication_slot('\(slot)') FROM pg_replication_slots WHERE slot_name = '\(slot)';
            DROP PUBLICATION IF EXISTS \(publication);
            """)
    }

    /// A pg.Source configuration file.
    static func config(name: String, url: String, slot: String, publication: String, tables: [String],
                       topicPrefix: String, extraPg: String = "", kafka: String, listen: String = "") -> String {
        """
        name: \(name)
        class: pg.Source
        log:
          level: info
        http:
          listen: "\(listen)"
        pg:
          url: \(url)
          publication: \(publication)
          slot: \(slot)
          tables: [\(tables.joined(separator: ", "))]
          heartbeat: 1s
          health.table: public.\(name.replacingOccurrences(of: "-", with: "_"))_health
        \(extraPg)
        kafka:
          brokers: [\(kafka)]
          topic:
            prefix: \(topicPrefix)
          batch:
            timeout: 20ms
        """
    }

    /// A fresh working directory with the configuration written to `pipe.yaml`.
    static func workdir(_ configText: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("pgsource"))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try configText.write(to: dir.appendingPathComponent("pipe.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    /// One record read back with kcat.
    struct Record: Sendable {
        var partition: Int
        var offset: Int64
        var key: String?
        var value: String?
        var headers: [(String, String)]
        func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
        var headerNames: [String] { headers.map(\.0) }
    }

    /// Reads a topic from the start until at least `count` records are there (or `seconds` passed).
    static func consume(topic: String, kafka: String, atLeast count: Int, seconds: Double = 60) async throws -> [Record] {
        let deadline = Date().addingTimeInterval(seconds)
        var records: [Record] = []
        while true {
            records = try await consumeOnce(topic: topic, kafka: kafka)
            if records.count >= count || Date() > deadline { return records }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    static func consumeOnce(topic: String, kafka: String) async throws -> [Record] {
        guard let kcat = TestEnv.value("KP_KCAT") else { throw TestFailure("KP_KCAT is not set") }
        let r = try await Run.program(kcat, ["-b", kafka, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q"], timeout: 120)
        var out: [Record] = []
        for line in r.stdout.split(separator: "\n") where line.hasPrefix("{") {
            // A line cut short (kcat stopped mid-write) is read again on the next poll.
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { continue }
            var headers: [(String, String)] = []
            if let h = o["headers"] as? [Any] {
                var i = 0
                while i + 1 < h.count {
                    headers.append(((h[i] as? String) ?? "", (h[i + 1] as? String) ?? ""))
                    i += 2
                }
            }
            out.append(Record(partition: o["partition"] as? Int ?? -1, offset: (o["offset"] as? NSNumber)?.int64Value ?? -1,
                              key: o["key"] as? String, value: o["payload"] as? String, headers: headers))
        }
        return out.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }

    /// Parses a JSON text into a comparable value (NSDictionary/NSArray/NSNumber/NSString/NSNull).
    static func json(_ text: String?) -> NSObject? {
        guard let text else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) as? NSObject
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The `kafka-pipe` binary running in the background; output collected as it comes.
final class PipeProcess: @unchecked Sendable {
    let process = ChildProcess()
    private let collected: OutputCollector

    init(configIn dir: URL, env: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: PgSourceTestKit.binary)
        process.arguments = ["pipe.yaml"]
        process.currentDirectoryURL = dir
        process.environment = ProcessInfo.processInfo.environment.merging(env) { _, n in n }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        collected = OutputCollector(pipe.fileHandleForReading)
        try process.run()
    }

    deinit {
        // A test that failed half-way must not leave the connector running.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The output so far; all of it once the process has exited.
    var output: String { collected.text(of: process) }

    /// Waits until the output contains `text`, the process ends, or `seconds` pass.
    func waitFor(_ text: String, seconds: Double = 60) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits for the exit status (nil if still running after `seconds`).
    func waitExit(seconds: Double = 60) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Sends `signal` and waits for the exit; SIGKILL after `seconds`.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM, seconds: Double = 40) async -> Int32? {
        kill(process.processIdentifier, signal)
        if let status = await waitExit(seconds: seconds) { return status }
        kill(process.processIdentifier, SIGKILL)
        _ = await waitExit(seconds: 10)
        return nil
    }
}
