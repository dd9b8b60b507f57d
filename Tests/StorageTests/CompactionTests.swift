import Foundation
import Testing
@testable import Storage

/// A crash or an I/O failure at every step of a compaction leaves a store that opens with every
/// acknowledged write.
@Suite struct CompactionTests {
    static let steps = CompactionStep.allCases

    /// Fills a store, then injects `fault` at `step` of an explicit compaction.
    @Test(arguments: steps, [InjectedFault.crash, .ioFailure])
    func faultAtEveryStep(step: CompactionStep, fault: InjectedFault) async throws {
        let dir = TempDir("compact")
        defer { dir.remove() }
        let trap = Trap()
        var options = StateStore.Options(compactionMinBytes: 1 << 30, preallocationBytes: 512)
        options.compactionHook = { try trap.fire($0) }
        let store = try StateStore.open(directory: dir.path, options: options)
        var model: Model = [:]
        for i in 0..<60 {
            let v = Array("v\(i)".utf8)
            try await store.namespace("n\(i % 2)").put("k\(i % 7)", v)
            model.put("n\(i % 2)", "k\(i % 7)", v)
        }
        try await store.namespace("n0").delete("k3")
        model.delete("n0", "k3")
        let logBefore = try dir.readLog()

        trap.arm(step) { _ in throw fault }
        #expect(throws: StorageError.self) { try store.compact() }
        trap.arm(nil)
        let beforeRename = step == .start || step == .written || step == .synced

        if fault == .ioFailure && beforeRename {
            // A failed compaction before the rename is cleaned up and the old log goes on.
            #expect(!dir.exists(StateStore.compactName))
            #expect(try dir.readLog() == logBefore)
            try await store.namespace("n1").put("after", [1])
            model.put("n1", "after", [1])
            #expect(contents(of: store) == model)
        } else {
            // A crash, or a failure once the new log is in place: the store takes no more writes.
            await #expect(throws: StorageError.self) { try await store.namespace("n1").put("after", [1]) }
        }
        try store.close()

        let reopened = try StateStore.open(directory: dir.path, options: .init(preallocationBytes: 512))
        #expect(contents(of: reopened) == model, "\(step) \(fault)")
        #expect(!dir.exists(StateStore.compactName), "the leftover compaction file is removed on open")
        try await reopened.namespace("n0").put("again", [2])
        model.put("n0", "again", [2])
        try reopened.close()
        #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == model)
    }

    /// The process dies while the new file is half written: the old log is still the log.
    @Test func crashWithAHalfWrittenCompactionFile() async throws {
        let dir = TempDir("half")
        defer { dir.remove() }
        let trap = Trap()
        var options = StateStore.Options(compactionMinBytes: 1 << 30, preallocationBytes: 0)
        options.compactionHook = { try trap.fire($0) }
        let store = try StateStore.open(directory: dir.path, options: options)
        var model: Model = [:]
        for i in 0..<40 {
            try await store.namespace("n").put("k\(i)", [UInt8(i)])
            model.put("n", "k\(i)", [UInt8(i)])
        }
        let compactPath = dir.path + "/" + StateStore.compactName
        trap.arm(.written) { _ in
            let full = try Data(contentsOf: URL(fileURLWithPath: compactPath))
            try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: compactPath))
            throw InjectedFault.crash
        }
        #expect(throws: StorageError.self) { try store.compact() }
        try store.close()
        #expect(dir.exists(StateStore.compactName))
        #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == model)
        let reopened = try StateStore.open(directory: dir.path)
        #expect(contents(of: reopened) == model)
        #expect(!dir.exists(StateStore.compactName))
        try reopened.close()
    }

    @Test func thresholdCompactionShrinksTheLogAndKeepsLiveData() async throws {
        let dir = TempDir("threshold")
        defer { dir.remove() }
        let options = StateStore.Options(compactionMinBytes: 4096, compactionRatio: 4, preallocationBytes: 0)
        let store = try StateStore.open(directory: dir.path, options: options)
        let ns = store.namespace("pg")
        for i in 0..<2000 { try await ns.put("lsn", string: "0/\(i)") }
        let stats = store.statistics
        #expect(stats.compactions > 0)
        #expect(stats.logBytes < 4096 + 64)
        #expect(try dir.readLog().count == Int(stats.logBytes))
        try store.close()
        let reopened = try StateStore.openReadOnly(directory: dir.path)
        #expect(reopened.namespace("pg").getString("lsn") == "0/1999")
    }

    @Test func compactionWhileWritersWaitKeepsEveryWrite() async throws {
        let dir = TempDir("busy")
        defer { dir.remove() }
        let options = StateStore.Options(compactionMinBytes: 2048, compactionRatio: 2, preallocationBytes: 1024)
        let store = try StateStore.open(directory: dir.path, options: options)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<6 {
                group.addTask {
                    for i in 0..<60 { try await store.namespace("w").put("k\(w)", string: "\(i)") }
                }
            }
            group.addTask { for _ in 0..<5 { try store.compact(); await Task.yield() } }
            try await group.waitForAll()
        }
        try store.close()
        let reopened = try StateStore.openReadOnly(directory: dir.path)
        for w in 0..<6 { #expect(reopened.namespace("w").getString("k\(w)") == "59") }
    }
}
