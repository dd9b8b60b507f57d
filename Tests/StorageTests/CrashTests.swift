import Foundation
import PipeTestSupport
import Testing
@testable import Storage

/// A crash leaves the log cut anywhere in its last records (or, with preallocation, with zeros
/// where the rest of a record should be). Reopening must give exactly the state after the last
/// complete record, and a writable reopen must cut the tail so later writes persist.
@Suite struct CrashTests {
    /// Writes a sequence of records and returns, for each, where it ends and the state after it.
    static func writeHistory(_ dir: TempDir, records: Int, preallocation: Int) async throws -> [(end: Int, state: Model)] {
        let store = try StateStore.open(directory: dir.path, options: .init(preallocationBytes: preallocation))
        var model: Model = [:]
        var history: [(end: Int, state: Model)] = [(Int(store.statistics.logBytes), model)]
        for i in 0..<records {
            let ns = store.namespace(i % 3 == 0 ? "a" : "b")
            switch i % 4 {
            case 0, 1:
                let v = Array("value-\(i)".utf8)
                try await ns.put("k\(i % 5)", v)
                model.put(ns.name, "k\(i % 5)", v)
            case 2:
                try await ns.delete("k\((i + 1) % 5)")
                model.delete(ns.name, "k\((i + 1) % 5)")
            default:
                var batch = StateBatch()
                batch.put("x", [UInt8(i)])
                batch.delete("k0")
                batch.put("y", Array(repeating: UInt8(i), count: i))
                try await ns.write(batch)
                model.put(ns.name, "x", [UInt8(i)])
                model.delete(ns.name, "k0")
                model.put(ns.name, "y", Array(repeating: UInt8(i), count: i))
            }
            history.append((Int(store.statistics.logBytes), model))
        }
        try store.close()
        return history
    }

    static func expected(_ history: [(end: Int, state: Model)], at cut: Int) -> Model {
        history.last { $0.end <= cut }?.state ?? [:]
    }

    @Test(arguments: [false, true])
    func cutAtEveryByteOfTheLastRecords(zeroFilled: Bool) async throws {
        let source = TempDir("crash-src")
        defer { source.remove() }
        let history = try await Self.writeHistory(source, records: 24, preallocation: zeroFilled ? 4096 : 0)
        let log = try source.readLog()
        let start = history[history.count - 6].end
        let end = history.last!.end
        #expect(zeroFilled ? log.count == 4096 : log.count == end)

        let dir = TempDir("crash")
        defer { dir.remove() }
        for cut in start...end {
            // Zero-filled: a torn write into preallocated space; otherwise a short file.
            let image = zeroFilled ? Array(log[..<cut]) + [UInt8](repeating: 0, count: log.count - cut) : Array(log[..<cut])
            try dir.writeLog(image)
            let want = Self.expected(history, at: cut)
            #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == want, "cut at \(cut)")
            #expect(try dir.readLog() == image, "read-only open changed the log")

            // A writable open cuts the torn tail; a new write after it survives the next reopen.
            let store = try StateStore.open(directory: dir.path, options: .init(preallocationBytes: zeroFilled ? 4096 : 0))
            #expect(contents(of: store) == want, "cut at \(cut)")
            let validEnd = history.last { $0.end <= cut }!.end
            #expect(store.statistics.logBytes == Int64(validEnd))
            try store.namespace("after").putSync("crash", [1])
            try store.close()
            var wantAfter = want
            wantAfter.put("after", "crash", [1])
            #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == wantAfter, "cut at \(cut)")
        }
    }

    @Test func corruptByteInTheLastRecordDropsOnlyThatRecord() async throws {
        let source = TempDir("corrupt-src")
        defer { source.remove() }
        let history = try await Self.writeHistory(source, records: 8, preallocation: 0)
        let log = try source.readLog()
        let lastStart = history[history.count - 2].end
        let dir = TempDir("corrupt")
        defer { dir.remove() }
        for i in lastStart..<log.count {
            for flip: UInt8 in [0x01, 0x80] {
                var image = log
                image[i] ^= flip
                try dir.writeLog(image)
                #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == history[history.count - 2].state,
                        "byte \(i) ^ \(flip)")
            }
        }
    }

    @Test func corruptionInTheMiddleCutsFromThere() async throws {
        let source = TempDir("mid-src")
        defer { source.remove() }
        let history = try await Self.writeHistory(source, records: 10, preallocation: 0)
        var log = try source.readLog()
        // Damage the payload of record 5: records 5... are gone, 0..<5 intact.
        log[history[4].end + 9] ^= 0xFF
        let dir = TempDir("mid")
        defer { dir.remove() }
        try dir.writeLog(log)
        let store = try StateStore.open(directory: dir.path, options: .init(preallocationBytes: 0))
        #expect(contents(of: store) == history[4].state)
        try store.close()
        #expect(try dir.readLog().count == history[4].end)
    }

    @Test func garbageAfterTheRecordsIsRemovedSoItCannotResurface() async throws {
        let dir = TempDir("garbage")
        defer { dir.remove() }
        let history = try await Self.writeHistory(dir, records: 4, preallocation: 4096)
        var log = try dir.readLog()
        // A valid record of an old, longer log, left beyond a torn one.
        let stale = try LogFormat.encodeRecord([.put(namespace: "a", key: "stale", value: [7])])
        let at = history.last!.end + 40
        log.replaceSubrange(at..<(at + stale.count), with: stale)
        log[history.last!.end] = 0x33  // a torn record header
        try dir.writeLog(log)
        let store = try StateStore.open(directory: dir.path, options: .init(preallocationBytes: 4096))
        #expect(contents(of: store) == history.last!.state)
        // Short records that land exactly on the stale one must not bring it back.
        for i in 0..<10 { try store.namespace("a").putSync("n", [UInt8(i)]) }
        try store.close()
        var want = history.last!.state
        want.put("a", "n", [9])
        #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == want)
    }
}

/// The fuzz seeds are written from DESIGN.md's format description by hand (not by the store):
/// the store must read them as documented.
@Suite struct FormatTests {
    static func seed(_ name: String) throws -> [UInt8] {
        let url = TestEnv.repoRoot.appendingPathComponent("Fuzz/corpus/FuzzStateLog/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    @Test func documentedFormatDecodes() throws {
        let dir = TempDir("format")
        defer { dir.remove() }
        try dir.writeLog(try Self.seed("batch-and-delete"))
        #expect(contents(of: try StateStore.openReadOnly(directory: dir.path))
                == ["ch": ["range/1": Array("200-299".utf8)], "s3": ["last": Array("42".utf8)]])
        try dir.writeLog(try Self.seed("torn-tail"))
        #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == ["pg": ["lsn": Array("0/10".utf8)]])
        try dir.writeLog(try Self.seed("zero-tail"))
        let store = try StateStore.open(directory: dir.path, options: .init(preallocationBytes: 0))
        #expect(contents(of: store) == ["pg": ["lsn": Array("0/10".utf8)]])
        try store.close()
        // Zeros after the records are preallocated space, not damage: left in place.
        #expect(try dir.readLog() == (try Self.seed("zero-tail")))
    }

    @Test func encoderMatchesTheDocumentedLayout() throws {
        let record = try LogFormat.encodeRecord([.put(namespace: "pg", key: "lsn", value: Array("0/1A2B3C8".utf8))])
        #expect(LogFormat.magic + record == (try Self.seed("one-put")))
    }
}
