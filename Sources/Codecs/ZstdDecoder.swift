// Zstandard decoder (RFC 8878): frames, skippable frames, raw/RLE/compressed blocks, Huffman
// literals (1 or 4 streams, treeless reuse), FSE sequences (predefined, RLE, compressed, repeat),
// repeat offsets and the xxHash64 content checksum. Dictionaries are not supported.

/// Decoding state carried across the blocks of one frame.
struct ZstdFrameState {
    var huffman: HuffmanTable? = nil
    var llTable: FSETable? = nil
    var ofTable: FSETable? = nil
    var mlTable: FSETable? = nil
    var reps: (Int, Int, Int) = (1, 4, 8)
    /// Scratch for decoded literals (one block's worth, plus slack for wild copies).
    let literals: UnsafeMutablePointer<UInt8>

    init() {
        literals = .allocate(capacity: ZstdTables.blockSizeMax + outputSlack)
    }
    func free() { literals.deallocate() }
}

enum ZstdDecoder {
    static let predefinedLL = try! FSETable.build(norm: ZstdTables.llDefault, symbols: ZstdTables.llDefault.count,
                                                  accuracyLog: ZstdTables.llDefaultLog).annotated(.literalLength)
    static let predefinedML = try! FSETable.build(norm: ZstdTables.mlDefault, symbols: ZstdTables.mlDefault.count,
                                                  accuracyLog: ZstdTables.mlDefaultLog).annotated(.matchLength)
    static let predefinedOF = try! FSETable.build(norm: ZstdTables.ofDefault, symbols: ZstdTables.ofDefault.count,
                                                  accuracyLog: ZstdTables.ofDefaultLog).annotated(.offset)

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> [UInt8] {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count > 0 else {
            throw CodecError(.truncated, "zstd: empty input")
        }
        let n = input.count
        // When every frame declares its content size, decode straight into the result.
        if let total = declaredContentSize(base, n), total > 0, total <= maxOutput {
            return try [UInt8](unsafeUninitializedCapacity: total + outputSlack) { buf, count in
                count = 0
                var out = OutputBuffer(external: buf.baseAddress!, capacity: total, overflowCode: .corrupt)
                try decodeFrames(base, n, &out)
                count = out.count
            }
        }
        var out = OutputBuffer(initialCapacity: min(n * 4, 4 << 20), limit: maxOutput)
        try decodeFrames(base, n, &out)
        return out.toArray()
    }

