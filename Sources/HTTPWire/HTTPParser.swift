public import NIOCore

/// Bounds on what a parser accepts from its peer.
public struct HTTPParserLimits: Sendable {
    /// Longest start line, header line or chunk-size line, in bytes (without CRLF).
    public var maxLineLength: Int
    /// Most header fields in one message (trailers included).
    public var maxHeaderCount: Int
    /// Largest header section, in bytes.
    public var maxHeaderBytes: Int
    /// Largest body, in bytes.
    public var maxBodySize: Int

    public init(maxLineLength: Int = 8192, maxHeaderCount: Int = 100, maxHeaderBytes: Int = 64 * 1024,
                maxBodySize: Int = 1 << 20) {
        self.maxLineLength = maxLineLength
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodySize = maxBodySize
    }
}

/// One step of a request read incrementally.
public enum HTTPRequestPart: Sendable, Equatable {
    case head(HTTPRequestHead)
    case body(ByteBuffer)
    case end
}

/// One step of a response read incrementally.
public enum HTTPResponsePart: Sendable, Equatable {
    case head(HTTPResponseHead)
    case body(ByteBuffer)
    case end
}

/// Reads HTTP/1.1 requests (RFC 9112) from bytes as they arrive. Pipelined requests are read one
/// after the other from the same buffer; bytes of the next request stay in the buffer.
public struct HTTPRequestParser: Sendable {
    private var core: HTTPMessageParser
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        core = HTTPMessageParser(kind: .request, limits: limits)
    }

    /// The next part from `buffer` (consuming what it reads), or nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(HTTPError) -> HTTPRequestPart? {
        switch try core.next(&buffer) {
        case nil: return nil
        case .requestHead(let h): return .head(h)
        case .responseHead: preconditionFailure("request parser read a status line")
        case .body(let b): return .body(b)
        case .end: return .end
        }
    }

    /// The next whole request from `buffer`, or nil when more bytes are needed.
    public mutating func parse(_ buffer: inout ByteBuffer) throws(HTTPError) -> HTTPRequest? {
        while let part = try next(&buffer) {
            switch part {
            case .head(let h):
                head = h
                body = []
            case .body(var b):
                body.append(contentsOf: b.readBytes(length: b.readableBytes) ?? [])
            case .end:
                guard let h = head else { return nil }
                head = nil
                defer { body = [] }
                return HTTPRequest(head: h, body: body)
            }
        }
        return nil
    }

    /// Call when the peer closed: throws when a request was cut off.
    public mutating func finish() throws(HTTPError) {
        _ = try core.finish()
    }
}

/// Reads HTTP/1.1 responses: Content-Length, chunked and read-until-close bodies.
public struct HTTPResponseParser: Sendable {
    private var core: HTTPMessageParser
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    public init(limits: HTTPParserLimits = HTTPParserLimits(maxBodySize: Int.max)) {
        core = HTTPMessageParser(kind: .response, limits: limits)
    }

    /// Say this before reading the response to a HEAD request: it has no body whatever its headers say.
    public mutating func expectNoBody() { core.nextResponseHasNoBody = true }

    public mutating func next(_ buffer: inout ByteBuffer) throws(HTTPError) -> HTTPResponsePart? {
        switch try core.next(&buffer) {
        case nil: return nil
        case .responseHead(let h): return .head(h)
        case .requestHead: preconditionFailure("response parser read a request line")
        case .body(let b): return .body(b)
        case .end: return .end
        }
    }

    /// The next whole response, or nil when more bytes are needed.
    public mutating func parse(_ buffer: inout ByteBuffer) throws(HTTPError) -> HTTPResponse? {
        while let part = try next(&buffer) {
            if let r = try collect(part) { return r }
        }
        return nil
    }

    /// Call when the peer closed: completes a read-until-close body (returning the response when
    /// using `parse`), throws when a message was cut off.
    public mutating func finish() throws(HTTPError) -> HTTPResponse? {
        guard let part = try core.finish() else { return nil }
        switch part {
        case .end: return try collect(.end)
        default: return nil
        }
    }

    /// The part that `finish` produced for users of `next`: `.end` or nil.
    public mutating func finishPart() throws(HTTPError) -> HTTPResponsePart? {
        guard case .end = try core.finish() else { return nil }
        return .end
    }

    private mutating func collect(_ part: HTTPResponsePart) throws(HTTPError) -> HTTPResponse? {
        switch part {
        case .head(let h):
            head = h
            body = []
        case .body(var b):
            body.append(contentsOf: b.readBytes(length: b.readableBytes) ?? [])
        case .end:
            guard let h = head else { return nil }
            head = nil
            defer { body = [] }
            return HTTPResponse(head: h, body: body)
        }
        return nil
    }
}

/// The state machine shared by both parsers. Each `next` call consumes at most one part.
struct HTTPMessageParser: Sendable {
    enum Kind: Sendable { case request, response }

