// A fast Zstandard encoder: greedy hash-table LZ matching with a repeat-offset check, literals
// Huffman-compressed (or raw/RLE), sequences coded with the predefined FSE distributions, raw or
// RLE blocks when that is smaller, and the xxHash64 content checksum. Frames follow RFC 8878.

/// Forward bit writer (LSB first) for the bitstreams that zstd reads backward.
struct BitWriter {
    let dst: UnsafeMutablePointer<UInt8>
    var pos: Int
    var acc: UInt64 = 0
    var bits = 0

    init(_ dst: UnsafeMutablePointer<UInt8>, at pos: Int) {
        self.dst = dst
        self.pos = pos
    }

    /// Appends the low `n` (<= 32) bits of `v`.
    @inline(__always) mutating func add(_ v: UInt64, _ n: Int) {
        acc |= (v & ((1 << UInt64(n)) &- 1)) << UInt64(bits)
        bits += n
        if bits >= 32 {
            UnsafeMutableRawPointer(dst + pos).storeBytes(of: UInt32(truncatingIfNeeded: acc).littleEndian, as: UInt32.self)
            pos += 4
            acc >>= 32
            bits -= 32
        }
    }

    /// Adds the end mark and writes the last partial bytes; returns the end position.
    mutating func close() -> Int {
        add(1, 1)
        while bits > 0 {
            dst[pos] = UInt8(truncatingIfNeeded: acc)
            pos += 1
            acc >>= 8
            bits -= 8
        }
        return pos
    }
}

/// FSE encoding tables built from a normalized distribution (the same spread as decoding).
struct FSEEncoder {
    var stateTable: [UInt16]
    var deltaNbBits: [Int32]
    var deltaFindState: [Int32]
    let accuracyLog: Int

    init(norm: [Int16], accuracyLog al: Int) {
        accuracyLog = al
        let size = 1 << al
        let symbols = norm.count
        var spread = [Int](repeating: 0, count: size)
        var high = size - 1
        for s in 0..<symbols where norm[s] == -1 { spread[high] = s; high -= 1 }
        let step = (size >> 1) + (size >> 3) + 3
        var pos = 0
        for s in 0..<symbols where norm[s] > 0 {
            for _ in 0..<Int(norm[s]) {
                spread[pos] = s
                repeat { pos = (pos + step) & (size - 1) } while pos > high
            }
        }
        var cumul = [Int](repeating: 0, count: symbols + 1)
        for s in 0..<symbols { cumul[s + 1] = cumul[s] + (norm[s] == -1 ? 1 : Int(max(0, norm[s]))) }
        stateTable = [UInt16](repeating: 0, count: size)
        for u in 0..<size {
            let s = spread[u]
            stateTable[cumul[s]] = UInt16(size + u)
            cumul[s] += 1
        }
        deltaNbBits = [Int32](repeating: 0, count: symbols)
        deltaFindState = [Int32](repeating: 0, count: symbols)
        var total = 0
        for s in 0..<symbols {
            let n = Int(norm[s])
            switch n {
            case 0:
                deltaNbBits[s] = Int32(((al + 1) << 16) - size)
            case -1, 1:
                deltaNbBits[s] = Int32((al << 16) - size)
                deltaFindState[s] = Int32(total - 1)
                total += 1
            default:
                let maxBitsOut = al - highBit(UInt32(n - 1))
                let minStatePlus = n << maxBitsOut
                deltaNbBits[s] = Int32((maxBitsOut << 16) - minStatePlus)
                deltaFindState[s] = Int32(total - n)
                total += n
            }
        }
    }

    /// The state after encoding the first symbol (the last sequence's).
    @inline(__always) func initialState(_ s: Int) -> Int {
        let nbBitsOut = (Int(deltaNbBits[s]) + (1 << 15)) >> 16
        let value = (nbBitsOut << 16) - Int(deltaNbBits[s])
        return Int(stateTable[(value >> nbBitsOut) + Int(deltaFindState[s])])
    }

    @inline(__always) func encode(_ state: inout Int, _ s: Int, _ w: inout BitWriter) {
        let nbBitsOut = (state + Int(deltaNbBits[s])) >> 16
        w.add(UInt64(state), nbBitsOut)
        state = Int(stateTable[(state >> nbBitsOut) + Int(deltaFindState[s])])
    }

    @inline(__always) func flush(_ state: Int, _ w: inout BitWriter) {
        w.add(UInt64(state), accuracyLog)
    }
}

