/// Every failure of this module: a YAML syntax error, an unsupported YAML construct, or a configuration
/// that does not fit its class. The description is `FILE:LINE:COLUMN: message`; messages never contain
/// the value of a secret key.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is. New codes can be added without breaking users.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case io, encoding, syntax, unsupported, limit
            case unknownKey, missingKey, wrongType, invalidValue, duplicateKey, environment
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The file could not be read.
        public static let io = Code(.io)
        /// The bytes are not UTF-8, or contain characters YAML forbids.
        public static let encoding = Code(.encoding)
        /// The text is not valid YAML.
        public static let syntax = Code(.syntax)
        /// Valid YAML that this reader does not support (tags, complex keys, several documents...).
        public static let unsupported = Code(.unsupported)
        /// The document is too deep, too large, or expands too much through aliases.
        public static let limit = Code(.limit)
        /// A key that the class does not read (often a typo; the message suggests the nearest key).
        public static let unknownKey = Code(.unknownKey)
        /// A required key is absent.
        public static let missingKey = Code(.missingKey)
        /// A value of the wrong kind (a list where a string belongs...).
        public static let wrongType = Code(.wrongType)
        /// A value of the right kind that is not acceptable (a bad duration, port, regular expression...).
        public static let invalidValue = Code(.invalidValue)
        /// The same key twice in one mapping.
        public static let duplicateKey = Code(.duplicateKey)
        /// `${VAR}` names a variable that is not set, or is malformed.
        public static let environment = Code(.environment)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The file name as given to the loader.
    public var file: String
    /// 1-based line; 0 when the error is about the whole file (it cannot be read).
    public var line: Int
    /// 1-based column, counted in Unicode scalars.
    public var column: Int
    /// The full key path (`kafka:sasl:user`) the error is about, when there is one.
    public var key: String?
    /// What is wrong, with a suggestion where one exists.
    public var message: String

    public init(code: Code, file: String, line: Int, column: Int, key: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}
