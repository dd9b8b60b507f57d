/// A column type as this client understands it, parsed from the type name the server sends.
public indirect enum ClickHouseType: Sendable, Hashable, CustomStringConvertible {
    case int8, int16, int32, int64, uint8, uint16, uint32, uint64
    case float32, float64
    case decimal(precision: Int, scale: Int)
    case string
    case fixedString(Int)
    case date
    case dateTime(timezone: String?)
    case uuid
    case enum8([(String, Int16)].Wrapper)
    case enum16([(String, Int16)].Wrapper)
    case nullable(ClickHouseType)
    case array(ClickHouseType)
    case tuple([ClickHouseType])
    case lowCardinality(ClickHouseType)
    // Types newer than ClickHouse 18.16 (all encode and decode; see DESIGN.md "Types").
    case int128, int256, uint128, uint256
    /// One byte, 0 or 1.
    case bool
    /// Signed days since 1970-01-01 (Int32).
    case date32
    /// Int64 ticks of 10^-precision seconds since the epoch; precision 0...9.
    case dateTime64(precision: Int, timezone: String?)
    /// UInt32, the address as a number (1.2.3.4 is 0x01020304).
    case ipv4
    /// 16 bytes in network order.
    case ipv6
    /// Serialized as Array(Tuple(key, value)).
    case map(ClickHouseType, ClickHouseType)
    /// `Tuple(a T, b U)`: serialized like the unnamed tuple; values are positional.
    case namedTuple([ClickHouseTupleElement])
    /// `Nested(a T, b U)` (what a table with flatten_nested = 0 shows): serialized as
    /// Array(Tuple(a T, b U)). With flatten_nested = 1 blocks carry `n.a Array(T)` columns instead.
    case nested([ClickHouseTupleElement])
    /// The type of NULL and of `[]`'s elements: one ignored byte per row.
    case nothing

    /// Parses a ClickHouse type name such as `Array(Nullable(String))`.
    public static func parse(_ name: String) throws -> ClickHouseType {
        var p = TypeParser(Array(name.utf8))
        let t = try p.parseType(depth: 0)
        p.skipSpaces()
        guard p.pos == p.s.count else { throw ClickHouseError(.malformed, "trailing text in type \(name)") }
        return t
    }

    public var description: String {
        switch self {
        case .int8: "Int8"
        case .int16: "Int16"
        case .int32: "Int32"
        case .int64: "Int64"
        case .uint8: "UInt8"
        case .uint16: "UInt16"
        case .uint32: "UInt32"
        case .uint64: "UInt64"
        case .float32: "Float32"
        case .float64: "Float64"
        case .decimal(let p, let s): "Decimal(\(p), \(s))"
        case .string: "String"
        case .fixedString(let n): "FixedString(\(n))"
        case .date: "Date"
        case .dateTime(let tz): tz.map { "DateTime('\($0)')" } ?? "DateTime"
        case .uuid: "UUID"
        case .enum8(let w): "Enum8(" + w.items.map { "'\($0.0)' = \($0.1)" }.joined(separator: ", ") + ")"
        case .enum16(let w): "Enum16(" + w.items.map { "'\($0.0)' = \($0.1)" }.joined(separator: ", ") + ")"
        case .nullable(let t): "Nullable(\(t))"
        case .array(let t): "Array(\(t))"
        case .tuple(let ts): "Tuple(" + ts.map(\.description).joined(separator: ", ") + ")"
        case .lowCardinality(let t): "LowCardinality(\(t))"
        case .int128: "Int128"
        case .int256: "Int256"
        case .uint128: "UInt128"
        case .uint256: "UInt256"
        case .bool: "Bool"
        case .date32: "Date32"
        case .dateTime64(let p, let tz): tz.map { "DateTime64(\(p), '\($0)')" } ?? "DateTime64(\(p))"
        case .ipv4: "IPv4"
        case .ipv6: "IPv6"
        case .map(let k, let v): "Map(\(k), \(v))"
        case .namedTuple(let es): "Tuple(" + es.map(\.description).joined(separator: ", ") + ")"
        case .nested(let es): "Nested(" + es.map(\.description).joined(separator: ", ") + ")"
        case .nothing: "Nothing"
        }
    }

    /// Fixed width in bytes of one value, for the fixed-width types.
    var fixedWidth: Int? {
        switch self {
        case .int8, .uint8, .enum8, .bool, .nothing: 1
        case .int16, .uint16, .enum16, .date: 2
        case .int32, .uint32, .float32, .dateTime, .date32, .ipv4: 4
        case .int64, .uint64, .float64, .dateTime64: 8
        case .uuid, .int128, .uint128, .ipv6: 16
        case .int256, .uint256: 32
        case .fixedString(let n): n
        case .decimal(let p, _): p <= 9 ? 4 : p <= 18 ? 8 : p <= 38 ? 16 : 32
        default: nil
        }
    }
}

