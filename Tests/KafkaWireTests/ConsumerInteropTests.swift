import Foundation
import KafkaWire
import NIOCore
import PipeTestSupport
import Synchronization
import Testing

/// The group consumer with other processes: `kcat -G` in the same group (range assignor), and a
/// `pipe-bench group-consumer` child killed with SIGKILL mid-stream.
@Suite(.serialized) struct ConsumerInteropTests {
    typealias Live = ConsumerGroupLiveTests

    static var kcat: String? {
        let path = TestEnv.value("KP_KCAT") ?? "/work/devsvc-scripts/kcat-modern"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    static func pipeBench() -> String? {
        var candidates: [String] = []
        if let dir = TestEnv.value("KP_BIN_DIR") { candidates.append(dir + "/pipe-bench") }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("pipe-bench").path)
        }
        candidates.append(TestEnv.repoRoot.appendingPathComponent(".build/debug/pipe-bench").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A child process whose standard output goes to a file.
    final class Child {
        let process = ChildProcess()
        let output: URL

        init(_ path: String, _ arguments: [String]) throws {
            output = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp_child") + ".out")
            FileManager.default.createFile(atPath: output.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
        var lines: [Substring] { text.split(separator: "\n") }

        func kill(_ signal: Int32) {
            if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
        }

        func wait(_ seconds: Double) async {
            let end = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < end { try? await Task.sleep(nanoseconds: 50_000_000) }
            if process.isRunning { kill(SIGKILL) }
            while process.isRunning { try? await Task.sleep(nanoseconds: 20_000_000) }
        }

        func remove() { try? FileManager.default.removeItem(at: output) }
    }

    /// Our consumer and `kcat -G` with the range assignor split the partitions; records produced
    /// after the split are each seen by exactly one of them.
    @Test func mixedGroupWithKcatOnTansu() async throws {
        guard let servers = Live.bootstrap("KP_KAFKA") else { return }
        guard let kcat = Self.kcat else {
            if TestEnv.isCI { Issue.record("no kcat (KP_KCAT)") }
            return
        }
        let topic = TestEnv.unique("kp_grpk")
        let group = TestEnv.unique("kp-gk")
        let cluster = try Live.cluster(servers)
        defer { Task { await cluster.shutdown() } }
        let n: Int32 = 4
        try await Live.createTopic(cluster, topic, partitions: n, mock: false)

        let child = try Child(kcat, ["-b", servers, "-G", group, "-X", "partition.assignment.strategy=range",
                                     "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000",
                                     "-X", "heartbeat.interval.ms=500", "-u", "-q", "-f", "%p %s\\n", topic])
        let ours = Live.Member()
        let consumer = Live.makeConsumer(cluster, Live.config(group, topic), ours)
        try await withThrowingTaskGroup(of: Void.self) { g in
            g.addTask { try await Live.runMember(consumer, ours) }
            // The split: we hold some partitions and not all, for a few seconds in a row.
            var stableFor = 0
            for _ in 0..<300 where stableFor < 40 {
                let c = consumer.assignment.count
                stableFor = (c > 0 && c < Int(n)) ? stableFor + 1 : 0
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            #expect(stableFor >= 40, "our assignment: \(consumer.assignment)")
            let values = (0..<400).map { "m\($0)" }
            try await Live.produce(cluster, topic: topic, values, partitions: n)
            let done = try await Live.waitUntil(40) { ours.count + child.lines.count >= values.count }
            #expect(done, "ours \(ours.count), kcat \(child.lines.count)")
            try await Task.sleep(nanoseconds: 1_000_000_000)
            let mine = ours.seen.withLock { $0 }
            let theirs = child.lines.compactMap { $0.split(separator: " ").last.map(String.init) }
            let kcatPartitions = Set(child.lines.compactMap { $0.split(separator: " ").first.flatMap { Int32($0) } })
            #expect(!mine.isEmpty && !theirs.isEmpty)
            #expect(Set(mine).isDisjoint(with: theirs))
            #expect((mine + theirs).sorted() == values.sorted())
            #expect(kcatPartitions.isDisjoint(with: Set(consumer.assignment.map(\.partition))))
            consumer.leave()
            child.kill(SIGTERM)
            try await g.waitForAll()
        }
        await child.wait(10)
        child.remove()
    }

    /// A consuming process killed with SIGKILL: a new one resumes at the last commit; nothing
    /// committed comes again and nothing uncommitted is lost.
    @Test func crashResumesFromLastCommitOnTansu() async throws {
        guard let servers = Live.bootstrap("KP_KAFKA") else { return }
        guard let bench = Self.pipeBench() else {
            Issue.record("pipe-bench is not built (swift build --product pipe-bench)")
            return
        }
        let topic = TestEnv.unique("kp_grpc")
        let group = TestEnv.unique("kp-gc")
        let cluster = try Live.cluster(servers)
        defer { Task { await cluster.shutdown() } }
        let n: Int32 = 3
        try await Live.createTopic(cluster, topic, partitions: n, mock: false)
        let values = (0..<3000).map { "v\($0)" }
        for chunk in stride(from: 0, to: values.count, by: 150) {  // small batches: many commits
            try await Live.produce(cluster, topic: topic, Array(values[chunk..<(chunk + 150)]), partitions: n)
        }

        let args = ["group-consumer", "--bootstrap", servers, "--group", group, "--topic", topic,
                    "--session-ms", "6000", "--heartbeat-ms", "500", "--partition-bytes", "2000", "--batch-delay-ms", "100"]
        let first = try Child(bench, args)
        defer { first.remove() }
        // Kill it once it committed something, well before it read everything.
        let started = try await Live.waitUntil(40) { first.lines.filter { $0.hasPrefix("C ") }.count >= 3 }
        #expect(started, "the first consumer committed nothing: \(first.text.prefix(500))")
        first.kill(SIGKILL)
        await first.wait(5)
        var committed: [Int32: Int64] = [:]
        for l in first.lines where l.hasPrefix("C ") {
            let f = l.split(separator: " ")
            committed[Int32(f[1])!] = max(committed[Int32(f[1])!] ?? 0, Int64(f[2])!)
        }
        let remaining = values.count - Int(committed.values.reduce(0, +))
        #expect(remaining > 0, "the first consumer read everything before the kill")

        let second = try Child(bench, args + ["--max", "\(remaining)"])
        defer { second.remove() }
        await second.wait(90)
        var offsets: [Int32: [Int64]] = [:]
        var seen: [String] = []
        for l in second.lines where l.hasPrefix("R ") {
            let f = l.split(separator: " ")
            offsets[Int32(f[1])!, default: []].append(Int64(f[2])!)
            seen.append(String(f[3]))
        }
        #expect(second.lines.last?.hasPrefix("DONE") == true, "second: \(second.text.suffix(300))")
        let end = Int64(values.count) / Int64(n)
        for p in 0..<n {
            let from = committed[p] ?? 0
            // Exactly the records after the commit: none before it again, none missing.
            #expect(offsets[p] ?? [] == Array(from..<end), "partition \(p) from \(from): \(offsets[p]?.first ?? -1)...")
        }
        #expect(seen.count == remaining)
    }

    /// A member in another process killed with SIGKILL: its partitions move to the survivor
    /// within the session timeout (6 s) plus a rejoin.
    @Test func killedMemberPartitionsMoveOnTansu() async throws {
        guard let servers = Live.bootstrap("KP_KAFKA") else { return }
        guard let bench = Self.pipeBench() else {
            Issue.record("pipe-bench is not built (swift build --product pipe-bench)")
            return
        }
        let topic = TestEnv.unique("kp_grpkill")
        let group = TestEnv.unique("kp-gkill")
        let cluster = try Live.cluster(servers)
        defer { Task { await cluster.shutdown() } }
        let n: Int32 = 4
        try await Live.createTopic(cluster, topic, partitions: n, mock: false)
        let child = try Child(bench, ["group-consumer", "--bootstrap", servers, "--group", group, "--topic", topic,
                                      "--session-ms", "6000", "--heartbeat-ms", "500"])
        defer { child.remove() }
        let ours = Live.Member()
        let consumer = Live.makeConsumer(cluster, Live.config(group, topic), ours)
        try await withThrowingTaskGroup(of: Void.self) { g in
            g.addTask { try await Live.runMember(consumer, ours) }
            let split = try await Live.waitUntil(40) { (1..<Int(n)).contains(consumer.assignment.count) }
            #expect(split, "our assignment: \(consumer.assignment)")
            child.kill(SIGKILL)
            let killedAt = Date()
            let moved = try await Live.waitUntil(30) { consumer.assignment.count == Int(n) }
            #expect(moved, "after the kill: \(consumer.assignment)")
            let took = Date().timeIntervalSince(killedAt)
            print("partitions moved \(took) s after SIGKILL")
            let values = (0..<100).map { "k\($0)" }
            try await Live.produce(cluster, topic: topic, values, partitions: n)
            let all = try await Live.waitUntil(30) { ours.count >= values.count }
            #expect(all, "ours \(ours.count)")
            consumer.leave()
            try await g.waitForAll()
        }
        await child.wait(5)
    }
}
