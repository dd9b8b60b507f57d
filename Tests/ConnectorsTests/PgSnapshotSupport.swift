import Foundation
import Testing
import PipeTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Running pg.Snapshot through the real `kafka-pipe` binary against PostgreSQL, tansu and kcat.
enum Snap {
    /// `KP_BINARY`, else `<repo>/.build/debug/kafka-pipe` (scripts/test.sh builds it and sets KP_BINARY).
    static var binary: String {
        TestEnv.value("KP_BINARY") ?? TestEnv.repoRoot.appendingPathComponent(".build/debug/kafka-pipe").path
    }

    /// The services a test needs, or nil (skipped outside CI, an issue under CI).
    struct Services {
        var kafka: String
        var kcat: String
        var pgURL: String
        var psql: String
    }

    /// `server` is `KP_PG15` or `KP_PG18`.
    static func services(_ server: String) -> Services? {
        let record: (String) -> Void = { Issue.record(Comment(rawValue: $0)) }
        guard let kafka = TestEnv.require("KP_KAFKA", onMissingInCI: record),
              let kcat = TestEnv.require("KP_KCAT", onMissingInCI: record),
              let url = TestEnv.require(server, onMissingInCI: record) else { return nil }
        let binVar = server == "KP_PG18" ? "KP_PG18_BIN" : "KP_PG15_BIN"
        guard let bin = TestEnv.require(binVar, onMissingInCI: record) else { return nil }
        return Services(kafka: kafka, kcat: kcat, pgURL: url, psql: bin + "/psql")
    }

    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp-snap"))
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Runs SQL with psql (stops at the first error); returns its standard output.
    @discardableResult
    static func psql(_ s: Services, _ sql: String) async throws -> String {
        let r = try await Run.program(s.psql, [s.pgURL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                                      input: Data(sql.utf8), timeout: 300)
        try #require(r.status == 0, "psql failed: \(r.stderr)")
        return r.stdout
    }

    /// A pg.Snapshot configuration.
    static func config(name: String, s: Services, url: String? = nil, tables: [String], prefix: String,
                       chunk: Int = 10_000, condition: String? = nil, level: String = "info") -> String {
        var text = """
            name: \(name)
            class: pg.Snapshot
            log:
              level: \(level)
            http:
              listen: ""
            pg:
              url: \(url ?? s.pgURL)
              tables:
            \(tables.map { "    - \($0)" }.joined(separator: "\n"))
              chunk.size: \(chunk)

            """
        if let condition { text += "  condition: \(condition)\n" }
        text += """
            kafka:
              brokers: [\(s.kafka)]
              topic:
                prefix: \(prefix)

            """
        return text
    }

    static func write(_ text: String, in dir: URL) throws -> String {
        let u = dir.appendingPathComponent("config.yaml")
        try text.write(to: u, atomically: true, encoding: .utf8)
        return u.path
    }

    /// Runs the snapshot to its end.
    static func run(_ config: String, in dir: URL, timeout: TimeInterval = 300) async throws -> ProcessResult {
        try await Run.program(binary, [config], cwd: dir, timeout: timeout)
    }

    /// One consumed record.
    struct Record {
        var key: String?
        var value: String?
        var headers: [(String, String)]
    }

    /// Every record of `topic` (kcat -J), in offset order.
    static func consume(_ s: Services, topic: String, expect count: Int) async throws -> [Record] {
        let r = try await Run.program(s.kcat, ["-C", "-b", s.kafka, "-t", topic, "-o", "beginning", "-e", "-q", "-J",
                                               "-c", String(count + 1)], timeout: 300)
        try #require(r.status == 0, "kcat failed: \(r.stderr)")
        var records: [Record] = []
        for line in r.stdout.split(separator: "\n") where !line.isEmpty {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            var headers: [(String, String)] = []
            if let h = object["headers"] as? [Any] {
                var i = 0
                while i + 1 < h.count {
                    headers.append(((h[i] as? String) ?? "", (h[i + 1] as? String) ?? ""))
                    i += 2
                }
            }
            records.append(Record(key: object["key"] as? String, value: object["payload"] as? String, headers: headers))
        }
        return records
    }

    /// Parses a record value.
    static func json(_ text: String?) -> NSDictionary? {
        guard let text, let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary else { return nil }
        return o
    }

    /// `kafka-pipe state --json` of a data directory: namespace → key → value text.
    static func state(in dir: URL) async throws -> [String: [String: Any]] {
        let r = try await Run.program(binary, ["state", "--data", dir.appendingPathComponent("data").path, "--json"])
        try #require(r.status == 0, "state failed: \(r.stderr)")
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: [String: Any]]) ?? [:]
    }
}

/// A kafka-pipe process running in the background, its output collected as it comes.
final class SnapProcess: @unchecked Sendable {
    let process = ChildProcess()
    private let collected: OutputCollector

    init(_ args: [String], cwd: URL) throws {
        process.executableURL = URL(fileURLWithPath: Snap.binary)
        process.arguments = args
        process.currentDirectoryURL = cwd
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        collected = OutputCollector(pipe.fileHandleForReading)
        try process.run()
    }

    /// The output so far; all of it once the process has exited.
    var output: String { collected.text(of: process) }

    /// Polls (asynchronously) until `condition` holds for the output, or the process ended, or
    /// `seconds` passed. Returns whether it holds.
    func wait(seconds: Double = 120, until condition: (String) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(output) { return true }
            if !process.isRunning { return condition(output) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Sends `signal` and waits for the exit status (nil if still running after `seconds`).
    func stop(_ signal: Int32, seconds: Double = 60) async -> Int32? {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
            return nil
        }
        return process.terminationStatus
    }

    /// The largest `"rows"` count of the "chunk acknowledged" debug lines so far.
    var acknowledgedRows: Int {
        var best = 0
        for line in output.split(separator: "\n") where line.contains("chunk acknowledged") {
            guard let r = line.range(of: "\"rows\":\"") else { continue }
            let digits = line[r.upperBound...].prefix { $0.isNumber }
            best = max(best, Int(digits) ?? 0)
        }
        return best
    }
}