enum ZstdEncoder {
    static let llEncoder = FSEEncoder(norm: ZstdTables.llDefault, accuracyLog: ZstdTables.llDefaultLog)
    static let mlEncoder = FSEEncoder(norm: ZstdTables.mlDefault, accuracyLog: ZstdTables.mlDefaultLog)
    static let ofEncoder = FSEEncoder(norm: ZstdTables.ofDefault, accuracyLog: ZstdTables.ofDefaultLog)

    /// Literal-length code for lengths below 64 (larger ones are highBit + 19).
    static let llCodeSmall: [UInt8] = (0..<64).map { v in
        UInt8(ZstdTables.llBase.lastIndex { Int($0) <= v }!)
    }
    /// Match-length code for (length - 3) below 128 (larger ones are highBit + 36).
    static let mlCodeSmall: [UInt8] = (0..<128).map { v in
        UInt8(ZstdTables.mlBase.lastIndex { Int($0) <= v + 3 }!)
    }

    @inline(__always) static func llCode(_ ll: Int) -> Int {
        ll < 64 ? Int(llCodeSmall[ll]) : highBit(UInt32(ll)) + 19
    }
    @inline(__always) static func mlCode(_ mlBase: Int) -> Int {
        mlBase < 128 ? Int(mlCodeSmall[mlBase]) : highBit(UInt32(mlBase)) + 36
    }

    static let windowLog = 23
    static let maxOffset = (1 << windowLog) - ZstdTables.blockSizeMax
    static let maxHashLog = 16

    struct Sequence {
        var litLength: UInt32
        var matchLength: UInt32
        /// Offset_Value as coded: a repeat code (1...3) or offset + 3.
        var offsetValue: UInt32
    }

    static func compress(_ input: UnsafeBufferPointer<UInt8>, level: Int) -> [UInt8] {
        let n = input.count
        let blockMax = ZstdTables.blockSizeMax
        let blocks = max(1, (n + blockMax - 1) / blockMax)
        let capacity = 32 + n + blocks * 3
        return [UInt8](unsafeUninitializedCapacity: capacity) { buf, count in
            let dst = buf.baseAddress!
            var op = 0
            // Frame header: magic, descriptor, [window], content size.
            for b: UInt8 in [0x28, 0xB5, 0x2F, 0xFD] { dst[op] = b; op += 1 }
            let single = n <= (1 << windowLog)
            let fcsFlag: Int
            let fcsBytes: Int
            switch n {
            case ..<256: fcsFlag = single ? 0 : 1; fcsBytes = single ? 1 : 2
            case ..<65792: fcsFlag = 1; fcsBytes = 2
            case ..<(1 << 32): fcsFlag = 2; fcsBytes = 4
            default: fcsFlag = 3; fcsBytes = 8
            }
            dst[op] = UInt8(fcsFlag << 6) | (single ? 0x20 : 0) | 0x04
            op += 1
            if !single { dst[op] = UInt8((windowLog - 10) << 3); op += 1 }
            var fcs = UInt64(n)
            if fcsBytes == 2 { fcs -= 256 }
            for _ in 0..<fcsBytes { dst[op] = UInt8(truncatingIfNeeded: fcs); fcs >>= 8; op += 1 }

            guard let src = input.baseAddress, n > 0 else {
                // One empty raw block, last.
                dst[op] = 1; dst[op + 1] = 0; dst[op + 2] = 0; op += 3
                let h = UInt32(truncatingIfNeeded: XXHash64.hash([]))
                for k in 0..<4 { dst[op] = UInt8(truncatingIfNeeded: h >> (8 * UInt32(k))); op += 1 }
                count = op
                return
            }
            var ctx = Context(src: src, n: n)
            defer { ctx.free() }
            var pos = 0
            while pos < n {
                let len = min(blockMax, n - pos)
                let last = pos + len == n
                op = ctx.emitBlock(start: pos, length: len, last: last, dst: dst, op: op)
                pos += len
            }
            let h = UInt32(truncatingIfNeeded: XXHash64.hash(UnsafeRawBufferPointer(input)))
            for k in 0..<4 { dst[op] = UInt8(truncatingIfNeeded: h >> (8 * UInt32(k))); op += 1 }
            count = op
        }
    }

