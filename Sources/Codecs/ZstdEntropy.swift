// FSE and Huffman decoding tables for zstd (RFC 8878 §4.1 and §4.2).

/// One FSE decoding-table cell.
struct FSECell {
    /// The decoded symbol; in a sequence table, once `annotated`, the symbol's extra-bit count
    /// instead (RFC 8878 §3.1.1.3.2.1), which keeps a cell at 8 bytes.
    var symbol: UInt8
    var nbBits: UInt8
    var baseline: UInt16
    /// For sequence tables: the symbol's value baseline, so the hot loop needs no other table.
    var base: UInt32 = 0
    /// A sequence table's extra-bit count (valid after `annotated`).
    var extra: UInt8 { symbol }
}

enum SequenceKind { case literalLength, matchLength, offset }

/// An FSE decoding table (at most 2^9 cells for sequences, 2^6 for Huffman weights).
struct FSETable {
    var cells: [FSECell] = []
    var accuracyLog = 0

    /// Reads a table description (§4.1.1) from `src`; returns the table and the bytes used.
    static func read(_ src: UnsafePointer<UInt8>, _ count: Int, maxLog: Int, maxSymbol: Int) throws -> (FSETable, Int) {
        guard count > 0 else { throw CodecError(.truncated, "zstd FSE table description") }
        var bits = ForwardBits(src, count: count)
        let al = Int(bits.peek32() & 0xF) + 5
        bits.skip(4)
        guard al <= maxLog else { throw CodecError(.corrupt, "zstd FSE accuracy log \(al) over \(maxLog)") }
        var norm = [Int16](repeating: 0, count: maxSymbol + 1)
        var remaining = (1 << al) + 1
        var threshold = 1 << al
        var nbBits = al + 1
        var symbol = 0
        while remaining > 1 {
            guard symbol <= maxSymbol else { throw CodecError(.corrupt, "zstd FSE too many symbols") }
            let v = Int(bits.peek32())
            let maxv = (2 * threshold - 1) - remaining
            var value: Int
            if v & (threshold - 1) < maxv {
                value = v & (threshold - 1)
                bits.skip(nbBits - 1)
            } else {
                value = v & (2 * threshold - 1)
                if value >= threshold { value -= maxv }
                bits.skip(nbBits)
            }
            let prob = value - 1
            remaining -= prob < 0 ? -prob : prob
            norm[symbol] = Int16(prob)
            symbol += 1
            if prob == 0 {
                // Repeat flags: 2-bit counts of further zero-probability symbols.
                while true {
                    let r = Int(bits.peek32() & 3)
                    bits.skip(2)
                    symbol += r
                    guard symbol <= maxSymbol + 1 else { throw CodecError(.corrupt, "zstd FSE zero run") }
                    if r != 3 { break }
                }
            }
            while remaining < threshold && threshold > 1 {
                nbBits -= 1
                threshold >>= 1
            }
            guard bits.bytesUsed <= count else { throw CodecError(.truncated, "zstd FSE table description") }
        }
        guard remaining == 1 else { throw CodecError(.corrupt, "zstd FSE probabilities do not sum") }
        guard bits.bytesUsed <= count else { throw CodecError(.truncated, "zstd FSE table description") }
        let table = try build(norm: norm, symbols: symbol, accuracyLog: al)
        return (table, bits.bytesUsed)
    }

    /// Builds the decoding table from normalized counts (§4.1.1: spread, then states).
    static func build(norm: [Int16], symbols: Int, accuracyLog al: Int) throws -> FSETable {
        let size = 1 << al
        var cells = [FSECell](repeating: FSECell(symbol: 0, nbBits: 0, baseline: 0), count: size)
        var next = [Int](repeating: 0, count: max(symbols, 1))
        var high = size - 1
        for s in 0..<symbols where norm[s] == -1 {
            cells[high].symbol = UInt8(s)
            high -= 1
            next[s] = 1
        }
        let step = (size >> 1) + (size >> 3) + 3
        let mask = size - 1
        var pos = 0
        for s in 0..<symbols where norm[s] > 0 {
            next[s] = Int(norm[s])
            for _ in 0..<Int(norm[s]) {
                cells[pos].symbol = UInt8(s)
                repeat { pos = (pos + step) & mask } while pos > high
            }
        }
        guard pos == 0 else { throw CodecError(.corrupt, "zstd FSE table spread") }
        for u in 0..<size {
            let s = Int(cells[u].symbol)
            let n = next[s]
            next[s] += 1
            guard n > 0 else { throw CodecError(.corrupt, "zstd FSE table state") }
            let nb = al - highBit(UInt32(n))
            cells[u].nbBits = UInt8(nb)
            cells[u].baseline = UInt16((n << nb) - size)
        }
        return FSETable(cells: cells, accuracyLog: al)
    }

