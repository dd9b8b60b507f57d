// A reader of raw Avro binary (Avro 1.11 specification): one datum, no container file and no
// schema-registry framing, decoded against a schema given as JSON. Every length and count is
// bounded by the bytes that remain and by `AvroDecoder.Limits`, so hostile input gives an
// `AvroError`, never a crash or a huge allocation.
internal import WireCore

/// The module's one error: what was wrong and where (field path, byte offset).
public struct AvroError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "Avro: \(message)" }
}

/// A schema. References to named types are resolved while parsing, except those of a record to itself or an enclosing record (`reference`).
public indirect enum AvroSchema: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var type: AvroSchema
    }

    case null, boolean, int, long, float, double, bytes, string
    case record(name: String, fields: [Field])
    case enumeration(name: String, symbols: [String])
    case array(AvroSchema)
    case map(AvroSchema)
    case union([AvroSchema])
    case fixed(name: String, size: Int)
    case date, timeMillis, timeMicros, timestampMillis, timestampMicros, localTimestampMillis, localTimestampMicros
    /// On `bytes` (`fixedSize` nil) or `fixed`.
    case decimal(precision: Int, scale: Int, fixedSize: Int?)
    /// On `string` or `fixed(16)` (`binary`).
    case uuid(binary: Bool)
    /// A record referring to itself or to an enclosing record (by full name); other references
    /// to named types are replaced by the type itself while parsing. Keeping these as names (not
    /// pointers) keeps recursive schemas free of reference cycles.
    case reference(String)

    /// Parses a schema written as JSON (a primitive name like `"long"` is JSON too: `"\"long\""`).
    public static func parse(json: String) throws(AvroError) -> AvroSchema {
        let value: JSONValue
        do { value = try JSONValue.parse(json) } catch { throw AvroError("the schema is not JSON: \(error)") }
        var parser = SchemaParser()
        return try parser.parse(value, namespace: nil, depth: 0)
    }
}

/// A decoded value. Unions decode to the chosen branch's value (the null branch: `.null`).
public indirect enum AvroValue: Sendable, Equatable {
    case null
    case boolean(Bool)
    case int(Int32)
    case long(Int64)
    case float(Float)
    case double(Double)
    case bytes([UInt8])
    case string(String)
    case record([AvroField])
    case enumSymbol(String)
    case array([AvroValue])
    case map([AvroMapEntry])
    case fixed([UInt8])
    /// Days since 1970-01-01.
    case date(Int32)
    case timeMillis(Int32)
    case timeMicros(Int64)
    case timestampMillis(Int64)
    case timestampMicros(Int64)
    case localTimestampMillis(Int64)
    case localTimestampMicros(Int64)
    case decimal(unscaled: Int128, scale: Int)
    case uuid(String)

    /// A record's field by name.
    public subscript(field: String) -> AvroValue? {
        guard case .record(let fields) = self else { return nil }
        return fields.first { $0.name == field }?.value
    }
}

public struct AvroField: Sendable, Equatable {
    public var name: String
    public var value: AvroValue
    public init(name: String, value: AvroValue) { self.name = name; self.value = value }
}

public struct AvroMapEntry: Sendable, Equatable {
    public var key: String
    public var value: AvroValue
    public init(key: String, value: AvroValue) { self.key = key; self.value = value }
}

// MARK: - schema parsing

struct SchemaParser {
    /// Named types defined so far.
    var named: [String: AvroSchema] = [:]
    /// Records whose fields are being parsed (a reference to one stays a name).
    var inProgress: Set<String> = []

    static let primitives: [String: AvroSchema] = [
        "null": .null, "boolean": .boolean, "int": .int, "long": .long, "float": .float,
        "double": .double, "bytes": .bytes, "string": .string,
    ]

    func fullName(_ name: String, _ namespace: String?) -> String {
        if name.contains(".") { return name }
        guard let ns = namespace, !ns.isEmpty else { return name }
        return ns + "." + name
    }

