import Foundation
import PipeTestSupport
import PipeTLS
import Testing
@testable import ClickHouseNative

/// Address of the shared ClickHouse (KP_CH host:port); nil (skip) outside CI when unset.
func liveConfig(user: String = "default", password: String = "", compression: ClickHouseCompression = .lz4) -> ClickHouseConfig? {
    guard let addr = TestEnv.require("KP_CH", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return nil }
    let parts = addr.split(separator: ":")
    return ClickHouseConfig(host: String(parts[0]), port: parts.count > 1 ? Int(parts[1]) ?? 9000 : 9000,
                            user: user, password: password, compression: compression)
}

/// Runs clickhouse-client against the same server and returns its TSV output.
func clickhouseClient(_ query: String) async throws -> String {
    let addr = TestEnv.value("KP_CH") ?? "127.0.0.1:9000"
    let parts = addr.split(separator: ":")
    let r = try await Run.program("/usr/bin/clickhouse-client",
                                  ["--host", String(parts[0]), "--port", parts.count > 1 ? String(parts[1]) : "9000",
                                   "--query", query])
    #expect(r.status == 0, "clickhouse-client: \(r.stderr)")
    return r.stdout
}

/// Renders a value the way ClickHouse's TSV output does (for the values these tests use).
func tsv(_ v: ClickHouseValue, _ t: ClickHouseType, nested: Bool = false) -> String {
    switch (v, t) {
    case (.null, _): return nested ? "NULL" : "\\N"
    case (.int(let x), _): return String(x)
    case (.uint(let x), _): return String(x)
    case (.float(let x), _): return x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    case (.decimal(let x, let s), _):
        if s == 0 { return String(x) }
        let neg = x < 0
        var digits = String(neg ? -x : x)
        while digits.count <= s { digits = "0" + digits }
        let i = digits.index(digits.endIndex, offsetBy: -s)
        return (neg ? "-" : "") + digits[..<i] + "." + digits[i...]
    case (.bytes(let b), _):
        let s = String(decoding: b, as: UTF8.self)
        return nested ? "'\(s)'" : s
    case (.date(0), _): return "0000-00-00" // how ClickHouse 18.16 prints day 0
    case (.date(let d), _): return civil(Int64(d) * 86400, withTime: false)
    case (.dateTime(let s), _):
        let r = civil(Int64(s), withTime: true)
        return nested ? "'\(r)'" : r
    case (.uuid(let b), _):
        let h = b.map { String(format: "%02x", $0) }.joined()
        let c = Array(h)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    case (.enumValue(let n, _), _): return nested ? "'\(n)'" : n
    case (.array(let a), let t):
        var inner = t
        if case .array(let i) = t { inner = i }
        return "[" + a.map { tsv($0, inner, nested: true) }.joined(separator: ",") + "]"
    case (.tuple(let a), let t):
        var ts: [ClickHouseType] = []
        if case .tuple(let x) = t { ts = x }
        return "(" + a.enumerated().map { tsv($1, $0 < ts.count ? ts[$0] : t, nested: true) }.joined(separator: ",") + ")"
    default: return "\(v)" // the newer types are checked against chdb (NativeFormatTests)
    }
}

func civil(_ secs: Int64, withTime: Bool) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = withTime ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd"
    return f.string(from: Date(timeIntervalSince1970: TimeInterval(secs)))
}

func tsvRows(_ result: ClickHouseResult) -> String {
    let cols = result.columns
    return result.rows.map { row in row.enumerated().map { tsv($1, cols[$0].type) }.joined(separator: "\t") + "\n" }.joined()
}

let everyTypeSelect = """
    SELECT toInt8(-8) AS i8, toInt16(-1600) AS i16, toInt32(-320000) AS i32, toInt64(-64000000000) AS i64,
      toUInt8(200) AS u8, toUInt16(60000) AS u16, toUInt32(4000000000) AS u32, toUInt64(18000000000000000000) AS u64,
      toFloat32(1.5) AS f32, toFloat64(-2.25) AS f64,
      toDecimal32('12.345', 3) AS d32, toDecimal64('-1234567.89', 2) AS d64, toDecimal128('123456789012345678.5', 1) AS d128,
      'hello' AS s, toFixedString('abcd', 4) AS fs, toDate('2024-02-29') AS d, toDateTime('2024-02-29 12:34:56', 'UTC') AS dt,
      toUUID('01234567-89ab-cdef-0123-456789abcdef') AS u, CAST('b' AS Enum8('a' = 1, 'b' = 2)) AS e8,
      CAST('y' AS Enum16('x' = -300, 'y' = 1000)) AS e16, CAST(NULL AS Nullable(Int32)) AS n1, CAST(5 AS Nullable(Int32)) AS n2,
      [1, 2, 3] AS a1, ['x', 'y'] AS a2, tuple(1, 't') AS t, [NULL, 1] AS an, [[1], [], [2, 3]] AS aa,
      number AS num, toString(number) AS ns
    FROM system.numbers LIMIT 3
    """

