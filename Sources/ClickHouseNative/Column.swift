/// One value of a column, typed loosely enough to cover every supported type.
public enum ClickHouseValue: Sendable, Hashable {
    case null
    case int(Int64)
    case uint(UInt64)
    case float(Double)
    /// Unscaled decimal integer with the column's scale.
    case decimal(Int128, scale: Int)
    case bytes([UInt8])
    /// Days since 1970-01-01.
    case date(UInt16)
    /// Seconds since the epoch (UTC).
    case dateTime(UInt32)
    /// The UUID's 16 bytes in text order.
    case uuid([UInt8])
    /// An enum member: its name and value.
    case enumValue(String, Int16)
    case array([ClickHouseValue])
    case tuple([ClickHouseValue])
    // Types newer than ClickHouse 18.16.
    case int128(Int128)
    case uint128(UInt128)
    case int256(ClickHouseInt256)
    case uint256(ClickHouseUInt256)
    /// Unscaled Decimal(39...76, s) integer with the column's scale.
    case decimal256(ClickHouseInt256, scale: Int)
    case bool(Bool)
    /// Signed days since 1970-01-01 (Date32).
    case date32(Int32)
    /// DateTime64: ticks of 10^-precision seconds since the epoch (UTC).
    case dateTime64(Int64, precision: Int)
    /// IPv4 as a number: 1.2.3.4 is 0x01020304.
    case ipv4(UInt32)
    /// IPv6: 16 bytes in network order.
    case ipv6([UInt8])
    /// Map entries in their stored order (duplicates kept, as ClickHouse keeps them).
    case map([ClickHouseMapEntry])

    public static func string(_ s: String) -> ClickHouseValue { .bytes(Array(s.utf8)) }
}

/// One key/value pair of a Map value.
public struct ClickHouseMapEntry: Sendable, Hashable {
    public var key: ClickHouseValue
    public var value: ClickHouseValue
    public init(key: ClickHouseValue, value: ClickHouseValue) { self.key = key; self.value = value }
}

/// A named, typed column: what a query returns and what an insert sends.
public struct ClickHouseColumn: Sendable, Hashable {
    public var name: String
    public var type: ClickHouseType
    public var values: [ClickHouseValue]

    public init(name: String, type: ClickHouseType, values: [ClickHouseValue]) {
        self.name = name; self.type = type; self.values = values
    }

    /// Convenience: the type given by its ClickHouse name.
    public init(name: String, typeName: String, values: [ClickHouseValue]) throws {
        self.init(name: name, type: try ClickHouseType.parse(typeName), values: values)
    }
}

/// A block: columns of equal length.
public struct ClickHouseBlock: Sendable, Hashable {
    public var columns: [ClickHouseColumn]
    public var rowCount: Int
    public init(columns: [ClickHouseColumn], rowCount: Int) { self.columns = columns; self.rowCount = rowCount }
}

enum ColumnCodec {
    /// Upper bound on rows * element size checks: values are only allocated after the bytes are seen.
    static func readPrefix(_ t: ClickHouseType, _ r: inout CHReader) throws {
        switch t {
        case .nullable(let i), .array(let i): try readPrefix(i, &r)
        case .tuple(let ts): for i in ts { try readPrefix(i, &r) }
        case .namedTuple(let es), .nested(let es): for e in es { try readPrefix(e.type, &r) }
        case .map(let k, let v): try readPrefix(k, &r); try readPrefix(v, &r)
        case .lowCardinality:
            let version = try r.fixed(UInt64.self)
            guard version == 1 else { throw ClickHouseError(.malformed, "LowCardinality key version \(version)") }
        default: break
        }
    }

