// Columns written straight into their native serialization, value by value, for inserts of many
// rows: no array of `ClickHouseValue` is kept for the common types (integers, floats, decimals,
// strings, dates, UUIDs, enums and Nullable/Array/Tuple of them), so a string costs its bytes in
// one growing buffer rather than a heap array of its own. Types without a direct writer
// (LowCardinality, and any type without a case below) keep their values and are serialized by
// `ColumnCodec` when the column is finished. The bytes are those `ColumnCodec.writeValues` would
// write for the same values (tests compare the two).

internal import NIOCore

/// A column being built for an insert. Append one value per row, then `finish()`.
/// A value type, mutated in place (no reference counting or exclusivity checks per value).
public struct ClickHouseColumnBuilder: Sendable {
    public let name: String
    public let type: ClickHouseType
    var node: BuilderNode

    public init(name: String, type: ClickHouseType, reservingRows rows: Int = 0) {
        self.name = name
        self.type = type
        self.node = BuilderNode(type, reserve: rows)
    }

    /// Rows appended so far.
    public var count: Int { node.rows }

    /// Appends one value; throws `.invalidArgument` when it does not fit the type (the column is
    /// then unusable: a part of the value may have been written).
    public mutating func append(_ v: ClickHouseValue) throws { try node.append(v) }

    /// Appends a String/FixedString value (or the bytes of a Nullable/LowCardinality of one) from
    /// bytes that need not outlive the call.
    public mutating func append(bytes: UnsafeRawBufferPointer) throws { try node.append(bytes: bytes) }

    /// Appends an array of `count` byte strings (an `Array(String)`-like column), element `k`
    /// given by `element(k)`.
    public mutating func appendArray(count: Int, _ element: (Int) throws -> UnsafeRawBufferPointer) throws {
        try node.appendArray(count: count, element)
    }

    /// Appends the type's default value (NULL for Nullable).
    public mutating func appendDefault() { try! node.append(node.defaultValue) }

    /// The column's native bytes (state prefix, then data; nothing at all for zero rows).
    public func finish() throws -> ClickHouseEncodedColumn {
        var w = CHWriter()
        if node.rows > 0 {
            ColumnCodec.writePrefix(type, &w)
            try node.write(&w)
        }
        return ClickHouseEncodedColumn(name: name, type: type, rows: node.rows, bytes: w.bytes)
    }
}

/// A column in its native serialization, ready to send.
public struct ClickHouseEncodedColumn: Sendable, Hashable {
    public let name: String
    public let type: ClickHouseType
    public let rows: Int
    public let bytes: [UInt8]

    /// Encodes a column of values (the same bytes a builder gives for them).
    public init(_ c: ClickHouseColumn) throws {
        var w = CHWriter()
        if !c.values.isEmpty {
            ColumnCodec.writePrefix(c.type, &w)
            try ColumnCodec.writeValues(c.type, c.values, &w)
        }
        self.init(name: c.name, type: c.type, rows: c.values.count, bytes: w.bytes)
    }

    init(name: String, type: ClickHouseType, rows: Int, bytes: [UInt8]) {
        self.name = name; self.type = type; self.rows = rows; self.bytes = bytes
    }

    /// The values again (for tests and checks).
    public func decoded() throws -> ClickHouseColumn {
        var r = CHReader(bytes)
        if rows > 0 { try ColumnCodec.readPrefix(type, &r) }
        let values = try ColumnCodec.readValues(type, rows: rows, &r)
        guard r.remaining == 0 else { throw ClickHouseError(.malformed, "column \(name): \(r.remaining) bytes after the values") }
        return ClickHouseColumn(name: name, type: type, values: values)
    }
}

/// Encoded columns of equal length: one insert block.
public struct ClickHouseEncodedBlock: Sendable, Hashable {
    public let columns: [ClickHouseEncodedColumn]
    public let rowCount: Int

    public init(columns: [ClickHouseEncodedColumn]) throws {
        let rows = columns.first?.rows ?? 0
        for c in columns where c.rows != rows {
            throw ClickHouseError(.invalidArgument, "column \(c.name) has \(c.rows) values, block has \(rows) rows")
        }
        self.columns = columns
        self.rowCount = rows
    }

    /// The block body as the Data packet carries it (block info, counts, columns).
    func write(_ w: inout CHWriter) {
        w.uvarint(1); w.u8(0); w.uvarint(2); w.fixed(Int32(-1)); w.uvarint(0)
        w.uvarint(UInt64(columns.count)); w.uvarint(UInt64(rowCount))
        var size = w.bytes.count
        for c in columns { size += c.name.utf8.count + c.type.description.utf8.count + 20 + c.bytes.count }
        w.bytes.reserveCapacity(size)
        for c in columns {
            w.string(c.name); w.string(c.type.description)
            w.bytes.append(contentsOf: c.bytes)
        }
    }
}

struct BuilderNode: Sendable {
    enum Mode { case scalar, nullable, array, tuple, values }
    let type: ClickHouseType
    let mode: Mode
    /// scalar: the data; nullable: the null map; array: the offsets (UInt64 LE).
    var data = ByteBuffer()
    var children: [BuilderNode] = []
    /// values mode: what `ColumnCodec` serializes at the end.
    var values: [ClickHouseValue] = []
    var rows = 0
    /// array mode: the running offset.
    var total: UInt64 = 0
    let defaultValue: ClickHouseValue

