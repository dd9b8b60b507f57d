// A small, allocation-light JSON writer: appends UTF-8 bytes to one growing array and places the
// commas and colons itself, so callers only say what comes next.

/// Writes JSON text into a byte array.
///
///     var w = JSONWriter()
///     w.beginObject(); w.key("a"); w.int(1); w.key("b"); w.beginArray(); w.string("x"); w.endArray(); w.endObject()
///     w.string == #"{"a":1,"b":["x"]}"#
public struct JSONWriter: Sendable {
    /// The JSON text written so far.
    public private(set) var bytes: [UInt8]
    /// Escapes U+2028 and U+2029 (valid JSON, but not valid inside JavaScript string literals).
    public var escapeLineSeparators: Bool
    // One entry per open container: true when the next value needs a comma before it.
    private var needsComma: [Bool] = []
    // True right after `key(_:)`: the value that follows takes no comma.
    private var afterKey = false

    public init(capacity: Int = 256, escapeLineSeparators: Bool = false) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.escapeLineSeparators = escapeLineSeparators
    }

    /// The text written so far as a String.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Drops everything written, keeping the storage.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma.removeAll(keepingCapacity: true)
        afterKey = false
    }

    @inline(__always)
    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
            return
        }
        if let last = needsComma.last {
            if last { bytes.append(UInt8(ascii: ",")) }
            needsComma[needsComma.count - 1] = true
        }
    }

    public mutating func beginObject() {
        beforeValue()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    public mutating func endObject() {
        if !needsComma.isEmpty { needsComma.removeLast() }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        beforeValue()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    public mutating func endArray() {
        if !needsComma.isEmpty { needsComma.removeLast() }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An object member's name; the next call writes its value.
    public mutating func key(_ name: String) {
        beforeValue()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func string(_ value: String) {
        beforeValue()
        appendQuoted(value)
    }

    public mutating func int(_ value: Int64) {
        beforeValue()
        appendDecimal(value)
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    public mutating func uint(_ value: UInt64) {
        beforeValue()
        appendDecimal(value)
    }

    /// A number in the shortest form that reads back to the same Double. Integral values within
    /// ±2^53 print without a fraction or exponent (`1`, not `1.0`). NaN and infinities have no JSON
    /// form and are written as `null`.
    public mutating func double(_ value: Double) {
        beforeValue()
        guard value.isFinite else {
            appendASCII("null")
            return
        }
        if value == value.rounded(.towardZero), abs(value) <= 9_007_199_254_740_992 {
            if value == 0 && value.sign == .minus {
                appendASCII("-0")
            } else {
                appendDecimal(Int64(value))
            }
            return
        }
        // Swift's description is the shortest round-trip form: "0.1", "1e-07", "1.5e+300".
        bytes.append(contentsOf: value.description.utf8)
    }

    public mutating func bool(_ value: Bool) {
        beforeValue()
        appendASCII(value ? "true" : "false")
    }

    public mutating func null() {
        beforeValue()
        appendASCII("null")
    }

    /// A pre-encoded JSON value, written as is (the caller vouches that it is valid JSON).
    public mutating func raw(_ fragment: [UInt8]) {
        beforeValue()
        bytes.append(contentsOf: fragment)
    }

    public mutating func raw(_ fragment: String) {
        beforeValue()
        bytes.append(contentsOf: fragment.utf8)
    }

    /// A number given as its JSON text (for numbers kept exactly as read); the caller vouches that
    /// it is a valid JSON number.
    public mutating func number(_ text: String) { raw(text) }

    // MARK: - Encoding helpers

    private mutating func appendASCII(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            // magnitude avoids the overflow of -Int64.min
            appendDecimal(value.magnitude)
        } else {
            appendDecimal(UInt64(value))
        }
    }

    private mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            bytes.append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var count = 0
            var v = value
            while v > 0 {
                buf[count] = UInt8(truncatingIfNeeded: v % 10) &+ 48
                v /= 10
                count += 1
            }
            var i = count - 1
            while i >= 0 {
                bytes.append(buf[i])
                i -= 1
            }
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendQuoted(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var start = 0
            var i = 0
            let n = utf8.count
            while i < n {
                let b = utf8[i]
                var escape: UInt8 = 0   // 0: none; 1: \u00XX; else the letter after the backslash
                var skip = 1
                switch b {
                case UInt8(ascii: "\""): escape = UInt8(ascii: "\"")
                case UInt8(ascii: "\\"): escape = UInt8(ascii: "\\")
                case 0x0A: escape = UInt8(ascii: "n")
                case 0x0D: escape = UInt8(ascii: "r")
                case 0x09: escape = UInt8(ascii: "t")
                case 0x08: escape = UInt8(ascii: "b")
                case 0x0C: escape = UInt8(ascii: "f")
                case 0x00..<0x20, 0x7F: escape = 1
                case 0xE2 where escapeLineSeparators && i + 2 < n && utf8[i + 1] == 0x80
                    && (utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9):
                    escape = 2
                    skip = 3
                default: break
                }
                if escape == 0 {
                    i += 1
                    continue
                }
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                bytes.append(UInt8(ascii: "\\"))
                if escape == 1 {
                    bytes.append(contentsOf: [UInt8(ascii: "u"), 48, 48, Self.hex[Int(b >> 4)], Self.hex[Int(b & 0xF)]])
                } else if escape == 2 {
                    bytes.append(contentsOf: Array("u202".utf8))
                    bytes.append(utf8[i + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9"))
                } else {
                    bytes.append(escape)
                }
                i += skip
                start = i
            }
            if start < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<n])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