    static func readValues(_ t: ClickHouseType, rows: Int, _ r: inout CHReader) throws -> [ClickHouseValue] {
        if let w = t.fixedWidth {
            let (total, o) = rows.multipliedReportingOverflow(by: w)
            guard !o else { throw ClickHouseError(.tooLarge, "column size") }
            try r.need(total)
        } else {
            try r.need(rows) // every row takes at least one byte
        }
        var out: [ClickHouseValue] = []
        out.reserveCapacity(rows)
        switch t {
        case .int8: for _ in 0..<rows { out.append(.int(Int64(try r.fixed(Int8.self)))) }
        case .int16: for _ in 0..<rows { out.append(.int(Int64(try r.fixed(Int16.self)))) }
        case .int32: for _ in 0..<rows { out.append(.int(Int64(try r.fixed(Int32.self)))) }
        case .int64: for _ in 0..<rows { out.append(.int(try r.fixed(Int64.self))) }
        case .uint8: for _ in 0..<rows { out.append(.uint(UInt64(try r.fixed(UInt8.self)))) }
        case .uint16: for _ in 0..<rows { out.append(.uint(UInt64(try r.fixed(UInt16.self)))) }
        case .uint32: for _ in 0..<rows { out.append(.uint(UInt64(try r.fixed(UInt32.self)))) }
        case .uint64: for _ in 0..<rows { out.append(.uint(try r.fixed(UInt64.self))) }
        case .float32: for _ in 0..<rows { out.append(.float(Double(Float(bitPattern: try r.fixed(UInt32.self))))) }
        case .float64: for _ in 0..<rows { out.append(.float(Double(bitPattern: try r.fixed(UInt64.self)))) }
        case .decimal(let p, let s) where p > 38:
            for _ in 0..<rows { out.append(.decimal256(ClickHouseInt256(bits: try r.wide256()), scale: s)) }
        case .decimal(let p, let s):
            for _ in 0..<rows {
                let v: Int128 = p <= 9 ? Int128(try r.fixed(Int32.self)) : p <= 18 ? Int128(try r.fixed(Int64.self))
                    : try r.fixed(Int128.self)
                out.append(.decimal(v, scale: s))
            }
        case .string: for _ in 0..<rows { out.append(.bytes(try r.bytesString())) }
        case .fixedString(let n): for _ in 0..<rows { out.append(.bytes(try r.raw(n))) }
        case .date: for _ in 0..<rows { out.append(.date(try r.fixed(UInt16.self))) }
        case .dateTime: for _ in 0..<rows { out.append(.dateTime(try r.fixed(UInt32.self))) }
        case .uuid:
            for _ in 0..<rows {
                let b = try r.raw(16)
                out.append(.uuid(Array(b[0..<8].reversed()) + Array(b[8..<16].reversed())))
            }
        case .enum8(let w), .enum16(let w):
            let is8: Bool = { if case .enum8 = t { return true }; return false }()
            var names: [Int16: String] = [:]
            for (n, v) in w.items where names[v] == nil { names[v] = n }
            for _ in 0..<rows {
                let v = is8 ? Int16(try r.fixed(Int8.self)) : try r.fixed(Int16.self)
                let name = names[v] ?? String(v)
                out.append(.enumValue(name, v))
            }
        case .nullable(let inner):
            let map = try r.raw(rows)
            let vals = try readValues(inner, rows: rows, &r)
            for i in 0..<rows { out.append(map[i] != 0 ? .null : vals[i]) }
        case .array(let inner):
            try readArrays(inner, rows: rows, &r) { out.append(.array(Array($0))) }
        case .nested(let es):
            try readArrays(.namedTuple(es), rows: rows, &r) { out.append(.array(Array($0))) }
        case .map(let k, let v):
            try readArrays(.tuple([k, v]), rows: rows, &r) { entries in
                out.append(.map(entries.map { e in
                    guard case .tuple(let kv) = e else { return ClickHouseMapEntry(key: .null, value: .null) }
                    return ClickHouseMapEntry(key: kv[0], value: kv[1])
                }))
            }
        case .tuple(let ts):
            let cols = try ts.map { try readValues($0, rows: rows, &r) }
            for i in 0..<rows { out.append(.tuple(cols.map { $0[i] })) }
        case .namedTuple(let es):
            let cols = try es.map { try readValues($0.type, rows: rows, &r) }
            for i in 0..<rows { out.append(.tuple(cols.map { $0[i] })) }
        case .int128: for _ in 0..<rows { out.append(.int128(try r.fixed(Int128.self))) }
        case .uint128: for _ in 0..<rows { out.append(.uint128(try r.fixed(UInt128.self))) }
        case .int256: for _ in 0..<rows { out.append(.int256(ClickHouseInt256(bits: try r.wide256()))) }
        case .uint256: for _ in 0..<rows { out.append(.uint256(try r.wide256())) }
        case .bool: for _ in 0..<rows { out.append(.bool(try r.u8() != 0)) }
        case .date32: for _ in 0..<rows { out.append(.date32(try r.fixed(Int32.self))) }
        case .dateTime64(let p, _): for _ in 0..<rows { out.append(.dateTime64(try r.fixed(Int64.self), precision: p)) }
        case .ipv4: for _ in 0..<rows { out.append(.ipv4(try r.fixed(UInt32.self))) }
        case .ipv6: for _ in 0..<rows { out.append(.ipv6(try r.raw(16))) }
        case .nothing:
            // ClickHouse writes one placeholder byte ('0') per row and ignores it on reading.
            try r.need(rows); r.pos += rows
            out = [ClickHouseValue](repeating: .null, count: rows)
        case .lowCardinality(let inner):
            if rows == 0 { return [] }
            let flags = try r.fixed(UInt64.self)
            let keyType = flags & 0xff
            guard keyType <= 3, flags & (1 << 8) == 0, flags & (1 << 9) != 0 else {
                throw ClickHouseError(.unsupportedType, "LowCardinality serialization flags 0x\(String(flags, radix: 16))")
            }
            var dictType = inner
            var nullable = false
            if case .nullable(let x) = inner { dictType = x; nullable = true }
            let dictSize64 = try r.fixed(UInt64.self)
            guard dictSize64 <= UInt64(r.remaining) else { throw ClickHouseError(.malformed, "LowCardinality dictionary size \(dictSize64)") }
            let dictSize = Int(dictSize64)
            let dict = try readValues(dictType, rows: dictSize, &r)
            let n = try r.fixed(UInt64.self)
            guard n == UInt64(rows) else { throw ClickHouseError(.malformed, "LowCardinality rows \(n) != \(rows)") }
            let keyWidth = 1 << Int(keyType)
            try r.need(rows * keyWidth)
            for _ in 0..<rows {
                let k: UInt64
                switch keyType {
                case 0: k = UInt64(try r.fixed(UInt8.self))
                case 1: k = UInt64(try r.fixed(UInt16.self))
                case 2: k = UInt64(try r.fixed(UInt32.self))
                default: k = try r.fixed(UInt64.self)
                }
                guard k < UInt64(dict.count) else { throw ClickHouseError(.malformed, "LowCardinality index \(k) out of dictionary") }
                out.append(nullable && k == 0 ? .null : dict[Int(k)])
            }
        }
        return out
    }