    init(_ t: ClickHouseType, reserve: Int) {
        type = t
        defaultValue = ColumnCodec.defaultValue(t)
        switch t {
        case .nullable(let i):
            mode = .nullable
            children = [BuilderNode(i, reserve: reserve)]
            data.reserveCapacity(reserve)
        case .array(let i):
            mode = .array
            children = [BuilderNode(i, reserve: reserve)]
            data.reserveCapacity(reserve * 8)
        case .tuple(let ts):
            mode = .tuple
            children = ts.map { BuilderNode($0, reserve: reserve) }
        case .decimal(let p, _) where p > 38:
            // Decimal256: the value codec writes its 32 bytes.
            mode = .values
            values.reserveCapacity(reserve)
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float32, .float64,
             .decimal, .date, .dateTime, .uuid, .enum8, .enum16, .fixedString:
            mode = .scalar
            data.reserveCapacity(reserve * (t.fixedWidth ?? 8))
        case .string:
            mode = .scalar
            data.reserveCapacity(reserve * 16)
        default:
            mode = .values
            values.reserveCapacity(reserve)
        }
    }

    @inline(__always) mutating func le<T: FixedWidthInteger>(_ v: T) {
        data.writeInteger(v, endianness: .little)
    }

    mutating func append(bytes p: UnsafeRawBufferPointer) throws {
        switch mode {
        case .nullable:
            try children[0].append(bytes: p)
            data.writeInteger(UInt8(0))
            rows += 1
        case .scalar:
            switch type {
            case .string:
                var x = UInt64(p.count)
                while x >= 0x80 { data.writeInteger(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
                data.writeInteger(UInt8(x))
                data.writeBytes(p)
                rows += 1
            case .fixedString(let n):
                guard p.count <= n else { throw ColumnCodec.mismatch(type, .bytes(Array(p))) }
                data.writeBytes(p)
                if p.count < n { data.writeRepeatingByte(0, count: n - p.count) }
                rows += 1
            default:
                try append(.bytes(Array(p)))
            }
        default:
            try append(.bytes(Array(p)))
        }
    }

    mutating func appendArray(count: Int, _ element: (Int) throws -> UnsafeRawBufferPointer) throws {
        guard mode == .array else {
            try append(.array(try (0..<count).map { .bytes(Array(try element($0))) }))
            return
        }
        for k in 0..<count { try children[0].append(bytes: try element(k)) }
        total += UInt64(count)
        le(total)
        rows += 1
    }

    mutating func append(_ v: ClickHouseValue) throws {
        switch mode {
        case .values:
            values.append(v)
        case .nullable:
            if v == .null {
                let d = children[0].defaultValue
                try children[0].append(d)
                data.writeInteger(UInt8(1))
            } else {
                try children[0].append(v)
                data.writeInteger(UInt8(0))
            }
        case .array:
            guard case .array(let a) = v else { throw ColumnCodec.mismatch(type, v) }
            for x in a { try children[0].append(x) }
            total += UInt64(a.count)
            le(total)
        case .tuple:
            guard case .tuple(let items) = v, items.count == children.count else { throw ColumnCodec.mismatch(type, v) }
            for k in children.indices { try children[k].append(items[k]) }
        case .scalar:
            try appendScalar(v)
        }
        rows += 1
    }

    /// As `ColumnCodec.writeValues` writes one value of a scalar type.
    private mutating func appendScalar(_ v: ClickHouseValue) throws {
        let t = type
        switch t {
        case .int8, .uint8: data.writeInteger(UInt8(truncatingIfNeeded: try ColumnCodec.intValue(t, v)))
        case .int16, .uint16, .date: le(UInt16(truncatingIfNeeded: try ColumnCodec.intValue(t, v)))
        case .int32, .uint32, .dateTime: le(UInt32(truncatingIfNeeded: try ColumnCodec.intValue(t, v)))
        case .int64, .uint64:
            switch v {
            case .int(let x): le(x)
            case .uint(let x): le(x)
            default: le(UInt64(truncatingIfNeeded: try ColumnCodec.intValue(t, v)))
            }
        case .decimal(let p, _):
            let x = try ColumnCodec.intValue(t, v)
            if p <= 9 { le(Int32(truncatingIfNeeded: x)) } else if p <= 18 { le(Int64(truncatingIfNeeded: x)) } else { le(x) }
        case .float32, .float64:
            let d: Double
            switch v {
            case .float(let x): d = x
            case .int(let x): d = Double(x)
            case .uint(let x): d = Double(x)
            default: throw ColumnCodec.mismatch(t, v)
            }
            if case .float32 = t { le(Float(d).bitPattern) } else { le(d.bitPattern) }
        case .string:
            guard case .bytes(let b) = v else { throw ColumnCodec.mismatch(t, v) }
            var x = UInt64(b.count)
            while x >= 0x80 { data.writeInteger(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
            data.writeInteger(UInt8(x))
            data.writeBytes(b)
        case .fixedString(let n):
            guard case .bytes(let b) = v, b.count <= n else { throw ColumnCodec.mismatch(t, v) }
            data.writeBytes(b)
            if b.count < n { data.writeRepeatingByte(0, count: n - b.count) }
        case .uuid:
            guard case .uuid(let b) = v, b.count == 16 else { throw ColumnCodec.mismatch(t, v) }
            data.writeBytes(b[0..<8].reversed()); data.writeBytes(b[8..<16].reversed())
        default:
            // Enums (name lookup) and anything else scalar: the codec itself, one value.
            var w = CHWriter()
            try ColumnCodec.writeValues(t, [v], &w)
            data.writeBytes(w.bytes)
        }
    }

    func write(_ w: inout CHWriter) throws {
        switch mode {
        case .values: try ColumnCodec.writeValues(type, values, &w)
        case .scalar: w.bytes.append(contentsOf: data.readableBytesView)
        case .nullable, .array:
            w.bytes.append(contentsOf: data.readableBytesView)
            try children[0].write(&w)
        case .tuple:
            for c in children { try c.write(&w) }
        }
    }
}
