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
        // The value conversion reads server text too.
        let text = String(decoding: body, as: UTF8.self)
        for oid: UInt32 in [16, 20, 701, 17, 1082, 1114, 1184, 1007, 1009, 3807] {
            _ = PostgresJSON.fragment(typeOID: oid, text: text)
        }
        return 0
    }
}
