/// The one public error type of PgWire.
///
/// Server errors carry the fields of the ErrorResponse (SQLSTATE, message, detail, position, hint);
/// descriptions never include a password or any other secret of the configuration.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case server, protocolViolation, malformedMessage, connectionClosed, connectFailed
            case authenticationUnsupported, tlsUnavailable, tlsRequired, invalidConfiguration
            case connectionBusy, unexpectedMessage, invalidLSN, timeout, replication
        }
        let base: Base
        /// An ErrorResponse from the server (see `sqlState`).
        public static let server = Code(base: .server)
        /// The server sent something the protocol does not allow at this point.
        public static let protocolViolation = Code(base: .protocolViolation)
        /// A message whose lengths or contents do not add up.
        public static let malformedMessage = Code(base: .malformedMessage)
        public static let connectionClosed = Code(base: .connectionClosed)
        public static let connectFailed = Code(base: .connectFailed)
        public static let authenticationUnsupported = Code(base: .authenticationUnsupported)
        public static let tlsUnavailable = Code(base: .tlsUnavailable)
        /// `sslmode` asks for TLS and the server refused it.
        public static let tlsRequired = Code(base: .tlsRequired)
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// Another operation is running on this connection.
        public static let connectionBusy = Code(base: .connectionBusy)
        public static let unexpectedMessage = Code(base: .unexpectedMessage)
        public static let invalidLSN = Code(base: .invalidLSN)
        public static let timeout = Code(base: .timeout)
        public static let replication = Code(base: .replication)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// Free text about what went wrong (never a secret).
    public var context: String
    /// Fields of an ErrorResponse, keyed by their one-letter field type ('S', 'C', 'M', 'D', 'P', 'H', ...).
    public var serverFields: [UInt8: String]
    public var cause: (any Error)?

    public init(code: Code, context: String, serverFields: [UInt8: String] = [:], cause: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.serverFields = serverFields
        self.cause = cause
    }

    /// Five-character SQLSTATE of a server error (`28P01` for a wrong password).
    public var sqlState: String? { serverFields[UInt8(ascii: "C")] }
    public var severity: String? { serverFields[UInt8(ascii: "V")] ?? serverFields[UInt8(ascii: "S")] }
    public var message: String? { serverFields[UInt8(ascii: "M")] }
    public var detail: String? { serverFields[UInt8(ascii: "D")] }
    public var hint: String? { serverFields[UInt8(ascii: "H")] }
    /// 1-based character position in the query text, when the server reported one.
    public var position: Int? { serverFields[UInt8(ascii: "P")].flatMap { Int($0) } }

    /// Same code and server fields (for comparing state-machine actions in tests).
    func sameKind(as other: PostgresError) -> Bool {
        code == other.code && serverFields == other.serverFields
    }

    static func server(_ fields: [UInt8: String], context: String = "") -> PostgresError {
        PostgresError(code: .server, context: context, serverFields: fields)
    }
    static func malformed(_ what: String) -> PostgresError {
        PostgresError(code: .malformedMessage, context: what)
    }
    static func unexpected(_ what: String) -> PostgresError {
        PostgresError(code: .unexpectedMessage, context: what)
    }

    public var description: String {
        var s = "PostgresError.\(code)"
        if !context.isEmpty { s += ": \(context)" }
        if code == .server {
            s += ": \(severity ?? "ERROR") \(sqlState ?? "?????") \(message ?? "")"
            if let detail { s += " (detail: \(detail))" }
            if let position { s += " (position: \(position))" }
            if let hint { s += " (hint: \(hint))" }
        }
        if let cause { s += " (cause: \(cause))" }
        return s
    }
}
