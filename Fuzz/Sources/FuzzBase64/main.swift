import FuzzSupport
import WireCore

@_cdecl("FuzzBase64_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        // Strict decoding: whatever decodes must encode back to exactly the input.
        if let decoded = Base64.decode(bytes: bytes) {
            precondition(Base64.encodeToBytes(decoded) == bytes, "base64 round trip differs")
        }
        precondition(Base64.decode(bytes: Base64.encodeToBytes(bytes)) == bytes, "base64 encode/decode differs")
        return 0
    }
}
