public import NIOCore

/// Why an HTTP message could not be read or exchanged. Descriptions never include header values
/// (they may carry credentials).
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case malformedStartLine, unsupportedVersion, malformedHeader, lineTooLong, tooManyHeaders,
                 headersTooLarge, invalidContentLength, unsupportedTransferEncoding, malformedChunk,
                 bodyTooLarge, unexpectedEnd, connection
        }
        private let value: Value
        private init(_ v: Value) { value = v }
        public static let malformedStartLine = Code(.malformedStartLine)
        public static let unsupportedVersion = Code(.unsupportedVersion)
        public static let malformedHeader = Code(.malformedHeader)
        public static let lineTooLong = Code(.lineTooLong)
        public static let tooManyHeaders = Code(.tooManyHeaders)
        public static let headersTooLarge = Code(.headersTooLarge)
        public static let invalidContentLength = Code(.invalidContentLength)
        public static let unsupportedTransferEncoding = Code(.unsupportedTransferEncoding)
        public static let malformedChunk = Code(.malformedChunk)
        public static let bodyTooLarge = Code(.bodyTooLarge)
        /// The connection ended inside a message.
        public static let unexpectedEnd = Code(.unexpectedEnd)
        /// Binding, accepting or writing failed.
        public static let connection = Code(.connection)

        public var description: String {
            switch value {
            case .malformedStartLine: "malformed start line"
            case .unsupportedVersion: "unsupported HTTP version"
            case .malformedHeader: "malformed header field"
            case .lineTooLong: "line too long"
            case .tooManyHeaders: "too many header fields"
            case .headersTooLarge: "header section too large"
            case .invalidContentLength: "invalid Content-Length"
            case .unsupportedTransferEncoding: "unsupported Transfer-Encoding"
            case .malformedChunk: "malformed chunk"
            case .bodyTooLarge: "body too large"
            case .unexpectedEnd: "connection closed inside a message"
            case .connection: "connection error"
            }
        }
    }

    public var code: Code
    /// Where: a byte offset, a header name, an address.
    public var context: String
    public var cause: (any Error)?

    public init(_ code: Code, _ context: String = "", cause: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.cause = cause
    }

    public var description: String {
        var s = "HTTP: \(code)"
        if !context.isEmpty { s += " (\(context))" }
        if let cause { s += ": \(cause)" }
        return s
    }
}

/// `HTTP/major.minor`; only 1.0 and 1.1 are read.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// Header fields in arrival order; names compare case-insensitively.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, Equatable {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count && zip(lhs.fields, rhs.fields).allSatisfy { $0 == $1 }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    public var count: Int { fields.count }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        fields.first { Self.same($0.name, name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { Self.same($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { fields.contains { Self.same($0.name, name) } }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Replaces every value of `name` with one.
    public mutating func replace(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    public mutating func remove(_ name: String) { fields.removeAll { Self.same($0.name, name) } }

    static func same(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { lowerASCII($0) == lowerASCII($1) }
    }

    /// True when a comma-separated header (Connection, Transfer-Encoding) lists `token`.
    func hasToken(_ name: String, _ token: String) -> Bool {
        values(name).contains { v in
            v.split(separator: ",").contains { Self.same(String($0).trimmingHTTPSpace(), token) }
        }
    }
}

@inline(__always) func lowerASCII(_ b: UInt8) -> UInt8 {
    b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
}

extension String {
    func trimmingHTTPSpace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

/// A request line and its header fields.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    /// The request target as sent (`/metrics?x=1`).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:]) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// The target's path, without the query.
    public var path: String {
        if let q = target.firstIndex(of: "?") { return String(target[..<q]) }
        return target
    }

    /// The target's query (after `?`), or nil.
    public var query: String? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        return String(target[target.index(after: q)...])
    }

    /// Whether the connection stays open after this exchange (RFC 9112 §9.3).
    public var keepAlive: Bool {
        if headers.hasToken("Connection", "close") { return false }
        if version == .http1_0 { return headers.hasToken("Connection", "keep-alive") }
        return true
    }
}

/// A status line and its header fields.
public struct HTTPResponseHead: Sendable, Equatable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders

    public init(status: Int, reason: String? = nil, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:]) {
        self.version = version
        self.status = status
        self.reason = reason ?? HTTPResponse.reasonPhrase(status)
        self.headers = headers
    }

    /// Whether the connection stays open after this response.
    public var keepAlive: Bool {
        if headers.hasToken("Connection", "close") { return false }
        if version == .http1_0 { return headers.hasToken("Connection", "keep-alive") }
        return true
    }
}

/// A whole request.
public struct HTTPRequest: Sendable, Equatable {
    public var head: HTTPRequestHead
    public var body: [UInt8]

    public init(head: HTTPRequestHead, body: [UInt8] = []) {
        self.head = head
        self.body = body
    }

    public init(method: String, target: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.init(head: HTTPRequestHead(method: method, target: target, headers: headers), body: body)
    }

    public var method: String { head.method }
    public var target: String { head.target }
    public var path: String { head.path }
    public var headers: HTTPHeaders { head.headers }

    /// Writes the request; adds `Content-Length` when the body is not empty (or the method usually
    /// carries one) and neither framing header is present.
    public func serialize(into buffer: inout ByteBuffer) {
        buffer.writeString("\(head.method) \(head.target) \(head.version)\r\n")
        var headers = head.headers
        if !headers.contains("Content-Length") && !headers.contains("Transfer-Encoding")
            && (!body.isEmpty || head.method == "POST" || head.method == "PUT") {
            headers.add("Content-Length", String(body.count))
        }
        writeHeaders(headers, into: &buffer)
        buffer.writeBytes(body)
    }
}

/// A whole response.
public struct HTTPResponse: Sendable, Equatable {
    public var head: HTTPResponseHead
    public var body: [UInt8]

    public init(head: HTTPResponseHead, body: [UInt8] = []) {
        self.head = head
        self.body = body
    }

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.init(head: HTTPResponseHead(status: status, headers: headers), body: body)
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
    }

    public var status: Int { head.status }
    public var headers: HTTPHeaders { head.headers }

    /// Writes the response; adds `Content-Length` unless a framing header is present or the status
    /// has no body (1xx, 204, 304).
    public func serialize(into buffer: inout ByteBuffer) {
        buffer.writeString("\(head.version) \(head.status) \(head.reason)\r\n")
        var headers = head.headers
        let bodiless = head.status < 200 || head.status == 204 || head.status == 304
        if !bodiless && !headers.contains("Content-Length") && !headers.contains("Transfer-Encoding") {
            headers.add("Content-Length", String(body.count))
        }
        writeHeaders(headers, into: &buffer)
        if !bodiless { buffer.writeBytes(body) }
    }

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}

private func writeHeaders(_ headers: HTTPHeaders, into buffer: inout ByteBuffer) {
    for (name, value) in headers {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        // CR and LF in a value would split the message: drop them.
        if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
            buffer.writeBytes(value.utf8.filter { $0 != 0x0D && $0 != 0x0A })
        } else {
            buffer.writeString(value)
        }
        buffer.writeStaticString("\r\n")
    }
    buffer.writeStaticString("\r\n")
}