    /// Match-finder and entropy state across the blocks of one frame.
    struct Context {
        let src: UnsafePointer<UInt8>
        let n: Int
        let table: UnsafeMutablePointer<UInt32>
        let literals: UnsafeMutablePointer<UInt8>
        let sequences: UnsafeMutablePointer<Sequence>
        let scratch: UnsafeMutablePointer<UInt8>
        /// Sized to the input so small batches do not pay for a 128 KiB block's tables.
        let scratchSize: Int
        let hashLog: Int
        var rep1 = 1, rep2 = 4, rep3 = 8

        init(src: UnsafePointer<UInt8>, n: Int) {
            self.src = src
            self.n = n
            let block = min(n, ZstdTables.blockSizeMax)
            hashLog = min(ZstdEncoder.maxHashLog, max(8, highBit(UInt32(block)) + 2))
            scratchSize = 4 * block + 4096
            table = .allocate(capacity: 1 << hashLog)
            table.initialize(repeating: UInt32.max, count: 1 << hashLog)
            literals = .allocate(capacity: block + 16)
            sequences = .allocate(capacity: block / 3 + 1)
            scratch = .allocate(capacity: scratchSize)
        }

        func free() {
            table.deallocate(); literals.deallocate(); sequences.deallocate(); scratch.deallocate()
        }

        @inline(__always) func hash(_ p: Int) -> Int {
            // 5 bytes hashed (the low 40 bits of a little-endian load).
            let v = UInt64(littleEndian: UnsafeRawPointer(src + p).loadUnaligned(as: UInt64.self)) << 24
            return Int((v &* 0xCF1B_BCDC_BB00_0000) >> UInt64(64 - hashLog))
        }

        @inline(__always) func matchLength(_ a0: Int, _ b0: Int, limit: Int) -> Int {
            var a = a0, b = b0
            while a + 8 <= limit {
                let x = load64(src + a) ^ load64(src + b)
                if x != 0 { return a - a0 + x.trailingZeroBitCount >> 3 }
                a += 8; b += 8
            }
            while a < limit && src[a] == src[b] { a += 1; b += 1 }
            return a - a0
        }

        /// Finds the sequences of one block; returns (sequence count, literal count).
        mutating func findSequences(start: Int, length: Int) -> (Int, Int) {
            let end = start + length
            // Hashing reads 8 bytes: stop 8 bytes before the input's end; a match's first 4
            // bytes must lie in this block.
            let searchEnd = min(end - 4, n - 8)
            var nSeq = 0
            var nLit = 0
            var anchor = start
            var ip = start
            var step = 1 << 6
            while ip < searchEnd {
                var mlen = 0
                var offsetValue = 0
                var mstart = ip
                // Repeat offset first (only with literals before it, as a repeat code means rep1 then).
                if ip > anchor, rep1 <= ip, load32(src + ip - rep1) == load32(src + ip) {
                    mlen = 4 + matchLength(ip + 4, ip + 4 - rep1, limit: end)
                    offsetValue = 1
                } else {
                    let h = hash(ip)
                    let cand = Int(table[h])
                    table[h] = UInt32(ip)
                    if cand != Int(UInt32.max), ip - cand <= maxOffset, load32(src + cand) == load32(src + ip) {
                        var c = cand
                        mlen = 4 + matchLength(ip + 4, c + 4, limit: end)
                        // Extend backwards over pending literals.
                        while mstart > anchor && c > 0 && src[mstart - 1] == src[c - 1] {
                            mstart -= 1; c -= 1; mlen += 1
                        }
                        let off = mstart - c
                        offsetValue = off + 3
                    }
                }
                if mlen == 0 {
                    ip += step >> 6
                    step += 1
                    continue
                }
                step = 1 << 6
                let ll = mstart - anchor
                (literals + nLit).update(from: src + anchor, count: ll)
                nLit += ll
                if offsetValue > 3 {
                    rep3 = rep2; rep2 = rep1; rep1 = offsetValue - 3
                }
                sequences[nSeq] = Sequence(litLength: UInt32(ll), matchLength: UInt32(mlen), offsetValue: UInt32(offsetValue))
                nSeq += 1
                ip = mstart + mlen
                anchor = ip
                // Seed the table inside the match so later data finds it.
                if ip < searchEnd {
                    table[hash(ip - 2)] = UInt32(ip - 2)
                    let mid = mstart + mlen / 2
                    if mid > mstart && mid < searchEnd { table[hash(mid)] = UInt32(mid) }
                }
            }
            let rest = end - anchor
            (literals + nLit).update(from: src + anchor, count: rest)
            nLit += rest
            return (nSeq, nLit)
        }

