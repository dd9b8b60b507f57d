import ClickHouseNative
@testable import Connectors
import NIOCore
import PipeConfig
import Testing
import WireCore

/// The SPEC §5 conversions of ch.Sink, and the fast JSON row reader against the general path.
struct ChConversionTests {
    let c = ChJSONConverter(timeFormat: .timestampMilli)

    func conv(_ json: String, _ type: String, _ format: TimeFormat = .timestampMilli) throws -> ClickHouseValue {
        try ChJSONConverter(timeFormat: format).convert(try JSONValue.parse(json), to: try ClickHouseType.parse(type))
    }

    @Test func numbersAreExact() throws {
        #expect(try conv("18446744073709551615", "UInt64") == .uint(UInt64.max))
        #expect(try conv("-9223372036854775808", "Int64") == .int(Int64.min))
        #expect(try conv("1e3", "UInt16") == .uint(1000))
        #expect(try conv("12.000", "Int32") == .uint(12))
        #expect(throws: ChConversionError.self) { try conv("12.5", "Int32") }
        #expect(throws: ChConversionError.self) { try conv("256", "UInt8") }
        #expect(throws: ChConversionError.self) { try conv("-1", "UInt64") }
        #expect(try conv("\"10.50\"", "Decimal(10, 2)") == .decimal(1050, scale: 2))
        #expect(try conv("0.1", "Decimal(38, 20)") == .decimal(10_000_000_000_000_000_000, scale: 20))
        #expect(try conv("-7", "Decimal(5, 3)") == .decimal(-7000, scale: 3))
        #expect(throws: ChConversionError.self) { try conv("1.005", "Decimal(10, 2)") }
        #expect(throws: ChConversionError.self) { try conv("100", "Decimal(3, 1)") }
        if case .float(let d) = try conv("\"NaN\"", "Float64") { #expect(d.isNaN) } else { Issue.record("NaN") }
        if case .float(let d) = try conv("\"-Infinity\"", "Float32") { #expect(d == -.infinity) } else { Issue.record("float") }
        #expect(try conv("true", "UInt8") == .uint(1))
        #expect(try conv("null", "Nullable(Int8)") == .null)
        #expect(try conv("null", "Int8") == .int(0))
    }

    @Test func typesNewerThanTheOldServer() throws {
        #expect(try conv("170141183460469231731687303715884105727", "Int128") == .int128(Int128.max))
        #expect(try conv("\"-170141183460469231731687303715884105728\"", "Int128") == .int128(Int128.min))
        #expect(try conv("340282366920938463463374607431768211455", "UInt128") == .uint128(UInt128.max))
        #expect(throws: ChConversionError.self) { try conv("-1", "UInt128") }
        #expect(try conv("1e3", "Int256") == .int256(ClickHouseInt256(1000)))
        #expect(try conv("\"-57896044618658097711785492504343953926634992332820282019728792003956564819968\"", "Int256")
                == .int256(ClickHouseInt256("-57896044618658097711785492504343953926634992332820282019728792003956564819968")!))
        #expect(throws: ChConversionError.self) { try conv("1.5", "UInt256") }
        #expect(try conv("\"12.3400\"", "Decimal(50, 4)") == .decimal256(ClickHouseInt256(123400), scale: 4))
        #expect(try conv("true", "Bool") == .bool(true))
        #expect(try conv("0", "Bool") == .bool(false))
        #expect(try conv("\"FALSE\"", "Bool") == .bool(false))
        #expect(throws: ChConversionError.self) { try conv("2", "Bool") }
        #expect(try conv("\"1900-01-01\"", "Date32") == .date32(-25567))
        #expect(try conv("\"2024-06-01T10:00:00Z\"", "Date32") == .date32(19875))
        #expect(try conv("-10", "Date32") == .date32(-10))
        #expect(throws: ChConversionError.self) { try conv("\"1800-01-01\"", "Date32") }
        #expect(try conv("\"2024-06-01T10:00:00.123456Z\"", "DateTime64(3)") == .dateTime64(1_717_236_000_123, precision: 3))
        #expect(try conv("\"2024-06-01 12:00:00.5+02:00\"", "DateTime64(6, 'UTC')") == .dateTime64(1_717_236_000_500_000, precision: 6))
        #expect(try conv("\"1969-12-31 23:59:59.25\"", "DateTime64(2)") == .dateTime64(-75, precision: 2))
        #expect(try conv("1717236000123", "DateTime64(3)") == .dateTime64(1_717_236_000_123, precision: 3))
        #expect(try conv("1717236000", "DateTime64(0)", .timestamp) == .dateTime64(1_717_236_000, precision: 0))
        #expect(try conv("\"10.1.2.3\"", "IPv4") == .ipv4(0x0A01_0203))
        #expect(throws: ChConversionError.self) { try conv("\"10.1.2.256\"", "IPv4") }
        #expect(try conv("\"::1\"", "IPv6") == .ipv6([UInt8](repeating: 0, count: 15) + [1]))
        #expect(try conv("\"2001:db8::ff00:42:8329\"", "IPv6")
                == .ipv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42, 0x83, 0x29]))
        #expect(try conv("\"1.2.3.4\"", "IPv6") == .ipv6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]))
        #expect(try conv("\"::ffff:1.2.3.4\"", "IPv6") == .ipv6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]))
        #expect(throws: ChConversionError.self) { try conv("\"1::2::3\"", "IPv6") }
        #expect(throws: ChConversionError.self) { try conv("\"12345::\"", "IPv6") }
        #expect(try conv(#"{"a":1,"b":null}"#, "Map(String, Nullable(UInt8))")
                == .map([ClickHouseMapEntry(key: .bytes([0x61]), value: .uint(1)), ClickHouseMapEntry(key: .bytes([0x62]), value: .null)]))
        #expect(try conv(#"{"7":"x"}"#, "Map(UInt16, String)") == .map([ClickHouseMapEntry(key: .uint(7), value: .bytes([0x78]))]))
        #expect(throws: ChConversionError.self) { try conv(#"{"k":"x"}"#, "Map(UInt16, String)") }
        #expect(try conv(#"{"B":"x","a":5}"#, "Tuple(a UInt8, b String, c Int8)") == .tuple([.uint(5), .bytes([0x78]), .int(0)]))
        #expect(try conv(#"[5,"x"]"#, "Tuple(a UInt8, b String)") == .tuple([.uint(5), .bytes([0x78])]))
        #expect(try conv(#"[{"n":1},{"n":2,"s":"q"}]"#, "Nested(n UInt8, s String)")
                == .array([.tuple([.uint(1), .bytes([])]), .tuple([.uint(2), .bytes([0x71])])]))
    }

    @Test func timesAcceptEveryClearForm() throws {
        let t: UInt32 = 1_717_236_000  // 2024-06-01 10:00:00 UTC
        #expect(try conv("\"2024-06-01T10:00:00Z\"", "DateTime") == .dateTime(t))
        #expect(try conv("\"2024-06-01 12:00:00.999+02:00\"", "DateTime") == .dateTime(t))
        #expect(try conv("\"2024-06-01T05:30:00-0430\"", "DateTime") == .dateTime(t))
        #expect(try conv("\"2024-06-01 10:00:00\"", "DateTime") == .dateTime(t))
        #expect(try conv("1717236000000", "DateTime") == .dateTime(t))
        #expect(try conv("1717236000", "DateTime") == .dateTime(t))  // clearly seconds
        #expect(try conv("1717236000", "DateTime", .timestamp) == .dateTime(t))
        #expect(try conv("1717236000000", "DateTime", .timestamp) == .dateTime(t))  // clearly ms
        #expect(try conv("1717236000000000", "DateTime", .rfc3339) == .dateTime(t))  // µs
        #expect(try conv("\"1717236000000\"", "DateTime") == .dateTime(t))
        #expect(try conv("\"2024-06-01\"", "Date") == .date(19875))
        #expect(try conv("\"2024-06-01T23:59:59Z\"", "Date") == .date(19875))
        #expect(try conv("19875", "Date") == .date(19875))
        #expect(try conv("1717236000000", "Date") == .date(19875))
        #expect(throws: ChConversionError.self) { try conv("\"yesterday\"", "DateTime") }
        #expect(throws: ChConversionError.self) { try conv("\"1969-12-31T23:59:59Z\"", "DateTime") }
        #expect(throws: ChConversionError.self) { try conv("\"2024-13-01\"", "Date") }
    }

    @Test func stringsEnumsUUIDsArraysTuples() throws {
        #expect(try conv("\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"", "UUID")
                == .uuid([0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11]))
        #expect(throws: ChConversionError.self) { try conv("\"a0eebc99\"", "UUID") }
        #expect(try conv("\"b\"", "Enum8('a' = 1, 'b' = -2)") == .enumValue("b", -2))
        #expect(try conv("1", "Enum8('a' = 1, 'b' = -2)") == .enumValue("a", 1))
        #expect(throws: ChConversionError.self) { try conv("\"c\"", "Enum8('a' = 1)") }
        #expect(try conv("\"abc\"", "FixedString(3)") == .bytes(Array("abc".utf8)))
        #expect(throws: ChConversionError.self) { try conv("\"abcd\"", "FixedString(3)") }
        #expect(try conv("{\"a\":[1,2]}", "String") == .bytes(Array("{\"a\":[1,2]}".utf8)))
        #expect(try conv("1.50", "String") == .bytes(Array("1.50".utf8)))
        #expect(try conv("[[1],[null]]", "Array(Array(Nullable(Int8)))") == .array([.array([.uint(1)]), .array([.null])]))
        #expect(try conv("[1,\"x\"]", "Tuple(UInt8, String)") == .tuple([.uint(1), .bytes([0x78])]))
        #expect(throws: ChConversionError.self) { try conv("[1]", "Tuple(UInt8, String)") }
        #expect(throws: ChConversionError.self) { try conv("{}", "Array(UInt8)") }
    }

    static let schema = ChTableSchema(database: "db", table: "t", columns: [
        ChSinkColumn(name: "id", type: .uint64, hasDefaultExpression: false),
        ChSinkColumn(name: "Name", type: .string, hasDefaultExpression: false),
        ChSinkColumn(name: "n", type: .nullable(.int32), hasDefaultExpression: false),
        ChSinkColumn(name: "at", type: .dateTime(timezone: nil), hasDefaultExpression: false),
        ChSinkColumn(name: "tags", type: .array(.string), hasDefaultExpression: false),
        ChSinkColumn(name: "dec", type: .decimal(precision: 10, scale: 2), hasDefaultExpression: true),
        ChSinkColumn(name: "f", type: .float64, hasDefaultExpression: false),
    ], computed: ["m"])

    /// The general path: JSONValue, then each field.
    func slow(_ text: String) -> Result<[ClickHouseValue?], ChFastJSONRow.Outcome.Failure>? {
        guard case .object(let fields) = try? JSONValue.parse(text) else { return nil }
        var row = [ClickHouseValue?](repeating: nil, count: Self.schema.columns.count)
        for (k, v) in fields {
            guard let i = Self.schema.column(named: k) else { continue }
            do { row[i] = try c.convert(v, to: Self.schema.columns[i].type) } catch {
                return .failure(.init(column: Self.schema.columns[i].name, message: "\(error.description) (value \(ChScalar.quote(v.jsonString())))"))
            }
        }
        return .success(row)
    }

    @Test(arguments: [
        #"{"id":1,"name":"ada","n":null,"at":1717236000000,"tags":["a","b"],"dec":"1.50","f":2.5}"#,
        #"{"ID":2,"NAME":"\u00e9t\u00e9 \"q\"","n":-5,"at":"2024-06-01T10:00:00Z","tags":[],"dec":3,"f":-1e-3,"m":1,"x":{"deep":[1,{"a":"]"}]}}"#,
        #" { "id" : 3 , "name" : "tab\there" , "f" : "NaN" } "#,
        #"{"name":"né","id":18446744073709551615}"#,
        #"{}"#,
        #"{"id":1,"id":2}"#,
        #"{"id":-1}"#,
        #"{"id":1.5}"#,
        #"{"n":2147483648}"#,
        #"{"id":01}"#,
        #"{"id":1,}"#,
        #"{"id":1} x"#,
        #"{"id":"7","at":"nope"}"#,
        #"{"tags":"not an array"}"#,
        #"[1]"#,
        #"{"name":"\ud800"}"#,
        #"{"f":1e400}"#,
        #"{"id":true,"n":false}"#,
        // Decimals, floats, times and string arrays read straight from the bytes.
        #"{"dec":12.345}"#, #"{"dec":"12.30"}"#, #"{"dec":-0.5}"#, #"{"dec":1e3}"#, #"{"dec":99999999.99}"#,
        #"{"dec":100000000}"#, #"{"dec":"0.000"}"#, #"{"dec":"x1"}"#, #"{"dec":"1e-2"}"#, #"{"dec":00.10}"#,
        #"{"at":"2023-11-14 12:00:00"}"#, #"{"at":"2023-11-14T12:00:00+02:00"}"#, #"{"at":"1969-12-31 23:59:59"}"#,
        #"{"at":"2023-11-14"}"#, #"{"at":"2023-13-14"}"#, #"{"at":"1700000000"}"#, #"{"at":"2106-02-07 06:28:16"}"#,
        #"{"f":1.5e3}"#, #"{"f":"2.5"}"#, #"{"f":"-inf"}"#, #"{"f":"abc"}"#,
        #"{"tags":["a","b"]}"#, #"{"tags":[ "a" , "b" ]}"#, #"{"tags":["é"]}"#, #"{"tags":["a\"b"]}"#, #"{"tags":[1]}"#,
        #"{"tags":["a",]}"#, #"{"tags":["a"] }"#, #"{"tags":[""]}"#, #"{"tags":["a"]]}"#, #"{"tags":["a" "b"]}"#,
    ])
    func fastReaderAgreesWithTheGeneralPath(_ text: String) {
        var fast = ChFastJSONRow(schema: Self.schema, converter: c)
        // Twice: the second read uses the key-position hints of the first.
        for _ in 0..<2 {
            let bytes = Array(text.utf8)
            var cells: [ChCell] = []
            let (outcome, row) = bytes.withUnsafeBytes { p in
                let o = fast.read(p, into: &cells)
                return (o, ChFastJSONRow.values(cells, p, ranges: fast.ranges))
            }
            let want = slow(text)
            switch outcome {
            case .row:
                guard case .success(let w) = want else { Issue.record("fast read \(text) as a row, the general path: \(String(describing: want))"); return }
                #expect(row.count == w.count)
                for i in 0..<min(row.count, w.count) {
                    // NaN != NaN: compare the descriptions.
                    #expect(String(describing: row[i]) == String(describing: w[i]), "\(text) column \(i)")
                }
            case .failure(let column, let message):
                guard case .failure(let f) = want else { Issue.record("fast failed \(text): \(message), general: \(String(describing: want))"); return }
                #expect(f.column == column)
                #expect(f.message == message)
            case .unsure:
                break  // the general path decides
            }
        }
    }

    @Test func rangesAndRowsAreDeterministic() throws {
        #expect(ChRangeState(parsing: "pending 10 20") == ChRangeState(.pending, 10, 20))
        #expect(ChRangeState(parsing: ChRangeState(.done, 0, 0).encoded) == ChRangeState(.done, 0, 0))
        #expect(ChRangeState(parsing: "pending 20 10") == nil)
        #expect(ChRangeState(parsing: "pending -1 10") == nil)
        #expect(ChRangeState(parsing: "later 1 2") == nil)
        // A DEFAULT-expression column present in some rows only splits the batch by presence.
        var acc = ChRowAccumulator(schema: Self.schema, capacity: 4)
        acc.add([.uint(1), nil, nil, nil, nil, .decimal(100, scale: 2), nil])
        acc.add([.uint(2), nil, nil, nil, nil, nil, nil])
        acc.add([.uint(3), .bytes([1]), nil, nil, nil, .decimal(300, scale: 2), nil])
        let blocks = try acc.blocks()
        #expect(blocks.map(\.rowCount) == [2, 1])
        #expect(blocks.map { $0.columns.map(\.name) } == [["id", "Name", "dec"], ["id", "Name"]])
        #expect(try blocks[0].columns[0].decoded().values == [.uint(1), .uint(3)])
        #expect(try blocks[0].columns[1].decoded().values == [.bytes([]), .bytes([1])])
        #expect(try blocks[1].columns[0].decoded().values == [.uint(2)])
        // A value that does not fit its column makes the batch fail, naming nothing half-written.
        var bad = ChRowAccumulator(schema: Self.schema, capacity: 1)
        bad.add([.bytes([1]), nil, nil, nil, nil, nil, nil])
        #expect(throws: (any Error).self) { try bad.blocks() }
        // Rows with no known field are rows of defaults.
        var empty = ChRowAccumulator(schema: Self.schema, capacity: 1)
        empty.add([nil, nil, nil, nil, nil, nil, nil])
        #expect(try empty.blocks().map(\.rowCount) == [1])
    }
}
