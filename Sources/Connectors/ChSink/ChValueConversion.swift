// The conversions of SPEC §5: a field of a record (JSON here, Avro in ChAvroConversion.swift) into
// the value of a ClickHouse column of a given type. Pure functions; a value that cannot be
// converted is a `ChConversionError` saying what was expected, which the caller completes with
// topic, partition, offset and column.
internal import ClickHouseNative
internal import PipeConfig
internal import WireCore

struct ChConversionError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Converts JSON field values to column values.
struct ChJSONConverter {
    var timeFormat: TimeFormat

    func convert(_ v: JSONValue, to t: ClickHouseType) throws(ChConversionError) -> ClickHouseValue {
        if let w = t.unwrap(isNull: v == .null) {
            switch w {
            case .value(let x): return x
            case .convert(let inner): return try convert(v, to: inner)
            }
        }
        if case .null = v { return t.defaultValue }
        switch t {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
            switch v {
            case .number(let s): return try ChScalar.integer(s, t)
            case .bool(let b): return try ChScalar.integer(b ? "1" : "0", t)
            case .string(let s):
                if s == "true" || s == "false" { return try ChScalar.integer(s == "true" ? "1" : "0", t) }
                return try ChScalar.integer(s, t)
            default: throw mismatch(v, t)
            }
        case .float32, .float64:
            switch v {
            case .number(let s), .string(let s):
                guard let d = ChScalar.double(s) else { throw ChConversionError("\(ChScalar.quote(s)) is not a number for \(t)") }
                return .float(d)
            case .bool(let b): return .float(b ? 1 : 0)
            default: throw mismatch(v, t)
            }
        case .decimal(let p, let s):
            switch v {
            case .number(let x), .string(let x):
                if p > 38 {
                    // Decimal256: values of up to 38 digits (what the exact parser holds).
                    guard let d = ChScalar.parseDecimal(x), let m = ChScalar.scaled(d, scale: s) else {
                        throw ChConversionError("\(ChScalar.quote(x)) has more than \(s) fractional digits or more than 38 digits for \(t)")
                    }
                    return .decimal256(ClickHouseInt256(m), scale: s)
                }
                return try ChScalar.decimal(x, precision: p, scale: s)
            default: throw mismatch(v, t)
            }
        case .string:
            switch v {
            case .string(let s): return .bytes(Array(s.utf8))
            case .number(let s): return .bytes(Array(s.utf8))
            case .bool(let b): return .bytes(Array((b ? "true" : "false").utf8))
            case .array, .object: return .bytes(Array(v.jsonString().utf8))
            case .null: return t.defaultValue
            }
        case .fixedString(let n):
            let b: [UInt8]
            switch v {
            case .string(let s): b = Array(s.utf8)
            case .number(let s): b = Array(s.utf8)
            default: throw mismatch(v, t)
            }
            guard b.count <= n else { throw ChConversionError("\(b.count) bytes do not fit \(t)") }
            return .bytes(b)
        case .date:
            switch v {
            case .string(let s): return try ChScalar.date(s, timeFormat: timeFormat)
            case .number(let s): return try ChScalar.dateFromNumber(s, timeFormat: timeFormat)
            default: throw mismatch(v, t)
            }
        case .dateTime:
            switch v {
            case .string(let s): return try ChScalar.dateTime(s, timeFormat: timeFormat)
            case .number(let s): return try ChScalar.dateTimeFromNumber(s, timeFormat: timeFormat)
            default: throw mismatch(v, t)
            }
        case .uuid:
            guard case .string(let s) = v else { throw mismatch(v, t) }
            return try ChScalar.uuid(s)
        case .enum8(let w), .enum16(let w):
            switch v {
            case .string(let s):
                guard let m = w.items.first(where: { $0.0 == s }) else {
                    throw ChConversionError("\(ChScalar.quote(s)) is not a member of \(t)")
                }
                return .enumValue(m.0, m.1)
            case .number(let s):
                guard let x = Int16(s), let m = w.items.first(where: { $0.1 == x }) else {
                    throw ChConversionError("\(s) is not a value of \(t)")
                }
                return .enumValue(m.0, m.1)
            default: throw mismatch(v, t)
            }
        case .array(let inner):
            guard case .array(let items) = v else { throw mismatch(v, t) }
            var out: [ClickHouseValue] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                do { out.append(try convert(item, to: inner)) } catch { throw ChConversionError("element \(i): \(error)") }
            }
            return .array(out)
        case .tuple(let ts):
            let items: [JSONValue]
            switch v {
            case .array(let a): items = a
            case .object(let o): items = o.map(\.1)
            default: throw mismatch(v, t)
            }
            guard items.count == ts.count else {
                throw ChConversionError("\(items.count) items for \(t), which has \(ts.count)")
            }
            var out: [ClickHouseValue] = []
            for i in 0..<ts.count {
                do { out.append(try convert(items[i], to: ts[i])) } catch { throw ChConversionError("element \(i + 1): \(error)") }
            }
            return .tuple(out)
        case .nullable, .lowCardinality:
            return t.defaultValue  // handled above
        case .int128, .uint128, .int256, .uint256:
            let text: String
            switch v {
            case .number(let x), .string(let x): text = x
            case .bool(let b): text = b ? "1" : "0"
            default: throw mismatch(v, t)
            }
            return try ChScalar.wideInteger(text, t)
        case .bool:
            switch v {
            case .bool(let b): return .bool(b)
            case .number(let x) where x == "0" || x == "1": return .bool(x == "1")
            case .string(let x):
                switch x.lowercased() {
                case "true", "1": return .bool(true)
                case "false", "0": return .bool(false)
                default: throw ChConversionError("\(ChScalar.quote(x)) is not a boolean")
                }
            default: throw mismatch(v, t)
            }
        case .date32:
            let days: Int64
            switch v {
            case .string(let x):
                if let p = ChScalar.parseDateTime(x) { days = ChScalar.floorDiv(p.seconds, 86400) }
                else if Double(x) != nil { days = try ChScalar.daysFromNumber(x, timeFormat: timeFormat) }
                else { throw ChConversionError("\(ChScalar.quote(x)) is not a date (YYYY-MM-DD, RFC 3339 or a number)") }
            case .number(let x): days = try ChScalar.daysFromNumber(x, timeFormat: timeFormat)
            default: throw mismatch(v, t)
            }
            // Date32: 1900-01-01 to 2299-12-31.
            guard days >= -25567, days <= 120529 else { throw ChConversionError("\(v.jsonString()) is outside the range of Date32 (1900 to 2299)") }
            return .date32(Int32(days))
        case .dateTime64(let precision, _):
            switch v {
            case .string(let x): return try ChScalar.dateTime64(x, precision: precision, timeFormat: timeFormat)
            case .number(let x): return try ChScalar.dateTime64FromNumber(x, precision: precision, timeFormat: timeFormat)
            default: throw mismatch(v, t)
            }
        case .ipv4:
            switch v {
            case .string(let x):
                guard let a = ChScalar.ipv4(x) else { throw ChConversionError("\(ChScalar.quote(x)) is not an IPv4 address") }
                return .ipv4(a)
            case .number(let x):
                guard let a = UInt32(x) else { throw ChConversionError("\(x) is not an IPv4 address") }
                return .ipv4(a)
            default: throw mismatch(v, t)
            }
        case .ipv6:
            guard case .string(let x) = v else { throw mismatch(v, t) }
            guard let a = ChScalar.ipv6(x) else { throw ChConversionError("\(ChScalar.quote(x)) is not an IPv6 address") }
            return .ipv6(a)
        case .map(let kt, let vt):
            guard case .object(let fields) = v else { throw mismatch(v, t) }
            var out: [ClickHouseMapEntry] = []
            out.reserveCapacity(fields.count)
            for (k, x) in fields {
                do {
                    out.append(ClickHouseMapEntry(key: try convert(.string(k), to: kt), value: try convert(x, to: vt)))
                } catch {
                    throw ChConversionError("key \(ChScalar.quote(k)): \(error)")
                }
            }
            return .map(out)
        case .namedTuple(let es):
            return try namedTuple(v, es, t)
        case .nested(let es):
            guard case .array(let items) = v else { throw mismatch(v, t) }
            var out: [ClickHouseValue] = []
            for (i, item) in items.enumerated() {
                do { out.append(try namedTuple(item, es, t)) } catch { throw ChConversionError("element \(i): \(error)") }
            }
            return .array(out)
        default:
            throw ChConversionError("ch.Sink does not convert to column type \(t)")
        }
    }

    /// An object (fields by name, case-insensitively; a missing one takes its default) or an
    /// array (by position) as a named tuple.
    private func namedTuple(_ v: JSONValue, _ es: [ClickHouseTupleElement], _ t: ClickHouseType) throws(ChConversionError) -> ClickHouseValue {
        var out: [ClickHouseValue] = []
        switch v {
        case .object(let fields):
            for e in es {
                let field = fields.first { $0.0 == e.name } ?? fields.first { $0.0.lowercased() == e.name.lowercased() }
                if let (_, x) = field {
                    do { out.append(try convert(x, to: e.type)) } catch { throw ChConversionError("\(e.name): \(error)") }
                } else {
                    out.append(e.type.defaultValue)
                }
            }
        case .array(let items):
            guard items.count == es.count else { throw ChConversionError("\(items.count) items for \(t), which has \(es.count)") }
            for (e, x) in zip(es, items) {
                do { out.append(try convert(x, to: e.type)) } catch { throw ChConversionError("\(e.name): \(error)") }
            }
        default:
            throw mismatch(v, t)
        }
        return .tuple(out)
    }

    func mismatch(_ v: JSONValue, _ t: ClickHouseType) -> ChConversionError {
        let kind: String
        switch v {
        case .null: kind = "null"
        case .bool(let b): kind = "boolean \(b)"
        case .number(let s): kind = "number \(s)"
        case .string(let s): kind = "string \(ChScalar.quote(s))"
        case .array: kind = "an array"
        case .object: kind = "an object"
        }
        return ChConversionError("\(kind) cannot be stored in \(t)")
    }
}

