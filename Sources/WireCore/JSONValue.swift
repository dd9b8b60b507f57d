// A JSON document as a value, and a bounded reader for untrusted bytes (RFC 8259).
// Numbers keep their exact text, so a value read and written again is unchanged
// ("1.10", "1e400" and 20-digit integers survive), and object members keep their order.

/// Why a JSON text could not be read.
public struct JSONError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case unexpectedEnd, unexpectedByte, invalidNumber, invalidString, invalidEscape,
                 invalidUTF8, tooDeep, tooLarge, trailingData
        }
        private let value: Value
        private init(_ v: Value) { value = v }
        public static let unexpectedEnd = Code(.unexpectedEnd)
        public static let unexpectedByte = Code(.unexpectedByte)
        public static let invalidNumber = Code(.invalidNumber)
        public static let invalidString = Code(.invalidString)
        public static let invalidEscape = Code(.invalidEscape)
        public static let invalidUTF8 = Code(.invalidUTF8)
        public static let tooDeep = Code(.tooDeep)
        public static let tooLarge = Code(.tooLarge)
        public static let trailingData = Code(.trailingData)
        public var description: String {
            switch value {
            case .unexpectedEnd: "unexpected end of input"
            case .unexpectedByte: "unexpected byte"
            case .invalidNumber: "invalid number"
            case .invalidString: "invalid string"
            case .invalidEscape: "invalid escape"
            case .invalidUTF8: "invalid UTF-8"
            case .tooDeep: "nested too deeply"
            case .tooLarge: "input too large"
            case .trailingData: "data after the value"
            }
        }
    }

    public var code: Code
    /// Byte offset in the input where the problem was found.
    public var offset: Int

    public init(code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    public var description: String { "JSON: \(code) at byte \(offset)" }
}

/// A JSON value. Numbers are kept as their text exactly as written.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// Limits for reading untrusted input.
    public struct Limits: Sendable {
        /// Deepest nesting of arrays and objects.
        public var maxDepth: Int
        /// Largest input accepted, in bytes.
        public var maxBytes: Int
        public init(maxDepth: Int = 128, maxBytes: Int = 64 << 20) {
            self.maxDepth = maxDepth
            self.maxBytes = maxBytes
        }
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// Reads one JSON value (surrounded by optional whitespace) from `bytes`.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(JSONError) -> JSONValue {
        guard bytes.count <= limits.maxBytes else { throw JSONError(code: .tooLarge, offset: 0) }
        var reader = JSONReader(bytes: bytes, maxDepth: limits.maxDepth)
        reader.skipWhitespace()
        let value = try reader.readValue(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw JSONError(code: .trailingData, offset: reader.index) }
        return value
    }

    public static func parse(_ text: String, limits: Limits = Limits()) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8), limits: limits)
    }

    /// Writes this value; with `sortedKeys`, object members are written in byte order of their names.
    public func write(to writer: inout JSONWriter, sortedKeys: Bool = false) {
        switch self {
        case .null: writer.null()
        case .bool(let b): writer.bool(b)
        case .number(let text): writer.number(text)
        case .string(let s): writer.string(s)
        case .array(let items):
            writer.beginArray()
            for item in items { item.write(to: &writer, sortedKeys: sortedKeys) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            let ordered = sortedKeys ? members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) } : members
            for (k, v) in ordered {
                writer.key(k)
                v.write(to: &writer, sortedKeys: sortedKeys)
            }
            writer.endObject()
        }
    }

    /// The compact JSON text of this value.
    public func jsonString(sortedKeys: Bool = false) -> String {
        var w = JSONWriter()
        write(to: &w, sortedKeys: sortedKeys)
        return w.string
    }

    /// The first member named `key` of an object, else nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

/// The recursive-descent reader behind `JSONValue.parse`.
struct JSONReader {
    let bytes: [UInt8]
    let maxDepth: Int
    var index = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    func fail(_ code: JSONError.Code) -> JSONError { JSONError(code: code, offset: index) }

    mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(JSONError) -> JSONValue {
        let n = literal.utf8CodeUnitCount
        guard bytes.count - index >= n else { throw JSONError(code: .unexpectedEnd, offset: bytes.count) }
        let p = literal.utf8Start
        for i in 0..<n where bytes[index + i] != p[i] {
            throw JSONError(code: .unexpectedByte, offset: index + i)
        }
        index += n
        return value
    }

    mutating func readValue(depth: Int) throws(JSONError) -> JSONValue {
        guard index < bytes.count else { throw fail(.unexpectedEnd) }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw fail(.tooDeep) }
            index += 1
            var members: [(String, JSONValue)] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw fail(.unexpectedEnd) }
                guard bytes[index] == UInt8(ascii: "\"") else { throw fail(.unexpectedByte) }
                let key = try readString()
                skipWhitespace()
                guard index < bytes.count else { throw fail(.unexpectedEnd) }
                guard bytes[index] == UInt8(ascii: ":") else { throw fail(.unexpectedByte) }
                index += 1
                skipWhitespace()
                let value = try readValue(depth: depth + 1)
                members.append((key, value))
                skipWhitespace()
                guard index < bytes.count else { throw fail(.unexpectedEnd) }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { throw fail(.unexpectedByte) }
                index += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw fail(.tooDeep) }
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try readValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw fail(.unexpectedEnd) }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { throw fail(.unexpectedByte) }
                index += 1
                return .array(items)
            }
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try readNumber())
        default:
            throw fail(.unexpectedByte)
        }
    }

    private func isDigit(_ i: Int) -> Bool {
        i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")
    }

    /// number = [ minus ] int [ frac ] [ exp ]  (RFC 8259 §6)
    mutating func readNumber() throws(JSONError) -> String {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw fail(index < bytes.count ? .invalidNumber : .unexpectedEnd) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw fail(.invalidNumber) }   // no leading zeros
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw fail(.invalidNumber) }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard isDigit(index) else { throw fail(.invalidNumber) }
            while isDigit(index) { index += 1 }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func readHex4() throws(JSONError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw JSONError(code: .unexpectedEnd, offset: bytes.count) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let h = hexValue(bytes[index]) else { throw fail(.invalidEscape) }
            v = v << 4 | h
            index += 1
        }
        return v
    }

    /// Reads a string starting at its opening quote; checks UTF-8 and escapes.
    mutating func readString() throws(JSONError) -> String {
        index += 1   // opening quote
        var out: [UInt8] = []
        var runStart = index
        while true {
            guard index < bytes.count else { throw fail(.unexpectedEnd) }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                out.append(contentsOf: bytes[runStart..<index])
                index += 1
                break
            }
            if b < 0x20 { throw fail(.invalidString) }
            if b == UInt8(ascii: "\\") {
                out.append(contentsOf: bytes[runStart..<index])
                index += 1
                guard index < bytes.count else { throw fail(.unexpectedEnd) }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        // a high surrogate must be followed by an escaped low surrogate
                        guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"),
                              bytes[index + 1] == UInt8(ascii: "u") else { throw fail(.invalidEscape) }
                        index += 2
                        let low = try readHex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw fail(.invalidEscape) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw fail(.invalidEscape)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail(.invalidEscape) }
                    UTF8.encode(u) { out.append($0) }
                default:
                    throw JSONError(code: .invalidEscape, offset: index - 1)
                }
                runStart = index
                continue
            }
            if b < 0x80 {
                index += 1
                continue
            }
            index += try utf8SequenceLength(at: index)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629 §4) and returns its length.
    private func utf8SequenceLength(at i: Int) throws(JSONError) -> Int {
        let b0 = bytes[i]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: throw JSONError(code: .invalidUTF8, offset: i)
        }
        guard bytes.count - i >= n else { throw JSONError(code: .unexpectedEnd, offset: bytes.count) }
        let b1 = bytes[i + 1]
        guard b1 >= lo && b1 <= hi else { throw JSONError(code: .invalidUTF8, offset: i + 1) }
        for k in 2..<n {
            guard bytes[i + k] & 0xC0 == 0x80 else { throw JSONError(code: .invalidUTF8, offset: i + k) }
        }
        return n
    }
}
