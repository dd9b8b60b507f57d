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
        }
    }

    /// Fixed width in bytes of one value, for the fixed-width types.
    var fixedWidth: Int? {
        switch self {
        case .int8, .uint8, .enum8: 1
        case .int16, .uint16, .enum16, .date: 2
        case .int32, .uint32, .float32, .dateTime: 4
        case .int64, .uint64, .float64: 8
        case .uuid: 16
        case .fixedString(let n): n
        case .decimal(let p, _): p <= 9 ? 4 : p <= 18 ? 8 : 16
        default: nil
        }
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

    mutating func skipSpaces() { while pos < s.count, s[pos] == 32 { pos += 1 } }

    mutating func ident() -> String {
        skipSpaces()
        let start = pos
        while pos < s.count, s[pos] == 95 || (s[pos] >= 48 && s[pos] <= 57) || ((s[pos] | 0x20) >= 97 && (s[pos] | 0x20) <= 122) {
            pos += 1
        }
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

    mutating func quoted() throws -> String {
        try expect(39)
        var out: [UInt8] = []
        while pos < s.count {
            let c = s[pos]; pos += 1
            if c == 92, pos < s.count { out.append(s[pos]); pos += 1; continue }
            if c == 39 { return String(decoding: out, as: UTF8.self) }
            out.append(c)
        }
        throw ClickHouseError(.malformed, "type name: unterminated quote")
    }

    mutating func parseType(depth: Int) throws -> ClickHouseType {
        guard depth < 32 else { throw ClickHouseError(.malformed, "type name nested too deeply") }
        let name = ident()
        switch name {
        case "Int8": return .int8
        case "Int16": return .int16
        case "Int32": return .int32
        case "Int64": return .int64
        case "UInt8": return .uint8
        case "UInt16": return .uint16
        case "UInt32": return .uint32
        case "UInt64": return .uint64
        case "Float32": return .float32
        case "Float64": return .float64
        case "String": return .string
        case "Date": return .date
        case "UUID": return .uuid
        case "DateTime":
            if peek(40) { try expect(40); let tz = try quoted(); try expect(41); return .dateTime(timezone: tz) }
            return .dateTime(timezone: nil)
        case "FixedString":
            try expect(40); let n = try int(); try expect(41)
            guard n > 0 else { throw ClickHouseError(.malformed, "FixedString(\(n))") }
            return .fixedString(n)
        case "Decimal":
            try expect(40); let p = try int(); try expect(44); let sc = try int(); try expect(41)
            guard (1...38).contains(p), (0...p).contains(sc) else { throw ClickHouseError(.malformed, "Decimal(\(p), \(sc))") }
            return .decimal(precision: p, scale: sc)
        case "Decimal32", "Decimal64", "Decimal128":
            try expect(40); let sc = try int(); try expect(41)
            let p = name == "Decimal32" ? 9 : name == "Decimal64" ? 18 : 38
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
        case "Tuple":
            try expect(40)
            var ts: [ClickHouseType] = []
            repeat {
                if !ts.isEmpty { try expect(44) }
                ts.append(try parseType(depth: depth + 1))
            } while peek(44)
            try expect(41)
            return .tuple(ts)
        default:
            throw ClickHouseError(.unsupportedType, "column type \(name.isEmpty ? String(decoding: s, as: UTF8.self) : name) is not supported")
        }
    }
}

extension ClickHouseType {
    /// The value ClickHouse stores for this type when none is given (0, empty, NULL for Nullable).
    public var defaultValue: ClickHouseValue { ColumnCodec.defaultValue(self) }
}
