/// The one error type of PipeTLS: what failed in the handshake or on the connection, with the
/// text of OpenSSL's error queue. Holds no key material.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case unknownCA, nameMismatch, expired, certificateInvalid, handshakeFailure, alert
            case ioError, configuration, closed, handshakeTimeout
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The server's chain does not lead to a trusted CA (or is self-signed).
        public static let unknownCA = Code(.unknownCA)
        /// The certificate is valid but not for the name (or IP) we connected to.
        public static let nameMismatch = Code(.nameMismatch)
        /// A certificate in the chain has expired or is not yet valid.
        public static let expired = Code(.expired)
        /// Another certificate verification failure (revoked, bad signature, wrong purpose...).
        public static let certificateInvalid = Code(.certificateInvalid)
        /// The handshake failed locally (no shared version or cipher, malformed message...).
        public static let handshakeFailure = Code(.handshakeFailure)
        /// The peer sent a fatal alert; `alertDescription` says which.
        public static let alert = Code(.alert)
        /// The connection closed or failed under TLS (e.g. during the handshake).
        public static let ioError = Code(.ioError)
        /// The CA file, certificate or key could not be loaded, or the settings contradict.
        public static let configuration = Code(.configuration)
        /// The handshake did not finish in time (a silent or non-TLS peer).
        public static let handshakeTimeout = Code(.handshakeTimeout)
        /// A write after the TLS session was closed.
        public static let closed = Code(.closed)

        public var description: String {
            switch value {
            case .unknownCA: "unknown CA"
            case .nameMismatch: "name mismatch"
            case .expired: "certificate expired"
            case .certificateInvalid: "certificate invalid"
            case .handshakeFailure: "handshake failure"
            case .alert: "alert received"
            case .ioError: "I/O error"
            case .configuration: "configuration"
            case .closed: "closed"
            case .handshakeTimeout: "handshake timeout"
            }
        }
    }

    public var code: Code
    /// What happened, e.g. "certificate verify failed for kafka-1:9093: unable to get local issuer certificate".
    public var context: String
    /// For `.alert`: the alert's description as OpenSSL names it ("certificate required").
    public var alertDescription: String?
    /// The entries of OpenSSL's error queue at the time of the failure.
    public var openSSLErrors: [String]
    /// The underlying error (e.g. the channel's) when TLS failed because of it.
    public var cause: (any Error)?

    public init(_ code: Code, _ context: String, alertDescription: String? = nil, openSSLErrors: [String] = [],
                cause: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.alertDescription = alertDescription
        self.openSSLErrors = openSSLErrors
        self.cause = cause
    }

    public var description: String {
        var text = "TLS \(code): \(context)"
        if let alertDescription { text += " (alert: \(alertDescription))" }
        if !openSSLErrors.isEmpty { text += " [" + openSSLErrors.joined(separator: "; ") + "]" }
        return text
    }
}
