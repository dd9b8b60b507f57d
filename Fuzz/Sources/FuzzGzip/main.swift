import Codecs
import FuzzSupport

// gzip members through zlib, one shot and streamed in two pieces.
@_cdecl("FuzzGzip_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let whole = try? Gzip.decompress(bytes, maxOutput: 4 << 20)
        if let d = try? GzipDecompressor(maxOutput: 4 << 20) {
            let half = bytes.count / 2
            var out: [UInt8] = []
            var ok = true
            do {
                out += try d.update(Array(bytes[0..<half]))
                out += try d.update(Array(bytes[half...]))
                try d.finish()
            } catch { ok = false }
            if let whole { precondition(ok && out == whole, "gzip streamed and one-shot differ") }
        }
        return 0
    }
}