/// One element of a named tuple or of Nested: `name Type`.
public struct ClickHouseTupleElement: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var type: ClickHouseType
    public init(name: String, type: ClickHouseType) { self.name = name; self.type = type }

    /// The name back-quoted when it is not a plain identifier, as ClickHouse writes it.
    public var description: String {
        let u = Array(name.utf8)
        let plain = !u.isEmpty && !(u[0] >= 48 && u[0] <= 57) && u.allSatisfy(TypeParser.isIdentByte)
        if plain { return "\(name) \(type)" }
        var q = "`"
        for c in name { if c == "`" || c == "\\" { q.append("\\") }; q.append(c) }
        return q + "` \(type)"
    }
}

extension Array where Element == (String, Int16) {
    /// Enum members (name, value); wrapped so the type stays Hashable.
    public struct Wrapper: Sendable, Hashable {
        public var items: [(String, Int16)]
        public init(_ items: [(String, Int16)]) { self.items = items }
        public static func == (a: Wrapper, b: Wrapper) -> Bool {
            a.items.count == b.items.count && zip(a.items, b.items).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }
        public func hash(into h: inout Hasher) { for (n, v) in items { h.combine(n); h.combine(v) } }
    }
}

struct TypeParser {
    let s: [UInt8]
    var pos = 0
    init(_ s: [UInt8]) { self.s = s }

    static func isIdentByte(_ c: UInt8) -> Bool {
        c == 95 || (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 122)
    }

    var text: String { String(decoding: s, as: UTF8.self) }

    mutating func skipSpaces() { while pos < s.count, s[pos] == 32 { pos += 1 } }

    mutating func ident() -> String {
        skipSpaces()
        let start = pos
        while pos < s.count, Self.isIdentByte(s[pos]) { pos += 1 }
        return String(decoding: s[start..<pos], as: UTF8.self)
    }

    mutating func expect(_ c: UInt8) throws {
        skipSpaces()
        guard pos < s.count, s[pos] == c else {
            throw ClickHouseError(.malformed, "type name: expected '\(Character(Unicode.Scalar(c)))' at \(pos)")
        }
        pos += 1
    }

    mutating func peek(_ c: UInt8) -> Bool { skipSpaces(); return pos < s.count && s[pos] == c }

    mutating func int() throws -> Int {
        skipSpaces()
        var neg = false
        if pos < s.count, s[pos] == 45 { neg = true; pos += 1 }
        let start = pos
        var v = 0
        while pos < s.count, s[pos] >= 48, s[pos] <= 57, pos - start < 9 { v = v * 10 + Int(s[pos] - 48); pos += 1 }
        guard pos > start else { throw ClickHouseError(.malformed, "type name: expected a number at \(pos)") }
        return neg ? -v : v
    }

    /// A quoted string ('...' or `...`) with backslash escapes.
    mutating func quoted(_ q: UInt8 = 39) throws -> String {
        try expect(q)
        var out: [UInt8] = []
        while pos < s.count {
            let c = s[pos]; pos += 1
            if c == 92, pos < s.count { out.append(s[pos]); pos += 1; continue }
            if c == q { return String(decoding: out, as: UTF8.self) }
            out.append(c)
        }
        throw ClickHouseError(.malformed, "type name: unterminated quote")
    }

    /// `name Type` (name plain or back-quoted) or, when `namesRequired` is false, just `Type`.
    mutating func element(depth: Int, namesRequired: Bool) throws -> (String?, ClickHouseType) {
        skipSpaces()
        if pos < s.count, s[pos] == 96 {
            let name = try quoted(96)
            return (name, try parseType(depth: depth + 1))
        }
        let save = pos
        let name = ident()
        let afterName = pos
        skipSpaces()
        if !name.isEmpty, pos > afterName, pos < s.count, Self.isIdentByte(s[pos]) || s[pos] == 96 {
            return (name, try parseType(depth: depth + 1))
        }
        guard !namesRequired else { throw ClickHouseError(.malformed, "type name: Nested element without a name at \(save)") }
        pos = save
        return (nil, try parseType(depth: depth + 1))
    }

