import ClickHouseNative
import FuzzSupport

// Arbitrary bytes as a server packet (plain and compressed Data blocks, exceptions, progress...)
// and as one compressed-block frame: any input must decode or give a ClickHouseError, never a
// crash, a trap, an overread or an unbounded allocation. The first byte picks the decoder.
@_cdecl("FuzzClickHouseBlock_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        guard let mode = bytes.first else { return 0 }
        let rest = Array(bytes.dropFirst())
        do {
            switch mode % 3 {
            case 0:
                let payload = try CompressedBlock.decode(rest, maxBlockSize: 1 << 24)
                // What decodes must frame again and decode to the same payload.
                let again = try CompressedBlock.decode(CompressedBlock.encode(payload, compression: .lz4))
                if again != payload { fatalError("LZ4 re-framing changed the payload") }
            case 1:
                let used = try ServerPacketDecoder.decodeOne(rest, revision: ClickHouseRevision.client, compressed: false)
                if used > rest.count { fatalError("decoder consumed more bytes than there are") }
            default:
                _ = try ServerPacketDecoder.decodeOne(rest, revision: ClickHouseRevision.client, compressed: true)
            }
        } catch let e as ClickHouseError {
            _ = e.description
        } catch {
            fatalError("untyped error \(error)")
        }
        return 0
    }
}