extension ClickHouseType {
    var isNullable: Bool { if case .nullable = self { return true }; return false }

    enum Unwrapped {
        /// What a null becomes.
        case value(ClickHouseValue)
        /// Convert a non-null value to this type.
        case convert(ClickHouseType)
    }

    /// For Nullable and LowCardinality (nil for other types): the value of a null, or the type
    /// a non-null value converts to.
    func unwrap(isNull: Bool) -> Unwrapped? {
        switch self {
        case .nullable(let inner): isNull ? .value(.null) : .convert(inner)
        case .lowCardinality(let inner): isNull ? .value(inner.isNullable ? .null : inner.defaultValue) : .convert(inner)
        default: nil
        }
    }
}

/// Scalar parsing shared by the JSON and Avro conversions.
enum ChScalar {
    /// A value for an error message: quoted, and cut at 64 characters.
    static func quote(_ s: String) -> String {
        let cut = s.count > 64 ? String(s.prefix(64)) + "…" : s
        return "\"" + cut + "\""
    }

    /// An exact decimal number: `mantissa × 10^exponent` with trailing zeros of the mantissa
    /// folded into the exponent. Nil for text that is not a number or has more than 38 digits.
    static func parseDecimal(_ text: String) -> (mantissa: Int128, exponent: Int)? {
        var t = text
        return t.withUTF8 { parseDecimal(UnsafeRawBufferPointer($0)) }
    }

