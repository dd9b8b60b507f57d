import FuzzSupport
import PgWire

@_cdecl("FuzzPgOutput_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        guard let first = bytes.first else { return 0 }
        // The first byte picks the protocol version and options; the rest is one message,
        // decoded outside and then inside a streamed block.
        var decoder = PgOutputDecoder(protocolVersion: Int(first & 3) + 1, parallelStreaming: first & 4 != 0)
        let body = Array(bytes.dropFirst())
        _ = try? decoder.decode(bytes: body)
        _ = try? decoder.decode(bytes: [UInt8(ascii: "S"), 0, 0, 0, 1, 1])
        _ = try? decoder.decode(bytes: body)
        // The value conversion reads server text too; its byte path (what the connectors use)
        // must write exactly what the String path returns.
        let text = String(decoding: body, as: UTF8.self)
        for oid: UInt32 in [16, 20, 21, 23, 700, 701, 17, 114, 1082, 1114, 1184, 1700, 25, 1007, 1009, 1185, 3807] {
            let expected = Array(PostgresJSON.fragment(typeOID: oid, text: text).utf8)
            var got: [UInt8] = []
            body.withUnsafeBytes { PostgresJSON.appendFragment(typeOID: oid, bytes: $0, to: &got) }
            if got != expected {
                fatalError("byte path differs for type \(oid): \(String(decoding: got, as: UTF8.self)) vs \(String(decoding: expected, as: UTF8.self))")
            }
        }
        return 0
    }
}
