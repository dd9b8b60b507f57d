// Decodes one raw Avro datum (Avro 1.11 "Binary Encoding"): no object container, no
// schema-registry framing, just the bytes of one value written with the given schema.

/// Decodes raw Avro binary datums.
public enum AvroDecoder {
    /// Bounds for untrusted input, beyond the input's own length that bounds every length inside it.
    public struct Limits: Sendable {
        /// Deepest nesting of records, arrays and maps (a recursive schema is cut off here too).
        /// Decoding recurses once per level, so keep this modest.
        public var maxDepth: Int
        /// Most values in one datum, counting array items, map entries and record fields. This is
        /// what bounds memory when values take no bytes (arrays of nulls, empty records).
        public var maxItems: Int

        public init(maxDepth: Int = 64, maxItems: Int = 1 << 20) {
            self.maxDepth = maxDepth
            self.maxItems = maxItems
        }
    }

    /// Decodes exactly one datum of `schema` from `bytes`; bytes left over are an error.
    public static func decode(
        _ bytes: some Collection<UInt8>, schema: AvroSchema, limits: Limits = .init()
    ) throws(AvroError) -> AvroValue {
        let body = { (buffer: UnsafeBufferPointer<UInt8>) -> Result<AvroValue, AvroFailure> in
            var decoder = DatumDecoder(buffer, root: schema, limits: limits)
            return Result { () throws(AvroFailure) -> AvroValue in try decoder.decodeWhole() }
        }
        let result = bytes.withContiguousStorageIfAvailable(body) ?? Array(bytes).withUnsafeBufferPointer(body)
        switch result {
        case .success(let value): return value
        case .failure(let failure): throw failure.error
        }
    }
}

struct DatumDecoder {
    var reader: AvroBinaryReader
    let root: AvroSchema
    let maxDepth: Int
    var valuesLeft: Int
    /// Named types of `root` by full name, built the first time a `.reference` is met.
    var namedTypes: [String: AvroSchema]?

    init(_ bytes: UnsafeBufferPointer<UInt8>, root: AvroSchema, limits: AvroDecoder.Limits) {
        reader = AvroBinaryReader(bytes)
        self.root = root
        maxDepth = limits.maxDepth
        valuesLeft = max(0, limits.maxItems)
    }

    mutating func decodeWhole() throws(AvroFailure) -> AvroValue {
        let value = try decode(root, depth: 0)
        guard reader.remaining == 0 else {
            throw AvroFailure(code: .trailingBytes,
                              reason: "\(reader.remaining) bytes left after the datum", offset: reader.offset)
        }
        return value
    }

