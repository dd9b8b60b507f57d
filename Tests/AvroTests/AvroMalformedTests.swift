import Avro
import Testing

private func failure(_ bytes: [UInt8], _ schema: AvroSchema,
                     limits: AvroDecoder.Limits = .init()) -> AvroError? {
    do {
        let value = try AvroDecoder.decode(bytes, schema: schema, limits: limits)
        Issue.record("decoded \(value) from malformed input \(bytes)")
        return nil
    } catch {
        return error
    }
}

/// Every malformed input is a typed error, with where it happened; never a trap or a huge allocation.
@Suite struct AvroMalformedTests {
    @Test func truncated() {
        let cases: [([UInt8], AvroSchema)] = [
            ([], .int), ([], .long), ([0x80], .int), ([0xFF, 0xFF], .long), ([], .boolean),
            ([0x00, 0x00, 0x80], .float), ([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0], .double),
            ([0x06, 0x66, 0x6F], .string), ([0x04, 0x01], .bytes), ([0xAB, 0xCD], .fixed(name: "F", size: 3)),
            ([0x04, 0x02], .array(items: .int)), ([0x02, 0x02], .array(items: .int)),  // no end block
            ([0x02, 0x02, 0x61], .map(values: .long)), ([0x02], .union([.null, .string])),
            ([0x04, 0x30], .decimal(precision: 4, scale: 0, underlying: .bytes)),
            (Array(repeating: 0, count: 15), .uuidFixed(name: "U")),
        ]
        for (bytes, schema) in cases {
            #expect(failure(bytes, schema)?.code == .truncated, "\(bytes) as \(schema)")
        }
    }

    @Test func everyPrefixOfAValidDatumIsTruncated() throws {
        let schema = try AvroSchema.parse(json: AvroDecoderTests.orderSchema)
        let bytes = AvroDecoderTests.orderBytes
        for length in 0..<bytes.count {
            let error = failure(Array(bytes[..<length]), schema)
            #expect(error?.code == .truncated, "prefix of \(length) bytes: \(String(describing: error))")
        }
    }

    @Test func overLongVarints() {
        // Six bytes for an int, eleven for a long.
        #expect(failure([0x80, 0x80, 0x80, 0x80, 0x80, 0x00], .int)?.code == .malformed)
        #expect(failure(Array(repeating: 0x80, count: 10) + [0x00], .long)?.code == .malformed)
        // Five / ten bytes whose value does not fit 32 / 64 bits.
        #expect(failure([0xFF, 0xFF, 0xFF, 0xFF, 0x1F], .int)?.code == .malformed)
        #expect(failure(Array(repeating: 0xFF, count: 9) + [0x02], .long)?.code == .malformed)
        // Lengths and indices are varints too.
        #expect(failure(Array(repeating: 0x80, count: 10) + [0x01], .string)?.code == .malformed)
        #expect(failure([0x80, 0x80, 0x80, 0x80, 0x80, 0x01], .union([.null]))?.code == .malformed)
    }

    @Test func badUnionAndEnumIndices() {
        let union = AvroSchema.union([.null, .string])
        let tooBig = failure([0x04], union)
        #expect(tooBig?.code == .malformed)
        #expect(tooBig?.offset == 0)
        #expect(failure([0x01], union)?.code == .malformed)  // -1
        #expect(failure([0xFE, 0xFF, 0xFF, 0xFF, 0x0F], union)?.code == .malformed)
        let e = AvroSchema.enum(name: "E", symbols: ["A", "B"])
        #expect(failure([0x04], e)?.code == .malformed)
        #expect(failure([0x01], e)?.code == .malformed)
        #expect(failure([0x02], .boolean)?.code == .malformed)
    }

    @Test func negativeLengths() {
        #expect(failure([0x01], .string)?.code == .malformed)  // -1
        #expect(failure([0x03, 0x00, 0x00], .bytes)?.code == .malformed)
        #expect(failure([0x01], .decimal(precision: 4, scale: 0, underlying: .bytes))?.code == .malformed)
        // A negative block count with a negative byte size; and the most negative count.
        #expect(failure([0x01, 0x01, 0x00, 0x00], .array(items: .int))?.code == .malformed)
        #expect(failure(Array(repeating: 0xFF, count: 9) + [0x01], .array(items: .int))?.code == .malformed)
    }

