import Avro
import Testing

@Suite struct AvroSchemaTests {
    @Test func primitiveNamesAsJSONStringsAndObjects() throws {
        let cases: [(String, AvroSchema)] = [
            ("null", .null), ("boolean", .boolean), ("int", .int), ("long", .long),
            ("float", .float), ("double", .double), ("bytes", .bytes), ("string", .string),
        ]
        for (name, schema) in cases {
            #expect(try AvroSchema.parse(json: "\"\(name)\"") == schema)
            #expect(try AvroSchema.parse(json: "{\"type\": \"\(name)\"}") == schema)
        }
    }

    @Test func logicalTypes() throws {
        let cases: [(String, AvroSchema)] = [
            (#"{"type":"int","logicalType":"date"}"#, .date),
            (#"{"type":"int","logicalType":"time-millis"}"#, .timeMillis),
            (#"{"type":"long","logicalType":"time-micros"}"#, .timeMicros),
            (#"{"type":"long","logicalType":"timestamp-millis"}"#, .timestampMillis),
            (#"{"type":"long","logicalType":"timestamp-micros"}"#, .timestampMicros),
            (#"{"type":"long","logicalType":"local-timestamp-millis"}"#, .localTimestampMillis),
            (#"{"type":"long","logicalType":"local-timestamp-micros"}"#, .localTimestampMicros),
            (#"{"type":"string","logicalType":"uuid"}"#, .uuid),
            (#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#,
             .decimal(precision: 10, scale: 2, underlying: .bytes)),
            (#"{"type":"bytes","logicalType":"decimal","precision":5}"#,
             .decimal(precision: 5, scale: 0, underlying: .bytes)),
            (#"{"type":"fixed","name":"D","size":8,"logicalType":"decimal","precision":18,"scale":4}"#,
             .decimal(precision: 18, scale: 4, underlying: .fixed(name: "D", size: 8))),
            (#"{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}"#, .uuidFixed(name: "U")),
        ]
        for (json, schema) in cases {
            #expect(try AvroSchema.parse(json: json) == schema, "\(json)")
        }
    }

    /// Avro 1.11 "Logical Types": an unknown or invalid logical type is ignored.
    @Test func unknownOrInvalidLogicalTypesFallBack() throws {
        let cases: [(String, AvroSchema)] = [
            (#"{"type":"long","logicalType":"timestamp-nanos"}"#, .long),
            (#"{"type":"string","logicalType":"date"}"#, .string),
            (#"{"type":"long","logicalType":"date"}"#, .long),
            (#"{"type":"int","logicalType":"timestamp-millis"}"#, .int),
            (#"{"type":"bytes","logicalType":"decimal","precision":2,"scale":3}"#, .bytes),
            (#"{"type":"bytes","logicalType":"decimal","precision":0}"#, .bytes),
            (#"{"type":"bytes","logicalType":"decimal"}"#, .bytes),
            (#"{"type":"bytes","logicalType":"decimal","precision":"9"}"#, .bytes),
            // 4 bytes hold at most 9 digits (2^31 − 1 = 2147483647).
            (#"{"type":"fixed","name":"F","size":4,"logicalType":"decimal","precision":10}"#, .fixed(name: "F", size: 4)),
            (#"{"type":"fixed","name":"F","size":12,"logicalType":"duration"}"#, .fixed(name: "F", size: 12)),
            (#"{"type":"fixed","name":"F","size":8,"logicalType":"uuid"}"#, .fixed(name: "F", size: 8)),
            (#"{"type":"int","logicalType":7}"#, .int),
        ]
        for (json, schema) in cases {
            #expect(try AvroSchema.parse(json: json) == schema, "\(json)")
        }
        #expect(try AvroSchema.parse(json: #"{"type":"fixed","name":"F","size":4,"logicalType":"decimal","precision":9}"#)
                == .decimal(precision: 9, scale: 0, underlying: .fixed(name: "F", size: 4)))
    }

    @Test func namespacesAndReferences() throws {
        let schema = try AvroSchema.parse(json: #"""
        {"type":"record","name":"Outer","namespace":"a.b","fields":[
          {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}},
          {"name":"e2","type":"E"},
          {"name":"e3","type":"a.b.E"},
          {"name":"f","type":{"type":"fixed","name":"c.F","size":2}},
          {"name":"f2","type":"c.F"},
          {"name":"g","type":{"type":"fixed","name":"G","namespace":"","size":1}},
          {"name":"g2","type":"G"},
          {"name":"inner","type":{"type":"record","name":"Inner","fields":[{"name":"e","type":"E"}]}}
        ]}
        """#)
        let e = AvroSchema.enum(name: "a.b.E", symbols: ["X", "Y"])
        let f = AvroSchema.fixed(name: "c.F", size: 2)
        let g = AvroSchema.fixed(name: "G", size: 1)
        #expect(schema == .record(name: "a.b.Outer", fields: [
            .init(name: "e", type: e), .init(name: "e2", type: e), .init(name: "e3", type: e),
            .init(name: "f", type: f), .init(name: "f2", type: f),
            .init(name: "g", type: g), .init(name: "g2", type: g),
            .init(name: "inner", type: .record(name: "a.b.Inner", fields: [.init(name: "e", type: e)])),
        ]))
        #expect(schema.fullName == "a.b.Outer")
    }

    @Test func recursiveRecordUsesReference() throws {
        let schema = try AvroSchema.parse(json: #"""
        {"type":"record","name":"Node","namespace":"n","fields":[
          {"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}
        """#)
        #expect(schema == .record(name: "n.Node", fields: [
            .init(name: "value", type: .int), .init(name: "next", type: .union([.null, .reference("n.Node")])),
        ]))
    }

    @Test func unionsAndContainers() throws {
        #expect(try AvroSchema.parse(json: #"["null","string",{"type":"array","items":"long"},{"type":"map","values":"int"}]"#)
                == .union([.null, .string, .array(items: .long), .map(values: .int)]))
        #expect(try AvroSchema.parse(json: #"{"type":{"type":"array","items":"int"}}"#) == .array(items: .int))
        #expect(try AvroSchema.parse(json: "[]") == .union([]))
        // Two named types of different names may share a union.
        #expect(try AvroSchema.parse(json: #"[{"type":"fixed","name":"A","size":1},{"type":"fixed","name":"B","size":1}]"#)
                == .union([.fixed(name: "A", size: 1), .fixed(name: "B", size: 1)]))
    }

    @Test(arguments: [
        "",                                                          // not JSON
        "{",                                                         // not JSON
        "42",                                                        // not a schema
        "\"Nope\"",                                                  // unknown name
        #"{"name":"x"}"#,                                            // no type
        #"{"type":"record","name":"R"}"#,                            // no fields
        #"{"type":"record","fields":[]}"#,                           // no name
        #"{"type":"record","name":"1R","fields":[]}"#,               // invalid name
        #"{"type":"record","name":"a..R","fields":[]}"#,             // empty name component
        #"{"type":"record","name":"int","fields":[]}"#,              // primitive redefined
        #"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#,
        #"{"type":"record","name":"R","fields":[{"name":"a"}]}"#,    // field without type
        #"{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}"#,
        #"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"R","fields":[]}}]}"#,
        #"{"type":"enum","name":"E","symbols":["A","A"]}"#,
        #"{"type":"enum","name":"E","symbols":["A","not valid"]}"#,
        #"{"type":"enum","name":"E"}"#,
        #"{"type":"fixed","name":"F"}"#,
        #"{"type":"fixed","name":"F","size":-1}"#,
        #"{"type":"fixed","name":"F","size":1.5}"#,
        #"{"type":"fixed","name":"F","size":99999999999}"#,
        #"{"type":"array"}"#,
        #"{"type":"map"}"#,
        #"["int","int"]"#,                                           // duplicate branch
        #"["long",{"type":"long","logicalType":"timestamp-millis"}]"#, // same underlying type
        #"["null",["int","string"]]"#,                               // union in union
        #"[{"type":"fixed","name":"A","size":1},{"type":"fixed","name":"A","size":2}]"#,
    ])
    func invalidSchemasAreRejected(json: String) {
        let error = #expect(throws: AvroError.self) { _ = try AvroSchema.parse(json: json) }
        #expect(error?.code == .invalidSchema)
    }

    @Test func schemaErrorNamesTheField() {
        do {
            _ = try AvroSchema.parse(json: #"""
            {"type":"record","name":"R","fields":[{"name":"outer","type":
              {"type":"record","name":"S","fields":[{"name":"inner","type":"Missing"}]}}]}
            """#)
            Issue.record("expected an error")
        } catch {
            #expect(error.path == "outer.inner")
            #expect(error.message.contains("Missing"))
            #expect(error.description.hasPrefix("Avro: schema:"))
        }
    }
}
