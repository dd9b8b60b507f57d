import ClickHouseNative
import FuzzSupport

// Arbitrary bytes as a ClickHouse Native file (what `FORMAT Native` writes): any input must decode
// or give a ClickHouseError, never a crash, a trap, an overread or an unbounded allocation. What
// decodes must encode, and encoding must be a fixed point: decode(encode(blocks)) encodes to the
// same bytes (compared as bytes, not values, because NaN != NaN).
@_cdecl("FuzzClickHouseNativeFormat_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let blocks: [ClickHouseBlock]
        do {
            blocks = try ClickHouseNativeFormat.decode(bytes)
        } catch let e as ClickHouseError {
            _ = e.description
            return 0
        } catch {
            fatalError("untyped error \(error)")
        }
        do {
            let encoded = try ClickHouseNativeFormat.encode(blocks)
            let again = try ClickHouseNativeFormat.decode(encoded)
            if try ClickHouseNativeFormat.encode(again) != encoded { fatalError("encode(decode(encode(x))) != encode(x)") }
        } catch {
            fatalError("decoded blocks do not encode and decode again: \(error)")
        }
        return 0
    }
}