    @Test func hugeLengthsAreRefusedBeforeAllocating() {
        let maxLong: [UInt8] = [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        #expect(failure(maxLong + [0x41], .string)?.code == .truncated)
        #expect(failure(maxLong, .bytes)?.code == .truncated)
        // Block counts: bounded by the bytes left (each int takes one at least) ...
        #expect(failure(maxLong + [0x00], .array(items: .int))?.code == .truncated)
        #expect(failure(maxLong + [0x00], .map(values: .null))?.code == .truncated)
        // ... and, for items that take no bytes, by the value budget.
        #expect(failure(maxLong + [0x00], .array(items: .null))?.code == .limitExceeded)
        #expect(failure(maxLong + [0x00], .array(items: .record(name: "E", fields: [])))?.code == .limitExceeded)
        let few = AvroDecoder.Limits(maxDepth: 64, maxItems: 10)
        #expect(failure([0x16, 0x00], .array(items: .null), limits: few)?.code == .limitExceeded)  // 11 items
        // Two blocks whose sum passes the budget.
        #expect(failure([0x0C, 0x0C, 0x00], .array(items: .null), limits: few)?.code == .limitExceeded)
        // A block byte size past the end; a byte size that does not match the items.
        #expect(failure([0x01, 0x7E, 0x02, 0x00], .array(items: .int))?.code == .truncated)
        #expect(failure([0x03, 0x02, 0x02, 0x04, 0x00], .array(items: .int))?.code == .malformed)
    }

    /// Many one-item blocks must cost linear time (no exact-size regrowth per block).
    @Test func manySmallBlocks() throws {
        let blocks = 300_000
        let oneItemBlocks: [UInt8] = Array(repeating: 0x02, count: blocks) + [0x00]
        let nulls = try AvroDecoder.decode(oneItemBlocks, schema: .array(items: .null))
        #expect(nulls == .array(Array(repeating: .null, count: blocks)))
        var entries: [UInt8] = []
        for _ in 0..<blocks { entries += [0x02, 0x00] }  // one entry: key "", null value
        entries.append(0x00)
        guard case .map(let map) = try AvroDecoder.decode(entries, schema: .map(values: .null)) else {
            Issue.record("not a map"); return
        }
        #expect(map.count == blocks)
    }

    /// Values that take no bytes at all still count against the budget, so a schema whose tree
    /// doubles at each level cannot make a few bytes expand into billions of values.
    @Test func exponentialSchemaIsBoundedByTheValueBudget() throws {
        var json = #"{"type":"record","name":"T","fields":[{"name":"f0","type":{"type":"record","name":"L0","fields":[{"name":"n","type":"null"}]}}"#
        for level in 1...40 {
            json += #","# + #"{"name":"f\#(level)","type":{"type":"record","name":"L\#(level)","fields":[{"name":"a","type":"L\#(level - 1)"},{"name":"b","type":"L\#(level - 1)"}]}}"#
        }
        json += "]}"
        let schema = try AvroSchema.parse(json: json)
        #expect(failure([], schema)?.code == .limitExceeded)
    }

    @Test func invalidUTF8() {
        let cases: [[UInt8]] = [
            [0x02, 0xFF], [0x02, 0x80],            // not a lead byte
            [0x04, 0xC0, 0x80],                     // over-long encoding of NUL
            [0x06, 0xED, 0xA0, 0x80],               // UTF-16 surrogate
            [0x04, 0xC3, 0x28],                     // bad continuation
            [0x08, 0xF4, 0x90, 0x80, 0x80],         // above U+10FFFF
        ]
        for bytes in cases {
            let error = failure(bytes, .string)
            #expect(error?.code == .malformed, "\(bytes)")
            #expect(error?.message.contains("UTF-8") == true)
        }
        #expect(failure([0x02, 0x02, 0xFF, 0x00, 0x00], .map(values: .null))?.code == .malformed)  // map key
        #expect(failure([0x02, 0xFF], .uuid)?.code == .malformed)
    }

    @Test func trailingBytes() {
        let error = failure([0x02, 0x00], .int)
        #expect(error?.code == .trailingBytes)
        #expect(error?.offset == 1)
        #expect(failure([0x00], .null)?.code == .trailingBytes)
        #expect(failure([0x04, 0x06, 0x36, 0x00, 0x00], .array(items: .long))?.code == .trailingBytes)
    }

    @Test func depthLimit() throws {
        let node = try AvroSchema.parse(json: #"""
        {"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}
        """#)
        let chain = { (n: Int) -> [UInt8] in Array(repeating: [0x02, 0x02], count: n - 1).flatMap { $0 } + [0x02, 0x00] }
        #expect(throws: Never.self) { _ = try AvroDecoder.decode(chain(64), schema: node) }
        #expect(failure(chain(65), node)?.code == .limitExceeded)
        #expect(failure(chain(10_000), node)?.code == .limitExceeded)
        // A record that contains itself without a union can never end: the limit stops it.
        let endless = try AvroSchema.parse(json: #"{"type":"record","name":"R","fields":[{"name":"r","type":"R"}]}"#)
        #expect(failure([], endless)?.code == .limitExceeded)
        // Arrays of arrays count as levels too.
        var nested = AvroSchema.int
        for _ in 0..<70 { nested = .array(items: nested) }
        #expect(failure(Array(repeating: 0x02, count: 70), nested)?.code == .limitExceeded)
    }

    @Test func messagesSayWhere() throws {
        let schema = try AvroSchema.parse(json: AvroDecoderTests.orderSchema)
        // Break the second line's qty varint: the bytes before it are the same as the valid datum.
        var bytes = AvroDecoderTests.orderBytes
        let qtyOffset = 2 + 4 + 5 + 1 + 1 + 8 + 4
        #expect(bytes[qtyOffset] == 0x01)
        bytes.replaceSubrange(qtyOffset...qtyOffset, with: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        let error = try #require(failure(bytes, schema))
        #expect(error.code == .malformed)
        #expect(error.path == "lines[1].qty")
        #expect(error.offset == qtyOffset)
        #expect(error.message == "int varint is longer than 5 bytes or exceeds 32 bits at byte \(qtyOffset) (in lines[1].qty)")
        #expect(error.description == "Avro: " + error.message)
        // Map values are named by their key.
        let mapError = try #require(failure([0x02, 0x02, 0x6B, 0x02, 0xFF, 0x00], .map(values: .string)))
        #expect(mapError.path == "[\"k\"]")
    }

    /// Cheap, deterministic stand-in for the fuzz target: random bytes and random mutations of a
    /// valid datum must only ever decode or throw.
    @Test func randomInputsNeverTrap() throws {
        let schema = try AvroSchema.parse(json: AvroDecoderTests.orderSchema)
        var rng = SplitMix64(seed: 0xA5A5)
        let valid = AvroDecoderTests.orderBytes
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = valid
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
            }
            if (try? AvroDecoder.decode(bytes, schema: schema)) != nil { decoded += 1 }
        }
        #expect(decoded < 20_000)
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
