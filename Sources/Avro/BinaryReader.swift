// The primitive encodings of Avro 1.11 "Binary Encoding", read from a bounded buffer.
// Every read checks the bytes that are actually there first; nothing is allocated for a length
// before the input is known to hold it.

struct AvroBinaryReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - offset }

    static func truncated(_ what: String, at offset: Int) -> AvroFailure {
        AvroFailure(code: .truncated, reason: "input ends inside \(what)", offset: offset)
    }

    static func malformed(_ what: String, at offset: Int) -> AvroFailure {
        AvroFailure(code: .malformed, reason: what, offset: offset)
    }

    /// A zig-zag varint of at most 5 bytes whose value fits 32 bits.
    mutating func readInt() throws(AvroFailure) -> Int32 {
        let start = offset
        var raw: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard offset < bytes.count else { throw Self.truncated("an int", at: start) }
            let byte = bytes[offset]
            offset += 1
            // The fifth byte carries bits 28...31 only.
            if shift == 28 && byte > 0x0F {
                throw Self.malformed("int varint is longer than 5 bytes or exceeds 32 bits", at: start)
            }
            raw |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A zig-zag varint of at most 10 bytes whose value fits 64 bits.
    mutating func readLong() throws(AvroFailure) -> Int64 {
        let start = offset
        var raw: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw Self.truncated("a long", at: start) }
            let byte = bytes[offset]
            offset += 1
            // The tenth byte carries bit 63 only.
            if shift == 63 && byte > 0x01 {
                throw Self.malformed("long varint is longer than 10 bytes or exceeds 64 bits", at: start)
            }
            raw |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    mutating func readBoolean() throws(AvroFailure) -> Bool {
        guard offset < bytes.count else { throw Self.truncated("a boolean", at: offset) }
        let byte = bytes[offset]
        guard byte <= 1 else { throw Self.malformed("boolean byte is \(byte), not 0 or 1", at: offset) }
        offset += 1
        return byte == 1
    }

    /// Little-endian, `count` bytes.
    mutating func readLittleEndian(_ count: Int, _ what: String) throws(AvroFailure) -> UInt64 {
        guard remaining >= count else { throw Self.truncated(what, at: offset) }
        var value: UInt64 = 0
        for i in 0..<count { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += count
        return value
    }

    mutating func readFloat() throws(AvroFailure) -> Float {
        Float(bitPattern: UInt32(truncatingIfNeeded: try readLittleEndian(4, "a float")))
    }

    mutating func readDouble() throws(AvroFailure) -> Double {
        Double(bitPattern: try readLittleEndian(8, "a double"))
    }

    /// The next `count` bytes, without copying.
    mutating func take(_ count: Int, _ what: String) throws(AvroFailure) -> UnsafeBufferPointer<UInt8> {
        guard count >= 0, remaining >= count else { throw Self.truncated(what, at: offset) }
        let slice = UnsafeBufferPointer(rebasing: bytes[offset..<offset + count])
        offset += count
        return slice
    }

    /// A long length followed by that many bytes; the length must fit in what is left.
    mutating func takeLengthPrefixed(_ what: String) throws(AvroFailure) -> UnsafeBufferPointer<UInt8> {
        let start = offset
        let length = try readLong()
        guard length >= 0 else { throw Self.malformed("\(what) has negative length \(length)", at: start) }
        guard length <= Int64(remaining) else {
            throw AvroFailure(code: .truncated,
                              reason: "\(what) of \(length) bytes runs past the end (\(remaining) left)",
                              offset: start)
        }
        return try take(Int(length), what)
    }

    mutating func readBytes() throws(AvroFailure) -> [UInt8] {
        Array(try takeLengthPrefixed("bytes"))
    }

    mutating func readString() throws(AvroFailure) -> String {
        let start = offset
        let raw = try takeLengthPrefixed("a string")
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw Self.malformed("string is not valid UTF-8", at: start)
        }
        return text
    }
}
