import Foundation
import Testing
import PipeTestSupport
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `kafka-pipe` binary as a user would: `KP_BINARY`, else `<repo>/.build/debug/kafka-pipe`
/// (scripts/test.sh builds it and sets KP_BINARY).
enum CLI {
    static var binary: String {
        TestEnv.value("KP_BINARY") ?? TestEnv.repoRoot.appendingPathComponent(".build/debug/kafka-pipe").path
    }

    static func tempDir() async throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp-cli"))
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    @discardableResult
    static func run(_ args: [String], cwd: URL? = nil, env: [String: String] = [:]) async throws -> ProcessResult {
        try await Run.program(binary, args, environment: env, cwd: cwd, timeout: 60)
    }

    /// A complete, valid pg.Source configuration whose endpoints are on `port` (1: nothing listens).
    static func sourceConfig(name: String = "orders", listen: String = "", port: Int = 1, secret: String = "hunter2-secret",
                             level: String = "info", pretty: Bool = false) -> String {
        """
        name: \(name)
        class: pg.Source
        log:
          level: \(level)
          pretty: \(pretty)
        http:
          listen: "\(listen)"
        kafka:
          brokers:
            - 127.0.0.1:\(port)
          sasl:
            protocol: plain
            user: alice
            pass: \(secret)
          tls:
            enabled: false
        pg:
          url: postgres://postgres@127.0.0.1:\(port)/postgres
          publication: kp_pub
          slot: kp_slot
          tables:
            - public.orders

        """
    }

    static func write(_ text: String, in dir: URL, name: String = "config.yaml") async throws -> String {
        let u = dir.appendingPathComponent(name)
        try text.write(to: u, atomically: true, encoding: .utf8)
        return u.path
    }

    /// A TCP port that was free a moment ago.
    static func freePort() async throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, len) == 0 else { return -1 }
                return getsockname(fd, p, &len)
            }
        }
        try #require(bound == 0)
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// A plain HTTP/1.0 GET over a loopback socket: (status, body), or nil when nothing answers.
    static func httpGet(port: Int, path: String) -> (Int, String)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return nil }
        let req = Array("GET \(path) HTTP/1.0\r\n\r\n".utf8)
        guard send(fd, req, req.count, 0) == req.count else { return nil }
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            data += buf[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 "), let status = Int(text.dropFirst(9).prefix(3)),
              let split = text.range(of: "\r\n\r\n") else { return nil }
        return (status, String(text[split.upperBound...]))
    }
}

/// A kafka-pipe process running in the background, its output collected as it comes.
final class Background: @unchecked Sendable {
    let process = ChildProcess()
    private let collected: OutputCollector

    init(_ args: [String], cwd: URL, env: [String: String]) async throws {
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = args
        process.currentDirectoryURL = cwd
        process.environment = ProcessInfo.processInfo.environment.merging(env) { _, n in n }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        collected = OutputCollector(pipe.fileHandleForReading)
        try process.run()
    }

    /// The output so far; all of it once the process has exited.
    var output: String { collected.text(of: process) }

    /// Waits until the output contains `text` (or the process ended, or `seconds` passed).
    func waitFor(_ text: String, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            usleep(20_000)
        }
        return false
    }

    /// Sends `signal` and waits for the exit status (nil if still running after `seconds`).
    func stop(_ signal: Int32 = SIGTERM, seconds: Double = 40) -> Int32? {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }
}

@Suite(.serialized) struct CLITests {
    @Test func versionExitsZero() async throws {
        let r = try await CLI.run(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("kafka-pipe "))
        #expect(r.stdout.contains("Swift"))
    }

    @Test(arguments: [["--no-such-flag"], ["check"], ["state", "--json", "extra"], ["check", "a.yaml", "b.yaml"],
                      ["run"], ["x.yaml", "--stop-timeout", "0"], ["x.yaml", "--stop-timeout", "soon"], ["x.yaml", "--data"],
                      ["state", "--key", "k"], ["state", "--delete", "n"], ["state", "--json=yes"], ["-x", "x.yaml"],
                      ["check", "a.yaml", "--timeout", "1", "--timeout", "2"], ["--version", "x"], []])
    func badCommandLineExitsTwo(args: [String]) async throws {
        let r = try await CLI.run(args)
        #expect(r.status == 2, "\(args): \(r.stdout) \(r.stderr)")
        #expect(!r.stderr.isEmpty)
    }

