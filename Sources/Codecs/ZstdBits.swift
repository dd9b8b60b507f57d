// Bit readers for zstd: forward (FSE table descriptions) and backward (Huffman and FSE
// bitstreams, RFC 8878 §4.1: read from the last byte, whose highest set bit marks the start).

/// Reads a backward bitstream held in [start, end). Reading past its beginning yields zero bits
/// and is detected by `overflowed` / `finished`; it never touches memory outside the range.
struct BackwardBits {
    let start: UnsafePointer<UInt8>
    var ptr: UnsafePointer<UInt8>
    var container: UInt64
    var consumed: Int

    init(_ start: UnsafePointer<UInt8>, count: Int) throws {
        guard count > 0 else { throw CodecError(.truncated, "zstd bitstream empty") }
        self.start = start
        let last = start[count - 1]
        guard last != 0 else { throw CodecError(.corrupt, "zstd bitstream without end mark") }
        let pad = 8 - (highBit(UInt32(last)))  // zeros above the mark, plus the mark
        if count >= 8 {
            ptr = start + count - 8
            container = UInt64(littleEndian: UnsafeRawPointer(ptr).loadUnaligned(as: UInt64.self))
            consumed = pad
        } else {
            ptr = start
            var c: UInt64 = 0
            for i in 0..<count { c |= UInt64(start[i]) << (8 * UInt64(i)) }
            // The missing high bytes count as already consumed.
            container = c
            consumed = pad + 8 * (8 - count)
        }
    }

    @inline(__always) func peek(_ n: Int) -> UInt64 {
        // n in 1...56.
        // Masking shifts: past an overflow the value is garbage but still below 2^n, so table
        // lookups stay in bounds; `overflowed`/`finished` report the error.
        (container &<< UInt64(consumed)) &>> UInt64(64 - n)
    }

    @inline(__always) mutating func read(_ n: Int) -> UInt64 {
        // n in 0...56, without a branch: shifting by one and then by 63 - n reads zero bits as 0.
        let v = ((container &<< UInt64(consumed)) &>> 1) &>> UInt64(63 - n)
        consumed &+= n
        return v
    }

    /// Refills so that at least 57 bits are available, unless near the stream's start.
    @inline(__always) mutating func reload() {
        if consumed > 64 { return }  // overflowed: leave it for the caller to detect
        let bytes = consumed >> 3
        if bytes == 0 { return }
        let avail = ptr - start
        if avail >= bytes {
            ptr -= bytes
            consumed &= 7
        } else {
            if avail == 0 { return }
            ptr = start
            consumed -= avail * 8
        }
        container = UInt64(littleEndian: UnsafeRawPointer(ptr).loadUnaligned(as: UInt64.self))
    }

    var overflowed: Bool { consumed > 64 }
    /// Every bit was read, exactly.
    var finished: Bool { ptr == start && consumed == 64 }
}

/// Reads a forward little-endian bitstream (FSE table descriptions, RFC 8878 §4.1.1).
struct ForwardBits {
    let base: UnsafePointer<UInt8>
    let count: Int
    var bitPos = 0

    init(_ base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    /// Up to 32 bits; bits past the end read as zero (the caller checks `bytesUsed <= count`).
    @inline(__always) func peek32() -> UInt32 {
        let byte = bitPos >> 3
        var v: UInt64 = 0
        if byte + 8 <= count {
            v = UInt64(littleEndian: UnsafeRawPointer(base + byte).loadUnaligned(as: UInt64.self))
        } else {
            var i = 0
            while byte + i < count && i < 8 { v |= UInt64(base[byte + i]) << (8 * UInt64(i)); i += 1 }
        }
        return UInt32(truncatingIfNeeded: v >> UInt64(bitPos & 7))
    }

    mutating func skip(_ n: Int) { bitPos += n }
    var bytesUsed: Int { (bitPos + 7) >> 3 }
}
