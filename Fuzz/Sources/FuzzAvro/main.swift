import Avro
import FuzzSupport

// The first byte picks one of a few fixed schemas that together use every type; the rest is the
// raw datum, which must decode or throw AvroError, never trap. The last selector parses the rest
// as schema JSON instead, and if it is a schema, decodes an empty and a short datum with it.
let schemas: [AvroSchema] = [
    #"""
    {"type":"record","name":"Order","namespace":"fuzz","fields":[
      {"name":"id","type":"long"},
      {"name":"customer","type":{"type":"record","name":"Customer","fields":[
        {"name":"name","type":"string"},{"name":"email","type":["null","string"]}]}},
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
      {"name":"previous","type":["null","Status"]},
      {"name":"score","type":["null","double"]}]}
    """#,
    #"""
    {"type":"record","name":"Node","fields":[
      {"name":"value","type":["int","float","boolean","bytes"]},
      {"name":"children","type":{"type":"array","items":"Node"}},
      {"name":"attrs","type":{"type":"map","values":["null","Node"]}},
      {"name":"next","type":["null","Node"]}]}
    """#,
    #"""
    {"type":"record","name":"Times","fields":[
      {"name":"d","type":{"type":"int","logicalType":"date"}},
      {"name":"tm","type":{"type":"int","logicalType":"time-millis"}},
      {"name":"tu","type":{"type":"long","logicalType":"time-micros"}},
      {"name":"tsm","type":{"type":"long","logicalType":"timestamp-millis"}},
      {"name":"tsu","type":{"type":"long","logicalType":"timestamp-micros"}},
      {"name":"lsm","type":{"type":"long","logicalType":"local-timestamp-millis"}},
      {"name":"lsu","type":{"type":"long","logicalType":"local-timestamp-micros"}},
      {"name":"dec","type":{"type":"fixed","name":"D","size":20,"logicalType":"decimal","precision":38,"scale":9}},
      {"name":"u","type":{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}},
      {"name":"nulls","type":{"type":"array","items":"null"}},
      {"name":"empty","type":{"type":"array","items":{"type":"record","name":"E","fields":[]}}}]}
    """#,
    #"{"type":"array","items":{"type":"map","values":{"type":"array","items":["null","long","string"]}}}"#,
].map { try! AvroSchema.parse(json: $0) }

let limits = AvroDecoder.Limits(maxDepth: 32, maxItems: 1 << 16)

// The schemas live until exit, and an indirect enum keeps its case in the spare bits of the box
// pointer, which LeakSanitizer does not recognise as a reference: it would report them as leaked.
// Build them before the driver starts, with leak tracking off.
@_silgen_name("__lsan_disable") func lsanDisable()
@_silgen_name("__lsan_enable") func lsanEnable()

@_cdecl("FuzzAvro_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    lsanDisable()
    _ = schemas
    lsanEnable()
    return runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        guard let selector = bytes.first else { return 0 }
        let rest = bytes.dropFirst()
        let choice = Int(selector) % (schemas.count + 1)
        if choice < schemas.count {
            _ = try? AvroDecoder.decode(rest, schema: schemas[choice], limits: limits)
        } else if let schema = try? AvroSchema.parse(json: String(decoding: rest, as: UTF8.self)) {
            _ = try? AvroDecoder.decode([], schema: schema, limits: limits)
            _ = try? AvroDecoder.decode([0x02, 0x02, 0x02, 0x00], schema: schema, limits: limits)
        }
        return 0
    }
}
