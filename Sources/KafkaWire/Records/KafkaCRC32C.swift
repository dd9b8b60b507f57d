// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), which record batches (magic 2) carry
// over their bytes from `attributes` to the end.
//
// TODO: replace with WireCore's `CRC32C` once the storage branch lands on main; this copy only
// exists so that KafkaWire does not wait for it.
enum KafkaCRC32C {
    /// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
    private static let tables: [[UInt32]] = {
        var t = Array(repeating: Array(repeating: UInt32(0), count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 {
                let prev = t[k - 1][i]
                t[k][i] = (prev >> 8) ^ t[0][Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// One flat table of 8 × 256 entries, so the inner loop indexes a single array.
    private static let flat: [UInt32] = tables.flatMap { $0 }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The CRC-32C of `bytes`, continuing from `seed` (the CRC of the bytes before them).
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        guard let base = bytes.baseAddress else { return seed }
        var p = base
        var n = bytes.count
        flat.withUnsafeBufferPointer { t in
            while n >= 8 {
                let lo = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)) ^ crc
                let hi = UInt32(littleEndian: (p + 4).loadUnaligned(as: UInt32.self))
                crc = t[7 &* 256 &+ Int(lo & 0xFF)] ^ t[6 &* 256 &+ Int((lo >> 8) & 0xFF)]
                    ^ t[5 &* 256 &+ Int((lo >> 16) & 0xFF)] ^ t[4 &* 256 &+ Int(lo >> 24)]
                    ^ t[3 &* 256 &+ Int(hi & 0xFF)] ^ t[2 &* 256 &+ Int((hi >> 8) & 0xFF)]
                    ^ t[1 &* 256 &+ Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
                p += 1
                n -= 1
            }
        }
        return ~crc
    }
}
