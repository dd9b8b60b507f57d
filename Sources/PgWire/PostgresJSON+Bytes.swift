public import NIOCore

// The same conversion as `PostgresJSON.fragment(typeOID:text:)`, from the bytes of a text-format
// value straight into a JSON buffer: no String per column for the common types. Output is
// byte-identical to the String path (`PostgresJSONBytesTests` compares them); what this path does
// not handle itself (non-ASCII text, bytea, floats PostgreSQL did not print as JSON
// numbers) goes through the String path.

extension PostgresJSON {
    /// Appends the JSON fragment of a column of type `typeOID` whose text form is `text` (nil: NULL).
    public static func appendFragment(typeOID: UInt32, text: ByteBuffer?, to out: inout [UInt8]) {
        guard let text else {
            out.append(contentsOf: nullLiteral)
            return
        }
        text.withUnsafeReadableBytes { appendFragment(typeOID: typeOID, bytes: $0, to: &out) }
    }

    /// Appends the JSON fragment of a column of type `typeOID` whose text form is `bytes`.
    public static func appendFragment(typeOID: UInt32, bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard isASCII(bytes) else {
            out.append(contentsOf: fragment(typeOID: typeOID, text: String(decoding: bytes, as: UTF8.self)).utf8)
            return
        }
        if let element = elementType(ofArray: typeOID) {
            let mark = out.count
            if !appendArray(elementOID: element, text: bytes, to: &out) {
                out.removeSubrange(mark...)
                appendQuoted(bytes, to: &out)
            }
            return
        }
        switch typeOID {
        case OID.bool:
            if bytes.count == 1, bytes[0] == UInt8(ascii: "t") { out.append(contentsOf: trueLiteral) }
            else if bytes.count == 1, bytes[0] == UInt8(ascii: "f") { out.append(contentsOf: falseLiteral) }
            else { appendQuoted(bytes, to: &out) }
        case OID.int2, OID.int4, OID.int8, OID.oid:
            if isInteger(bytes) { out.append(contentsOf: bytes) } else { appendQuoted(bytes, to: &out) }
        case OID.float4, OID.float8:
            if !isNonNumberFloat(bytes), isJSONNumber(bytes) { out.append(contentsOf: bytes) }
            else { out.append(contentsOf: fragment(typeOID: typeOID, text: String(decoding: bytes, as: UTF8.self)).utf8) }
        case OID.bytea:
            out.append(contentsOf: fragment(typeOID: typeOID, text: String(decoding: bytes, as: UTF8.self)).utf8)
        case OID.json, OID.jsonb:
            out.append(contentsOf: bytes)
        case OID.date:
            if !isSpecial(bytes), parseTimestamp(bytes[...])?.rest.isEmpty == true {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: bytes)
                out.append(contentsOf: midnightSuffix)
            } else {
                appendQuoted(bytes, to: &out)
            }
        case OID.timestamp:
            if !isSpecial(bytes), let (days, micros, rest) = parseTimestamp(bytes[...]), rest.isEmpty {
                appendPadded(days * 86_400_000 + micros / 1000, 1, to: &out)
            } else {
                appendQuoted(bytes, to: &out)
            }
        case OID.timestamptz:
            if appendUTCTimestamp(bytes, to: &out) { return }
            if !isSpecial(bytes), let (days, micros, rest) = parseTimestamp(bytes[...]),
               let utc = utcInstant(localDays: days, localMicros: micros, offsetText: rest) {
                appendISO(utc, to: &out)
            } else {
                appendQuoted(bytes, to: &out)
            }
        default:
            appendQuoted(bytes, to: &out)
        }
    }

    /// The common timestamptz text, `YYYY-MM-DD HH:MM:SS[.f…]+00` (PostgreSQL's output in a UTC
    /// session) with a valid date and time, rewritten in place as `"YYYY-MM-DDTHH:MM:SS.ffffffZ"`:
    /// what parsing and re-formatting gives, without the calendar arithmetic. False (nothing
    /// written) for any other text, which then takes the general path.
    static func appendUTCTimestamp(_ b: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        let n = b.count
        guard n >= 22, n <= 29, b[n - 3] == UInt8(ascii: "+"), b[n - 2] == 48, b[n - 1] == 48 else { return false }
        let end = n - 3
        guard end == 19 || (end >= 21 && b[19] == UInt8(ascii: ".")) else { return false }
        @inline(__always) func digit(_ i: Int) -> Int? {
            let c = b[i] &- 48
            return c < 10 ? Int(c) : nil
        }
        @inline(__always) func two(_ i: Int) -> Int? {
            guard let h = digit(i), let l = digit(i + 1) else { return nil }
            return h * 10 + l
        }
        guard b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y1 = two(0), let y2 = two(2), let month = two(5), let day = two(8),
              let hour = two(11), let minute = two(14), let second = two(17),
              hour < 24, minute < 60, second < 60, (1...12).contains(month), day >= 1 else { return false }
        let year = y1 * 100 + y2
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31)
        guard year >= 1, day <= monthDays else { return false }
        if end > 19 {
            for i in 20..<end where digit(i) == nil { return false }
        }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[0..<10]))
        out.append(UInt8(ascii: "T"))
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[11..<19]))
        out.append(UInt8(ascii: "."))
        if end > 19 { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[20..<end])) }
        let fraction = end > 19 ? end - 20 : 0
        for _ in fraction..<6 { out.append(48) }
        out.append(UInt8(ascii: "Z"))
        out.append(UInt8(ascii: "\""))
        return true
    }

    /// `arrayFragment(elementOID:text:)` on ASCII bytes; false (with `out` partly written) when
    /// the text is not a well-formed array.
    static func appendArray(elementOID: UInt32, text: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        var i = 0
        if text.first == UInt8(ascii: "[") {
            guard let eq = text.firstIndex(of: UInt8(ascii: "=")) else { return false }
            i = eq + 1
        }
        guard appendArrayLevel(text, &i, elementOID: elementOID, depth: 0, to: &out) else { return false }
        return i == text.count
    }

    private static func appendArrayLevel(_ u: UnsafeRawBufferPointer, _ i: inout Int, elementOID: UInt32, depth: Int,
                                         to out: inout [UInt8]) -> Bool {
        guard depth < 16, i < u.count, u[i] == UInt8(ascii: "{") else { return false }
        i += 1
        out.append(UInt8(ascii: "["))
        if i < u.count, u[i] == UInt8(ascii: "}") {
            i += 1
            out.append(UInt8(ascii: "]"))
            return true
        }
        var first = true
        while true {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            guard i < u.count else { return false }
            if u[i] == UInt8(ascii: "{") {
                guard appendArrayLevel(u, &i, elementOID: elementOID, depth: depth + 1, to: &out) else { return false }
            } else if u[i] == UInt8(ascii: "\"") {
                i += 1
                let start = i
                var escaped = false
                while true {
                    guard i < u.count else { return false }
                    if u[i] == UInt8(ascii: "\\") {
                        escaped = true
                        i += 2
                        guard i <= u.count else { return false }
                    } else if u[i] == UInt8(ascii: "\"") {
                        break
                    } else {
                        i += 1
                    }
                }
                let raw = UnsafeRawBufferPointer(rebasing: u[start..<i])
                i += 1
                if escaped {
                    var element: [UInt8] = []
                    element.reserveCapacity(raw.count)
                    var k = 0
                    while k < raw.count {
                        if raw[k] == UInt8(ascii: "\\") { k += 1 }
                        element.append(raw[k])
                        k += 1
                    }
                    element.withUnsafeBytes { appendFragment(typeOID: elementOID, bytes: $0, to: &out) }
                } else {
                    appendFragment(typeOID: elementOID, bytes: raw, to: &out)
                }
            } else {
                let start = i
                while i < u.count, u[i] != UInt8(ascii: ","), u[i] != UInt8(ascii: "}") { i += 1 }
                let raw = UnsafeRawBufferPointer(rebasing: u[start..<i])
                guard !raw.isEmpty else { return false }
                if raw.count == 4, raw.map({ $0 & 0xDF }).elementsEqual("NULL".utf8) {
                    out.append(contentsOf: nullLiteral)
                } else {
                    appendFragment(typeOID: elementOID, bytes: raw, to: &out)
                }
            }
            guard i < u.count else { return false }
            let c = u[i]
            i += 1
            if c == UInt8(ascii: "}") { break }
            guard c == UInt8(ascii: ",") else { return false }
        }
        out.append(UInt8(ascii: "]"))
        return true
    }

    /// `arrayElementType[oid]` as a switch (a dictionary lookup per column and row showed up in profiles).
    @inline(__always)
    static func elementType(ofArray oid: UInt32) -> UInt32? {
        switch oid {
        case 1000: 16
        case 1001: 17
        case 1002: 18
        case 1003: 19
        case 1016: 20
        case 1005: 21
        case 1007: 23
        case 1009: 25
        case 1028: 26
        case 199: 114
        case 143: 142
        case 1021: 700
        case 1022: 701
        case 791: 790
        case 1014: 1042
        case 1015: 1043
        case 1182: 1082
        case 1183: 1083
        case 1115: 1114
        case 1185: 1184
        case 1187: 1186
        case 1270: 1266
        case 1231: 1700
        case 2951: 2950
        case 3807: 3802
        case 1041: 869
        case 651: 650
        case 1040: 829
        case 1561: 1560
        case 1563: 1562
        case 3905: 3904
        case 3907: 3906
        case 3909: 3908
        case 3911: 3910
        case 3913: 3912
        case 3927: 3926
        default: nil
        }
    }

    private static let nullLiteral: [UInt8] = Array("null".utf8)
    private static let trueLiteral: [UInt8] = Array("true".utf8)
    private static let falseLiteral: [UInt8] = Array("false".utf8)
    private static let midnightSuffix: [UInt8] = Array("T00:00:00Z\"".utf8)

    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Eight bytes at a time: any high bit set means a multi-byte UTF-8 sequence (or worse).
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n {
            if bytes[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }

    /// A JSON string literal of ASCII `bytes` (escapes as `quoted(_:)` writes them).
    static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var start = 0
        for (i, b) in bytes.enumerated() where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            if start < i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<i])) }
            start = i + 1
            out.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            }
        }
        if start < bytes.count { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...])) }
        out.append(UInt8(ascii: "\""))
    }

    static func isInteger(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        if bytes.first == UInt8(ascii: "-") { i = 1 }
        guard i < bytes.count else { return false }
        while i < bytes.count {
            guard bytes[i] >= 48, bytes[i] <= 57 else { return false }
            i += 1
        }
        return true
    }

    static func isNonNumberFloat(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.elementsEqual("NaN".utf8) || bytes.elementsEqual("Infinity".utf8) || bytes.elementsEqual("-Infinity".utf8)
    }

    /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    static func isJSONNumber(_ u: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        func digits() -> Int {
            let start = i
            while i < u.count, u[i] >= 48, u[i] <= 57 { i += 1 }
            return i - start
        }
        if i < u.count, u[i] == UInt8(ascii: "-") { i += 1 }
        guard i < u.count else { return false }
        if u[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            if digits() == 0 { return false }
        }
        if i < u.count, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            i += 1
            if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == u.count
    }

    static func isSpecial(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.elementsEqual("infinity".utf8) || bytes.elementsEqual("-infinity".utf8)
            || (bytes.count >= 3 && bytes[(bytes.count - 3)...].elementsEqual(" BC".utf8))
    }
}
