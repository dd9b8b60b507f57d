/// The one error type of KafkaWire: a malformed or unsupported frame, record batch or field.
///
/// `code` says what kind of failure it is; `context` says where (which message, field or
/// offset) and never holds payload bytes, passwords or tokens.
public struct KafkaWireError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case truncated, invalidLength, nullNotAllowed, unsupportedVersion, unsupportedField
            case valueTooLong, malformedVarInt, crcMismatch, invalidRecordBatch, unsupportedMagic
            case unsupportedCompression, compressionFailed, unknownAPI
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The bytes end before the value that was being read.
        public static let truncated = Code(.truncated)
        /// A length or count is negative (other than the null marker) or larger than the bytes there.
        public static let invalidLength = Code(.invalidLength)
        /// A null where the field's version does not allow one (read or written).
        public static let nullNotAllowed = Code(.nullNotAllowed)
        /// A version outside what the message defines.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A non-default value in a field the chosen version cannot carry.
        public static let unsupportedField = Code(.unsupportedField)
        /// A string, bytes or array too long for its length prefix.
        public static let valueTooLong = Code(.valueTooLong)
        /// A varint longer than its type allows.
        public static let malformedVarInt = Code(.malformedVarInt)
        /// A record batch or message whose checksum does not match its bytes.
        public static let crcMismatch = Code(.crcMismatch)
        /// A record batch, record or legacy message whose layout is inconsistent.
        public static let invalidRecordBatch = Code(.invalidRecordBatch)
        /// A record batch magic byte other than 0, 1 or 2.
        public static let unsupportedMagic = Code(.unsupportedMagic)
        /// A compression codec this build cannot handle (yet).
        public static let unsupportedCompression = Code(.unsupportedCompression)
        /// Compressed data that does not inflate, or output over the allowed size.
        public static let compressionFailed = Code(.compressionFailed)
        /// An api key this module has no codec for.
        public static let unknownAPI = Code(.unknownAPI)

        public var description: String {
            switch base {
            case .truncated: "truncated"
            case .invalidLength: "invalid length"
            case .nullNotAllowed: "null not allowed"
            case .unsupportedVersion: "unsupported version"
            case .unsupportedField: "field not supported at this version"
            case .valueTooLong: "value too long"
            case .malformedVarInt: "malformed varint"
            case .crcMismatch: "CRC mismatch"
            case .invalidRecordBatch: "invalid record batch"
            case .unsupportedMagic: "unsupported magic"
            case .unsupportedCompression: "unsupported compression"
            case .compressionFailed: "compression failed"
            case .unknownAPI: "unknown api"
            }
        }
    }

    public var code: Code
    /// Where it happened: a message and field name, an offset. Never payload bytes or secrets.
    public var context: String
    /// The underlying failure, when there is one (a zlib error, say).
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ context: String = "", cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.context = context
        self.cause = cause
    }

    public var description: String {
        context.isEmpty ? "KafkaWireError(\(code))" : "KafkaWireError(\(code)): \(context)"
    }
}
