import Foundation
import Testing
@testable import Storage

@Suite struct StateStoreTests {
    @Test func putGetDeleteAndReopen() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        do {
            let store = try StateStore.open(directory: dir.path)
            let ns = store.namespace("pg-orders")
            #expect(ns.get("lsn") == nil)
            try await ns.put("lsn", string: "0/1A2B3C8")
            try await ns.put("slot", [1, 2, 3])
            try await ns.put("gone", [9])
            try await ns.delete("gone")
            try await ns.delete("never-there")
            #expect(ns.getString("lsn") == "0/1A2B3C8")
            #expect(ns.get("slot") == [1, 2, 3])
            #expect(ns.get("gone") == nil)
            try store.close()
        }
        let store = try StateStore.open(directory: dir.path)
        let ns = store.namespace("pg-orders")
        #expect(ns.getString("lsn") == "0/1A2B3C8")
        #expect(ns.get("slot") == [1, 2, 3])
        #expect(ns.get("gone") == nil)
        #expect(store.namespaces() == ["pg-orders"])
        try store.close()
    }

    @Test func namespacesAreSeparateAndScanIsSortedByPrefix() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try StateStore.open(directory: dir.path)
        let a = store.namespace("a"), b = store.namespace("b")
        for key in ["p/2", "p/10", "p/1", "q", "p"] { try await a.put(key, string: key.uppercased()) }
        try await b.put("p/1", string: "other")
        #expect(a.scan(prefix: "p/").map(\.key) == ["p/1", "p/10", "p/2"])
        #expect(a.scan(prefix: "").map(\.key) == ["p", "p/1", "p/10", "p/2", "q"])
        #expect(a.scan(prefix: "zz").isEmpty)
        #expect(b.scan(prefix: "p").map { String(decoding: $0.value, as: UTF8.self) } == ["other"])
        #expect(store.namespace("none").scan(prefix: "").isEmpty)
        #expect(store.namespaces() == ["a", "b"])
        try await b.delete("p/1")
        #expect(store.namespaces() == ["a"])
        try store.close()
    }

    @Test func batchAppliesInOrderAndAtomically() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try StateStore.open(directory: dir.path, options: .init(preallocationBytes: 0))
        let ns = store.namespace("sink")
        try await ns.put("old", [0])
        var batch = StateBatch()
        batch.put("range", [1])
        batch.put("range", [2])
        batch.delete("old")
        batch.put("done", string: "yes")
        #expect(batch.count == 4)
        let before = try dir.readLog().count
        try await ns.write(batch)
        #expect(ns.get("range") == [2])
        #expect(ns.get("old") == nil)
        #expect(ns.getString("done") == "yes")
        try store.close()
        // One record: cutting its last byte loses the whole batch, not part of it.
        let log = try dir.readLog()
        #expect(log.count > before)
        try dir.writeLog(Array(log.dropLast()))
        let reopened = try StateStore.openReadOnly(directory: dir.path)
        #expect(contents(of: reopened) == ["sink": ["old": [0]]])
    }

    @Test func syncVariantsPersist() throws {
        let dir = TempDir()
        defer { dir.remove() }
        do {
            let store = try StateStore.open(directory: dir.path)
            let ns = store.namespace("s3")
            try ns.putSync("a", [1])
            try ns.putSync("b", string: "two")
            try ns.deleteSync("a")
            var batch = StateBatch()
            batch.put("c", [3])
            try ns.writeSync(batch)
            try store.close()
        }
        let store = try StateStore.openReadOnly(directory: dir.path)
        #expect(contents(of: store) == ["s3": ["b": Array("two".utf8), "c": [3]]])
    }

    @Test func readOnlyStoreRefusesWritesAndSeesASnapshot() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let writer = try StateStore.open(directory: dir.path)
        try await writer.namespace("n").put("k", [1])
        // Read-only needs no lock, so it opens while the writer holds the directory.
        let reader = try StateStore.openReadOnly(directory: dir.path)
        #expect(reader.namespace("n").get("k") == [1])
        try await writer.namespace("n").put("k", [5])
        #expect(reader.namespace("n").get("k") == [1])
        do {
            try await reader.namespace("n").put("k", [2])
            Issue.record("a write on a read-only store succeeded")
        } catch let e as StorageError {
            #expect(e.code == .readOnly)
        }
        do {
            try reader.namespace("n").putSync("k", [2])
            Issue.record("a write on a read-only store succeeded")
        } catch let e as StorageError {
            #expect(e.code == .readOnly)
        }
        try writer.close()
        try reader.close()
    }

    @Test func readOnlyOfMissingDirectoryIsNotFound() {
        do {
            _ = try StateStore.openReadOnly(directory: "/nonexistent/kp-\(UUID().uuidString)")
            Issue.record("opened a missing directory")
        } catch let e as StorageError {
            #expect(e.code == .notFound)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func secondOpenInThisProcessIsLocked() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try StateStore.open(directory: dir.path)
        do {
            _ = try StateStore.open(directory: dir.path)
            Issue.record("a second open succeeded")
        } catch let e as StorageError {
            #expect(e.code == .locked)
            #expect(e.lockHolderPID == getpid())
            #expect(e.description.contains(dir.path))
            #expect(e.description.contains("PID \(getpid())"))
        }
        try store.close()
        // Closing releases the lock.
        let again = try StateStore.open(directory: dir.path)
        try again.close()
    }

    @Test func closedStoreRefusesWrites() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try StateStore.open(directory: dir.path)
        try await store.namespace("n").put("k", [1])
        try store.close()
        try store.close()  // twice is fine
        do {
            try await store.namespace("n").put("k", [2])
            Issue.record("a write on a closed store succeeded")
        } catch let e as StorageError {
            #expect(e.code == .closed)
        }
    }

    @Test func oversizedKeyIsRejectedAndStoreGoesOn() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try StateStore.open(directory: dir.path)
        let ns = store.namespace("n")
        do {
            try await ns.put(String(repeating: "k", count: 70_000), [1])
            Issue.record("an oversized key was accepted")
        } catch let e as StorageError {
            #expect(e.code == .invalidArgument)
        }
        try await ns.put("k", [])
        #expect(ns.get("k") == [])
        try store.close()
    }

    @Test func foreignFileIsCorruptNotOverwritten() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let foreign = Array("this is not a state log at all".utf8)
        try dir.writeLog(foreign)
        for readOnly in [false, true] {
            do {
                _ = readOnly ? try StateStore.openReadOnly(directory: dir.path) : try StateStore.open(directory: dir.path)
                Issue.record("opened a foreign file")
            } catch let e as StorageError {
                #expect(e.code == .corrupt)
            }
        }
        #expect(try dir.readLog() == foreign)
        // The failed open released the lock.
        try FileManager.default.removeItem(atPath: dir.logPath)
        try StateStore.open(directory: dir.path).close()
    }

    @Test func incompleteHeaderIsAnEmptyStore() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        for n in 0..<LogFormat.magic.count {
            try dir.writeLog(Array(LogFormat.magic.prefix(n)))
            #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)).isEmpty)
            let store = try StateStore.open(directory: dir.path)
            try await store.namespace("n").put("k", [UInt8(n)])
            try store.close()
            #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == ["n": ["k": [UInt8(n)]]])
        }
    }

    @Test func concurrentWritersAllPersist() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = try StateStore.open(directory: dir.path, options: .init(compactionMinBytes: 4096, compactionRatio: 2))
        let ns = store.namespace("g")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<12 {
                group.addTask {
                    for i in 0..<40 {
                        if i % 7 == 0 {
                            try ns.putSync("w\(w)", string: "\(i)")
                        } else {
                            try await ns.put("w\(w)", string: "\(i)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let stats = store.statistics
        #expect(stats.writes == 12 * 40)
        #expect(stats.syncs <= stats.writes)
        #expect(stats.compactions > 0)
        try store.close()
        let reopened = try StateStore.openReadOnly(directory: dir.path)
        for w in 0..<12 { #expect(reopened.namespace("g").getString("w\(w)") == "39") }
    }
}
