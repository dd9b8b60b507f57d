/// Record headers encoded once for many records: the count and the bytes a magic-2 record
/// carries after its value (each header: varint name length, name, varint value length or -1,
/// value). A producer writing the same headers on every record of a batch encodes them once.
public struct KafkaRecordHeaders: Sendable, Equatable {
    public let count: Int
    let bytes: [UInt8]

    public static let none = KafkaRecordHeaders([])

    public init(_ headers: [(String, [UInt8]?)]) {
        var out: [UInt8] = []
        for (name, value) in headers {
            Self.appendVarLong(Int64(name.utf8.count), to: &out)
            out.append(contentsOf: name.utf8)
            if let value {
                Self.appendVarLong(Int64(value.count), to: &out)
                out.append(contentsOf: value)
            } else {
                Self.appendVarLong(-1, to: &out)
            }
        }
        count = headers.count
        bytes = out
    }

    /// The encoded size: the count's varint and the headers.
    var encodedSize: Int { ProducerBatch.varLongSize(Int64(count)) + bytes.count }

    private static func appendVarLong(_ v: Int64, to out: inout [UInt8]) {
        var u = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        while u >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: u) | 0x80)
            u >>= 7
        }
        out.append(UInt8(u))
    }
}

/// The keys and values of many records in one buffer, for `KafkaProducer.enqueue(topic:records:…)`:
/// a chunk of rows costs one allocation instead of two per record. Keys and values are written
/// in place (`appendRecord`) or copied in (`append(key:value:)`).
public struct KafkaRecordBlock: Sendable {
    /// Every key and value, back to back.
    public private(set) var bytes: [UInt8] = []
    /// Per record: where its key starts, where its value starts, and where it ends; a start of
    /// -1 marks a null key or value.
    private var bounds: [(key: Int, value: Int, end: Int)] = []

    public init(reservingRecords records: Int = 0, bytes byteCount: Int = 0) {
        bounds.reserveCapacity(records)
        bytes.reserveCapacity(byteCount)
    }

    public var count: Int { bounds.count }
    public var isEmpty: Bool { bounds.isEmpty }
    /// The bytes of every key and value together.
    public var byteCount: Int { bytes.count }

    /// Appends a record whose key and value the closures write onto the end of the buffer.
    public mutating func appendRecord(key: (inout [UInt8]) -> Void, value: (inout [UInt8]) -> Void) {
        let k = bytes.count
        key(&bytes)
        let v = bytes.count
        value(&bytes)
        bounds.append((k, v, bytes.count))
    }

    /// Appends a record (nil: a null key or value).
    public mutating func append(key: [UInt8]?, value: [UInt8]?) {
        let k = key == nil ? -1 : bytes.count
        if let key { bytes.append(contentsOf: key) }
        let v = value == nil ? -1 : bytes.count
        if let value { bytes.append(contentsOf: value) }
        bounds.append((k, v, bytes.count))
    }

    /// Record `i`'s key (nil: null).
    public func key(_ i: Int) -> ArraySlice<UInt8>? {
        let b = bounds[i]
        guard b.key >= 0 else { return nil }
        return bytes[b.key..<(b.value >= 0 ? b.value : b.end)]
    }

    /// Record `i`'s value (nil: null).
    public func value(_ i: Int) -> ArraySlice<UInt8>? {
        let b = bounds[i]
        guard b.value >= 0 else { return nil }
        return bytes[b.value..<b.end]
    }

    /// Calls `body` with the raw bytes of record `i`'s key and value.
    func withRecord<R>(_ i: Int, in all: UnsafeRawBufferPointer,
                       _ body: (UnsafeRawBufferPointer?, UnsafeRawBufferPointer?) -> R) -> R {
        let b = bounds[i]
        let keyEnd = b.value >= 0 ? b.value : b.end
        let key = b.key >= 0 ? UnsafeRawBufferPointer(rebasing: all[b.key..<keyEnd]) : nil
        let value = b.value >= 0 ? UnsafeRawBufferPointer(rebasing: all[b.value..<b.end]) : nil
        return body(key, value)
    }
}