    enum Event: Sendable {
        case requestHead(HTTPRequestHead)
        case responseHead(HTTPResponseHead)
        case body(ByteBuffer)
        case end
    }

    private enum State: Sendable {
        case startLine
        case headers
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case endPending
    }

    let kind: Kind
    let limits: HTTPParserLimits
    var nextResponseHasNoBody = false
    private var state: State = .startLine
    private var requestLine: (method: String, target: String, version: HTTPVersion)?
    private var statusLine: (version: HTTPVersion, status: Int, reason: String)?
    private var headers = HTTPHeaders()
    private var headerBytes = 0
    private var bodyBytes = 0
    /// Bytes consumed since the start of this parser, for error positions.
    private var offset = 0

    init(kind: Kind, limits: HTTPParserLimits) {
        self.kind = kind
        self.limits = limits
    }

    private func fail(_ code: HTTPError.Code, _ what: String = "") -> HTTPError {
        HTTPError(code, what.isEmpty ? "byte \(offset)" : "\(what), byte \(offset)")
    }

    /// Takes one line (without its CRLF or LF) from `buffer`, or nil when none is complete.
    private mutating func readLine(_ buffer: inout ByteBuffer) throws(HTTPError) -> [UInt8]? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: 0x0A) else {
            if view.count > limits.maxLineLength + 1 { throw fail(.lineTooLong) }
            return nil
        }
        var length = lf - view.startIndex
        let hasCR = length > 0 && view[lf - 1] == 0x0D
        if hasCR { length -= 1 }
        if length > limits.maxLineLength { throw fail(.lineTooLong) }
        let line = Array(view[view.startIndex..<(view.startIndex + length)])
        let consumed = lf - view.startIndex + 1
        buffer.moveReaderIndex(forwardBy: consumed)
        offset &+= consumed
        if line.contains(0x0D) { throw fail(.malformedStartLine, "bare CR") }
        return line
    }

    mutating func next(_ buffer: inout ByteBuffer) throws(HTTPError) -> Event? {
        while true {
            switch state {
            case .startLine:
                guard let line = try readLine(&buffer) else { return nil }
                if line.isEmpty && kind == .request { continue }   // RFC 9112 §2.2: ignore a leading empty line
                try parseStartLine(line)
                headers = HTTPHeaders()
                headerBytes = 0
                state = .headers
            case .headers:
                guard let line = try readLine(&buffer) else {
                    if headerBytes + buffer.readableBytes > limits.maxHeaderBytes { throw fail(.headersTooLarge) }
                    return nil
                }
                if !line.isEmpty {
                    try addHeader(line)
                    continue
                }
                return try headEnded()
            case .fixedBody(let remaining):
                if remaining == 0 {
                    state = .startLine
                    return .end
                }
                guard buffer.readableBytes > 0 else { return nil }
                let n = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: n)!
                offset &+= n
                state = .fixedBody(remaining: remaining - n)
                return .body(slice)
            case .chunkSize:
                guard let line = try readLine(&buffer) else { return nil }
                let size = try parseChunkSize(line)
                if size == 0 {
                    state = .trailers
                    continue
                }
                guard size <= limits.maxBodySize - bodyBytes else { throw fail(.bodyTooLarge) }
                bodyBytes += size
                state = .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let n = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: n)!
                offset &+= n
                state = n == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - n)
                return .body(slice)
            case .chunkDataEnd:
                guard let line = try readLine(&buffer) else { return nil }
                guard line.isEmpty else { throw fail(.malformedChunk, "data longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let line = try readLine(&buffer) else { return nil }
                if line.isEmpty {
                    state = .startLine
                    return .end
                }
                // Trailer fields are checked like headers and counted against the same limits, then dropped.
                var saved = headers
                try addHeader(line)
                swap(&saved, &headers)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                let n = buffer.readableBytes
                guard n <= limits.maxBodySize - bodyBytes else { throw fail(.bodyTooLarge) }
                bodyBytes += n
                offset &+= n
                return .body(buffer.readSlice(length: n)!)
            case .endPending:
                state = .startLine
                return .end
            }
        }
    }

    /// The peer closed the connection.
    mutating func finish() throws(HTTPError) -> Event? {
        switch state {
        case .startLine: return nil
        case .untilClose:
            state = .startLine
            return .end
        default:
            throw fail(.unexpectedEnd)
        }
    }

    // MARK: - Start lines

    private static func isTChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    private func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPError) -> HTTPVersion {
        let b = Array(bytes)
        guard b.count == 8, b[0..<5].elementsEqual("HTTP/".utf8), b[6] == UInt8(ascii: "."),
              b[5] >= 0x30 && b[5] <= 0x39, b[7] >= 0x30 && b[7] <= 0x39 else {
            throw fail(.malformedStartLine, "version")
        }
        guard b[5] == UInt8(ascii: "1") else { throw fail(.unsupportedVersion) }
        return HTTPVersion(major: 1, minor: Int(b[7] - 0x30))
    }

    private mutating func parseStartLine(_ line: [UInt8]) throws(HTTPError) {
        switch kind {
        case .request:
            // method SP request-target SP HTTP-version
            let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(Self.isTChar),
                  !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw fail(.malformedStartLine)
            }
            let version = try parseVersion(parts[2])
            requestLine = (String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self), version)
        case .response:
            // HTTP-version SP status-code SP [ reason-phrase ]
            guard line.count >= 12, line[8] == UInt8(ascii: " ") else { throw fail(.malformedStartLine) }
            let version = try parseVersion(line[0..<8])
            let code = line[9..<12]
            guard code.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw fail(.malformedStartLine, "status") }
            let status = code.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard status >= 100 else { throw fail(.malformedStartLine, "status") }
            var reason = ""
            if line.count > 12 {
                guard line[12] == UInt8(ascii: " ") else { throw fail(.malformedStartLine) }
                let r = line[13...]
                guard r.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                    throw fail(.malformedStartLine, "reason")
                }
                reason = String(decoding: r, as: UTF8.self)
            }
            statusLine = (version, status, reason)
        }
    }

    // MARK: - Headers and framing

    private mutating func addHeader(_ line: [UInt8]) throws(HTTPError) {
        headerBytes += line.count + 2
        guard headerBytes <= limits.maxHeaderBytes else { throw fail(.headersTooLarge) }
        guard headers.count < limits.maxHeaderCount else { throw fail(.tooManyHeaders) }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
              line[..<colon].allSatisfy(Self.isTChar) else {
            // also rejects obsolete line folding (a line starting with SP or HTAB)
            throw fail(.malformedHeader)
        }
        var start = colon + 1
        var end = line.count
        while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
        while end > start, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
        let value = line[start..<end]
        guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw fail(.malformedHeader, String(decoding: line[..<colon], as: UTF8.self))
        }
        headers.add(String(decoding: line[..<colon], as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    private func contentLength() throws(HTTPError) -> Int? {
        let values = headers.values("Content-Length")
        guard !values.isEmpty else { return nil }
        var result: Int?
        for field in values {
            for item in field.split(separator: ",", omittingEmptySubsequences: false) {
                let text = String(item).trimmingHTTPSpace()
                guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let n = Int(text) else { throw fail(.invalidContentLength) }
                if let r = result, r != n { throw fail(.invalidContentLength, "differing values") }
                result = n
            }
        }
        return result
    }

    /// Transfer-Encoding must be exactly `chunked` (we implement no other coding).
    private func isChunked() throws(HTTPError) -> Bool {
        let values = headers.values("Transfer-Encoding")
        guard !values.isEmpty else { return false }
        let codings = values.flatMap { $0.split(separator: ",") }.map { String($0).trimmingHTTPSpace() }
        guard codings.count == 1, HTTPHeaders.same(codings[0], "chunked") else {
            throw fail(.unsupportedTransferEncoding)
        }
        return true
    }

    private mutating func headEnded() throws(HTTPError) -> Event {
        bodyBytes = 0
        let chunked = try isChunked()
        let length = try contentLength()
        if chunked && length != nil {
            // RFC 9112 §6.3: both present is a smuggling attempt or a broken intermediary.
            throw fail(.invalidContentLength, "with Transfer-Encoding")
        }
        switch kind {
        case .request:
            let (method, target, version) = requestLine!
            if chunked {
                state = .chunkSize
            } else if let length {
                guard length <= limits.maxBodySize else { throw fail(.bodyTooLarge) }
                state = .fixedBody(remaining: length)
            } else {
                state = .endPending
            }
            return .requestHead(HTTPRequestHead(method: method, target: target, version: version, headers: headers))
        case .response:
            let (version, status, reason) = statusLine!
            let noBody = nextResponseHasNoBody || status < 200 || status == 204 || status == 304
            if status >= 200 { nextResponseHasNoBody = false }
            if noBody {
                state = .endPending
            } else if chunked {
                state = .chunkSize
            } else if let length {
                guard length <= limits.maxBodySize else { throw fail(.bodyTooLarge) }
                state = .fixedBody(remaining: length)
            } else {
                state = .untilClose
            }
            return .responseHead(HTTPResponseHead(status: status, reason: reason, version: version, headers: headers))
        }
    }

    /// chunk-size [ chunk-ext ]: hexadecimal, at most 15 digits so it fits an Int.
    private func parseChunkSize(_ line: [UInt8]) throws(HTTPError) -> Int {
        var size = 0
        var digits = 0
        for b in line {
            let v: Int
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(b - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = Int(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = Int(b - UInt8(ascii: "A") + 10)
            case UInt8(ascii: ";"), UInt8(ascii: " "), 0x09:
                guard digits > 0 else { throw fail(.malformedChunk) }
                return size
            default: throw fail(.malformedChunk)
            }
            digits += 1
            guard digits <= 15 else { throw fail(.malformedChunk, "size too long") }
            size = size << 4 | v
        }
        guard digits > 0 else { throw fail(.malformedChunk) }
        return size
    }
}
