import Codecs
import FuzzSupport

// zstd frames: a CodecError or output that our encoder round-trips.
@_cdecl("FuzzZstd_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        if let out = try? Zstd.decompress(bytes, maxOutput: 4 << 20) {
            precondition((try? Zstd.decompress(Zstd.compress(out))) == out, "zstd round trip differs")
        }
        // Also as compressible input to the encoder.
        if bytes.count < 4096 {
            precondition((try? Zstd.decompress(Zstd.compress(bytes))) == bytes, "zstd encoder round trip differs")
        }
        return 0
    }
}
