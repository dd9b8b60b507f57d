// Snappy: the raw format (https://github.com/google/snappy/blob/main/format_description.txt) and the
// xerial "snappy-java" stream framing that Java Kafka producers write.

public enum Snappy {
    /// Magic header of the xerial framing: 0x82 'SNAPPY' 0x00, then version and compatible version
    /// as big-endian Int32 (both 1).
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    /// snappy-java's default block size.
    public static let xerialBlockSize = 32 * 1024

    // MARK: raw format

    /// The uncompressed length a raw Snappy buffer declares.
    public static func uncompressedLength(_ input: [UInt8]) throws -> Int {
        try input.withUnsafeBufferPointer { Int(try readLength($0).length) }
    }

    static func readLength(_ src: UnsafeBufferPointer<UInt8>) throws -> (length: UInt64, headerSize: Int) {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        var i = 0
        while true {
            guard i < src.count else { throw CodecError(.truncated, "snappy length varint") }
            guard i < 5 else { throw CodecError(.corrupt, "snappy length varint too long") }
            let b = src[i]
            v |= UInt64(b & 0x7F) << shift
            i += 1
            if b < 0x80 { break }
            shift += 7
        }
        guard v <= UInt64(UInt32.max) else { throw CodecError(.corrupt, "snappy length over 32 bits") }
        return (v, i)
    }

    /// Decompresses one raw Snappy buffer.
    public static func decompress(_ input: [UInt8], maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        try input.withUnsafeBufferPointer { try decompress(raw: $0, maxOutput: maxOutput) }
    }

    static func decompress(raw src: UnsafeBufferPointer<UInt8>, maxOutput: Int) throws -> [UInt8] {
        let (declared, hdr) = try readLength(src)
        let n = try codecCheckedSize(declared, max: maxOutput, "snappy")
        // A raw buffer expands at most ~ 64/3 per input byte (a 3-byte copy of 64); bound the
        // allocation by what the input could produce.
        guard declared <= UInt64(src.count) &* 22 &+ 64 else {
            throw CodecError(.corrupt, "snappy declared length \(declared) is impossible for \(src.count) input bytes")
        }
        return try [UInt8](unsafeUninitializedCapacity: n + outputSlack) { buf, count in
            count = 0
            let dst = buf.baseAddress!
            try decodeBody(src.baseAddress! + hdr, src.count - hdr, dst, n)
            count = n
        }
    }

    /// Decodes the element stream into exactly `n` bytes at `dst` (which has `outputSlack` spare).
    static func decodeBody(_ srcStart: UnsafePointer<UInt8>, _ srcCount: Int, _ dst: UnsafeMutablePointer<UInt8>, _ n: Int) throws {
        var ip = 0
        var op = 0
        while ip < srcCount {
            let tag = srcStart[ip]
            ip += 1
            switch tag & 3 {
            case 0:
                var len = Int(tag >> 2)
                if len >= 60 {
                    let extra = len - 59
                    guard srcCount - ip >= extra else { throw CodecError(.truncated, "snappy literal length") }
                    len = 0
                    for k in 0..<extra { len |= Int(srcStart[ip + k]) << (8 * k) }
                    ip += extra
                }
                len += 1
                guard srcCount - ip >= len else { throw CodecError(.truncated, "snappy literal") }
                guard n - op >= len else { throw CodecError(.corrupt, "snappy literal past declared length") }
                copyLiterals(dst + op, srcStart + ip, len, srcSafe: srcCount - ip >= len + 16)
                ip += len
                op += len
            case 1:
                guard ip < srcCount else { throw CodecError(.truncated, "snappy copy-1") }
                let len = 4 + Int((tag >> 2) & 7)
                let off = (Int(tag >> 5) << 8) | Int(srcStart[ip])
                ip += 1
                guard off > 0, off <= op else { throw CodecError(.corrupt, "snappy copy offset \(off) at \(op)") }
                guard n - op >= len else { throw CodecError(.corrupt, "snappy copy past declared length") }
                copyMatch(dst + op, offset: off, length: len)
                op += len
            case 2:
                guard srcCount - ip >= 2 else { throw CodecError(.truncated, "snappy copy-2") }
                let len = 1 + Int(tag >> 2)
                let off = Int(srcStart[ip]) | Int(srcStart[ip + 1]) << 8
                ip += 2
                guard off > 0, off <= op else { throw CodecError(.corrupt, "snappy copy offset \(off) at \(op)") }
                guard n - op >= len else { throw CodecError(.corrupt, "snappy copy past declared length") }
                copyMatch(dst + op, offset: off, length: len)
                op += len
            default:
                guard srcCount - ip >= 4 else { throw CodecError(.truncated, "snappy copy-4") }
                let len = 1 + Int(tag >> 2)
                let off = Int(srcStart[ip]) | Int(srcStart[ip + 1]) << 8 | Int(srcStart[ip + 2]) << 16 | Int(srcStart[ip + 3]) << 24
                ip += 4
                guard off > 0, off <= op else { throw CodecError(.corrupt, "snappy copy offset \(off) at \(op)") }
                guard n - op >= len else { throw CodecError(.corrupt, "snappy copy past declared length") }
                copyMatch(dst + op, offset: off, length: len)
                op += len
            }
        }
        guard op == n else { throw CodecError(.truncated, "snappy produced \(op) of \(n) bytes") }
    }

