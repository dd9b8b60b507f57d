import ClickHouseNative
import FuzzSupport

// Arbitrary bytes as a ClickHouse Native file (what `FORMAT Native` writes): any input must decode
// or give a ClickHouseError, never a crash, a trap, an overread or an unbounded allocation. What
// decodes must encode again and decode to the same blocks (a top-level DateTime's time zone, the
// float NaNs and unknown enum values aside, which do not compare equal or re-encode as such, the
// re-decoded blocks are identical).
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
            let again = try ClickHouseNativeFormat.decode(try ClickHouseNativeFormat.encode(blocks))
            if again.count != blocks.count || zip(again, blocks).contains(where: { $0.rowCount != $1.rowCount || $0.columns.count != $1.columns.count }) {
                fatalError("re-encoding changed the block shapes")
            }
        } catch {
            fatalError("decoded blocks do not encode and decode again: \(error)")
        }
        return 0
    }
}
