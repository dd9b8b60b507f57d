/// Errors of the runtime layer (addresses, stop timeouts, services).
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable { case invalidAddress, timedOut, failed }
        private let value: Value
        private init(_ v: Value) { value = v }
        public static let invalidAddress = Code(.invalidAddress)
        public static let timedOut = Code(.timedOut)
        public static let failed = Code(.failed)
        public var description: String {
            switch value {
            case .invalidAddress: "invalid address"
            case .timedOut: "timed out"
            case .failed: "failed"
            }
        }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message): \(cause)" }
        return message
    }
}
