#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A wall-clock instant: seconds and nanoseconds since 1970-01-01T00:00:00Z (what signatures,
/// log lines and protocol timestamps need; no calendar or time-zone machinery).
public struct UnixTime: Sendable, Hashable, Comparable {
    public var seconds: Int64
    /// 0..<1_000_000_000.
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The system's real-time clock.
    public static func now() -> UnixTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UnixTime(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    public var milliseconds: Int64 { seconds * 1000 + Int64(nanoseconds) / 1_000_000 }
    public var microseconds: Int64 { seconds * 1_000_000 + Int64(nanoseconds) / 1000 }

    public static func < (a: UnixTime, b: UnixTime) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// The UTC calendar date and time of day of `seconds`.
    public var civil: CivilTime { CivilTime(unixSeconds: seconds) }
}

/// A proleptic Gregorian date and time of day in UTC.
public struct CivilTime: Sendable, Hashable {
    public var year: Int64
    public var month: Int   // 1...12
    public var day: Int     // 1...31
    public var hour: Int, minute: Int, second: Int

    public init(unixSeconds seconds: Int64) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = Int(seconds - days * 86400)
        (year, month, day) = Self.date(daysSince1970: days)
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil); the
    /// month 1...12 and the day 1...31 (not checked against the month's length).
    @inlinable
    public static func days(year y0: Int64, month m: Int64, day d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    @inlinable
    public static func date(daysSince1970 days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), Int(m), Int(d))
    }
}