        mutating func emitBlock(start: Int, length: Int, last: Bool, dst: UnsafeMutablePointer<UInt8>, op op0: Int) -> Int {
            var op = op0
            let savedReps = (rep1, rep2, rep3)
            // All one byte: an RLE block.
            let first = src[start]
            var same = true
            var i = start + 1
            while i < start + length { if src[i] != first { same = false; break }; i += 1 }
            if same {
                let header = UInt32(length) << 3 | 1 << 1 | (last ? 1 : 0)
                dst[op] = UInt8(truncatingIfNeeded: header); dst[op + 1] = UInt8(truncatingIfNeeded: header >> 8)
                dst[op + 2] = UInt8(truncatingIfNeeded: header >> 16); dst[op + 3] = first
                return op + 4
            }
            let (nSeq, nLit) = findSequences(start: start, length: length)
            let size = encodeBlockBody(nSeq: nSeq, nLit: nLit)
            if let size, size < length {
                let header = UInt32(size) << 3 | 2 << 1 | (last ? 1 : 0)
                dst[op] = UInt8(truncatingIfNeeded: header); dst[op + 1] = UInt8(truncatingIfNeeded: header >> 8)
                dst[op + 2] = UInt8(truncatingIfNeeded: header >> 16)
                (dst + op + 3).update(from: scratch, count: size)
                return op + 3 + size
            }
            // Raw block; the decoder's repeat offsets do not move, so neither do ours.
            (rep1, rep2, rep3) = savedReps
            let header = UInt32(length) << 3 | (last ? 1 : 0)
            dst[op] = UInt8(truncatingIfNeeded: header); dst[op + 1] = UInt8(truncatingIfNeeded: header >> 8)
            dst[op + 2] = UInt8(truncatingIfNeeded: header >> 16)
            op += 3
            (dst + op).update(from: src + start, count: length)
            return op + length
        }

        /// Writes the literals and sequences sections into `scratch`; nil when they do not fit.
        func encodeBlockBody(nSeq: Int, nLit: Int) -> Int? {
            var op = encodeLiterals(nLit)
            // Sequences section header.
            if nSeq < 128 {
                scratch[op] = UInt8(nSeq); op += 1
            } else if nSeq < 0x7F00 {
                scratch[op] = UInt8((nSeq >> 8) + 128); scratch[op + 1] = UInt8(nSeq & 0xFF); op += 2
            } else {
                scratch[op] = 255; scratch[op + 1] = UInt8((nSeq - 0x7F00) & 0xFF)
                scratch[op + 2] = UInt8((nSeq - 0x7F00) >> 8); op += 3
            }
            if nSeq == 0 { return op }
            guard op + nSeq * 12 + 400 < scratchSize else { return nil }
            @inline(__always) func codes(_ s: Sequence) -> (Int, Int, Int) {
                (ZstdEncoder.llCode(Int(s.litLength)), ZstdEncoder.mlCode(Int(s.matchLength) - 3),
                 highBit(s.offsetValue))
            }
            // Per stream: the predefined distribution, or one fitted to this block's codes when
            // that is cheaper including its description (RFC 8878 §3.1.1.3.2.2, mode 2).
            var llHist = [Int](repeating: 0, count: ZstdTables.llMaxSymbol + 1)
            var mlHist = [Int](repeating: 0, count: ZstdTables.mlMaxSymbol + 1)
            var ofHist = [Int](repeating: 0, count: ZstdTables.ofMaxSymbol + 1)
            for k in 0..<nSeq {
                let c = codes(sequences[k])
                llHist[c.0] += 1; mlHist[c.1] += 1; ofHist[c.2] += 1
            }
            let llChoice = SequenceTableChoice(llHist, predefined: ZstdTables.llDefault, predefinedLog: ZstdTables.llDefaultLog,
                                               maxLog: ZstdTables.llMaxLog, count: nSeq)
            let ofChoice = SequenceTableChoice(ofHist, predefined: ZstdTables.ofDefault, predefinedLog: ZstdTables.ofDefaultLog,
                                               maxLog: ZstdTables.ofMaxLog, count: nSeq)
            let mlChoice = SequenceTableChoice(mlHist, predefined: ZstdTables.mlDefault, predefinedLog: ZstdTables.mlDefaultLog,
                                               maxLog: ZstdTables.mlMaxLog, count: nSeq)
            guard let llChoice, let ofChoice, let mlChoice else { return nil }
            scratch[op] = UInt8(llChoice.mode << 6 | ofChoice.mode << 4 | mlChoice.mode << 2)
            op += 1
            for choice in [llChoice, ofChoice, mlChoice] {
                for b in choice.description { scratch[op] = b; op += 1 }
            }
            var w = BitWriter(scratch, at: op)
            let ll = llChoice.encoder ?? ZstdEncoder.llEncoder
            let ml = mlChoice.encoder ?? ZstdEncoder.mlEncoder
            let of = ofChoice.encoder ?? ZstdEncoder.ofEncoder
            @inline(__always) func extras(_ s: Sequence, _ c: (Int, Int, Int), _ w: inout BitWriter) {
                w.add(UInt64(s.litLength - ZstdTables.llBase[c.0]), Int(ZstdTables.llBits[c.0]))
                w.add(UInt64(s.matchLength - ZstdTables.mlBase[c.1]), Int(ZstdTables.mlBits[c.1]))
                w.add(UInt64(s.offsetValue - (1 << UInt32(c.2))), c.2)
            }
            let lastSeq = sequences[nSeq - 1]
            let lc = codes(lastSeq)
            var mlState = ml.initialState(lc.1)
            var ofState = of.initialState(lc.2)
            var llState = ll.initialState(lc.0)
            extras(lastSeq, lc, &w)
            var k = nSeq - 2
            while k >= 0 {
                let s = sequences[k]
                let c = codes(s)
                of.encode(&ofState, c.2, &w)
                ml.encode(&mlState, c.1, &w)
                ll.encode(&llState, c.0, &w)
                extras(s, c, &w)
                k -= 1
            }
            ml.flush(mlState, &w)
            of.flush(ofState, &w)
            ll.flush(llState, &w)
            return w.close()
        }

