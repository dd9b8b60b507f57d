/// ClickHouse's 256-bit integers (Int256, UInt256, and the unscaled value of Decimal256), which
/// Swift's standard library lacks. Stored as two 128-bit halves; on the wire they are 32 bytes,
/// little-endian, two's complement for the signed ones. Only what a client needs: decimal text both
/// ways, comparison, and conversion to and from the 128-bit integers.
public struct ClickHouseUInt256: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var low: UInt128
    public var high: UInt128

    public init(low: UInt128, high: UInt128) { self.low = low; self.high = high }
    public init(_ v: UInt128) { self.init(low: v, high: 0) }

    public static let zero = ClickHouseUInt256(low: 0, high: 0)
    public static let max = ClickHouseUInt256(low: .max, high: .max)

    /// Decimal digits (no sign, no separators); nil when empty, not digits, or above `max`.
    public init?(_ text: some StringProtocol) {
        guard !text.isEmpty else { return nil }
        var v = ClickHouseUInt256.zero
        for c in text.utf8 {
            guard c >= 48, c <= 57, let next = v.timesTenPlus(UInt128(c - 48)) else { return nil }
            v = next
        }
        self = v
    }

    /// The value as UInt128 when it fits.
    public var uint128: UInt128? { high == 0 ? low : nil }

    public static func < (a: Self, b: Self) -> Bool { a.high != b.high ? a.high < b.high : a.low < b.low }

    public var description: String {
        if high == 0 { return String(low) }
        var digits: [UInt8] = []
        var v = self
        while v != .zero {
            let (q, r) = v.dividedByTen()
            digits.append(UInt8(r) + 48)
            v = q
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    func dividedByTen() -> (Self, UInt128) {
        let qh = high / 10
        let (ql, r) = UInt128(10).dividingFullWidth((high: high % 10, low: low))
        return (Self(low: ql, high: qh), r)
    }

    func timesTenPlus(_ d: UInt128) -> Self? {
        let (h1, o1) = high.multipliedReportingOverflow(by: 10)
        let lowProduct = low.multipliedFullWidth(by: 10)
        let (l, carry) = lowProduct.low.addingReportingOverflow(d)
        let (h2, o2) = h1.addingReportingOverflow(lowProduct.high)
        let (h3, o3) = h2.addingReportingOverflow(carry ? 1 : 0)
        guard !o1, !o2, !o3 else { return nil }
        return Self(low: l, high: h3)
    }

    /// Two's complement negation modulo 2^256.
    func negatedWrapping() -> Self {
        let (l, o) = (~low).addingReportingOverflow(1)
        return Self(low: l, high: ~high &+ (o ? 1 : 0))
    }

    var littleEndianBytes: [UInt8] {
        (0..<32).map { i in UInt8(truncatingIfNeeded: i < 16 ? low >> (8 * i) : high >> (8 * (i - 16))) }
    }

    init(littleEndian b: ArraySlice<UInt8>) {
        var l: UInt128 = 0, h: UInt128 = 0
        let s = b.startIndex
        for i in 0..<16 { l |= UInt128(b[s + i]) << (8 * i); h |= UInt128(b[s + 16 + i]) << (8 * i) }
        self.init(low: l, high: h)
    }
}

public struct ClickHouseInt256: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The low 128 bits.
    public var low: UInt128
    /// The high 128 bits, carrying the sign.
    public var high: Int128

    public init(low: UInt128, high: Int128) { self.low = low; self.high = high }
    public init(_ v: Int128) { self.init(low: UInt128(truncatingIfNeeded: v), high: v < 0 ? -1 : 0) }

    public static let zero = ClickHouseInt256(low: 0, high: 0)
    public static let min = ClickHouseInt256(low: 0, high: .min)
    public static let max = ClickHouseInt256(low: .max, high: .max)

    /// Decimal text with an optional leading `-`; nil when malformed or out of range.
    public init?(_ text: some StringProtocol) {
        let neg = text.hasPrefix("-")
        let digits = Substring(text)
        guard let m = ClickHouseUInt256(neg ? digits.dropFirst() : digits) else { return nil }
        let bits = neg ? m.negatedWrapping() : m
        let v = Self(bits: bits)
        // A magnitude above 2^255 (or 2^255 - 1 for a positive value) changes sign on the way.
        guard neg ? (v.high < 0 || m == .zero) : v.high >= 0 else { return nil }
        self = v
    }

    init(bits: ClickHouseUInt256) { self.init(low: bits.low, high: Int128(truncatingIfNeeded: bits.high)) }
    var bits: ClickHouseUInt256 { ClickHouseUInt256(low: low, high: UInt128(truncatingIfNeeded: high)) }

    public var isNegative: Bool { high < 0 }

    /// The value as Int128 when it fits.
    public var int128: Int128? {
        let l = Int128(truncatingIfNeeded: low)
        return (high == 0 && l >= 0) || (high == -1 && l < 0) ? l : nil
    }

    /// The absolute value (2^255 for `min`).
    public var magnitude: ClickHouseUInt256 { isNegative ? bits.negatedWrapping() : bits }

    public static func < (a: Self, b: Self) -> Bool { a.high != b.high ? a.high < b.high : a.low < b.low }

    public var description: String { (isNegative ? "-" : "") + magnitude.description }

    var littleEndianBytes: [UInt8] { bits.littleEndianBytes }
}
