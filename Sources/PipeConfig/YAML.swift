/// A YAML reader in pure Swift for configuration files.
///
/// Supported: block and flow mappings and sequences; plain, single- and double-quoted scalars (all
/// YAML 1.2 escapes); literal (`|`) and folded (`>`) block scalars with chomping and indentation
/// indicators; comments; `---` / `...` document markers and a `%YAML` directive; anchors (`&a`),
/// aliases (`*a`) and merge keys (`<<: *a`).
///
/// Rejected with an error that gives line and column (never read some other way): tags (`!`, `!!str`),
/// complex keys (`? `, collections as keys), anchors on keys, several documents, tabs in indentation,
/// duplicate keys, control characters, nesting deeper than ``maxDepth`` and alias expansion beyond
/// ``maxNodes`` nodes.
public enum YAML {
    /// The deepest nesting accepted (configuration needs about five levels).
    public static let maxDepth = 64
    /// The most nodes a document may hold, aliases counted as expanded.
    public static let maxNodes = 100_000
    /// The largest input accepted, in Unicode scalars.
    public static let maxLength = 4 << 20

    /// Parses one YAML document. An empty document is a null scalar.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> YAMLNode {
        var parser = try YAMLParser(text: text, file: file)
        return try parser.parseStream()
    }

    /// Parses bytes that must be UTF-8.
    public static func parse(bytes: some Collection<UInt8>, file: String) throws(ConfigError) -> YAMLNode {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var text = ""
        var line = 1
        var column = 1
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                text.unicodeScalars.append(scalar)
                if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
            case .emptyInput:
                break decoding
            case .error:
                throw ConfigError(code: .encoding, file: file, line: line, column: column,
                                  message: "the file is not valid UTF-8")
            }
        }
        return try parse(text, file: file)
    }
}

private enum BlockContext {
    case document, mappingValue, sequenceEntry
}

struct YAMLParser {
    private let s: [Unicode.Scalar]
    private let file: String
    private var i = 0
    private var line = 1
    private var lineStart = 0
    private var depth = 0
    private var nodes = 0
    private var anchors: [String: YAMLNode] = [:]

    init(text: String, file: String) throws(ConfigError) {
        self.file = file
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(min(text.utf8.count, YAML.maxLength + 1))
        var line = 1
        var column = 1
        var previousCR = false
        for c in text.unicodeScalars {
            if out.count > YAML.maxLength {
                throw ConfigError(code: .limit, file: file, line: line, column: column,
                                  message: "the file is larger than \(YAML.maxLength) characters")
            }
            if c == "\r" {
                out.append("\n")
                line += 1; column = 1
                previousCR = true
                continue
            }
            if c == "\n" {
                if previousCR { previousCR = false; continue }
                out.append("\n")
                line += 1; column = 1
                continue
            }
            previousCR = false
            if out.isEmpty && c == "\u{FEFF}" { continue }
            let v = c.value
            let printable = v == 0x09 || (v >= 0x20 && v <= 0x7E) || v == 0x85 || (v >= 0xA0 && v <= 0xD7FF)
                || (v >= 0xE000 && v <= 0xFFFD) || v >= 0x10000
            if !printable {
                throw ConfigError(code: .encoding, file: file, line: line, column: column,
                                  message: "character U+\(String(v, radix: 16, uppercase: true)) is not allowed in YAML")
            }
            out.append(c)
            column += 1
        }
        s = out
    }

    // MARK: - Position and errors

    private var column: Int { i - lineStart + 1 }
    private var indent: Int { i - lineStart }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? {
        let j = i + k
        return j < s.count ? s[j] : nil
    }

    private func isBlank(_ c: Unicode.Scalar?) -> Bool { c == nil || c == " " || c == "\t" || c == "\n" }
    private func isWhite(_ c: Unicode.Scalar?) -> Bool { c == " " || c == "\t" }
    private func isFlowIndicator(_ c: Unicode.Scalar?) -> Bool {
        c == "," || c == "[" || c == "]" || c == "{" || c == "}"
    }

    private var atEnd: Bool { i >= s.count }
    private var atLineEnd: Bool { i >= s.count || s[i] == "\n" }

    private mutating func advance() {
        if s[i] == "\n" {
            line += 1
            lineStart = i + 1
        }
        i += 1
    }

    private func error(_ message: String, code: ConfigError.Code = .syntax, line: Int? = nil, column: Int? = nil) -> ConfigError {
        ConfigError(code: code, file: file, line: line ?? self.line, column: column ?? self.column, message: message)
    }

    private func show(_ c: Unicode.Scalar?) -> String {
        guard let c else { return "end of file" }
        if c == "\n" { return "end of line" }
        if c == "\t" { return "a tab" }
        return "`\(Character(c))`"
    }

    private mutating func enter() throws(ConfigError) {
        depth += 1
        if depth > YAML.maxDepth {
            throw error("nesting is deeper than \(YAML.maxDepth) levels", code: .limit)
        }
    }