@Test(arguments: [ClickHouseCompression.none, .lz4, .zstd(level: 1)])
func selectEveryTypeMatchesClickhouseClient(_ c: ClickHouseCompression) async throws {
    guard let config = liveConfig(compression: c) else { return }
    let conn = try await ClickHouseConnection.connect(config)
    defer { Task { await conn.close() } }
    #expect(conn.server.revision == 54412 || conn.revision == ClickHouseRevision.client)
    let result = try await conn.query(everyTypeSelect, queryID: "kp-test-\(UInt32.random(in: 0...UInt32.max))")
    #expect(result.rows.count == 3)
    let expected = try await clickhouseClient(everyTypeSelect + " FORMAT TSV")
    #expect(tsvRows(result) == expected)
    #expect(result.columns.map(\.name).first == "i8")
}

@Test func pingAndServerInfo() async throws {
    guard let config = liveConfig() else { return }
    let conn = try await ClickHouseConnection.connect(config)
    try await conn.ping()
    try await conn.ping()
    #expect(conn.server.revision > 0)
    #expect(conn.revision <= ClickHouseRevision.client)
    let r = try await conn.query("SELECT 1")
    #expect(r.rows == [[.uint(1)]])
    await conn.close()
}

@Test func serverExceptionHasCodeAndMessage() async throws {
    guard let config = liveConfig() else { return }
    let conn = try await ClickHouseConnection.connect(config)
    do {
        _ = try await conn.query("SELEC 1")
        Issue.record("bad SQL succeeded")
    } catch let e as ClickHouseError {
        #expect(e.code == .server)
        #expect(e.serverException?.code == 62) // SYNTAX_ERROR
        #expect(e.serverException?.message.contains("Syntax error") == true)
    }
    await conn.close()
    // ClickHouse 18.16 closes the connection after a query that fails to parse; a new one works.
    let conn2 = try await ClickHouseConnection.connect(config)
    let r = try await conn2.query("SELECT toString(42)")
    #expect(r.rows == [[.string("42")]])
    await conn2.close()
}

@Test func wrongPasswordIsAClearErrorWithoutThePassword() async throws {
    guard let config = liveConfig(user: "cdc", password: "not-the-password-xyz") else { return }
    do {
        _ = try await ClickHouseConnection.connect(config)
        Issue.record("wrong password accepted")
    } catch let e as ClickHouseError {
        #expect(e.code == .server)
        #expect(e.serverException?.code == 192 || e.serverException?.code == 193 || e.serverException?.code == 516)
        #expect(!"\(e)".contains("not-the-password-xyz"))
    }
    guard let good = liveConfig(user: TestEnv.value("KP_CH_USER") ?? "cdc", password: TestEnv.value("KP_CH_PASSWORD") ?? "cdcpass") else { return }
    let conn = try await ClickHouseConnection.connect(good)
    #expect(try await conn.query("SELECT 7").rows == [[.uint(7)]])
    await conn.close()
}

