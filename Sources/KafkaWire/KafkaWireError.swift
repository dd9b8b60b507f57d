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
            case connectionFailed, timedOut, brokerError, offsetOutOfRange, protocolViolation
            case metadataUnavailable, closed, invalidArgument
            case saslAuthenticationFailed, tlsFailed
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

        /// A connection to a broker could not be made, or broke with requests outstanding.
        public static let connectionFailed = Code(.connectionFailed)
        /// A request, a connection attempt or a delivery did not finish within its timeout.
        public static let timedOut = Code(.timedOut)
        /// A broker answered with an error code (see `brokerErrorCode`).
        public static let brokerError = Code(.brokerError)
        /// A fetch offset outside the partition's log (`brokerErrorCode` is OFFSET_OUT_OF_RANGE).
        public static let offsetOutOfRange = Code(.offsetOutOfRange)
        /// A peer broke the protocol: an unexpected correlation id, a missing partition in a response.
        public static let protocolViolation = Code(.protocolViolation)
        /// No broker, leader or partition count is known for a topic or partition.
        public static let metadataUnavailable = Code(.metadataUnavailable)
        /// The client, producer or connection was closed.
        public static let closed = Code(.closed)
        /// A caller passed something unusable (a partition out of range, an empty bootstrap list).
        public static let invalidArgument = Code(.invalidArgument)
        /// SASL authentication was refused or could not run (the context names the mechanism,
        /// the broker and the broker's message; never the password or token).
        public static let saslAuthenticationFailed = Code(.saslAuthenticationFailed)
        /// The TLS handshake with a broker failed (bad certificate, name mismatch, no TLS there).
        public static let tlsFailed = Code(.tlsFailed)

        public var description: String {
            switch base {
            case .connectionFailed: "connection failed"
            case .timedOut: "timed out"
            case .brokerError: "broker error"
            case .offsetOutOfRange: "offset out of range"
            case .protocolViolation: "protocol violation"
            case .metadataUnavailable: "metadata unavailable"
            case .closed: "closed"
            case .invalidArgument: "invalid argument"
            case .saslAuthenticationFailed: "SASL authentication failed"
            case .tlsFailed: "TLS handshake failed"
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
    /// The broker's error code, for `brokerError` and `offsetOutOfRange`.
    public var brokerErrorCode: KafkaErrorCode?

    public init(_ code: Code, _ context: String = "", cause: (any Error & Sendable)? = nil,
                brokerErrorCode: KafkaErrorCode? = nil) {
        self.code = code
        self.context = context
        self.cause = cause
        self.brokerErrorCode = brokerErrorCode
    }

    /// A broker error code as an error, `offsetOutOfRange` for OFFSET_OUT_OF_RANGE.
    public static func broker(_ errorCode: KafkaErrorCode, _ context: String) -> KafkaWireError {
        KafkaWireError(errorCode == .offsetOutOfRange ? .offsetOutOfRange : .brokerError,
                       "\(errorCode): \(context)", brokerErrorCode: errorCode)
    }

    /// Whether retrying (after a metadata refresh) may succeed: a retriable broker error, a
    /// broken connection, a timeout.
    public var isRetriable: Bool {
        if let brokerErrorCode { return brokerErrorCode.isRetriable }
        return code == .connectionFailed || code == .timedOut || code == .metadataUnavailable
    }

    public var description: String {
        context.isEmpty ? "KafkaWireError(\(code))" : "KafkaWireError(\(code)): \(context)"
    }
}
