import Testing
import NIOCore
import HTTPWire

private func buffer(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

private func parseAll(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) throws -> [HTTPRequest] {
    var parser = HTTPRequestParser(limits: limits)
    var buf = buffer(text)
    var out: [HTTPRequest] = []
    while let r = try parser.parse(&buf) { out.append(r) }
    return out
}

private func expectError(_ text: String, _ code: HTTPError.Code, limits: HTTPParserLimits = HTTPParserLimits(),
                         sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let r = try parseAll(text, limits: limits)
        Issue.record("parsed \(r.count) requests instead of failing with \(code)", sourceLocation: sourceLocation)
    } catch let error as HTTPError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct HTTPRequestParserTests {
    @Test func simpleGet() throws {
        let rs = try parseAll("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept:  text/plain \r\n\r\n")
        #expect(rs.count == 1)
        let r = try #require(rs.first)
        #expect(r.method == "GET")
        #expect(r.path == "/metrics")
        #expect(r.head.query == "x=1")
        #expect(r.headers["accept"] == "text/plain")
        #expect(r.headers["HOST"] == "a")
        #expect(r.head.keepAlive)
        #expect(r.body.isEmpty)
    }

    @Test func keepAliveRules() throws {
        let rs = try parseAll("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n")
        #expect(rs.map(\.head.keepAlive) == [false, true, false])
        #expect(rs[0].head.version == .http1_0)
    }

    static let pipelined =
        "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" +
        "PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n" +
        "GET /c HTTP/1.1\r\n\r\n"

    @Test func pipelinedRequests() throws {
        let rs = try parseAll(Self.pipelined)
        #expect(rs.map(\.path) == ["/a", "/b", "/c"])
        #expect(rs[0].body == Array("hello".utf8))
        #expect(rs[1].body == Array("abc0123456789".utf8))
        #expect(rs[2].body.isEmpty)
    }

    @Test func splitAtEveryByte() throws {
        let whole = try parseAll(Self.pipelined)
        let bytes = Array(Self.pipelined.utf8)
        // one byte at a time
        var parser = HTTPRequestParser()
        var buf = ByteBuffer()
        var got: [HTTPRequest] = []
        for b in bytes {
            buf.writeInteger(b)
            while let r = try parser.parse(&buf) { got.append(r) }
        }
        #expect(got == whole)
        // two pieces, split at every position
        for cut in 0...bytes.count {
            var parser = HTTPRequestParser()
            var buf = ByteBuffer(bytes: bytes[..<cut])
            var got: [HTTPRequest] = []
            while let r = try parser.parse(&buf) { got.append(r) }
            buf.writeBytes(bytes[cut...])
            while let r = try parser.parse(&buf) { got.append(r) }
            #expect(got == whole, "cut at \(cut)")
        }
    }

    @Test func incrementalParts() throws {
        var parser = HTTPRequestParser()
        var buf = buffer("POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nab")
        guard case .head(let h)? = try parser.next(&buf) else { Issue.record("no head"); return }
        #expect(h.method == "POST")
        #expect(try parser.next(&buf) == .body(buffer("ab")))
        #expect(try parser.next(&buf) == nil)
        buf.writeString("cd")
        #expect(try parser.next(&buf) == .body(buffer("cd")))
        #expect(try parser.next(&buf) == .end)
        #expect(try parser.next(&buf) == nil)
    }

    @Test func leadingEmptyLineAndBareLF() throws {
        let rs = try parseAll("\r\nGET /a HTTP/1.1\nHost: x\n\n")
        #expect(rs.first?.path == "/a")
        #expect(rs.first?.headers["host"] == "x")
    }

    @Test func cutOffRequestFailsOnFinish() throws {
        var parser = HTTPRequestParser()
        var buf = buffer("GET / HTTP/1.1\r\nHost")
        #expect(try parser.parse(&buf) == nil)
        #expect(throws: HTTPError.self) { try parser.finish() }
        var idle = HTTPRequestParser()
        try idle.finish()
    }

    @Test func malformedAreTypedErrors() {
        expectError("GET /\r\n\r\n", .malformedStartLine)
        expectError("GET  / HTTP/1.1\r\n\r\n", .malformedStartLine)
        expectError("G(T / HTTP/1.1\r\n\r\n", .malformedStartLine)
        expectError("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion)
        expectError("GET / HTTX/1.1\r\n\r\n", .malformedStartLine)
        expectError("GET / HTTP/1.1\r\nNo colon\r\n\r\n", .malformedHeader)
        expectError("GET / HTTP/1.1\r\nBad name: x\r\n\r\n", .malformedHeader)
        expectError("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", .malformedHeader)
        expectError("GET / HTTP/1.1\r\n: empty\r\n\r\n", .malformedHeader)
        expectError("GET / HTTP/1.1\r\nA: b\u{1}c\r\n\r\n", .malformedHeader)
        expectError("GET / HT\rTP/1.1\r\n\r\n", .malformedStartLine)
        expectError("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength)
        expectError("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", .invalidContentLength)
        expectError("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", .invalidContentLength)
        expectError("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", .invalidContentLength)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", .invalidContentLength)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .malformedChunk)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", .malformedChunk)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", .malformedChunk)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n", .malformedChunk)
    }

    @Test func limits() {
        let small = HTTPParserLimits(maxLineLength: 32, maxHeaderCount: 2, maxHeaderBytes: 50, maxBodySize: 4)
        expectError("GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\n\r\n", .lineTooLong, limits: small)
        expectError("GET /" + String(repeating: "a", count: 40), .lineTooLong, limits: small)
        expectError("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", .tooManyHeaders, limits: small)
        expectError("GET / HTTP/1.1\r\nA: 1234567890123456789012\r\nB: 1234567890123456789012\r\n\r\n",
                    .headersTooLarge, limits: small)
        expectError("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", .bodyTooLarge, limits: small)
        expectError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                    .bodyTooLarge, limits: small)
        #expect((try? parseAll("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nhell", limits: small))?.first?.body
                == Array("hell".utf8))
    }
}

