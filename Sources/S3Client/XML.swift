/// One XML element of a parsed document: local name (namespace prefix dropped), attributes,
/// child elements and the concatenated character data directly inside it.
public struct XMLElement: Sendable, Equatable {
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLElement]
    public var text: String

    public init(name: String, attributes: [String: String] = [:], children: [XMLElement] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first child named `name`.
    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    /// Every child named `name`.
    public func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
    /// The text of the first child named `name`.
    public func text(_ name: String) -> String? { child(name)?.text }
}

/// A small XML reader for S3 responses: elements, attributes, character data, CDATA, comments,
/// processing instructions, the five predefined entities and numeric character references.
/// Document type declarations are refused (no entity expansion at all). Depth, size and element
/// count are bounded; anything malformed is an `S3Error` with code `.malformedXML`.
public struct XMLReader: Sendable {
    public var maxDepth: Int
    public var maxBytes: Int
    public var maxElements: Int

    public init(maxDepth: Int = 64, maxBytes: Int = 64 << 20, maxElements: Int = 1_000_000) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
        self.maxElements = maxElements
    }

    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> XMLElement {
        try XMLReader().parse(bytes)
    }

    public func parse(_ bytes: [UInt8]) throws(S3Error) -> XMLElement {
        guard bytes.count <= maxBytes else { throw Self.error("document larger than \(maxBytes) bytes", 0) }
        var p = Parser(bytes: bytes, limits: self)
        return try p.document()
    }

    static func error(_ what: String, _ offset: Int) -> S3Error {
        S3Error(.malformedXML, "\(what) at byte \(offset)")
    }

    struct Parser {
        let b: [UInt8]
        let limits: XMLReader
        var i = 0
        var elements = 0

        init(bytes: [UInt8], limits: XMLReader) {
            b = bytes
            self.limits = limits
        }

        func fail(_ what: String) -> S3Error { XMLReader.error(what, i) }

        func peek(_ s: String) -> Bool {
            let u = Array(s.utf8)
            guard b.count - i >= u.count else { return false }
            for k in 0..<u.count where b[i + k] != u[k] { return false }
            return true
        }

        mutating func skipSpace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
        }

        /// Skips up to and past `end`.
        mutating func skip(past end: String) throws(S3Error) {
            let u = Array(end.utf8)
            while i < b.count {
                if peek(end) {
                    i += u.count
                    return
                }
                i += 1
            }
            throw fail("unterminated construct, expected \(end)")
        }

        /// Skips whitespace, comments and processing instructions between elements.
        mutating func skipMisc() throws(S3Error) {
            while true {
                skipSpace()
                if peek("<?") { try skip(past: "?>") } else if peek("<!--") { try skip(past: "-->") } else { return }
            }
        }

        mutating func document() throws(S3Error) -> XMLElement {
            if peek("\u{FEFF}") { i += 3 }
            try skipMisc()
            if peek("<!") { throw fail("document type declarations are not accepted") }
            guard i < b.count, b[i] == UInt8(ascii: "<") else { throw fail("expected the root element") }
            let root = try element(depth: 1)
            try skipMisc()
            guard i == b.count else { throw fail("content after the root element") }
            return root
        }

        static func isNameByte(_ c: UInt8) -> Bool {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"),
                 UInt8(ascii: "."), 0x80...0xFF:
                true
            default: false
            }
        }

        mutating func name() throws(S3Error) -> String {
            let start = i
            while i < b.count, Self.isNameByte(b[i]) { i += 1 }
            guard i > start else { throw fail("expected a name") }
            guard let s = String(validating: b[start..<i], as: UTF8.self) else { throw fail("name is not UTF-8") }
            return s
        }

        static func localName(_ qname: String) -> String {
            if let colon = qname.lastIndex(of: ":") { return String(qname[qname.index(after: colon)...]) }
            return qname
        }

        mutating func element(depth: Int) throws(S3Error) -> XMLElement {
            guard depth <= limits.maxDepth else { throw fail("nesting deeper than \(limits.maxDepth)") }
            elements += 1
            guard elements <= limits.maxElements else { throw fail("more than \(limits.maxElements) elements") }
            i += 1   // <
            let qname = try name()
            var el = XMLElement(name: Self.localName(qname))
            // attributes
            while true {
                let before = i
                skipSpace()
                guard i < b.count else { throw fail("unterminated start tag") }
                if b[i] == UInt8(ascii: "/") {
                    guard i + 1 < b.count, b[i + 1] == UInt8(ascii: ">") else { throw fail("expected />") }
                    i += 2
                    return el
                }
                if b[i] == UInt8(ascii: ">") {
                    i += 1
                    break
                }
                guard i > before else { throw fail("expected whitespace before an attribute") }
                let attr = try name()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "=") else { throw fail("expected = after attribute") }
                i += 1
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") else {
                    throw fail("expected a quoted attribute value")
                }
                let quote = b[i]
                i += 1
                let value = try characters(until: quote)
                guard i < b.count else { throw fail("unterminated attribute value") }
                i += 1
                guard el.attributes[attr] == nil else { throw fail("repeated attribute \(attr)") }
                el.attributes[attr] = value
            }
            // content
            var text = ""
            while true {
                guard i < b.count else { throw fail("unterminated element \(qname)") }
                if b[i] == UInt8(ascii: "<") {
                    if peek("</") {
                        i += 2
                        let closing = try name()
                        guard closing == qname else { throw fail("</\(closing)> closes <\(qname)>") }
                        skipSpace()
                        guard i < b.count, b[i] == UInt8(ascii: ">") else { throw fail("expected >") }
                        i += 1
                        el.text = text
                        return el
                    } else if peek("<!--") {
                        try skip(past: "-->")
                    } else if peek("<![CDATA[") {
                        i += 9
                        let start = i
                        try skip(past: "]]>")
                        guard let s = String(validating: b[start..<(i - 3)], as: UTF8.self) else {
                            throw fail("CDATA is not UTF-8")
                        }
                        text += s
                    } else if peek("<?") {
                        try skip(past: "?>")
                    } else if peek("<!") {
                        throw fail("declaration inside an element")
                    } else {
                        el.children.append(try element(depth: depth + 1))
                    }
                } else {
                    text += try characters(until: UInt8(ascii: "<"))
                }
            }
        }

        /// Character data up to (not including) `stop`, with references decoded.
        mutating func characters(until stop: UInt8) throws(S3Error) -> String {
            var out: [UInt8] = []
            while i < b.count, b[i] != stop {
                let c = b[i]
                if c == UInt8(ascii: "&") {
                    try reference(into: &out)
                } else {
                    if stop != UInt8(ascii: "<") && c == UInt8(ascii: "<") { throw fail("< in attribute value") }
                    out.append(c)
                    i += 1
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("text is not UTF-8") }
            return s
        }

        mutating func reference(into out: inout [UInt8]) throws(S3Error) {
            let start = i
            i += 1
            var end = i
            while end < b.count, end - i < 12, b[end] != UInt8(ascii: ";") { end += 1 }
            guard end < b.count, b[end] == UInt8(ascii: ";") else { throw fail("unterminated reference") }
            let body = Array(b[i..<end])
            i = end + 1
            switch String(decoding: body, as: UTF8.self) {
            case "amp": out.append(UInt8(ascii: "&"))
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                guard body.count >= 2, body[0] == UInt8(ascii: "#") else {
                    i = start
                    throw fail("unknown entity")
                }
                var value: UInt32 = 0
                let hex = body[1] == UInt8(ascii: "x")
                let digits = body[(hex ? 2 : 1)...]
                guard !digits.isEmpty, digits.count <= 8 else { i = start; throw fail("bad character reference") }
                for d in digits {
                    let v: UInt32
                    switch d {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(d - 0x30)
                    case UInt8(ascii: "a")...UInt8(ascii: "f") where hex: v = UInt32(d - 0x61 + 10)
                    case UInt8(ascii: "A")...UInt8(ascii: "F") where hex: v = UInt32(d - 0x41 + 10)
                    default: i = start; throw fail("bad character reference")
                    }
                    value = value &* (hex ? 16 : 10) &+ v
                }
                guard value != 0, value <= 0x10FFFF, let scalar = Unicode.Scalar(value) else {
                    i = start
                    throw fail("character reference out of range")
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
        }
    }
}

/// Escapes text for element content and attribute values.
public func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for ch in text.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        case "\r": out += "&#13;"
        default: out.unicodeScalars.append(ch)
        }
    }
    return out
}
