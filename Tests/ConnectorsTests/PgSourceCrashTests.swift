import Foundation
import PipeTestSupport
import Testing

/// A deterministic workload of mixed transactions on one table and what pg.Source must deliver.
struct PgSourceWorkload {
    /// The SQL script (one psql session: commit order is script order).
    var sql = ""
    /// Per key, the changes in commit order: `c:v`, `u:v`, `d:v` (deletes carry the old row: FULL).
    var expected: [Int: [String]] = [:]
    var changes = 0

    /// `changes` changes over `keys` keys in transactions of 1...40 changes, one large transaction of
    /// `largeTransaction` changes in the middle, and a short sleep after each transaction so the
    /// workload spreads over time (kills then land at many points of it).
    init(table: String, changes target: Int, keys: Int = 400, largeTransaction: Int = 3000, sleep: Double = 0.012, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var rows: [Int: Int] = [:]
        var seq = 0
        var largeDone = false
        var lines: [String] = []
        while changes < target {
            let size: Int
            if !largeDone && changes >= target / 2 {
                size = largeTransaction
                largeDone = true
            } else {
                size = Int(rng.next() % 40) + 1
            }
            lines.append("BEGIN;")
            for _ in 0..<size {
                let k = Int(rng.next() % UInt64(keys))
                seq += 1
                if let old = rows[k] {
                    if rng.next() % 10 < 7 {
                        lines.append("UPDATE \(table) SET v = \(seq) WHERE k = \(k);")
                        rows[k] = seq
                        expected[k, default: []].append("u:\(seq)")
                    } else {
                        lines.append("DELETE FROM \(table) WHERE k = \(k);")
                        rows[k] = nil
                        expected[k, default: []].append("d:\(old)")
                    }
                } else {
                    lines.append("INSERT INTO \(table) VALUES (\(k), \(seq));")
                    rows[k] = seq
                    expected[k, default: []].append("c:\(seq)")
                }
                changes += 1
            }
            lines.append("COMMIT;")
            if sleep > 0 { lines.append("SELECT pg_sleep(\(sleep));") }
        }
        sql = lines.joined(separator: "\n")
    }

