import Foundation
import PipeTestSupport
import Testing
@testable import ClickHouseNative

// The Native file format and the types newer than ClickHouse 18.16, checked against a real modern
// engine: chdb (ClickHouse 26.x in-process, the PyPI wheel `chdb-core`). Each case below is a column
// with three values and the text ClickHouse's TSV format shows for them, written by hand. Both
// directions go through that text, so neither side checks itself:
//   ours → Native file → chdb `file(..., Native)` → TSV  == the expected text;
//   the expected text → chdb `format(TSV, ...)` → Native → ours == the expected values.

/// One column of the test block: its type as ClickHouse names it, three values, their TSV text.
struct NativeCase: Sendable {
    var name: String
    var type: String
    var values: [ClickHouseValue]
    var tsv: [String]
}

private func i256(_ s: String) -> ClickHouseValue { .int256(ClickHouseInt256(s)!) }
private func u256(_ s: String) -> ClickHouseValue { .uint256(ClickHouseUInt256(s)!) }
private func d256(_ s: String, _ scale: Int) -> ClickHouseValue { .decimal256(ClickHouseInt256(s)!, scale: scale) }
private func hex(_ s: String) -> [UInt8] {
    let c = Array(s.utf8)
    return stride(from: 0, to: c.count, by: 2).map { UInt8(String(decoding: c[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
}
private func entry(_ k: ClickHouseValue, _ v: ClickHouseValue) -> ClickHouseMapEntry { ClickHouseMapEntry(key: k, value: v) }

let int256Min = "-57896044618658097711785492504343953926634992332820282019728792003956564819968"
let int256Max = "57896044618658097711785492504343953926634992332820282019728792003956564819967"
let uint256Max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
let nines76 = String(repeating: "9", count: 76)

let nativeCases: [NativeCase] = [
    // The ClickHouse 18.16 types.
    NativeCase(name: "i8", type: "Int8", values: [.int(-128), .int(0), .int(127)], tsv: ["-128", "0", "127"]),
    NativeCase(name: "i16", type: "Int16", values: [.int(-32768), .int(1), .int(32767)], tsv: ["-32768", "1", "32767"]),
    NativeCase(name: "i32", type: "Int32", values: [.int(Int64(Int32.min)), .int(0), .int(Int64(Int32.max))],
               tsv: ["-2147483648", "0", "2147483647"]),
    NativeCase(name: "i64", type: "Int64", values: [.int(.min), .int(-1), .int(.max)],
               tsv: ["-9223372036854775808", "-1", "9223372036854775807"]),
    NativeCase(name: "u8", type: "UInt8", values: [.uint(0), .uint(1), .uint(255)], tsv: ["0", "1", "255"]),
    NativeCase(name: "u16", type: "UInt16", values: [.uint(0), .uint(60000), .uint(65535)], tsv: ["0", "60000", "65535"]),
    NativeCase(name: "u32", type: "UInt32", values: [.uint(0), .uint(4_000_000_000), .uint(UInt64(UInt32.max))],
               tsv: ["0", "4000000000", "4294967295"]),
    NativeCase(name: "u64", type: "UInt64", values: [.uint(0), .uint(1), .uint(.max)], tsv: ["0", "1", "18446744073709551615"]),
    NativeCase(name: "f32", type: "Float32", values: [.float(1.5), .float(-2.25), .float(0)], tsv: ["1.5", "-2.25", "0"]),
    NativeCase(name: "f64", type: "Float64", values: [.float(0.1), .float(-1e300), .float(.infinity)], tsv: ["0.1", "-1e300", "inf"]),
    NativeCase(name: "d32", type: "Decimal(9, 3)", values: [.decimal(12345, scale: 3), .decimal(-1, scale: 3), .decimal(0, scale: 3)],
               tsv: ["12.345", "-0.001", "0"]),
    NativeCase(name: "d64", type: "Decimal(18, 2)",
               values: [.decimal(-123456789, scale: 2), .decimal(100, scale: 2), .decimal(999_999_999_999_999_999, scale: 2)],
               tsv: ["-1234567.89", "1", "9999999999999999.99"]),
    NativeCase(name: "d128", type: "Decimal(38, 5)",
               values: [.decimal(Int128("99999999999999999999999999999999999999")!, scale: 5),
                        .decimal(-Int128("99999999999999999999999999999999999999")!, scale: 5), .decimal(150000, scale: 5)],
               tsv: ["999999999999999999999999999999999.99999", "-999999999999999999999999999999999.99999", "1.5"]),
    NativeCase(name: "s", type: "String", values: [.string("hello"), .string(""), .string("tab\there é")],
               tsv: ["hello", "", "tab\\there é"]),
    NativeCase(name: "fs", type: "FixedString(4)", values: [.string("abcd"), .string("wxyz"), .string("1234")], tsv: ["abcd", "wxyz", "1234"]),
    NativeCase(name: "d", type: "Date", values: [.date(0), .date(19782), .date(65535)], tsv: ["1970-01-01", "2024-02-29", "2149-06-06"]),
    NativeCase(name: "dt", type: "DateTime", values: [.dateTime(0), .dateTime(1_709_210_096), .dateTime(.max)],
               tsv: ["1970-01-01 00:00:00", "2024-02-29 12:34:56", "2106-02-07 06:28:15"]),
    NativeCase(name: "dtz", type: "DateTime('Asia/Tokyo')", values: [.dateTime(0), .dateTime(1_709_210_096), .dateTime(1)],
               tsv: ["1970-01-01 09:00:00", "2024-02-29 21:34:56", "1970-01-01 09:00:01"]),
    NativeCase(name: "uu", type: "UUID",
               values: [.uuid(hex("0123456789abcdef0123456789abcdef")), .uuid([UInt8](repeating: 0, count: 16)),
                        .uuid([UInt8](repeating: 0xff, count: 16))],
               tsv: ["01234567-89ab-cdef-0123-456789abcdef", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"]),
    // Members in value order: ClickHouse prints an enum's members that way.
    NativeCase(name: "e8", type: "Enum8('b' = -2, 'a' = 1)", values: [.enumValue("a", 1), .enumValue("b", -2), .enumValue("a", 1)],
               tsv: ["a", "b", "a"]),
    NativeCase(name: "e16", type: "Enum16('x' = -300, 'y' = 1000)", values: [.enumValue("y", 1000), .enumValue("x", -300), .enumValue("y", 1000)],
               tsv: ["y", "x", "y"]),
    NativeCase(name: "n", type: "Nullable(Int32)", values: [.null, .int(5), .int(-5)], tsv: ["\\N", "5", "-5"]),
    NativeCase(name: "ns", type: "Nullable(String)", values: [.string("x"), .null, .string("")], tsv: ["x", "\\N", ""]),
    NativeCase(name: "a", type: "Array(Int32)", values: [.array([.int(1), .int(2), .int(3)]), .array([]), .array([.int(-1)])],
               tsv: ["[1,2,3]", "[]", "[-1]"]),
    NativeCase(name: "an", type: "Array(Nullable(UInt8))", values: [.array([.null, .uint(1)]), .array([]), .array([.null])],
               tsv: ["[NULL,1]", "[]", "[NULL]"]),
    NativeCase(name: "aa", type: "Array(Array(String))",
               values: [.array([.array([.string("a")]), .array([]), .array([.string("b"), .string("c")])]), .array([]), .array([.array([])])],
               tsv: ["[['a'],[],['b','c']]", "[]", "[[]]"]),
    NativeCase(name: "t", type: "Tuple(UInt16, String)",
               values: [.tuple([.uint(1), .string("a")]), .tuple([.uint(0), .string("")]), .tuple([.uint(65535), .string("z")])],
               tsv: ["(1,'a')", "(0,'')", "(65535,'z')"]),
    NativeCase(name: "lc", type: "LowCardinality(String)", values: [.string("x"), .string("y"), .string("x")], tsv: ["x", "y", "x"]),
    NativeCase(name: "lcn", type: "LowCardinality(Nullable(String))", values: [.null, .string("p"), .null], tsv: ["\\N", "p", "\\N"]),
    NativeCase(name: "alc", type: "Array(LowCardinality(String))",
               values: [.array([.string("a"), .string("b")]), .array([]), .array([.string("a")])], tsv: ["['a','b']", "[]", "['a']"]),

    // Newer types.
    NativeCase(name: "i128", type: "Int128", values: [.int128(.min), .int128(.max), .int128(-1)],
               tsv: ["-170141183460469231731687303715884105728", "170141183460469231731687303715884105727", "-1"]),
    NativeCase(name: "u128", type: "UInt128", values: [.uint128(0), .uint128(.max), .uint128(1)],
               tsv: ["0", "340282366920938463463374607431768211455", "1"]),
    NativeCase(name: "i256", type: "Int256", values: [i256(int256Min), i256(int256Max), i256("-1")], tsv: [int256Min, int256Max, "-1"]),
    NativeCase(name: "i256b", type: "Int256", values: [i256("0"), i256("1"), i256("-10000000000000000000000000000000000000000")],
               tsv: ["0", "1", "-10000000000000000000000000000000000000000"]),
    NativeCase(name: "u256", type: "UInt256",
               values: [u256("0"), u256(uint256Max), u256("12345678901234567890123456789012345678901234567890")],
               tsv: ["0", uint256Max, "12345678901234567890123456789012345678901234567890"]),
    NativeCase(name: "d256", type: "Decimal(76, 10)",
               values: [d256("-15000000000", 10), d256(nines76, 10), d256("-" + nines76, 10)],
               tsv: ["-1.5", String(nines76.dropLast(10)) + "." + String(repeating: "9", count: 10),
                     "-" + String(nines76.dropLast(10)) + "." + String(repeating: "9", count: 10)]),
    NativeCase(name: "d256n", type: "Nullable(Decimal(50, 0))",
               values: [.null, d256("-" + String(repeating: "9", count: 50), 0), d256("1", 0)],
               tsv: ["\\N", "-" + String(repeating: "9", count: 50), "1"]),
    NativeCase(name: "b", type: "Bool", values: [.bool(true), .bool(false), .bool(true)], tsv: ["true", "false", "true"]),
    NativeCase(name: "d32x", type: "Date32", values: [.date32(-25567), .date32(0), .date32(120529)],
               tsv: ["1900-01-01", "1970-01-01", "2299-12-31"]),
    NativeCase(name: "dt64_3", type: "DateTime64(3, 'UTC')",
               values: [.dateTime64(1_709_210_096_789, precision: 3), .dateTime64(0, precision: 3), .dateTime64(-1, precision: 3)],
               tsv: ["2024-02-29 12:34:56.789", "1970-01-01 00:00:00.000", "1969-12-31 23:59:59.999"]),
    NativeCase(name: "dt64_6", type: "DateTime64(6, 'Europe/Berlin')",
               values: [.dateTime64(1_709_210_096_000_001, precision: 6), .dateTime64(0, precision: 6), .dateTime64(-1_000_000, precision: 6)],
               tsv: ["2024-02-29 13:34:56.000001", "1970-01-01 01:00:00.000000", "1970-01-01 00:59:59.000000"]),
    NativeCase(name: "dt64_9", type: "DateTime64(9, 'America/New_York')",
               values: [.dateTime64(1_709_210_096_123_456_789, precision: 9), .dateTime64(1, precision: 9), .dateTime64(0, precision: 9)],
               tsv: ["2024-02-29 07:34:56.123456789", "1969-12-31 19:00:00.000000001", "1969-12-31 19:00:00.000000000"]),
    NativeCase(name: "dt64", type: "DateTime64(3)",
               values: [.dateTime64(1_500, precision: 3), .dateTime64(0, precision: 3), .dateTime64(86_400_000, precision: 3)],
               tsv: ["1970-01-01 00:00:01.500", "1970-01-01 00:00:00.000", "1970-01-02 00:00:00.000"]),
    NativeCase(name: "ip4", type: "IPv4", values: [.ipv4(0), .ipv4(0x0102_0304), .ipv4(.max)], tsv: ["0.0.0.0", "1.2.3.4", "255.255.255.255"]),
    NativeCase(name: "ip6", type: "IPv6",
               values: [.ipv6(hex("00000000000000000000000000000001")), .ipv6(hex("20010db885a308d313198a2e03707348")),
                        .ipv6(hex("00000000000000000000ffff01020304"))],
               tsv: ["::1", "2001:db8:85a3:8d3:1319:8a2e:370:7348", "::ffff:1.2.3.4"]),
    NativeCase(name: "ip6b", type: "IPv6",
               values: [.ipv6([UInt8](repeating: 0, count: 16)), .ipv6([UInt8](repeating: 0xff, count: 16)),
                        .ipv6(hex("fe800000000000000000000000000001"))],
               tsv: ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1"]),
    NativeCase(name: "m", type: "Map(String, UInt8)",
               values: [.map([entry(.string("a"), .uint(1)), entry(.string("b"), .uint(2))]), .map([]), .map([entry(.string("z"), .uint(255))])],
               tsv: ["{'a':1,'b':2}", "{}", "{'z':255}"]),
    NativeCase(name: "mlc", type: "Map(LowCardinality(String), Array(Nullable(Int64)))",
               values: [.map([entry(.string("k"), .array([.int(1), .null]))]), .map([]),
                        .map([entry(.string("a"), .array([])), entry(.string("b"), .array([.null]))])],
               tsv: ["{'k':[1,NULL]}", "{}", "{'a':[],'b':[NULL]}"]),
    NativeCase(name: "nt", type: "Tuple(a UInt8, b String)",
               values: [.tuple([.uint(1), .string("x")]), .tuple([.uint(0), .string("")]), .tuple([.uint(255), .string("z")])],
               tsv: ["(1,'x')", "(0,'')", "(255,'z')"]),
    NativeCase(name: "ntw", type: "Tuple(id Int256, `b c` Nullable(IPv6))",
               values: [.tuple([i256("-1"), .null]), .tuple([i256("0"), .ipv6(hex("00000000000000000000000000000001"))]),
                        .tuple([i256(int256Max), .null])],
               tsv: ["(-1,NULL)", "(0,'::1')", "(\(int256Max),NULL)"]),
    NativeCase(name: "nest", type: "Nested(a UInt8, b String)",
               values: [.array([.tuple([.uint(1), .string("x")]), .tuple([.uint(2), .string("y")])]), .array([]),
                        .array([.tuple([.uint(3), .string("")])])],
               tsv: ["[(1,'x'),(2,'y')]", "[]", "[(3,'')]"]),
    NativeCase(name: "nn", type: "Nullable(Nothing)", values: [.null, .null, .null], tsv: ["\\N", "\\N", "\\N"]),
    NativeCase(name: "a0", type: "Array(Nothing)", values: [.array([]), .array([]), .array([])], tsv: ["[]", "[]", "[]"]),
    NativeCase(name: "lcf", type: "LowCardinality(FixedString(2))", values: [.string("ab"), .string("ab"), .string("cd")],
               tsv: ["ab", "ab", "cd"]),
    NativeCase(name: "adt", type: "Array(DateTime('Asia/Tokyo'))", values: [.array([.dateTime(0)]), .array([]), .array([.dateTime(1)])],
               tsv: ["['1970-01-01 09:00:00']", "[]", "['1970-01-01 09:00:01']"]),
]

let nativeBlock = ClickHouseBlock(
    columns: nativeCases.map { ClickHouseColumn(name: $0.name, type: try! ClickHouseType.parse($0.type), values: $0.values) },
    rowCount: 3)

/// The type a modern server writes into a Native file: a top-level DateTime loses its time zone.
func nativeFileType(_ t: ClickHouseType) -> ClickHouseType {
    if case .dateTime = t { return .dateTime(timezone: nil) }
    return t
}

// MARK: - Without chdb

@Test func modernTypeNamesParseAndPrintAsClickHouseDoes() throws {
    for c in nativeCases {
        #expect(try ClickHouseType.parse(c.type).description == c.type)
    }
    #expect(try ClickHouseType.parse("Decimal256(20)") == .decimal(precision: 76, scale: 20))
    #expect(try ClickHouseType.parse("Tuple(a UInt8, b Array(String))")
            == .namedTuple([.init(name: "a", type: .uint8), .init(name: "b", type: .array(.string))]))
    #expect(try ClickHouseType.parse("Tuple(String String)") == .namedTuple([.init(name: "String", type: .string)]))
    #expect(try ClickHouseType.parse("Tuple(`a\\`b` UInt8)").description == "Tuple(`a\\`b` UInt8)")
    #expect(try ClickHouseType.parse("DateTime64(9)") == .dateTime64(precision: 9, timezone: nil))
    #expect(throws: ClickHouseError.self) { try ClickHouseType.parse("DateTime64(10)") }
    #expect(throws: ClickHouseError.self) { try ClickHouseType.parse("Decimal(77, 2)") }
    #expect(throws: ClickHouseError.self) { try ClickHouseType.parse("Tuple(a UInt8, String)") }
    #expect(throws: ClickHouseError.self) { try ClickHouseType.parse("Nested(UInt8)") }
}

@Test(arguments: ["Variant(String, UInt64)", "JSON", "Dynamic", "Array(Object('json'))", "AggregateFunction(sum, UInt64)",
                  "Map(String, Variant(String, UInt8))", "Time64(3)"])
func unsupportedModernTypeNamesItself(_ name: String) throws {
    do {
        _ = try ClickHouseType.parse(name)
        Issue.record("\(name) parsed")
    } catch let e as ClickHouseError {
        #expect(e.code == .unsupportedType)
        let first = name.hasPrefix("Array") ? "Object" : name.hasPrefix("Map") ? "Variant" : String(name.prefix { $0 != "(" })
        #expect(e.context.contains(first), "\(e) should name \(first)")
    }
}

@Test func wideIntegersTextAndBytes() throws {
    #expect(ClickHouseInt256(int256Min)?.description == int256Min)
    #expect(ClickHouseInt256(int256Max)?.description == int256Max)
    #expect(ClickHouseInt256(int256Min) == .min && ClickHouseInt256(int256Max) == .max)
    #expect(ClickHouseInt256("57896044618658097711785492504343953926634992332820282019728792003956564819968") == nil)
    #expect(ClickHouseInt256("-57896044618658097711785492504343953926634992332820282019728792003956564819969") == nil)
    #expect(ClickHouseUInt256(uint256Max) == .max && ClickHouseUInt256.max.description == uint256Max)
    #expect(ClickHouseUInt256("115792089237316195423570985008687907853269984665640564039457584007913129639936") == nil)
    #expect(ClickHouseInt256("-0") == .zero && ClickHouseInt256("") == nil && ClickHouseInt256("1x") == nil)
    #expect(ClickHouseInt256(Int128.min).int128 == .min && ClickHouseInt256(-5).description == "-5")
    #expect(ClickHouseInt256.min < ClickHouseInt256(-1) && ClickHouseInt256(-1) < .zero && ClickHouseInt256.zero < .max)
    #expect(ClickHouseInt256(-1).littleEndianBytes == [UInt8](repeating: 0xff, count: 32))
    #expect(ClickHouseUInt256(1).littleEndianBytes == [1] + [UInt8](repeating: 0, count: 31))
}

@Test func nativeFileRoundTripAndBoundedDecoding() throws {
    let empty = ClickHouseBlock(columns: try [ClickHouseColumn(name: "x", typeName: "Map(String, Int256)", values: [])], rowCount: 0)
    let bytes = try ClickHouseNativeFormat.encode([nativeBlock, empty, nativeBlock])
    let back = try ClickHouseNativeFormat.decode(bytes)
    #expect(back == [nativeBlock, empty, nativeBlock])
    #expect(try ClickHouseNativeFormat.decode([]) == [])
    // Cut anywhere: an error of ours, never a crash or a huge allocation.
    let one = try ClickHouseNativeFormat.encode([nativeBlock])
    for cut in 1..<one.count {
        #expect(throws: ClickHouseError.self) { try ClickHouseNativeFormat.decode(Array(one.prefix(cut))) }
    }
    // Counts far beyond the bytes: 2^31-1 rows of Int256, of Map, of LowCardinality.
    for type in ["Int256", "Map(String, String)", "LowCardinality(String)", "Nullable(Nothing)", "Nested(a UInt8)"] {
        var w = CHWriter()
        w.uvarint(1); w.uvarint(UInt64(Int32.max)); w.string("c"); w.string(type)
        w.bytes += [UInt8](repeating: 1, count: 64)
        #expect(throws: ClickHouseError.self) { try ClickHouseNativeFormat.decode(w.bytes) }
    }
}

@Test func wideValuesAreRangeCheckedNotTruncated() throws {
    func enc(_ type: String, _ v: ClickHouseValue) throws -> [UInt8] {
        try ClickHouseNativeFormat.encode([ClickHouseBlock(columns: [try ClickHouseColumn(name: "c", typeName: type, values: [v])], rowCount: 1)])
    }
    #expect(throws: ClickHouseError.self) { try enc("UInt128", .int(-1)) }
    #expect(throws: ClickHouseError.self) { try enc("UInt256", .int256(.min)) }
    #expect(throws: ClickHouseError.self) { try enc("Int128", .uint128(.max)) }
    #expect(throws: ClickHouseError.self) { try enc("Int256", .uint256(.max)) }
    #expect(throws: ClickHouseError.self) { try enc("Int128", i256("170141183460469231731687303715884105728")) }
    #expect(throws: ClickHouseError.self) { try enc("IPv6", .ipv6([1, 2, 3])) }
    // Smaller integer cases widen; a DateTime64 value of another precision is rescaled.
    let a = try ClickHouseNativeFormat.decode(try enc("Int256", .int(-7)))
    #expect(a.first?.columns.first?.values == [i256("-7")])
    let b = try ClickHouseNativeFormat.decode(try enc("DateTime64(6)", .dateTime64(1_500, precision: 3)))
    #expect(b.first?.columns.first?.values == [.dateTime64(1_500_000, precision: 6)])
    let c = try ClickHouseNativeFormat.decode(try enc("Decimal(40, 2)", .decimal(-12345, scale: 2)))
    #expect(c.first?.columns.first?.values == [d256("-12345", 2)])
}

// MARK: - Against chdb

/// Runs chdb queries in one Python process: each (sql, format, output path). Nil (skip) when chdb
/// is not installed, except under CI (`CI=true`), where that is a failure.
func chdbRun(_ jobs: [(sql: String, format: String, out: URL)]) async throws -> Bool {
    let python = TestEnv.value("KP_PYTHON") ?? "python3"
    let script = """
        import sys
        try:
            import chdb
        except ImportError:
            sys.exit(77)
        a = sys.argv[1:]
        for i in range(0, len(a), 3):
            r = chdb.query(a[i], a[i + 1])
            open(a[i + 2], 'wb').write(r.bytes())
        """
    let args = ["-c", script] + jobs.flatMap { [$0.sql, $0.format, $0.out.path] }
    let r = python.hasPrefix("/") ? try await Run.program(python, args) : try await Run.program("/usr/bin/env", [python] + args)
    if r.status == 77 || (r.status == 127 && !python.hasPrefix("/")) {
        let message = "chdb is not installed for \(python) (pip install chdb-core; CI: KP_WITH_CHDB=1 scripts/install-deps.sh)"
        if TestEnv.isCI { Issue.record(Comment(rawValue: message)) } else { print("skipping: \(message)") }
        return false
    }
    guard r.status == 0 else { throw ClickHouseError(.server, "chdb failed: \(r.stderr.suffix(2000))") }
    return true
}

/// A TSV field's text (ClickHouse escapes the quotes of a type name in the types row).
func tsvUnescape(_ s: String) -> String {
    var out = ""
    var escaped = false
    for c in s {
        if escaped {
            switch c { case "t": out.append("\t"); case "n": out.append("\n"); default: out.append(c) }
            escaped = false
        } else if c == "\\" { escaped = true } else { out.append(c) }
    }
    return out
}

func scratchDir() throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp-native"))
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

/// Both directions for every case, plus chdb reading our file and writing it again as Native.
@Test func nativeFilesAgreeWithChdb() async throws {
    let dir = try scratchDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let ours = dir.appendingPathComponent("ours.native")
    try Data(try ClickHouseNativeFormat.encode([nativeBlock])).write(to: ours)
    let structure = nativeCases.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
    let text = (0..<3).map { row in nativeCases.map { $0.tsv[row] }.joined(separator: "\t") + "\n" }.joined()
    let settings = " SETTINGS session_timezone = 'UTC', flatten_nested = 0"
    let readOurs = dir.appendingPathComponent("read.tsv"), rewritten = dir.appendingPathComponent("rewritten.native")
    let fromText = dir.appendingPathComponent("theirs.native")
    guard try await chdbRun([
        ("SELECT * FROM file('\(ours.path)', Native)" + settings, "TSVWithNamesAndTypes", readOurs),
        ("SELECT * FROM file('\(ours.path)', Native)" + settings, "Native", rewritten),
        ("SELECT * FROM format(TSV, $$\(structure)$$, $$\(text)$$)" + settings, "Native", fromText),
    ]) else { return }

    // 1. Our encoding, as chdb reads it: names, types and every value's text.
    let lines = try String(contentsOf: readOurs, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    }
    try #require(lines.count == 6) // names, types, 3 rows, the empty string after the last newline
    for (i, c) in nativeCases.enumerated() {
        #expect(lines[0][i] == c.name)
        #expect(tsvUnescape(lines[1][i]) == c.type, "chdb read column \(c.name) as \(lines[1][i])")
        for row in 0..<3 {
            #expect(lines[2 + row][i] == c.tsv[row], "\(c.name) (\(c.type)) row \(row): chdb read \(lines[2 + row][i])")
        }
    }

    // 2. chdb's encoding of the expected text, as we decode it.
    let theirs = try ClickHouseNativeFormat.decode(Array(try Data(contentsOf: fromText)))
    try #require(theirs.count == 1)
    for (i, c) in nativeCases.enumerated() {
        let col = theirs[0].columns[i]
        #expect(col.name == c.name)
        #expect(col.type == nativeFileType(try ClickHouseType.parse(c.type)), "\(c.name): chdb wrote type \(col.type)")
        #expect(col.values == c.values, "\(c.name) (\(c.type))")
    }
    // Cut anywhere, chdb's bytes are an error of ours, never a crash.
    let theirBytes = Array(try Data(contentsOf: fromText))
    for cut in stride(from: 1, to: theirBytes.count, by: 7) {
        #expect(throws: ClickHouseError.self) { try ClickHouseNativeFormat.decode(Array(theirBytes.prefix(cut))) }
    }

    // 3. chdb writes our file back: same values (and a modern server adds no serialization-kind byte).
    let again = try ClickHouseNativeFormat.decode(Array(try Data(contentsOf: rewritten)))
    try #require(again.count == 1)
    #expect(again[0].columns.map(\.values) == nativeBlock.columns.map(\.values))
    #expect(again[0].columns.map(\.type) == nativeBlock.columns.map { nativeFileType($0.type) })
}

/// A result of several blocks, values computed by SQL (not parsed from text), a zero-row result.
@Test func chdbMultiBlockOutputDecodes() async throws {
    let dir = try scratchDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let many = dir.appendingPathComponent("many.native"), none = dir.appendingPathComponent("none.native")
    let exprs = dir.appendingPathComponent("exprs.native")
    guard try await chdbRun([
        ("""
         SELECT number AS n, toInt256(number) - 5 AS w, toDecimal256(number, 3) / -8 AS d,
           map(toString(number), toLowCardinality(toString(number))) AS m,
           toDateTime64(number, 6, 'Asia/Kolkata') AS t, if(number % 2 = 0, NULL, toIPv4(number)) AS ip
         FROM numbers(10) SETTINGS max_block_size = 3
         """, "Native", many),
        ("SELECT number FROM numbers(0)", "Native", none),
        ("""
         SELECT toInt256('\(int256Min)') AS a, toUInt256('\(uint256Max)') AS b, toDecimal256('-0.0000000001', 10) AS c,
           toIPv6('2001:db8::ff00:42:8329') AS d, CAST((1, [NULL, 'x']) AS Tuple(k UInt8, v Array(Nullable(String)))) AS e,
           toDate32('2299-12-31') AS f, true AS g, CAST([] AS Array(Nullable(Nothing))) AS h
         """, "Native", exprs),
    ]) else { return }
    let blocks = try ClickHouseNativeFormat.decode(Array(try Data(contentsOf: many)))
    #expect(blocks.count > 1)
    #expect(blocks.map(\.rowCount).reduce(0, +) == 10)
    var rows: [[ClickHouseValue]] = []
    for b in blocks { for r in 0..<b.rowCount { rows.append(b.columns.map { $0.values[r] }) } }
    #expect(blocks.first?.columns.map(\.type.description)
            == ["UInt64", "Int256", "Decimal(76, 3)", "Map(String, LowCardinality(String))", "DateTime64(6, 'Asia/Kolkata')", "Nullable(IPv4)"])
    for (i, row) in rows.enumerated() {
        #expect(row[0] == .uint(UInt64(i)))
        #expect(row[1] == i256(String(i - 5)))
        // number / -8 at scale 3: truncated toward zero.
        #expect(row[2] == d256(String(-(i * 1000) / 8), 3))
        #expect(row[3] == .map([entry(.string(String(i)), .string(String(i)))]))
        #expect(row[4] == .dateTime64(Int64(i) * 1_000_000, precision: 6))
        #expect(row[5] == (i % 2 == 0 ? .null : .ipv4(UInt32(i))))
    }
    #expect(try Data(contentsOf: none).isEmpty)
    #expect(try ClickHouseNativeFormat.decode(Array(try Data(contentsOf: none))) == [])
    let e = try ClickHouseNativeFormat.decode(Array(try Data(contentsOf: exprs)))
    #expect(e.first?.columns.map(\.values) == [
        [i256(int256Min)], [u256(uint256Max)], [d256("-1", 10)], [.ipv6(hex("20010db8000000000000ff0000428329"))],
        [.tuple([.uint(1), .array([.null, .string("x")])])], [.date32(120529)], [.bool(true)], [.array([])],
    ])
    #expect(e.first?.columns[4].type == .namedTuple([.init(name: "k", type: .uint8), .init(name: "v", type: .array(.nullable(.string)))]))
}

/// A modern type chdb writes that we do not support is a clear error naming it.
@Test func chdbUnsupportedTypeIsNamed() async throws {
    let dir = try scratchDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("variant.native")
    guard try await chdbRun([("SELECT 1::Variant(String, UInt64) AS v SETTINGS allow_experimental_variant_type = 1", "Native", out)])
    else { return }
    do {
        _ = try ClickHouseNativeFormat.decode(Array(try Data(contentsOf: out)))
        Issue.record("Variant decoded")
    } catch let e as ClickHouseError {
        #expect(e.code == .unsupportedType)
        #expect(e.context.contains("Variant"))
    }
}

/// LowCardinality dictionaries of 300 and 70,000 entries (UInt16 and UInt32 keys) both ways.
@Test func chdbLowCardinalityKeyWidths() async throws {
    let dir = try scratchDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let theirs300 = dir.appendingPathComponent("lc300.native"), theirs70k = dir.appendingPathComponent("lc70k.native")
    let ours = dir.appendingPathComponent("ours.native"), check = dir.appendingPathComponent("check.tsv")
    let n = 70_000
    let values: [ClickHouseValue] = (0..<n).map { $0 % 5 == 0 ? .null : .string("v\($0)") }
    try Data(try ClickHouseNativeFormat.encode([ClickHouseBlock(
        columns: [ClickHouseColumn(name: "s", type: .lowCardinality(.nullable(.string)), values: values)], rowCount: n)])).write(to: ours)
    let lc = "toLowCardinality(if(number % 5 = 0, NULL, concat('v', toString(number))))"
    guard try await chdbRun([
        ("SELECT \(lc) AS s FROM numbers(300)", "Native", theirs300),
        ("SELECT \(lc) AS s FROM numbers(\(n)) SETTINGS max_block_size = \(n)", "Native", theirs70k),
        ("SELECT count(), countIf(s IS NULL), uniqExact(s), min(s), max(s), (SELECT toTypeName(s) FROM file('\(ours.path)', Native) LIMIT 1) FROM file('\(ours.path)', Native)",
         "TSV", check),
    ]) else { return }
    for (url, count) in [(theirs300, 300), (theirs70k, n)] {
        let blocks = try ClickHouseNativeFormat.decode(Array(try Data(contentsOf: url)))
        #expect(blocks.flatMap { $0.columns[0].values } == Array(values.prefix(count)))
        #expect(blocks.first?.columns[0].type == .lowCardinality(.nullable(.string)))
    }
    let distinct = (0..<n).filter { $0 % 5 != 0 }.map { "v\($0)" }
    #expect(try String(contentsOf: check, encoding: .utf8)
            == "\(n)\t\(n / 5)\t\(distinct.count)\t\(distinct.min()!)\t\(distinct.max()!)\tLowCardinality(Nullable(String))\n")
}

/// The fuzz seeds (written by chdb) are well-formed Native files; one without LowCardinality
/// encodes back to the very same bytes.
@Test func nativeFormatFuzzSeedsDecode() throws {
    let dir = TestEnv.repoRoot.appendingPathComponent("Fuzz/corpus/FuzzClickHouseNativeFormat")
    func seed(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: dir.appendingPathComponent(name))) }
    let expectedRows = ["old_types": [2], "modern_types": [2], "multi_block": [3, 3, 1], "lc_uint16_keys": [300], "zero_rows": [0]]
    for (name, rows) in expectedRows {
        let blocks = try ClickHouseNativeFormat.decode(try seed(name))
        #expect(blocks.map(\.rowCount) == rows, "\(name)")
    }
    let modern = try seed("modern_types")
    #expect(try ClickHouseNativeFormat.encode(ClickHouseNativeFormat.decode(modern)) == modern)
    let m = try ClickHouseNativeFormat.decode(modern)[0]
    #expect(m.columns.last?.type == .nested([.init(name: "a", type: .uint8), .init(name: "b", type: .string)]))
    #expect(m.columns.first { $0.name == "i256" }?.values.first == i256(int256Min))
}

