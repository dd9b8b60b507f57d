// The one error type of the Avro module: a schema that cannot be used, or a datum that does not
// match its schema. Messages say where: the field path inside the value and the byte offset.

/// Why an Avro schema could not be parsed or a datum could not be decoded.
public struct AvroError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidSchema, truncated, malformed, limitExceeded, trailingBytes
        }
        private let value: Value
        private init(_ v: Value) { value = v }
        /// The schema JSON is not a valid Avro schema.
        public static let invalidSchema = Code(.invalidSchema)
        /// The datum ends before the schema says it should (or a length runs past the end).
        public static let truncated = Code(.truncated)
        /// The bytes break the encoding: over-long varint, bad union/enum index, invalid UTF-8, ...
        public static let malformed = Code(.malformed)
        /// The datum is nested deeper or holds more values than `AvroDecoder.Limits` allow.
        public static let limitExceeded = Code(.limitExceeded)
        /// Bytes are left after the datum.
        public static let trailingBytes = Code(.trailingBytes)
        public var description: String {
            switch value {
            case .invalidSchema: "invalid schema"
            case .truncated: "truncated datum"
            case .malformed: "malformed datum"
            case .limitExceeded: "limit exceeded"
            case .trailingBytes: "trailing bytes"
            }
        }
    }

    public var code: Code
    /// What went wrong and where, in words.
    public var message: String
    /// Byte offset in the datum where the problem was found; nil for schema errors.
    public var offset: Int?
    /// Where in the value (`order.lines[2].price`, `tags["k"]`) or in the schema (field names);
    /// empty at the top level.
    public var path: String

    public init(code: Code, message: String, offset: Int? = nil, path: String = "") {
        self.code = code
        self.message = message
        self.offset = offset
        self.path = path
    }

    public var description: String { "Avro: \(message)" }
}

/// The error thrown inside the module; the path is collected while unwinding (no cost when
/// decoding succeeds) and turned into an `AvroError` at the public entry points.
struct AvroFailure: Error {
    var code: AvroError.Code
    var reason: String
    var offset: Int?
    /// Innermost component first: a field name, or "[3]" / "[\"key\"]".
    var reversedPath: [String] = []

    static func schema(_ reason: String) -> AvroFailure {
        AvroFailure(code: .invalidSchema, reason: reason, offset: nil)
    }

    func within(_ component: String) -> AvroFailure {
        var copy = self
        copy.reversedPath.append(component)
        return copy
    }

    var path: String {
        var text = ""
        for component in reversedPath.reversed() {
            if !text.isEmpty && !component.hasPrefix("[") { text += "." }
            text += component
        }
        return text
    }

    var error: AvroError {
        let path = self.path
        var message = code == .invalidSchema ? "schema: \(reason)" : reason
        if let offset { message += " at byte \(offset)" }
        if !path.isEmpty { message += code == .invalidSchema ? " (field \(path))" : " (in \(path))" }
        return AvroError(code: code, message: message, offset: offset, path: path)
    }
}