    private mutating func made(_ node: YAMLNode) throws(ConfigError) -> YAMLNode {
        nodes += 1
        if nodes > YAML.maxNodes {
            throw error("the document has more than \(YAML.maxNodes) nodes", code: .limit,
                        line: node.line, column: node.column)
        }
        return node
    }

    // MARK: - Lines

    private mutating func skipWhite() {
        while isWhite(peek()) { i += 1 }
    }

    /// At a line start: document marker `---` or `...` followed by a blank.
    private func atDocumentMarker() -> Bool {
        guard i == lineStart, i + 2 < s.count else { return false }
        let a = s[i], b = s[i + 1], c = s[i + 2]
        guard (a == "-" && b == "-" && c == "-") || (a == "." && b == "." && c == ".") else { return false }
        return isBlank(peek(3))
    }

    /// From a line start, skips blank and comment-only lines and the indentation of the next content
    /// line. Returns false at the end of the input. Tabs may not indent content.
    private mutating func seekContent() throws(ConfigError) -> Bool {
        while true {
            guard i < s.count else { return false }
            var sawTab = false
            while isWhite(peek()) {
                if peek() == "\t" { sawTab = true }
                i += 1
            }
            if atEnd { return false }
            if peek() == "\n" { advance(); continue }
            if peek() == "#" {
                while !atLineEnd { i += 1 }
                continue
            }
            if sawTab {
                // Tabs before content make the indentation ambiguous: YAML forbids them.
                var k = lineStart
                while s[k] == " " { k += 1 }
                throw error("tabs are not allowed in indentation; use spaces", line: line, column: k - lineStart + 1)
            }
            return true
        }
    }

    /// After a node on its line: only spaces and a comment may follow; then moves to the next content.
    private mutating func finishLine(after what: String) throws(ConfigError) {
        let hadWhite = isWhite(peek())
        skipWhite()
        if peek() == "#" && (hadWhite || i == lineStart) {
            while !atLineEnd { i += 1 }
        }
        if !atLineEnd {
            throw error("unexpected \(show(peek())) after \(what)")
        }
        if !atEnd { advance() }
        _ = try seekContent()
    }

    // MARK: - Stream and document

    mutating func parseStream() throws(ConfigError) -> YAMLNode {
        var sawDirective = false
        var explicitStart = false
        // Directives and the document start marker.
        while try seekContent() {
            if indent == 0 && peek() == "%" {
                let l = line
                var text = ""
                while !atLineEnd { text.unicodeScalars.append(s[i]); i += 1 }
                let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if parts.count >= 2 && parts[0] == "%YAML" && (parts[1] == "1.1" || parts[1] == "1.2") {
                    sawDirective = true
                    if !atEnd { advance() }
                    continue
                }
                throw error("directive `\(parts.first ?? "")` is not supported", code: .unsupported, line: l, column: 1)
            }
            break
        }
        if sawDirective && !(atDocumentMarker() && peek() == "-") {
            throw error("a directive must be followed by `---`")
        }
        let startLine = line
        let startColumn = column
        if atDocumentMarker() && peek() == "-" {
            explicitStart = true
            i += 3
        }
        var root: YAMLNode
        if !explicitStart && atDocumentMarker() && peek() == "." {
            // `...` before any content: an empty document.
            root = try made(.scalar("", line: startLine, column: startColumn))
        } else if atEnd {
            root = try made(.scalar("", line: startLine, column: startColumn))
        } else if explicitStart {
            root = try parseBlockNode(parentIndent: -1, context: .document, atLineStart: false,
                                      indicatorLine: startLine, indicatorColumn: startColumn)
        } else {
            root = try parseBlockNode(parentIndent: -1, context: .document, atLineStart: true,
                                      indicatorLine: startLine, indicatorColumn: startColumn)
        }
        // After the root: end of input, or `...`, or `---` (a second document: unsupported).
        if !atEnd {
            if atDocumentMarker() && peek() == "." {
                i += 3
                try finishLine(after: "`...`")
                if !atEnd {
                    throw error("content after the end of the document (`...`); only one document is supported",
                                code: .unsupported)
                }
            } else if atDocumentMarker() {
                throw error("a second document (`---`) is not supported; a configuration file holds one document",
                            code: .unsupported)
            } else {
                throw error("unexpected \(show(peek())): wrong indentation?")
            }
        }
        return root
    }

    // MARK: - Block nodes