/// ClickHouse 18.16 (the live server, through clickhouse-client) and 26.9 (chdb) write the same
/// Native bytes for the types both have, LowCardinality included, and we decode them.
@Test func nativeFileOf1816EqualsChdbs() async throws {
    guard liveConfig() != nil else { return }
    let dir = try scratchDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let old = dir.appendingPathComponent("old.native"), new = dir.appendingPathComponent("new.native")
    let q = """
        SELECT toInt8(-8) AS i8, toUInt64(18000000000000000000) AS u64, toFloat32(1.5) AS f32, toDecimal32('12.345', 3) AS d32,
          toDecimal128('-1.5', 20) AS d128, 'hé' AS s, toFixedString('ab', 2) AS fs, toDate('2024-02-29') AS d,
          toDateTime(1, 'Asia/Tokyo') AS dt, [toDateTime(1, 'Asia/Tokyo')] AS adt, toUUID('01234567-89ab-cdef-0123-456789abcdef') AS u,
          CAST('b' AS Enum8('a' = 1, 'b' = 2)) AS e8, CAST(NULL AS Nullable(Int32)) AS n, [1, 2] AS a, [NULL, 1] AS an,
          [[1], [], [2, 3]] AS aa, tuple(1, 't') AS t, toLowCardinality('x') AS lc, CAST(['p'] AS Array(LowCardinality(String))) AS alc,
          CAST(toNullable('q') AS LowCardinality(Nullable(String))) AS lcn
        FROM system.numbers LIMIT 2
        """
    let addr = (TestEnv.value("KP_CH") ?? "127.0.0.1:9000").split(separator: ":")
    let r = try await Run.program("/usr/bin/clickhouse-client",
                                  ["--host", String(addr[0]), "--port", addr.count > 1 ? String(addr[1]) : "9000",
                                   "--allow_experimental_low_cardinality_type=1",
                                   "--query", q + " INTO OUTFILE '\(old.path)' FORMAT Native"])
    try #require(r.status == 0, "clickhouse-client: \(r.stderr)")
    guard try await chdbRun([(q, "Native", new)]) else { return }
    let a = Array(try Data(contentsOf: old)), b = Array(try Data(contentsOf: new))
    #expect(a == b)
    let blocks = try ClickHouseNativeFormat.decode(a)
    #expect(blocks.map(\.rowCount) == [2])
    #expect(blocks.first?.columns.map(\.type.description).suffix(4)
            == ["Tuple(UInt8, String)", "LowCardinality(String)", "Array(LowCardinality(String))", "LowCardinality(Nullable(String))"])
    #expect(blocks.first?.columns[8].type == .dateTime(timezone: nil)) // the top-level zone is dropped
    #expect(blocks.first?.columns[9].type == .array(.dateTime(timezone: "Asia/Tokyo")))
    #expect(blocks.first?.columns.last?.values == [.string("q"), .string("q")])
}
