import Foundation
import Testing
@testable import ClickHouseNative

private func blockFixtures() throws -> [(String, [UInt8], [UInt8])] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/blocks.txt")
    return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
        let p = $0.split(separator: " ")
        return (String(p[0]), hexBytes(String(p[1])), hexBytes(String(p[2])))
    }
}

/// Blocks framed by clickhouse-driver (Python, LZ4 and ZSTD) decode to their payload.
@Test func decodesBlocksFramedByClickhouseDriver() throws {
    let fx = try blockFixtures()
    #expect(fx.count == 2)
    for (name, payload, block) in fx {
        let size = try block.withUnsafeBytes { try CompressedBlock.frameSize($0) }
        #expect(size == block.count, "\(name)")
        #expect(try CompressedBlock.decode(block) == payload, "\(name)")
    }
}

@Test(arguments: [ClickHouseCompression.none, .lz4, .zstd(level: 1), .zstd(level: 3)])
func compressedBlockRoundTrip(_ c: ClickHouseCompression) throws {
    for n in [0, 1, 15, 100, 4096, 70_000] {
        let payload = (0..<n).map { UInt8(truncatingIfNeeded: ($0 / 7) &* 31) }
        let framed = CompressedBlock.encode(payload, compression: c)
        #expect(framed[16] == c.methodByte)
        #expect(try CompressedBlock.decode(framed) == payload)
    }
}

@Test func compressedBlockRejectsCorruption() throws {
    let framed = CompressedBlock.encode(Array("hello hello hello hello".utf8), compression: .lz4)
    var bad = framed
    bad[bad.count - 1] ^= 0xff
    #expect(throws: ClickHouseError.self) { try CompressedBlock.decode(bad) }
    var badMethod = framed
    badMethod[16] = 0x77
    #expect(throws: ClickHouseError.self) { try CompressedBlock.decode(badMethod) }
    #expect(throws: ClickHouseError.self) { try CompressedBlock.decode(Array(framed.prefix(20))) }
    var huge = framed
    huge[17] = 0xff; huge[18] = 0xff; huge[19] = 0xff; huge[20] = 0x7f
    #expect(throws: ClickHouseError.self) { try CompressedBlock.decode(huge) }
    #expect(throws: ClickHouseError.self) { try CompressedBlock.decode(Array(framed.dropLast())) }
}
