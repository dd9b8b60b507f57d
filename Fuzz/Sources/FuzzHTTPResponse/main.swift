import FuzzSupport
import HTTPWire
import NIOCore

// Any bytes: responses or HTTPError, never a trap; then end of input (read-until-close bodies).
@_cdecl("FuzzHTTPResponse_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        var parser = HTTPResponseParser(limits: HTTPParserLimits(maxLineLength: 256, maxHeaderCount: 16,
                                                                 maxHeaderBytes: 2048, maxBodySize: 1 << 16))
        if bytes.first.map({ $0 & 1 == 1 }) == true { parser.expectNoBody() }
        var buf = ByteBuffer(bytes: bytes)
        do {
            while let r = try parser.parse(&buf) {
                var out = ByteBuffer()
                r.serialize(into: &out)
            }
            _ = try parser.finish()
        } catch {}
        return 0
    }
}
