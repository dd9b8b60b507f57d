import CZlib

/// The compression codec of a record batch: bits 0-2 of its attributes.
public enum KafkaCompressionCodec: Int8, Sendable, Hashable, CaseIterable {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4
}

/// The single point where record batches are compressed and decompressed.
///
/// gzip goes through the system zlib here. TODO: snappy, lz4 and zstd come from the `Codecs`
/// module (`KafkaCompression.compress(_:codec:)` / `decompress(_:codec:maxOutput:)`) once it
/// lands; route those three cases (and gzip, if Codecs' version is preferred) through it in
/// `compress` and `decompress` below. Nothing else in KafkaWire touches codecs.
enum RecordCompression {
    /// The largest decompressed size accepted unless the caller says otherwise: a batch is at
    /// most a fetch response, and a decompression bomb must not exhaust memory.
    static let defaultMaxOutput = 256 << 20

    static func compress(_ bytes: [UInt8], codec: KafkaCompressionCodec) throws -> [UInt8] {
        switch codec {
        case .none: return bytes
        case .gzip: return try Gzip.compress(bytes)
        case .snappy, .lz4, .zstd:
            throw KafkaWireError(.unsupportedCompression, "\(codec) compression is not available yet")
        }
    }

    static func decompress(_ bytes: [UInt8], codec: KafkaCompressionCodec,
                           maxOutput: Int = defaultMaxOutput) throws -> [UInt8] {
        switch codec {
        case .none: return bytes
        case .gzip: return try Gzip.decompress(bytes, maxOutput: maxOutput)
        case .snappy, .lz4, .zstd:
            throw KafkaWireError(.unsupportedCompression, "\(codec) decompression is not available yet")
        }
    }
}

/// gzip (RFC 1952) through zlib with windowBits 31; decompression reads concatenated members.
enum Gzip {
    static func compress(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard czlib_deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK else {
            throw KafkaWireError(.compressionFailed, "deflateInit2")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var output = [UInt8](repeating: 0, count: bound + 32)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw KafkaWireError(.compressionFailed, "deflate status \(status)") }
        output.removeLast(Int(stream.avail_out))
        return output
    }

    static func decompress(_ input: [UInt8], maxOutput: Int) throws -> [UInt8] {
        if input.isEmpty { return [] }
        var stream = z_stream()
        guard czlib_inflateInit2(&stream, 31) == Z_OK else {
            throw KafkaWireError(.compressionFailed, "inflateInit2")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(maxOutput, max(input.count * 4, 1024)))
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var input = input
        try input.withUnsafeMutableBufferPointer { inp in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    let s = inflate(&stream, Z_NO_FLUSH)
                    return (s, out.count - Int(stream.avail_out))
                }
                guard output.count + produced <= maxOutput else {
                    throw KafkaWireError(.compressionFailed, "gzip output over \(maxOutput) bytes")
                }
                output.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_STREAM_END:
                    // Another gzip member may follow (concatenated streams are valid gzip).
                    if stream.avail_in == 0 { return }
                    guard inflateReset(&stream) == Z_OK else {
                        throw KafkaWireError(.compressionFailed, "inflateReset")
                    }
                case Z_OK:
                    if stream.avail_in == 0 && produced == 0 {
                        throw KafkaWireError(.compressionFailed, "gzip data ends early")
                    }
                case Z_BUF_ERROR:
                    if produced == 0 { throw KafkaWireError(.compressionFailed, "gzip data ends early") }
                default:
                    throw KafkaWireError(.compressionFailed, "inflate status \(status)")
                }
            }
        }
        return output
    }
}
