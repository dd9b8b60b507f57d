import FuzzSupport
import WireCore

// Any bytes: parse must return a value or throw JSONError, never trap. A value that parses must
// write back to text that parses to the same value.
@_cdecl("FuzzJSON_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        guard let value = try? JSONValue.parse(bytes, limits: .init(maxDepth: 64, maxBytes: 1 << 20)) else { return 0 }
        var w = JSONWriter()
        value.write(to: &w)
        guard let again = try? JSONValue.parse(w.bytes, limits: .init(maxDepth: 64, maxBytes: 4 << 20)), again == value else {
            fatalError("JSON round trip changed the value")
        }
        return 0
    }
}
