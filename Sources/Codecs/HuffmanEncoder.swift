// Huffman compression of zstd literals (RFC 8878 §4.2): length-limited canonical codes with the
// weights written directly (4 bits each), one stream for short literals and four otherwise.

enum HuffmanEncoder {
    static let maxBitsLimit = 11

    /// Code lengths for the symbols with non-zero frequency: Huffman's, limited to 11 bits and
    /// forming a complete prefix code (zstd deduces the last weight from completeness).
    static func codeLengths(_ freq: [Int]) -> [Int] {
        var lengths = [Int](repeating: 0, count: freq.count)
        let leaves = (0..<freq.count).filter { freq[$0] > 0 }.sorted { (freq[$0], $0) < (freq[$1], $1) }
        let k = leaves.count
        if k < 2 { return lengths }
        var weight = [Int](repeating: 0, count: 2 * k)
        var parent = [Int](repeating: 0, count: 2 * k)
        for i in 0..<k { weight[i] = freq[leaves[i]] }
        var nextLeaf = 0, nextNode = k, made = k
        @inline(__always) func pick() -> Int {
            if nextLeaf < k && (nextNode >= made || weight[nextLeaf] <= weight[nextNode]) {
                nextLeaf += 1
                return nextLeaf - 1
            }
            nextNode += 1
            return nextNode - 1
        }
        while made < 2 * k - 1 {
            let a = pick(), b = pick()
            weight[made] = weight[a] + weight[b]
            parent[a] = made
            parent[b] = made
            made += 1
        }
        var depth = [Int](repeating: 0, count: 2 * k)
        var i = 2 * k - 3
        while i >= 0 { depth[i] = depth[parent[i]] + 1; i -= 1 }
        for j in 0..<k { lengths[leaves[j]] = depth[j] }
        // Limit the lengths, then restore an exact Kraft sum of 2^limit.
        let limit = maxBitsLimit
        if lengths.max()! > limit {
            for s in leaves where lengths[s] > limit { lengths[s] = limit }
            var kraft = leaves.reduce(0) { $0 + (1 << (limit - lengths[$1])) }
            // Over-full: lengthen the longest codes that are still below the limit.
            while kraft > 1 << limit {
                var best = -1
                for s in leaves where lengths[s] < limit && (best < 0 || lengths[s] > lengths[best]) { best = s }
                kraft -= 1 << (limit - lengths[best] - 1)
                lengths[best] += 1
            }
            // Under-full: shorten the longest codes whose gain fits the deficit.
            while kraft < 1 << limit {
                let deficit = (1 << limit) - kraft
                var best = -1
                for s in leaves where (1 << (limit - lengths[s])) <= deficit && (best < 0 || lengths[s] > lengths[best]) {
                    best = s
                }
                kraft += 1 << (limit - lengths[best])
                lengths[best] -= 1
            }
        }
        return lengths
    }

    /// Writes a compressed literals section (header, tree, streams) at `dst`; nil when Huffman
    /// coding would not make the section smaller or the alphabet needs FSE-coded weights.
    static func compressLiterals(_ lit: UnsafePointer<UInt8>, _ n: Int, into dst: UnsafeMutablePointer<UInt8>) -> Int? {
        var freq = [Int](repeating: 0, count: 256)
        freq.withUnsafeMutableBufferPointer { f in
            for i in 0..<n { f[Int(lit[i])] += 1 }
        }
        var maxSym = 255
        while maxSym > 0 && freq[maxSym] == 0 { maxSym -= 1 }
        let lengths = codeLengths(freq)
        let maxBits = lengths.max()!
        guard maxBits > 0 else { return nil }
        var weights = [UInt8](repeating: 0, count: maxSym)
        for s in 0..<maxSym where lengths[s] > 0 { weights[s] = UInt8(maxBits + 1 - lengths[s]) }
        let fseTree = fseWeights(weights)
        // Direct weights cover at most 128 symbols before the last.
        guard fseTree != nil || maxSym <= 128 else { return nil }
        var codes = [UInt16](repeating: 0, count: 256)
        // Canonical codes in zstd's order: lowest weight (longest code) first, symbols ascending.
        var pos = 0
        for w in 1...maxBits {
            let len = maxBits + 1 - w
            for s in 0...maxSym where lengths[s] == len {
                codes[s] = UInt16(pos >> (w - 1))
                pos += 1 << (w - 1)
            }
        }
        let single = n <= 1023
        let headerSize = single || n <= 1023 ? 3 : (n <= 16383 ? 4 : 5)
        var op = headerSize
        if let fseTree, maxSym > 128 || fseTree.count < 1 + (maxSym + 1) / 2 {
            for b in fseTree { dst[op] = b; op += 1 }
        } else {
            // Tree description: weights of symbols 0..<maxSym, 4 bits each, two per byte.
            dst[op] = UInt8(127 + maxSym)
            op += 1
            var s = 0
            while s < maxSym {
                let w1 = Int(weights[s])
                let w2 = s + 1 < maxSym ? Int(weights[s + 1]) : 0
                dst[op] = UInt8(w1 << 4 | w2)
                op += 1
                s += 2
            }
        }
        let budget = n  // stop when the section would not be smaller than raw
        func encodeStream(_ from: Int, _ to: Int, at start: Int) -> Int? {
            var w = BitWriter(dst, at: start)
            var i = to - 1
            while i >= from {
                let sym = Int(lit[i])
                w.add(UInt64(codes[sym]), lengths[sym])
                i -= 1
                if w.pos - headerSize > budget { return nil }
            }
            return w.close()
        }
        if single {
            guard let end = encodeStream(0, n, at: op) else { return nil }
            op = end
        } else {
            let seg = (n + 3) / 4
            let jump = op
            op += 6
            var sizes: [Int] = []
            for k in 0..<4 {
                let from = k * seg, to = k == 3 ? n : (k + 1) * seg
                guard let end = encodeStream(from, to, at: op) else { return nil }
                sizes.append(end - op)
                op = end
            }
            for k in 0..<3 {
                guard sizes[k] < 65536 else { return nil }
                dst[jump + 2 * k] = UInt8(sizes[k] & 0xFF)
                dst[jump + 2 * k + 1] = UInt8(sizes[k] >> 8)
            }
        }
        let comp = op - headerSize
        // Worth it only when smaller than the raw section.
        guard comp + headerSize < n + (n < 32 ? 1 : n < 4096 ? 2 : 3) else { return nil }
        // Literals section header: type 2 (compressed), size format, regenerated and compressed sizes.
        switch headerSize {
        case 3:
            let v = 2 | (single ? 0 : 1) << 2 | n << 4 | comp << 14
            guard comp <= 1023 else { return nil }
            dst[0] = UInt8(v & 0xFF); dst[1] = UInt8((v >> 8) & 0xFF); dst[2] = UInt8((v >> 16) & 0xFF)
        case 4:
            let v = 2 | 2 << 2 | n << 4 | comp << 18
            guard comp <= 16383 else { return nil }
            for k in 0..<4 { dst[k] = UInt8((v >> (8 * k)) & 0xFF) }
        default:
            let v = 2 | 3 << 2 | n << 4 | comp << 22
            guard comp <= 262_143 else { return nil }
            for k in 0..<5 { dst[k] = UInt8((v >> (8 * k)) & 0xFF) }
        }
        return op
    }

