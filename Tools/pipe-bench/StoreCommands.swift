#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Storage

/// `store-bench --updates N [--writers W] [--mode async|sync|concurrent|all] DIR`: N durable
/// updates of one small key: one writer awaiting each `put` (async), one writer with `putSync`
/// (sync), W concurrent writers sharing fsyncs (concurrent). Prints `name=value` lines for bench/store.sh.
@Sendable func storeBench(_ args: [String]) async throws -> Int32 {
    let a = Arguments(args)
    guard let dir = a.positional.first else { usage() }
    let updates = a.int("updates", default: 10_000)
    let writers = a.int("writers", default: 8)
    let mode = a.options["mode"] ?? "all"
    guard ["async", "sync", "concurrent", "all"].contains(mode) else { usage() }
    let clock = ContinuousClock()

    func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
    func fresh(_ name: String) throws -> StateStore {
        let path = dir + "/" + name
        _ = unlink(path + "/state.log")
        return try StateStore.open(directory: path)
    }

    // One writer, async put.
    if mode == "async" || mode == "all" {
        let store = try fresh("async")
        let ns = store.namespace("bench")
        let t = try await clock.measure {
            for i in 0..<updates { try await ns.put("position", string: "0/\(String(i, radix: 16, uppercase: true))") }
        }
        let st = store.statistics
        try store.close()
        writeStdout("ours_async_updates_per_sec=\(Int(Double(updates) / seconds(t)))\n")
        writeStdout("ours_async_syncs=\(st.syncs)\n")
    }
    // One writer, putSync.
    if mode == "sync" || mode == "all" {
        let store = try fresh("sync")
        let ns = store.namespace("bench")
        let t = try clock.measure {
            for i in 0..<updates { try ns.putSync("position", string: "0/\(String(i, radix: 16, uppercase: true))") }
        }
        try store.close()
        writeStdout("ours_sync_updates_per_sec=\(Int(Double(updates) / seconds(t)))\n")
    }
    // W concurrent writers, one key each, N updates in all.
    if mode == "concurrent" || mode == "all" {
        let store = try fresh("concurrent")
        let ns = store.namespace("bench")
        let per = max(1, updates / writers)
        let t = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        for i in 0..<per { try await ns.put("position-\(w)", string: "0/\(i)") }
                    }
                }
                try await group.waitForAll()
            }
        }
        let st = store.statistics
        try store.close()
        writeStdout("ours_concurrent_writers=\(writers)\n")
        writeStdout("ours_concurrent_updates_per_sec=\(Int(Double(per * writers) / seconds(t)))\n")
        writeStdout("ours_concurrent_writes=\(st.writes)\nours_concurrent_syncs=\(st.syncs)\n")
    }
    return 0
}

/// `store-writer [--writers W] [--compact-min BYTES] [--count N] DIR`: W tasks write increasing
/// numbers to their keys until killed (or N writes each) and print one line per acknowledged write:
///   `ack <key> <n>`           a put of n to key returned
///   `ackb <writer> <n>`       a batch setting b<writer>-x and b<writer>-y to n returned
/// A test kills the process with SIGKILL and checks every acknowledged write survived.
@Sendable func storeWriter(_ args: [String]) async throws -> Int32 {
    let a = Arguments(args)
    guard let dir = a.positional.first else { usage() }
    let writers = a.int("writers", default: 4)
    let count = a.int("count", default: Int.max)
    var options = StateStore.Options()
    options.compactionMinBytes = a.int("compact-min", default: options.compactionMinBytes)
    let store = try StateStore.open(directory: dir, options: options)
    let ns = store.namespace("writer")
    writeStdout("ready \(getpid())\n")
    try await withThrowingTaskGroup(of: Void.self) { group in
        for w in 0..<writers {
            group.addTask {
                var n = 1
                while n <= count {
                    if n % 5 == 0 {
                        var batch = StateBatch()
                        batch.put("b\(w)-x", string: "\(n)")
                        batch.put("b\(w)-y", string: "\(n)")
                        try await ns.write(batch)
                        writeStdout("ackb \(w) \(n)\n")
                    } else {
                        let key = "k\(w)-\(n % 3)"
                        try await ns.put(key, string: "\(n)")
                        writeStdout("ack \(key) \(n)\n")
                    }
                    n += 1
                }
            }
        }
        try await group.waitForAll()
    }
    try store.close()
    return 0
}

/// `store-lock-probe DIR`: exit 0 when the directory could be opened, 3 with the error on stdout
/// when another process holds it, 1 on any other error.
@Sendable func storeLockProbe(_ args: [String]) async throws -> Int32 {
    guard let dir = args.first else { usage() }
    do {
        let store = try StateStore.open(directory: dir)
        try store.close()
        writeStdout("opened\n")
        return 0
    } catch let e as StorageError where e.code == .locked {
        writeStdout("\(e)\n")
        return 3
    }
}
