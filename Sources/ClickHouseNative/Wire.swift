/// Bounds-checked little-endian reader over bytes from the network. Every read checks the
/// bytes that are there; running out is `ClickHouseError.truncated` (the caller may wait for more).
struct CHReader {
    let bytes: [UInt8]
    var pos: Int
    init(_ bytes: [UInt8], at pos: Int = 0) { self.bytes = bytes; self.pos = pos }

    var remaining: Int { bytes.count - pos }

    mutating func need(_ n: Int) throws {
        guard n >= 0, n <= remaining else {
            var e = ClickHouseError(.truncated, "need \(n) bytes, have \(remaining)")
            let (total, o) = pos.addingReportingOverflow(n)
            e.neededBytes = o || n < 0 ? Int.max : total
            throw e
        }
    }

    mutating func u8() throws -> UInt8 {
        try need(1); defer { pos += 1 }; return bytes[pos]
    }

    mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        try need(n)
        var v: T = 0
        for i in 0..<n { v |= T(truncatingIfNeeded: bytes[pos + i]) << (8 * i) }
        pos += n
        return v
    }

    mutating func uvarint() throws -> UInt64 {
        var result: UInt64 = 0
        for i in 0..<10 {
            let b = try u8()
            result |= UInt64(b & 0x7f) << (7 * UInt64(i))
            if b & 0x80 == 0 { return result }
        }
        throw ClickHouseError(.malformed, "varint longer than 10 bytes")
    }

    /// A varint used as a length or count, bounded by `max`.
    mutating func count(max: Int = Int(Int32.max)) throws -> Int {
        let v = try uvarint()
        guard v <= UInt64(max) else { throw ClickHouseError(.tooLarge, "count \(v) exceeds \(max)") }
        return Int(v)
    }

    /// 32 little-endian bytes (Int256, UInt256, Decimal256).
    mutating func wide256() throws -> ClickHouseUInt256 {
        try need(32); defer { pos += 32 }
        return ClickHouseUInt256(littleEndian: bytes[pos..<(pos + 32)])
    }

    mutating func raw(_ n: Int) throws -> [UInt8] {
        try need(n); defer { pos += n }; return Array(bytes[pos..<(pos + n)])
    }

    mutating func string() throws -> String {
        let n = try count()
        try need(n)
        return String(decoding: try raw(n), as: UTF8.self)
    }

    mutating func bytesString() throws -> [UInt8] {
        let n = try count()
        return try raw(n)
    }
}

struct CHWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func fixed<T: FixedWidthInteger>(_ v: T) {
        for i in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }

    mutating func uvarint(_ v: UInt64) {
        var x = v
        while x >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
        bytes.append(UInt8(x))
    }

    mutating func string(_ s: String) { uvarint(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
    mutating func string(_ s: [UInt8]) { uvarint(UInt64(s.count)); bytes.append(contentsOf: s) }
}
