import Foundation
import Testing
@testable import Storage

/// Writers that append while the leader's fsync runs share the next fsync.
// Serialized: each test parks a leader on a cooperative thread, and there may be only two.
@Suite(.serialized) struct GroupCommitTests {
    final class Gate: @unchecked Sendable {
        private let condition = NSCondition()
        private var open = false
        private var entered = 0
        /// Blocks the first caller until `release()`; later callers pass.
        func pass() {
            condition.lock()
            entered += 1
            if entered == 1 { while !open { condition.wait() } }
            condition.unlock()
        }
        func release() { condition.lock(); open = true; condition.broadcast(); condition.unlock() }
        var leaderInside: Bool { condition.lock(); defer { condition.unlock() }; return entered >= 1 }
    }

    @Test func followersAppendedDuringAnFsyncShareOneFsync() async throws {
        let dir = TempDir("group")
        defer { dir.remove() }
        let gate = Gate()
        var options = StateStore.Options(preallocationBytes: 4096)
        options.leaderSyncHook = { gate.pass() }
        let store = try StateStore.open(directory: dir.path, options: options)
        let ns = store.namespace("g")

        // The leader appends and stops just before its fsync.
        let leader = Task.detached { try await ns.put("leader", [1]) }
        while !gate.leaderInside { try await Task.sleep(for: .milliseconds(1)) }
        // Five followers append while the leader's fsync is "running", then wait.
        let followers = (0..<5).map { i in Task.detached { try await ns.put("f\(i)", [UInt8(i)]) } }
        while store.statistics.writes < 6 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(store.statistics.syncs == 0)
        gate.release()
        try await leader.value
        for f in followers { try await f.value }

        // One fsync for the leader, one more (by the first follower, handed the lead) for all five.
        #expect(store.statistics.syncs == 2)
        #expect(store.statistics.writes == 6)
        try store.close()
        let reopened = try StateStore.openReadOnly(directory: dir.path)
        #expect(reopened.namespace("g").scan().count == 6)
    }

    struct SimulatedEIO: Error {}

    @Test func failedFsyncFailsTheLeaderEveryWaiterAndLaterWrites() async throws {
        let dir = TempDir("eio")
        defer { dir.remove() }
        let gate = Gate()
        var options = StateStore.Options(preallocationBytes: 4096)
        options.leaderSyncHook = { gate.pass(); throw SimulatedEIO() }
        let store = try StateStore.open(directory: dir.path, options: options)
        let ns = store.namespace("g")

        let leader = Task.detached { try await ns.put("leader", [1]) }
        while !gate.leaderInside { try await Task.sleep(for: .milliseconds(1)) }
        let followers = (0..<4).map { i in Task.detached { try await ns.put("f\(i)", [UInt8(i)]) } }
        while store.statistics.writes < 5 { try await Task.sleep(for: .milliseconds(1)) }
        gate.release()

        func expectIOError(_ task: Task<Void, any Error>) async {
            do {
                try await task.value
                Issue.record("a write whose fsync failed was acknowledged")
            } catch let e as StorageError {
                #expect(e.code == .io)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        await expectIOError(leader)
        for f in followers { await expectIOError(f) }
        // The store refuses every later write, async or not.
        await expectIOError(Task { try await ns.put("later", [2]) })
        #expect(throws: StorageError.self) { try ns.putSync("later", [2]) }
        try? store.close()
        // The lock is released and the store opens again.
        let reopened = try StateStore.open(directory: dir.path)
        try await reopened.namespace("g").put("again", [3])
        try reopened.close()
    }
}