    mutating func parse(_ v: JSONValue, namespace: String?, depth: Int) throws(AvroError) -> AvroSchema {
        guard depth < 64 else { throw AvroError("the schema nests deeper than 64") }
        switch v {
        case .string(let name):
            if let p = Self.primitives[name] { return p }
            let full = fullName(name, namespace)
            for candidate in [full, name] {
                if inProgress.contains(candidate) { return .reference(candidate) }
                if let s = named[candidate] { return s }
            }
            throw AvroError("unknown type \(name)")
        case .array(let branches):
            var out: [AvroSchema] = []
            for b in branches { out.append(try parse(b, namespace: namespace, depth: depth + 1)) }
            guard !out.isEmpty else { throw AvroError("an empty union") }
            return .union(out)
        case .object(let members):
            func str(_ k: String) -> String? {
                if case .string(let s)? = members.first(where: { $0.0 == k })?.1 { return s }
                return nil
            }
            func int(_ k: String) -> Int? {
                if case .number(let s)? = members.first(where: { $0.0 == k })?.1 { return Int(s) }
                return nil
            }
            guard let typeValue = members.first(where: { $0.0 == "type" })?.1 else {
                throw AvroError("a schema object without \"type\"")
            }
            guard case .string(let type) = typeValue else {
                // {"type": {...}} or {"type": [...]}: the inner schema.
                return try parse(typeValue, namespace: namespace, depth: depth + 1)
            }
            let logical = str("logicalType")
            switch type {
            case "record", "error":
                guard let name = str("name") else { throw AvroError("a record without a name") }
                let full = fullName(name, str("namespace") ?? namespace)
                let ns = full.contains(".") ? String(full[..<full.lastIndex(of: ".")!]) : nil
                // In progress while its fields are read, so fields may refer to it.
                inProgress.insert(full)
                guard case .array(let fs)? = members.first(where: { $0.0 == "fields" })?.1 else {
                    throw AvroError("record \(full) has no fields array")
                }
                var fields: [AvroSchema.Field] = []
                for f in fs {
                    guard case .object(let fm) = f, case .string(let fname)? = fm.first(where: { $0.0 == "name" })?.1,
                          let ft = fm.first(where: { $0.0 == "type" })?.1 else {
                        throw AvroError("record \(full) has a field without a name or type")
                    }
                    fields.append(.init(name: fname, type: try parse(ft, namespace: ns, depth: depth + 1)))
                }
                let record = AvroSchema.record(name: full, fields: fields)
                inProgress.remove(full)
                named[full] = record
                return record
            case "enum":
                guard let name = str("name") else { throw AvroError("an enum without a name") }
                guard case .array(let syms)? = members.first(where: { $0.0 == "symbols" })?.1 else {
                    throw AvroError("enum \(name) has no symbols")
                }
                var symbols: [String] = []
                for s in syms {
                    guard case .string(let x) = s else { throw AvroError("enum \(name): a symbol that is not a string") }
                    symbols.append(x)
                }
                let full = fullName(name, str("namespace") ?? namespace)
                let e = AvroSchema.enumeration(name: full, symbols: symbols)
                named[full] = e
                return e
            case "array":
                guard let items = members.first(where: { $0.0 == "items" })?.1 else { throw AvroError("an array without items") }
                return .array(try parse(items, namespace: namespace, depth: depth + 1))
            case "map":
                guard let values = members.first(where: { $0.0 == "values" })?.1 else { throw AvroError("a map without values") }
                return .map(try parse(values, namespace: namespace, depth: depth + 1))
            case "fixed":
                guard let name = str("name"), let size = int("size"), size >= 0, size <= 1 << 20 else {
                    throw AvroError("a fixed without a name or a size (0 to 1 MiB)")
                }
                let full = fullName(name, str("namespace") ?? namespace)
                var f = AvroSchema.fixed(name: full, size: size)
                if logical == "decimal", let p = int("precision"), p > 0, p <= 38, size <= 16 {
                    f = .decimal(precision: p, scale: int("scale") ?? 0, fixedSize: size)
                } else if logical == "uuid", size == 16 {
                    f = .uuid(binary: true)
                }
                named[full] = f
                return f
            default:
                guard let base = Self.primitives[type] else {
                    // A named type written as {"type": "Name"}.
                    return try parse(.string(type), namespace: namespace, depth: depth + 1)
                }
                // Logical types; an unknown or ill-fitting one is the underlying type (spec §Logical Types).
                switch (logical, base) {
                case ("date", .int): return .date
                case ("time-millis", .int): return .timeMillis
                case ("time-micros", .long): return .timeMicros
                case ("timestamp-millis", .long): return .timestampMillis
                case ("timestamp-micros", .long): return .timestampMicros
                case ("local-timestamp-millis", .long): return .localTimestampMillis
                case ("local-timestamp-micros", .long): return .localTimestampMicros
                case ("uuid", .string): return .uuid(binary: false)
                case ("decimal", .bytes):
                    if let p = int("precision"), p > 0, p <= 38 {
                        let s = int("scale") ?? 0
                        if s >= 0 && s <= p { return .decimal(precision: p, scale: s, fixedSize: nil) }
                    }
                    return .bytes
                default: return base
                }
            }
        default:
            throw AvroError("a schema must be a string, an array or an object")
        }
    }
}

// MARK: - decoding

