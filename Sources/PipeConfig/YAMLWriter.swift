/// Writes block YAML for the resolved configuration; the output reads back with ``YAML/parse(_:file:)``.
enum YAMLWriter {
    indirect enum Value {
        /// Text written plain when that reads back the same, else double-quoted.
        case string(String)
        /// Numbers, booleans, durations: written as they are.
        case raw(String)
        case list([Value])
        case map([(String, Value)])
    }

    static func write(_ value: Value) -> String {
        var out = ""
        switch value {
        case .map(let pairs): writeMap(pairs, indent: 0, into: &out)
        case .list(let items): writeList(items, indent: 0, into: &out)
        case .string, .raw: out = inline(value) + "\n"
        }
        return out
    }

    private static func inline(_ value: Value) -> String {
        switch value {
        // Values are `${VAR}`-expanded when loaded: a literal `${` is written `$${`.
        case .string(let s): return scalar(escapeExpansion(s))
        case .raw(let s): return s
        case .list(let items): return items.isEmpty ? "[]" : "[" + items.map(inline).joined(separator: ", ") + "]"
        case .map(let pairs): return pairs.isEmpty ? "{}" : "{" + pairs.map { "\(key($0.0)): \(inline($0.1))" }.joined(separator: ", ") + "}"
        }
    }

    private static func isInline(_ value: Value) -> Bool {
        switch value {
        case .string, .raw: true
        case .list(let items): items.isEmpty
        case .map(let pairs): pairs.isEmpty
        }
    }

    private static func writeMap(_ pairs: [(String, Value)], indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for (k, v) in pairs {
            if isInline(v) {
                out += "\(pad)\(key(k)): \(inline(v))\n"
            } else {
                out += "\(pad)\(key(k)):\n"
                switch v {
                case .map(let p): writeMap(p, indent: indent + 2, into: &out)
                case .list(let items): writeList(items, indent: indent + 2, into: &out)
                default: break
                }
            }
        }
    }

    private static func writeList(_ items: [Value], indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for item in items {
            switch item {
            case .map(let p) where !p.isEmpty:
                var sub = ""
                writeMap(p, indent: indent + 2, into: &sub)
                // The first entry goes on the dash's line.
                let trimmed = sub.dropFirst(indent + 2)
                out += "\(pad)- \(trimmed)"
            case .list(let l) where !l.isEmpty:
                out += "\(pad)- \(inline(item))\n"
            default:
                out += "\(pad)- \(inline(item))\n"
            }
        }
    }

    private static func key(_ k: String) -> String { scalar(k) }

    static func escapeExpansion(_ s: String) -> String {
        guard s.contains("${") else { return s }
        let chars = Array(s)
        var out = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "$" && i + 1 < chars.count && chars[i + 1] == "{" {
                out += "$${"
                i += 2
                continue
            }
            out.append(chars[i])
            i += 1
        }
        return out
    }

    /// The text plain when YAML reads it back unchanged as a string, else double-quoted.
    static func scalar(_ s: String) -> String {
        plainIsSafe(s) ? s : quoted(s)
    }

    static func plainIsSafe(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, let last = s.unicodeScalars.last else { return false }
        if first == " " || last == " " || first == "\t" || last == "\t" { return false }
        if "-?:,[]{}#&*!|>'\"%@`".unicodeScalars.contains(first) { return false }
        let lowered = s.lowercased()
        if ["~", "null", "true", "false", "yes", "no", "on", "off"].contains(lowered) { return false }
        if s.contains(": ") || s.contains(" #") || s.hasSuffix(":") { return false }
        if s.contains("${") { return false }
        for c in s.unicodeScalars where c.value < 0x20 || c.value == 0x7F || (c.value >= 0x80 && c.value < 0xA0) {
            return false
        }
        return true
    }

    /// A double-quoted YAML string with escapes.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 || c.value == 0x7F || (c.value >= 0x80 && c.value < 0xA0) {
                    let hex = String(c.value, radix: 16, uppercase: true)
                    out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}