    mutating func decode(_ schema: AvroSchema, depth: Int) throws(AvroFailure) -> AvroValue {
        switch schema {
        case .null: return .null
        case .boolean: return .boolean(try reader.readBoolean())
        case .int: return .int(try reader.readInt())
        case .long: return .long(try reader.readLong())
        case .float: return .float(try reader.readFloat())
        case .double: return .double(try reader.readDouble())
        case .bytes: return .bytes(try reader.readBytes())
        case .string: return .string(try reader.readString())
        case .date: return .date(try reader.readInt())
        case .timeMillis: return .timeMillis(try reader.readInt())
        case .timeMicros: return .timeMicros(try reader.readLong())
        case .timestampMillis: return .timestampMillis(try reader.readLong())
        case .timestampMicros: return .timestampMicros(try reader.readLong())
        case .localTimestampMillis: return .localTimestampMillis(try reader.readLong())
        case .localTimestampMicros: return .localTimestampMicros(try reader.readLong())
        case .uuid: return .uuid(try reader.readString())
        case .fixed(_, let size): return .fixed(Array(try reader.take(size, "a fixed of \(size) bytes")))
        case .uuidFixed: return .uuid(Self.uuidText(try reader.take(16, "a uuid fixed of 16 bytes")))

        case .enum(let name, let symbols):
            let start = reader.offset
            let index = try reader.readInt()
            guard index >= 0, Int(index) < symbols.count else {
                throw AvroBinaryReader.malformed(
                    "enum \(name) index \(index) is not in 0..<\(symbols.count)", at: start)
            }
            return .enumSymbol(symbols[Int(index)])

        case .union(let branches):
            let start = reader.offset
            let index = try reader.readInt()
            guard index >= 0, Int(index) < branches.count else {
                throw AvroBinaryReader.malformed(
                    "union branch index \(index) is not in 0..<\(branches.count)", at: start)
            }
            // A branch is never itself a union, so this recursion is one step.
            return try decode(branches[Int(index)], depth: depth)

        case .decimal(_, let scale, let underlying):
            let start = reader.offset
            let raw: UnsafeBufferPointer<UInt8>
            switch underlying {
            case .bytes: raw = try reader.takeLengthPrefixed("decimal bytes")
            case .fixed(_, let size): raw = try reader.take(size, "a decimal fixed of \(size) bytes")
            default:
                throw AvroFailure(code: .invalidSchema, reason: "decimal must be on bytes or fixed", offset: start)
            }
            guard let unscaled = Self.twosComplement(raw) else {
                throw AvroBinaryReader.malformed(
                    "decimal of \(raw.count) bytes does not fit in 128 bits", at: start)
            }
            return .decimal(unscaled: unscaled, scale: scale)

        case .record(_, let fields):
            try enter(depth, "record")
            try spend(fields.count, "record fields")
            var out: [(name: String, value: AvroValue)] = []
            out.reserveCapacity(fields.count)
            for field in fields {
                do {
                    out.append((field.name, try decode(field.type, depth: depth + 1)))
                } catch {
                    throw error.within(field.name)
                }
            }
            return .record(out)

        case .array(let items):
            try enter(depth, "array")
            var out: [AvroValue] = []
            var budget = 64
            let itemSize = items.minimumEncodedSize(budget: &budget)
            while let count = try blockCount(itemSize: itemSize, what: "array") {
                // Only for the first block: reserving again per block would grow the storage by
                // exact amounts, quadratic over many small blocks.
                if out.isEmpty { out.reserveCapacity(count.items) }
                let bodyStart = reader.offset
                for _ in 0..<count.items {
                    do {
                        out.append(try decode(items, depth: depth + 1))
                    } catch {
                        throw error.within("[\(out.count)]")
                    }
                }
                try checkBlockSize(count.bytes, from: bodyStart)
            }
            return .array(out)

        case .map(let values):
            try enter(depth, "map")
            var out: [(String, AvroValue)] = []
            var budget = 64
            let entrySize = 1 + values.minimumEncodedSize(budget: &budget)
            while let count = try blockCount(itemSize: entrySize, what: "map") {
                if out.isEmpty { out.reserveCapacity(count.items) }
                let bodyStart = reader.offset
                for _ in 0..<count.items {
                    let key: String
                    do {
                        key = try reader.readString()
                    } catch {
                        throw error.within("[key #\(out.count)]")
                    }
                    do {
                        out.append((key, try decode(values, depth: depth + 1)))
                    } catch {
                        throw error.within("[\"\(key)\"]")
                    }
                }
                try checkBlockSize(count.bytes, from: bodyStart)
            }
            return .map(out)

        case .reference(let name):
            if namedTypes == nil {
                var table: [String: AvroSchema] = [:]
                Self.collectNamedTypes(root, into: &table)
                namedTypes = table
            }
            guard let definition = namedTypes?[name] else {
                throw AvroFailure(code: .invalidSchema, reason: "schema refers to unknown type \(name)",
                                  offset: reader.offset)
            }
            return try decode(definition, depth: depth)
        }
    }

    mutating func enter(_ depth: Int, _ what: String) throws(AvroFailure) {
        guard depth < maxDepth else {
            throw AvroFailure(code: .limitExceeded, reason: "\(what) nested deeper than \(maxDepth) levels",
                              offset: reader.offset)
        }
    }