public enum AvroDecoder {
    public struct Limits: Sendable {
        /// Deepest nesting of records, arrays, maps and unions.
        public var maxDepth: Int
        /// Most items in one array or map (all blocks together).
        public var maxItems: Int
        public init(maxDepth: Int = 64, maxItems: Int = 1 << 20) {
            self.maxDepth = maxDepth
            self.maxItems = maxItems
        }
    }

    /// Decodes one datum that must use every byte.
    public static func decode(_ bytes: [UInt8], schema: AvroSchema, limits: Limits = Limits()) throws(AvroError) -> AvroValue {
        let result = bytes.withUnsafeBytes { (p: UnsafeRawBufferPointer) -> Result<AvroValue, AvroError> in
            do throws(AvroError) { return .success(try decode(p, schema: schema, limits: limits)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, schema: AvroSchema, limits: Limits = Limits()) throws(AvroError) -> AvroValue {
        var r = AvroReader(p: bytes, limits: limits, root: schema)
        let v = try r.value(schema, depth: 0, path: "")
        guard r.i == bytes.count else { throw AvroError("\(bytes.count - r.i) bytes after the datum (at byte \(r.i))") }
        return v
    }
}

struct AvroReader {
    let p: UnsafeRawBufferPointer
    let limits: AvroDecoder.Limits
    let root: AvroSchema
    var i = 0
    /// The records of `root` by name, collected on the first `.reference`.
    var records: [String: AvroSchema]?

    init(p: UnsafeRawBufferPointer, limits: AvroDecoder.Limits, root: AvroSchema) {
        self.p = p
        self.limits = limits
        self.root = root
    }

    static func collect(_ s: AvroSchema, into out: inout [String: AvroSchema]) {
        switch s {
        case .record(let name, let fields):
            if out[name] != nil { return }
            out[name] = s
            for f in fields { collect(f.type, into: &out) }
        case .array(let i), .map(let i): collect(i, into: &out)
        case .union(let bs): for b in bs { collect(b, into: &out) }
        default: break
        }
    }

    func fail(_ what: String, _ path: String) -> AvroError {
        AvroError("\(what) at byte \(i)" + (path.isEmpty ? "" : " (field \(path))"))
    }

    mutating func varint(maxBytes: Int, _ path: String) throws(AvroError) -> UInt64 {
        var x: UInt64 = 0
        var shift: UInt64 = 0
        for n in 0..<maxBytes {
            guard i < p.count else { throw fail("the data ends inside a number", path) }
            let b = p[i]
            i += 1
            if n == maxBytes - 1 && maxBytes == 10 && b > 1 { throw fail("a long longer than 64 bits", path) }
            x |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return x }
            shift += 7
        }
        throw fail("a varint longer than \(maxBytes) bytes", path)
    }

    mutating func long(_ path: String) throws(AvroError) -> Int64 {
        let z = try varint(maxBytes: 10, path)
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    mutating func int(_ path: String) throws(AvroError) -> Int32 {
        let z = try varint(maxBytes: 5, path)
        guard z <= UInt64(UInt32.max) else { throw fail("an int longer than 32 bits", path) }
        let u = UInt32(z)
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    mutating func raw(_ n: Int, _ path: String) throws(AvroError) -> [UInt8] {
        guard n >= 0, n <= p.count - i else { throw fail("a length of \(n) with \(p.count - i) bytes left", path) }
        let out = Array(UnsafeRawBufferPointer(rebasing: p[i..<(i + n)]))
        i += n
        return out
    }

    mutating func length(_ path: String) throws(AvroError) -> Int {
        let n = try long(path)
        guard n >= 0 else { throw fail("a negative length \(n)", path) }
        guard n <= Int64(p.count - i) else { throw fail("a length of \(n) with \(p.count - i) bytes left", path) }
        return Int(n)
    }

    mutating func string(_ path: String) throws(AvroError) -> String {
        let b = try raw(try length(path), path)
        guard let s = String(validating: b, as: UTF8.self) else { throw fail("a string that is not UTF-8", path) }
        return s
    }

    /// The items of an array or map: blocks of `count` items (negative: followed by the block's byte size), 0 ends.
    mutating func blocks(_ path: String, _ item: (inout AvroReader) throws(AvroError) -> Void) throws(AvroError) {
        var total = 0
        while true {
            var count = try long(path)
            if count == 0 { return }
            if count < 0 {
                guard count != Int64.min else { throw fail("a block count out of range", path) }
                count = -count
                let size = try long(path)
                guard size >= 0, size <= Int64(p.count - i) else { throw fail("a block size of \(size)", path) }
            }
            // Every item takes at least one byte except null-like ones; bound by the limit either way.
            guard count <= Int64(limits.maxItems - total) else { throw fail("more than \(limits.maxItems) items", path) }
            total += Int(count)
            for _ in 0..<Int(count) { try item(&self) }
        }
    }

    mutating func value(_ s: AvroSchema, depth: Int, path: String) throws(AvroError) -> AvroValue {
        guard depth <= limits.maxDepth else { throw fail("nesting deeper than \(limits.maxDepth)", path) }
        switch s {
        case .null: return .null
        case .boolean:
            guard i < p.count else { throw fail("the data ends inside a boolean", path) }
            let b = p[i]
            i += 1
            guard b <= 1 else { throw fail("a boolean byte \(b)", path) }
            return .boolean(b == 1)
        case .int: return .int(try int(path))
        case .long: return .long(try long(path))
        case .float:
            let b = try raw(4, path)
            return .float(Float(bitPattern: UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24))
        case .double:
            let b = try raw(8, path)
            var x: UInt64 = 0
            for k in 0..<8 { x |= UInt64(b[k]) << (8 * UInt64(k)) }
            return .double(Double(bitPattern: x))
        case .bytes: return .bytes(try raw(try length(path), path))
        case .string: return .string(try string(path))
        case .record(_, let fields):
            var out: [AvroField] = []
            out.reserveCapacity(fields.count)
            for f in fields {
                let fp = path.isEmpty ? f.name : path + "." + f.name
                out.append(AvroField(name: f.name, value: try value(f.type, depth: depth + 1, path: fp)))
            }
            return .record(out)
        case .enumeration(_, let symbols):
            let k = try int(path)
            guard k >= 0, Int(k) < symbols.count else { throw fail("enum index \(k) of \(symbols.count) symbols", path) }
            return .enumSymbol(symbols[Int(k)])
        case .array(let items):
            var out: [AvroValue] = []
            try blocks(path) { (r: inout AvroReader) throws(AvroError) in
                out.append(try r.value(items, depth: depth + 1, path: path + "[]"))
            }
            return .array(out)
        case .map(let values):
            var out: [AvroMapEntry] = []
            try blocks(path) { (r: inout AvroReader) throws(AvroError) in
                let k = try r.string(path)
                out.append(AvroMapEntry(key: k, value: try r.value(values, depth: depth + 1, path: path + "[" + k + "]")))
            }
            return .map(out)
        case .union(let branches):
            let k = try long(path)
            guard k >= 0, k < Int64(branches.count) else { throw fail("union branch \(k) of \(branches.count)", path) }
            return try value(branches[Int(k)], depth: depth + 1, path: path)
        case .fixed(_, let size): return .fixed(try raw(size, path))
        case .date: return .date(try int(path))
        case .timeMillis: return .timeMillis(try int(path))
        case .timeMicros: return .timeMicros(try long(path))
        case .timestampMillis: return .timestampMillis(try long(path))
        case .timestampMicros: return .timestampMicros(try long(path))
        case .localTimestampMillis: return .localTimestampMillis(try long(path))
        case .localTimestampMicros: return .localTimestampMicros(try long(path))
        case .decimal(_, let scale, let fixedSize):
            let n: Int
            if let fixedSize { n = fixedSize } else { n = try length(path) }
            let b = try raw(n, path)
            // Big-endian two's complement; more than 16 bytes only as sign extension.
            var start = 0
            while b.count - start > 16 {
                let sign: UInt8 = b[start] & 0x80 != 0 ? 0xFF : 0
                guard b[start] == sign, b[start + 1] & 0x80 == sign & 0x80 else { throw fail("a decimal wider than 128 bits", path) }
                start += 1
            }
            var x: Int128 = b.count > start && b[start] & 0x80 != 0 ? -1 : 0
            for k in start..<b.count { x = (x << 8) | Int128(b[k]) }
            return .decimal(unscaled: x, scale: scale)
        case .uuid(let binary):
            if binary {
                let b = try raw(16, path)
                let hex = Array("0123456789abcdef".utf8)
                var out: [UInt8] = []
                for (k, x) in b.enumerated() {
                    if k == 4 || k == 6 || k == 8 || k == 10 { out.append(0x2D) }
                    out.append(hex[Int(x >> 4)]); out.append(hex[Int(x & 15)])
                }
                return .uuid(String(decoding: out, as: UTF8.self))
            }
            return .uuid(try string(path))
        case .reference(let name):
            if records == nil {
                var found: [String: AvroSchema] = [:]
                Self.collect(root, into: &found)
                records = found
            }
            guard let target = records?[name] else { throw fail("unresolved type \(name)", path) }
            return try value(target, depth: depth + 1, path: path)
        }
    }
}