    /// Parses the node that follows an indicator (`key:`, `- `, document start). On return the
    /// position is at the first character of the next content line, or at the end of the input.
    private mutating func parseBlockNode(parentIndent: Int, context: BlockContext, atLineStart: Bool,
                                         indicatorLine: Int, indicatorColumn: Int) throws(ConfigError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        var sameLine = !atLineStart
        var anchor: String?
        var anchorLine = 0

        // Moves to the next line when the node does not start on this one; false: the node is empty.
        func startsBelow(_ p: inout YAMLParser) throws(ConfigError) -> Bool {
            guard try p.seekContent() else { return false }
            if p.atDocumentMarker() { return false }
            if p.indent > parentIndent { return true }
            // `key:` followed by a sequence at the key's own indentation.
            return context == .mappingValue && p.indent == parentIndent && p.peek() == "-" && p.isBlank(p.peek(1))
        }

        if sameLine {
            skipWhite()
            if atLineEnd || peek() == "#" {
                if peek() == "#" && isWhite(i > 0 ? s[i - 1] : nil) == false && i > lineStart {
                    throw error("a comment needs a space before `#`")
                }
                while !atLineEnd { i += 1 }
                if !atEnd { advance() }
                if try !startsBelow(&self) {
                    return try made(.scalar("", line: indicatorLine, column: indicatorColumn))
                }
                sameLine = false
            }
        }

        if peek() == "&" {
            let (l, c) = (line, column)
            anchor = try readAnchorName()
            anchorLine = line
            if anchor!.isEmpty { throw error("an anchor needs a name", line: l, column: c) }
            let hadWhite = isWhite(peek())
            skipWhite()
            if atLineEnd || (peek() == "#" && hadWhite) {
                while !atLineEnd { i += 1 }
                if !atEnd { advance() }
                if try !startsBelow(&self) {
                    let node = try made(.scalar("", line: l, column: c))
                    anchors[anchor!] = node
                    return node
                }
                sameLine = false
            } else if !hadWhite {
                throw error("unexpected \(show(peek())) after the anchor name")
            }
        }

        let nodeIndent = indent
        let nodeLine = line
        let nodeColumn = column
        let c = peek()
        var node: YAMLNode

        switch c {
        case "!":
            throw error("tags (`!`) are not supported; write the value without a tag", code: .unsupported)
        case "*":
            if anchor != nil { throw error("an alias cannot have an anchor") }
            node = try readAlias()
            let afterAlias = i
            skipWhite()
            if peek() == ":" && isBlank(peek(1)) {
                throw error("aliases as mapping keys are not supported", code: .unsupported,
                            line: nodeLine, column: nodeColumn)
            }
            i = afterAlias
            try finishLine(after: "the alias")
        case "-" where isBlank(peek(1)):
            if sameLine && (context == .mappingValue || context == .document) {
                throw error("a block sequence cannot start on the same line as its key; start it on the next line")
            }
            node = try parseBlockSequence(indent: nodeIndent)
        case "[", "{":
            node = try parseFlowCollection(blockIndent: parentIndent)
            let afterFlow = i
            skipWhite()
            if peek() == ":" {
                throw error("collections as mapping keys are not supported", code: .unsupported,
                            line: nodeLine, column: nodeColumn)
            }
            i = afterFlow
            try finishLine(after: "the flow collection")
        case "|", ">":
            node = try parseBlockScalar(parentIndent: parentIndent)
        case "?" where isBlank(peek(1)):
            throw error("complex mapping keys (`? `) are not supported", code: .unsupported)
        case ":" where isBlank(peek(1)):
            throw error("a mapping entry needs a key before `:`")
        case "%", "@", "`":
            throw error("\(show(c)) is reserved in YAML and cannot start a plain value; quote the value")
        case "}", "]", ",":
            throw error("unexpected \(show(c)); quote the value if it is text")
        case "#":
            throw error("a comment needs a space before `#`")
        default:
            let quoted = c == "\"" || c == "'"
            let text: String
            let style: YAMLScalar.Style
            let firstLine = line
            if c == "\"" {
                text = try readDoubleQuoted()
                style = .doubleQuoted
            } else if c == "'" {
                text = try readSingleQuoted()
                style = .singleQuoted
            } else {
                text = readPlainLine(flow: false)
                style = .plain
            }
            let afterScalar = i
            skipWhite()
            if peek() == ":" && isBlank(peek(1)) {
                // A mapping key.
                if sameLine && (context == .mappingValue || context == .document) {
                    throw error("a mapping cannot start on the same line as its key (`a: b: c`); quote the value if it contains `: `")
                }
                if line != firstLine {
                    throw error("a mapping key must fit on one line", line: nodeLine, column: nodeColumn)
                }
                if anchor != nil && anchorLine == nodeLine {
                    throw error("anchors on mapping keys are not supported; put the anchor after the `:`",
                                code: .unsupported, line: nodeLine, column: nodeColumn)
                }
                let key = try made(.scalar(text, style: style, line: nodeLine, column: nodeColumn))
                node = try parseBlockMapping(indent: nodeIndent, firstKey: key)
            } else if quoted {
                i = afterScalar
                node = try made(.scalar(text, style: style, line: nodeLine, column: nodeColumn))
                try finishLine(after: "the quoted value")
            } else {
                i = afterScalar
                let full = try continuePlain(text, parentIndent: parentIndent)
                node = try made(.scalar(full, style: .plain, line: nodeLine, column: nodeColumn))
            }
        }
        if let anchor { anchors[anchor] = node }
        return node
    }