    /// Array layout (also Map and Nested): `rows` UInt64 end offsets, ascending, then the flattened
    /// elements as one column of `inner`. Hands each row's elements to `row`.
    static func readArrays(_ inner: ClickHouseType, rows: Int, _ r: inout CHReader,
                           _ row: (ArraySlice<ClickHouseValue>) -> Void) throws {
        try r.need(rows * 8)
        var offsets: [Int] = []
        offsets.reserveCapacity(rows)
        var prev: UInt64 = 0
        for _ in 0..<rows {
            let o = try r.fixed(UInt64.self)
            guard o >= prev, o <= UInt64(Int32.max) else { throw ClickHouseError(.malformed, "array offsets not ascending") }
            offsets.append(Int(o)); prev = o
        }
        let flat = try readValues(inner, rows: Int(prev), &r)
        var start = 0
        for o in offsets { row(flat[start..<o]); start = o }
    }

    static func writePrefix(_ t: ClickHouseType, _ w: inout CHWriter) {
        switch t {
        case .nullable(let i), .array(let i): writePrefix(i, &w)
        case .tuple(let ts): for i in ts { writePrefix(i, &w) }
        case .namedTuple(let es), .nested(let es): for e in es { writePrefix(e.type, &w) }
        case .map(let k, let v): writePrefix(k, &w); writePrefix(v, &w)
        case .lowCardinality: w.fixed(UInt64(1))
        default: break
        }
    }

    static func mismatch(_ t: ClickHouseType, _ v: ClickHouseValue) -> ClickHouseError {
        ClickHouseError(.invalidArgument, "value \(v) does not fit column type \(t)")
    }

    static func intValue(_ t: ClickHouseType, _ v: ClickHouseValue) throws -> Int128 {
        switch v {
        case .int(let x): return Int128(x)
        case .uint(let x): return Int128(x)
        case .decimal(let x, _): return x
        case .date(let x): return Int128(x)
        case .dateTime(let x): return Int128(x)
        case .enumValue(_, let x): return Int128(x)
        case .int128(let x): return x
        case .bool(let b): return b ? 1 : 0
        case .date32(let x): return Int128(x)
        case .ipv4(let x): return Int128(x)
        case .dateTime64(let x, _): return Int128(x)
        case .uint128(let x): if let y = Int128(exactly: x) { return y }
        case .int256(let x), .decimal256(let x, _): if let y = x.int128 { return y }
        case .uint256(let x): if let y = x.uint128, let z = Int128(exactly: y) { return z }
        default: break
        }
        throw mismatch(t, v)
    }