@Suite struct HTTPResponseParserTests {
    @Test func contentLengthAndChunked() throws {
        var p = HTTPResponseParser()
        var buf = buffer("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: \"x\"\r\n\r\nabc" +
                         "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n" +
                         "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n" +
                         "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n")
        let a = try #require(try p.parse(&buf))
        #expect(a.status == 200 && a.head.reason == "OK" && a.body == Array("abc".utf8))
        #expect(a.headers["etag"] == "\"x\"")
        let b = try #require(try p.parse(&buf))
        #expect(b.status == 404 && b.body == Array("no".utf8))
        let c = try #require(try p.parse(&buf))
        #expect(c.status == 204 && c.body.isEmpty)
        let d = try #require(try p.parse(&buf))
        #expect(d.status == 500 && d.head.reason == "")
        #expect(buf.readableBytes == 0)
    }

    @Test func untilCloseBody() throws {
        var p = HTTPResponseParser()
        var buf = buffer("HTTP/1.0 200 OK\r\n\r\nsome")
        #expect(try p.parse(&buf) == nil)
        buf.writeString(" more")
        #expect(try p.parse(&buf) == nil)
        let r = try #require(try p.finish())
        #expect(r.body == Array("some more".utf8))
        #expect(!r.head.keepAlive)
    }

    @Test func headResponseHasNoBody() throws {
        var p = HTTPResponseParser()
        p.expectNoBody()
        var buf = buffer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
        let a = try #require(try p.parse(&buf))
        #expect(a.body.isEmpty)
        let b = try #require(try p.parse(&buf))
        #expect(b.body == [UInt8(ascii: "x")])
    }

    @Test func cutOffBodyFails() throws {
        var p = HTTPResponseParser()
        var buf = buffer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try p.parse(&buf) == nil)
        #expect(throws: HTTPError.self) { _ = try p.finish() }
    }

    @Test func malformedStatusLines() {
        for text in ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1200 OK\r\n\r\n",
                     "HTTP/3.0 200 OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n", "XTTP/1.1 200 OK\r\n\r\n"] {
            var p = HTTPResponseParser()
            var buf = buffer(text)
            #expect(throws: HTTPError.self, "\(text)") { _ = try p.parse(&buf) }
        }
    }

    @Test func splitAtEveryByte() throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n"
        for cut in 0...text.utf8.count {
            var p = HTTPResponseParser()
            let bytes = Array(text.utf8)
            var buf = ByteBuffer(bytes: bytes[..<cut])
            var r = try p.parse(&buf)
            if r == nil {
                buf.writeBytes(bytes[cut...])
                r = try p.parse(&buf)
            }
            #expect(r?.body == Array("wikipedia".utf8), "cut at \(cut)")
        }
    }
}

@Suite struct HTTPSerializerTests {
    @Test func requestRoundTrip() throws {
        let req = HTTPRequest(method: "PUT", target: "/bucket/key?x=1", headers: ["Host": "h", "X-A": "b\r\nInjected: 1"],
                              body: Array("data".utf8))
        var buf = ByteBuffer()
        req.serialize(into: &buf)
        #expect(String(buffer: buf) == "PUT /bucket/key?x=1 HTTP/1.1\r\nHost: h\r\nX-A: bInjected: 1\r\nContent-Length: 4\r\n\r\ndata")
        var p = HTTPRequestParser()
        let back = try #require(try p.parse(&buf))
        #expect(back.body == req.body && back.target == req.target)
    }

    @Test func responseRoundTrip() throws {
        let resp = HTTPResponse.text(503, "not ready: x")
        var buf = ByteBuffer()
        resp.serialize(into: &buf)
        #expect(String(buffer: buf) ==
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\n\r\nnot ready: x")
        var p = HTTPResponseParser()
        let back = try #require(try p.parse(&buf))
        #expect(back == HTTPResponse(head: HTTPResponseHead(status: 503, headers: ["Content-Type": "text/plain; charset=utf-8", "Content-Length": "12"]),
                                     body: Array("not ready: x".utf8)))
    }
}