    @Test func badCommandLineNamesTheProblemAndTheUsage() async throws {
        let r = try await CLI.run(["state", "--json", "--delete", "orders"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("Error: --delete NAME needs --key KEY or --prefix PREFIX"), "\(r.stderr)")
        #expect(r.stderr.contains("Usage: kafka-pipe state"), "\(r.stderr)")
        let bad = try await CLI.run(["x.yaml", "--stop-timeout", "soon"])
        #expect(bad.stderr.contains("'soon' is invalid for '--stop-timeout"), "\(bad.stderr)")
        let unknown = try await CLI.run(["check", "x.yaml", "--tiemout", "3"])
        #expect(unknown.stderr.contains("Unknown option '--tiemout'"), "\(unknown.stderr)")
    }

    @Test(arguments: [(["--help"], "Commands:"), (["-h"], "Commands:"), (["help"], "Commands:"),
                      (["help", "state"], "--prefix PREFIX"), (["state", "--help"], "--prefix PREFIX"),
                      (["check", "-h"], "--timeout SECONDS"), (["run", "--help"], "--stop-timeout SECONDS"),
                      (["x.yaml", "--help"], "Commands:")])
    func helpExitsZero(args: [String], expected: String) async throws {
        let r = try await CLI.run(args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
        #expect(r.stdout.contains(expected), "\(args): \(r.stdout)")
        #expect(r.stdout.contains("Usage: kafka-pipe"), "\(args): \(r.stdout)")
    }

    /// `--name=value`, `--` and options before the configuration are all accepted.
    @Test func optionSpellings() async throws {
        let dir = try await CLI.tempDir()
        let data = dir.appendingPathComponent("st").path
        for args in [["state", "--data=\(data)"], ["state", "--json", "--data", data]] {
            let r = try await CLI.run(args)
            #expect(r.status == 1, "\(args): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("no state directory at \(data)"), "\(args): \(r.stderr)")
        }
        for (args, file) in [(["--data", data, "missing.yaml"], "missing.yaml"), (["--", "-odd.yaml"], "-odd.yaml"),
                             (["run", "--stop-timeout=5", "--", "-odd.yaml"], "-odd.yaml")] {
            let r = try await CLI.run(args, cwd: dir)
            #expect(r.status == 2, "\(args): \(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("\(file): cannot read the file: cannot open: No such file"), "\(args): \(r.stderr)")
        }
        let dashed = try await CLI.run(["-odd.yaml"], cwd: dir)
        #expect(dashed.status == 2 && dashed.stderr.contains("Unknown option '-odd.yaml'"), "\(dashed.stderr)")
    }

    @Test func brokenYAMLExitsTwoWithPosition() async throws {
        let dir = try await CLI.tempDir()
        let path = try await CLI.write("name: \"unterminated\nclass: pg.Source\n", in: dir, name: "broken.yaml")
        for args in [[path], ["check", path]] {
            let r = try await CLI.run(args, cwd: dir)
            #expect(r.status == 2, "\(r.stdout) \(r.stderr)")
            let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.range(of: #"^\#(NSRegularExpression.escapedPattern(for: path)):[0-9]+:[0-9]+: "#,
                                options: .regularExpression) != nil, "\(r.stderr)")
        }
    }

    @Test func missingFileExitsTwo() async throws {
        let dir = try await CLI.tempDir()
        let r = try await CLI.run(["check", dir.appendingPathComponent("nope.yaml").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("nope.yaml"))
    }

    @Test func checkRedactsSecretsAndReportsUnreachable() async throws {
        let dir = try await CLI.tempDir()
        let path = try await CLI.write(CLI.sourceConfig(secret: "hunter2-secret"), in: dir)
        let r = try await CLI.run(["check", path, "--timeout", "2"], cwd: dir)
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("***"))
        #expect(!r.stdout.contains("hunter2-secret"))
        #expect(!r.stderr.contains("hunter2-secret"))
        #expect(r.stdout.contains("127.0.0.1:1 is not reachable"))
    }

    @Test func stateOnEmptyDirectory() async throws {
        let dir = try await CLI.tempDir()
        let text = try await CLI.run(["state", "--data", dir.path])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("empty"))
        let json = try await CLI.run(["state", "--data", dir.path, "--json"])
        #expect(json.status == 0)
        #expect(json.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "{}")
        let missing = try await CLI.run(["state", "--data", dir.appendingPathComponent("absent").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("absent"))
    }

    @Test func failureLineIsJSONWithoutSecrets() async throws {
        let dir = try await CLI.tempDir()
        let path = try await CLI.write(CLI.sourceConfig(), in: dir)
        let r = try await CLI.run([path, "--data", dir.appendingPathComponent("state").path], cwd: dir,
                                  env: ["KP_DEBUG_CONNECTOR": "fail"])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("debug failure in pg.Source"))
        #expect(r.stdout.contains(#""level":"error""#))
        #expect(!r.stdout.contains("hunter2-secret"))
    }