    /// Fills each cell's value baseline and extra bits for a sequence table.
    func annotated(_ kind: SequenceKind) -> FSETable {
        var t = self
        for i in 0..<t.cells.count {
            let sym = Int(t.cells[i].symbol)
            switch kind {
            case .literalLength:
                let c = min(sym, ZstdTables.llMaxSymbol)
                t.cells[i].base = ZstdTables.llBase[c]; t.cells[i].symbol = ZstdTables.llBits[c]
            case .matchLength:
                let c = min(sym, ZstdTables.mlMaxSymbol)
                t.cells[i].base = ZstdTables.mlBase[c]; t.cells[i].symbol = ZstdTables.mlBits[c]
            case .offset:
                let c = min(sym, ZstdTables.ofMaxSymbol)
                t.cells[i].base = UInt32(1) << UInt32(c); t.cells[i].symbol = UInt8(c)
            }
        }
        return t
    }

    /// A table that always yields `symbol` and reads no bits (RLE mode).
    static func rle(_ symbol: UInt8) -> FSETable {
        FSETable(cells: [FSECell(symbol: symbol, nbBits: 0, baseline: 0)], accuracyLog: 0)
    }
}

/// A Huffman decoding table for literals: 2^maxBits cells of (symbol, bits).
struct HuffmanTable {
    /// cell = symbol | nbBits << 8
    var cells: [UInt16] = []
    var maxBits = 0

    /// Reads a Huffman tree description (§4.2.1); returns the table and the bytes used.
    static func read(_ src: UnsafePointer<UInt8>, _ count: Int) throws -> (HuffmanTable, Int) {
        let (weights, numWeights, used) = try readWeights(src, count)
        return (try build(weights: weights, numWeights: numWeights), used)
    }

    /// Reads the weights of a tree description: (weights, how many, bytes used).
    static func readWeights(_ src: UnsafePointer<UInt8>, _ count: Int) throws -> ([UInt8], Int, Int) {
        guard count > 0 else { throw CodecError(.truncated, "zstd Huffman tree description") }
        let header = Int(src[0])
        var weights = [UInt8](repeating: 0, count: 256)
        var numWeights = 0
        var used = 0
        if header >= 128 {
            numWeights = header - 127
            let bytes = (numWeights + 1) / 2
            guard count - 1 >= bytes else { throw CodecError(.truncated, "zstd Huffman weights") }
            for i in 0..<numWeights {
                let b = src[1 + i / 2]
                weights[i] = i % 2 == 0 ? b >> 4 : b & 0xF
            }
            used = 1 + bytes
        } else {
            let csize = header
            guard csize > 0 else { throw CodecError(.corrupt, "zstd Huffman weights size 0") }
            guard count - 1 >= csize else { throw CodecError(.truncated, "zstd Huffman FSE weights") }
            let (fse, tused) = try FSETable.read(src + 1, csize, maxLog: 6, maxSymbol: 255)
            guard tused < csize else { throw CodecError(.truncated, "zstd Huffman FSE weights stream") }
            var bits = try BackwardBits(src + 1 + tused, count: csize - tused)
            let al = fse.accuracyLog
            try fse.cells.withUnsafeBufferPointer { cells in
                var s1 = Int(bits.read(al))
                var s2 = Int(bits.read(al))
                bits.reload()
                while true {
                    guard numWeights < 255 else { throw CodecError(.corrupt, "zstd Huffman too many weights") }
                    var c = cells[s1]
                    weights[numWeights] = c.symbol; numWeights += 1
                    s1 = Int(c.baseline) + Int(bits.read(Int(c.nbBits)))
                    bits.reload()
                    if bits.overflowed {
                        guard numWeights < 255 else { throw CodecError(.corrupt, "zstd Huffman too many weights") }
                        weights[numWeights] = cells[s2].symbol; numWeights += 1
                        break
                    }
                    guard numWeights < 255 else { throw CodecError(.corrupt, "zstd Huffman too many weights") }
                    c = cells[s2]
                    weights[numWeights] = c.symbol; numWeights += 1
                    s2 = Int(c.baseline) + Int(bits.read(Int(c.nbBits)))
                    bits.reload()
                    if bits.overflowed {
                        guard numWeights < 255 else { throw CodecError(.corrupt, "zstd Huffman too many weights") }
                        weights[numWeights] = cells[s1].symbol; numWeights += 1
                        break
                    }
                }
            }
            used = 1 + csize
        }
        return (weights, numWeights, used)
    }

    /// Builds the decoding table from explicit weights (the last one is implied).
    static func build(weights inWeights: [UInt8], numWeights: Int) throws -> HuffmanTable {
        var weights = inWeights
        // The last symbol's weight is implied: it completes the sum to a power of two.
        var total = 0
        for i in 0..<numWeights {
            let w = Int(weights[i])
            guard w <= 11 else { throw CodecError(.corrupt, "zstd Huffman weight \(w)") }
            if w > 0 { total += 1 << (w - 1) }
        }
        guard total > 0 else { throw CodecError(.corrupt, "zstd Huffman weights all zero") }
        let maxBits = highBit(UInt32(total)) + 1
        guard maxBits <= 11 else { throw CodecError(.corrupt, "zstd Huffman max bits \(maxBits)") }
        let rest = (1 << maxBits) - total
        guard rest > 0, rest & (rest - 1) == 0 else { throw CodecError(.corrupt, "zstd Huffman weights do not complete") }
        guard numWeights < 256 else { throw CodecError(.corrupt, "zstd Huffman too many symbols") }
        weights[numWeights] = UInt8(highBit(UInt32(rest)) + 1)
        let numSymbols = numWeights + 1
        // Fill: lowest weight (longest code) first, symbols in order within a weight.
        var cells = [UInt16](repeating: 0, count: 1 << maxBits)
        var pos = 0
        for w in 1...maxBits {
            let span = 1 << (w - 1)
            let nb = UInt16(maxBits + 1 - w)
            for s in 0..<numSymbols where Int(weights[s]) == w {
                let cell = UInt16(s) | nb << 8
                for k in 0..<span { cells[pos + k] = cell }
                pos += span
            }
        }
        guard pos == 1 << maxBits else { throw CodecError(.corrupt, "zstd Huffman table fill") }
        return HuffmanTable(cells: cells, maxBits: maxBits)
    }

