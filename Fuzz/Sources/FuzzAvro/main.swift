import Avro
import FuzzSupport

// The first byte picks a schema (a record of every kind, a recursive list, nested arrays of maps
// of unions); the rest is the datum. Decoding returns a value or throws AvroError, never traps or
// allocates without bound. A schema text after a 0xFF selector is parsed instead (schema parser).
let schemas: [AvroSchema] = [
    try! AvroSchema.parse(json: """
        {"type": "record", "name": "Row", "fields": [
          {"name": "a", "type": "long"}, {"name": "b", "type": "string"}, {"name": "c", "type": ["null", "int"]},
          {"name": "d", "type": {"type": "array", "items": "int"}}, {"name": "e", "type": {"type": "map", "values": "string"}},
          {"name": "f", "type": {"type": "enum", "name": "Color", "symbols": ["x", "y", "z"]}},
          {"name": "g", "type": {"type": "fixed", "name": "Two", "size": 2}},
          {"name": "h", "type": {"type": "int", "logicalType": "date"}},
          {"name": "i", "type": {"type": "long", "logicalType": "timestamp-millis"}},
          {"name": "j", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 2}},
          {"name": "k", "type": {"type": "string", "logicalType": "uuid"}},
          {"name": "l", "type": "boolean"}, {"name": "m", "type": "float"}, {"name": "n", "type": "double"},
          {"name": "o", "type": {"type": "fixed", "name": "D", "size": 16, "logicalType": "decimal", "precision": 38, "scale": 4}}]}
        """),
    try! AvroSchema.parse(json: """
        {"type": "record", "name": "Node", "fields": [{"name": "v", "type": "bytes"}, {"name": "next", "type": ["null", "Node"]}]}
        """),
    try! AvroSchema.parse(json: """
        {"type": "array", "items": {"type": "map", "values": ["null", "long", "string", {"type": "array", "items": "double"}]}}
        """),
]

@_cdecl("FuzzAvro_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        guard let selector = bytes.first else { return 0 }
        if selector == 0xFF {
            _ = try? AvroSchema.parse(json: String(decoding: bytes.dropFirst(), as: UTF8.self))
            return 0
        }
        let schema = schemas[Int(selector) % schemas.count]
        _ = try? AvroDecoder.decode(Array(bytes.dropFirst()), schema: schema, limits: .init(maxDepth: 32, maxItems: 1 << 16))
        return 0
    }
}