    /// `parseDecimal` of bytes, without allocating.
    static func parseDecimal(_ u: UnsafeRawBufferPointer) -> (mantissa: Int128, exponent: Int)? {
        var i = 0, n = u.count
        while i < n, u[i] == 0x20 { i += 1 }
        while n > i, u[n - 1] == 0x20 { n -= 1 }
        var negative = false
        if i < n, u[i] == 0x2D || u[i] == 0x2B { negative = u[i] == 0x2D; i += 1 }
        var mantissa: Int128 = 0
        var significant = 0      // digits in the mantissa (from the first non-zero one)
        var pendingZeros = 0     // zeros after the last non-zero digit, not yet in the mantissa
        var fractionDigits = 0
        var anyDigit = false
        var inFraction = false
        while i < n {
            let c = u[i]
            if c >= 0x30 && c <= 0x39 {
                anyDigit = true
                if inFraction { fractionDigits += 1 }
                if c == 0x30 {
                    if significant > 0 { pendingZeros += 1 }
                } else {
                    significant += pendingZeros + 1
                    guard significant <= 38 else { return nil }
                    for _ in 0..<pendingZeros { mantissa *= 10 }
                    mantissa = mantissa * 10 + Int128(c - 0x30)
                    pendingZeros = 0
                }
            } else if c == 0x2E && !inFraction {
                inFraction = true
            } else {
                break
            }
            i += 1
        }
        guard anyDigit else { return nil }
        var exponent = pendingZeros - fractionDigits
        if i < n, u[i] == 0x65 || u[i] == 0x45 {
            i += 1
            var eneg = false
            if i < n, u[i] == 0x2D || u[i] == 0x2B { eneg = u[i] == 0x2D; i += 1 }
            guard i < n, n - i <= 6 else { return nil }
            var e = 0
            while i < n {
                let c = u[i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                e = e * 10 + Int(c - 0x30)
                i += 1
            }
            exponent += eneg ? -e : e
        }
        guard i == n else { return nil }
        if significant == 0 { return (0, 0) }
        return (negative ? -mantissa : mantissa, exponent)
    }

    static func pow10(_ n: Int) -> Int128? {
        guard n >= 0, n <= 38 else { return nil }
        var x: Int128 = 1
        for _ in 0..<n { x *= 10 }
        return x
    }

    /// `mantissa × 10^exponent × 10^scale` as an integer, or nil when digits would be lost or it overflows.
    static func scaled(_ d: (mantissa: Int128, exponent: Int), scale: Int) -> Int128? {
        let e = d.exponent + scale
        if d.mantissa == 0 { return 0 }
        if e < 0 { return nil }
        guard let p = pow10(e) else { return nil }
        let (r, o) = d.mantissa.multipliedReportingOverflow(by: p)
        return o ? nil : r
    }

    static func integer(_ text: String, _ t: ClickHouseType) throws(ChConversionError) -> ClickHouseValue {
        guard let d = parseDecimal(text) else { throw ChConversionError("\(quote(text)) is not a number for \(t)") }
        guard let x = scaled(d, scale: 0) else { throw ChConversionError("\(quote(text)) is not an integer for \(t)") }
        let range: ClosedRange<Int128>
        switch t {
        case .int8: range = Int128(Int8.min)...Int128(Int8.max)
        case .int16: range = Int128(Int16.min)...Int128(Int16.max)
        case .int32: range = Int128(Int32.min)...Int128(Int32.max)
        case .int64: range = Int128(Int64.min)...Int128(Int64.max)
        case .uint8: range = 0...Int128(UInt8.max)
        case .uint16: range = 0...Int128(UInt16.max)
        case .uint32: range = 0...Int128(UInt32.max)
        default: range = 0...Int128(UInt64.max)
        }
        guard range.contains(x) else { throw ChConversionError("\(text) is out of the range of \(t)") }
        return x < 0 ? .int(Int64(x)) : .uint(UInt64(x))
    }

    static func decimal(_ text: String, precision: Int, scale: Int) throws(ChConversionError) -> ClickHouseValue {
        let t = ClickHouseType.decimal(precision: precision, scale: scale)
        guard let d = parseDecimal(text) else { throw ChConversionError("\(quote(text)) is not a number for \(t)") }
        guard let x = scaled(d, scale: scale) else {
            throw ChConversionError("\(quote(text)) has more than \(scale) fractional digits or is too large for \(t)")
        }
        guard let limit = pow10(precision), x > -limit, x < limit else {
            throw ChConversionError("\(text) does not fit \(t)")
        }
        return .decimal(x, scale: scale)
    }

    static func double(_ text: String) -> Double? {
        switch text {
        case "NaN", "nan": return .nan
        case "Infinity", "inf", "+Infinity", "+inf": return .infinity
        case "-Infinity", "-inf": return -.infinity
        default: return Double(text)
        }
    }

    // MARK: times

    /// Days since 1970-01-01 of a civil date (proleptic Gregorian).
    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int {
        Int(CivilTime.days(year: Int64(y), month: Int64(m), day: Int64(d)))
    }

    /// Parses `YYYY-MM-DD`, optionally followed by `T`/space, `HH:MM[:SS[.fraction]]` and `Z` or
    /// `±HH[:MM]`. Returns Unix seconds (UTC; a time without an offset is read as UTC) and
    /// whether a time part was present.
    static func parseDateTime(_ text: String) -> (seconds: Int64, hasTime: Bool)? {
        var t = text
        return t.withUTF8 { parseDateTime(UnsafeRawBufferPointer($0)) }
    }

    /// `parseDateTime` of bytes, without allocating.
    static func parseDateTime(_ u: UnsafeRawBufferPointer) -> (seconds: Int64, hasTime: Bool)? {
        let n = u.count
        // `count` digits at `at`, or nil.
        @inline(__always) func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= n else { return nil }
            var x = 0
            for k in at..<(at + count) {
                let c = u[k] &- 0x30
                guard c <= 9 else { return nil }
                x = x * 10 + Int(c)
            }
            return x
        }
        guard let y = digits(0, 4), n > 4, u[4] == 0x2D, let mo = digits(5, 2), n > 7, u[7] == 0x2D, let d = digits(8, 2),
              (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var secs = Int64(daysFromCivil(y, mo, d)) * 86400
        var i = 10
        if i == n { return (secs, false) }
        guard u[i] == 0x54 || u[i] == 0x20 || u[i] == 0x74 else { return nil }
        i += 1
        guard let h = digits(i, 2), i + 2 < n, u[i + 2] == 0x3A, let mi = digits(i + 3, 2), h < 24, mi < 60 else { return nil }
        i += 5
        var sec = 0
        if i < n, u[i] == 0x3A {
            guard let x = digits(i + 1, 2), x <= 60 else { return nil }
            sec = x
            i += 3
            if i < n, u[i] == 0x2E || u[i] == 0x2C {
                i += 1
                let start = i
                while i < n, u[i] &- 0x30 <= 9 { i += 1 }
                guard i > start else { return nil }
            }
        }
        secs += Int64(h * 3600 + mi * 60 + sec)
        if i == n { return (secs, true) }
        if u[i] == 0x5A || u[i] == 0x7A { return i + 1 == n ? (secs, true) : nil }
        guard u[i] == 0x2B || u[i] == 0x2D else { return nil }
        let sign: Int64 = u[i] == 0x2D ? -1 : 1
        i += 1
        guard let oh = digits(i, 2) else { return nil }
        i += 2
        var om = 0
        if i < n, u[i] == 0x3A {
            guard let x = digits(i + 1, 2) else { return nil }
            om = x; i += 3
        } else if i < n {
            guard let x = digits(i, 2) else { return nil }
            om = x; i += 2
        }
        guard i == n, oh < 24, om < 60 else { return nil }
        secs -= sign * Int64(oh * 3600 + om * 60)
        return (secs, true)
    }

    /// Unix seconds of a number under `time_format`, with the SPEC's tolerance: a value that is
    /// clearly in another unit is read in that unit (seconds: below 10^11, i.e. before year 5138;
    /// milliseconds: 10^11 up to 10^14; microseconds: up to 10^17; nanoseconds beyond). Under
    /// `timestamp-milli`, values below 10^9 stay milliseconds (1970-01-12); those from 10^9 to
    /// 10^11 would be 1970–1973 in milliseconds and are read as seconds (2001–5138).
    static func secondsFromNumber(_ text: String, timeFormat: TimeFormat) -> Double? {
        guard let d = Double(text), d.isFinite else { return nil }
        let a = abs(d)
        if a >= 1e17 { return d / 1e9 }
        if a >= 1e14 { return d / 1e6 }
        if a >= 1e11 { return d / 1e3 }
        switch timeFormat {
        case .timestampMilli: return a < 1e9 ? d / 1e3 : d
        case .timestamp, .rfc3339: return d
        }
    }

    static func dateTimeValue(seconds: Int64, _ text: String) throws(ChConversionError) -> ClickHouseValue {
        guard seconds >= 0, seconds <= Int64(UInt32.max) else {
            throw ChConversionError("\(quote(text)) is outside the range of DateTime (1970 to 2106)")
        }
        return .dateTime(UInt32(seconds))
    }

    static func dateValue(days: Int64, _ text: String) throws(ChConversionError) -> ClickHouseValue {
        guard days >= 0, days <= Int64(UInt16.max) else {
            throw ChConversionError("\(quote(text)) is outside the range of Date (1970 to 2149)")
        }
        return .date(UInt16(days))
    }

    static func dateTime(_ text: String, timeFormat: TimeFormat) throws(ChConversionError) -> ClickHouseValue {
        if let p = parseDateTime(text) { return try dateTimeValue(seconds: p.seconds, text) }
        // A number written as a string.
        if let s = secondsFromNumber(text, timeFormat: timeFormat) {
            return try dateTimeValue(seconds: Int64(s.rounded(.down)), text)
        }
        throw ChConversionError("\(quote(text)) is not a time (\(timeFormat.rawValue), RFC 3339 or a Unix timestamp)")
    }

    static func dateTimeFromNumber(_ text: String, timeFormat: TimeFormat) throws(ChConversionError) -> ClickHouseValue {
        guard let s = secondsFromNumber(text, timeFormat: timeFormat) else {
            throw ChConversionError("\(text) is not a Unix timestamp")
        }
        return try dateTimeValue(seconds: Int64(s.rounded(.down)), text)
    }

    static func date(_ text: String, timeFormat: TimeFormat) throws(ChConversionError) -> ClickHouseValue {
        if let p = parseDateTime(text) { return try dateValue(days: floorDiv(p.seconds, 86400), text) }
        if Int64(text) != nil || Double(text) != nil { return try dateFromNumber(text, timeFormat: timeFormat) }
        throw ChConversionError("\(quote(text)) is not a date (YYYY-MM-DD, RFC 3339 or a number)")
    }

    /// A number for a Date column: below 65536 a day number (as ClickHouse reads it), otherwise a
    /// Unix timestamp under `time_format`.
    static func dateFromNumber(_ text: String, timeFormat: TimeFormat) throws(ChConversionError) -> ClickHouseValue {
        if let x = Int64(text), x >= 0, x < 65536 { return .date(UInt16(x)) }
        guard let s = secondsFromNumber(text, timeFormat: timeFormat) else { throw ChConversionError("\(text) is not a date") }
        return try dateValue(days: floorDiv(Int64(s.rounded(.down)), 86400), text)
    }

    /// Days of a number for a Date32 column: below 65536 in magnitude a day number, otherwise a
    /// Unix timestamp under `time_format` (as for Date).
    static func daysFromNumber(_ text: String, timeFormat: TimeFormat) throws(ChConversionError) -> Int64 {
        if let x = Int64(text), abs(x) < 65536 { return x }
        guard let s = secondsFromNumber(text, timeFormat: timeFormat) else { throw ChConversionError("\(text) is not a date") }
        return floorDiv(Int64(s.rounded(.down)), 86400)
    }

    /// Int128/UInt128/Int256/UInt256 from decimal text (an exact integer; `1e3` and `5.0` too).
    static func wideInteger(_ text: String, _ t: ClickHouseType) throws(ChConversionError) -> ClickHouseValue {
        let trimmed = String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        var digits = trimmed
        if trimmed.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            // A fraction or an exponent: only when it is still an integer of at most 38 digits.
            guard let d = parseDecimal(trimmed), let x = scaled(d, scale: 0) else {
                throw ChConversionError("\(quote(text)) is not an integer for \(t)")
            }
            digits = String(x)
        }
        switch t {
        case .int128:
            guard let x = Int128(digits) else { throw ChConversionError("\(quote(text)) is not an integer in the range of Int128") }
            return .int128(x)
        case .uint128:
            guard let x = UInt128(digits.hasPrefix("+") ? String(digits.dropFirst()) : digits) else {
                throw ChConversionError("\(quote(text)) is not an integer in the range of UInt128")
            }
            return .uint128(x)
        case .int256:
            guard let x = ClickHouseInt256(digits) else { throw ChConversionError("\(quote(text)) is not an integer in the range of Int256") }
            return .int256(x)
        default:
            guard let x = ClickHouseUInt256(digits) else { throw ChConversionError("\(quote(text)) is not an integer in the range of UInt256") }
            return .uint256(x)
        }
    }

