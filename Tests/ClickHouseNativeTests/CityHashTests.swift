import Foundation
import Testing
@testable import ClickHouseNative

private func fixture(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
}

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.utf8.makeIterator()
    func nib(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
    while let a = it.next(), let b = it.next() { out.append(nib(a) << 4 | nib(b)) }
    return out
}

/// Vectors computed by the `clickhouse-cityhash` Python package (ClickHouse's CityHash v1.0.2):
/// two inputs of every length 0...300 and patterned inputs up to 1 MB.
@Test func cityHash128MatchesClickHouseCityhash() throws {
    let lines = try fixture("cityhash128.txt").split(separator: "\n")
    #expect(lines.count > 600)
    var failures = 0
    for line in lines {
        let parts = line.split(separator: " ")
        try #require(parts.count == 3)
        let input: [UInt8]
        if parts[0] == "-" {
            input = []
        } else if parts[0].hasPrefix("pattern:") {
            let n = Int(parts[0].dropFirst(8))!
            input = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* $0 &+ $0 &* 13 &+ 5) }
        } else {
            input = hexBytes(String(parts[0]))
        }
        let h = CityHash.hash128(input)
        if h.low != UInt64(parts[1], radix: 16)! || h.high != UInt64(parts[2], radix: 16)! {
            failures += 1
            if failures < 5 { Issue.record("mismatch for length \(input.count)") }
        }
    }
    #expect(failures == 0)
}
