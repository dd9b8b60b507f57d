import WireCore
/// SPEC §3 "Value encoding": PostgreSQL text values (as pgoutput sends them, with the session's
/// `DateStyle=ISO`, `IntervalStyle=iso_8601`, `TimeZone=UTC`, `extra_float_digits=3`) to JSON
/// text fragments, one per column.
///
/// The JSON string escaping is local to this file until the shared JSON writer (WireCore) lands.
public enum PostgresJSON {
    /// Type OIDs from `pg_type.dat`.
    public enum OID {
        public static let bool: UInt32 = 16, bytea: UInt32 = 17, char: UInt32 = 18, name: UInt32 = 19
        public static let int8: UInt32 = 20, int2: UInt32 = 21, int4: UInt32 = 23, text: UInt32 = 25, oid: UInt32 = 26
        public static let json: UInt32 = 114, xml: UInt32 = 142, float4: UInt32 = 700, float8: UInt32 = 701
        public static let money: UInt32 = 790, bpchar: UInt32 = 1042, varchar: UInt32 = 1043
        public static let date: UInt32 = 1082, time: UInt32 = 1083, timestamp: UInt32 = 1114
        public static let timestamptz: UInt32 = 1184, interval: UInt32 = 1186, timetz: UInt32 = 1266
        public static let numeric: UInt32 = 1700, uuid: UInt32 = 2950, jsonb: UInt32 = 3802
    }

    /// Array type OID → element type OID, for the built-in types of the table.
    public static let arrayElementType: [UInt32: UInt32] = [
        1000: 16, 1001: 17, 1002: 18, 1003: 19, 1016: 20, 1005: 21, 1007: 23, 1009: 25, 1028: 26,
        199: 114, 143: 142, 1021: 700, 1022: 701, 791: 790, 1014: 1042, 1015: 1043, 1182: 1082,
        1183: 1083, 1115: 1114, 1185: 1184, 1187: 1186, 1270: 1266, 1231: 1700, 2951: 2950, 3807: 3802,
        1041: 869, 651: 650, 1040: 829, 1561: 1560, 1563: 1562, 3905: 3904, 3907: 3906, 3909: 3908,
        3911: 3910, 3913: 3912, 3927: 3926,
    ]

    /// The JSON fragment for a column of type `typeOID` whose text form is `text` (nil: NULL).
    public static func fragment(typeOID: UInt32, text: String?) -> String {
        guard let text else { return "null" }
        if let element = arrayElementType[typeOID] {
            return arrayFragment(elementOID: element, text: text) ?? quoted(text)
        }
        switch typeOID {
        case OID.bool:
            return text == "t" ? "true" : text == "f" ? "false" : quoted(text)
        case OID.int2, OID.int4, OID.int8, OID.oid:
            return isInteger(text) ? text : quoted(text)
        case OID.float4, OID.float8:
            return floatFragment(text, isFloat4: typeOID == OID.float4)
        case OID.bytea:
            guard let bytes = decodeBytea(text) else { return quoted(text) }
            return "\"" + base64(bytes) + "\""
        case OID.json, OID.jsonb:
            return text
        case OID.date:
            return dateFragment(text)
        case OID.timestamp:
            return timestampFragment(text)
        case OID.timestamptz:
            return timestamptzFragment(text)
        default:
            // numeric, text types, uuid, time, timetz, interval, ... and unknown types: the text.
            return quoted(text)
        }
    }

    // MARK: strings