    private mutating func parseBlockMapping(indent m: Int, firstKey: YAMLNode) throws(ConfigError) -> YAMLNode {
        var pairs: [YAMLPair] = []
        var seen = SeenKeys()
        var key = firstKey
        while true {
            // At the `:` after the key.
            let colonLine = line
            let colonColumn = column
            i += 1
            let value = try parseBlockNode(parentIndent: m, context: .mappingValue, atLineStart: false,
                                           indicatorLine: colonLine, indicatorColumn: colonColumn)
            try addPair(&pairs, &seen, key: key, value: value)
            if atEnd || atDocumentMarker() || indent < m { break }
            if indent > m {
                throw error("unexpected indentation: this line is indented more than the keys above it")
            }
            // The next key at the same indentation.
            let (kl, kc) = (line, column)
            let c = peek()
            let text: String
            let style: YAMLScalar.Style
            switch c {
            case "\"":
                text = try readDoubleQuoted()
                style = .doubleQuoted
            case "'":
                text = try readSingleQuoted()
                style = .singleQuoted
            case "?" where isBlank(peek(1)):
                throw error("complex mapping keys (`? `) are not supported", code: .unsupported)
            case "-" where isBlank(peek(1)):
                throw error("a list item where a `key: value` entry was expected")
            case "!":
                throw error("tags (`!`) are not supported; write the key without a tag", code: .unsupported)
            case "&":
                throw error("anchors on mapping keys are not supported", code: .unsupported)
            case "*":
                throw error("aliases as mapping keys are not supported", code: .unsupported)
            case "[", "{":
                throw error("collections as mapping keys are not supported", code: .unsupported)
            case "|", ">", "%", "@", "`", ",", "]", "}", ":":
                throw error("unexpected \(show(c)) where a key was expected")
            default:
                text = readPlainLine(flow: false)
                style = .plain
            }
            skipWhite()
            guard peek() == ":" && isBlank(peek(1)) else {
                if line != kl { throw error("a mapping key must fit on one line", line: kl, column: kc) }
                throw error("expected `:` after `\(text)` (every line here must be `key: value`)")
            }
            if line != kl { throw error("a mapping key must fit on one line", line: kl, column: kc) }
            key = try made(.scalar(text, style: style, line: kl, column: kc))
        }
        return try made(YAMLNode(.mapping(try applyMerges(pairs)), line: firstKey.line, column: firstKey.column))
    }

    private mutating func parseBlockSequence(indent n: Int) throws(ConfigError) -> YAMLNode {
        let (startLine, startColumn) = (line, column)
        var items: [YAMLNode] = []
        while true {
            // At the `-`.
            let (dl, dc) = (line, column)
            i += 1
            let item = try parseBlockNode(parentIndent: n, context: .sequenceEntry, atLineStart: false,
                                          indicatorLine: dl, indicatorColumn: dc)
            items.append(item)
            if atEnd || atDocumentMarker() || indent < n { break }
            if indent > n {
                throw error("unexpected indentation: this line is indented more than the list items above it")
            }
            guard peek() == "-" && isBlank(peek(1)) else { break }
        }
        return try made(YAMLNode(.sequence(items), line: startLine, column: startColumn))
    }

    /// Keys seen in one mapping, for duplicate detection in constant time per key.
    struct SeenKeys {
        private struct Key: Hashable {
            var text: String
            var merge: Bool
        }
        private var lines: [Key: Int] = [:]

        mutating func insert(_ text: String, merge: Bool, line: Int) -> Int? {
            let key = Key(text: text, merge: merge)
            if let first = lines[key] { return first }
            lines[key] = line
            return nil
        }
    }

    private mutating func addPair(_ pairs: inout [YAMLPair], _ seen: inout SeenKeys, key: YAMLNode,
                                  value: YAMLNode) throws(ConfigError) {
        let text = key.scalar?.text ?? ""
        if let first = seen.insert(text, merge: isMergeKey(key), line: key.line) {
            throw ConfigError(code: .duplicateKey, file: file, line: key.line, column: key.column,
                              message: "duplicate key `\(text)` (first at line \(first))")
        }
        pairs.append(YAMLPair(key: key, value: value))
    }

    private func isMergeKey(_ key: YAMLNode) -> Bool {
        key.scalar == YAMLScalar(text: "<<", style: .plain)
    }