    /// A DateTime64 from text: a date and time (its fraction kept to `precision` digits, more
    /// digits dropped) or a number written as a string.
    static func dateTime64(_ text: String, precision: Int, timeFormat: TimeFormat) throws(ChConversionError) -> ClickHouseValue {
        var t = text
        if let p = t.withUTF8({ parseDateTime(UnsafeRawBufferPointer($0)) }) {
            var fraction: Int64 = 0
            // The fraction as written (parseDateTime checked the form): digits after the seconds' dot.
            let u = Array(text.utf8)
            if u.count > 20, u[19] == 0x2E || u[19] == 0x2C {
                var k = 20
                var digits = 0
                while k < u.count, u[k] >= 0x30, u[k] <= 0x39 {
                    if digits < precision { fraction = fraction * 10 + Int64(u[k] - 0x30); digits += 1 }
                    k += 1
                }
                while digits < precision { fraction *= 10; digits += 1 }
            }
            guard let scale = pow10(precision), let ticks = Int64(exactly: Int128(p.seconds) * scale + Int128(fraction)) else {
                throw ChConversionError("\(quote(text)) is outside the range of DateTime64(\(precision))")
            }
            return .dateTime64(ticks, precision: precision)
        }
        if Double(text) != nil { return try dateTime64FromNumber(text, precision: precision, timeFormat: timeFormat) }
        throw ChConversionError("\(quote(text)) is not a time (\(timeFormat.rawValue), RFC 3339 or a Unix timestamp)")
    }