    /// A JSON string literal for `s`.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        var needsEscape = false
        for b in s.utf8 where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            needsEscape = true
            break
        }
        if !needsEscape {
            out += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                default:
                    if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        out += "\""
        return out
    }

    // MARK: numbers

    static func isInteger(_ s: String) -> Bool {
        var u = s.utf8[...]
        if u.first == UInt8(ascii: "-") { u = u.dropFirst() }
        return !u.isEmpty && u.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    /// A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    static func isJSONNumber(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isJSONNumber(UnsafeRawBufferPointer($0)) }
    }

    static func floatFragment(_ text: String, isFloat4: Bool) -> String {
        switch text {
        case "NaN", "Infinity", "-Infinity": return quoted(text)
        default: break
        }
        // With extra_float_digits > 0 PostgreSQL already prints the shortest exact form.
        if isJSONNumber(text) { return text }
        if isFloat4, let f = Float(text), f.isFinite { return "\(f)" }
        if let d = Double(text), d.isFinite { return "\(d)" }
        return quoted(text)
    }

    // MARK: bytea

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 97...102: return b - 87
        case 65...70: return b - 55
        default: return nil
        }
    }

    /// `\x` hex format, or the old escape format (`\\`, `\ooo`).
    static func decodeBytea(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        if u.count >= 2, u[0] == UInt8(ascii: "\\"), u[1] == UInt8(ascii: "x") {
            guard u.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity((u.count - 2) / 2)
            var i = 2
            while i + 1 < u.count {
                guard let h = hexValue(u[i]), let l = hexValue(u[i + 1]) else { return nil }
                out.append(h << 4 | l)
                i += 2
            }
            return out
        }
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            if u[i] != UInt8(ascii: "\\") { out.append(u[i]); i += 1; continue }
            if i + 1 < u.count, u[i + 1] == UInt8(ascii: "\\") { out.append(92); i += 2; continue }
            guard i + 3 < u.count else { return nil }
            var v: UInt16 = 0
            for k in 1...3 {
                let d = u[i + k]
                guard d >= 48, d <= 55 else { return nil }
                v = v * 8 + UInt16(d - 48)
            }
            guard v <= 255 else { return nil }
            out.append(UInt8(v))
            i += 4
        }
        return out
    }

    static func base64(_ bytes: [UInt8]) -> String {
        Base64.encode(bytes)
    }

    // MARK: dates and times

    @inline(__always)
    static func daysFromCivil(_ y: Int64, _ m: Int64, _ d: Int64) -> Int64 { CivilTime.days(year: y, month: m, day: d) }

    @inline(__always)
    static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let (y, m, d) = CivilTime.date(daysSince1970: days)
        return (y, Int64(m), Int64(d))
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` (AD) into days since 1970, microseconds into that day,
    /// and what follows. (Kept apart: PostgreSQL's latest timestamp does not fit Unix microseconds in 64 bits.)
    static func parseTimestamp<C: Collection>(_ u: C) -> (days: Int64, micros: Int64, rest: C)?
        where C.Element == UInt8, C.SubSequence == C {
        var s = u
        func number(_ minDigits: Int, _ maxDigits: Int) -> Int64? {
            var v: Int64 = 0, n = 0
            while let c = s.first, c >= 48, c <= 57, n < maxDigits {
                v = v * 10 + Int64(c - 48); n += 1; s = s.dropFirst()
            }
            return n >= minDigits ? v : nil
        }
        func expect(_ c: Unicode.Scalar) -> Bool {
            guard s.first == UInt8(ascii: c) else { return false }
            s = s.dropFirst()
            return true
        }
        guard let y = number(4, 6), expect("-"), let mo = number(2, 2), expect("-"), let d = number(2, 2),
              (1...12).contains(mo), (1...31).contains(d) else { return nil }
        let days = daysFromCivil(y, mo, d)
        if s.isEmpty { return (days, 0, s) }
        guard expect(" "), let h = number(2, 2), expect(":"), let mi = number(2, 2), expect(":"), let sec = number(2, 2),
              h <= 24, mi < 60, sec <= 60 else { return nil }
        var frac: Int64 = 0
        if expect(".") {
            var n = 0
            while let c = s.first, c >= 48, c <= 57 {
                if n < 6 { frac = frac * 10 + Int64(c - 48) }
                n += 1; s = s.dropFirst()
            }
            guard n > 0 else { return nil }
            for _ in 0..<Swift.max(0, 6 - n) { frac *= 10 }
        }
        return (days, ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac, s)
    }

    static func isSpecial(_ text: String) -> Bool {
        text == "infinity" || text == "-infinity" || text.hasSuffix(" BC")
    }

    static func dateFragment(_ text: String) -> String {
        guard !isSpecial(text), parseTimestamp(Array(text.utf8)[...])?.rest.isEmpty == true else { return quoted(text) }
        return quoted(text + "T00:00:00Z")
    }

    static func timestampFragment(_ text: String) -> String {
        guard !isSpecial(text), let (days, micros, rest) = parseTimestamp(Array(text.utf8)[...]), rest.isEmpty else {
            return quoted(text)
        }
        return String(days * 86_400_000 + micros / 1000)
    }

    static func timestamptzFragment(_ text: String) -> String {
        guard !isSpecial(text), let (localDays, localMicros, rest) = parseTimestamp(Array(text.utf8)[...]) else { return quoted(text) }
        guard let utc = utcInstant(localDays: localDays, localMicros: localMicros, offsetText: rest) else { return quoted(text) }
        var out: [UInt8] = []
        out.reserveCapacity(29)
        appendISO(utc, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The UTC day and microsecond of a local time with its offset text (`+HH`, `+HH:MM` or
    /// `+HH:MM:SS`, `-` likewise, or nothing); nil for a malformed offset or a year before 1 AD.
    static func utcInstant<C: Collection>(localDays: Int64, localMicros: Int64, offsetText rest: C) -> (days: Int64, micros: Int64)?
        where C.Element == UInt8 {
        var offset: Int64 = 0
        if !rest.isEmpty {
            var i = rest.startIndex
            let sign: Int64
            switch rest[i] {
            case UInt8(ascii: "+"): sign = 1
            case UInt8(ascii: "-"): sign = -1
            default: return nil
            }
            i = rest.index(after: i)
            var secs: Int64 = 0
            for part in 0..<3 {
                if part > 0 {
                    guard i != rest.endIndex else { break }
                    guard rest[i] == UInt8(ascii: ":") else { return nil }
                    i = rest.index(after: i)
                }
                var v: Int64 = 0
                for _ in 0..<2 {
                    guard i != rest.endIndex, rest[i] >= 48, rest[i] <= 57 else { return nil }
                    v = v * 10 + Int64(rest[i] - 48)
                    i = rest.index(after: i)
                }
                secs += v * (part == 0 ? 3600 : part == 1 ? 60 : 1)
            }
            guard i == rest.endIndex else { return nil }
            offset = sign * secs * 1_000_000
        }
        let dayMicros: Int64 = 86_400_000_000
        var days = localDays
        var rem = localMicros - offset
        while rem < 0 { rem += dayMicros; days -= 1 }
        while rem >= dayMicros { rem -= dayMicros; days += 1 }
        guard civilFromDays(days).0 >= 1 else { return nil }
        return (days, rem)
    }

    /// `"YYYY-MM-DDTHH:MM:SS.ffffffZ"` (with the quotes) of a UTC day and microsecond.
    static func appendISO(_ instant: (days: Int64, micros: Int64), to out: inout [UInt8]) {
        let (y, m, d) = civilFromDays(instant.days)
        let secs = instant.micros / 1_000_000, frac = instant.micros % 1_000_000
        out.append(UInt8(ascii: "\""))
        appendPadded(y, 4, to: &out); out.append(UInt8(ascii: "-"))
        appendPadded(m, 2, to: &out); out.append(UInt8(ascii: "-"))
        appendPadded(d, 2, to: &out); out.append(UInt8(ascii: "T"))
        appendPadded(secs / 3600, 2, to: &out); out.append(UInt8(ascii: ":"))
        appendPadded(secs / 60 % 60, 2, to: &out); out.append(UInt8(ascii: ":"))
        appendPadded(secs % 60, 2, to: &out); out.append(UInt8(ascii: "."))
        appendPadded(frac, 6, to: &out)
        out.append(UInt8(ascii: "Z")); out.append(UInt8(ascii: "\""))
    }

    /// The decimal digits of `v` (not negative here), zero-padded to at least `width`.
    static func appendPadded(_ v: Int64, _ width: Int, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var rest = v.magnitude
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(48 + rest % 10)
                rest /= 10
                n += 1
            } while rest > 0
            if v < 0 { out.append(UInt8(ascii: "-")) }
            for _ in n..<Swift.max(n, width) { out.append(48) }
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    // MARK: arrays

    /// Parses PostgreSQL's array text (`{1,2,NULL}`, `{{1,2},{3,4}}`, `{"a b","c\"d"}`, optional
    /// `[1:2]=` bounds) into a JSON array with elements converted by their type.
    static func arrayFragment(elementOID: UInt32, text: String) -> String? {
        var u = Array(text.utf8)[...]
        if u.first == UInt8(ascii: "[") {
            guard let eq = u.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            u = u[(eq + 1)...]
        }
        var out = ""
        guard parseArrayLevel(&u, elementOID: elementOID, depth: 0, into: &out), u.isEmpty else { return nil }
        return out
    }

    private static func parseArrayLevel(_ u: inout ArraySlice<UInt8>, elementOID: UInt32, depth: Int, into out: inout String) -> Bool {
        guard depth < 16, u.first == UInt8(ascii: "{") else { return false }
        u = u.dropFirst()
        out += "["
        if u.first == UInt8(ascii: "}") {
            u = u.dropFirst()
            out += "]"
            return true
        }
        var first = true
        while true {
            if !first { out += "," }
            first = false
            if u.first == UInt8(ascii: "{") {
                guard parseArrayLevel(&u, elementOID: elementOID, depth: depth + 1, into: &out) else { return false }
            } else if u.first == UInt8(ascii: "\"") {
                u = u.dropFirst()
                var bytes: [UInt8] = []
                while true {
                    guard let c = u.first else { return false }
                    u = u.dropFirst()
                    if c == UInt8(ascii: "\\") {
                        guard let n = u.first else { return false }
                        bytes.append(n)
                        u = u.dropFirst()
                    } else if c == UInt8(ascii: "\"") {
                        break
                    } else {
                        bytes.append(c)
                    }
                }
                out += fragment(typeOID: elementOID, text: String(decoding: bytes, as: UTF8.self))
            } else {
                var bytes: [UInt8] = []
                while let c = u.first, c != UInt8(ascii: ","), c != UInt8(ascii: "}") {
                    bytes.append(c)
                    u = u.dropFirst()
                }
                let s = String(decoding: bytes, as: UTF8.self)
                guard !s.isEmpty else { return false }
                out += s.uppercased() == "NULL" ? "null" : fragment(typeOID: elementOID, text: s)
            }
            guard let c = u.first else { return false }
            u = u.dropFirst()
            if c == UInt8(ascii: "}") { break }
            guard c == UInt8(ascii: ",") else { return false }
        }
        out += "]"
        return true
    }
}