    @Test func gracefulStopServesHTTPAndHoldsTheLock() async throws {
        let dir = try await CLI.tempDir()
        let port = try await CLI.freePort()
        let path = try await CLI.write(CLI.sourceConfig(listen: "127.0.0.1:\(port)"), in: dir)
        let data = dir.appendingPathComponent("state").path
        let env = ["KP_DEBUG_CONNECTOR": "idle"]
        let first = try await Background([path, "--data", data, "--stop-timeout", "10"], cwd: dir, env: env)
        #expect(first.waitFor("idle connector running"), "\(first.output)")

        // the endpoints of SPEC §1
        var health: (Int, String)?
        for _ in 0..<100 where health == nil {
            health = CLI.httpGet(port: port, path: "/health")
            if health == nil { usleep(50_000) }
        }
        #expect(health?.0 == 200)
        #expect(health?.1 == "ok\n")
        #expect(CLI.httpGet(port: port, path: "/ready")?.0 == 200)
        let metrics = CLI.httpGet(port: port, path: "/metrics")
        #expect(metrics?.0 == 200)
        #expect(metrics?.1.contains(#"kafka_pipe_build_info{class="pg.Source",version="#) == true, "\(metrics?.1 ?? "")")
        #expect(CLI.httpGet(port: port, path: "/nope")?.0 == 404)

        // a second process on the same state directory is refused
        let second = try await CLI.run([path, "--data", data], cwd: dir, env: env)
        #expect(second.status == 1, "\(second.stdout) \(second.stderr)")
        #expect(second.stdout.contains("in use by another process"), "\(second.stdout)")

        // SIGTERM: graceful stop, exit 0
        let status = first.stop(SIGTERM)
        #expect(status == 0, "\(first.output)")
        #expect(first.output.contains(#""msg":"stopped""#))
    }

    @Test func sigintAlsoStopsGracefully() async throws {
        let dir = try await CLI.tempDir()
        let path = try await CLI.write(CLI.sourceConfig(listen: "", level: "debug"), in: dir)
        let p = try await Background([path, "--data", dir.appendingPathComponent("state").path], cwd: dir,
                               env: ["KP_DEBUG_CONNECTOR": "idle"])
        #expect(p.waitFor("idle connector running"), "\(p.output)")
        #expect(p.stop(SIGINT) == 0, "\(p.output)")
        // log:level debug works (SPEC §1 fix): debug lines are written
        #expect(p.output.contains(#""level":"debug""#), "\(p.output)")
    }