    /// An integer value as 256 bits of two's complement plus its sign, for the wide columns,
    /// which check the range instead of truncating.
    static func wideValue(_ t: ClickHouseType, _ v: ClickHouseValue) throws -> (bits: ClickHouseUInt256, negative: Bool) {
        switch v {
        case .uint128(let x): return (ClickHouseUInt256(x), false)
        case .uint(let x): return (ClickHouseUInt256(UInt128(x)), false)
        case .int256(let x), .decimal256(let x, _): return (x.bits, x.isNegative)
        case .uint256(let x): return (x, false)
        default:
            let x = try intValue(t, v)
            return (ClickHouseInt256(x).bits, x < 0)
        }
    }

    static func writeWide(_ t: ClickHouseType, _ v: ClickHouseValue, _ w: inout CHWriter) throws {
        let (bits, negative) = try wideValue(t, v)
        let signedHigh = Int128(truncatingIfNeeded: bits.high)
        let fits: Bool
        let width: Int
        switch t {
        case .int128: fits = negative ? bits.high == .max && Int128(truncatingIfNeeded: bits.low) < 0
            : bits.high == 0 && Int128(truncatingIfNeeded: bits.low) >= 0; width = 16
        case .uint128: fits = !negative && bits.high == 0; width = 16
        case .uint256: fits = !negative; width = 32
        default: fits = negative == (signedHigh < 0); width = 32 // Int256, Decimal256
        }
        guard fits else { throw ClickHouseError(.invalidArgument, "value \(v) is out of the range of column type \(t)") }
        if width == 16 { w.fixed(bits.low) } else { w.fixed(bits.low); w.fixed(bits.high) }
    }

    /// DateTime64 ticks at the column's precision: a value of another precision is rescaled
    /// (truncated toward zero when it has more digits), seconds and plain integers are taken as
    /// seconds and ticks respectively.
    static func ticks(_ t: ClickHouseType, precision p: Int, _ v: ClickHouseValue) throws -> Int64 {
        var x: Int64
        var from = p
        switch v {
        case .dateTime64(let ticks, let q): x = ticks; from = q
        case .dateTime(let secs): x = Int64(secs); from = 0
        case .int(let i): x = i
        case .uint(let u): guard let i = Int64(exactly: u) else { throw mismatch(t, v) }; x = i
        default: throw mismatch(t, v)
        }
        while from < p {
            let (y, o) = x.multipliedReportingOverflow(by: 10)
            guard !o else { throw ClickHouseError(.invalidArgument, "value \(v) is out of the range of column type \(t)") }
            x = y; from += 1
        }
        while from > p { x /= 10; from -= 1 }
        return x
    }

    static func defaultValue(_ t: ClickHouseType) -> ClickHouseValue {
        switch t {
        case .string: .bytes([])
        case .fixedString(let n): .bytes([UInt8](repeating: 0, count: n))
        case .float32, .float64: .float(0)
        case .uuid: .uuid([UInt8](repeating: 0, count: 16))
        case .array: .array([])
        case .tuple(let ts): .tuple(ts.map(defaultValue))
        case .nullable: .null
        case .lowCardinality(let i): defaultValue(i)
        case .enum8(let w), .enum16(let w): .enumValue(w.items.first?.0 ?? "", w.items.first?.1 ?? 0)
        case .int128: .int128(0)
        case .uint128: .uint128(0)
        case .int256: .int256(.zero)
        case .uint256: .uint256(.zero)
        case .decimal(let p, let s) where p > 38: .decimal256(.zero, scale: s)
        case .bool: .bool(false)
        case .date32: .date32(0)
        case .dateTime64(let p, _): .dateTime64(0, precision: p)
        case .ipv4: .ipv4(0)
        case .ipv6: .ipv6([UInt8](repeating: 0, count: 16))
        case .map: .map([])
        case .nested: .array([])
        case .namedTuple(let es): .tuple(es.map { defaultValue($0.type) })
        case .nothing: .null
        default: .int(0)
        }
    }

