import FuzzSupport
import HTTPWire
import NIOCore

// Any bytes, read two ways: whole with `parse` (small S3 replies, the metrics scraper), and part by
// part with `next` in three pieces cut where the input says, the way the S3 client's connection
// handler reads (heads, body slices, chunked bodies, trailers, read-until-close). Responses or
// HTTPError, never a trap; both ways give the same responses and the same failure or success.
@_cdecl("FuzzHTTPResponse_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let limits = HTTPParserLimits(maxLineLength: 256, maxHeaderCount: 16, maxHeaderBytes: 2048, maxBodySize: 1 << 16)
        let noBody = bytes.first.map { $0 & 1 == 1 } == true

        // Whole.
        var parser = HTTPResponseParser(limits: limits)
        if noBody { parser.expectNoBody() }
        var buf = ByteBuffer(bytes: bytes)
        var whole: [HTTPResponse] = []
        var wholeFailed = false
        do {
            while let r = try parser.parse(&buf) {
                whole.append(r)
                var out = ByteBuffer()
                r.serialize(into: &out)
            }
            if let r = try parser.finish() { whole.append(r) }
        } catch {
            wholeFailed = true
        }

        // Part by part, as the client reads.
        var streaming = HTTPResponseParser(limits: limits)
        if noBody { streaming.expectNoBody() }
        let a = bytes.count > 1 ? Int(bytes[1]) % (bytes.count + 1) : 0
        let b = bytes.count > 2 ? max(a, Int(bytes[2]) * 7 % (bytes.count + 1)) : a
        var parts: [HTTPResponse] = []
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        var partsFailed = false
        func take(_ part: HTTPResponsePart) {
            switch part {
            case .head(let h):
                head = h
                body = []
            case .body(let slice):
                body += slice.readableBytesView
            case .end:
                if let h = head { parts.append(HTTPResponse(head: h, body: body)) }
                head = nil
            }
        }
        var feed = ByteBuffer()
        do {
            for piece in [bytes[..<a], bytes[a..<b], bytes[b...]] {
                feed.writeBytes(piece)
                while let part = try streaming.next(&feed) { take(part) }
            }
            if let part = try streaming.finishPart() { take(part) }
        } catch {
            partsFailed = true
        }
        if wholeFailed != partsFailed { fatalError("whole and part-by-part reads disagree on failing") }
        if !wholeFailed && whole != parts { fatalError("whole and part-by-part reads gave other responses") }
        return 0
    }
}