        /// Writes the literals section at the start of `scratch`; returns its size.
        func encodeLiterals(_ nLit: Int) -> Int {
            if nLit >= 64, let size = HuffmanEncoder.compressLiterals(literals, nLit, into: scratch) {
                return size
            }
            var op = 0
            if nLit > 0 {
                var allSame = true
                for i in 1..<nLit where literals[i] != literals[0] { allSame = false; break }
                if allSame && nLit > 1 {
                    op = literalsHeader(type: 1, nLit)
                    scratch[op] = literals[0]
                    return op + 1
                }
            }
            op = literalsHeader(type: 0, nLit)
            (scratch + op).update(from: literals, count: nLit)
            return op + nLit
        }

        func literalsHeader(type: Int, _ nLit: Int) -> Int {
            if nLit < 32 {
                scratch[0] = UInt8(type | nLit << 3)
                return 1
            } else if nLit < 4096 {
                scratch[0] = UInt8(type | 1 << 2 | (nLit & 0xF) << 4); scratch[1] = UInt8(nLit >> 4)
                return 2
            } else {
                scratch[0] = UInt8(type | 3 << 2 | (nLit & 0xF) << 4); scratch[1] = UInt8((nLit >> 4) & 0xFF)
                scratch[2] = UInt8(nLit >> 12)
                return 3
            }
        }
    }
}

extension Zstd {
    /// Compresses `input` into one zstd frame (content size and checksum included). `level` is
    /// accepted for API symmetry; this encoder has one fast level.
    public static func compress(_ input: [UInt8], level: Int = 1) -> [UInt8] {
        input.withUnsafeBufferPointer { ZstdEncoder.compress($0, level: level) }
    }

    /// Compresses raw memory (e.g. a ByteBuffer's readable bytes) into one zstd frame.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int = 1) -> [UInt8] {
        ZstdEncoder.compress(input.assumingMemoryBound(to: UInt8.self), level: level)
    }
}

/// Which FSE distribution codes one sequence stream of a block: the predefined one (mode 0) or
/// one normalized from the block's histogram (mode 2, with its description).
struct SequenceTableChoice {
    var mode: Int
    var description: [UInt8]
    var encoder: FSEEncoder?

