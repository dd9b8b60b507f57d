import Testing
@testable import WireCore

/// Bit-at-a-time CRC-32C: the definition, to check the sliced implementation against.
private func referenceCRC32C(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
    var crc = ~seed
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return ~crc
}

@Suite struct CRC32CTests {
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func emptyInputReturnsSeed() {
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([], seed: 0x1234_5678) == 0x1234_5678)
    }

    // RFC 3720 (iSCSI) appendix B.4 test vectors.
    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
        // An iSCSI SCSI Read (10) command PDU.
        let pdu: [UInt8] = [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        #expect(CRC32C.checksum(pdu) == 0xD996_3A56)
    }

    @Test func matchesBitwiseReferenceAtEveryLengthAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = Array(data[start..<end])
                let fast = data.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                #expect(fast == referenceCRC32C(slice), "bytes \(start)..<\(end)")
            }
        }
    }

    @Test func seedChainsPieces() {
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let whole = CRC32C.checksum(data)
        for cut in [0, 1, 7, 8, 9, 50, 99, 100] {
            let a = Array(data[..<cut]), b = Array(data[cut...])
            #expect(CRC32C.checksum(b, seed: CRC32C.checksum(a)) == whole, "cut at \(cut)")
        }
    }
}