    /// Decodes symbols `i..<n` of one stream into `dst`, reloading every four symbols.
    @inline(__always)
    static func decodeTail(_ bits: inout BackwardBits, _ t: UnsafePointer<UInt16>, _ mb: Int,
                           _ dst: UnsafeMutablePointer<UInt8>, from start: Int, to n: Int) throws {
        var i = start
        // Four symbols per reload: 4 * 11 bits < 57.
        while i + 4 <= n {
            bits.reload()
            if bits.overflowed { throw CodecError(.corrupt, "zstd Huffman stream overread") }
            for k in 0..<4 {
                let c = t[Int(bits.peek(mb))]
                dst[i + k] = UInt8(truncatingIfNeeded: c)
                bits.consumed += Int(c >> 8)
            }
            i += 4
        }
        bits.reload()
        while i < n {
            let c = t[Int(bits.peek(mb))]
            dst[i] = UInt8(truncatingIfNeeded: c)
            bits.consumed += Int(c >> 8)
            i += 1
        }
    }

    /// Decodes `n` symbols from one backward stream into `dst`; the stream must end exactly.
    func decodeStream(_ src: UnsafePointer<UInt8>, _ count: Int, _ dst: UnsafeMutablePointer<UInt8>, _ n: Int) throws {
        var bits = try BackwardBits(src, count: count)
        let mb = maxBits
        try cells.withUnsafeBufferPointer { tb in
            try HuffmanTable.decodeTail(&bits, tb.baseAddress!, mb, dst, from: 0, to: n)
        }
        guard bits.finished else { throw CodecError(.corrupt, "zstd Huffman stream does not end where it should") }
    }

    /// Decodes the four streams of a 4-stream literals section in lock step (they are
    /// independent, so the CPU overlaps their lookups). Streams 1-3 hold `seg` symbols, the
    /// fourth `n - 3 * seg`.
    func decode4Streams(_ q: UnsafePointer<UInt8>, sizes: (Int, Int, Int, Int), _ dst: UnsafeMutablePointer<UInt8>,
                        seg: Int, n: Int) throws {
        var b1 = try BackwardBits(q, count: sizes.0)
        var b2 = try BackwardBits(q + sizes.0, count: sizes.1)
        var b3 = try BackwardBits(q + sizes.0 + sizes.1, count: sizes.2)
        var b4 = try BackwardBits(q + sizes.0 + sizes.1 + sizes.2, count: sizes.3)
        let last = n - 3 * seg
        let d1 = dst, d2 = dst + seg, d3 = dst + 2 * seg, d4 = dst + 3 * seg
        let mb = maxBits
        try cells.withUnsafeBufferPointer { tb in
            let t = tb.baseAddress!
            var i = 0
            while i + 4 <= last {
                b1.reload(); b2.reload(); b3.reload(); b4.reload()
                if b1.overflowed || b2.overflowed || b3.overflowed || b4.overflowed {
                    throw CodecError(.corrupt, "zstd Huffman stream overread")
                }
                for k in 0..<4 {
                    let c1 = t[Int(b1.peek(mb))], c2 = t[Int(b2.peek(mb))]
                    let c3 = t[Int(b3.peek(mb))], c4 = t[Int(b4.peek(mb))]
                    d1[i + k] = UInt8(truncatingIfNeeded: c1); b1.consumed += Int(c1 >> 8)
                    d2[i + k] = UInt8(truncatingIfNeeded: c2); b2.consumed += Int(c2 >> 8)
                    d3[i + k] = UInt8(truncatingIfNeeded: c3); b3.consumed += Int(c3 >> 8)
                    d4[i + k] = UInt8(truncatingIfNeeded: c4); b4.consumed += Int(c4 >> 8)
                }
                i += 4
            }
            try HuffmanTable.decodeTail(&b1, t, mb, d1, from: i, to: seg)
            try HuffmanTable.decodeTail(&b2, t, mb, d2, from: i, to: seg)
            try HuffmanTable.decodeTail(&b3, t, mb, d3, from: i, to: seg)
            try HuffmanTable.decodeTail(&b4, t, mb, d4, from: i, to: last)
        }
        guard b1.finished, b2.finished, b3.finished, b4.finished else {
            throw CodecError(.corrupt, "zstd Huffman stream does not end where it should")
        }
    }
}