    static func writeValues(_ t: ClickHouseType, _ vals: [ClickHouseValue], _ w: inout CHWriter) throws {
        switch t {
        case .int8, .uint8: for v in vals { w.fixed(UInt8(truncatingIfNeeded: try intValue(t, v))) }
        case .int16, .uint16, .date: for v in vals { w.fixed(UInt16(truncatingIfNeeded: try intValue(t, v))) }
        case .int32, .uint32, .dateTime: for v in vals { w.fixed(UInt32(truncatingIfNeeded: try intValue(t, v))) }
        case .int64, .uint64: for v in vals { w.fixed(UInt64(truncatingIfNeeded: try intValue(t, v))) }
        case .decimal(let p, _) where p > 38:
            for v in vals { try writeWide(t, v, &w) }
        case .int128, .uint128, .int256, .uint256:
            for v in vals { try writeWide(t, v, &w) }
        case .decimal(let p, _):
            for v in vals {
                let x = try intValue(t, v)
                if p <= 9 { w.fixed(Int32(truncatingIfNeeded: x)) } else if p <= 18 { w.fixed(Int64(truncatingIfNeeded: x)) } else { w.fixed(x) }
            }
        case .float32, .float64:
            for v in vals {
                let d: Double
                switch v {
                case .float(let x): d = x
                case .int(let x): d = Double(x)
                case .uint(let x): d = Double(x)
                default: throw mismatch(t, v)
                }
                if case .float32 = t { w.fixed(Float(d).bitPattern) } else { w.fixed(d.bitPattern) }
            }
        case .string:
            for v in vals { guard case .bytes(let b) = v else { throw mismatch(t, v) }; w.string(b) }
        case .fixedString(let n):
            for v in vals {
                guard case .bytes(let b) = v, b.count <= n else { throw mismatch(t, v) }
                w.bytes.append(contentsOf: b); w.bytes.append(contentsOf: [UInt8](repeating: 0, count: n - b.count))
            }
        case .uuid:
            for v in vals {
                guard case .uuid(let b) = v, b.count == 16 else { throw mismatch(t, v) }
                w.bytes.append(contentsOf: b[0..<8].reversed()); w.bytes.append(contentsOf: b[8..<16].reversed())
            }
        case .enum8(let e), .enum16(let e):
            for v in vals {
                let x: Int16
                switch v {
                case .enumValue(let name, let val):
                    x = e.items.first { $0.0 == name }?.1 ?? val
                case .bytes(let b):
                    let name = String(decoding: b, as: UTF8.self)
                    guard let f = e.items.first(where: { $0.0 == name }) else { throw mismatch(t, v) }
                    x = f.1
                default: x = Int16(truncatingIfNeeded: try intValue(t, v))
                }
                if case .enum8 = t { w.fixed(Int8(truncatingIfNeeded: x)) } else { w.fixed(x) }
            }
        case .nullable(let inner):
            for v in vals { w.u8(v == .null ? 1 : 0) }
            try writeValues(inner, vals.map { $0 == .null ? defaultValue(inner) : $0 }, &w)
        case .array(let inner):
            var total: UInt64 = 0
            var flat: [ClickHouseValue] = []
            for v in vals {
                guard case .array(let a) = v else { throw mismatch(t, v) }
                total += UInt64(a.count); w.fixed(total); flat.append(contentsOf: a)
            }
            try writeValues(inner, flat, &w)
        case .tuple(let ts):
            var cols = [[ClickHouseValue]](repeating: [], count: ts.count)
            for v in vals {
                guard case .tuple(let items) = v, items.count == ts.count else { throw mismatch(t, v) }
                for i in 0..<ts.count { cols[i].append(items[i]) }
            }
            for i in 0..<ts.count { try writeValues(ts[i], cols[i], &w) }
        case .namedTuple(let es):
            try writeValues(.tuple(es.map(\.type)), vals, &w)
        case .nested(let es):
            try writeValues(.array(.namedTuple(es)), vals, &w)
        case .map(let kt, let vt):
            var total: UInt64 = 0
            var keys: [ClickHouseValue] = [], values: [ClickHouseValue] = []
            for v in vals {
                switch v {
                case .map(let entries):
                    for e in entries { keys.append(e.key); values.append(e.value) }
                    total += UInt64(entries.count)
                case .array(let pairs): // Array(Tuple(K, V)), the layout ClickHouse stores
                    for p in pairs {
                        guard case .tuple(let kv) = p, kv.count == 2 else { throw mismatch(t, v) }
                        keys.append(kv[0]); values.append(kv[1])
                    }
                    total += UInt64(pairs.count)
                default: throw mismatch(t, v)
                }
                w.fixed(total)
            }
            try writeValues(kt, keys, &w)
            try writeValues(vt, values, &w)
        case .bool:
            for v in vals {
                if case .bool(let b) = v { w.u8(b ? 1 : 0) } else { w.u8(try intValue(t, v) != 0 ? 1 : 0) }
            }
        case .date32:
            for v in vals {
                let x = try intValue(t, v)
                guard let d = Int32(exactly: x) else { throw mismatch(t, v) }
                w.fixed(d)
            }
        case .dateTime64(let p, _):
            for v in vals { w.fixed(try ticks(t, precision: p, v)) }
        case .ipv4:
            for v in vals {
                guard let x = UInt32(exactly: try intValue(t, v)) else { throw mismatch(t, v) }
                w.fixed(x)
            }
        case .ipv6:
            for v in vals {
                switch v {
                case .ipv6(let b) where b.count == 16: w.bytes.append(contentsOf: b)
                case .bytes(let b) where b.count == 16: w.bytes.append(contentsOf: b)
                case .ipv4(let x): // IPv4-mapped, ::ffff:a.b.c.d
                    w.bytes.append(contentsOf: [UInt8](repeating: 0, count: 10) + [0xff, 0xff])
                    w.bytes.append(contentsOf: (0..<4).map { UInt8(truncatingIfNeeded: x >> (24 - 8 * $0)) })
                default: throw mismatch(t, v)
                }
            }
        case .nothing:
            w.bytes.append(contentsOf: [UInt8](repeating: 48, count: vals.count))
        case .lowCardinality(let inner):
            if vals.isEmpty { return }
            var dictType = inner
            var nullable = false
            if case .nullable(let x) = inner { dictType = x; nullable = true }
            var dict: [ClickHouseValue] = []
            var index: [ClickHouseValue: UInt32] = [:]
            if nullable { dict.append(defaultValue(dictType)); index[.null] = 0 }
            var keys: [UInt32] = []
            keys.reserveCapacity(vals.count)
            for v in vals {
                if let k = index[v] { keys.append(k); continue }
                let k = UInt32(dict.count)
                index[v] = k; dict.append(v); keys.append(k)
            }
            w.fixed(UInt64(2) | (1 << 9)) // UInt32 keys, additional keys, no global dictionary
            w.fixed(UInt64(dict.count))
            try writeValues(dictType, dict, &w)
            w.fixed(UInt64(vals.count))
            for k in keys { w.fixed(k) }
        }
    }
}

