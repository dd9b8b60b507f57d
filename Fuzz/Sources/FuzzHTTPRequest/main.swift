import FuzzSupport
import HTTPWire
import NIOCore

// Any bytes, fed whole and then in two pieces at a point the input chooses: the parser returns
// requests or throws HTTPError, never traps, and both feeds give the same requests.
@_cdecl("FuzzHTTPRequest_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let limits = HTTPParserLimits(maxLineLength: 256, maxHeaderCount: 16, maxHeaderBytes: 2048, maxBodySize: 4096)
        func parse(_ pieces: [ArraySlice<UInt8>]) -> [HTTPRequest]? {
            var parser = HTTPRequestParser(limits: limits)
            var buf = ByteBuffer()
            var out: [HTTPRequest] = []
            do {
                for piece in pieces {
                    buf.writeBytes(piece)
                    while let r = try parser.parse(&buf) { out.append(r) }
                }
            } catch {
                return nil
            }
            return out
        }
        let whole = parse([bytes[...]])
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        let split = parse([bytes[..<cut], bytes[cut...]])
        if let whole, let split, whole != split { fatalError("split feed gave other requests") }
        for r in whole ?? [] {
            var out = ByteBuffer()
            r.serialize(into: &out)
        }
        return 0
    }
}
