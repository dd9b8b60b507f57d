// LZ4: the block format (ClickHouse's native protocol compresses each block with it) and the frame
// format (Kafka's lz4 codec). Layouts from lz4/doc/lz4_Block_format.md and lz4_Frame_format.md.

public enum LZ4 {
    static let frameMagic: UInt32 = 0x184D_2204
    static let minMatch = 4
    static let lastLiterals = 5
    static let mfLimit = 12

    // MARK: block format

    /// The largest compressed size of `n` input bytes.
    public static func maxCompressedBlockSize(_ n: Int) -> Int { n + n / 255 + 16 }

    /// Compresses into one LZ4 block (no header: the caller stores both sizes, as ClickHouse does).
    public static func compressBlock(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { compressBlock($0) }
    }

    /// Compresses raw memory (e.g. a ByteBuffer's readable bytes) into one LZ4 block.
    public static func compressBlock(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: maxCompressedBlockSize(input.count)) { buf, count in
            let table = UnsafeMutablePointer<UInt32>.allocate(capacity: 1 << hashLog)
            defer { table.deallocate() }
            count = compressBlock(input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count,
                                  buf.baseAddress!, table)
        }
    }

    /// Decompresses one LZ4 block whose decompressed size is known (ClickHouse sends it).
    public static func decompressBlock(_ input: [UInt8], uncompressedSize: Int,
                                       maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        try input.withUnsafeBytes { try decompressBlock($0, uncompressedSize: uncompressedSize, maxOutput: maxOutput) }
    }

    /// Decompresses one LZ4 block from raw memory (e.g. a ByteBuffer's readable bytes).
    public static func decompressBlock(_ input: UnsafeRawBufferPointer, uncompressedSize: Int,
                                       maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        guard uncompressedSize >= 0 else { throw CodecError(.corrupt, "lz4 block negative size") }
        guard uncompressedSize <= maxOutput else {
            throw CodecError(.outputTooLarge, "lz4 block", detail: "declared \(uncompressedSize) bytes, bound \(maxOutput)")
        }
        // One input byte can produce at most 255 output bytes.
        guard uncompressedSize <= input.count &* 255 &+ 16 else {
            throw CodecError(.corrupt, "lz4 block size \(uncompressedSize) is impossible for \(input.count) input bytes")
        }
        return try [UInt8](unsafeUninitializedCapacity: uncompressedSize + outputSlack) { buf, count in
            count = 0
            guard let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
                if uncompressedSize == 0 { return }
                throw CodecError(.truncated, "lz4 block empty")
            }
            let end = try decodeBlock(src, input.count, buf.baseAddress!, 0, uncompressedSize, low: 0,
                                      overflow: .corrupt)
            guard end == uncompressedSize else {
                throw CodecError(.corrupt, "lz4 block produced \(end) of \(uncompressedSize) bytes")
            }
            count = end
        }
    }

    /// Decodes one block at `dst + op`, never past `opEnd` (the buffer has `outputSlack` spare bytes
    /// past it); matches may reach back to `low`. Returns the new output position.
    static func decodeBlock(_ src: UnsafePointer<UInt8>, _ srcLen: Int, _ dst: UnsafeMutablePointer<UInt8>,
                            _ op0: Int, _ opEnd: Int, low: Int, overflow: CodecError.Code) throws -> Int {
        var ip = 0
        var op = op0
        /// A length of 15 continues in the following bytes, each added, until one below 255.
        @inline(__always) func extendLength(_ length: inout Int, _ what: String) throws {
            while true {
                guard ip < srcLen else { throw CodecError(.truncated, what) }
                let b = Int(src[ip])
                ip &+= 1
                length &+= b
                if b != 255 { return }
            }
        }
        while true {
            guard ip < srcLen else { throw CodecError(.truncated, "lz4 block sequence") }
            let token = Int(src[ip])
            ip &+= 1
            var lit = token >> 4
            if lit != 15 && srcLen &- ip >= 18 && opEnd &- op >= 16 {
                // Fast path (most sequences): at most 14 literals, copied as 16 bytes; the input
                // holds at least 4 more bytes after them, so this is not the last sequence.
                store64(dst + op, load64(src + ip)); store64(dst + op + 8, load64(src + ip + 8))
                ip &+= lit
                op &+= lit
            } else {
                if lit == 15 { try extendLength(&lit, "lz4 literal length") }
                guard srcLen &- ip >= lit else { throw CodecError(.truncated, "lz4 literals") }
                guard opEnd &- op >= lit else { throw CodecError(overflow, "lz4 literals past the output end") }
                copyLiterals(dst + op, src + ip, lit, srcSafe: srcLen &- ip &- lit >= 16)
                ip &+= lit
                op &+= lit
                if ip == srcLen { return op }  // the last sequence has no match
            }
            guard srcLen &- ip >= 2 else { throw CodecError(.truncated, "lz4 match offset") }
            let off = Int(src[ip]) | Int(src[ip + 1]) << 8
            ip &+= 2
            guard off > 0, off <= op &- low else { throw CodecError(.corrupt, "lz4 match offset \(off) at \(op - low)") }
            var ml = token & 15
            if ml != 15 && off >= 8 && opEnd &- op >= 24 {
                // Fast path: a match of at most 18 bytes from at least 8 back, copied as 24 bytes.
                let m = dst + op - off
                let d = dst + op
                store64(d, load64(m)); store64(d + 8, load64(m + 8)); store64(d + 16, load64(m + 16))
                op &+= ml &+ minMatch
                continue
            }
            if ml == 15 { try extendLength(&ml, "lz4 match length") }
            ml &+= minMatch
            guard opEnd &- op >= ml else { throw CodecError(overflow, "lz4 match past the output end") }
            copyMatch(dst + op, offset: off, length: ml)
            op &+= ml
        }
    }

    static let hashLog = 14

    /// Greedy hash-table LZ4 block compressor. `dst` holds `maxCompressedBlockSize(n)`.
    static func compressBlock(_ srcOpt: UnsafePointer<UInt8>?, _ n: Int, _ dst: UnsafeMutablePointer<UInt8>,
                              _ table: UnsafeMutablePointer<UInt32>) -> Int {
        var op = 0
        guard let src = srcOpt, n > 0 else {
            dst[0] = 0  // one empty-literal token
            return 1
        }
        @inline(__always) func emitLastLiterals(_ anchor: Int) {
            let lit = n - anchor
            if lit >= 15 {
                dst[op] = 0xF0; op += 1
                var r = lit - 15
                while r >= 255 { dst[op] = 255; op += 1; r -= 255 }
                dst[op] = UInt8(r); op += 1
            } else {
                dst[op] = UInt8(lit << 4); op += 1
            }
            (dst + op).update(from: src + anchor, count: lit)
            op += lit
        }
        if n < mfLimit + 1 {
            emitLastLiterals(0)
            return op
        }
        table.initialize(repeating: 0, count: 1 << hashLog)
        @inline(__always) func hash(_ i: Int) -> Int {
            Int((load32(src + i) &* 2_654_435_761) >> UInt32(32 - hashLog))
        }
        let mflimit = n - mfLimit
        let matchLimit = n - lastLiterals
        var anchor = 0
        var ip = 1
        table[hash(0)] = 0
        var step = 1 << 6
        while ip < mflimit {
            let h = hash(ip)
            var cand = Int(table[h])
            table[h] = UInt32(ip)
            if ip - cand > 65535 || load32(src + cand) != load32(src + ip) {
                ip += step >> 6
                step += 1
                continue
            }
            step = 1 << 6
            var start = ip
            while start > anchor && cand > 0 && src[start - 1] == src[cand - 1] { start -= 1; cand -= 1 }
            // Extend forward.
            var len = minMatch
            var a = start + minMatch, b = cand + minMatch
            var mismatch = false
            while a + 8 <= matchLimit {
                let x = load64(src + a) ^ load64(src + b)
                if x != 0 { a += x.trailingZeroBitCount >> 3; mismatch = true; break }
                a += 8; b += 8
            }
            if !mismatch {
                while a < matchLimit && src[a] == src[b] { a += 1; b += 1 }
            }
            len = a - start
            // Sequence: token, literal length, literals, offset, match length.
            let lit = start - anchor
            let mlCode = len - minMatch
            let tokenPos = op
            op += 1
            var token = 0
            if lit >= 15 {
                token = 0xF0
                var r = lit - 15
                while r >= 255 { dst[op] = 255; op += 1; r -= 255 }
                dst[op] = UInt8(r); op += 1
            } else {
                token = lit << 4
            }
            (dst + op).update(from: src + anchor, count: lit)
            op += lit
            let off = start - cand
            dst[op] = UInt8(off & 0xFF); dst[op + 1] = UInt8(off >> 8); op += 2
            if mlCode >= 15 {
                token |= 15
                var r = mlCode - 15
                while r >= 255 { dst[op] = 255; op += 1; r -= 255 }
                dst[op] = UInt8(r); op += 1
            } else {
                token |= mlCode
            }
            dst[tokenPos] = UInt8(token)
            ip = start + len
            anchor = ip
            if ip < mflimit {
                table[hash(ip - 2)] = UInt32(ip - 2)
            }
        }
        emitLastLiterals(anchor)
        return op
    }

    // MARK: frame format

    /// Block maximum sizes by the BD byte's 3-bit code.
    static func blockMaxSize(code: Int) -> Int? {
        switch code {
        case 4: 64 << 10
        case 5: 256 << 10
        case 6: 1 << 20
        case 7: 4 << 20
        default: nil
        }
    }

    /// Compresses into one LZ4 frame with independent blocks of `blockSize` (64 KiB, 256 KiB,
    /// 1 MiB or 4 MiB; 64 KiB is what Java Kafka producers write), optionally with the content
    /// size and the content checksum in the frame.
    public static func compressFrame(_ input: [UInt8], blockSize: Int = 64 << 10,
                                     contentChecksum: Bool = false, contentSize: Bool = false) -> [UInt8] {
        let code: Int
        switch blockSize {
        case ...(64 << 10): code = 4
        case ...(256 << 10): code = 5
        case ...(1 << 20): code = 6
        default: code = 7
        }
        let bs = blockMaxSize(code: code)!
        var flg: UInt8 = 0x40 | 0x20  // version 01, independent blocks
        if contentChecksum { flg |= 0x04 }
        if contentSize { flg |= 0x08 }
        var header: [UInt8] = [0x04, 0x22, 0x4D, 0x18, flg, UInt8(code << 4)]
        if contentSize {
            var v = UInt64(input.count)
            for _ in 0..<8 { header.append(UInt8(v & 0xFF)); v >>= 8 }
        }
        let hc = UInt8((XXHash32.hash(Array(header[4...])) >> 8) & 0xFF)
        header.append(hc)

        let blocks = (input.count + bs - 1) / bs
        let cap = header.count + maxCompressedBlockSize(input.count) + blocks * (4 + 16) + 8
        return input.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: cap) { buf, count in
                let dst = buf.baseAddress!
                var op = 0
                for b in header { dst[op] = b; op += 1 }
                @inline(__always) func put32(_ v: UInt32) {
                    dst[op] = UInt8(v & 0xFF); dst[op + 1] = UInt8((v >> 8) & 0xFF)
                    dst[op + 2] = UInt8((v >> 16) & 0xFF); dst[op + 3] = UInt8(v >> 24); op += 4
                }
                let table = UnsafeMutablePointer<UInt32>.allocate(capacity: 1 << hashLog)
                defer { table.deallocate() }
                var pos = 0
                while pos < src.count {
                    let len = min(bs, src.count - pos)
                    let sizePos = op
                    op += 4
                    let c = compressBlock(src.baseAddress! + pos, len, dst + op, table)
                    if c >= len {
                        // Incompressible: store the block as is (high bit of the size set).
                        (dst + op).update(from: src.baseAddress! + pos, count: len)
                        op = sizePos
                        put32(UInt32(len) | 0x8000_0000)
                        op += len
                    } else {
                        let end = op + c
                        op = sizePos
                        put32(UInt32(c))
                        op = end
                    }
                    pos += len
                }
                put32(0)  // EndMark
                if contentChecksum { put32(XXHash32.hash(UnsafeRawBufferPointer(src))) }
                count = op
            }
        }
    }

    /// Decompresses one or more concatenated LZ4 frames (skippable frames are skipped), checking
    /// the header, block and content checksums that are present.
    public static func decompressFrame(_ input: [UInt8], maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        try input.withUnsafeBytes { try decompressFrame($0, maxOutput: maxOutput) }
    }

    public static func decompressFrame(_ input: UnsafeRawBufferPointer, maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count > 0 else {
            throw CodecError(.truncated, "lz4 frame empty")
        }
        let n = input.count
        // Decode straight into the result when a bound on the output is known from the headers.
        if let bound = frameOutputBound(base, n), bound > 0 {
            let cap = min(bound, maxOutput)
            return try [UInt8](unsafeUninitializedCapacity: cap + outputSlack) { buf, count in
                count = 0
                var out = OutputBuffer(external: buf.baseAddress!, capacity: cap,
                                       overflowCode: cap == maxOutput ? .outputTooLarge : .corrupt)
                try decodeFrames(base, n, &out)
                count = out.count
            }
        }
        var out = OutputBuffer(initialCapacity: min(n * 3, 1 << 20), limit: maxOutput)
        try decodeFrames(base, n, &out)
        return out.toArray()
    }

    /// An upper bound on what the frames in `base[0..<n]` decode to: the declared content size, or
    /// per block its stored size or at most min(block maximum, 255 x its compressed size).
    /// Nil when the headers do not parse (the decoder then reports why).
    static func frameOutputBound(_ base: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        @inline(__always) func read32(_ p: Int) -> Int {
            Int(base[p]) | Int(base[p + 1]) << 8 | Int(base[p + 2]) << 16 | Int(base[p + 3]) << 24
        }
        var pos = 0
        var bound = 0
        while pos < n {
            guard n - pos >= 8 else { return nil }
            let magic = UInt32(read32(pos))
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                pos += 8 + read32(pos + 4)
                continue
            }
            guard magic == frameMagic else { return nil }
            let flg = base[pos + 4]
            guard let bmax = blockMaxSize(code: Int(base[pos + 5] >> 4)) else { return nil }
            let blockChecksum = flg & 0x10 != 0
            pos += 4 + 3 + (flg & 0x08 != 0 ? 8 : 0) + (flg & 0x01 != 0 ? 4 : 0)
            while true {
                guard n - pos >= 4 else { return nil }
                let word = read32(pos)
                pos += 4
                if word == 0 { break }
                let size = word & 0x7FFF_FFFF
                bound += word & 0x8000_0000 != 0 ? size : min(bmax, size * 255 + 16)
                pos += size + (blockChecksum ? 4 : 0)
                guard pos <= n else { return nil }
            }
            if flg & 0x04 != 0 { pos += 4 }
        }
        return bound
    }

    static func decodeFrames(_ base: UnsafePointer<UInt8>, _ n: Int, _ out: inout OutputBuffer) throws {
        var pos = 0
        @inline(__always) func read32(_ p: Int) -> UInt32 {
            UInt32(base[p]) | UInt32(base[p + 1]) << 8 | UInt32(base[p + 2]) << 16 | UInt32(base[p + 3]) << 24
        }
        var frames = 0
        while pos < n {
            guard n - pos >= 4 else { throw CodecError(.truncated, "lz4 frame magic") }
            let magic = read32(pos)
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                guard n - pos >= 8 else { throw CodecError(.truncated, "lz4 skippable frame size") }
                let size = Int(read32(pos + 4))
                guard n - pos - 8 >= size else { throw CodecError(.truncated, "lz4 skippable frame") }
                pos += 8 + size
                continue
            }
            guard magic == frameMagic else {
                throw CodecError(.corrupt, "lz4 frame magic", detail: "0x\(String(magic, radix: 16))")
            }
            frames += 1
            pos += 4
            guard n - pos >= 3 else { throw CodecError(.truncated, "lz4 frame descriptor") }
            let flg = base[pos], bd = base[pos + 1]
            guard flg >> 6 == 1 else { throw CodecError(.unsupported, "lz4 frame version \(flg >> 6)") }
            guard flg & 0x02 == 0, bd & 0x8F == 0 else { throw CodecError(.corrupt, "lz4 frame reserved bits") }
            let independent = flg & 0x20 != 0
            let blockChecksum = flg & 0x10 != 0
            let hasSize = flg & 0x08 != 0
            let contentChecksum = flg & 0x04 != 0
            let hasDict = flg & 0x01 != 0
            guard let bmax = blockMaxSize(code: Int(bd >> 4)) else {
                throw CodecError(.corrupt, "lz4 block max size code \(bd >> 4)")
            }
            let descLen = 2 + (hasSize ? 8 : 0) + (hasDict ? 4 : 0)
            guard n - pos >= descLen + 1 else { throw CodecError(.truncated, "lz4 frame descriptor") }
            let hc = UInt8((XXHash32.hash(UnsafeRawBufferPointer(start: base + pos, count: descLen)) >> 8) & 0xFF)
            guard hc == base[pos + descLen] else { throw CodecError(.checksumMismatch, "lz4 frame header checksum") }
            if hasDict { throw CodecError(.unsupported, "lz4 frame with a dictionary") }
            var declared: UInt64? = nil
            if hasSize {
                var v: UInt64 = 0
                for k in 0..<8 { v |= UInt64(base[pos + 2 + k]) << (8 * UInt64(k)) }
                _ = try codecCheckedSize(v, max: out.limit - out.count, "lz4 frame content size")
                declared = v
                if out.count == 0 && v > 0 { try out.reserve(Int(v), "lz4 frame") }
            }
            pos += descLen + 1
            let frameStart = out.count
            while true {
                guard n - pos >= 4 else { throw CodecError(.truncated, "lz4 block size") }
                let word = read32(pos)
                pos += 4
                if word == 0 { break }
                let stored = word & 0x8000_0000 != 0
                let size = Int(word & 0x7FFF_FFFF)
                guard size <= bmax else { throw CodecError(.corrupt, "lz4 block size \(size) over \(bmax)") }
                guard n - pos >= size + (blockChecksum ? 4 : 0) else { throw CodecError(.truncated, "lz4 block data") }
                if blockChecksum {
                    let h = XXHash32.hash(UnsafeRawBufferPointer(start: base + pos, count: size))
                    guard h == read32(pos + size) else { throw CodecError(.checksumMismatch, "lz4 block checksum") }
                }
                if stored {
                    try out.append(UnsafeRawBufferPointer(start: base + pos, count: size), "lz4 frame")
                } else {
                    let avail = try out.reserveUpTo(bmax, "lz4 frame")
                    let start = out.count
                    let end = try decodeBlock(base + pos, size, out.base, start, start + avail,
                                              low: independent ? start : frameStart,
                                              overflow: avail < bmax ? out.overflowCode : .corrupt)
                    out.count = end
                }
                pos += size + (blockChecksum ? 4 : 0)
            }
            if let declared, UInt64(out.count - frameStart) != declared {
                throw CodecError(.corrupt, "lz4 frame content size \(declared), got \(out.count - frameStart)")
            }
            if contentChecksum {
                guard n - pos >= 4 else { throw CodecError(.truncated, "lz4 content checksum") }
                let h = XXHash32.hash(UnsafeRawBufferPointer(start: out.base + frameStart, count: out.count - frameStart))
                guard h == read32(pos) else { throw CodecError(.checksumMismatch, "lz4 content checksum") }
                pos += 4
            }
        }
        guard frames > 0 else { throw CodecError(.corrupt, "lz4: no frame") }
    }
}