enum BlockCodec {
    /// Reads block info + columns (revision >= 51903 always has block info).
    static func read(_ r: inout CHReader) throws -> ClickHouseBlock {
        while true {
            let field = try r.uvarint()
            if field == 0 { break }
            switch field {
            case 1: _ = try r.u8()
            case 2: _ = try r.fixed(Int32.self)
            default: throw ClickHouseError(.malformed, "unknown block info field \(field)")
            }
        }
        return try readColumns(&r)
    }

    /// The block after its info: column and row counts, then per column name, type and data.
    /// This alone is one block of the Native file format.
    static func readColumns(_ r: inout CHReader) throws -> ClickHouseBlock {
        let ncols = try r.count(max: 1 << 20)
        let nrows = try r.count()
        var cols: [ClickHouseColumn] = []
        for _ in 0..<ncols {
            let name = try r.string()
            let typeName = try r.string()
            let t = try ClickHouseType.parse(typeName)
            // Zero rows are zero bytes: not even the serialization prefix.
            if nrows > 0 { try ColumnCodec.readPrefix(t, &r) }
            let vals = try ColumnCodec.readValues(t, rows: nrows, &r)
            cols.append(ClickHouseColumn(name: name, type: t, values: vals))
        }
        return ClickHouseBlock(columns: cols, rowCount: nrows)
    }

    static func write(_ b: ClickHouseBlock, _ w: inout CHWriter) throws {
        w.uvarint(1); w.u8(0); w.uvarint(2); w.fixed(Int32(-1)); w.uvarint(0)
        try writeColumns(b, &w)
    }

    static func writeColumns(_ b: ClickHouseBlock, _ w: inout CHWriter) throws {
        w.uvarint(UInt64(b.columns.count)); w.uvarint(UInt64(b.rowCount))
        for c in b.columns {
            guard c.values.count == b.rowCount else {
                throw ClickHouseError(.invalidArgument, "column \(c.name) has \(c.values.count) values, block has \(b.rowCount) rows")
            }
            w.string(c.name); w.string(c.type.description)
            if b.rowCount == 0 { continue }
            ColumnCodec.writePrefix(c.type, &w)
            try ColumnCodec.writeValues(c.type, c.values, &w)
        }
    }
}
