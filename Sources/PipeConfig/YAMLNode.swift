/// One node of a YAML document with the place it starts at. Mappings keep their keys in file order.
public struct YAMLNode: Sendable, CustomStringConvertible {
    public enum Content: Sendable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    public var content: Content
    /// 1-based line of the node's first character.
    public var line: Int
    /// 1-based column (Unicode scalars) of the node's first character.
    public var column: Int
    /// Nodes in this subtree, aliases counted as expanded: bounds the work of anything walking it.
    var weight: Int
    /// Levels in this subtree: bounds the recursion of anything walking it.
    var height: Int

    init(_ content: Content, line: Int, column: Int) {
        self.content = content
        self.line = line
        self.column = column
        switch content {
        case .scalar:
            weight = 1
            height = 1
        case .sequence(let items):
            weight = 1 + items.reduce(0) { $0 + $1.weight }
            height = 1 + (items.map(\.height).max() ?? 0)
        case .mapping(let pairs):
            weight = 1 + pairs.reduce(0) { $0 + $1.key.weight + $1.value.weight }
            height = 1 + (pairs.map { max($0.key.height, $0.value.height) }.max() ?? 0)
        }
    }

    /// A scalar node; `style` says how it was written.
    public static func scalar(_ text: String, style: YAMLScalar.Style = .plain, line: Int, column: Int) -> YAMLNode {
        YAMLNode(.scalar(YAMLScalar(text: text, style: style)), line: line, column: column)
    }

    /// The empty node (`key:` with nothing after it, `~`, `null`).
    public var isNull: Bool {
        if case .scalar(let s) = content { return s.isNull }
        return false
    }

    public var scalar: YAMLScalar? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    public var mapping: [YAMLPair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// The value under `key` in a mapping, nil when absent or when this is not a mapping.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar?.text == key }?.value
    }

    /// A short name of the node's kind for messages: "a string", "a list", "a mapping".
    public var kindName: String {
        switch content {
        case .scalar(let s): s.isNull ? "nothing" : "a single value"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    /// Flow-style rendering, for debugging and tests.
    public var description: String {
        switch content {
        case .scalar(let s): s.isNull ? "null" : YAMLWriter.quoted(s.text)
        case .sequence(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .mapping(let pairs): "{" + pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

/// A scalar's text exactly as the document means it (escapes decoded, lines folded), and its style.
public struct YAMLScalar: Sendable, Hashable {
    public enum Style: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    public var text: String
    public var style: Style

    public init(text: String, style: Style) {
        self.text = text
        self.style = style
    }

    /// A plain `~`, `null` (any of YAML's spellings) or nothing at all.
    public var isNull: Bool {
        style == .plain && (text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }
}

/// One `key: value` entry of a mapping. Keys are scalars.
public struct YAMLPair: Sendable {
    public var key: YAMLNode
    public var value: YAMLNode

    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }

    /// The key's text.
    public var keyText: String { key.scalar?.text ?? "" }
}
