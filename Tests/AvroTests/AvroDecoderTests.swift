import Avro
import Testing

func decode(_ bytes: [UInt8], _ schema: AvroSchema, limits: AvroDecoder.Limits = .init()) throws(AvroError) -> AvroValue {
    try AvroDecoder.decode(bytes, schema: schema, limits: limits)
}

func decode(_ bytes: [UInt8], json: String) throws -> AvroValue {
    try AvroDecoder.decode(bytes, schema: try AvroSchema.parse(json: json))
}

/// Byte vectors computed by hand from Avro 1.11 "Binary Encoding" (zig-zag varints, little-endian
/// IEEE 754, length-prefixed bytes/strings, blocks for arrays and maps, index-prefixed unions).
@Suite struct AvroDecoderTests {
    @Test func nullAndBoolean() throws {
        #expect(try decode([], .null) == .null)
        #expect(try decode([0x00], .boolean) == .boolean(false))
        #expect(try decode([0x01], .boolean) == .boolean(true))
    }

    @Test func zigZagInts() throws {
        let cases: [([UInt8], Int32)] = [
            ([0x00], 0), ([0x01], -1), ([0x02], 1), ([0x03], -2), ([0x04], 2),
            ([0x7F], -64), ([0x80, 0x01], 64), ([0xD0, 0x0F], 1000),
            ([0xFE, 0xFF, 0xFF, 0xFF, 0x0F], .max), ([0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .min),
            ([0x80, 0x00], 0),  // not minimal, still within 5 bytes
        ]
        for (bytes, value) in cases {
            #expect(try decode(bytes, .int) == .int(value), "\(bytes)")
        }
    }

    @Test func zigZagLongs() throws {
        let cases: [([UInt8], Int64)] = [
            ([0x00], 0), ([0x01], -1), ([0x02], 1), ([0x7F], -64), ([0x80, 0x01], 64),
            ([0x80, 0xA0, 0xAB, 0xFE, 0xF9, 0x62], 1_700_000_000_000),
            ([0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], .max),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], .min),
        ]
        for (bytes, value) in cases {
            #expect(try decode(bytes, .long) == .long(value), "\(bytes)")
        }
    }

    @Test func floatsAndDoubles() throws {
        #expect(try decode([0x00, 0x00, 0x80, 0x3F], .float) == .float(1.0))
        #expect(try decode([0x00, 0x00, 0x60, 0x40], .float) == .float(3.5))
        #expect(try decode([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F], .double) == .double(1.0))
        #expect(try decode([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xC0], .double) == .double(-2.5))
        guard case .double(let nan) = try decode([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x7F], .double) else {
            Issue.record("not a double"); return
        }
        #expect(nan.isNaN)
    }

    @Test func bytesAndStrings() throws {
        #expect(try decode([0x00], .bytes) == .bytes([]))
        #expect(try decode([0x04, 0x01, 0xFF], .bytes) == .bytes([0x01, 0xFF]))
        // The specification's example: "foo" is 06 66 6f 6f.
        #expect(try decode([0x06, 0x66, 0x6F, 0x6F], .string) == .string("foo"))
        #expect(try decode([0x00], .string) == .string(""))
        #expect(try decode([0x04, 0xC3, 0xA9], .string) == .string("é"))
        #expect(try decode([0x08, 0xF0, 0x9F, 0x98, 0x80], .string) == .string("😀"))
    }

    /// The specification's examples for complex types.
    @Test func specExamples() throws {
        // record test { long a; string b } with a = 27, b = "foo"
        let record = try decode([0x36, 0x06, 0x66, 0x6F, 0x6F], json: #"""
        {"type":"record","name":"test","fields":[{"name":"a","type":"long"},{"name":"b","type":"string"}]}
        """#)
        #expect(record == .record([("a", .long(27)), ("b", .string("foo"))]))
        #expect(record[field: "b"] == .string("foo"))
        // array of longs [3, 27]
        #expect(try decode([0x04, 0x06, 0x36, 0x00], .array(items: .long)) == .array([.long(3), .long(27)]))
        // union ["null","string"]: null, then "a"
        let union = AvroSchema.union([.null, .string])
        #expect(try decode([0x00], union) == .null)
        #expect(try decode([0x02, 0x02, 0x61], union) == .string("a"))
        // enum: "D" of A, B, C, D is index 3
        #expect(try decode([0x06], .enum(name: "Foo", symbols: ["A", "B", "C", "D"])) == .enumSymbol("D"))
        // fixed(3)
        #expect(try decode([0xAB, 0xCD, 0xEF], .fixed(name: "F", size: 3)) == .fixed([0xAB, 0xCD, 0xEF]))
        #expect(try decode([], .fixed(name: "Empty", size: 0)) == .fixed([]))
    }

    @Test func arraysAndMapsInBlocks() throws {
        #expect(try decode([0x00], .array(items: .int)) == .array([]))
        // Two blocks: [1] then [2, 3].
        #expect(try decode([0x02, 0x02, 0x04, 0x04, 0x06, 0x00], .array(items: .int)) == .array([.int(1), .int(2), .int(3)]))
        // A negative count (-2) is followed by the block's byte size (2).
        #expect(try decode([0x03, 0x04, 0x02, 0x04, 0x00], .array(items: .int)) == .array([.int(1), .int(2)]))
        // map {"a": 1}
        #expect(try decode([0x02, 0x02, 0x61, 0x02, 0x00], .map(values: .long)) == .map([("a", .long(1))]))
        // map in a sized block: -1 entries, 4 bytes: "k" -> "v"
        #expect(try decode([0x01, 0x08, 0x02, 0x6B, 0x02, 0x76, 0x00], .map(values: .string))
                == .map([("k", .string("v"))]))
        // Items that take no bytes.
        #expect(try decode([0x06, 0x00], .array(items: .null)) == .array([.null, .null, .null]))
    }

    @Test func logicalTypeValues() throws {
        #expect(try decode([0xF0, 0xA8, 0x02], .date) == .date(19000))  // 2022-01-08
        #expect(try decode([0xAA, 0xB2, 0x99, 0x2B], .timeMillis) == .timeMillis(45_296_789))  // 12:34:56.789
        #expect(try decode([0x90, 0x98, 0xB1, 0xBE, 0xD1, 0x02], .timeMicros) == .timeMicros(45_296_789_000))
        #expect(try decode([0x80, 0xA0, 0xAB, 0xFE, 0xF9, 0x62], .timestampMillis) == .timestampMillis(1_700_000_000_000))
        #expect(try decode([0x80, 0x89, 0x81, 0x82, 0x83, 0x89, 0x85, 0x06], .timestampMicros)
                == .timestampMicros(1_700_000_000_123_456))
        #expect(try decode([0x05], .localTimestampMillis) == .localTimestampMillis(-3))
        #expect(try decode([0x05], .localTimestampMicros) == .localTimestampMicros(-3))
        let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
        #expect(try decode([72] + Array(uuid.utf8), .uuid) == .uuid(uuid))
        let uuidBytes: [UInt8] = [0x0F, 0x8F, 0xAD, 0x5B, 0xD9, 0xCB, 0x46, 0x9F,
                                  0xA1, 0x65, 0x70, 0x86, 0x77, 0x28, 0x95, 0x0E]
        #expect(try decode(uuidBytes, .uuidFixed(name: "U")) == .uuid(uuid))
    }

    @Test func decimals() throws {
        let onBytes = AvroSchema.decimal(precision: 10, scale: 2, underlying: .bytes)
        #expect(try decode([0x04, 0x30, 0x39], onBytes) == .decimal(unscaled: 12345, scale: 2))  // 123.45
        #expect(try decode([0x04, 0xCF, 0xC7], onBytes) == .decimal(unscaled: -12345, scale: 2))
        #expect(try decode([0x02, 0xFF], onBytes) == .decimal(unscaled: -1, scale: 2))
        #expect(try decode([0x04, 0x00, 0x80], onBytes) == .decimal(unscaled: 128, scale: 2))
        #expect(try decode([0x04, 0xFF, 0x7F], onBytes) == .decimal(unscaled: -129, scale: 2))
        #expect(try decode([0x00], onBytes) == .decimal(unscaled: 0, scale: 2))
        let onFixed = AvroSchema.decimal(precision: 18, scale: 4, underlying: .fixed(name: "D", size: 8))
        #expect(try decode([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE], onFixed) == .decimal(unscaled: -2, scale: 4))
        #expect(try decode([0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xE2, 0x40], onFixed) == .decimal(unscaled: 123_456, scale: 4))
        // 16 bytes: the whole Int128 range.
        let max16: [UInt8] = [0x7F] + Array(repeating: 0xFF, count: 15)
        let min16: [UInt8] = [0x80] + Array(repeating: 0x00, count: 15)
        #expect(try decode([0x20] + max16, onBytes) == .decimal(unscaled: .max, scale: 2))
        #expect(try decode([0x20] + min16, onBytes) == .decimal(unscaled: .min, scale: 2))
        // More than 16 bytes only when the extra bytes are sign extension.
        #expect(try decode([0x24, 0x00, 0x00] + max16, onBytes) == .decimal(unscaled: .max, scale: 2))
        #expect(try decode([0x22, 0xFF] + min16, onBytes) == .decimal(unscaled: .min, scale: 2))
        #expect(try decode([0x22, 0xFF] + Array(repeating: 0xFF, count: 16), onBytes) == .decimal(unscaled: -1, scale: 2))
        for bad: [UInt8] in [[0x22, 0x00] + min16, [0x22, 0xFF] + max16, [0x22, 0x01] + max16] {
            let error = #expect(throws: AvroError.self) { _ = try decode(bad, onBytes) }
            #expect(error?.code == .malformed)
        }
    }

    static let orderSchema = #"""
    {"type":"record","name":"Order","namespace":"shop","fields":[
      {"name":"id","type":"long"},
      {"name":"customer","type":{"type":"record","name":"Customer","fields":[
        {"name":"name","type":"string"},
        {"name":"email","type":["null","string"]}]}},
      {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED"]}},
      {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
        {"name":"sku","type":{"type":"fixed","name":"Sku","size":4}},
        {"name":"qty","type":"int"},
        {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}}]}}},
      {"name":"tags","type":{"type":"map","values":"string"}},
      {"name":"placed","type":{"type":"long","logicalType":"timestamp-millis"}},
      {"name":"day","type":{"type":"int","logicalType":"date"}},
      {"name":"ref","type":{"type":"string","logicalType":"uuid"}},
      {"name":"billing","type":["null","Customer"]},
      {"name":"previous","type":["null","shop.Status"]},
      {"name":"score","type":["null","double"]}
    ]}
    """#

    static let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"

    static let orderBytes: [UInt8] =
        [0xD0, 0x0F]                                  // id 1000
        + [0x06, 0x41, 0x6E, 0x6E]                    // customer.name "Ann"
        + [0x02, 0x06, 0x61, 0x40, 0x62]              // customer.email: branch 1, "a@b"
        + [0x02]                                      // status PAID
        + [0x04]                                      // lines: block of 2
        + [0x41, 0x42, 0x43, 0x44, 0x06, 0x04, 0x30, 0x39]  // "ABCD", qty 3, price 123.45
        + [0x01, 0x02, 0x03, 0x04, 0x01, 0x02, 0xFF]        // 01020304, qty -1, price -0.01
        + [0x00]                                      // end of lines
        + [0x01, 0x08, 0x02, 0x6B, 0x02, 0x76, 0x00]  // tags: -1 entries in 4 bytes, "k" -> "v", end
        + [0x80, 0xA0, 0xAB, 0xFE, 0xF9, 0x62]        // placed 1_700_000_000_000
        + [0xF0, 0xA8, 0x02]                          // day 19000
        + [72] + Array(uuid.utf8)                     // ref
        + [0x00]                                      // billing: null
        + [0x02, 0x04]                                // previous: branch 1, SHIPPED
        + [0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x3F]  // score: branch 1, 1.0

    static let orderValue = AvroValue.record([
        ("id", .long(1000)),
        ("customer", .record([("name", .string("Ann")), ("email", .string("a@b"))])),
        ("status", .enumSymbol("PAID")),
        ("lines", .array([
            .record([("sku", .fixed([0x41, 0x42, 0x43, 0x44])), ("qty", .int(3)), ("price", .decimal(unscaled: 12345, scale: 2))]),
            .record([("sku", .fixed([1, 2, 3, 4])), ("qty", .int(-1)), ("price", .decimal(unscaled: -1, scale: 2))]),
        ])),
        ("tags", .map([("k", .string("v"))])),
        ("placed", .timestampMillis(1_700_000_000_000)),
        ("day", .date(19000)),
        ("ref", .uuid(uuid)),
        ("billing", .null),
        ("previous", .enumSymbol("SHIPPED")),
        ("score", .double(1.0)),
    ])

    @Test func nestedRecord() throws {
        #expect(try decode(Self.orderBytes, json: Self.orderSchema) == Self.orderValue)
    }

    @Test func anyContiguousOrNotCollection() throws {
        let schema = try AvroSchema.parse(json: Self.orderSchema)
        let padded = [0xEE] + Self.orderBytes + [0xEE]
        #expect(try AvroDecoder.decode(padded.dropFirst().dropLast(), schema: schema) == Self.orderValue)
        #expect(try AvroDecoder.decode(Self.orderBytes.lazy.map { $0 }, schema: schema) == Self.orderValue)
        #expect(try AvroDecoder.decode(Self.orderBytes.reversed().reversed(), schema: schema) == Self.orderValue)
    }

    @Test func recursiveRecord() throws {
        let json = #"""
        {"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}
        """#
        #expect(try decode([0x02, 0x02, 0x04, 0x00], json: json) == .record([
            ("value", .int(1)), ("next", .record([("value", .int(2)), ("next", .null)])),
        ]))
    }

    /// B is defined inside A and refers back to A; used again outside A, the reference must still resolve.
    @Test func referenceToEnclosingTypeUsedElsewhere() throws {
        let json = #"""
        {"type":"record","name":"Top","fields":[
          {"name":"a","type":{"type":"record","name":"A","fields":[
            {"name":"b","type":{"type":"record","name":"B","fields":[{"name":"back","type":["null","A"]}]}}]}},
          {"name":"c","type":"B"}]}
        """#
        // a = A(b: B(back: null)); c = B(back: A(b: B(back: null)))
        #expect(try decode([0x00, 0x02, 0x00], json: json) == .record([
            ("a", .record([("b", .record([("back", .null)]))])),
            ("c", .record([("back", .record([("b", .record([("back", .null)]))]))])),
        ]))
    }

    @Test func emptyRecordAndEmptyUnionSchema() throws {
        #expect(try decode([], .record(name: "E", fields: [])) == .record([]))
        let error = #expect(throws: AvroError.self) { _ = try decode([0x00], .union([])) }
        #expect(error?.code == .malformed)
    }
}