    /// The script cut into `n` parts at transaction boundaries.
    func parts(_ n: Int) -> [String] {
        let lines = sql.split(separator: "\n", omittingEmptySubsequences: false)
        let size = max(1, lines.count / n)
        var parts: [String] = []
        var current: [Substring] = []
        for line in lines {
            current.append(line)
            if current.count >= size && (line == "COMMIT;" || line.hasPrefix("SELECT pg_sleep")) && parts.count < n - 1 {
                parts.append(current.joined(separator: "\n"))
                current = []
            }
        }
        if !current.isEmpty { parts.append(current.joined(separator: "\n")) }
        return parts
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What a crash test found in the topic.
struct DeliveryCheck {
    var distinct = 0
    var duplicates = 0
    /// Places where the LSN went backwards (a restart replaying its unconfirmed window).
    var rewinds = 0
    var problems: [String] = []

    init(records: [PgSourceTestKit.Record], expected: [Int: [String]]) {
        var seen = Set<String>()
        var perKey: [Int: [String]] = [:]
        var last: UInt64 = 0
        var highest: UInt64 = 0
        for r in records {
            guard let lsnText = r.header("lsn"), let key = PgSourceTestKit.json(r.key) as? [String: Any],
                  let k = (key["k"] as? NSNumber)?.intValue, let op = r.header("op"),
                  let value = PgSourceTestKit.json(r.value) as? [String: Any], let v = (value["v"] as? NSNumber)?.intValue else {
                problems.append("unreadable record at offset \(r.offset): \(r.key ?? "nil") \(r.value ?? "nil")")
                continue
            }
            let parts = lsnText.split(separator: "/").map { UInt64($0, radix: 16) ?? 0 }
            let lsn = parts.count == 2 ? parts[0] << 32 | parts[1] : 0
            if lsn < last { rewinds += 1 }
            last = lsn
            if seen.insert("\(lsnText)|\(k)|\(op)").inserted {
                if lsn < highest { problems.append("new change \(op):\(v) of key \(k) at \(lsnText) after \(highest): out of commit order") }
                highest = max(highest, lsn)
                distinct += 1
                perKey[k, default: []].append("\(op):\(v)")
            } else {
                duplicates += 1
            }
        }
        for (k, changes) in expected where perKey[k] != changes {
            let got = perKey[k] ?? []
            let firstDiff = zip(got, changes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, changes.count)
            problems.append("key \(k): \(got.count) changes in Kafka, \(changes.count) committed; first difference at #\(firstDiff)")
        }
        for k in perKey.keys where expected[k] == nil { problems.append("key \(k) in Kafka was never changed") }
    }
}

/// Crash safety through the real binary: SIGKILL at random moments during a workload of mixed
/// transactions, restart each time; at the end every committed change is in Kafka, per key in
/// commit order, duplicates only from replays after restarts.
/// `KP_PGSOURCE_CHANGES` (default 100000, as the issue asks) and `KP_PGSOURCE_KILLS` (default 10) scale it.
@Suite(.serialized) struct PgSourceCrashTests {
    @Test func sigkillDuringWorkloadLosesNothing() async throws {
        guard let url = TestEnv.require("KP_PG15", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let kafka = TestEnv.require("KP_KAFKA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              TestEnv.require("KP_KCAT", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) != nil else { return }
        let changes = Int(TestEnv.value("KP_PGSOURCE_CHANGES") ?? "") ?? 100_000
        let kills = Int(TestEnv.value("KP_PGSOURCE_KILLS") ?? "") ?? 10
        let t = TestEnv.unique("pgs_crash")
        let slot = t + "_slot", publication = t + "_pub"
        try await PgSourceTestKit.sql(url, "CREATE TABLE \(t) (k int PRIMARY KEY, v bigint NOT NULL); ALTER TABLE \(t) REPLICA IDENTITY FULL;")
        let seed = UInt64.random(in: 0..<UInt64.max)
        let workload = PgSourceWorkload(table: t, changes: changes, seed: seed)
        let dir = try PgSourceTestKit.workdir(PgSourceTestKit.config(
            name: "crash", url: url, slot: slot, publication: publication, tables: ["public.\(t)"], topicPrefix: t, kafka: kafka))

        // The first run creates the slot; the workload starts once it streams.
        var pipe = try PipeProcess(configIn: dir)
        #expect(await pipe.waitFor("\"streaming\""), "\(pipe.output)")
        let load = Task { try await PgSourceTestKit.sql(url, workload.sql, timeout: 600) }
        var outputs: [String] = []
        for _ in 0..<kills {
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...1800)))
            await pipe.stop(SIGKILL)
            outputs.append(pipe.output)
            pipe = try PipeProcess(configIn: dir)
        }
        _ = try await load.value
        let records = try await PgSourceTestKit.consume(topic: "\(t).public.\(t)", kafka: kafka, atLeast: changes, seconds: 120)
        #expect(await pipe.stop() == 0, "\(pipe.output.suffix(2000))")
        await PgSourceTestKit.dropSlot(url, slot: slot, publication: publication)
        try await PgSourceTestKit.sql(url, "DROP TABLE \(t);")

        let check = DeliveryCheck(records: records, expected: workload.expected)
        #expect(check.problems.isEmpty, "seed \(seed): \(check.problems.prefix(10))")
        #expect(check.distinct == workload.changes, "seed \(seed)")
        // Each restart replays at most its unconfirmed window once: one rewind per restart at most.
        #expect(check.rewinds <= kills, "seed \(seed): \(check.rewinds) rewinds for \(kills) restarts")
        print("pg.Source crash test: \(workload.changes) changes, \(kills) SIGKILLs, \(records.count) records, "
              + "\(check.duplicates) duplicates, \(check.rewinds) replays")
    }
}
