import Foundation
import PipeTestSupport
@testable import Storage

/// A fresh temporary directory, removed by `remove()`.
struct TempDir {
    let path: String

    init(_ label: String = "store") {
        path = NSTemporaryDirectory() + "kp-\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    var logPath: String { path + "/state.log" }

    func readLog() throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: logPath))) }

    func writeLog(_ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: logPath)) }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + name) }
}

typealias Model = [String: [String: [UInt8]]]

extension Dictionary where Key == String, Value == [String: [UInt8]] {
    mutating func put(_ ns: String, _ key: String, _ value: [UInt8]) { self[ns, default: [:]][key] = value }

    mutating func delete(_ ns: String, _ key: String) {
        self[ns]?[key] = nil
        if self[ns]?.isEmpty == true { self[ns] = nil }
    }
}

/// Everything the store holds, read through the public API.
func contents(of store: StateStore) -> Model {
    var out: Model = [:]
    for ns in store.namespaces() {
        for (k, v) in store.namespace(ns).scan(prefix: "") { out[ns, default: [:]][k] = v }
    }
    return out
}

/// Deterministic generator so a failing seed can be replayed.
struct SplitMix64: RandomNumberGenerator {
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

/// The compaction step at which the test hook injects a fault, shared with the store's hook.
final class Trap: @unchecked Sendable {
    private let lock = NSLock()
    private var step: CompactionStep?
    private var action: (@Sendable (CompactionStep) throws -> Void)?

    func arm(_ step: CompactionStep?, _ action: (@Sendable (CompactionStep) throws -> Void)? = nil) {
        lock.lock(); self.step = step; self.action = action; lock.unlock()
    }

    func fire(_ at: CompactionStep) throws {
        lock.lock()
        let hit = step == at ? action : nil
        lock.unlock()
        try hit?(at)
    }
}

/// Where `pipe-bench` was built: `KP_BIN_DIR`, beside the test binary, or the package's debug products.
func pipeBenchPath() -> String? {
    var candidates: [String] = []
    if let dir = TestEnv.value("KP_BIN_DIR") { candidates.append(dir + "/pipe-bench") }
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        candidates.append(url.appendingPathComponent("pipe-bench").path)
        // On macOS the test binary sits inside a .xctest bundle.
        for _ in 0..<3 { url.deleteLastPathComponent(); candidates.append(url.appendingPathComponent("pipe-bench").path) }
    }
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("pipe-bench").path)
    candidates.append(TestEnv.repoRoot.appendingPathComponent(".build/debug/pipe-bench").path)
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}
