/// How to reach and log in to a PostgreSQL server.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    /// libpq's `sslmode` values.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    /// A directory holding `.s.PGSQL.<port>` (libpq's `host=/dir`), or a socket file; when set,
    /// `host` is ignored and TLS is never attempted.
    public var unixSocketPath: String?
    public var user: String
    /// Never printed: `description` shows `***`.
    public var password: String?
    public var database: String?
    /// Default `prefer`, as libpq.
    public var sslMode: SSLMode
    /// CA bundle for `verify-ca`/`verify-full` (`sslrootcert`).
    public var sslRootCert: String?
    /// Opens a replication connection (`replication=database`) for logical replication commands.
    public var replication: Bool
    public var applicationName: String
    public var connectTimeout: Duration
    /// Extra startup parameters (GUCs), e.g. `["DateStyle": "ISO"]`.
    public var options: [String: String]

    public init(host: String = "127.0.0.1", port: Int = 5432, unixSocketPath: String? = nil, user: String,
                password: String? = nil, database: String? = nil, sslMode: SSLMode = .prefer,
                sslRootCert: String? = nil, replication: Bool = false, applicationName: String = "kafka-pipe",
                connectTimeout: Duration = .seconds(10), options: [String: String] = [:]) {
        self.host = host
        self.port = port
        self.unixSocketPath = unixSocketPath
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.replication = replication
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.options = options
    }

    /// Parses `postgres://user:pass@host:port/db?sslmode=…&sslrootcert=…&host=/socket/dir&application_name=…`
    /// (also `postgresql://`). Percent-escapes are decoded. `[::1]` IPv6 literals are accepted.
    public init(url: String) throws(PostgresError) {
        func bad(_ why: String) -> PostgresError {
            PostgresError(code: .invalidConfiguration, context: "PostgreSQL URL: \(why)")
        }
        var rest = Substring(url)
        if rest.hasPrefix("postgres://") { rest = rest.dropFirst(11) }
        else if rest.hasPrefix("postgresql://") { rest = rest.dropFirst(13) }
        else { throw bad("must start with postgres:// or postgresql://") }
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") { query = rest[rest.index(after: q)...]; rest = rest[..<q] }
        var path: Substring = ""
        if let s = rest.firstIndex(of: "/") { path = rest[rest.index(after: s)...]; rest = rest[..<s] }
        var userInfo: Substring = ""
        if let at = rest.lastIndex(of: "@") { userInfo = rest[..<at]; rest = rest[rest.index(after: at)...] }
        var user = "postgres"
        var password: String?
        if !userInfo.isEmpty {
            if let c = userInfo.firstIndex(of: ":") {
                user = try Self.percentDecode(userInfo[..<c])
                password = try Self.percentDecode(userInfo[userInfo.index(after: c)...])
            } else {
                user = try Self.percentDecode(userInfo)
            }
        }
        var host = "127.0.0.1"
        var port = 5432
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad("unclosed [ in host") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw bad("invalid port") }
                port = p
            } else if !after.isEmpty { throw bad("unexpected text after ]") }
        } else if !rest.isEmpty {
            if let c = rest.lastIndex(of: ":") {
                guard let p = Int(rest[rest.index(after: c)...]), (1...65535).contains(p) else { throw bad("invalid port") }
                port = p
                host = String(rest[..<c])
            } else {
                host = String(rest)
            }
            host = try Self.percentDecode(Substring(host))
        }
        self.init(host: host, port: port, user: user, password: password,
                  database: path.isEmpty ? nil : try Self.percentDecode(path))
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.percentDecode(kv[0])
            let value = kv.count > 1 ? try Self.percentDecode(kv[1]) : ""
            switch key {
            case "sslmode":
                guard let m = SSLMode(rawValue: value) else { throw bad("unknown sslmode \"\(value)\"") }
                sslMode = m
            case "sslrootcert": sslRootCert = value
            case "host":
                if value.hasPrefix("/") { unixSocketPath = value } else { self.host = value }
            case "port":
                guard let p = Int(value), (1...65535).contains(p) else { throw bad("invalid port") }
                self.port = p
            case "user": self.user = value
            case "password": self.password = value
            case "dbname": database = value
            case "application_name": applicationName = value
            case "connect_timeout":
                guard let s = Int(value), s >= 0 else { throw bad("invalid connect_timeout") }
                connectTimeout = .seconds(s == 0 ? 3600 : s)
            case "replication":
                replication = (value == "database" || value == "true" || value == "on" || value == "1")
            default:
                options[key] = value
            }
        }
        if self.host.hasPrefix("/") { unixSocketPath = self.host }
    }

    static func percentDecode(_ s: Substring) throws(PostgresError) -> String {
        guard s.contains("%") else { return String(s) }
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%") {
                guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else {
                    throw PostgresError(code: .invalidConfiguration, context: "PostgreSQL URL: bad percent-escape")
                }
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The socket file for a unix-domain connection.
    var unixSocketFile: String? {
        guard let p = unixSocketPath else { return nil }
        return p.hasSuffix(".s.PGSQL.\(port)") ? p : (p.hasSuffix("/") ? p : p + "/") + ".s.PGSQL.\(port)"
    }

    /// Where this connects, for logs and errors (no credentials).
    public var endpoint: String { unixSocketFile ?? (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)") }

    public var description: String {
        "postgres://\(user):\(password == nil ? "" : "***")@\(endpoint)/\(database ?? "") sslmode=\(sslMode.rawValue)"
            + (replication ? " replication=database" : "")
    }

    var startupParameters: [(String, String)] {
        var p: [(String, String)] = [("user", user)]
        if let database { p.append(("database", database)) }
        p.append(("application_name", applicationName))
        if replication { p.append(("replication", "database")) }
        for (k, v) in options.sorted(by: { $0.key < $1.key }) { p.append((k, v)) }
        return p
    }
}