    mutating func spend(_ count: Int, _ what: String) throws(AvroFailure) {
        guard count <= valuesLeft else {
            throw AvroFailure(code: .limitExceeded,
                              reason: "\(what) would exceed the limit on values in one datum", offset: reader.offset)
        }
        valuesLeft -= count
    }

    /// The next block header of an array or map: nil at the terminating zero count. A negative count
    /// is followed by the block's size in bytes (Avro 1.11 "Arrays"). The count must fit in the
    /// bytes left (at `itemSize` bytes or more per item) and in the value budget.
    mutating func blockCount(itemSize: Int, what: String) throws(AvroFailure) -> (items: Int, bytes: Int?)? {
        let start = reader.offset
        var count = try reader.readLong()
        if count == 0 { return nil }
        var byteSize: Int?
        if count < 0 {
            guard count != .min else { throw AvroBinaryReader.malformed("\(what) block count overflows", at: start) }
            count = -count
            let sizeStart = reader.offset
            let size = try reader.readLong()
            guard size >= 0 else {
                throw AvroBinaryReader.malformed("\(what) block has negative byte size \(size)", at: sizeStart)
            }
            guard size <= Int64(reader.remaining) else {
                throw AvroFailure(code: .truncated,
                                  reason: "\(what) block of \(size) bytes runs past the end (\(reader.remaining) left)",
                                  offset: sizeStart)
            }
            byteSize = Int(size)
        }
        if itemSize > 0 && count > Int64(reader.remaining / itemSize) {
            throw AvroFailure(code: .truncated,
                              reason: "\(what) block of \(count) items cannot fit in the \(reader.remaining) bytes left",
                              offset: start)
        }
        guard count <= Int64(valuesLeft) else {
            throw AvroFailure(code: .limitExceeded,
                              reason: "\(what) block of \(count) items exceeds the limit on values in one datum",
                              offset: start)
        }
        valuesLeft -= Int(count)
        return (Int(count), byteSize)
    }

    func checkBlockSize(_ declared: Int?, from bodyStart: Int) throws(AvroFailure) {
        guard let declared else { return }
        let used = reader.offset - bodyStart
        guard used == declared else {
            throw AvroBinaryReader.malformed("block says \(declared) bytes but its items took \(used)", at: bodyStart)
        }
    }

    /// Big-endian two's complement, as Java's BigInteger writes it. More than 16 bytes is accepted
    /// only when the extra leading bytes are sign extension.
    static func twosComplement(_ raw: UnsafeBufferPointer<UInt8>) -> Int128? {
        guard let first = raw.first else { return 0 }
        let negative = first & 0x80 != 0
        var start = 0
        if raw.count > 16 {
            start = raw.count - 16
            let fill: UInt8 = negative ? 0xFF : 0x00
            for i in 0..<start where raw[i] != fill { return nil }
            guard (raw[start] & 0x80 != 0) == negative else { return nil }
        }
        var value: UInt128 = negative ? ~0 : 0
        for i in start..<raw.count { value = (value << 8) | UInt128(raw[i]) }
        return Int128(truncatingIfNeeded: value)
    }

    static func uuidText(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (i, byte) in raw.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func collectNamedTypes(_ schema: AvroSchema, into table: inout [String: AvroSchema]) {
        switch schema {
        case .record(let name, let fields):
            guard table[name] == nil else { return }
            table[name] = schema
            for field in fields { collectNamedTypes(field.type, into: &table) }
        case .enum(let name, _), .fixed(let name, _), .uuidFixed(let name):
            table[name] = schema
        case .decimal(_, _, let underlying):
            if let name = underlying.fullName { table[name] = schema }
        case .array(let items): collectNamedTypes(items, into: &table)
        case .map(let values): collectNamedTypes(values, into: &table)
        case .union(let branches): for branch in branches { collectNamedTypes(branch, into: &table) }
        default: break
        }
    }
}