    /// `<<: *base` (or `<<: [*a, *b]`) copies the entries of the named mappings that this mapping does
    /// not set itself, at the place of the `<<`; with several, the first mapping that has a key wins.
    private mutating func applyMerges(_ pairs: [YAMLPair]) throws(ConfigError) -> [YAMLPair] {
        guard pairs.contains(where: { isMergeKey($0.key) }) else { return pairs }
        var taken = Set(pairs.filter { !isMergeKey($0.key) }.map(\.keyText))
        var out: [YAMLPair] = []
        for pair in pairs {
            guard isMergeKey(pair.key) else {
                out.append(pair)
                continue
            }
            let sources: [YAMLNode]
            switch pair.value.content {
            case .mapping: sources = [pair.value]
            case .sequence(let items) where items.allSatisfy({ $0.mapping != nil }): sources = items
            default:
                throw ConfigError(code: .syntax, file: file, line: pair.value.line, column: pair.value.column,
                                  message: "a merge key `<<` needs a mapping or a list of mappings")
            }
            for source in sources {
                for p in source.mapping ?? [] where !taken.contains(p.keyText) {
                    taken.insert(p.keyText)
                    out.append(p)
                }
            }
        }
        return out
    }

    // MARK: - Scalars

    /// An anchor or alias name. YAML 1.2 allows almost any character; like libyaml (go-yaml) only
    /// letters, digits, `_` and `-` are accepted, so that `&` or `*` typed by mistake is an error.
    private mutating func readAnchorName() throws(ConfigError) -> String {
        let (l, c0) = (line, column)
        i += 1  // & or *
        var name = ""
        while let c = peek(), !isBlank(c), !isFlowIndicator(c) {
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
            if !ok {
                throw error("anchor and alias names may contain only letters, digits, `_` and `-`; quote the value if the `&` or `*` is part of it",
                            line: l, column: c0)
            }
            name.unicodeScalars.append(c)
            i += 1
        }
        return name
    }

    private mutating func readAlias() throws(ConfigError) -> YAMLNode {
        let (l, c) = (line, column)
        let name = try readAnchorName()
        guard !name.isEmpty else { throw error("an alias needs a name", line: l, column: c) }
        guard var node = anchors[name] else {
            throw error("unknown alias `*\(name)`: no anchor `&\(name)` before it", line: l, column: c)
        }
        nodes += node.weight
        if nodes > YAML.maxNodes {
            throw error("aliases expand to more than \(YAML.maxNodes) nodes", code: .limit, line: l, column: c)
        }
        if depth + node.height > YAML.maxDepth {
            throw error("the alias makes the document deeper than \(YAML.maxDepth) levels", code: .limit, line: l, column: c)
        }
        node.line = l
        node.column = c
        return node
    }

    /// A plain scalar up to the end of the line, a `: `, or a ` #` (and, in flow context, a flow indicator).
    private mutating func readPlainLine(flow: Bool) -> String {
        var text = ""
        var pendingWhite = ""
        while let c = peek(), c != "\n" {
            if c == ":" {
                let next = peek(1)
                if isBlank(next) || (flow && isFlowIndicator(next)) { break }
            }
            if flow && isFlowIndicator(c) { break }
            if isWhite(c) {
                if peek(1) == "#" { break }
                pendingWhite.unicodeScalars.append(c)
                i += 1
                continue
            }
            text += pendingWhite
            pendingWhite = ""
            text.unicodeScalars.append(c)
            i += 1
        }
        // Trailing white stays unread: callers skip it.
        i -= pendingWhite.unicodeScalars.count
        return text
    }

    /// Continues a plain scalar over the following more-indented lines, folding line breaks.
    private mutating func continuePlain(_ first: String, parentIndent: Int) throws(ConfigError) -> String {
        var text = first
        while true {
            let hadWhite = isWhite(peek())
            skipWhite()
            if peek() == "#" && hadWhite {
                while !atLineEnd { i += 1 }
                if !atEnd { advance() }
                _ = try seekContent()
                return text
            }
            guard atLineEnd else {
                throw error("unexpected \(show(peek())) in a plain value; quote the value")
            }
            if atEnd { return text }
            advance()
            // Look ahead: count empty lines, then see whether the next content line continues the value.
            var k = i
            var breaks = 1
            var contentAt = -1
            var contentStart = i
            while k < s.count {
                let start = k
                while k < s.count && s[k] == " " { k += 1 }
                var w = k
                while w < s.count && isWhite(s[w]) { w += 1 }
                if w >= s.count { break }
                if s[w] == "\n" { breaks += 1; k = w + 1; continue }
                contentAt = k
                contentStart = start
                break
            }
            if contentAt < 0 {
                // Only empty lines remain.
                _ = try seekContent()
                return text
            }
            let lineIndent = contentAt - contentStart
            let c = s[contentAt]
            let marker = lineIndent == 0 && contentAt + 2 < s.count
                && ((s[contentAt] == "-" && s[contentAt + 1] == "-" && s[contentAt + 2] == "-")
                    || (s[contentAt] == "." && s[contentAt + 1] == "." && s[contentAt + 2] == "."))
                && (contentAt + 3 >= s.count || isBlank(s[contentAt + 3]))
            if lineIndent <= parentIndent || c == "#" || c == "\t" || marker {
                _ = try seekContent()
                return text
            }
            // Continue: move to that line.
            while i < contentAt { advance() }
            let (cl, cc) = (line, column)
            text += breaks == 1 ? " " : String(repeating: "\n", count: breaks - 1)
            let more = readPlainLine(flow: false)
            text += more
            let afterLine = i
            skipWhite()
            let keyLike = peek() == ":" && isBlank(peek(1))
            i = afterLine
            if keyLike {
                throw error("`key: value` inside a multi-line value: is this line indented too far, or should the value be quoted?",
                            line: cl, column: cc)
            }
        }
    }

