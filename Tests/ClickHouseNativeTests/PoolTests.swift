import PipeTestSupport
import Testing
@testable import ClickHouseNative

/// A pool over a dead address and the real server: connects fall over, concurrent queries share
/// at most two connections and all succeed.
@Test func poolFallsOverAndSharesConnections() async throws {
    guard let config = liveConfig(), let addr = TestEnv.value("KP_CH") else { return }
    let pool = try ClickHouseConnectionPool(addresses: ["127.0.0.1:1", addr], config: config, maxConnections: 2)
    let sums = try await withThrowingTaskGroup(of: ClickHouseValue.self) { group in
        for i in 0..<6 {
            group.addTask {
                try await pool.withConnection { c in
                    try await c.query("SELECT sum(number) FROM numbers(\(i + 10))").rows.first?.first ?? .null
                }
            }
        }
        var out: [ClickHouseValue] = []
        for try await v in group { out.append(v) }
        return out
    }
    var expected: Set<ClickHouseValue> = []
    for i in 0..<6 {
        let n = UInt64(i + 10)
        expected.insert(.uint(n * (n - 1) / 2))
    }
    #expect(Set(sums) == expected)
    #expect(await pool.open <= 2)
    await pool.close()
    await #expect(throws: ClickHouseError.self) { try await pool.withConnection { try await $0.ping() } }
}

@Test func poolRejectsBadAddresses() {
    #expect(throws: ClickHouseError.self) { try ClickHouseConnectionPool(addresses: [], config: ClickHouseConfig(host: "x")) }
    #expect(throws: ClickHouseError.self) { try ClickHouseConnectionPool(addresses: ["h:99999"], config: ClickHouseConfig(host: "x")) }
}
