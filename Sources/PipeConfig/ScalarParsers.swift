internal import WireCore
/// Parsers for the value syntaxes of the configuration: Go durations, sizes, addresses, dates, booleans.
/// Each returns the value or a message (without the key or position; the caller adds those).
public enum ScalarParsers {
    // MARK: Durations

    /// Go's `time.ParseDuration` syntax: `300ms`, `1.5h`, `1m30s`, `0`; units ns, us (µs, μs), ms, s, m, h.
    public static func parseDuration(_ text: String) -> Result<Duration, ValueError> {
        let bad = ValueError("must be a duration such as `300ms`, `5s`, `1m30s` or `168h`")
        var chars = Array(text.unicodeScalars)
        var negative = false
        if let first = chars.first, first == "-" || first == "+" {
            negative = first == "-"
            chars.removeFirst()
        }
        if chars.count == 1 && chars[0] == "0" { return .success(.zero) }
        if chars.isEmpty { return .failure(bad) }
        var i = 0
        var totalNanos: Int64 = 0
        var fractionNanos = 0.0
        while i < chars.count {
            var whole: Int64 = 0
            var digits = 0
            while i < chars.count, let d = digit(chars[i]) {
                let (m, o1) = whole.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(d))
                if o1 || o2 { return .failure(ValueError("is too long a duration")) }
                whole = a
                digits += 1
                i += 1
            }
            var fraction = 0.0
            var fractionDigits = 0
            if i < chars.count && chars[i] == "." {
                i += 1
                var scale = 0.1
                while i < chars.count, let d = digit(chars[i]) {
                    fraction += Double(d) * scale
                    scale /= 10
                    fractionDigits += 1
                    i += 1
                }
            }
            if digits == 0 && fractionDigits == 0 { return .failure(bad) }
            var unit = ""
            while i < chars.count && digit(chars[i]) == nil && chars[i] != "." {
                unit.unicodeScalars.append(chars[i])
                i += 1
            }
            let perUnit: Int64
            switch unit {
            case "ns": perUnit = 1
            case "us", "µs", "μs": perUnit = 1_000
            case "ms": perUnit = 1_000_000
            case "s": perUnit = 1_000_000_000
            case "m": perUnit = 60_000_000_000
            case "h": perUnit = 3_600_000_000_000
            case "": return .failure(ValueError("must be a duration with a unit, such as `\(text)s` (units: ns, us, ms, s, m, h)"))
            default: return .failure(ValueError("has an unknown duration unit `\(unit)` (units: ns, us, ms, s, m, h)"))
            }
            let (v, o1) = whole.multipliedReportingOverflow(by: perUnit)
            let (t, o2) = totalNanos.addingReportingOverflow(v)
            if o1 || o2 { return .failure(ValueError("is too long a duration")) }
            totalNanos = t
            fractionNanos += fraction * Double(perUnit)
        }
        let extra = fractionNanos.rounded()
        guard extra < 9.2e18 else { return .failure(ValueError("is too long a duration")) }
        let (sum, o) = totalNanos.addingReportingOverflow(Int64(extra))
        if o { return .failure(ValueError("is too long a duration")) }
        return .success(.nanoseconds(negative ? -sum : sum))
    }

    /// Go-like text that ``parseDuration(_:)`` reads back: `168h`, `1m30s`, `1.5s`, `300ms`, `0s`.
    public static func formatDuration(_ d: Duration) -> String {
        let (seconds, atto) = d.components
        var nanos = seconds &* 1_000_000_000 &+ atto / 1_000_000_000
        if nanos == 0 { return "0s" }
        var out = ""
        if nanos < 0 {
            out = "-"
            nanos = -nanos
        }
        if nanos < 1_000_000_000 {
            if nanos % 1_000_000 == 0 { return out + "\(nanos / 1_000_000)ms" }
            if nanos % 1_000 == 0 { return out + "\(nanos / 1_000)us" }
            return out + "\(nanos)ns"
        }
        let hours = nanos / 3_600_000_000_000
        let minutes = nanos / 60_000_000_000 % 60
        let secs = nanos / 1_000_000_000 % 60
        let frac = nanos % 1_000_000_000
        if hours > 0 { out += "\(hours)h" }
        if minutes > 0 { out += "\(minutes)m" }
        if secs > 0 || frac > 0 {
            out += "\(secs)"
            if frac > 0 {
                var f = String(frac)
                f = String(repeating: "0", count: 9 - f.count) + f
                while f.hasSuffix("0") { f.removeLast() }
                out += "." + f
            }
            out += "s"
        }
        return out
    }

    // MARK: Sizes

    /// A byte count: `10GB` (= 10×2^30: KB, MB, GB, TB, PB are binary, as the old tool read them),
    /// `512MiB`, `64K`, `100B`, or a plain number. Units are case-insensitive.
    public static func parseSize(_ text: String) -> Result<Int64, ValueError> {
        let bad = ValueError("must be a size such as `10GB`, `512MB`, `1GiB` or a byte count")
        var digits = ""
        var rest = Substring(text)
        while let c = rest.first, c.isASCII, c.isNumber {
            digits.append(c)
            rest.removeFirst()
        }
        guard !digits.isEmpty, let n = Int64(digits) else { return .failure(digits.isEmpty ? bad : ValueError("is too large")) }
        let unit = rest.drop(while: { $0 == " " }).lowercased()
        let shift: Int64
        switch unit {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        case "t", "tb", "tib": shift = 40
        case "p", "pb", "pib": shift = 50
        default:
            if rest.contains(".") { return .failure(ValueError("must be a whole number of bytes or units (no fractions), such as `1536MB`")) }
            return .failure(ValueError("has an unknown size unit `\(rest)` (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"))
        }
        let (v, o) = n.multipliedReportingOverflow(by: Int64(1) << shift)
        if o { return .failure(ValueError("is too large")) }
        return .success(v)
    }

    /// The largest exact binary unit: `10GiB`, `1536MiB`, `100B`.
    public static func formatSize(_ n: Int64) -> String {
        if n == 0 { return "0" }
        for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where n % (Int64(1) << shift) == 0 {
            return "\(n >> shift)\(unit)"
        }
        return "\(n)"
    }

    // MARK: Numbers and booleans

    /// `true`/`false`, also `yes`/`no`/`on`/`off`, any case.
    public static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on": true
        case "false", "no", "off": false
        default: nil
        }
    }

    /// A decimal integer (optional sign, `_` separators allowed).
    public static func parseInt(_ text: String) -> Int? {
        var t = String(text.filter { $0 != "_" })
        if t.hasPrefix("+") { t.removeFirst() }
        guard !t.isEmpty, t.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }) else { return nil }
        return Int(t)
    }

    // MARK: Addresses

    /// `host:port`, `[IPv6]:port`; without a port, `defaultPort` when given. `allowEmptyHost`: `:8081`.
    public static func parseHostPort(_ text: String, defaultPort: Int?, allowEmptyHost: Bool = false,
                                     allowPortZero: Bool = false) -> Result<HostPort, ValueError> {
        let example = "`host:port`, such as `127.0.0.1:9092` or `[::1]:9092`"
        var host: String
        var portText: String?
        if let scheme = text.firstRange(of: "://") {
            return .failure(ValueError("must be `host:port` without `\(text[..<scheme.upperBound])`"))
        }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(ValueError("has `[` without `]`; write \(example)"))
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(ValueError("must be \(example)")) }
                portText = String(after.dropFirst())
            }
            guard isIPv6(host) else { return .failure(ValueError("has `[\(host)]`, which is not an IPv6 address")) }
        } else {
            let colons = text.filter { $0 == ":" }.count
            if colons > 1 {
                return .failure(ValueError("looks like an IPv6 address: write it in brackets, such as `[::1]:9092`"))
            }
            if let colon = text.firstIndex(of: ":") {
                host = String(text[..<colon])
                portText = String(text[text.index(after: colon)...])
            } else {
                host = text
            }
            if host.isEmpty && !allowEmptyHost { return .failure(ValueError("has no host; write \(example)")) }
            if !host.isEmpty, let message = hostProblem(host) { return .failure(ValueError(message)) }
        }
        var port: Int
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(portText),
                  p <= 65535, p > 0 || (allowPortZero && p == 0) else {
                return .failure(ValueError("has port `\(portText)`, which is not a port number (1-65535)"))
            }
            port = p
        } else if let defaultPort {
            port = defaultPort
        } else {
            return .failure(ValueError("has no port; write \(example)"))
        }
        if host.isEmpty && !allowEmptyHost { return .failure(ValueError("has no host; write \(example)")) }
        return .success(HostPort(host: host, port: port))
    }

    static func hostProblem(_ host: String) -> String? {
        if host.count > 253 { return "has a host name longer than 253 characters" }
        let looksNumeric = host.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "." }
        if looksNumeric {
            return isIPv4(host) ? nil : "has `\(host)`, which is not an IPv4 address"
        }
        for c in host.unicodeScalars {
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
                || c == "-" || c == "." || c == "_"
            if !ok { return "has a host name with `\(Character(c))`, which host names cannot contain" }
        }
        if host.hasPrefix(".") || host.hasPrefix("-") || host.contains("..") {
            return "has `\(host)`, which is not a valid host name"
        }
        return nil
    }

    public static func isIPv4(_ s: some StringProtocol) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy { $0.isASCII && $0.isNumber } && Int(p)! <= 255
        }
    }

    /// An IPv6 literal: up to eight groups of 1–4 hex digits, one `::`, optional trailing IPv4,
    /// optional `%zone`.
    public static func isIPv6(_ text: String) -> Bool {
        var s = Substring(text)
        if let pct = s.firstIndex(of: "%") {
            let zone = s[s.index(after: pct)...]
            guard !zone.isEmpty, zone.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }) else { return false }
            s = s[..<pct]
        }
        guard !s.isEmpty else { return false }
        let halves = s.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return false }
        func groups(_ part: String, allowIPv4Tail: Bool) -> Int? {
            if part.isEmpty { return 0 }
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            var count = 0
            for (n, g) in items.enumerated() {
                if allowIPv4Tail && n == items.count - 1 && g.contains(".") {
                    guard isIPv4(g) else { return nil }
                    count += 2
                    continue
                }
                guard !g.isEmpty, g.count <= 4, g.allSatisfy({ $0.isHexDigit }) else { return nil }
                count += 1
            }
            return count
        }
        if halves.count == 1 {
            return groups(halves[0], allowIPv4Tail: true) == 8
        }
        guard let a = groups(halves[0], allowIPv4Tail: false), let b = groups(halves[1], allowIPv4Tail: true) else {
            return false
        }
        return a + b <= 7
    }

    // MARK: Dates

    /// `2006-01-02 15:04:05` in UTC.
    public static func parseDateTime(_ text: String) -> Result<UTCDateTime, ValueError> {
        let bad = ValueError("must be a UTC time written `2006-01-02 15:04:05`")
        let c = Array(text.utf8)
        guard c.count == 19, c[4] == UInt8(ascii: "-"), c[7] == UInt8(ascii: "-"), c[10] == UInt8(ascii: " "),
              c[13] == UInt8(ascii: ":"), c[16] == UInt8(ascii: ":") else { return .failure(bad) }
        func num(_ a: Int, _ b: Int) -> Int? {
            var v = 0
            for k in a..<b {
                guard c[k] >= 48 && c[k] <= 57 else { return nil }
                v = v * 10 + Int(c[k] - 48)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 7), let d = num(8, 10), let h = num(11, 13),
              let mi = num(14, 16), let s = num(17, 19) else { return .failure(bad) }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y), h < 24, mi < 60, s < 60 else {
            return .failure(ValueError("is not a real date and time (`\(text)`)"))
        }
        let days = daysFromCivil(y, mo, d)
        return .success(UTCDateTime(secondsSince1970: Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + s)))
    }

    static func formatDateTime(_ seconds: Int64) -> String {
        var days = seconds / 86400
        var rem = seconds % 86400
        if rem < 0 { rem += 86400; days -= 1 }
        let (y, m, d) = civilFromDays(days)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var year = String(y)
        while year.count < 4 { year = "0" + year }
        return "\(year)-\(two(m))-\(two(d)) \(two(Int(rem / 3600))):\(two(Int(rem / 60 % 60))):\(two(Int(rem % 60)))"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days-from-civil algorithm.
    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int {
        Int(CivilTime.days(year: Int64(y), month: Int64(m), day: Int64(d)))
    }

    static func civilFromDays(_ days: Int64) -> (Int, Int, Int) {
        let (y, m, d) = CivilTime.date(daysSince1970: days)
        return (Int(y), m, d)
    }

    // MARK: URL pieces

    static func percentDecode(_ s: some StringProtocol) -> String? {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let h = hex(it[it.startIndex]), let l = hex(it[it.startIndex + 1]) else { return nil }
                bytes.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func percentEncode(_ s: String, userinfo: Bool) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            let unreserved = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
                || c == "-" || c == "." || c == "_" || c == "~" || (!userinfo && c == "/")
            if unreserved {
                out.append(c)
            } else {
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" + h : h)
            }
        }
        return out
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...70: b - 55
        case 97...102: b - 87
        default: nil
        }
    }

    private static func digit(_ c: Unicode.Scalar) -> Int? {
        c >= "0" && c <= "9" ? Int(c.value - 48) : nil
    }

    // MARK: Suggestions

    /// The candidate nearest to `word` (case-insensitive Damerau–Levenshtein distance), when it is
    /// close enough to be a likely typo.
    public static func nearest(_ word: String, in candidates: [String]) -> String? {
        // Keys are short; a long word is no typo of one (and would make the table large).
        guard word.count <= 64 else { return nil }
        let w = Array(word.lowercased())
        var best: (String, Int)?
        for c in candidates {
            let d = distance(w, Array(c.lowercased()))
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let best else { return nil }
        let limit = max(1, min(3, (max(w.count, best.0.count) + 2) / 4))
        return best.1 <= limit ? best.0 : nil
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}

/// What is wrong with a value, phrased to follow the key: "`kafka:batch:timeout` " + message.
public struct ValueError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
