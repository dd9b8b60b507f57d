import Testing
@testable import ClickHouseNative

/// Columns built value by value give the bytes the value codec gives for the same values, and
/// decode back to them.
struct ColumnBuilderTests {
    static let enumType = ClickHouseType.enum8(.init([("a", 1), ("b", -2)]))
    static let cases: [(String, [ClickHouseValue])] = [
        ("Int8", [.int(-128), .int(127), .uint(5)]),
        ("UInt16", [.uint(0), .uint(65535)]),
        ("Int32", [.int(-1), .int(Int64(Int32.max))]),
        ("Int64", [.int(Int64.min), .uint(42)]),
        ("UInt64", [.uint(UInt64.max), .int(0)]),
        ("Float32", [.float(1.5), .int(-3), .float(.infinity)]),
        ("Float64", [.float(-0.25), .uint(7)]),
        ("Decimal(9, 2)", [.decimal(-12345, scale: 2), .int(1)]),
        ("Decimal(18, 4)", [.decimal(123456789012345, scale: 4)]),
        ("Decimal(38, 10)", [.decimal(Int128.max / 3, scale: 10), .decimal(-1, scale: 10)]),
        ("String", [.bytes([]), .bytes(Array("héllo".utf8)), .bytes([UInt8](repeating: 0x61, count: 300))]),
        ("FixedString(4)", [.bytes([1, 2]), .bytes([1, 2, 3, 4]), .bytes([])]),
        ("Date", [.date(0), .date(19000)]),
        ("DateTime", [.dateTime(0), .dateTime(1_700_000_000)]),
        ("DateTime('Europe/Berlin')", [.dateTime(86400)]),
        ("UUID", [.uuid(Array(0..<16)), .uuid([UInt8](repeating: 0xff, count: 16))]),
        ("Enum8('a' = 1, 'b' = -2)", [.enumValue("a", 1), .enumValue("b", -2), .bytes(Array("b".utf8)), .int(1)]),
        ("Nullable(String)", [.null, .bytes([65]), .null]),
        ("Nullable(Decimal(9, 2))", [.decimal(5, scale: 2), .null]),
        ("Array(String)", [.array([]), .array([.bytes([1]), .bytes([2, 3])]), .array([.bytes([])])]),
        ("Array(Nullable(Int32))", [.array([.null, .int(1)]), .array([])]),
        ("Array(Array(UInt8))", [.array([.array([.uint(1)]), .array([])]), .array([.array([.uint(2), .uint(3)])])]),
        ("Tuple(String, Nullable(UInt8))", [.tuple([.bytes([9]), .null]), .tuple([.bytes([]), .uint(3)])]),
        ("LowCardinality(String)", [.bytes([1]), .bytes([2]), .bytes([1])]),
        ("Decimal(50, 4)", [.decimal256(ClickHouseInt256(-5), scale: 4), .decimal256(ClickHouseInt256("123456789012345678901234567890123456789012")!, scale: 4)]),
        ("Int256", [.int256(ClickHouseInt256(-1))]),
        ("Map(String, UInt8)", [.map([ClickHouseMapEntry(key: .bytes([1]), value: .uint(2))]), .map([])]),
        ("DateTime64(3, 'UTC')", [.dateTime64(1_717_236_000_123, precision: 3)]),
        ("Nullable(IPv6)", [.null, .ipv6([UInt8](repeating: 1, count: 16))]),
        ("LowCardinality(Nullable(String))", [.null, .bytes([7]), .null]),
        ("Array(LowCardinality(String))", [.array([.bytes([1]), .bytes([1])]), .array([])]),
    ]

    @Test(arguments: cases.indices)
    func builderMatchesTheValueCodec(_ k: Int) throws {
        let (typeName, values) = Self.cases[k]
        let type = try ClickHouseType.parse(typeName)
        var b = ClickHouseColumnBuilder(name: "c", type: type, reservingRows: 2)
        for v in values { try b.append(v) }
        let built = try b.finish()
        let reference = try ClickHouseEncodedColumn(ClickHouseColumn(name: "c", type: type, values: values))
        #expect(built.rows == values.count)
        #expect(built.bytes == reference.bytes, "\(typeName)")
        // And it decodes: the canonical forms of what went in.
        let back = try built.decoded().values
        #expect(back.count == values.count)
        let again = try ClickHouseEncodedColumn(ClickHouseColumn(name: "c", type: type, values: back))
        #expect(again.bytes == built.bytes, "\(typeName) re-encoded")
    }

    @Test func bytesAndDefaultsMatchValues() throws {
        for typeName in ["String", "Nullable(String)", "FixedString(3)", "LowCardinality(String)", "Array(String)", "UInt32"] {
            let type = try ClickHouseType.parse(typeName)
            var b = ClickHouseColumnBuilder(name: "x", type: type)
            var values: [ClickHouseValue] = []
            if case .array = type {} else if case .uint32 = type {} else {
                try [UInt8]([0x61, 0x62]).withUnsafeBytes { try b.append(bytes: $0) }
                values.append(.bytes([0x61, 0x62]))
            }
            b.appendDefault()
            values.append(type.defaultValue)
            let reference = try ClickHouseEncodedColumn(ClickHouseColumn(name: "x", type: type, values: values))
            #expect(try b.finish().bytes == reference.bytes, "\(typeName)")
        }
    }

    @Test func misfitsAreErrors() throws {
        var s = ClickHouseColumnBuilder(name: "s", type: .fixedString(2))
        #expect(throws: ClickHouseError.self) { try [UInt8]([1, 2, 3]).withUnsafeBytes { try s.append(bytes: $0) } }
        var i = ClickHouseColumnBuilder(name: "i", type: .uint8)
        #expect(throws: ClickHouseError.self) { try i.append(.bytes([1])) }
        #expect(throws: ClickHouseError.self) { try [UInt8]([1]).withUnsafeBytes { try i.append(bytes: $0) } }
        var a = ClickHouseColumnBuilder(name: "a", type: .array(.string))
        #expect(throws: ClickHouseError.self) { try a.append(.bytes([])) }
        // A block needs columns of one length.
        var one = ClickHouseColumnBuilder(name: "one", type: .uint8)
        try one.append(.uint(1))
        let two = ClickHouseColumnBuilder(name: "two", type: .uint8)
        #expect(throws: ClickHouseError.self) { try ClickHouseEncodedBlock(columns: [one.finish(), two.finish()]) }
        // Zero rows are zero bytes, not even LowCardinality's prefix.
        #expect(try ClickHouseColumnBuilder(name: "l", type: .lowCardinality(.string)).finish().bytes.isEmpty)
    }
}
