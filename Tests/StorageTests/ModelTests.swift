import Foundation
import Testing
@testable import Storage

/// Random operation sequences against the store and an in-memory dictionary, with reopens,
/// abandoned stores (no close), explicit and threshold compactions; the two must always agree.
@Suite struct ModelTests {
    static let namespaces = ["pg", "ch-sink", "s3/backup"]
    static let keys = ["", "a", "ab", "abc", "b", "b/1", "b/2", "lsn", "ü-key"]
    static let prefixes = ["", "a", "ab", "b/", "l", "x"]

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func randomOperationsMatchTheModel(seed: UInt64) async throws {
        let dir = TempDir("model")
        defer { dir.remove() }
        var rng = SplitMix64(seed: seed)
        let options = StateStore.Options(compactionMinBytes: 1500, compactionRatio: 2,
                                         preallocationBytes: [0, 256, 4096][Int(seed % 3)])
        var store: StateStore? = try StateStore.open(directory: dir.path, options: options)
        var model: Model = [:]
        var compactions = 0

        func randomValue() -> [UInt8] {
            (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }

        for step in 0..<500 {
            let ns = Self.namespaces.randomElement(using: &rng)!
            let key = Self.keys.randomElement(using: &rng)!
            // No namespace value is kept across the switch: dropping `store` must release it.
            var n: StateNamespace { store!.namespace(ns) }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<40:
                let v = randomValue()
                if Bool.random(using: &rng) { try await n.put(key, v) } else { try n.putSync(key, v) }
                model.put(ns, key, v)
            case 40..<55:
                if Bool.random(using: &rng) { try await n.delete(key) } else { try n.deleteSync(key) }
                model.delete(ns, key)
            case 55..<72:
                var batch = StateBatch()
                for _ in 0..<Int.random(in: 0...5, using: &rng) {
                    let k = Self.keys.randomElement(using: &rng)!
                    if Int.random(in: 0..<3, using: &rng) == 0 {
                        batch.delete(k)
                        model.delete(ns, k)
                    } else {
                        let v = randomValue()
                        batch.put(k, v)
                        model.put(ns, k, v)
                    }
                }
                try await n.write(batch)
            case 72..<80:
                compactions += store!.statistics.compactions
                try store!.close()
                store = try StateStore.open(directory: dir.path, options: options)
            case 80..<84:
                // Dropped without close, as a crashed process would leave it.
                compactions += store!.statistics.compactions
                store = nil
                store = try StateStore.open(directory: dir.path, options: options)
            case 84..<87:
                try store!.compact()
            default:
                let p = Self.prefixes.randomElement(using: &rng)!
                let expected = (model[ns] ?? [:]).filter { $0.key.hasPrefix(p) }.sorted { $0.key < $1.key }
                let got = n.scan(prefix: p)
                #expect(got.map(\.key) == expected.map(\.key), "seed \(seed) step \(step)")
                #expect(got.map(\.value) == expected.map(\.value), "seed \(seed) step \(step)")
            }
            #expect(store!.namespace(ns).get(key) == model[ns]?[key], "seed \(seed) step \(step)")
            if step % 25 == 0 {
                #expect(contents(of: store!) == model, "seed \(seed) step \(step)")
                #expect(store!.namespaces() == model.keys.sorted())
            }
        }
        #expect(contents(of: store!) == model)
        compactions += store!.statistics.compactions
        #expect(compactions > 0, "the thresholds should have compacted the log")
        try store!.close()
        #expect(contents(of: try StateStore.openReadOnly(directory: dir.path)) == model)
        let final = try StateStore.open(directory: dir.path, options: options)
        #expect(contents(of: final) == model)
        try final.close()
    }
}
