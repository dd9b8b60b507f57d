/// The one error type of PipeAuth.
///
/// Its text names what failed and never contains a password, secret key, token, salted password,
/// proof or signature.
public struct AuthError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case malformedServerMessage, serverError, nonceMismatch, serverSignatureMismatch
            case unsupportedExtension, invalidState, cryptoFailure, invalidParameter
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A SCRAM server message does not follow RFC 5802's grammar.
        public static let malformedServerMessage = Code(.malformedServerMessage)
        /// The server reported an error (`e=` in SCRAM's server-final-message).
        public static let serverError = Code(.serverError)
        /// The server's nonce does not extend the client's nonce.
        public static let nonceMismatch = Code(.nonceMismatch)
        /// The server's signature does not prove it knows the password: wrong password or an impostor.
        public static let serverSignatureMismatch = Code(.serverSignatureMismatch)
        /// The server asked for a mandatory SCRAM extension (`m=`) we do not support.
        public static let unsupportedExtension = Code(.unsupportedExtension)
        /// A method was called in a state where it makes no sense (e.g. server-final before server-first).
        public static let invalidState = Code(.invalidState)
        /// libcrypto failed.
        public static let cryptoFailure = Code(.cryptoFailure)
        /// A parameter is out of range (e.g. an absurd SCRAM iteration count).
        public static let invalidParameter = Code(.invalidParameter)

        public var description: String {
            switch value {
            case .malformedServerMessage: "malformed server message"
            case .serverError: "server error"
            case .nonceMismatch: "nonce mismatch"
            case .serverSignatureMismatch: "server signature mismatch"
            case .unsupportedExtension: "unsupported extension"
            case .invalidState: "invalid state"
            case .cryptoFailure: "crypto failure"
            case .invalidParameter: "invalid parameter"
            }
        }
    }

    public var code: Code
    /// What was being done ("SCRAM-SHA-256 server-first-message"), and detail safe to log.
    public var context: String
    /// The underlying error, when there is one.
    public var cause: (any Error)?

    public init(_ code: Code, _ context: String, cause: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.cause = cause
    }

    public var description: String { "\(code): \(context)" }
}