    @Test func prettyLogLines() async throws {
        let dir = try await CLI.tempDir()
        let path = try await CLI.write(CLI.sourceConfig(pretty: true), in: dir)
        let r = try await CLI.run([path, "--data", dir.appendingPathComponent("state").path], cwd: dir,
                                  env: ["KP_DEBUG_CONNECTOR": "fail"])
        #expect(r.status == 1)
        // not a terminal: no colors
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.range(of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z ERROR orders: pg.Source failed: debug failure in pg.Source \(KP_DEBUG_CONNECTOR=fail\)$"#,
                                          options: .regularExpression) != nil }, "\(r.stdout)")
    }

    @Test func runtimeFailureExitsOneWithOneErrorLine() async throws {
        let dir = try await CLI.tempDir()
        let path = try await CLI.write(CLI.sourceConfig(listen: ""), in: dir)
        let r = try await CLI.run([path, "--data", dir.appendingPathComponent("state").path], cwd: dir,
                            env: ["KP_DEBUG_CONNECTOR": "fail"])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        let errors = r.stdout.split(separator: "\n").filter { $0.contains(#""level":"error""#) }
        #expect(errors.count == 1)
        #expect(errors.first?.contains("pg.Source failed: debug failure in pg.Source") == true)
    }

    @Test func busyHTTPPortIsARuntimeFailure() async throws {
        let dir = try await CLI.tempDir()
        let port = try await CLI.freePort()
        let path = try await CLI.write(CLI.sourceConfig(listen: "127.0.0.1:\(port)"), in: dir)
        let env = ["KP_DEBUG_CONNECTOR": "idle"]
        let first = try await Background([path, "--data", dir.appendingPathComponent("a").path], cwd: dir, env: env)
        #expect(first.waitFor("idle connector running"), "\(first.output)")
        let second = try await CLI.run([path, "--data", dir.appendingPathComponent("b").path], cwd: dir, env: env)
        #expect(second.status == 1, "\(second.stdout)")
        #expect(second.stdout.contains("HTTP endpoint on 127.0.0.1:\(port) failed"), "\(second.stdout)")
        #expect(first.stop(SIGTERM) == 0)
    }

    @Test func stopIsBoundedWhenAConnectorHangs() async throws {
        let dir = try await CLI.tempDir()
        let path = try await CLI.write(CLI.sourceConfig(listen: ""), in: dir)
        let p = try await Background([path, "--data", dir.appendingPathComponent("state").path, "--stop-timeout", "1"], cwd: dir,
                               env: ["KP_DEBUG_CONNECTOR": "stuck"])
        #expect(p.waitFor("stuck connector running"), "\(p.output)")
        #expect(p.stop(SIGTERM, seconds: 60) == 1, "\(p.output)")
        #expect(p.output.contains("did not stop within 6s"), "\(p.output)")
    }

    @Test(arguments: ["pg-source", "pg-snapshot", "ch-sink", "s3-sink", "s3-backup"])
    func checkEveryExampleClass(example: String) async throws {
        let path = TestEnv.repoRoot.appendingPathComponent("examples/\(example).yaml").path
        let r = try await CLI.run(["check", path, "--timeout", "2"], env: ["S3_SECRET": "s3-very-secret", "PG_PASSWORD": "pg-very-secret"])
        // 0 or 1 depending on whether the services run at the example's addresses; never 2
        #expect(r.status == 0 || r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("# configuration is valid:"))
        #expect(r.stdout.contains("kafka broker "))
        for secret in ["s3-very-secret", "pg-very-secret", "testsecret-0123456789"] {
            #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        }
    }

    @Test func stateDeleteRemovesChosenKeysOnlyWhenStopped() async throws {
        let dir = try await CLI.tempDir()
        let data = dir.appendingPathComponent("state").path
        let store = try StateStore.open(directory: data)
        try store.namespace("orders").putSync("lsn", string: "0/16B3748")
        try store.namespace("orders").putSync("p/t/0", string: "a")
        try store.namespace("orders").putSync("p/t/1", string: "b")
        try store.namespace("orders").putSync("p/u/0", string: "c")
        try store.namespace("audit").putSync("p/t/0", string: "keep")
        // a running connector holds the lock: refused, nothing deleted
        let refused = try await CLI.run(["state", "--data", data, "--delete", "orders", "--key", "lsn"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("stop the connector first"), "\(refused.stderr)")
        try store.close()
        let usage = try await CLI.run(["state", "--data", data, "--delete", "orders"])
        #expect(usage.status == 2)
        let r = try await CLI.run(["state", "--data", data, "--delete", "orders", "--prefix", "p/t/", "--key", "nope"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("deleted orders p/t/0\ndeleted orders p/t/1\n"), "\(r.stdout)")
        #expect(r.stdout.contains("no key nope in orders"))
        let after = try await CLI.run(["state", "--data", data, "--json"])
        #expect(after.stdout == #"{"audit":{"p/t/0":"keep"},"orders":{"lsn":"0/16B3748","p/u/0":"c"}}"# + "\n", "\(after.stdout)")
    }

    @Test func stateShowsEachNamespaceReadOnly() async throws {
        let dir = try await CLI.tempDir()
        let data = dir.appendingPathComponent("state").path
        let store = try StateStore.open(directory: data)
        try store.namespace("orders").putSync("lsn", string: "0/16B3748")
        try store.namespace("orders").putSync("offsets/t/0", [0x00, 0xff, 0x10])
        try store.namespace("audit").putSync("since", string: "2026-01-01 00:00")
        // read-only: works while this process holds the lock
        let text = try await CLI.run(["state", "--data", data])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout == "audit\n  since = 2026-01-01 00:00\norders\n  lsn = 0/16B3748\n  offsets/t/0 = 0x00ff10\n")
        let json = try await CLI.run(["state", "--data", data, "--json"])
        #expect(json.status == 0)
        #expect(json.stdout == #"{"audit":{"since":"2026-01-01 00:00"},"orders":{"lsn":"0/16B3748","offsets/t/0":{"hex":"00ff10"}}}"# + "\n")
        try store.close()
    }
}
