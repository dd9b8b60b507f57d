import Foundation
import PipeTestSupport
import Testing

/// Deterministic inputs for the cross-checks: every shape a codec treats differently.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Corpus {
    static func random(_ n: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(state: seed)
        var out = [UInt8](repeating: 0, count: n)
        var i = 0
        while i < n {
            var v = g.next()
            for _ in 0..<8 where i < n { out[i] = UInt8(v & 0xFF); v >>= 8; i += 1 }
        }
        return out
    }

    static let words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "kafka", "record",
                        "batch", "offset", "partition", "topic", "postgres", "replication", "slot", "insert",
                        "update", "delete", "clickhouse", "block", "column", "string", "{\"id\":", "\"name\":",
                        "null", "true", "false", "2026-11-25T02:00:00Z", "\n", ", ", "lorem", "ipsum"]

    static func text(_ n: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(n + 32)
        while out.count < n {
            let w = words[Int(g.next() % UInt64(words.count))]
            out += Array(w.utf8)
            out.append(0x20)
            if g.next() % 13 == 0 { out += Array(String(g.next() % 100_000).utf8) }
        }
        return Array(out.prefix(n))
    }

    /// Fixed-width binary records with slowly varying fields (like columns or row images).
    static func records(_ n: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(n + 32)
        var id: UInt64 = 1000
        while out.count < n {
            id += g.next() % 3
            withUnsafeBytes(of: id.littleEndian) { out += $0 }
            let small = UInt32(g.next() % 64)
            withUnsafeBytes(of: small.littleEndian) { out += $0 }
            out += [0, 0, 1, UInt8(g.next() % 4)]
            if g.next() % 4 == 0 { out += random(12, seed: g.next()) }
        }
        return Array(out.prefix(n))
    }

    static func repeating(_ pattern: [UInt8], _ n: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(n)
        while out.count < n { out += pattern }
        return Array(out.prefix(n))
    }

    /// Mixed content: text, runs, random islands and long-distance repeats.
    static func mixed(_ n: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(n + 70_000)
        while out.count < n {
            switch g.next() % 5 {
            case 0: out += text(Int(g.next() % 20_000) + 1, seed: g.next())
            case 1: out += [UInt8](repeating: UInt8(g.next() & 0xFF), count: Int(g.next() % 3000) + 1)
            case 2: out += random(Int(g.next() % 5000) + 1, seed: g.next())
            case 3:
                if out.count > 100 {
                    let start = Int(g.next() % UInt64(out.count - 50))
                    let len = min(Int(g.next() % 60_000) + 4, out.count - start)
                    out += out[start..<(start + len)]
                }
            default: out += records(Int(g.next() % 10_000) + 1, seed: g.next())
            }
        }
        return Array(out.prefix(n))
    }

    /// Named inputs: small ones for every test, large ones when `large`.
    static func inputs(large: Bool = true) -> [(String, [UInt8])] {
        var list: [(String, [UInt8])] = [
            ("empty", []),
            ("one", [0x41]),
            ("five", Array("hello".utf8)),
            ("thirteen", Array("abcabcabcabca".utf8)),
            ("tiny-random", random(17, seed: 1)),
            ("random-100k", random(100_000, seed: 2)),
            ("zeros-300k", [UInt8](repeating: 0, count: 300_000)),
            ("abc-200k", repeating(Array("abc".utf8), 200_000)),
            ("period7-50k", repeating(Array("0123456".utf8), 50_000)),
            ("text-300k", text(300_000, seed: 3)),
            ("records-200k", records(200_000, seed: 4)),
            ("text-65535", text(65535, seed: 5)),
            ("text-65536", text(65536, seed: 6)),
            ("text-65537", text(65537, seed: 7)),
            ("mixed-131071", mixed(131_071, seed: 8)),
            ("mixed-131072", mixed(131_072, seed: 9)),
            ("mixed-131073", mixed(131_073, seed: 10)),
        ]
        if large {
            list.append(("mixed-3m", mixed(3_000_000, seed: 11)))
            list.append(("text-5m", text(5_000_000, seed: 12)))
        }
        return list
    }
}

/// Runs the reference implementations (Debian's CLIs, PyPI's python modules) on files.
enum Reference {
    static let tmp: URL = {
        let fm = FileManager.default
        // Remove what earlier runs left (their process is gone); files can reach a few hundred MB.
        if let names = try? fm.contentsOfDirectory(atPath: fm.temporaryDirectory.path) {
            for name in names where name.hasPrefix("kp-codecs-") {
                if let pid = Int32(name.dropFirst("kp-codecs-".count)), pid != getpid(), kill(pid, 0) != 0 {
                    try? fm.removeItem(at: fm.temporaryDirectory.appendingPathComponent(name))
                }
            }
        }
        let u = fm.temporaryDirectory.appendingPathComponent("kp-codecs-\(getpid())")
        try? fm.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }()

    static func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    static func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    static func read(_ p: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
    }

    /// True when `command` (a shell test) succeeds; otherwise records an issue under CI, or prints.
    static func available(_ what: String, _ check: String) -> Bool {
        if let r = try? Run.shell(check + " >/dev/null 2>&1"), r.status == 0 { return true }
        let message = "\(what) is not installed: install it (scripts/install-deps.sh) to run the cross-check"
        if TestEnv.isCI { Issue.record(Comment(rawValue: message)) } else { print("skipping: \(message)") }
        return false
    }

    /// Runs a shell command that must succeed.
    static func sh(_ command: String) throws {
        let r = try Run.shell(command, timeout: 300)
        if r.status != 0 {
            Issue.record(Comment(rawValue: "`\(command)` failed (\(r.status)): \(r.stderr.prefix(500))"))
            throw CancellationError()
        }
    }

    static func python(_ script: String, _ args: [String]) throws {
        let sp = path("script-\(UInt32.random(in: 0...UInt32.max)).py")
        try script.write(toFile: sp, atomically: true, encoding: .utf8)
        try sh((["python3", sp] + args).map { "'\($0)'" }.joined(separator: " "))
    }
}

/// Fails with the first differing offset instead of dumping megabytes.
func expectSameBytes(_ a: [UInt8], _ b: [UInt8], _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    if a == b { return }
    let firstDiff = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
    Issue.record("\(what): \(a.count) vs \(b.count) bytes, first difference at \(firstDiff)", sourceLocation: sourceLocation)
}
