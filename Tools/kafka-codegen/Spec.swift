import FoundationEssentials

// The JSON shape of Apache Kafka's message definitions (clients/src/main/resources/common/message).

struct MessageSpec: Decodable {
    var apiKey: Int?
    var type: String
    var name: String
    var validVersions: String
    var flexibleVersions: String
    var latestVersionUnstable: Bool?
    var fields: [FieldSpec]
    var commonStructs: [StructSpec]?
}

struct StructSpec: Decodable {
    var name: String
    var versions: String?
    var fields: [FieldSpec]
}

struct FieldSpec: Decodable {
    var name: String
    var type: String
    var versions: String?
    var nullableVersions: String?
    var taggedVersions: String?
    var tag: Int?
    var `default`: DefaultValue?
    var ignorable: Bool?
    var flexibleVersions: String?
    var about: String?
    var fields: [FieldSpec]?
}

/// `default` is written as a string, a number or a boolean.
struct DefaultValue: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            text = s
        } else if let i = try? c.decode(Int64.self) {
            text = String(i)
        } else if let b = try? c.decode(Bool.self) {
            text = b ? "true" : "false"
        } else if let d = try? c.decode(Double.self) {
            text = String(d)
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unsupported default")
        }
    }
}

/// A version range: "0+", "3-5", "7", "none".
struct Versions: Equatable {
    var low: Int
    var high: Int?  // nil: no upper bound
    var isNone: Bool

    static let none = Versions(low: 0, high: nil, isNone: true)

    init(low: Int, high: Int?, isNone: Bool = false) {
        self.low = low
        self.high = high
        self.isNone = isNone
    }

    init(_ text: String?) throws {
        guard let text = text?.trimmed(), !text.isEmpty else {
            self = .none
            return
        }
        if text == "none" {
            self = .none
        } else if text.hasSuffix("+") {
            guard let v = Int(text.dropLast()) else { throw CodegenError("bad versions \(text)") }
            self.init(low: v, high: nil)
        } else if let dash = text.firstIndex(of: "-") {
            guard let a = Int(text[..<dash]), let b = Int(text[text.index(after: dash)...]) else {
                throw CodegenError("bad versions \(text)")
            }
            self.init(low: a, high: b)
        } else {
            guard let v = Int(text) else { throw CodegenError("bad versions \(text)") }
            self.init(low: v, high: v)
        }
    }

    func contains(_ v: Int) -> Bool {
        !isNone && v >= low && (high.map { v <= $0 } ?? true)
    }

    /// A Swift condition over `version` that holds exactly for the versions in `self` that lie
    /// within `valid`; "true" or "false" when that is constant.
    func condition(within valid: ClosedRange<Int>) -> String {
        if isNone { return "false" }
        let lo = max(low, valid.lowerBound)
        let hi = min(high ?? valid.upperBound, valid.upperBound)
        if lo > hi { return "false" }
        if lo == valid.lowerBound && hi == valid.upperBound { return "true" }
        if lo == hi { return "version == \(lo)" }
        if lo == valid.lowerBound { return "version <= \(hi)" }
        if hi == valid.upperBound { return "version >= \(lo)" }
        return "(version >= \(lo) && version <= \(hi))"
    }
}

struct CodegenError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Removes `//` comments (outside of strings) so the text is plain JSON.
func stripComments(_ text: String) -> String {
    var out = [UInt8]()
    let b = Array(text.utf8)
    var i = 0
    var inString = false
    while i < b.count {
        let c = b[i]
        if inString {
            out.append(c)
            if c == UInt8(ascii: "\\"), i + 1 < b.count {
                out.append(b[i + 1])
                i += 2
                continue
            }
            if c == UInt8(ascii: "\"") { inString = false }
            i += 1
        } else if c == UInt8(ascii: "\"") {
            inString = true
            out.append(c)
            i += 1
        } else if c == UInt8(ascii: "/"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "/") {
            while i < b.count, b[i] != UInt8(ascii: "\n") { i += 1 }
        } else {
            out.append(c)
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines.
    func trimmed() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }

    func replacing(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
