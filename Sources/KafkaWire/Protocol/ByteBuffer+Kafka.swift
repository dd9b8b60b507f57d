import NIOCore

// Primitive encodings of the Kafka protocol (https://kafka.apache.org/protocol#protocol_types).
// Every reader checks the bytes that are there before it allocates or slices, and reports a
// short or inconsistent buffer as a KafkaWireError.

extension ByteBuffer {
    // MARK: fixed-width

    @inline(__always)
    mutating func kafkaReadInteger<T: FixedWidthInteger>(as: T.Type = T.self) throws -> T {
        guard let v = readInteger(as: T.self) else { throw KafkaWireError(.truncated, "\(T.self)") }
        return v
    }

    mutating func kafkaReadBool() throws -> Bool {
        try kafkaReadInteger(as: UInt8.self) != 0
    }

    mutating func kafkaWriteBool(_ v: Bool) {
        writeInteger(v ? 1 : 0, as: UInt8.self)
    }

    mutating func kafkaReadFloat64() throws -> Double {
        Double(bitPattern: try kafkaReadInteger(as: UInt64.self))
    }

    mutating func kafkaWriteFloat64(_ v: Double) {
        writeInteger(v.bitPattern)
    }

    mutating func kafkaReadUUID() throws -> KafkaUUID {
        guard readableBytes >= 16 else { throw KafkaWireError(.truncated, "uuid") }
        let high = try kafkaReadInteger(as: UInt64.self)
        let low = try kafkaReadInteger(as: UInt64.self)
        return KafkaUUID(high: high, low: low)
    }

    mutating func kafkaWriteUUID(_ v: KafkaUUID) {
        writeInteger(v.high)
        writeInteger(v.low)
    }

    // MARK: varints

