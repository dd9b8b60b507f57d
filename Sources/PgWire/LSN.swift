/// A WAL position, written as PostgreSQL writes it: two uppercase hex halves without leading zeros
/// (`0/1A2B3C8`).
public struct LSN: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static let zero = LSN(0)

    /// Parses `X/Y` (hex, either case). Returns nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...8).contains(parts[0].count), (1...8).contains(parts[1].count),
              let hi = UInt32(parts[0], radix: 16), let lo = UInt32(parts[1], radix: 16) else { return nil }
        self.value = UInt64(hi) << 32 | UInt64(lo)
    }

    public var description: String {
        String(UInt32(truncatingIfNeeded: value >> 32), radix: 16, uppercase: true) + "/"
            + String(UInt32(truncatingIfNeeded: value), radix: 16, uppercase: true)
    }

    public static func < (a: LSN, b: LSN) -> Bool { a.value < b.value }
}

/// PostgreSQL timestamps on the replication protocol: microseconds since 2000-01-01 00:00:00 UTC.
public enum PostgresTime {
    /// Seconds between the Unix epoch and 2000-01-01.
    public static let epochOffsetSeconds: Int64 = 946_684_800

    /// Unix microseconds for a PostgreSQL timestamp (saturating, never trapping).
    public static func unixMicros(_ pgMicros: Int64) -> Int64 {
        pgMicros.addingReportingOverflow(epochOffsetSeconds * 1_000_000).overflow
            ? (pgMicros < 0 ? Int64.min : Int64.max)
            : pgMicros &+ epochOffsetSeconds * 1_000_000
    }
    /// Unix milliseconds, rounded down.
    public static func unixMillis(_ pgMicros: Int64) -> Int64 {
        let u = unixMicros(pgMicros)
        return u >= 0 ? u / 1000 : (u - 999) / 1000
    }
    /// The PostgreSQL timestamp for Unix microseconds.
    public static func pgMicros(unixMicros: Int64) -> Int64 {
        unixMicros &- epochOffsetSeconds * 1_000_000
    }
}
