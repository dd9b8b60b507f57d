/// Every failure of the S3 client: an S3 error response (with S3's code, message and request id),
/// a transport failure, or a malformed response. Never contains the secret key.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: Hashable, Sendable {
            case service, transport, malformedXML, malformedResponse, invalidArgument, shutdown
        }
        let value: Value
        init(_ value: Value) { self.value = value }
        /// S3 answered with an error status; see `s3Code`, `message`, `requestID`, `status`.
        public static let service = Code(.service)
        /// Connection, TLS or HTTP framing failure.
        public static let transport = Code(.transport)
        /// An XML body the reader refused.
        public static let malformedXML = Code(.malformedXML)
        /// A response that does not carry what the operation needs.
        public static let malformedResponse = Code(.malformedResponse)
        public static let invalidArgument = Code(.invalidArgument)
        public static let shutdown = Code(.shutdown)
        public var description: String {
            switch value {
            case .service: "service"
            case .transport: "transport"
            case .malformedXML: "malformed XML"
            case .malformedResponse: "malformed response"
            case .invalidArgument: "invalid argument"
            case .shutdown: "shut down"
            }
        }
    }

    public var code: Code
    /// S3's error code (`NoSuchKey`, `SignatureDoesNotMatch`, ...), or the HTTP status text when the
    /// response had no XML error body (HEAD requests).
    public var s3Code: String?
    public var message: String
    public var requestID: String?
    /// HTTP status, when S3 answered.
    public var status: Int?
    public var bucket: String?
    public var key: String?
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, s3Code: String? = nil, requestID: String? = nil, status: Int? = nil,
                bucket: String? = nil, key: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.s3Code = s3Code
        self.requestID = requestID
        self.status = status
        self.bucket = bucket
        self.key = key
        self.cause = cause
    }

    /// Whether a retry may succeed: 5xx, SlowDown, throttling and transport failures; never other 4xx.
    public var isRetryable: Bool {
        switch code.value {
        case .transport: return true
        case .service:
            if let s3Code, ["SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                            "InternalError", "ServiceUnavailable"].contains(s3Code) { return true }
            if let status { return status >= 500 }
            return false
        default: return false
        }
    }

    public var description: String {
        var s = "S3Error(\(code)"
        if let status { s += ", status \(status)" }
        if let s3Code { s += ", \(s3Code)" }
        s += "): \(message)"
        if let bucket { s += " [bucket \(bucket)" + (key.map { ", key \($0)" } ?? "") + "]" }
        if let requestID { s += " (request id \(requestID))" }
        if let cause { s += " caused by: \(cause)" }
        return s
    }
}