    /// The FSE-compressed form of a tree description (§4.2.1.2): header byte (size), table
    /// description, then the weights as a backward stream of two interleaved states. Nil when it
    /// does not fit in 127 bytes or does not decode back to the same weights.
    static func fseWeights(_ weights: [UInt8]) -> [UInt8]? {
        let n = weights.count
        guard n >= 2 else { return nil }
        let maxW = Int(weights.max()!)
        var counts = [Int](repeating: 0, count: maxW + 1)
        for w in weights { counts[Int(w)] += 1 }
        let al = 6
        let size = 1 << al
        // Normalize to 64: at least 1 for each present weight, the rest to the most frequent.
        var norm = [Int16](repeating: 0, count: maxW + 1)
        var sum = 0
        for s in 0...maxW where counts[s] > 0 {
            norm[s] = Int16(max(1, (counts[s] * size + n / 2) / n))
            sum += Int(norm[s])
        }
        let largest = (0...maxW).max { counts[$0] < counts[$1] }!
        norm[largest] += Int16(size - sum)
        guard norm[largest] > 0 else { return nil }

        var out = [UInt8](repeating: 0, count: 256 + 16)
        let total: Int = out.withUnsafeMutableBufferPointer { buf in
            let dst = buf.baseAddress!
            // Table description, then the weights' backward stream.
            let desc = writeNCount(norm, accuracyLog: al)
            for (k, b) in desc.enumerated() { dst[1 + k] = b }
            let w = (pos: 1 + desc.count, 0)
            // The weights, encoded last to first with two states (FSE_compress's order).
            let enc = FSEEncoder(norm: norm, accuracyLog: al)
            var stream = BitWriter(dst, at: w.pos)
            var i = n
            var s1: Int, s2: Int
            if n & 1 == 1 {
                i -= 1; s1 = enc.initialState(Int(weights[i]))
                i -= 1; s2 = enc.initialState(Int(weights[i]))
                i -= 1; enc.encode(&s1, Int(weights[i]), &stream)
            } else {
                i -= 1; s2 = enc.initialState(Int(weights[i]))
                i -= 1; s1 = enc.initialState(Int(weights[i]))
            }
            while i > 0 {
                i -= 1; enc.encode(&s2, Int(weights[i]), &stream)
                i -= 1; enc.encode(&s1, Int(weights[i]), &stream)
                if stream.pos > 200 { return 0 }
            }
            enc.flush(s2, &stream)
            enc.flush(s1, &stream)
            return stream.close()
        }
        guard total > 1, total - 1 < 128 else { return nil }
        out[0] = UInt8(total - 1)
        let tree = Array(out[0..<total])
        // Check it reads back as the same weights (the decoder's stopping rule is subtle).
        guard let (back, count, used) = try? tree.withUnsafeBufferPointer({ try HuffmanTable.readWeights($0.baseAddress!, $0.count) }),
              used == total, count == n, Array(back[0..<n]) == weights else { return nil }
        return tree
    }
}