    /// The sum of the frames' content sizes, or nil when a frame has none or the headers do not
    /// parse (the decoder then reports why).
    static func declaredContentSize(_ base: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        @inline(__always) func read32(_ p: Int) -> Int {
            Int(base[p]) | Int(base[p + 1]) << 8 | Int(base[p + 2]) << 16 | Int(base[p + 3]) << 24
        }
        var pos = 0
        var total = 0
        while pos < n {
            guard n - pos >= 8 else { return nil }
            let magic = UInt32(read32(pos))
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                pos += 8 + read32(pos + 4)
                continue
            }
            guard magic == ZstdTables.magic else { return nil }
            let fhd = base[pos + 4]
            let single = fhd & 0x20 != 0
            let fcsFlag = Int(fhd >> 6)
            guard fcsFlag != 0 || single else { return nil }
            let dictBytes = [0, 1, 2, 4][Int(fhd & 3)]
            let fcsBytes = [1, 2, 4, 8][fcsFlag]
            var p = pos + 5 + (single ? 0 : 1) + dictBytes
            guard n - p >= fcsBytes else { return nil }
            var v: UInt64 = 0
            for k in 0..<fcsBytes { v |= UInt64(base[p + k]) << (8 * UInt64(k)) }
            if fcsBytes == 2 { v += 256 }
            guard v < 1 << 40 else { return nil }
            total += Int(v)
            p += fcsBytes
            while true {
                guard n - p >= 3 else { return nil }
                let bh = Int(base[p]) | Int(base[p + 1]) << 8 | Int(base[p + 2]) << 16
                p += 3 + ((bh >> 1) & 3 == 1 ? 1 : bh >> 3)
                guard p <= n else { return nil }
                if bh & 1 != 0 { break }
            }
            if fhd & 0x04 != 0 { p += 4 }
            pos = p
        }
        return total
    }

    static func decodeFrames(_ base: UnsafePointer<UInt8>, _ n: Int, _ out: inout OutputBuffer) throws {
        var pos = 0
        var frames = 0
        @inline(__always) func read32(_ p: Int) -> UInt32 {
            UInt32(base[p]) | UInt32(base[p + 1]) << 8 | UInt32(base[p + 2]) << 16 | UInt32(base[p + 3]) << 24
        }
        while pos < n {
            guard n - pos >= 4 else { throw CodecError(.truncated, "zstd frame magic") }
            let magic = read32(pos)
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                guard n - pos >= 8 else { throw CodecError(.truncated, "zstd skippable frame size") }
                let size = Int(read32(pos + 4))
                guard n - pos - 8 >= size else { throw CodecError(.truncated, "zstd skippable frame") }
                pos += 8 + size
                frames += 1
                continue
            }
            guard magic == ZstdTables.magic else {
                throw CodecError(.corrupt, "zstd frame magic", detail: "0x\(String(magic, radix: 16))")
            }
            pos = try decodeFrame(base, n, pos + 4, &out)
            frames += 1
        }
        guard frames > 0 else { throw CodecError(.corrupt, "zstd: no frame") }
    }

    /// Decodes one frame whose header starts at `pos`; returns the position after it.
    static func decodeFrame(_ base: UnsafePointer<UInt8>, _ n: Int, _ start: Int, _ out: inout OutputBuffer) throws -> Int {
        var pos = start
        guard pos < n else { throw CodecError(.truncated, "zstd frame header") }
        let fhd = base[pos]
        pos += 1
        let fcsFlag = Int(fhd >> 6)
        let singleSegment = fhd & 0x20 != 0
        guard fhd & 0x08 == 0 else { throw CodecError(.corrupt, "zstd frame header reserved bit") }
        let checksumFlag = fhd & 0x04 != 0
        let dictFlag = Int(fhd & 3)
        let dictBytes = [0, 1, 2, 4][dictFlag]
        let fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]
        let headerRest = (singleSegment ? 0 : 1) + dictBytes + fcsBytes
        guard n - pos >= headerRest else { throw CodecError(.truncated, "zstd frame header") }
        var windowSize: UInt64 = 0
        if !singleSegment {
            let wd = base[pos]
            pos += 1
            let exponent = UInt64(wd >> 3), mantissa = UInt64(wd & 7)
            let windowLog = 10 + exponent
            let windowBase: UInt64 = 1 << windowLog
            windowSize = windowBase + (windowBase / 8) * mantissa
        }
        var dictID: UInt32 = 0
        for k in 0..<dictBytes { dictID |= UInt32(base[pos + k]) << (8 * UInt32(k)) }
        pos += dictBytes
        if dictID != 0 { throw CodecError(.unsupported, "zstd frame needs dictionary \(dictID)") }
        var contentSize: UInt64? = nil
        if fcsBytes > 0 {
            var v: UInt64 = 0
            for k in 0..<fcsBytes { v |= UInt64(base[pos + k]) << (8 * UInt64(k)) }
            if fcsBytes == 2 { v += 256 }
            contentSize = v
            pos += fcsBytes
        }
        if singleSegment { windowSize = contentSize ?? 0 }
        if let cs = contentSize {
            _ = try codecCheckedSize(cs, max: out.limit - out.count, "zstd frame content size")
            if cs > 0 { try out.reserve(Int(cs), "zstd frame") }
        }
        let blockMax = Int(min(windowSize, UInt64(ZstdTables.blockSizeMax)))
        let frameStart = out.count
        var state = ZstdFrameState()
        defer { state.free() }
        while true {
            guard n - pos >= 3 else { throw CodecError(.truncated, "zstd block header") }
            let bh = Int(base[pos]) | Int(base[pos + 1]) << 8 | Int(base[pos + 2]) << 16
            pos += 3
            let last = bh & 1 != 0
            let type = (bh >> 1) & 3
            let size = bh >> 3
            switch type {
            case 0:  // raw
                guard size <= blockMax else { throw CodecError(.corrupt, "zstd raw block size \(size) over \(blockMax)") }
                guard n - pos >= size else { throw CodecError(.truncated, "zstd raw block") }
                try out.append(UnsafeRawBufferPointer(start: base + pos, count: size), "zstd")
                pos += size
            case 1:  // RLE: one byte, repeated `size` times
                guard size <= blockMax else { throw CodecError(.corrupt, "zstd RLE block size \(size) over \(blockMax)") }
                guard n - pos >= 1 else { throw CodecError(.truncated, "zstd RLE block") }
                try out.reserve(size, "zstd")
                (out.base + out.count).initialize(repeating: base[pos], count: size)
                out.count += size
                pos += 1
            case 2:
                guard size <= blockMax else { throw CodecError(.corrupt, "zstd compressed block size \(size) over \(blockMax)") }
                guard n - pos >= size else { throw CodecError(.truncated, "zstd compressed block") }
                try decodeCompressedBlock(base + pos, size, &out, frameStart: frameStart, blockMax: blockMax, &state)
                pos += size
            default:
                throw CodecError(.corrupt, "zstd reserved block type")
            }
            if last { break }
        }
        let produced = out.count - frameStart
        if let cs = contentSize, cs != UInt64(produced) {
            throw CodecError(.corrupt, "zstd frame content size \(cs), decoded \(produced)")
        }
        if checksumFlag {
            guard n - pos >= 4 else { throw CodecError(.truncated, "zstd content checksum") }
            var h = XXHash64()
            h.update(UnsafeRawBufferPointer(start: out.base + frameStart, count: produced))
            let want = UInt32(base[pos]) | UInt32(base[pos + 1]) << 8 | UInt32(base[pos + 2]) << 16 | UInt32(base[pos + 3]) << 24
            guard UInt32(truncatingIfNeeded: h.finalize()) == want else {
                throw CodecError(.checksumMismatch, "zstd content checksum")
            }
            pos += 4
        }
        return pos
    }

    static func decodeCompressedBlock(_ src: UnsafePointer<UInt8>, _ size: Int, _ out: inout OutputBuffer,
                                      frameStart: Int, blockMax: Int, _ st: inout ZstdFrameState) throws {
        // Literals section (§3.1.1.3.1).
        guard size >= 1 else { throw CodecError(.truncated, "zstd literals header") }
        let b0 = Int(src[0])
        let litType = b0 & 3
        let sizeFormat = (b0 >> 2) & 3
        var ip = 0
        var litCount = 0
        var litPtr: UnsafePointer<UInt8>
        var litSafe = false  // may literals be over-read by 16 bytes?
        switch litType {
        case 0, 1:
            switch sizeFormat {
            case 0, 2:
                litCount = b0 >> 3; ip = 1
            case 1:
                guard size >= 2 else { throw CodecError(.truncated, "zstd literals header") }
                litCount = (b0 >> 4) | Int(src[1]) << 4; ip = 2
            default:
                guard size >= 3 else { throw CodecError(.truncated, "zstd literals header") }
                litCount = (b0 >> 4) | Int(src[1]) << 4 | Int(src[2]) << 12; ip = 3
            }
            guard litCount <= ZstdTables.blockSizeMax else { throw CodecError(.corrupt, "zstd literals size") }
            if litType == 0 {
                guard size - ip >= litCount else { throw CodecError(.truncated, "zstd raw literals") }
                litPtr = src + ip
                ip += litCount
                litSafe = size - ip >= 16
            } else {
                guard size - ip >= 1 else { throw CodecError(.truncated, "zstd RLE literals") }
                st.literals.initialize(repeating: src[ip], count: litCount)
                litPtr = UnsafePointer(st.literals)
                litSafe = true
                ip += 1
            }
        default:
            var compSize = 0
            var streams = 4
            switch sizeFormat {
            case 0, 1:
                guard size >= 3 else { throw CodecError(.truncated, "zstd literals header") }
                let v = b0 | Int(src[1]) << 8 | Int(src[2]) << 16
                litCount = (v >> 4) & 0x3FF; compSize = (v >> 14) & 0x3FF; ip = 3
                if sizeFormat == 0 { streams = 1 }
            case 2:
                guard size >= 4 else { throw CodecError(.truncated, "zstd literals header") }
                let v = b0 | Int(src[1]) << 8 | Int(src[2]) << 16 | Int(src[3]) << 24
                litCount = (v >> 4) & 0x3FFF; compSize = (v >> 18) & 0x3FFF; ip = 4
            default:
                guard size >= 5 else { throw CodecError(.truncated, "zstd literals header") }
                let v = b0 | Int(src[1]) << 8 | Int(src[2]) << 16 | Int(src[3]) << 24 | Int(src[4]) << 32
                litCount = (v >> 4) & 0x3FFFF; compSize = (v >> 22) & 0x3FFFF; ip = 5
            }
            guard litCount <= ZstdTables.blockSizeMax else { throw CodecError(.corrupt, "zstd literals size") }
            guard size - ip >= compSize else { throw CodecError(.truncated, "zstd compressed literals") }
            var p = src + ip
            var remaining = compSize
            if litType == 2 {
                let (table, used) = try HuffmanTable.read(p, remaining)
                st.huffman = table
                p += used
                remaining -= used
            }
            guard let huf = st.huffman else { throw CodecError(.corrupt, "zstd treeless literals without a previous table") }
            if streams == 1 {
                try huf.decodeStream(p, remaining, st.literals, litCount)
            } else {
                guard remaining >= 6 else { throw CodecError(.truncated, "zstd literals jump table") }
                let s1 = Int(p[0]) | Int(p[1]) << 8
                let s2 = Int(p[2]) | Int(p[3]) << 8
                let s3 = Int(p[4]) | Int(p[5]) << 8
                let total = remaining - 6
                guard s1 + s2 + s3 <= total else { throw CodecError(.corrupt, "zstd literals jump table") }
                let s4 = total - s1 - s2 - s3
                let seg = (litCount + 3) / 4
                guard seg * 3 <= litCount else { throw CodecError(.corrupt, "zstd literals too few for 4 streams") }
                let q = p + 6
                try huf.decode4Streams(q, sizes: (s1, s2, s3, s4), st.literals, seg: seg, n: litCount)
            }
            litPtr = UnsafePointer(st.literals)
            litSafe = true
            ip += compSize
        }

        // Sequences section (§3.1.1.3.2).
        guard size - ip >= 1 else { throw CodecError(.truncated, "zstd sequences header") }
        var nbSeq = Int(src[ip])
        ip += 1
        if nbSeq >= 128 {
            if nbSeq == 255 {
                guard size - ip >= 2 else { throw CodecError(.truncated, "zstd sequence count") }
                nbSeq = Int(src[ip]) + Int(src[ip + 1]) << 8 + 0x7F00
                ip += 2
            } else {
                guard size - ip >= 1 else { throw CodecError(.truncated, "zstd sequence count") }
                nbSeq = (nbSeq - 128) << 8 + Int(src[ip])
                ip += 1
            }
        }
        let avail = try out.reserveUpTo(ZstdTables.blockSizeMax, "zstd")
        let overflowCode: CodecError.Code = avail < ZstdTables.blockSizeMax ? out.overflowCode : .corrupt
        let opEnd = out.count + avail
        let dst = out.base
        var op = out.count
        if nbSeq == 0 {
            guard ip == size else { throw CodecError(.corrupt, "zstd bytes after an empty sequences section") }
            guard opEnd - op >= litCount else { throw CodecError(overflowCode, "zstd literals past the output end") }
            (dst + op).update(from: litPtr, count: litCount)
            out.count = op + litCount
            return
        }
        guard size - ip >= 1 else { throw CodecError(.truncated, "zstd sequence modes") }
        let modes = Int(src[ip])
        ip += 1
        guard modes & 3 == 0 else { throw CodecError(.corrupt, "zstd sequence modes reserved bits") }
        func table(_ mode: Int, _ slot: inout FSETable?, predefined: FSETable, maxLog: Int, maxSymbol: Int,
                   _ kind: SequenceKind, _ what: String) throws {
            switch mode {
            case 0: slot = predefined
            case 1:
                guard size - ip >= 1 else { throw CodecError(.truncated, "zstd \(what) RLE symbol") }
                guard Int(src[ip]) <= maxSymbol else { throw CodecError(.corrupt, "zstd \(what) RLE symbol") }
                slot = FSETable.rle(src[ip]).annotated(kind)
                ip += 1
            case 2:
                let (t, used) = try FSETable.read(src + ip, size - ip, maxLog: maxLog, maxSymbol: maxSymbol)
                slot = t.annotated(kind)
                ip += used
            default:
                guard slot != nil else { throw CodecError(.corrupt, "zstd \(what) repeat mode without a previous table") }
            }
        }
        try table(modes >> 6, &st.llTable, predefined: predefinedLL, maxLog: ZstdTables.llMaxLog,
                  maxSymbol: ZstdTables.llMaxSymbol, .literalLength, "literal lengths")
        try table((modes >> 4) & 3, &st.ofTable, predefined: predefinedOF, maxLog: ZstdTables.ofMaxLog,
                  maxSymbol: ZstdTables.ofMaxSymbol, .offset, "offsets")
        try table((modes >> 2) & 3, &st.mlTable, predefined: predefinedML, maxLog: ZstdTables.mlMaxLog,
                  maxSymbol: ZstdTables.mlMaxSymbol, .matchLength, "match lengths")
        guard size - ip >= 1 else { throw CodecError(.truncated, "zstd sequences bitstream") }
        var bits = try BackwardBits(src + ip, count: size - ip)
        let llT = st.llTable!, ofT = st.ofTable!, mlT = st.mlTable!
        var (rep1, rep2, rep3) = st.reps
        var litPos = 0
        try llT.cells.withUnsafeBufferPointer { llc in
        try ofT.cells.withUnsafeBufferPointer { ofc in
        try mlT.cells.withUnsafeBufferPointer { mlc in
            var llState = Int(bits.read(llT.accuracyLog))
            var ofState = Int(bits.read(ofT.accuracyLog))
            var mlState = Int(bits.read(mlT.accuracyLog))
            bits.reload()
            for seq in 0..<nbSeq {
                let llCell = llc[llState], ofCell = ofc[ofState], mlCell = mlc[mlState]
                // Extra bits: offset, then match length, then literal length. After a reload at
                // least 57 bits are there: reload between when more are needed.
                let ofExtra = Int(ofCell.extra), mlExtra = Int(mlCell.extra), llExtra = Int(llCell.extra)
                var offsetValue = Int(ofCell.base) &+ Int(bits.read(ofExtra))
                if ofExtra &+ mlExtra &+ llExtra > 50 { bits.reload() }
                let ml = Int(mlCell.base) &+ Int(bits.read(mlExtra))
                let ll = Int(llCell.base) &+ Int(bits.read(llExtra))
                // Repeat offsets (§3.1.1.5).
                var offset: Int
                if offsetValue > 3 {
                    offset = offsetValue - 3
                    rep3 = rep2; rep2 = rep1; rep1 = offset
                } else {
                    if ll == 0 { offsetValue += 1 }
                    switch offsetValue {
                    case 1: offset = rep1
                    case 2: offset = rep2; rep2 = rep1; rep1 = offset
                    case 3: offset = rep3; rep3 = rep2; rep2 = rep1; rep1 = offset
                    default:
                        offset = rep1 - 1
                        guard offset > 0 else { throw CodecError(.corrupt, "zstd repeat offset 0") }
                        rep3 = rep2; rep2 = rep1; rep1 = offset
                    }
                }
                // Execute: literals, then the match.
                guard litCount &- litPos >= ll else { throw CodecError(.corrupt, "zstd sequence uses more literals than decoded") }
                guard opEnd &- op >= ll &+ ml else { throw CodecError(overflowCode, "zstd sequence past the block end") }
                copyLiterals(dst + op, litPtr + litPos, ll, srcSafe: litSafe || litCount &- litPos &- ll >= 16)
                op &+= ll
                litPos &+= ll
                guard offset <= op &- frameStart else { throw CodecError(.corrupt, "zstd offset \(offset) before the frame start") }
                copyMatch(dst + op, offset: offset, length: ml)
                op &+= ml
                if seq &+ 1 < nbSeq {
                    // State updates (literal length, match length, offset) read at most
                    // llMaxLog + mlMaxLog + ofMaxLog bits: refill only when fewer remain.
                    if bits.consumed > 64 - ZstdTables.stateBitsMax { bits.reload() }
                    llState = Int(llCell.baseline) &+ Int(bits.read(Int(llCell.nbBits)))
                    mlState = Int(mlCell.baseline) &+ Int(bits.read(Int(mlCell.nbBits)))
                    ofState = Int(ofCell.baseline) &+ Int(bits.read(Int(ofCell.nbBits)))
                    bits.reload()
                    if bits.overflowed { throw CodecError(.corrupt, "zstd sequences bitstream overread") }
                }
            }
        }}}
        bits.reload()
        guard bits.finished else { throw CodecError(.corrupt, "zstd sequences bitstream does not end where it should") }
        st.reps = (rep1, rep2, rep3)
        let rest = litCount - litPos
        guard opEnd - op >= rest else { throw CodecError(overflowCode, "zstd literals past the block end") }
        (dst + op).update(from: litPtr + litPos, count: rest)
        op += rest
        guard op - out.count <= blockMax || blockMax == 0 else {
            throw CodecError(.corrupt, "zstd block decodes to more than its maximum")
        }
        out.count = op
    }
}

public enum Zstd {
    /// Decompresses every frame in `input` (skippable frames are skipped), verifying content
    /// checksums and declared sizes. The output may not exceed `maxOutput` bytes.
    public static func decompress(_ input: [UInt8], maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        try input.withUnsafeBytes { try ZstdDecoder.decompress($0, maxOutput: maxOutput) }
    }

    /// Decompresses from raw memory (e.g. a ByteBuffer's readable bytes).
    public static func decompress(_ input: UnsafeRawBufferPointer, maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] {
        try ZstdDecoder.decompress(input, maxOutput: maxOutput)
    }
}
