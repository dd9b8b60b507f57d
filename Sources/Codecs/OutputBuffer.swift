// A growable output buffer for decoders whose output size is not known up front (frames made of
// blocks). Decoders write through its raw pointer; it always keeps `slack` spare bytes past the
// capacity they asked for so hot loops may copy 8/16 bytes at a time past the logical end.

let outputSlack = 64

struct OutputBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    var count = 0
    private(set) var capacity: Int
    /// The bound on total output: the caller's `maxOutput`, or a size the input declared.
    let limit: Int
    /// The error when output would pass `limit`: `outputTooLarge` for the caller's bound,
    /// `corrupt` when the limit is the size the input itself declared.
    let overflowCode: CodecError.Code
    private let owned: Bool

    init(initialCapacity: Int, limit: Int) {
        let cap = max(256, min(initialCapacity, limit))
        base = .allocate(capacity: cap + outputSlack)
        capacity = cap
        self.limit = limit
        overflowCode = .outputTooLarge
        owned = true
    }

    /// Writes into memory the caller owns, which holds `capacity + outputSlack` bytes; never grows.
    init(external: UnsafeMutablePointer<UInt8>, capacity: Int, overflowCode: CodecError.Code) {
        base = external
        self.capacity = capacity
        limit = capacity
        self.overflowCode = overflowCode
        owned = false
    }

    deinit { if owned { base.deallocate() } }

    /// Makes room for `extra` more bytes (plus slack) past `count`. Throws when that is past `limit`.
    mutating func reserve(_ extra: Int, _ context: String) throws {
        let (needed, overflow) = count.addingReportingOverflow(extra)
        guard !overflow, needed <= limit else {
            throw CodecError(overflowCode, context, detail: "output over \(limit) bytes")
        }
        if needed <= capacity { return }
        precondition(owned, "an external output buffer never grows")
        var newCap = max(needed, capacity &* 2)
        if newCap > limit { newCap = max(needed, limit) }
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: newCap + outputSlack)
        nb.update(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = newCap
    }

    /// Makes room for up to `extra` more bytes, fewer when `limit` is nearer; returns how many.
    mutating func reserveUpTo(_ extra: Int, _ context: String) throws -> Int {
        let avail = min(extra, limit - count)
        try reserve(avail, context)
        return avail
    }

    mutating func append(_ p: UnsafeRawBufferPointer, _ context: String) throws {
        try reserve(p.count, context)
        if p.count > 0 { (base + count).update(from: p.baseAddress!.assumingMemoryBound(to: UInt8.self), count: p.count) }
        count += p.count
    }

    consuming func toArray() -> [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }
}

@inline(__always) func load64(_ p: UnsafeRawPointer) -> UInt64 { p.loadUnaligned(as: UInt64.self) }
@inline(__always) func load32(_ p: UnsafeRawPointer) -> UInt32 { p.loadUnaligned(as: UInt32.self) }
@inline(__always) func store64(_ p: UnsafeMutableRawPointer, _ v: UInt64) { p.storeBytes(of: v, as: UInt64.self) }

/// Copies `length` bytes from `dst - offset` to `dst` (an LZ77 match; may overlap). Writes up to
/// 16 bytes past `dst + length`: callers keep that much slack.
@inline(__always) func copyMatch(_ dst: UnsafeMutablePointer<UInt8>, offset: Int, length: Int) {
    var d = dst
    var s = dst - offset
    let end = dst + length
    if offset >= 16 {
        repeat {
            store64(d, load64(s)); store64(d + 8, load64(s + 8))
            d += 16; s += 16
        } while d < end
    } else if offset >= 8 {
        repeat {
            store64(d, load64(s))
            d += 8; s += 8
        } while d < end
    } else {
        // A short offset repeats a pattern of `offset` bytes: write the first 8 bytes one by one,
        // then copy 8 at a time from a distance that is a multiple of the pattern and >= 8.
        for k in 0..<8 { d[k] = s[k] }
        if length <= 8 { return }
        let far = offset * ((8 + offset - 1) / offset)
        d += 8
        s = d - far
        while d < end {
            store64(d, load64(s))
            d += 8; s += 8
        }
    }
}

/// Copies `length` non-overlapping bytes, 16 at a time (writes up to 15 bytes past the end; the
/// source may be read up to 15 bytes past its end only when `srcSafe` says it can be).
@inline(__always) func copyLiterals(_ dst: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, _ length: Int, srcSafe: Bool) {
    if srcSafe && length <= 32 {
        var d = UnsafeMutableRawPointer(dst), s = UnsafeRawPointer(src)
        let end = d + length
        repeat {
            store64(d, load64(s)); store64(d + 8, load64(s + 8))
            d += 16; s += 16
        } while d < end
    } else {
        dst.update(from: src, count: length)
    }
}