@Test(arguments: [ClickHouseCompression.none, .lz4, .zstd(level: 3)])
func insertEveryTypeThenReadBack(_ c: ClickHouseCompression) async throws {
    guard let config = liveConfig(compression: c) else { return }
    let conn = try await ClickHouseConnection.connect(config)
    let table = TestEnv.unique("kp_chn")
    _ = try await conn.query("""
        CREATE TABLE default.\(table) (i8 Int8, u64 UInt64, f64 Float64, d64 Decimal(18, 2), s String, fs FixedString(3),
          d Date, dt DateTime('UTC'), u UUID, e Enum8('a' = 1, 'b' = 2), n Nullable(String), a Array(Int32),
          an Array(Nullable(UInt8)), t Tuple(UInt16, String)) ENGINE = Memory
        """)
    let uuid: [UInt8] = (0..<16).map { UInt8($0 * 17) }
    let cols = try [
        ClickHouseColumn(name: "i8", typeName: "Int8", values: [.int(-128), .int(0), .int(127)]),
        ClickHouseColumn(name: "u64", typeName: "UInt64", values: [.uint(UInt64.max), .uint(0), .uint(42)]),
        ClickHouseColumn(name: "f64", typeName: "Float64", values: [.float(0.5), .float(-3), .float(1e10)]),
        ClickHouseColumn(name: "d64", typeName: "Decimal(18, 2)", values: [.decimal(12345, scale: 2), .decimal(-1, scale: 2), .decimal(0, scale: 2)]),
        ClickHouseColumn(name: "s", typeName: "String", values: [.string("héllo"), .string(""), .string("x y")]),
        ClickHouseColumn(name: "fs", typeName: "FixedString(3)", values: [.string("abc"), .string("xyz"), .string("pqr")]),
        ClickHouseColumn(name: "d", typeName: "Date", values: [.date(19782), .date(0), .date(1)]),
        ClickHouseColumn(name: "dt", typeName: "DateTime('UTC')", values: [.dateTime(1_709_210_096), .dateTime(1), .dateTime(86400)]),
        ClickHouseColumn(name: "u", typeName: "UUID", values: [.uuid(uuid), .uuid(uuid.reversed()), .uuid([UInt8](repeating: 0, count: 16))]),
        ClickHouseColumn(name: "e", typeName: "Enum8('a' = 1, 'b' = 2)", values: [.enumValue("a", 1), .enumValue("b", 2), .enumValue("a", 1)]),
        ClickHouseColumn(name: "n", typeName: "Nullable(String)", values: [.null, .string("v"), .null]),
        ClickHouseColumn(name: "a", typeName: "Array(Int32)", values: [.array([.int(1), .int(-2)]), .array([]), .array([.int(7)])]),
        ClickHouseColumn(name: "an", typeName: "Array(Nullable(UInt8))", values: [.array([.null, .uint(3)]), .array([.null]), .array([])]),
        ClickHouseColumn(name: "t", typeName: "Tuple(UInt16, String)", values: [.tuple([.uint(1), .string("a")]), .tuple([.uint(2), .string("")]), .tuple([.uint(3), .string("c")])]),
    ]
    try await conn.insert(into: "default.\(table)", columns: cols)
    let back = try await conn.query("SELECT * FROM default.\(table)")
    #expect(back.columns.map(\.values) == cols.map(\.values))
    let expected = cols.isEmpty ? "" : (0..<3).map { i in cols.map { tsv($0.values[i], $0.type) }.joined(separator: "\t") + "\n" }.joined()
    let fromClient = try await clickhouseClient("SELECT * FROM default.\(table) FORMAT TSV")
    #expect(fromClient == expected)
    // The same rows again through column builders (the encoded-block insert ch.Sink uses).
    var builders = cols.map { ClickHouseColumnBuilder(name: $0.name, type: $0.type) }
    for k in builders.indices { for v in cols[k].values { try builders[k].append(v) } }
    try await conn.insert(into: "default.\(table)", block: try ClickHouseEncodedBlock(columns: builders.map { try $0.finish() }))
    let twice = try await conn.query("SELECT * FROM default.\(table)")
    #expect(twice.columns.map(\.values) == cols.map { $0.values + $0.values })
    _ = try await conn.query("DROP TABLE default.\(table)")
    await conn.close()
}

@Test func lowCardinalityRoundTrip() async throws {
    guard let config = liveConfig() else { return }
    let conn = try await ClickHouseConnection.connect(config)
    let table = TestEnv.unique("kp_chn_lc")
    let settings = [("allow_experimental_low_cardinality_type", "1")]
    _ = try await conn.query("CREATE TABLE default.\(table) (a LowCardinality(String), b LowCardinality(Nullable(String))) ENGINE = Memory",
                             settings: settings)
    let a: [ClickHouseValue] = ["x", "y", "x", "x", "z"].map { .string($0) }
    let b: [ClickHouseValue] = [.null, .string("p"), .string("p"), .null, .string("q")]
    try await conn.insert(into: "default.\(table)", columns: [
        try ClickHouseColumn(name: "a", typeName: "LowCardinality(String)", values: a),
        try ClickHouseColumn(name: "b", typeName: "LowCardinality(Nullable(String))", values: b),
    ], settings: settings)
    let back = try await conn.query("SELECT a, b FROM default.\(table)", settings: settings)
    #expect(back.columns.map(\.values) == [a, b])
    let fromClient = try await clickhouseClient("SELECT a, b FROM default.\(table) FORMAT TSV")
    #expect(fromClient == "x\t\\N\ny\tp\nx\tp\nx\t\\N\nz\tq\n")
    _ = try await conn.query("DROP TABLE default.\(table)", settings: settings)
    await conn.close()
}

@Test func unsupportedTypeIsAClearError() throws {
    // (Map was the example here until it became supported; see NativeFormatTests for the modern types.)
    #expect(throws: ClickHouseError.self) { try ClickHouseType.parse("Variant(String, UInt8)") }
    do { _ = try ClickHouseType.parse("Variant(String, UInt8)") } catch let e as ClickHouseError {
        #expect(e.code == .unsupportedType)
        #expect(e.context.contains("Variant"))
    } catch { Issue.record("wrong error") }
    #expect(try ClickHouseType.parse("Array(Nullable(Decimal(10, 3)))") == .array(.nullable(.decimal(precision: 10, scale: 3))))
    #expect(try ClickHouseType.parse("DateTime('Europe/Moscow')").description == "DateTime('Europe/Moscow')")
}

