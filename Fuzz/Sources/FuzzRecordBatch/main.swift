import FuzzSupport
import KafkaWire
import NIOCore

// Input: byte 0 bit 0 turns CRC checking on (off lets the fuzzer reach the record layout); the
// rest is a `records` field: magic-2 batches and/or legacy message sets.
@_cdecl("FuzzRecordBatch_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        guard let flags = bytes.first else { return 0 }
        let options = RecordBatchDecodingOptions(verifyCRC: flags & 1 != 0, maxDecompressedBytes: 4 << 20)
        do {
            let batches = try RecordBatch.decodeAll(ByteBuffer(bytes: bytes.dropFirst()), options: options)
            for batch in batches {
                _ = batch.controlRecord
                _ = batch.nextOffset
                // A decoded magic-2 batch with offsets in range must encode again.
                if batch.magic == 2, batch.attributes.compression == KafkaCompressionCodec.none {
                    var out = ByteBuffer()
                    try? batch.encode(into: &out)
                }
            }
        } catch is KafkaWireError {
        } catch {
            fatalError("unexpected error type: \(error)")
        }
        return 0
    }
}