    /// Compresses into one raw Snappy buffer.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBufferPointer { compress(raw: $0) }
    }

    static func maxCompressedLength(_ n: Int) -> Int { 32 + n + n / 6 }

    static func compress(raw src: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: maxCompressedLength(src.count)) { buf, count in
            let table = UnsafeMutablePointer<UInt16>.allocate(capacity: 1 << 14)
            defer { table.deallocate() }
            count = compress(src.baseAddress, src.count, into: buf.baseAddress!, table)
        }
    }

    /// Writes one raw Snappy buffer (length varint, then elements) at `dst`, which holds
    /// `maxCompressedLength(n)` bytes; returns its size.
    static func compress(_ srcOpt: UnsafePointer<UInt8>?, _ n: Int, into dst: UnsafeMutablePointer<UInt8>,
                         _ table: UnsafeMutablePointer<UInt16>) -> Int {
        var op = 0
        var v = UInt32(n)
        while v >= 0x80 { dst[op] = UInt8(v & 0x7F) | 0x80; v >>= 7; op += 1 }
        dst[op] = UInt8(v); op += 1
        guard let src = srcOpt, n > 0 else { return op }
        var pos = 0
        // Offsets in the table are 16-bit, so compress in independent 64 KiB fragments as the
        // reference does.
        while pos < n {
            let fragment = min(65536, n - pos)
            op = compressFragment(src + pos, fragment, dst, op, table)
            pos += fragment
        }
        return op
    }

    @inline(__always) static func emitLiteral(_ dst: UnsafeMutablePointer<UInt8>, _ op0: Int, _ src: UnsafePointer<UInt8>, _ len: Int) -> Int {
        var op = op0
        let n = len - 1
        if n < 60 {
            dst[op] = UInt8(n << 2); op += 1
        } else if n < 256 {
            dst[op] = 60 << 2; dst[op + 1] = UInt8(n); op += 2
        } else if n < 65536 {
            dst[op] = 61 << 2; dst[op + 1] = UInt8(n & 0xFF); dst[op + 2] = UInt8(n >> 8); op += 3
        } else {
            dst[op] = 62 << 2; dst[op + 1] = UInt8(n & 0xFF); dst[op + 2] = UInt8((n >> 8) & 0xFF)
            dst[op + 3] = UInt8(n >> 16); op += 4
        }
        (dst + op).update(from: src, count: len)
        return op + len
    }

    @inline(__always) static func emitCopy(_ dst: UnsafeMutablePointer<UInt8>, _ op0: Int, offset: Int, length len0: Int) -> Int {
        var op = op0
        var len = len0
        // Long matches: copies of 64 (leaving at least 4 for the tail).
        while len >= 68 {
            dst[op] = UInt8((63 << 2) | 2); dst[op + 1] = UInt8(offset & 0xFF); dst[op + 2] = UInt8(offset >> 8)
            op += 3; len -= 64
        }
        if len > 64 {
            dst[op] = UInt8((59 << 2) | 2); dst[op + 1] = UInt8(offset & 0xFF); dst[op + 2] = UInt8(offset >> 8)
            op += 3; len -= 60
        }
        if len < 12 && offset < 2048 {
            dst[op] = UInt8(1 | ((len - 4) << 2) | ((offset >> 8) << 5)); dst[op + 1] = UInt8(offset & 0xFF)
            op += 2
        } else {
            dst[op] = UInt8(2 | ((len - 1) << 2)); dst[op + 1] = UInt8(offset & 0xFF); dst[op + 2] = UInt8(offset >> 8)
            op += 3
        }
        return op
    }

    static func compressFragment(_ src: UnsafePointer<UInt8>, _ n: Int, _ dst: UnsafeMutablePointer<UInt8>, _ op0: Int,
                                 _ table: UnsafeMutablePointer<UInt16>) -> Int {
        var op = op0
        let hashBits = 14
        table.initialize(repeating: 0, count: 1 << hashBits)
        @inline(__always) func hash(_ i: Int) -> Int {
            Int((load32(src + i) &* 0x1E35_A7BD) >> UInt32(32 - hashBits))
        }
        var anchor = 0
        guard n >= 15 else { return emitLiteral(dst, op, src, n) }
        let limit = n - 15  // keep 4+ bytes for the tail reads
        var ip = 1
        var skip = 32
        while ip < limit {
            let h = hash(ip)
            let cand = Int(table[h])
            table[h] = UInt16(ip)
            if cand < ip && load32(src + cand) == load32(src + ip) {
                if ip > anchor { op = emitLiteral(dst, op, src + anchor, ip - anchor) }
                // Extend the match.
                var len = 4
                let maxLen = n - ip
                while len + 8 <= maxLen {
                    let x = load64(src + cand + len) ^ load64(src + ip + len)
                    if x != 0 { len += x.trailingZeroBitCount >> 3; break }
                    len += 8
                }
                if len + 8 > maxLen {
                    while len < maxLen && src[cand + len] == src[ip + len] { len += 1 }
                }
                op = emitCopy(dst, op, offset: ip - cand, length: len)
                ip += len
                anchor = ip
                skip = 32
                if ip < limit { table[hash(ip - 1)] = UInt16(ip - 1) }
            } else {
                ip += skip >> 5
                skip += 1
            }
        }
        if anchor < n { op = emitLiteral(dst, op, src + anchor, n - anchor) }
        return op
    }

    // MARK: xerial framing

    /// True when `input` starts with the xerial snappy-java magic.
    public static func isXerialFramed(_ input: [UInt8]) -> Bool {
        input.count >= 16 && Array(input[0..<8]) == xerialMagic
    }

    /// Compresses into the xerial framing Java Kafka clients use: magic, version 1, compatible
    /// version 1, then (big-endian Int32 length, raw Snappy block) per 32 KiB of input.
    public static func compressXerial(_ input: [UInt8], blockSize: Int = xerialBlockSize) -> [UInt8] {
        let bs = max(1, blockSize)
        let blocks = (input.count + bs - 1) / bs
        let cap = 16 + blocks * (4 + maxCompressedLength(bs))
        return input.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: cap) { buf, count in
                let dst = buf.baseAddress!
                for (i, b) in xerialMagic.enumerated() { dst[i] = b }
                for (i, b) in [UInt8]([0, 0, 0, 1, 0, 0, 0, 1]).enumerated() { dst[8 + i] = b }
                var op = 16
                let table = UnsafeMutablePointer<UInt16>.allocate(capacity: 1 << 14)
                defer { table.deallocate() }
                var pos = 0
                while pos < src.count {
                    let len = min(bs, src.count - pos)
                    let c = compress(src.baseAddress! + pos, len, into: dst + op + 4, table)
                    dst[op] = UInt8(c >> 24); dst[op + 1] = UInt8((c >> 16) & 0xFF)
                    dst[op + 2] = UInt8((c >> 8) & 0xFF); dst[op + 3] = UInt8(c & 0xFF)
                    op += 4 + c
                    pos += len
                }
                count = op
            }
        }
    }

    /// Decompresses the xerial framing (the magic must be present). The blocks' declared lengths
    /// are summed first so everything decodes straight into one result.
    public static func decompressXerial(_ input: [UInt8], maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        guard isXerialFramed(input) else { throw CodecError(.corrupt, "snappy xerial magic") }
        return try input.withUnsafeBufferPointer { src in
            // Pass 1: block boundaries and declared lengths.
            var blocks: [(start: Int, count: Int, header: Int, length: Int)] = []
            var total = 0
            var pos = 16
            while pos < src.count {
                guard src.count - pos >= 4 else { throw CodecError(.truncated, "snappy xerial block length") }
                let len = Int(src[pos]) << 24 | Int(src[pos + 1]) << 16 | Int(src[pos + 2]) << 8 | Int(src[pos + 3])
                pos += 4
                guard src.count - pos >= len else { throw CodecError(.truncated, "snappy xerial block") }
                let block = UnsafeBufferPointer(rebasing: src[pos..<(pos + len)])
                let (declared, hdr) = try readLength(block)
                guard declared <= UInt64(len) &* 22 &+ 64 else {
                    throw CodecError(.corrupt, "snappy declared length \(declared) is impossible for \(len) input bytes")
                }
                total += Int(declared)
                guard total <= maxOutput else {
                    throw CodecError(.outputTooLarge, "snappy xerial", detail: "output over \(maxOutput) bytes")
                }
                blocks.append((pos + hdr, len - hdr, hdr, Int(declared)))
                pos += len
            }
            // Pass 2: decode each block at its place.
            return try [UInt8](unsafeUninitializedCapacity: total + outputSlack) { buf, count in
                count = 0
                var op = 0
                for b in blocks {
                    try decodeBody(src.baseAddress! + b.start, b.count, buf.baseAddress! + op, b.length)
                    op += b.length
                }
                count = op
            }
        }
    }

    /// Decompresses either framing: xerial when the magic is there, raw otherwise (what Kafka
    /// brokers and non-Java clients may send).
    public static func decompressAny(_ input: [UInt8], maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        if isXerialFramed(input) { return try decompressXerial(input, maxOutput: maxOutput) }
        return try decompress(input, maxOutput: maxOutput)
    }
}
