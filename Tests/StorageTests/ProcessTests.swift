import Foundation
import PipeTestSupport
import Testing
@testable import Storage

/// Tests with a second process: `pipe-bench store-writer` killed with SIGKILL mid-write, and
/// `pipe-bench store-lock-probe` against a directory this process holds.
@Suite(.serialized) struct ProcessTests {
    static func requireBinary() -> String? {
        if let p = pipeBenchPath() { return p }
        Issue.record("pipe-bench is not built: run `swift build --build-tests` (or set KP_BIN_DIR to the folder holding pipe-bench)")
        return nil
    }

    @Test(arguments: [1, 2, 3])
    func sigkillLosesNoAcknowledgedWrite(round: Int) throws {
        guard let bin = Self.requireBinary() else { return }
        let dir = TempDir("sigkill")
        defer { dir.remove() }
        // Round 2 and 3 start from what the previous kill left behind.
        for run in 0..<round {
            let p = ChildProcess()
            p.executableURL = URL(fileURLWithPath: bin)
            p.arguments = ["store-writer", "--writers", "4", "--compact-min", "6000", dir.path]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let reader = out.fileHandleForReading
            var text = Data()
            var acks = 0
            let wanted = 150 + 40 * run
            let deadline = Date().addingTimeInterval(120)
            while acks < wanted + 1 && Date() < deadline {  // + the `ready` line
                let chunk = reader.availableData
                if chunk.isEmpty { break }  // the child exited
                acks += chunk.filter { $0 == UInt8(ascii: "\n") }.count
                text.append(chunk)
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            text.append(reader.readDataToEndOfFile())
            #expect(p.terminationReason == .uncaughtSignal, "the writer should have been killed, not exited")
            try check(acknowledged: String(decoding: text, as: UTF8.self), in: dir, minimumAcks: wanted)
        }
    }

    /// Every line the child printed is a write `put` or `write` returned for: it must be in the store.
    func check(acknowledged output: String, in dir: TempDir, minimumAcks: Int) throws {
        var lastPut: [String: Int] = [:]
        var lastBatch: [String: Int] = [:]
        var acks = 0
        for line in output.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            if f.count == 3, f[0] == "ack", let n = Int(f[2]) {
                lastPut[f[1]] = max(lastPut[f[1]] ?? 0, n)
                acks += 1
            } else if f.count == 3, f[0] == "ackb", let n = Int(f[2]) {
                lastBatch[f[1]] = max(lastBatch[f[1]] ?? 0, n)
                acks += 1
            }
        }
        #expect(acks >= minimumAcks)
        let store = try StateStore.open(directory: dir.path)
        defer { try? store.close() }
        let ns = store.namespace("writer")
        for (key, n) in lastPut {
            // A later write to the key may have reached the disk without its ack being printed.
            let stored = ns.getString(key).flatMap { Int($0) }
            #expect(stored != nil && stored! >= n, "\(key): acknowledged \(n), stored \(String(describing: stored))")
        }
        for (w, n) in lastBatch {
            let x = ns.getString("b\(w)-x").flatMap { Int($0) }
            let y = ns.getString("b\(w)-y").flatMap { Int($0) }
            #expect(x == y, "batch of writer \(w) half applied: \(String(describing: x)) vs \(String(describing: y))")
            #expect(x != nil && x! >= n, "batch of writer \(w): acknowledged \(n), stored \(String(describing: x))")
        }
    }

    @Test func secondProcessGetsLockedError() async throws {
        guard let bin = Self.requireBinary() else { return }
        let dir = TempDir("lock")
        defer { dir.remove() }
        let store = try StateStore.open(directory: dir.path)
        let locked = try await Run.program(bin, ["store-lock-probe", dir.path], timeout: 60)
        #expect(locked.status == 3, "stdout: \(locked.stdout) stderr: \(locked.stderr)")
        #expect(locked.stdout.contains(dir.path))
        #expect(locked.stdout.contains("PID \(getpid())"))
        try store.close()
        let free = try await Run.program(bin, ["store-lock-probe", dir.path], timeout: 60)
        #expect(free.status == 0)
        #expect(free.stdout.contains("opened"))
    }
}
