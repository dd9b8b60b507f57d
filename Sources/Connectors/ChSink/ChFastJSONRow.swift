// The fast path of the JSON mapping: reads a record value that is a JSON object straight into
// column values without building a JSONValue tree. Scalars are taken from the bytes (a string
// with no escapes and only ASCII becomes a String column's bytes as they are; an integer without
// fraction or exponent is parsed in place); nested values, escapes, non-ASCII text and anything
// unusual are handed to the general converter. Any structural surprise returns nil and the caller
// takes the slow path (JSONValue.parse), which gives the same values and the precise error, so
// the two paths cannot disagree on what a valid record means.
internal import ClickHouseNative
internal import WireCore

struct ChFastJSONRow {
    let schema: ChTableSchema
    let converter: ChJSONConverter
    /// Column names as bytes, for matching keys without making Strings.
    let nameBytes: [[UInt8]]
    /// The column of the k-th key of the previous record (records of a topic tend to share a layout).
    var hints: [Int] = []
    /// String ranges of `.texts` cells (arrays of plain strings), reset per record.
    private(set) var ranges: [(Int, Int)] = []

    init(schema: ChTableSchema, converter: ChJSONConverter) {
        self.schema = schema
        self.converter = converter
        self.nameBytes = schema.columns.map { Array($0.name.utf8) }
    }

    enum Outcome {
        /// The row is in the cells.
        case row
        /// A value that does not fit its column (the message of the general converter).
        case failure(column: String, message: String)
        /// Take the slow path.
        case unsure
    }