    /// An unsigned LEB128 varint of at most 5 bytes (32 bits).
    mutating func kafkaReadUnsignedVarInt() throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard let byte = readInteger(as: UInt8.self) else { throw KafkaWireError(.truncated, "varint") }
            if shift == 28 && byte > 0x0F { throw KafkaWireError(.malformedVarInt, "unsigned varint over 32 bits") }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// An unsigned LEB128 varint of at most 10 bytes (64 bits).
    mutating func kafkaReadUnsignedVarLong() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = readInteger(as: UInt8.self) else { throw KafkaWireError(.truncated, "varlong") }
            if shift == 63 && byte > 0x01 { throw KafkaWireError(.malformedVarInt, "unsigned varint over 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    @inline(__always)
    mutating func kafkaWriteUnsignedVarInt(_ value: UInt32) {
        kafkaWriteUnsignedVarLong(UInt64(value))
    }

    mutating func kafkaWriteUnsignedVarLong(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        writeInteger(UInt8(truncatingIfNeeded: v))
    }

    /// A zigzag-encoded signed varint (32 bits), as record fields use.
    mutating func kafkaReadVarInt() throws -> Int32 {
        let u = try kafkaReadUnsignedVarInt()
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// A zigzag-encoded signed varlong (64 bits).
    mutating func kafkaReadVarLong() throws -> Int64 {
        let u = try kafkaReadUnsignedVarLong()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    mutating func kafkaWriteVarInt(_ value: Int32) {
        let u = UInt32(bitPattern: (value << 1) ^ (value >> 31))
        kafkaWriteUnsignedVarInt(u)
    }

    mutating func kafkaWriteVarLong(_ value: Int64) {
        let u = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        kafkaWriteUnsignedVarLong(u)
    }

    // MARK: lengths

    /// Reads a length prefix and returns nil for the null marker; the length is checked against
    /// the bytes remaining. Classic: INT16 (strings) or INT32 (bytes/arrays) with -1 for null;
    /// compact: UNSIGNED_VARINT of length + 1 with 0 for null.
    @inline(__always)
    mutating func kafkaReadLength(flexible: Bool, short: Bool, what: StaticString) throws -> Int? {
        let n: Int
        if flexible {
            let raw = try kafkaReadUnsignedVarInt()
            if raw == 0 { return nil }
            n = Int(raw) - 1
        } else if short {
            let raw = try kafkaReadInteger(as: Int16.self)
            if raw == -1 { return nil }
            n = Int(raw)
        } else {
            let raw = try kafkaReadInteger(as: Int32.self)
            if raw == -1 { return nil }
            n = Int(raw)
        }
        guard n >= 0 else { throw KafkaWireError(.invalidLength, "\(what) length \(n)") }
        guard n <= readableBytes else {
            throw KafkaWireError(.truncated, "\(what) of \(n) with \(readableBytes) bytes left")
        }
        return n
    }

    @inline(__always)
    mutating func kafkaWriteLength(_ n: Int, flexible: Bool, short: Bool, what: StaticString) throws {
        if flexible {
            guard n < Int(UInt32.max) else { throw KafkaWireError(.valueTooLong, "\(what)") }
            kafkaWriteUnsignedVarInt(UInt32(n + 1))
        } else if short {
            guard n <= Int(Int16.max) else { throw KafkaWireError(.valueTooLong, "\(what) of \(n) bytes") }
            writeInteger(Int16(n))
        } else {
            guard n <= Int(Int32.max) else { throw KafkaWireError(.valueTooLong, "\(what) of \(n)") }
            writeInteger(Int32(n))
        }
    }

    @inline(__always)
    mutating func kafkaWriteNullLength(flexible: Bool, short: Bool) {
        if flexible {
            writeInteger(UInt8(0))
        } else if short {
            writeInteger(Int16(-1))
        } else {
            writeInteger(Int32(-1))
        }
    }

    // MARK: strings

    mutating func kafkaReadString(flexible: Bool) throws -> String {
        guard let n = try kafkaReadLength(flexible: flexible, short: true, what: "string") else {
            throw KafkaWireError(.nullNotAllowed, "string")
        }
        return readString(length: n) ?? ""
    }

    mutating func kafkaReadNullableString(flexible: Bool, nullable: Bool) throws -> String? {
        guard let n = try kafkaReadLength(flexible: flexible, short: true, what: "string") else {
            if nullable { return nil }
            throw KafkaWireError(.nullNotAllowed, "string")
        }
        return readString(length: n) ?? ""
    }

    mutating func kafkaWriteString(_ s: String, flexible: Bool) throws {
        let n = s.utf8.count
        try kafkaWriteLength(n, flexible: flexible, short: true, what: "string")
        writeString(s)
    }

    mutating func kafkaWriteNullableString(_ s: String?, flexible: Bool, nullable: Bool) throws {
        guard let s else {
            guard nullable else { throw KafkaWireError(.nullNotAllowed, "string") }
            kafkaWriteNullLength(flexible: flexible, short: true)
            return
        }
        try kafkaWriteString(s, flexible: flexible)
    }

    // MARK: bytes and records

    mutating func kafkaReadBytes(flexible: Bool) throws -> [UInt8] {
        guard let n = try kafkaReadLength(flexible: flexible, short: false, what: "bytes") else {
            throw KafkaWireError(.nullNotAllowed, "bytes")
        }
        return readBytes(length: n) ?? []
    }

    mutating func kafkaReadNullableBytes(flexible: Bool, nullable: Bool) throws -> [UInt8]? {
        guard let n = try kafkaReadLength(flexible: flexible, short: false, what: "bytes") else {
            if nullable { return nil }
            throw KafkaWireError(.nullNotAllowed, "bytes")
        }
        return readBytes(length: n) ?? []
    }

    mutating func kafkaWriteBytes(_ b: [UInt8], flexible: Bool) throws {
        try kafkaWriteLength(b.count, flexible: flexible, short: false, what: "bytes")
        writeBytes(b)
    }

    mutating func kafkaWriteNullableBytes(_ b: [UInt8]?, flexible: Bool, nullable: Bool) throws {
        guard let b else {
            guard nullable else { throw KafkaWireError(.nullNotAllowed, "bytes") }
            kafkaWriteNullLength(flexible: flexible, short: false)
            return
        }
        try kafkaWriteBytes(b, flexible: flexible)
    }

    /// A `records` field: a slice of this buffer (no copy).
    mutating func kafkaReadRecords(flexible: Bool) throws -> ByteBuffer {
        guard let n = try kafkaReadLength(flexible: flexible, short: false, what: "records") else {
            throw KafkaWireError(.nullNotAllowed, "records")
        }
        return readSlice(length: n) ?? ByteBuffer()
    }

    mutating func kafkaReadNullableRecords(flexible: Bool, nullable: Bool) throws -> ByteBuffer? {
        guard let n = try kafkaReadLength(flexible: flexible, short: false, what: "records") else {
            if nullable { return nil }
            throw KafkaWireError(.nullNotAllowed, "records")
        }
        return readSlice(length: n) ?? ByteBuffer()
    }

    mutating func kafkaWriteRecords(_ r: ByteBuffer, flexible: Bool) throws {
        try kafkaWriteLength(r.readableBytes, flexible: flexible, short: false, what: "records")
        writeImmutableBuffer(r)
    }

    mutating func kafkaWriteNullableRecords(_ r: ByteBuffer?, flexible: Bool, nullable: Bool) throws {
        guard let r else {
            guard nullable else { throw KafkaWireError(.nullNotAllowed, "records") }
            kafkaWriteNullLength(flexible: flexible, short: false)
            return
        }
        try kafkaWriteRecords(r, flexible: flexible)
    }

    // MARK: arrays

    /// Reads an array whose count is checked against the bytes left (every element takes at
    /// least one byte on the wire, which is checked as they decode).
    mutating func kafkaReadArray<T>(
        flexible: Bool, _ element: (inout ByteBuffer) throws -> T
    ) throws -> [T] {
        guard let n = try kafkaReadLength(flexible: flexible, short: false, what: "array") else {
            throw KafkaWireError(.nullNotAllowed, "array")
        }
        return try kafkaReadElements(n, element)
    }

    mutating func kafkaReadNullableArray<T>(
        flexible: Bool, nullable: Bool, _ element: (inout ByteBuffer) throws -> T
    ) throws -> [T]? {
        guard let n = try kafkaReadLength(flexible: flexible, short: false, what: "array") else {
            if nullable { return nil }
            throw KafkaWireError(.nullNotAllowed, "array")
        }
        return try kafkaReadElements(n, element)
    }

    private mutating func kafkaReadElements<T>(_ n: Int, _ element: (inout ByteBuffer) throws -> T) throws -> [T] {
        var result: [T] = []
        // n is bounded by the bytes left, but an element can be much larger in memory than on
        // the wire: reserve a little and let the array grow as elements really decode.
        result.reserveCapacity(Swift.min(n, 1024))
        for _ in 0..<n {
            let before = readerIndex
            result.append(try element(&self))
            // Every element takes at least one byte, so n elements cannot come from fewer bytes.
            guard readerIndex > before else { throw KafkaWireError(.invalidLength, "empty array element") }
        }
        return result
    }

    mutating func kafkaWriteArray<T>(
        _ a: [T], flexible: Bool, _ element: (inout ByteBuffer, T) throws -> Void
    ) throws {
        try kafkaWriteLength(a.count, flexible: flexible, short: false, what: "array")
        for e in a {
            try element(&self, e)
        }
    }

    mutating func kafkaWriteNullableArray<T>(
        _ a: [T]?, flexible: Bool, nullable: Bool, _ element: (inout ByteBuffer, T) throws -> Void
    ) throws {
        guard let a else {
            guard nullable else { throw KafkaWireError(.nullNotAllowed, "array") }
            kafkaWriteNullLength(flexible: flexible, short: false)
            return
        }
        try kafkaWriteArray(a, flexible: flexible, element)
    }

    // MARK: nullable structs

    /// A nullable struct field is preceded by INT8: -1 for null, 1 for present.
    mutating func kafkaReadStructPresence(nullable: Bool) throws -> Bool {
        let marker = try kafkaReadInteger(as: Int8.self)
        if marker < 0 {
            if nullable { return false }
            throw KafkaWireError(.nullNotAllowed, "struct")
        }
        return true
    }

    // MARK: tagged fields

    /// Reads the number of tagged fields, bounded by the bytes left.
    mutating func kafkaReadTaggedFieldCount() throws -> Int {
        let n = Int(try kafkaReadUnsignedVarInt())
        guard n <= readableBytes else { throw KafkaWireError(.invalidLength, "tagged field count \(n)") }
        return n
    }

    /// Reads one tagged field's tag and its data as a slice.
    mutating func kafkaReadTaggedField() throws -> (tag: UInt32, data: ByteBuffer) {
        let tag = try kafkaReadUnsignedVarInt()
        let size = Int(try kafkaReadUnsignedVarInt())
        guard size <= readableBytes, let data = readSlice(length: size) else {
            throw KafkaWireError(.truncated, "tagged field \(tag) of \(size) bytes")
        }
        return (tag, data)
    }

    /// Writes the tagged-field section: count, then each field in ascending tag order.
    mutating func kafkaWriteTaggedFields(_ fields: [KafkaTaggedField]) {
        kafkaWriteUnsignedVarInt(UInt32(truncatingIfNeeded: fields.count))
        if fields.isEmpty { return }
        let sorted = fields.count > 1 ? fields.sorted { $0.tag < $1.tag } : fields
        for f in sorted {
            kafkaWriteUnsignedVarInt(f.tag)
            kafkaWriteUnsignedVarInt(UInt32(truncatingIfNeeded: f.data.count))
            writeBytes(f.data)
        }
    }
}