    private mutating func readDoubleQuoted() throws(ConfigError) -> String {
        let (l, c) = (line, column)
        i += 1
        var out = ""
        var pendingWhite = ""
        while true {
            guard let ch = peek() else {
                throw error("unterminated double-quoted string", line: l, column: c)
            }
            switch ch {
            case "\"":
                i += 1
                out += pendingWhite
                return out
            case "\\":
                out += pendingWhite
                pendingWhite = ""
                let (el, ec) = (line, column)
                i += 1
                guard let e = peek() else { throw error("unterminated double-quoted string", line: l, column: c) }
                if e == "\n" {
                    // Escaped line break: joins the lines without a space.
                    advance()
                    skipWhite()
                    continue
                }
                i += 1
                switch e {
                case "0": out += "\u{0}"
                case "a": out += "\u{7}"
                case "b": out += "\u{8}"
                case "t", "\t": out += "\t"
                case "n": out += "\n"
                case "v": out += "\u{B}"
                case "f": out += "\u{C}"
                case "r": out += "\r"
                case "e": out += "\u{1B}"
                case " ": out += " "
                case "\"": out += "\""
                case "/": out += "/"
                case "\\": out += "\\"
                case "N": out += "\u{85}"
                case "_": out += "\u{A0}"
                case "L": out += "\u{2028}"
                case "P": out += "\u{2029}"
                case "x", "u", "U":
                    let n = e == "x" ? 2 : e == "u" ? 4 : 8
                    var v: UInt32 = 0
                    for _ in 0..<n {
                        guard let h = peek(), let d = hexValue(h) else {
                            throw error("escape `\\\(Character(e))` needs \(n) hexadecimal digits", line: el, column: ec)
                        }
                        v = v << 4 | d
                        i += 1
                    }
                    guard let scalar = Unicode.Scalar(v) else {
                        throw error("escape `\\\(Character(e))` names no Unicode character", line: el, column: ec)
                    }
                    out.unicodeScalars.append(scalar)
                default:
                    throw error("unknown escape `\\\(Character(e))` in a double-quoted string", line: el, column: ec)
                }
            case "\n":
                try foldQuotedBreak(&out, &pendingWhite)
            case " ", "\t":
                pendingWhite.unicodeScalars.append(ch)
                i += 1
            default:
                out += pendingWhite
                pendingWhite = ""
                out.unicodeScalars.append(ch)
                i += 1
            }
        }
    }

    private mutating func readSingleQuoted() throws(ConfigError) -> String {
        let (l, c) = (line, column)
        i += 1
        var out = ""
        var pendingWhite = ""
        while true {
            guard let ch = peek() else {
                throw error("unterminated single-quoted string", line: l, column: c)
            }
            switch ch {
            case "'":
                if peek(1) == "'" {
                    out += pendingWhite
                    pendingWhite = ""
                    out += "'"
                    i += 2
                } else {
                    i += 1
                    out += pendingWhite
                    return out
                }
            case "\n":
                try foldQuotedBreak(&out, &pendingWhite)
            case " ", "\t":
                pendingWhite.unicodeScalars.append(ch)
                i += 1
            default:
                out += pendingWhite
                pendingWhite = ""
                out.unicodeScalars.append(ch)
                i += 1
            }
        }
    }

    /// A line break inside a quoted scalar: trailing and leading white goes, one break is a space,
    /// each further (empty) line a newline.
    private mutating func foldQuotedBreak(_ out: inout String, _ pendingWhite: inout String) throws(ConfigError) {
        pendingWhite = ""
        var breaks = 0
        while peek() == "\n" {
            advance()
            breaks += 1
            skipWhite()
            if atDocumentMarker() { throw error("a document marker inside a quoted string") }
        }
        out += breaks == 1 ? " " : String(repeating: "\n", count: breaks - 1)
    }