    /// Nil when no distribution can code the histogram (a code the predefined table lacks and no
    /// table could be built: does not happen for the codes this encoder makes).
    init?(_ hist: [Int], predefined: [Int16], predefinedLog: Int, maxLog: Int, count: Int) {
        let predefinedCost = SequenceTableChoice.cost(hist, predefined, predefinedLog)
        var best: (Double, [Int16], Int, [UInt8])? = nil
        if count >= 16, let (norm, al) = SequenceTableChoice.normalize(hist, count: count, maxLog: maxLog) {
            let desc = writeNCount(norm, accuracyLog: al)
            if let c = SequenceTableChoice.cost(hist, norm, al) {
                best = (c + Double(desc.count * 8), norm, al, desc)
            }
        }
        if let predefinedCost, best == nil || predefinedCost <= best!.0 {
            self.init(mode: 0, description: [], encoder: nil)
        } else if let best {
            self.init(mode: 2, description: best.3, encoder: FSEEncoder(norm: best.1, accuracyLog: best.2))
        } else {
            return nil
        }
    }

    init(mode: Int, description: [UInt8], encoder: FSEEncoder?) {
        self.mode = mode
        self.description = description
        self.encoder = encoder
    }

    /// log2 within about 0.09 bits, without libm.
    static func log2(_ x: Double) -> Double {
        Double(x.exponent) + (x.significand - 1)
    }

    /// Estimated bits to code the histogram with a distribution; nil when a used code is missing.
    static func cost(_ hist: [Int], _ norm: [Int16], _ al: Int) -> Double? {
        var bits = 0.0
        for (s, h) in hist.enumerated() where h > 0 {
            guard s < norm.count, norm[s] != 0 else { return nil }
            let p = norm[s] == -1 ? 1.0 : Double(norm[s])
            bits += Double(h) * (Double(al) - log2(p))
        }
        return bits
    }

    /// Normalizes a histogram to 2^al (every used code at least 1).
    static func normalize(_ hist: [Int], count: Int, maxLog: Int) -> ([Int16], Int)? {
        var last = hist.count - 1
        while last > 0 && hist[last] == 0 { last -= 1 }
        let distinct = hist.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        var al = min(maxLog, max(5, highBit(UInt32(count)) - 1))
        while (1 << al) < distinct * 2 && al < maxLog { al += 1 }
        let size = 1 << al
        guard distinct <= size else { return nil }
        var norm = [Int16](repeating: 0, count: last + 1)
        var sum = 0
        for s in 0...last where hist[s] > 0 {
            norm[s] = Int16(max(1, hist[s] * size / count))
            sum += Int(norm[s])
        }
        // Give the rounding difference to (or take it from) the most probable codes.
        let order = (0...last).sorted { norm[$0] > norm[$1] }
        var diff = size - sum
        if diff > 0 {
            norm[order[0]] += Int16(diff)
        } else {
            for s in order where diff < 0 {
                let take = min(-diff, Int(norm[s]) - 1)
                norm[s] -= Int16(take)
                diff += take
            }
            guard diff == 0 else { return nil }
        }
        return (norm, al)
    }
}

/// Writes an FSE table description (RFC 8878 §4.1.1, the inverse of `FSETable.read`).
func writeNCount(_ norm: [Int16], accuracyLog al: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 8 + norm.count * 2 + 16)
    let n = out.withUnsafeMutableBufferPointer { buf -> Int in
        var w = BitWriter(buf.baseAddress!, at: 0)
        w.add(UInt64(al - 5), 4)
        let size = 1 << al
        var remaining = size + 1
        var threshold = size
        var nbBits = al + 1
        var s = 0
        var previousZero = false
        while remaining > 1 && s < norm.count {
            if previousZero {
                var start = s
                while s < norm.count && norm[s] == 0 { s += 1 }
                while s >= start + 3 { w.add(3, 2); start += 3 }
                w.add(UInt64(s - start), 2)
            }
            let count = Int(norm[s])
            s += 1
            let maxv = (2 * threshold - 1) - remaining
            remaining -= abs(count)
            var value = count + 1
            if value >= threshold { value += maxv }
            w.add(UInt64(value), value < maxv ? nbBits - 1 : nbBits)
            previousZero = value == 1
            while remaining < threshold && threshold > 1 { nbBits -= 1; threshold >>= 1 }
        }
        // A forward stream: flush the partial byte, no end mark.
        while w.bits > 0 {
            buf[w.pos] = UInt8(truncatingIfNeeded: w.acc); w.pos += 1; w.acc >>= 8
            w.bits = max(0, w.bits - 8)
        }
        return w.pos
    }
    return Array(out[0..<n])
}