    /// Reads the record `p` into `cells` (one per column, reset here; `.text` ranges point into `p`).
    mutating func read(_ p: UnsafeRawBufferPointer, into cells: inout [ChCell]) -> Outcome {
        let n = p.count
        var i = 0
        @inline(__always) func ws() { while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 } }
        ws()
        guard i < n, p[i] == 0x7B else { return .unsure }
        i += 1
        ranges.removeAll(keepingCapacity: true)
        if cells.count != schema.columns.count {
            cells = [ChCell](repeating: .absent, count: schema.columns.count)
        } else {
            for x in cells.indices { cells[x] = .absent }
        }
        var k = 0
        ws()
        if i < n, p[i] == 0x7D {
            i += 1; ws()
            return i == n ? .row : .unsure
        }
        while true {
            ws()
            guard i < n, p[i] == 0x22 else { return .unsure }
            // Key: plain bytes only (escapes: slow path).
            let ks = i + 1
            var j = ks
            while j < n, p[j] != 0x22 {
                if p[j] == 0x5C || p[j] < 0x20 { return .unsure }
                j += 1
            }
            guard j < n else { return .unsure }
            let ke = j
            i = j + 1
            ws()
            guard i < n, p[i] == 0x3A else { return .unsure }
            i += 1
            ws()
            guard i < n else { return .unsure }
            let column = lookup(p, ks, ke, position: k)
            k += 1
            // Value.
            let vs = i
            let c = p[i]
            if c == 0x22 {
                var j = i + 1
                var plain = true
                while j < n, p[j] != 0x22 {
                    let b = p[j]
                    if b == 0x5C { plain = false; j += 2; continue }
                    if b < 0x20 { return .unsure }
                    if b >= 0x80 { plain = false }
                    j += 1
                }
                guard j < n else { return .unsure }
                i = j + 1
                if let col = column {
                    let t = schema.columns[col].type
                    if plain, t.isPlainString {
                        cells[col] = .text(vs + 1, j)
                    } else if plain, let v = Self.fastScalar(p, vs + 1, j, t) {
                        cells[col] = .value(v)
                    } else if plain {
                        let s = String(decoding: UnsafeRawBufferPointer(rebasing: p[(vs + 1)..<j]), as: UTF8.self)
                        switch convert(.string(s), col) {
                        case .success(let v): cells[col] = .value(v)
                        case .failure(let f): return .failure(column: f.column, message: f.message)
                        }
                    } else {
                        guard let v = try? JSONValue.parse(Array(UnsafeRawBufferPointer(rebasing: p[vs..<i]))) else { return .unsure }
                        switch convert(v, col) {
                        case .success(let v): cells[col] = .value(v)
                        case .failure(let f): return .failure(column: f.column, message: f.message)
                        }
                    }
                }
            } else if c == 0x2D || (c >= 0x30 && c <= 0x39) {
                var j = i
                var integral = true
                while j < n {
                    let b = p[j]
                    if b >= 0x30 && b <= 0x39 || b == 0x2D { j += 1; continue }
                    if b == 0x2E || b == 0x65 || b == 0x45 || b == 0x2B { integral = false; j += 1; continue }
                    break
                }
                i = j
                if let col = column {
                    let t = schema.columns[col].type
                    if integral, let v = Self.fastInteger(p, vs, j, t) {
                        cells[col] = .value(v)
                    } else {
                        let s = String(decoding: UnsafeRawBufferPointer(rebasing: p[vs..<j]), as: UTF8.self)
                        // The slow path validates the number's grammar; here anything odd goes there.
                        guard Self.isJSONNumber(p, vs, j) else { return .unsure }
                        if let v = Self.fastScalar(p, vs, j, t) {
                            cells[col] = .value(v)
                        } else {
                        switch convert(.number(s), col) {
                        case .success(let v): cells[col] = .value(v)
                        case .failure(let f): return .failure(column: f.column, message: f.message)
                        }
                        }
                    }
                }
            } else if c == 0x74 || c == 0x66 || c == 0x6E {
                let v: JSONValue
                if Self.matches(p, i, "true") { v = .bool(true); i += 4 }
                else if Self.matches(p, i, "false") { v = .bool(false); i += 5 }
                else if Self.matches(p, i, "null") { v = .null; i += 4 }
                else { return .unsure }
                if let col = column {
                    switch convert(v, col) {
                    case .success(let x): cells[col] = .value(x)
                    case .failure(let f): return .failure(column: f.column, message: f.message)
                    }
                }
            } else if c == 0x5B || c == 0x7B {
                guard let end = Self.skipNested(p, i) else { return .unsure }
                i = end
                if let col = column, c == 0x5B, case .array(let inner) = schema.columns[col].type, inner == .string,
                   let count = plainStrings(p, vs, end) {
                    cells[col] = .texts(start: ranges.count - count, count: count)
                } else if let col = column {
                    guard let v = try? JSONValue.parse(Array(UnsafeRawBufferPointer(rebasing: p[vs..<end]))) else { return .unsure }
                    switch convert(v, col) {
                    case .success(let x): cells[col] = .value(x)
                    case .failure(let f): return .failure(column: f.column, message: f.message)
                    }
                }
            } else {
                return .unsure
            }
            ws()
            guard i < n else { return .unsure }
            if p[i] == 0x2C { i += 1; continue }
            if p[i] == 0x7D {
                i += 1
                ws()
                return i == n ? .row : .unsure
            }
            return .unsure
        }
    }

    /// `[ "a", "b" ]` of plain (ASCII, unescaped) strings between `s` and `e`: their ranges are
    /// appended to `ranges` and the count returned; nil for anything else.
    private mutating func plainStrings(_ p: UnsafeRawBufferPointer, _ s: Int, _ e: Int) -> Int? {
        let mark = ranges.count
        var i = s + 1
        @inline(__always) func ws() { while i < e, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 } }
        ws()
        if i < e, p[i] == 0x5D { return i + 1 == e ? 0 : nil }
        while i < e {
            guard p[i] == 0x22 else { ranges.removeSubrange(mark...); return nil }
            let start = i + 1
            var j = start
            while j < e, p[j] != 0x22 {
                if p[j] == 0x5C || p[j] < 0x20 || p[j] >= 0x80 { ranges.removeSubrange(mark...); return nil }
                j += 1
            }
            guard j < e else { ranges.removeSubrange(mark...); return nil }
            ranges.append((start, j))
            i = j + 1
            ws()
            guard i < e else { break }
            if p[i] == 0x2C { i += 1; ws(); continue }
            if p[i] == 0x5D, i + 1 == e { return ranges.count - mark }
            break
        }
        ranges.removeSubrange(mark...)
        return nil
    }

    /// A scalar token's value for the common column types (decimals, floats, dates and times),
    /// read from the bytes `s..<e` without building a String or a JSON value; nil leaves it to
    /// the general converter, which gives the same value or words the error.
    static func fastScalar(_ p: UnsafeRawBufferPointer, _ s: Int, _ e: Int, _ type: ClickHouseType) -> ClickHouseValue? {
        var t = type
        while true {
            if case .nullable(let i) = t { t = i; continue }
            if case .lowCardinality(let i) = t { t = i; continue }
            break
        }
        let b = UnsafeRawBufferPointer(rebasing: p[s..<e])
        switch t {
        case .decimal(let precision, let scale):
            guard let d = ChScalar.parseDecimal(b), let x = ChScalar.scaled(d, scale: scale),
                  let limit = ChScalar.pow10(precision), x > -limit, x < limit else { return nil }
            return .decimal(x, scale: scale)
        case .float32, .float64:
            guard let d = ChScalar.double(String(decoding: b, as: UTF8.self)) else { return nil }
            return .float(d)
        case .dateTime:
            guard let r = ChScalar.parseDateTime(b), r.seconds >= 0, r.seconds <= Int64(UInt32.max) else { return nil }
            return .dateTime(UInt32(r.seconds))
        case .date:
            guard let r = ChScalar.parseDateTime(b) else { return nil }
            let days = ChScalar.floorDiv(r.seconds, 86400)
            guard days >= 0, days <= Int64(UInt16.max) else { return nil }
            return .date(UInt16(days))
        default:
            return nil
        }
    }

    private func convert(_ v: JSONValue, _ col: Int) -> Result<ClickHouseValue, Outcome.Failure> {
        do {
            return .success(try converter.convert(v, to: schema.columns[col].type))
        } catch {
            return .failure(Outcome.Failure(column: schema.columns[col].name,
                                            message: "\(error.description) (value \(ChScalar.quote(v.jsonString())))"))
        }
    }

    /// The column of a key: the hint for this position first, then by name.
    private mutating func lookup(_ p: UnsafeRawBufferPointer, _ s: Int, _ e: Int, position k: Int) -> Int? {
        let len = e - s
        if k < hints.count {
            let h = hints[k]
            if h >= 0 {
                let name = nameBytes[h]
                if name.count == len && name.withUnsafeBytes({ memcmpEqual($0, p, s, len) }) { return h }
            }
        }
        let key = String(decoding: UnsafeRawBufferPointer(rebasing: p[s..<e]), as: UTF8.self)
        let found = schema.column(named: key)
        while hints.count <= k { hints.append(-1) }
        hints[k] = found ?? -1
        return found
    }

    private func memcmpEqual(_ a: UnsafeRawBufferPointer, _ p: UnsafeRawBufferPointer, _ s: Int, _ len: Int) -> Bool {
        for x in 0..<len where a[x] != p[s + x] { return false }
        return true
    }

    static func matches(_ p: UnsafeRawBufferPointer, _ i: Int, _ word: StaticString) -> Bool {
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard i + w.count <= p.count else { return false }
        for x in 0..<w.count where p[i + x] != w[x] { return false }
        return true
    }

    /// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    static func isJSONNumber(_ p: UnsafeRawBufferPointer, _ s: Int, _ e: Int) -> Bool {
        var i = s
        func digits() -> Int { let st = i; while i < e, p[i] >= 0x30 && p[i] <= 0x39 { i += 1 }; return i - st }
        if i < e, p[i] == 0x2D { i += 1 }
        guard i < e else { return false }
        if p[i] == 0x30 { i += 1 } else if digits() == 0 { return false }
        if i < e, p[i] == 0x2E { i += 1; if digits() == 0 { return false } }
        if i < e, p[i] == 0x65 || p[i] == 0x45 {
            i += 1
            if i < e, p[i] == 0x2B || p[i] == 0x2D { i += 1 }
            if digits() == 0 { return false }
        }
        return i == e
    }

    /// An integer column's value from plain digits, or nil (leading zeros, too long, not an integer type).
    static func fastInteger(_ p: UnsafeRawBufferPointer, _ s: Int, _ e: Int, _ type: ClickHouseType) -> ClickHouseValue? {
        var t = type
        if case .nullable(let inner) = t { t = inner }
        var i = s
        var neg = false
        if p[i] == 0x2D { neg = true; i += 1 }
        let count = e - i
        guard count > 0, count <= 18 else { return nil }
        if count > 1 && p[i] == 0x30 { return nil }
        var x: Int64 = 0
        while i < e {
            let b = p[i]
            guard b >= 0x30 && b <= 0x39 else { return nil }
            x = x * 10 + Int64(b - 0x30)
            i += 1
        }
        if neg { x = -x }
        let ok: Bool
        switch t {
        case .int8: ok = x >= Int64(Int8.min) && x <= Int64(Int8.max)
        case .int16: ok = x >= Int64(Int16.min) && x <= Int64(Int16.max)
        case .int32: ok = x >= Int64(Int32.min) && x <= Int64(Int32.max)
        case .int64: ok = true
        case .uint8: ok = x >= 0 && x <= Int64(UInt8.max)
        case .uint16: ok = x >= 0 && x <= Int64(UInt16.max)
        case .uint32: ok = x >= 0 && x <= Int64(UInt32.max)
        case .uint64: ok = x >= 0
        default: return nil
        }
        guard ok else { return nil }  // the general converter words the range error
        return x < 0 ? .int(x) : .uint(UInt64(x))
    }

    /// The index after the array or object starting at `s` (strings inside skipped), or nil.
    static func skipNested(_ p: UnsafeRawBufferPointer, _ s: Int) -> Int? {
        var depth = 0
        var i = s
        let n = p.count
        while i < n {
            let b = p[i]
            if b == 0x22 {
                i += 1
                while i < n, p[i] != 0x22 { i += p[i] == 0x5C ? 2 : 1 }
                guard i < n else { return nil }
            } else if b == 0x5B || b == 0x7B {
                depth += 1
                guard depth <= 128 else { return nil }
            } else if b == 0x5D || b == 0x7D {
                depth -= 1
                if depth == 0 { return i + 1 }
            }
            i += 1
        }
        return nil
    }
}

extension ChFastJSONRow {
    /// The cells as values (for tests and the hook-free comparison with the general path).
    static func values(_ cells: [ChCell], _ p: UnsafeRawBufferPointer, ranges: [(Int, Int)]) -> [ClickHouseValue?] {
        cells.map {
            switch $0 {
            case .absent: nil
            case .value(let v): v
            case .text(let s, let e): .bytes(Array(UnsafeRawBufferPointer(rebasing: p[s..<e])))
            case .texts(let start, let count):
                .array(ranges[start..<(start + count)].map { .bytes(Array(UnsafeRawBufferPointer(rebasing: p[$0.0..<$0.1]))) })
            }
        }
    }
}

extension ChFastJSONRow.Outcome {
    struct Failure: Error {
        var column: String
        var message: String
    }
}

extension ClickHouseType {
    /// String, or Nullable/LowCardinality of it: a plain JSON string is stored as its bytes.
    var isPlainString: Bool {
        switch self {
        case .string: true
        case .nullable(let i), .lowCardinality(let i): i.isPlainString
        default: false
        }
    }
}
