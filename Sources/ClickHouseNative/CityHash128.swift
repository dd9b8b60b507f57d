// CityHash128 as ClickHouse uses it for compressed-block checksums: Google's CityHash
// version 1.0.2 (ClickHouse keeps it frozen as `CityHash_v1_0_2`; later CityHash versions
// give different results). Written from the algorithm's description; verified in tests
// against the `clickhouse-cityhash` Python package.

/// A 128-bit CityHash v1.0.2 value: `low` is written first on the wire, then `high`.
public struct CityHash128Value: Hashable, Sendable {
    public var low: UInt64
    public var high: UInt64
    public init(low: UInt64, high: UInt64) { self.low = low; self.high = high }
}

public enum CityHash {
    static let k0: UInt64 = 0xc3a5_c85c_97cb_3127
    static let k1: UInt64 = 0xb492_b66f_be98_f273
    static let k2: UInt64 = 0x9ae1_6a3b_2f90_404f
    static let k3: UInt64 = 0xc949_d7c7_509e_6557

    /// CityHash128 (v1.0.2) of `bytes`.
    public static func hash128(_ bytes: [UInt8]) -> CityHash128Value {
        bytes.withUnsafeBytes { hash128($0) }
    }

    /// CityHash128 (v1.0.2) of raw memory.
    public static func hash128(_ buf: UnsafeRawBufferPointer) -> CityHash128Value {
        let n = buf.count
        if n >= 16 {
            let seed = (fetch64(buf, 0) ^ k3, fetch64(buf, 8))
            return withSeed(UnsafeRawBufferPointer(rebasing: buf[16...]), seed)
        } else if n >= 8 {
            let seed = (fetch64(buf, 0) ^ (UInt64(n) &* k0), fetch64(buf, n - 8) ^ k1)
            return withSeed(UnsafeRawBufferPointer(start: nil, count: 0), seed)
        } else {
            return withSeed(buf, (k0, k1))
        }
    }

    @inline(__always) static func fetch64(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }

    @inline(__always) static func fetch32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
    }

    @inline(__always) static func rotate(_ v: UInt64, _ s: UInt64) -> UInt64 {
        s == 0 ? v : (v >> s) | (v << (64 &- s))
    }

    @inline(__always) static func shiftMix(_ v: UInt64) -> UInt64 { v ^ (v >> 47) }

    @inline(__always) static func hashLen16(_ u: UInt64, _ v: UInt64) -> UInt64 {
        let mul: UInt64 = 0x9ddf_ea08_eb38_2d69
        var a = (u ^ v) &* mul
        a ^= a >> 47
        var b = (v ^ a) &* mul
        b ^= b >> 47
        return b &* mul
    }

    static func hashLen0to16(_ s: UnsafeRawBufferPointer) -> UInt64 {
        let n = s.count
        if n > 8 {
            let a = fetch64(s, 0)
            let b = fetch64(s, n - 8)
            // RotateByAtLeast1: shift is in 9...16 here.
            let r = UInt64(n)
            let bl = b &+ UInt64(n)
            return hashLen16(a, (bl >> r) | (bl << (64 &- r))) ^ b
        }
        if n >= 4 {
            let a = fetch32(s, 0)
            return hashLen16(UInt64(n) &+ (a << 3), fetch32(s, n - 4))
        }
        if n > 0 {
            let a = UInt32(s[0]), b = UInt32(s[n >> 1]), c = UInt32(s[n - 1])
            let y = a &+ (b << 8)
            let z = UInt32(n) &+ (c << 2)
            return shiftMix((UInt64(y) &* k2) ^ (UInt64(z) &* k3)) &* k2
        }
        return k2
    }

    static func cityMurmur(_ s: UnsafeRawBufferPointer, _ seed: (UInt64, UInt64)) -> CityHash128Value {
        let n = s.count
        var a = seed.0, b = seed.1, c: UInt64, d: UInt64
        if n <= 16 {
            a = shiftMix(a &* k1) &* k1
            c = b &* k1 &+ hashLen0to16(s)
            d = shiftMix(a &+ (n >= 8 ? fetch64(s, 0) : c))
        } else {
            c = hashLen16(fetch64(s, n - 8) &+ k1, a)
            d = hashLen16(b &+ UInt64(n), c &+ fetch64(s, n - 16))
            a = a &+ d
            var off = 0
            var l = n - 16
            repeat {
                a ^= shiftMix(fetch64(s, off) &* k1) &* k1
                a = a &* k1
                b ^= a
                c ^= shiftMix(fetch64(s, off + 8) &* k1) &* k1
                c = c &* k1
                d ^= c
                off += 16
                l -= 16
            } while l > 0
        }
        a = hashLen16(a, c)
        b = hashLen16(d, b)
        return CityHash128Value(low: a ^ b, high: hashLen16(b, a))
    }

    @inline(__always) static func weak32(_ s: UnsafeRawBufferPointer, _ off: Int, _ a0: UInt64, _ b0: UInt64)
        -> (UInt64, UInt64)
    {
        let w = fetch64(s, off), x = fetch64(s, off + 8), y = fetch64(s, off + 16), z = fetch64(s, off + 24)
        var a = a0 &+ w
        var b = rotate(b0 &+ a &+ z, 21)
        let c = a
        a = a &+ x
        a = a &+ y
        b = b &+ rotate(a, 44)
        return (a &+ z, b &+ c)
    }

    static func withSeed(_ s: UnsafeRawBufferPointer, _ seed: (UInt64, UInt64)) -> CityHash128Value {
        var len = s.count
        if len < 128 { return cityMurmur(s, seed) }
        var x = seed.0, y = seed.1, z = UInt64(len) &* k1
        var v: (UInt64, UInt64) = (0, 0), w: (UInt64, UInt64) = (0, 0)
        v.0 = rotate(y ^ k1, 49) &* k1 &+ fetch64(s, 0)
        v.1 = rotate(v.0, 42) &* k1 &+ fetch64(s, 8)
        w.0 = rotate(y &+ z, 35) &* k1 &+ x
        w.1 = rotate(x &+ fetch64(s, 88), 53) &* k1
        var off = 0
        repeat {
            for _ in 0..<2 {
                x = rotate(x &+ y &+ v.0 &+ fetch64(s, off + 16), 37) &* k1
                y = rotate(y &+ v.1 &+ fetch64(s, off + 48), 42) &* k1
                x ^= w.1
                y ^= v.0
                z = rotate(z ^ w.0, 33)
                v = weak32(s, off, v.1 &* k1, x &+ w.0)
                w = weak32(s, off + 32, z &+ w.1, y)
                swap(&z, &x)
                off += 64
            }
            len -= 128
        } while len >= 128
        y = y &+ rotate(w.0, 37) &* k0 &+ z
        x = x &+ rotate(v.0 &+ z, 49) &* k0
        var tailDone = 0
        while tailDone < len {
            tailDone += 32
            y = rotate(y &- x, 42) &* k0 &+ v.1
            w.0 = w.0 &+ fetch64(s, off + len - tailDone + 16)
            x = rotate(x, 49) &* k0 &+ w.0
            w.0 = w.0 &+ v.0
            v = weak32(s, off + len - tailDone, v.0, v.1)
        }
        x = hashLen16(x, v.0)
        y = hashLen16(y, w.0)
        return CityHash128Value(low: hashLen16(x &+ v.1, w.1) &+ y, high: hashLen16(x &+ w.1, y &+ v.1))
    }
}
