internal import CZlib

// gzip (RFC 1952) through the system zlib: one-shot helpers and streaming (de)compressors.
// Decompression accepts several concatenated members, as gzip(1) writes them with `cat a.gz b.gz`.

public enum Gzip {
    /// Compresses `input` into one gzip member. `level` is zlib's 0...9 (-1 = zlib's default, 6).
    public static func compress(_ input: [UInt8], level: Int = -1) throws -> [UInt8] {
        let c = try GzipCompressor(level: level)
        var out = try c.update(input)
        out += try c.finish()
        return out
    }

    /// Decompresses every gzip member in `input`; the output may not exceed `maxOutput` bytes.
    public static func decompress(_ input: [UInt8], maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        let d = try GzipDecompressor(maxOutput: maxOutput)
        let out = try d.update(input)
        try d.finish()
        return out
    }

    /// The version string of the linked zlib.
    public static var zlibVersion: String { String(cString: CZlib.zlibVersion()) }
}

private func zlibMessage(_ strm: UnsafeMutablePointer<z_stream>, _ rc: Int32) -> String {
    if let m = strm.pointee.msg { return "\(rc): \(String(cString: m))" }
    return "\(rc)"
}

/// Streaming gzip compressor: feed chunks to `update`, then call `finish` once.
public final class GzipCompressor {
    private let strm: UnsafeMutablePointer<z_stream>
    private var finished = false

    public init(level: Int = -1) throws {
        strm = .allocate(capacity: 1)
        strm.initialize(to: z_stream())
        let rc = czlib_deflateInit2(strm, Int32(max(-1, min(9, level))), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else {
            strm.deallocate()
            throw CodecError(.zlib, "gzip deflateInit2", detail: "\(rc)")
        }
    }

    deinit {
        deflateEnd(strm)
        strm.deallocate()
    }

    /// Compresses a chunk; returns whatever output zlib produced so far.
    public func update(_ chunk: [UInt8]) throws -> [UInt8] {
        try run(chunk, flush: Z_NO_FLUSH)
    }

    /// Ends the member; returns the remaining output (including the trailer).
    public func finish() throws -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        return try run([], flush: Z_FINISH)
    }

    private func run(_ chunk: [UInt8], flush: Int32) throws -> [UInt8] {
        guard !finished || flush == Z_FINISH else { throw CodecError(.corrupt, "gzip compressor already finished") }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: max(16 << 10, Int(deflateBound(strm, uLong(chunk.count)))))
        try chunk.withUnsafeBufferPointer { inp in
            strm.pointee.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
            strm.pointee.avail_in = uInt(inp.count)
            while true {
                let produced: Int = try buf.withUnsafeMutableBufferPointer { ob in
                    strm.pointee.next_out = ob.baseAddress
                    strm.pointee.avail_out = uInt(ob.count)
                    let rc = deflate(strm, flush)
                    guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                        throw CodecError(.zlib, "gzip deflate", detail: zlibMessage(strm, rc))
                    }
                    return ob.count - Int(strm.pointee.avail_out)
                }
                out += buf[0..<produced]
                if flush == Z_FINISH {
                    if produced < buf.count && strm.pointee.avail_in == 0 { break }
                } else if strm.pointee.avail_in == 0 && produced < buf.count {
                    break
                }
            }
            strm.pointee.next_in = nil
        }
        return out
    }
}

/// Streaming gzip decompressor over one or more members: feed chunks to `update` (each call
/// returns the bytes decoded so far), then `finish` checks the input ended at a member boundary.
public final class GzipDecompressor {
    private let strm: UnsafeMutablePointer<z_stream>
    private let maxOutput: Int
    private var produced = 0
    /// True between members (before any input and after each member's trailer).
    private var atMemberBoundary = true
    private var sawMember = false

    public init(maxOutput: Int = codecDefaultMaxOutput) throws {
        self.maxOutput = maxOutput
        strm = .allocate(capacity: 1)
        strm.initialize(to: z_stream())
        let rc = czlib_inflateInit2(strm, 15 + 16)
        guard rc == Z_OK else {
            strm.deallocate()
            throw CodecError(.zlib, "gzip inflateInit2", detail: "\(rc)")
        }
    }

    deinit {
        inflateEnd(strm)
        strm.deallocate()
    }

    public func update(_ chunk: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        guard !chunk.isEmpty else { return out }
        var buf = [UInt8](repeating: 0, count: min(max(chunk.count * 4, 64 << 10), 1 << 20))
        try chunk.withUnsafeBufferPointer { inp in
            defer { strm.pointee.next_in = nil; strm.pointee.avail_in = 0 }
            strm.pointee.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
            strm.pointee.avail_in = uInt(inp.count)
            while strm.pointee.avail_in > 0 {
                if atMemberBoundary {
                    // A new member must start with the gzip magic.
                    if strm.pointee.next_in[0] != 0x1F {
                        throw CodecError(.corrupt, "gzip member magic")
                    }
                    atMemberBoundary = false
                    sawMember = true
                }
                var rc: Int32 = Z_OK
                let n: Int = try buf.withUnsafeMutableBufferPointer { ob in
                    strm.pointee.next_out = ob.baseAddress
                    strm.pointee.avail_out = uInt(ob.count)
                    rc = inflate(strm, Z_NO_FLUSH)
                    switch rc {
                    case Z_OK, Z_STREAM_END, Z_BUF_ERROR: break
                    case Z_DATA_ERROR:
                        let msg = zlibMessage(strm, rc)
                        throw CodecError(msg.contains("check") ? .checksumMismatch : .corrupt, "gzip inflate", detail: msg)
                    default:
                        throw CodecError(.zlib, "gzip inflate", detail: zlibMessage(strm, rc))
                    }
                    return ob.count - Int(strm.pointee.avail_out)
                }
                if n > 0 {
                    guard produced <= maxOutput - n else {
                        throw CodecError(.outputTooLarge, "gzip", detail: "output over \(maxOutput) bytes")
                    }
                    produced += n
                    out += buf[0..<n]
                }
                if rc == Z_STREAM_END {
                    let r = inflateReset(strm)
                    guard r == Z_OK else { throw CodecError(.zlib, "gzip inflateReset", detail: "\(r)") }
                    atMemberBoundary = true
                } else if rc == Z_BUF_ERROR && n == 0 {
                    break  // needs more input
                }
            }
        }
        return out
    }

    /// Checks the input ended after a complete member.
    public func finish() throws {
        guard sawMember else { throw CodecError(.truncated, "gzip: no member") }
        guard atMemberBoundary else { throw CodecError(.truncated, "gzip member") }
    }
}