    /// A DateTime64 from a Unix timestamp under `time_format` (with the same unit tolerance as DateTime).
    static func dateTime64FromNumber(_ text: String, precision: Int, timeFormat: TimeFormat) throws(ChConversionError) -> ClickHouseValue {
        guard let s = secondsFromNumber(text, timeFormat: timeFormat), let scale = pow10(precision) else {
            throw ChConversionError("\(text) is not a Unix timestamp")
        }
        let ticks = (s * Double(scale)).rounded(.down)
        guard let x = Int64(exactly: ticks) else { throw ChConversionError("\(text) is outside the range of DateTime64(\(precision))") }
        return .dateTime64(x, precision: precision)
    }

    /// `a.b.c.d` as the address's 32-bit number.
    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var x: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let b = UInt32(p), b <= 255 else { return nil }
            x = x << 8 | b
        }
        return x
    }

    /// An IPv6 address (with `::` and an IPv4 tail allowed; a plain IPv4 address is mapped to
    /// `::ffff:a.b.c.d`) as its 16 bytes.
    static func ipv6(_ text: String) -> [UInt8]? {
        if let v4 = ipv4(text) {
            return [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v4 >> $0) }
        }
        var halves: [String] = [text]
        if let r = text.firstRange(of: "::") {
            halves = [String(text[..<r.lowerBound]), String(text[r.upperBound...])]
            guard !halves[1].contains("::") else { return nil }
        }
        func groups(_ s: String) -> [UInt8]? {
            if s.isEmpty { return [] }
            var out: [UInt8] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, p.contains("."), let v4 = ipv4(String(p)) {
                    out += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v4 >> $0) }
                    continue
                }
                guard !p.isEmpty, p.count <= 4, let g = UInt16(p, radix: 16) else { return nil }
                out += [UInt8(g >> 8), UInt8(g & 0xff)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func uuid(_ text: String) throws(ChConversionError) -> ClickHouseValue {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8? = nil
        for c in text.utf8 {
            if c == 0x2D { continue }
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x61...0x66: v = c - 0x61 + 10
            case 0x41...0x46: v = c - 0x41 + 10
            default: throw ChConversionError("\(quote(text)) is not a UUID")
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
            if out.count > 16 { break }
        }
        guard out.count == 16, high == nil else { throw ChConversionError("\(quote(text)) is not a UUID") }
        return .uuid(out)
    }
}
