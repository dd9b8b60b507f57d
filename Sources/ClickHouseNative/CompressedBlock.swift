internal import Codecs

/// How blocks are compressed on the native protocol (`compression` in the Hello/Query).
public enum ClickHouseCompression: Sendable, Hashable {
    case none
    case lz4
    case zstd(level: Int)

    /// The method byte in a compressed block's header.
    var methodByte: UInt8 {
        switch self {
        case .none: return 0x02
        case .lz4: return 0x82
        case .zstd: return 0x90
        }
    }
}

/// ClickHouse's compressed-block framing:
/// `checksum (16: CityHash128 v1.0.2 low, high, little-endian) | method (1) |
///  compressed size (UInt32 LE, includes the 9 header bytes) | uncompressed size (UInt32 LE) | data`.
/// The checksum covers the 9 header bytes and the data.
public enum CompressedBlock {
    static let headerSize = 9
    static let checksumSize = 16
    /// Upper bound of one block's declared sizes (ClickHouse caps at 1 GiB).
    public static let defaultMaxBlockSize = 1 << 30

    /// Frames `payload` as one compressed block.
    public static func encode(_ payload: [UInt8], compression: ClickHouseCompression) -> [UInt8] {
        let body: [UInt8]
        switch compression {
        case .none: body = payload
        case .lz4: body = LZ4.compressBlock(payload)
        case .zstd(let level): body = Zstd.compress(payload, level: level)
        }
        var out = [UInt8](repeating: 0, count: checksumSize)
        out.reserveCapacity(checksumSize + headerSize + body.count)
        out.append(compression.methodByte)
        appendLE32(&out, UInt32(truncatingIfNeeded: headerSize + body.count))
        appendLE32(&out, UInt32(truncatingIfNeeded: payload.count))
        out.append(contentsOf: body)
        let h = out.withUnsafeBytes { CityHash.hash128(UnsafeRawBufferPointer(rebasing: $0[checksumSize...])) }
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: h.low >> (8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: h.high >> (8 * UInt64(i)))
        }
        return out
    }

    /// The total size of the block that starts at `bytes`, or nil if fewer than 25 bytes are there.
    /// Throws when the declared size is impossible or above `maxBlockSize`.
    public static func frameSize(_ bytes: UnsafeRawBufferPointer, maxBlockSize: Int = defaultMaxBlockSize) throws -> Int? {
        guard bytes.count >= checksumSize + headerSize else { return nil }
        let compressed = Int(readLE32(bytes, checksumSize + 1))
        let uncompressed = Int(readLE32(bytes, checksumSize + 5))
        guard compressed >= headerSize else {
            throw ClickHouseError(.malformed, "compressed block size \(compressed) is below its 9-byte header")
        }
        guard compressed <= maxBlockSize, uncompressed <= maxBlockSize else {
            throw ClickHouseError(.tooLarge, "compressed block sizes \(compressed)/\(uncompressed) exceed \(maxBlockSize)")
        }
        return checksumSize + compressed
    }

    /// Decodes one whole compressed block (exactly `frameSize` bytes) and returns its payload.
    public static func decode(_ bytes: [UInt8], maxBlockSize: Int = defaultMaxBlockSize) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try decode($0, maxBlockSize: maxBlockSize) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, maxBlockSize: Int = defaultMaxBlockSize) throws -> [UInt8] {
        guard let size = try frameSize(bytes, maxBlockSize: maxBlockSize) else {
            throw ClickHouseError(.truncated, "compressed block header needs 25 bytes, have \(bytes.count)")
        }
        guard bytes.count >= size else {
            throw ClickHouseError(.truncated, "compressed block needs \(size) bytes, have \(bytes.count)")
        }
        let hashed = UnsafeRawBufferPointer(rebasing: bytes[checksumSize..<size])
        let h = CityHash.hash128(hashed)
        guard h.low == readLE64(bytes, 0), h.high == readLE64(bytes, 8) else {
            throw ClickHouseError(.checksumMismatch, "compressed block checksum mismatch")
        }
        let method = bytes[checksumSize]
        let uncompressed = Int(readLE32(bytes, checksumSize + 5))
        let data = UnsafeRawBufferPointer(rebasing: bytes[(checksumSize + headerSize)..<size])
        let out: [UInt8]
        do {
            switch method {
            case 0x02:
                out = Array(data)
            case 0x82:
                out = try LZ4.decompressBlock(data, uncompressedSize: uncompressed, maxOutput: maxBlockSize)
            case 0x90:
                out = try Zstd.decompress(data, maxOutput: maxBlockSize)
            default:
                throw ClickHouseError(.unsupportedCompression, "compression method 0x\(String(method, radix: 16))")
            }
        } catch let e as ClickHouseError {
            throw e
        } catch {
            throw ClickHouseError(.malformed, "compressed block payload", cause: error)
        }
        guard out.count == uncompressed else {
            throw ClickHouseError(.malformed, "compressed block decoded to \(out.count) bytes, header says \(uncompressed)")
        }
        return out
    }

    static func appendLE32(_ out: inout [UInt8], _ v: UInt32) {
        out.append(UInt8(truncatingIfNeeded: v)); out.append(UInt8(truncatingIfNeeded: v >> 8))
        out.append(UInt8(truncatingIfNeeded: v >> 16)); out.append(UInt8(truncatingIfNeeded: v >> 24))
    }

    static func readLE32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt32.self))
    }

    static func readLE64(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }
}
