import FuzzSupport
import PgWire

@_cdecl("FuzzPgBackend_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        _ = try? BackendMessageDecoder(maximumMessageSize: 1 << 20).decodeAll(bytes)
        return 0
    }
}