/// A query that would run for hours ends after Cancel.
@Test func cancelStopsALongQuery() async throws {
    guard let config = liveConfig() else { return }
    let conn = try await ClickHouseConnection.connect(config)
    let task = Task { try await conn.query("SELECT count() FROM system.numbers WHERE sipHash64(number) = 1") }
    // Wait until the server reports progress for the query, then cancel it.
    var seen = false
    for _ in 0..<100 where !seen {
        try await Task.sleep(for: .milliseconds(100))
        let ps = try await clickhouseClient("SELECT count() FROM system.processes WHERE query LIKE '%sipHash64(number) = 1%' AND query NOT LIKE '%processes%'")
        seen = ps.hasPrefix("1")
    }
    #expect(seen)
    try await conn.cancel()
    let outcome: String
    do { _ = try await task.value; outcome = "ended" } catch let e as ClickHouseError { outcome = "\(e.code)" }
    #expect(outcome == "ended" || outcome == "server")
    await conn.close()
}

/// Per-query settings (old binary form on 18.16) and the query id reach the server.
@Test func querySettingsAndQueryID() async throws {
    guard let config = liveConfig() else { return }
    let conn = try await ClickHouseConnection.connect(config)
    let r = try await conn.query("SELECT value FROM system.settings WHERE name = 'max_threads'", settings: [("max_threads", "3")])
    #expect(r.rows == [[.string("3")]])
    let r2 = try await conn.query("SELECT value FROM system.settings WHERE name = 'max_threads'")
    #expect(r2.rows != [[.string("3")]]) // the setting was for that query only
    let id = TestEnv.unique("kpq")
    let r3 = try await conn.query("SELECT query_id FROM system.processes WHERE query_id = '\(id)'", queryID: id)
    #expect(r3.rows == [[.string(id)]])
    await conn.close()
}

/// A result of many blocks and frames (several MB, compressed and not) arrives whole.
@Test(arguments: [ClickHouseCompression.none, .lz4])
func largeResultArrivesWhole(_ c: ClickHouseCompression) async throws {
    guard let config = liveConfig(compression: c) else { return }
    let conn = try await ClickHouseConnection.connect(config)
    let r = try await conn.query("SELECT number, toString(number) FROM system.numbers LIMIT 300000")
    let cols = r.columns
    #expect(cols.count == 2 && cols[0].values.count == 300_000)
    #expect(cols[0].values.last == .uint(299_999))
    #expect(cols[1].values.last == .string("299999"))
    #expect(r.blocks.count > 1)
    await conn.close()
}

/// TLS to the server's secure native port (KP_CH_TLS, the test CA's certificate): a query and an
/// insert work; a client that trusts another CA, or expects another name, is refused.
@Test func tlsToTheSecurePort() async throws {
    guard let addr = TestEnv.require("KP_CH_TLS", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
          let ca = TestEnv.require("KP_TLS_CA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
          let otherCA = TestEnv.require("KP_TLS_OTHER_CA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return }
    let parts = addr.split(separator: ":")
    func config(_ caFile: String, name: String? = nil) throws -> ClickHouseConfig {
        ClickHouseConfig(host: String(parts[0]), port: Int(parts[1]) ?? 9440,
                         tls: try TLSContext(configuration: TLSConfiguration(caFile: caFile)), tlsServerName: name)
    }
    let conn = try await ClickHouseConnection.connect(try config(ca))
    let r = try await conn.query("SELECT 40 + 2")
    #expect(r.rows.first?.first == .uint(42))
    let table = TestEnv.unique("kp_chn_tls")
    _ = try await conn.query("CREATE TABLE default.\(table) (s String) ENGINE = Memory")
    try await conn.insert(into: "default.\(table)", columns: [try ClickHouseColumn(name: "s", typeName: "String", values: [.string("over tls")])])
    #expect(try await conn.query("SELECT s FROM default.\(table)").rows == [[.string("over tls")]])
    _ = try await conn.query("DROP TABLE default.\(table)")
    await conn.close()
    for (bad, why) in [(try config(otherCA), "another CA"), (try config(ca, name: "elsewhere.example"), "another name")] {
        do {
            let c = try await ClickHouseConnection.connect(bad)
            await c.close()
            Issue.record("connected although the client expects \(why)")
        } catch let e as ClickHouseError {
            #expect(e.code == .connection, "\(why): \(e)")
            #expect(e.description.contains("TLS"), "\(why): \(e)")
        }
    }
}