    mutating func parseType(depth: Int) throws -> ClickHouseType {
        guard depth < 32 else { throw ClickHouseError(.malformed, "type name nested too deeply") }
        let name = ident()
        switch name {
        case "Int8": return .int8
        case "Int16": return .int16
        case "Int32": return .int32
        case "Int64": return .int64
        case "Int128": return .int128
        case "Int256": return .int256
        case "UInt8": return .uint8
        case "UInt16": return .uint16
        case "UInt32": return .uint32
        case "UInt64": return .uint64
        case "UInt128": return .uint128
        case "UInt256": return .uint256
        case "Float32": return .float32
        case "Float64": return .float64
        case "String": return .string
        case "Date": return .date
        case "Date32": return .date32
        case "Bool": return .bool
        case "UUID": return .uuid
        case "IPv4": return .ipv4
        case "IPv6": return .ipv6
        case "Nothing": return .nothing
        case "DateTime":
            if peek(40) { try expect(40); let tz = try quoted(); try expect(41); return .dateTime(timezone: tz) }
            return .dateTime(timezone: nil)
        case "DateTime64":
            try expect(40)
            let p = try int()
            guard (0...9).contains(p) else { throw ClickHouseError(.malformed, "DateTime64(\(p))") }
            var tz: String?
            if peek(44) { try expect(44); tz = try quoted() }
            try expect(41)
            return .dateTime64(precision: p, timezone: tz)
        case "FixedString":
            try expect(40); let n = try int(); try expect(41)
            guard n > 0 else { throw ClickHouseError(.malformed, "FixedString(\(n))") }
            return .fixedString(n)
        case "Decimal":
            try expect(40); let p = try int()
            var sc = 0
            if peek(44) { try expect(44); sc = try int() }
            try expect(41)
            guard (1...76).contains(p), (0...p).contains(sc) else { throw ClickHouseError(.malformed, "Decimal(\(p), \(sc))") }
            return .decimal(precision: p, scale: sc)
        case "Decimal32", "Decimal64", "Decimal128", "Decimal256":
            try expect(40); let sc = try int(); try expect(41)
            let p = name == "Decimal32" ? 9 : name == "Decimal64" ? 18 : name == "Decimal128" ? 38 : 76
            guard (0...p).contains(sc) else { throw ClickHouseError(.malformed, "\(name)(\(sc))") }
            return .decimal(precision: p, scale: sc)
        case "Enum8", "Enum16":
            try expect(40)
            var items: [(String, Int16)] = []
            repeat {
                if !items.isEmpty { try expect(44) }
                let n = try quoted(); try expect(61); let v = try int()
                guard v >= (name == "Enum8" ? -128 : -32768), v <= (name == "Enum8" ? 127 : 32767) else {
                    throw ClickHouseError(.malformed, "enum value \(v)")
                }
                items.append((n, Int16(v)))
            } while peek(44)
            try expect(41)
            return name == "Enum8" ? .enum8(.init(items)) : .enum16(.init(items))
        case "Nullable", "Array", "LowCardinality":
            try expect(40); let inner = try parseType(depth: depth + 1); try expect(41)
            return name == "Nullable" ? .nullable(inner) : name == "Array" ? .array(inner) : .lowCardinality(inner)
        case "Map":
            try expect(40)
            let k = try parseType(depth: depth + 1)
            try expect(44)
            let v = try parseType(depth: depth + 1)
            try expect(41)
            return .map(k, v)
        case "Tuple", "Nested":
            try expect(40)
            var items: [(String?, ClickHouseType)] = []
            repeat {
                if !items.isEmpty { try expect(44) }
                items.append(try element(depth: depth, namesRequired: name == "Nested"))
            } while peek(44)
            try expect(41)
            let named = items.compactMap { e in e.0.map { ClickHouseTupleElement(name: $0, type: e.1) } }
            if name == "Nested" { return .nested(named) }
            if named.isEmpty { return .tuple(items.map(\.1)) }
            guard named.count == items.count else { throw ClickHouseError(.malformed, "type name: a tuple with some elements named: \(text)") }
            return .namedTuple(named)
        default:
            let what = name.isEmpty ? text : name == text ? name : "\(name) (in \(text))"
            throw ClickHouseError(.unsupportedType, "column type \(what) is not supported")
        }
    }
}

extension ClickHouseType {
    /// The value ClickHouse stores for this type when none is given (0, empty, NULL for Nullable).
    public var defaultValue: ClickHouseValue { ColumnCodec.defaultValue(self) }
}
