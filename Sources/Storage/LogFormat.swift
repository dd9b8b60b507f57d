import WireCore

/// One change in a record: a put or a delete of `key` in `namespace`.
enum LogOp: Equatable, Sendable {
    case put(namespace: String, key: String, value: [UInt8])
    case delete(namespace: String, key: String)
}

/// The on-disk format; see DESIGN.md.
///
///     file   := magic[8] record*
///     record := length:u32le crc:u32le payload[length]      crc = CRC-32C(length bytes ++ payload)
///     payload:= kind:u8(=1) count:u32le op*count
///     op     := 1:u8 nsLen:u16le ns keyLen:u16le key valueLen:u32le value     (put)
///             | 2:u8 nsLen:u16le ns keyLen:u16le key                          (delete)
enum LogFormat {
    static let magic: [UInt8] = Array("KPSTATE".utf8) + [1]
    static let recordHeaderSize = 8
    /// The largest payload a record may have. A length field above it is a corrupt record.
    static let maxPayload = 16 << 20
    static let maxNameBytes = Int(UInt16.max)
    static let kindBatch: UInt8 = 1
    static let opPut: UInt8 = 1
    static let opDelete: UInt8 = 2

    /// Bytes one op takes in a payload.
    static func encodedSize(namespace: Int, key: Int, value: Int?) -> Int {
        1 + 2 + namespace + 2 + key + (value.map { 4 + $0 } ?? 0)
    }

    /// Frames `ops` as one record. Throws `.invalidArgument` when a name or the record is too large.
    static func encodeRecord(_ ops: [LogOp]) throws -> [UInt8] {
        var payload: [UInt8] = []
        payload.append(kindBatch)
        appendU32(&payload, UInt32(ops.count))
        for op in ops {
            switch op {
            case let .put(ns, key, value):
                payload.append(opPut)
                try appendName(&payload, ns, what: "namespace")
                try appendName(&payload, key, what: "key")
                guard value.count <= maxPayload else {
                    throw StorageError(.invalidArgument, "value of \(value.count) bytes is larger than \(maxPayload)")
                }
                appendU32(&payload, UInt32(value.count))
                payload.append(contentsOf: value)
            case let .delete(ns, key):
                payload.append(opDelete)
                try appendName(&payload, ns, what: "namespace")
                try appendName(&payload, key, what: "key")
            }
            guard payload.count <= maxPayload else {
                throw StorageError(.invalidArgument, "batch is larger than \(maxPayload) bytes")
            }
        }
        var record: [UInt8] = []
        record.reserveCapacity(recordHeaderSize + payload.count)
        appendU32(&record, UInt32(payload.count))
        let crc = CRC32C.checksum(payload, seed: CRC32C.checksum(record))
        appendU32(&record, crc)
        record.append(contentsOf: payload)
        return record
    }

    private static func appendU32(_ out: inout [UInt8], _ v: UInt32) {
        out.append(UInt8(truncatingIfNeeded: v))
        out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v >> 16))
        out.append(UInt8(truncatingIfNeeded: v >> 24))
    }

    private static func appendName(_ out: inout [UInt8], _ s: String, what: String) throws {
        let utf8 = Array(s.utf8)
        guard utf8.count <= maxNameBytes else {
            throw StorageError(.invalidArgument, "\(what) of \(utf8.count) bytes is longer than \(maxNameBytes)")
        }
        out.append(UInt8(truncatingIfNeeded: utf8.count))
        out.append(UInt8(truncatingIfNeeded: utf8.count >> 8))
        out.append(contentsOf: utf8)
    }

    enum HeaderCheck: Equatable {
        /// A complete header: records start after it.
        case valid
        /// Empty, or a prefix of the header: a log whose creation did not finish. Treated as empty.
        case incomplete
        /// Not a state log.
        case foreign
    }

    static func checkHeader(_ bytes: UnsafeRawBufferPointer) -> HeaderCheck {
        let n = min(bytes.count, magic.count)
        for i in 0..<n where bytes[i] != magic[i] { return .foreign }
        return n == magic.count ? .valid : .incomplete
    }

    struct ScanResult: Equatable {
        /// Offset just after the last good record: everything from here on is a torn or corrupt tail.
        var validEnd: Int
        var records: Int
        /// Whether there are bytes other than zeros after `validEnd`: a torn or corrupt record.
        /// Zeros are space the writer preallocated.
        var hasBadTail: Bool
    }

    /// Walks the records after the header, calling `apply` with each good record's ops (a record
    /// is applied whole or not at all). Stops at the first record that is short, oversized, fails
    /// its CRC or does not decode.
    static func scan(_ bytes: UnsafeRawBufferPointer, apply: ([LogOp]) -> Void) -> ScanResult {
        var offset = magic.count
        var records = 0
        let total = bytes.count
        while total - offset >= recordHeaderSize {
            let length = Int(readU32(bytes, offset))
            guard length <= maxPayload, length <= total - offset - recordHeaderSize else { break }
            let stored = readU32(bytes, offset + 4)
            let lengthBytes = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 4)])
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + recordHeaderSize)..<(offset + recordHeaderSize + length)])
            guard CRC32C.checksum(payload, seed: CRC32C.checksum(lengthBytes)) == stored,
                  let ops = decodePayload(payload) else { break }
            apply(ops)
            records += 1
            offset += recordHeaderSize + length
        }
        var bad = false
        for i in offset..<total where bytes[i] != 0 { bad = true; break }
        return ScanResult(validEnd: offset, records: records, hasBadTail: bad)
    }

    static func readU32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    static func readU16(_ b: UnsafeRawBufferPointer, _ at: Int) -> Int {
        Int(b[at]) | Int(b[at + 1]) << 8
    }

    /// Decodes a payload; nil when any count or length does not fit the bytes there.
    static func decodePayload(_ p: UnsafeRawBufferPointer) -> [LogOp]? {
        guard p.count >= 5, p[0] == kindBatch else { return nil }
        let count = Int(readU32(p, 1))
        // Each op takes at least 5 bytes: a count beyond that is a lie, caught before allocating.
        guard count <= (p.count - 5) / 5 else { return nil }
        var ops: [LogOp] = []
        ops.reserveCapacity(count)
        var at = 5
        func name() -> String? {
            guard p.count - at >= 2 else { return nil }
            let n = readU16(p, at)
            at += 2
            guard p.count - at >= n else { return nil }
            let s = String(validating: UnsafeRawBufferPointer(rebasing: p[at..<(at + n)]), as: UTF8.self)
            at += n
            return s
        }
        for _ in 0..<count {
            guard at < p.count else { return nil }
            let tag = p[at]
            at += 1
            guard let ns = name(), let key = name() else { return nil }
            switch tag {
            case opPut:
                guard p.count - at >= 4 else { return nil }
                let n = Int(readU32(p, at))
                at += 4
                guard p.count - at >= n else { return nil }
                ops.append(.put(namespace: ns, key: key, value: Array(UnsafeRawBufferPointer(rebasing: p[at..<(at + n)]))))
                at += n
            case opDelete:
                ops.append(.delete(namespace: ns, key: key))
            default:
                return nil
            }
        }
        // Trailing bytes inside a checksummed payload mean a writer we do not understand.
        return at == p.count ? ops : nil
    }
}
