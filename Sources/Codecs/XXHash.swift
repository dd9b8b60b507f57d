// xxHash32 (LZ4 frame checksums) and xxHash64 (zstd content checksum), from the xxHash spec
// (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).

@inline(__always) private func rd32(_ p: UnsafeRawPointer, _ i: Int) -> UInt32 {
    UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self))
}
@inline(__always) private func rd64(_ p: UnsafeRawPointer, _ i: Int) -> UInt64 {
    UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
}

public enum XXHash32 {
    static let p1: UInt32 = 0x9E37_79B1, p2: UInt32 = 0x85EB_CA77, p3: UInt32 = 0xC2B2_AE3D
    static let p4: UInt32 = 0x27D4_EB2F, p5: UInt32 = 0x1656_67B1

    @inline(__always) static func round(_ acc: UInt32, _ lane: UInt32) -> UInt32 {
        var a = acc &+ lane &* p2
        a = (a << 13) | (a >> 19)
        return a &* p1
    }

    public static func hash(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    public static func hash(_ buf: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        let n = buf.count
        guard let p = buf.baseAddress, n > 0 else {
            return avalanche(seed &+ p5)
        }
        var i = 0
        var acc: UInt32
        if n >= 16 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while i + 16 <= n {
                v1 = round(v1, rd32(p, i)); v2 = round(v2, rd32(p, i + 4))
                v3 = round(v3, rd32(p, i + 8)); v4 = round(v4, rd32(p, i + 12))
                i += 16
            }
            acc = ((v1 << 1) | (v1 >> 31)) &+ ((v2 << 7) | (v2 >> 25))
                &+ ((v3 << 12) | (v3 >> 20)) &+ ((v4 << 18) | (v4 >> 14))
        } else {
            acc = seed &+ p5
        }
        acc = acc &+ UInt32(truncatingIfNeeded: n)
        while i + 4 <= n {
            acc = acc &+ rd32(p, i) &* p3
            acc = ((acc << 17) | (acc >> 15)) &* p4
            i += 4
        }
        while i < n {
            acc = acc &+ UInt32(p.load(fromByteOffset: i, as: UInt8.self)) &* p5
            acc = ((acc << 11) | (acc >> 21)) &* p1
            i += 1
        }
        return avalanche(acc)
    }

    @inline(__always) static func avalanche(_ h: UInt32) -> UInt32 {
        var a = h
        a ^= a >> 15; a = a &* p2
        a ^= a >> 13; a = a &* p3
        a ^= a >> 16
        return a
    }
}

/// Streaming xxHash64 (zstd hashes the whole content across blocks).
public struct XXHash64: Sendable {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87, p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p3: UInt64 = 0x1656_67B1_9E37_79F9, p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
    private let seed: UInt64
    private var total: UInt64 = 0
    private var buffer: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var buffered = 0

    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ XXHash64.p1 &+ XXHash64.p2
        v2 = seed &+ XXHash64.p2
        v3 = seed
        v4 = seed &- XXHash64.p1
    }

    @inline(__always) static func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        var a = acc &+ lane &* p2
        a = (a << 31) | (a >> 33)
        return a &* p1
    }
    @inline(__always) static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        var a = acc ^ round(0, v)
        a = a &* p1 &+ p4
        return a
    }

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        var h = XXHash64(seed: seed)
        h.update(bytes)
        return h.finalize()
    }

    public static func hash(_ buf: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h = XXHash64(seed: seed)
        h.update(buf)
        return h.finalize()
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update(UnsafeRawBufferPointer($0)) }
    }

    public mutating func update(_ buf: UnsafeRawBufferPointer) {
        guard let p = buf.baseAddress, buf.count > 0 else { return }
        let n = buf.count
        total &+= UInt64(n)
        var i = 0
        if buffered > 0 {
            let take = min(32 - buffered, n)
            var buf = buffer
            let start = buffered
            withUnsafeMutableBytes(of: &buf) { b in
                b.baseAddress!.advanced(by: start).copyMemory(from: p, byteCount: take)
            }
            buffer = buf
            buffered += take
            i = take
            if buffered < 32 { return }
            withUnsafeBytes(of: &buf) { b in
                let q = b.baseAddress!
                v1 = XXHash64.round(v1, rd64(q, 0)); v2 = XXHash64.round(v2, rd64(q, 8))
                v3 = XXHash64.round(v3, rd64(q, 16)); v4 = XXHash64.round(v4, rd64(q, 24))
            }
            buffered = 0
        }
        var a = v1, b = v2, c = v3, d = v4
        while i + 32 <= n {
            a = XXHash64.round(a, rd64(p, i)); b = XXHash64.round(b, rd64(p, i + 8))
            c = XXHash64.round(c, rd64(p, i + 16)); d = XXHash64.round(d, rd64(p, i + 24))
            i += 32
        }
        v1 = a; v2 = b; v3 = c; v4 = d
        if i < n {
            let rest = n - i
            var buf = buffer
            withUnsafeMutableBytes(of: &buf) { b in
                b.baseAddress!.copyMemory(from: p + i, byteCount: rest)
            }
            buffer = buf
            buffered = rest
        }
    }

    public func finalize() -> UInt64 {
        var acc: UInt64
        if total >= 32 {
            acc = ((v1 << 1) | (v1 >> 63)) &+ ((v2 << 7) | (v2 >> 57))
                &+ ((v3 << 12) | (v3 >> 52)) &+ ((v4 << 18) | (v4 >> 46))
            acc = XXHash64.merge(acc, v1); acc = XXHash64.merge(acc, v2)
            acc = XXHash64.merge(acc, v3); acc = XXHash64.merge(acc, v4)
        } else {
            acc = seed &+ XXHash64.p5
        }
        acc = acc &+ total
        var copy = buffer
        let n = buffered
        withUnsafeBytes(of: &copy) { b in
            let p = b.baseAddress!
            var i = 0
            while i + 8 <= n {
                acc ^= XXHash64.round(0, rd64(p, i))
                acc = ((acc << 27) | (acc >> 37)) &* XXHash64.p1 &+ XXHash64.p4
                i += 8
            }
            if i + 4 <= n {
                acc ^= UInt64(rd32(p, i)) &* XXHash64.p1
                acc = ((acc << 23) | (acc >> 41)) &* XXHash64.p2 &+ XXHash64.p3
                i += 4
            }
            while i < n {
                acc ^= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) &* XXHash64.p5
                acc = ((acc << 11) | (acc >> 53)) &* XXHash64.p1
                i += 1
            }
        }
        acc ^= acc >> 33; acc = acc &* XXHash64.p2
        acc ^= acc >> 29; acc = acc &* XXHash64.p3
        acc ^= acc >> 32
        return acc
    }
}
