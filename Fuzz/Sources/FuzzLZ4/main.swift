import Codecs
import FuzzSupport

// LZ4 frames and raw blocks. The first byte picks the block's declared size for the block path.
@_cdecl("FuzzLZ4_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        if let out = try? LZ4.decompressFrame(bytes, maxOutput: 4 << 20) {
            precondition((try? LZ4.decompressFrame(LZ4.compressFrame(out))) == out, "lz4 frame round trip differs")
        }
        if let first = bytes.first {
            let declared = Int(first) * 97
            if let out = try? LZ4.decompressBlock(Array(bytes.dropFirst()), uncompressedSize: declared, maxOutput: 1 << 20) {
                precondition(out.count == declared)
                precondition((try? LZ4.decompressBlock(LZ4.compressBlock(out), uncompressedSize: out.count)) == out,
                             "lz4 block round trip differs")
            }
        }
        return 0
    }
}
