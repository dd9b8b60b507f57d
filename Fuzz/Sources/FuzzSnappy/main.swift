import Codecs
import FuzzSupport

// Raw Snappy and the xerial framing: decoding must give a CodecError or bytes that re-encode
// and decode to themselves.
@_cdecl("FuzzSnappy_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        for input in [bytes, Snappy.compressXerial(Array(bytes.prefix(64))) + bytes] {
            if let out = try? Snappy.decompressAny(input, maxOutput: 4 << 20) {
                let again = try? Snappy.decompress(Snappy.compress(out))
                precondition(again == out, "snappy round trip of decoded output differs")
            }
        }
        return 0
    }
}
