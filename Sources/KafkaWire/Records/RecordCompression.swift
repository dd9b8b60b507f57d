import Codecs

/// The compression codec of a record batch: bits 0-2 of its attributes.
public enum KafkaCompressionCodec: Int8, Sendable, Hashable, CaseIterable {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4
}

/// The single point where record batches are compressed and decompressed: every codec comes from
/// the `Codecs` module (gzip through zlib; Snappy, LZ4 and Zstandard in Swift), in the forms the
/// Java producer writes (xerial-framed Snappy, LZ4 frames, zstd frames, gzip members).
enum RecordCompression {
    /// The largest decompressed size accepted unless the caller says otherwise: a batch is at
    /// most a fetch response, and a decompression bomb must not exhaust memory.
    static let defaultMaxOutput = 256 << 20

    static func compress(_ bytes: [UInt8], codec: KafkaCompressionCodec) throws -> [UInt8] {
        if codec == .none { return bytes }
        do {
            return try KafkaCompression.compress(bytes, codec: codec.codecsCodec)
        } catch {
            throw KafkaWireError(.compressionFailed, "\(codec) compression failed", cause: error)
        }
    }

    static func decompress(_ bytes: [UInt8], codec: KafkaCompressionCodec,
                           maxOutput: Int = defaultMaxOutput) throws -> [UInt8] {
        if codec == .none { return bytes }
        do {
            return try KafkaCompression.decompress(bytes, codec: codec.codecsCodec, maxOutput: maxOutput)
        } catch {
            throw KafkaWireError(.compressionFailed, "\(codec) decompression failed", cause: error)
        }
    }
}

extension KafkaCompressionCodec {
    var codecsCodec: CompressionCodec {
        switch self {
        case .none: .none
        case .gzip: .gzip
        case .snappy: .snappy
        case .lz4: .lz4
        case .zstd: .zstd
        }
    }
}
