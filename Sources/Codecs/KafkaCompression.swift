// The codecs as Kafka record batches use them (KIP-110 and the producer's `compression.type`).

public enum KafkaCompression {
    /// Compresses a record batch's records section with `codec`: gzip = one gzip member,
    /// snappy = xerial framing (what Java producers send), lz4 = LZ4 frame, zstd = zstd frame.
    public static func compress(_ input: [UInt8], codec: CompressionCodec) throws -> [UInt8] {
        switch codec {
        case .none: input
        case .gzip: try Gzip.compress(input)
        case .snappy: Snappy.compressXerial(input)
        case .lz4: LZ4.compressFrame(input)
        case .zstd: Zstd.compress(input)
        }
    }

    /// Decompresses a record batch's records section; snappy accepts xerial framing or raw.
    public static func decompress(_ input: [UInt8], codec: CompressionCodec,
                                  maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        switch codec {
        case .none:
            guard input.count <= maxOutput else { throw CodecError(.outputTooLarge, "uncompressed records") }
            return input
        case .gzip: return try Gzip.decompress(input, maxOutput: maxOutput)
        case .snappy: return try Snappy.decompressAny(input, maxOutput: maxOutput)
        case .lz4: return try LZ4.decompressFrame(input, maxOutput: maxOutput)
        case .zstd: return try Zstd.decompress(input, maxOutput: maxOutput)
        }
    }
}