    private func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": c.value - 48
        case "a"..."f": c.value - 87
        case "A"..."F": c.value - 55
        default: nil
        }
    }

    private mutating func parseBlockScalar(parentIndent: Int) throws(ConfigError) -> YAMLNode {
        let (nl, nc) = (line, column)
        let literal = peek() == "|"
        i += 1
        enum Chomp { case clip, strip, keep }
        var chomp = Chomp.clip
        var explicitIndent = 0
        for _ in 0..<2 {
            if let c = peek(), c == "-" || c == "+" {
                if chomp != .clip { throw error("two chomping indicators in a block scalar header") }
                chomp = c == "-" ? .strip : .keep
                i += 1
            } else if let c = peek(), c >= "1" && c <= "9" {
                if explicitIndent != 0 { throw error("two indentation indicators in a block scalar header") }
                explicitIndent = Int(c.value - 48)
                i += 1
            }
        }
        let hadWhite = isWhite(peek())
        skipWhite()
        if peek() == "#" && hadWhite { while !atLineEnd { i += 1 } }
        guard atLineEnd else {
            throw error("unexpected \(show(peek())) after the block scalar indicator; the text starts on the next line")
        }
        if !atEnd { advance() }

        // Find the content indentation. Like libyaml (and so go-yaml), content is indented at least
        // one space, also at the top level.
        let minIndent = max(parentIndent + 1, 1)
        var contentIndent: Int
        if explicitIndent > 0 {
            contentIndent = max(parentIndent, 0) + explicitIndent
        } else {
            // The first non-empty line sets it; lines of spaces before it count as empty.
            var maxBlank = 0
            var found: Int?
            var k = i
            while k < s.count {
                var w = k
                while w < s.count && s[w] == " " { w += 1 }
                if w >= s.count || s[w] == "\n" {
                    maxBlank = max(maxBlank, w - k)
                    k = w + 1
                    continue
                }
                found = w - k
                break
            }
            contentIndent = max(found ?? 0, maxBlank, minIndent)
        }

        var result = ""
        var emptyLines = 0
        var didReadContent = false
        var atMoreIndented = false
        var endsWithoutBreak = false
        while i < s.count {
            // Indentation of this line.
            var w = i
            while w < s.count && s[w] == " " && w - i < contentIndent { w += 1 }
            let spaces = w - i
            if w >= s.count || s[w] == "\n" {
                // An empty line (maybe with fewer spaces).
                i = w
                if atEnd { break }
                emptyLines += 1
                advance()
                continue
            }
            if spaces < contentIndent {
                // Check for an all-blank line with tabs, or the end of the scalar.
                var t = w
                while t < s.count && isWhite(s[t]) { t += 1 }
                if t < s.count && s[t] == "\n" {
                    i = t
                    emptyLines += 1
                    advance()
                    continue
                }
                break
            }
            if contentIndent == 0 {
                if atDocumentMarker() { break }
            }
            i = w
            let moreIndented = isWhite(peek())
            if literal {
                result += String(repeating: "\n", count: didReadContent ? emptyLines + 1 : emptyLines)
            } else if moreIndented {
                atMoreIndented = true
                result += String(repeating: "\n", count: didReadContent ? emptyLines + 1 : emptyLines)
            } else if atMoreIndented {
                atMoreIndented = false
                result += String(repeating: "\n", count: emptyLines + 1)
            } else if emptyLines == 0 {
                if didReadContent { result += " " }
            } else {
                result += String(repeating: "\n", count: emptyLines)
            }
            didReadContent = true
            emptyLines = 0
            while !atLineEnd {
                result.unicodeScalars.append(s[i])
                i += 1
            }
            if !atEnd {
                advance()
            } else {
                endsWithoutBreak = true
                break
            }
        }
        // The last line break belongs to the content unless stripped; there is none at the end of
        // input without one.
        let finalBreak = didReadContent && !endsWithoutBreak ? 1 : 0
        switch chomp {
        case .strip: break
        case .clip: result += String(repeating: "\n", count: finalBreak)
        case .keep: result += String(repeating: "\n", count: emptyLines + finalBreak)
        }
        // Position at the start of the line that ended the scalar.
        if i > lineStart && i < s.count { i = lineStart }
        _ = try seekContent()
        return try made(.scalar(result, style: literal ? .literal : .folded, line: nl, column: nc))
    }

    // MARK: - Flow collections

    /// Skips spaces, line breaks and comments inside a flow collection. Continuation lines must be
    /// indented more than the block the collection sits in.
    private mutating func skipFlowWhite(blockIndent: Int, opener: (Int, Int)) throws(ConfigError) {
        while let c = peek() {
            if isWhite(c) {
                i += 1
            } else if c == "\n" {
                advance()
                // Indentation of the next line (blank lines are fine).
                var k = i
                while k < s.count && s[k] == " " { k += 1 }
                if k < s.count && s[k] != "\n" && s[k] != "#" && s[k] != "]" && s[k] != "}"
                    && k - i <= blockIndent && !isWhite(s[k]) {
                    throw error("unterminated flow collection (opened at line \(opener.0), column \(opener.1))",
                                line: opener.0, column: opener.1)
                }
                if atDocumentMarker() {
                    throw error("unterminated flow collection (opened at line \(opener.0), column \(opener.1))",
                                line: opener.0, column: opener.1)
                }
            } else if c == "#" && (i == lineStart || isWhite(s[i - 1]) || s[i - 1] == "\n") {
                while !atLineEnd { i += 1 }
            } else {
                return
            }
        }
    }

    private mutating func parseFlowCollection(blockIndent: Int) throws(ConfigError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        let opener = (line, column)
        let isSequence = peek() == "["
        let close: Unicode.Scalar = isSequence ? "]" : "}"
        i += 1
        var items: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        var seen = SeenKeys()
        while true {
            try skipFlowWhite(blockIndent: blockIndent, opener: opener)
            guard let c = peek() else {
                throw error("unterminated flow collection (opened at line \(opener.0), column \(opener.1))",
                            line: opener.0, column: opener.1)
            }
            if c == close {
                i += 1
                break
            }
            if c == "," {
                throw error("an empty entry (`,` with nothing before it) in a flow collection")
            }
            if isSequence {
                let item = try parseFlowNode(blockIndent: blockIndent, opener: opener)
                try skipFlowWhite(blockIndent: blockIndent, opener: opener)
                if peek() == ":" {
                    throw error("`key: value` entries inside `[ ]` are not supported; use `{ }`", code: .unsupported)
                }
                items.append(item)
            } else {
                let key = try parseFlowNode(blockIndent: blockIndent, opener: opener)
                guard key.scalar != nil else {
                    throw ConfigError(code: .unsupported, file: file, line: key.line, column: key.column,
                                      message: "collections as mapping keys are not supported")
                }
                try skipFlowWhite(blockIndent: blockIndent, opener: opener)
                var value: YAMLNode
                if peek() == ":" {
                    let (vl, vc) = (line, column)
                    i += 1
                    try skipFlowWhite(blockIndent: blockIndent, opener: opener)
                    if peek() == "," || peek() == close {
                        value = try made(.scalar("", line: vl, column: vc))
                    } else {
                        value = try parseFlowNode(blockIndent: blockIndent, opener: opener)
                    }
                } else {
                    value = try made(.scalar("", line: key.line, column: key.column))
                }
                try addPair(&pairs, &seen, key: key, value: value)
            }
            try skipFlowWhite(blockIndent: blockIndent, opener: opener)
            if peek() == "," {
                i += 1
            } else if atEnd {
                throw error("unterminated flow collection (opened at line \(opener.0), column \(opener.1))",
                            line: opener.0, column: opener.1)
            } else if peek() != close {
                throw error("expected `,` or `\(Character(close))` in a flow collection, found \(show(peek()))")
            }
        }
        if isSequence {
            return try made(YAMLNode(.sequence(items), line: opener.0, column: opener.1))
        }
        return try made(YAMLNode(.mapping(try applyMerges(pairs)), line: opener.0, column: opener.1))
    }

    private mutating func parseFlowNode(blockIndent: Int, opener: (Int, Int)) throws(ConfigError) -> YAMLNode {
        var anchor: String?
        if peek() == "&" {
            let (l, c) = (line, column)
            anchor = try readAnchorName()
            if anchor!.isEmpty { throw error("an anchor needs a name", line: l, column: c) }
            try skipFlowWhite(blockIndent: blockIndent, opener: opener)
        }
        let (l, col) = (line, column)
        let c = peek()
        var node: YAMLNode
        switch c {
        case "[", "{":
            node = try parseFlowCollection(blockIndent: blockIndent)
        case "\"":
            node = try made(.scalar(try readDoubleQuoted(), style: .doubleQuoted, line: l, column: col))
        case "'":
            node = try made(.scalar(try readSingleQuoted(), style: .singleQuoted, line: l, column: col))
        case "*":
            if anchor != nil { throw error("an alias cannot have an anchor") }
            node = try readAlias()
        case "!":
            throw error("tags (`!`) are not supported; write the value without a tag", code: .unsupported)
        case "|", ">":
            throw error("block scalars (`|`, `>`) cannot appear inside `[ ]` or `{ }`")
        case "-" where isBlank(peek(1)):
            throw error("block list items (`- `) cannot appear inside `[ ]` or `{ }`")
        case "?" where isBlank(peek(1)):
            throw error("complex mapping keys (`? `) are not supported", code: .unsupported)
        case "%", "@", "`", "#":
            throw error("\(show(c)) cannot start a plain value; quote the value")
        case nil:
            throw error("unterminated flow collection (opened at line \(opener.0), column \(opener.1))",
                        line: opener.0, column: opener.1)
        case ":" where isBlank(peek(1)) || isFlowIndicator(peek(1)):
            // `{: v}`: an empty key.
            node = try made(.scalar("", line: l, column: col))
        default:
            let text = readPlainLine(flow: true)
            if text.isEmpty {
                throw error("unexpected \(show(peek())) in a flow collection")
            }
            node = try made(.scalar(text, style: .plain, line: l, column: col))
        }
        if let anchor { anchors[anchor] = node }
        return node
    }
}
