import Foundation
import PipeTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the s3.Sink / s3.Backup tests need: the services, the binary, a private tansu or moto,
/// and a boto3 helper that reads objects the way a user's tools would (`gzip -dc`, `json.loads`).
enum S3T {
    static func env(_ name: String) -> String? {
        TestEnv.require(name) { Issue.record(Comment(rawValue: $0)) }
    }

    struct Services {
        var kafka: String
        var s3: String
        var key: String
        var secret: String
        var kcat: String
        var python: String
    }

    static func services() -> Services? {
        guard let kafka = env("KP_KAFKA"), let s3 = env("KP_S3"), let key = env("KP_S3_KEY"),
              let secret = env("KP_S3_SECRET"), let kcat = env("KP_KCAT") else { return nil }
        return Services(kafka: kafka, s3: s3, key: key, secret: secret, kcat: kcat,
                        python: TestEnv.value("KP_PYTHON") ?? "python3")
    }

    static var binary: String {
        TestEnv.value("KP_BINARY") ?? TestEnv.repoRoot.appendingPathComponent(".build/debug/kafka-pipe").path
    }

    static var tansuBinary: String? {
        let candidates = [TestEnv.value("KP_TANSU_BIN"), TestEnv.value("KP_SERVICES_DIR").map { $0 + "/bin/tansu" }].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp-s3"))
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    static func uniqueName(_ prefix: String) -> String {
        TestEnv.unique(prefix).replacingOccurrences(of: "_", with: "-").lowercased()
    }

    static func freePort() async throws -> Int {
        let r = try await Run.shell("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'")
        return try #require(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    static func portOpen(_ port: Int) async -> Bool {
        (try? await Run.shell("python3 -c 'import socket,sys; sys.exit(socket.socket().connect_ex((\"127.0.0.1\",\(port))))'"))?.status == 0
    }

    /// Runs the helper script with `args`; fails the test on a non-zero exit.
    @discardableResult
    static func tool(_ svc: Services, endpoint: String? = nil, _ args: [String], timeout: TimeInterval = 120) async throws -> String {
        let dir = try tempDir()
        let script = dir.appendingPathComponent("s3tool.py")
        try s3tool.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try await Run.program(svc.python, [script.path, endpoint ?? svc.s3, svc.key, svc.secret] + args,
                                      timeout: timeout)
        if r.status != 0 { Issue.record("s3tool \(args.first ?? "") failed: \(r.stderr)") }
        return r.stdout
    }

    /// Every row of every object under `prefix`, read with `gzip -dc` and `json.loads`:
    /// `[topic/partition: [offset]]` in object and line order, plus the objects' metadata counts.
    struct Dump {
        var rows: [String: [Int64]] = [:]
        var objects = 0
        var countsMatch = true
        var lines: [String] = []
    }

    static func dump(_ svc: Services, endpoint: String? = nil, bucket: String, prefix: String = "") async throws -> Dump {
        let out = try await tool(svc, endpoint: endpoint, ["dump", bucket, prefix])
        var d = Dump()
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ", maxSplits: 3)
            if f.first == "R", f.count >= 3, let o = Int64(f[2]) {
                d.rows[String(f[1]), default: []].append(o)
                if f.count == 4 { d.lines.append(String(f[3])) }
            } else if f.first == "O", f.count == 4 {
                d.objects += 1
                if f[2] != f[3] { d.countsMatch = false }
            }
        }
        return d
    }

