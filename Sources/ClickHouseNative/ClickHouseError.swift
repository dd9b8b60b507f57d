/// The one public error of the ClickHouseNative module. A server exception carries the
/// server's code, name, message and stack; client-side failures carry a `Code`. Messages never
/// contain the password.
public struct ClickHouseError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: String, Sendable {
            case truncated, malformed, checksumMismatch, tooLarge, unsupportedType, unsupportedCompression
            case server, connection, protocolViolation, invalidArgument, closed
        }
        let value: Value
        init(_ v: Value) { value = v }
        /// The bytes ended inside a packet, block or column.
        public static let truncated = Code(.truncated)
        /// Bytes that cannot be a valid packet, block or value.
        public static let malformed = Code(.malformed)
        /// A compressed block's CityHash128 checksum did not match.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// A declared size or count exceeds the configured bound.
        public static let tooLarge = Code(.tooLarge)
        /// A column type this client does not encode or decode.
        public static let unsupportedType = Code(.unsupportedType)
        /// A compressed block with a method we do not know.
        public static let unsupportedCompression = Code(.unsupportedCompression)
        /// The server sent an Exception packet (see `serverException`).
        public static let server = Code(.server)
        /// The network connection failed.
        public static let connection = Code(.connection)
        /// The server sent a packet that is not allowed at this point.
        public static let protocolViolation = Code(.protocolViolation)
        /// The caller passed something invalid (e.g. columns of different lengths).
        public static let invalidArgument = Code(.invalidArgument)
        /// The connection is closed.
        public static let closed = Code(.closed)
        public var description: String { value.rawValue }
    }

    /// One server exception (ClickHouse sends a chain: `nested` is the cause).
    public struct ServerException: Sendable, Equatable {
        public var code: Int32
        public var name: String
        public var message: String
        public var stackTrace: String
        public var nested: [ServerException]
    }

    public var code: Code
    public var context: String
    public var serverException: ServerException?
    public var cause: (any Error)?
    /// For `.truncated` from a packet decoder: the buffer must hold at least this many bytes
    /// before decoding can get further (lets the reader wait instead of re-parsing every chunk).
    var neededBytes: Int?

    init(_ code: Code, _ context: String, cause: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.cause = cause
    }

    init(server: ServerException) {
        self.code = .server
        self.context = "server exception"
        self.serverException = server
    }

    public var description: String {
        if let e = serverException {
            return "ClickHouse server exception \(e.code) (\(e.name)): \(e.message)"
        }
        var s = "ClickHouseError.\(code): \(context)"
        if let cause { s += " (cause: \(cause))" }
        return s
    }
}
