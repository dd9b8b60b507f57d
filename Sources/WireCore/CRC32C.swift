/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by Kafka record batches
/// (KIP-98) and by our state store log. Software slicing-by-8: eight 256-entry tables let the
/// main loop fold eight input bytes per step.
///
/// `seed` is the CRC of the bytes before these ones (0 for none), so a checksum can be computed
/// piecewise: `checksum(b, seed: checksum(a)) == checksum(a + b)`.
public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var crc = ~seed
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return seed }
        tables.withUnsafeBufferPointer { t in
            var i = 0
            // Slicing-by-8: the low four bytes are xored with the running CRC, the high four are not.
            while count - i >= 8 {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let lo = UInt32(truncatingIfNeeded: word) ^ crc
                let hi = UInt32(truncatingIfNeeded: word &>> 32)
                crc = t[7 &* 256 &+ Int(lo & 0xFF)]
                    ^ t[6 &* 256 &+ Int((lo &>> 8) & 0xFF)]
                    ^ t[5 &* 256 &+ Int((lo &>> 16) & 0xFF)]
                    ^ t[4 &* 256 &+ Int(lo &>> 24)]
                    ^ t[3 &* 256 &+ Int(hi & 0xFF)]
                    ^ t[2 &* 256 &+ Int((hi &>> 8) & 0xFF)]
                    ^ t[1 &* 256 &+ Int((hi &>> 16) & 0xFF)]
                    ^ t[Int(hi &>> 24)]
                i &+= 8
            }
            while i < count {
                let b = base.load(fromByteOffset: i, as: UInt8.self)
                crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc &>> 8)
                i &+= 1
            }
        }
        return ~crc
    }

    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// Table k maps a byte to its CRC contribution when followed by k zero bytes.
    static let tables: [UInt32] = {
        let poly: UInt32 = 0x82F6_3B78
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c &>> 1) ^ poly : c &>> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let prev = t[(k - 1) * 256 + n]
                t[k * 256 + n] = t[Int(prev & 0xFF)] ^ (prev &>> 8)
            }
        }
        return t
    }()
}