    /// Reads a topic partition by partition with kcat: the hex of `%p|%T|%K|%S|%h|%k|%s` of every
    /// record in offset order, one string per partition.
    static func readTopic(_ svc: Services, broker: String, topic: String, partitions: Int) async throws -> [String] {
        var all: [String] = []
        for p in 0..<partitions {
            let r = try await Run.shell("""
                '\(svc.kcat)' -b \(broker) -C -t \(topic) -p \(p) -o beginning -e -q -f '%p|%T|%K|%S|%h|%k|%s\\n' 2>/dev/null \
                | od -An -v -tx1 | tr -d ' \\n'
                """, timeout: 120)
            all.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return all
    }

    static func partitionCount(_ svc: Services, broker: String, topic: String) async throws -> Int {
        let r = try await Run.shell("'\(svc.kcat)' -b \(broker) -L -t \(topic) 2>/dev/null")
        return r.stdout.components(separatedBy: "\n").filter { $0.contains("partition ") && $0.contains("leader") }.count
    }

    /// The number of records of a topic (all partitions), read with kcat.
    static func countRecords(_ svc: Services, broker: String, topic: String) async throws -> [String] {
        let r = try await Run.shell("'\(svc.kcat)' -b \(broker) -C -t \(topic) -o beginning -e -q -f '%s\\n' 2>/dev/null", timeout: 180)
        var lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static func sinkYAML(name: String, svc: Services, endpoint: String? = nil, broker: String? = nil, bucket: String,
                         topic: String, group: String, batchSize: Int = 1000, timeout: String = "500ms",
                         interval: String = "1h", listen: String = "") -> String {
        """
        name: \(name)
        class: s3.Sink
        log: {level: info}
        http: {listen: "\(listen)"}
        kafka:
          brokers: [\(broker ?? svc.kafka)]
          group: \(group)
          topics: [\(topic)]
          rebalance_timeout: 3s
          batch: {size: \(batchSize), timeout: \(timeout)}
        s3: {endpoint: "\(endpoint ?? svc.s3)", bucket: \(bucket), id: \(svc.key), secret: "\(svc.secret)"}
        group_time_interval: \(interval)
        """
    }

    static func backupYAML(name: String, svc: Services, broker: String, bucket: String, topics: [String],
                           since: String = "2000-01-01 00:00:00", to: String = "2099-12-31 23:59:59",
                           listen: String = "") -> String {
        """
        name: \(name)
        class: s3.Backup
        log: {level: info}
        http: {listen: "\(listen)"}
        kafka:
          brokers: [\(broker)]
        s3: {endpoint: "\(svc.s3)", bucket: \(bucket), id: \(svc.key), secret: "\(svc.secret)"}
        topics: [\(topics.joined(separator: ", "))]
        date_since: "\(since)"
        date_to: "\(to)"
        """
    }

    /// Runs kafka-pipe to its end in `dir`.
    static func runPipe(_ config: String, in dir: URL, file: String = "pipe.yaml", timeout: TimeInterval = 120) async throws -> ProcessResult {
        let path = dir.appendingPathComponent(file)
        try config.write(to: path, atomically: true, encoding: .utf8)
        return try await Run.program(binary, [path.path], cwd: dir, timeout: timeout)
    }
}

/// A process in the background (kafka-pipe, tansu, moto), its output kept.
final class BackgroundProcess: @unchecked Sendable {
    let process = ChildProcess()
    private let collected: OutputCollector

    init(_ path: String, _ args: [String], cwd: URL? = nil, env: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        if let cwd { process.currentDirectoryURL = cwd }
        process.environment = ProcessInfo.processInfo.environment.merging(env) { _, n in n }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        collected = OutputCollector(pipe.fileHandleForReading)
        try process.run()
    }

    static func pipe(_ config: String, in dir: URL, file: String = "pipe.yaml") throws -> BackgroundProcess {
        let path = dir.appendingPathComponent(file)
        try config.write(to: path, atomically: true, encoding: .utf8)
        return try BackgroundProcess(S3T.binary, [path.path], cwd: dir)
    }

    /// The output so far; all of it once the process has exited.
    var output: String { collected.text(of: process) }

    var isRunning: Bool { process.isRunning }

    /// Sends `signal` and waits (off the cooperative pool's threads) for the exit status.
    func stop(_ signal: Int32 = SIGTERM, seconds: Double = 40) async -> Int32? {
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

    /// Waits for the process to exit by itself: its status, or nil if it still runs after `seconds`.
    func wait(seconds: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// For `defer`: kills the process if it still runs.
    func killNow() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A private tansu (memory storage) on a free port.
final class PrivateTansu: @unchecked Sendable {
    let process: BackgroundProcess
    let port: Int
    var broker: String { "127.0.0.1:\(port)" }

    init?() async throws {
        guard let bin = S3T.tansuBinary else {
            if TestEnv.isCI { Issue.record("no tansu binary (KP_TANSU_BIN)") } else { print("skipping: no tansu binary") }
            return nil
        }
        port = try await S3T.freePort()
        process = try BackgroundProcess(bin, ["broker", "--listener-url", "tcp://127.0.0.1:\(port)",
                                              "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
                                              "--storage-engine", "memory://tansu/"])
        for _ in 0..<200 {
            if await S3T.portOpen(port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("private tansu did not open port \(port): \(process.output)")
    }

    func stop() { process.killNow() }
}

/// A private moto S3 (SigV4 checked), the launcher of scripts/services/s3.sh, on a free port.
final class PrivateMoto: @unchecked Sendable {
    var process: BackgroundProcess?
    let port: Int
    let svc: S3T.Services
    var endpoint: String { "http://127.0.0.1:\(port)" }

    init(svc: S3T.Services) async throws {
        self.svc = svc
        port = try await S3T.freePort()
    }

    static var script: String? {
        let candidates = [TestEnv.value("KP_TOOLS").map { $0 + "/moto_s3_server.py" },
                          TestEnv.repoRoot.appendingPathComponent("scripts/tools/moto_s3_server.py").path].compactMap { $0 }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    func start() async throws {
        let script = try #require(Self.script, "moto_s3_server.py not found (KP_TOOLS)")
        process = try BackgroundProcess(svc.python, [script, "--host", "127.0.0.1", "--port", "\(port)",
                                                     "--access-key", svc.key, "--secret", svc.secret])
        for _ in 0..<600 {
            if await S3T.portOpen(port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("private moto did not open port \(port): \(process?.output ?? "")")
    }

    func stop() async {
        _ = await process?.stop(SIGKILL)
        process = nil
    }
}

/// boto3 helper: `s3tool.py ENDPOINT KEY SECRET COMMAND ARGS...`.
let s3tool = #"""
import boto3, gzip, json, os, subprocess, sys, tempfile
from botocore.config import Config
ep, key, secret, cmd = sys.argv[1:5]
args = sys.argv[5:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 10}))

def keys(bucket, prefix):
    out, token = [], None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if token: kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        out += [o["Key"] for o in r.get("Contents", [])]
        if not r.get("IsTruncated"): return out
        token = r["NextContinuationToken"]

if cmd == "mkbucket":
    s3.create_bucket(Bucket=args[0])
elif cmd == "dump":
    bucket, prefix = args[0], args[1] if len(args) > 1 else ""
    for k in sorted(keys(bucket, prefix)):
        try:
            obj = s3.get_object(Bucket=bucket, Key=k)
        except s3.exceptions.NoSuchKey:
            # Replaced by a merge between the listing and the read: its rows are in the newer
            # object (listed or not); this dump is short and the caller looks again.
            continue
        body = obj["Body"].read()
        with tempfile.NamedTemporaryFile(suffix=".gz", delete=False) as f:
            f.write(body)
        text = subprocess.run(["gzip", "-dc", f.name], check=True, capture_output=True).stdout
        os.unlink(f.name)
        topic, _time, part, _name = k.split("/")
        n = 0
        for line in text.split(b"\n"):
            if not line: continue
            row = json.loads(line)
            n += 1
            assert isinstance(row["offset"], int) and isinstance(row["timestamp"], int), line
            print("R", topic + "/" + part, row["offset"], json.dumps(row, sort_keys=True))
        print("O", k.replace(" ", "_"), obj["Metadata"].get("count"), n)
elif cmd == "put":
    # put BUCKET TOPIC PARTITIONS OBJECTS ROWS [old]: objects in the s3.Sink layout (or the old
    # tool's format, no timestamp), value "p-offset".
    bucket, topic, parts, objs, rows = args[0], args[1], int(args[2]), int(args[3]), int(args[4])
    old = len(args) > 5 and args[5] == "old"
    for p in range(parts):
        off = 0
        for o in range(objs):
            lines = []
            for _ in range(rows):
                row = {"offset": off, "key": "k%d" % off, "value": "%d-%d" % (p, off),
                       "headers": [{"key": "h", "value": "v%d" % off}]}
                if not old: row["timestamp"] = 1700000000000 + off
                lines.append(json.dumps(row))
                off += 1
            name = "%s/2024-01-0%d 10:00:00/%d/%018d-%018d.gz" % (topic, 1 + o % 3, p, off - rows, off - 1)
            s3.put_object(Bucket=bucket, Key=name, Body=gzip.compress(("\n".join(lines) + "\n").encode()),
                          Metadata={"count": str(rows)})
elif cmd == "sizes":
    # sizes BUCKET PREFIX: "key size" per object
    for k in sorted(keys(args[0], args[1])):
        print(k.replace(" ", "_"), s3.head_object(Bucket=args[0], Key=k)["ContentLength"])
else:
    sys.exit("unknown command " + cmd)
"""#
