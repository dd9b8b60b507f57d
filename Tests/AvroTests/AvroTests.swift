import Avro
import Foundation
import Testing

/// The raw Avro reader: vectors encoded by hand (a separate Python encoder wrote the hex), every
/// schema type, and malformed input.
struct AvroTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let a = it.next(), let b = it.next() {
            func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
            out.append(v(a) << 4 | v(b))
        }
        return out
    }

    static let schemaJSON = """
    {"type": "record", "name": "Row", "namespace": "kp.test", "fields": [
      {"name": "a", "type": "long"},
      {"name": "b", "type": "string"},
      {"name": "c", "type": ["null", "int"]},
      {"name": "d", "type": {"type": "array", "items": "int"}},
      {"name": "e", "type": {"type": "map", "values": "string"}},
      {"name": "f", "type": {"type": "enum", "name": "Color", "symbols": ["x", "y", "z"]}},
      {"name": "g", "type": {"type": "fixed", "name": "Two", "size": 2}},
      {"name": "h", "type": {"type": "int", "logicalType": "date"}},
      {"name": "i", "type": {"type": "long", "logicalType": "timestamp-millis"}},
      {"name": "j", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
      {"name": "k", "type": {"type": "string", "logicalType": "uuid"}},
      {"name": "l", "type": "boolean"},
      {"name": "m", "type": "float"},
      {"name": "n", "type": "double"},
      {"name": "o", "type": ["null", "string"]}
    ]}
    """
    static let datum = "0104686902060402040002026b02760002abcdc6b602f695efb3fa6306ffcfc74861306565626339392d396330622d346566382d626236642d366262396264333830613131010000c03f000000000000d0bf00"

    @Test func decodesARecordOfEveryKind() throws {
        let schema = try AvroSchema.parse(json: Self.schemaJSON)
        let v = try AvroDecoder.decode(Self.hex(Self.datum), schema: schema)
        #expect(v["a"] == .long(-1))
        #expect(v["b"] == .string("hi"))
        #expect(v["c"] == .int(3))
        #expect(v["d"] == .array([.int(1), .int(2)]))
        #expect(v["e"] == .map([AvroMapEntry(key: "k", value: .string("v"))]))
        #expect(v["f"] == .enumSymbol("y"))
        #expect(v["g"] == .fixed([0xAB, 0xCD]))
        #expect(v["h"] == .date(19875))
        #expect(v["i"] == .timestampMillis(1_717_236_000_123))
        #expect(v["j"] == .decimal(unscaled: -12345, scale: 2))
        #expect(v["k"] == .uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))
        #expect(v["l"] == .boolean(true))
        #expect(v["m"] == .float(1.5))
        #expect(v["n"] == .double(-0.25))
        #expect(v["o"] == .null)
    }

    @Test func zigZagVarintsAndBlocks() throws {
        #expect(try AvroDecoder.decode([0x7F], schema: .long) == .long(-64))
        #expect(try AvroDecoder.decode([0x80, 0x01], schema: .long) == .long(64))
        #expect(try AvroDecoder.decode(Self.hex("feffffffffffffffff01"), schema: .long) == .long(Int64.max))
        #expect(try AvroDecoder.decode(Self.hex("ffffffffffffffffff01"), schema: .long) == .long(Int64.min))
        #expect(try AvroDecoder.decode(Self.hex("feffffff0f"), schema: .int) == .int(Int32.max))
        // A negative block count is followed by the block's size in bytes.
        #expect(try AvroDecoder.decode(Self.hex("03040a0c00"), schema: .array(.int)) == .array([.int(5), .int(6)]))
        #expect(try AvroDecoder.decode([0x06, 0x61, 0x62, 0x63], schema: try AvroSchema.parse(json: "\"string\"")) == .string("abc"))
    }

    @Test func namedTypesRecursionAndLogicalFallbacks() throws {
        let list = try AvroSchema.parse(json: """
            {"type": "record", "name": "Node", "fields": [{"name": "v", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]}
            """)
        // Node(1) -> Node(2) -> null
        let v = try AvroDecoder.decode([0x02, 0x02, 0x04, 0x00], schema: list)
        #expect(v == .record([AvroField(name: "v", value: .int(1)),
                              AvroField(name: "next", value: .record([AvroField(name: "v", value: .int(2)),
                                                                      AvroField(name: "next", value: .null)]))]))
        // An unknown logical type is its underlying type; a fixed(16) uuid is hex text.
        #expect(try AvroDecoder.decode([0x04], schema: try AvroSchema.parse(json: #"{"type": "int", "logicalType": "bogus"}"#)) == .int(2))
        let u = try AvroSchema.parse(json: #"{"type": "fixed", "name": "U", "size": 16, "logicalType": "uuid"}"#)
        #expect(try AvroDecoder.decode(Array(0..<16), schema: u) == .uuid("00010203-0405-0607-0809-0a0b0c0d0e0f"))
        let d = try AvroSchema.parse(json: #"{"type": "fixed", "name": "D", "size": 3, "logicalType": "decimal", "precision": 6, "scale": 3}"#)
        #expect(try AvroDecoder.decode([0x00, 0x30, 0x39], schema: d) == .decimal(unscaled: 12345, scale: 3))
        #expect(try AvroDecoder.decode([0xFF, 0xFF, 0xFF], schema: d) == .decimal(unscaled: -1, scale: 3))
        #expect(throws: AvroError.self) { try AvroSchema.parse(json: #"{"type": "record", "name": "R", "fields": [{"name": "x", "type": "Missing"}]}"#) }
        #expect(throws: AvroError.self) { try AvroSchema.parse(json: "[]") }
        #expect(throws: AvroError.self) { try AvroSchema.parse(json: "{") }
    }

    @Test(arguments: [
        ("", "long", "truncated"),
        ("ffffffffffffffffffff01", "long", "over-long long"),
        ("ffffffff7f", "int", "int over 32 bits"),
        ("ffffffffff01", "int", "over-long int"),
        ("04", "[\"null\", \"int\"]", "union branch out of range"),
        ("01", "string", "negative length"),
        ("feffffffffffffffff01", "bytes", "huge length"),
        ("04ff fe", "string", "invalid UTF-8"),
        ("0202", "int", "trailing bytes"),
        ("06", "{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"a\"]}", "enum index"),
        ("02", "boolean", "boolean byte"),
        ("feffffffffffffffff01", "{\"type\": \"array\", \"items\": \"null\"}", "too many items"),
        ("0000", "float", "truncated float"),
    ])
    func malformedInputIsAnError(_ bytes: String, _ schema: String, _ what: String) throws {
        let s = try AvroSchema.parse(json: schema.hasPrefix("{") || schema.hasPrefix("[") ? schema : "\"\(schema)\"")
        #expect(throws: AvroError.self, "\(what)") { try AvroDecoder.decode(Self.hex(bytes.replacingOccurrences(of: " ", with: "")), schema: s) }
    }

    @Test func deepNestingIsBounded() throws {
        var json = "\"int\""
        for _ in 0..<70 { json = "{\"type\": \"array\", \"items\": \(json)}" }
        #expect(throws: AvroError.self) { try AvroSchema.parse(json: json) }
        var s: AvroSchema = .int
        for _ in 0..<100 { s = .array(s) }
        let bytes = [UInt8](repeating: 0x02, count: 100) + [0x00] + [UInt8](repeating: 0x00, count: 100)
        #expect(throws: AvroError.self) { try AvroDecoder.decode(bytes, schema: s) }
    }
}
