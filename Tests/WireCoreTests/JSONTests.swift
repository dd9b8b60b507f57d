import Testing
import WireCore

@Suite struct JSONWriterTests {
    @Test func commasAndNesting() {
        var w = JSONWriter()
        w.beginObject()
        w.key("a"); w.int(1)
        w.key("b"); w.beginArray(); w.string("x"); w.null(); w.bool(true); w.beginObject(); w.endObject(); w.endArray()
        w.key("c"); w.beginArray(); w.endArray()
        w.key("d"); w.raw(#"{"pre":[1,2]}"#)
        w.endObject()
        #expect(w.string == #"{"a":1,"b":["x",null,true,{}],"c":[],"d":{"pre":[1,2]}}"#)
    }

    @Test func topLevelSequenceAndReset() {
        var w = JSONWriter()
        w.string("a")
        #expect(w.string == #""a""#)
        w.reset()
        w.beginArray(); w.int(-1); w.int(2); w.endArray()
        #expect(w.string == "[-1,2]")
    }

    @Test func stringEscaping() {
        var w = JSONWriter()
        w.string("q\"b\\n\nr\rt\tb\u{8}f\u{c}z\u{0}c\u{1f}d\u{7f}é😀\u{2028}")
        #expect(w.string == "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fz\\u0000c\\u001fd\\u007fé😀\u{2028}\"")
        var w2 = JSONWriter(escapeLineSeparators: true)
        w2.string("a\u{2028}b\u{2029}c")
        #expect(w2.string == #""a\u2028b\u2029c""#)
    }

    @Test func integersAreExact() {
        var w = JSONWriter()
        w.beginArray()
        w.int(Int64.min); w.int(Int64.max); w.uint(UInt64.max); w.int(0); w.uint(0); w.int(-9); w.int(10)
        w.endArray()
        #expect(w.string == "[-9223372036854775808,9223372036854775807,18446744073709551615,0,0,-9,10]")
    }

    @Test(arguments: [
        (1.0, "1"), (-2.0, "-2"), (0.1, "0.1"), (1.5, "1.5"), (-0.0, "-0"), (0.0, "0"),
        (9007199254740992.0, "9007199254740992"), (1e20, "1e+20"), (1e-7, "1e-07"),
        (Double.nan, "null"), (Double.infinity, "null"), (123456.789, "123456.789"),
    ])
    func doubles(value: Double, text: String) throws {
        var w = JSONWriter()
        w.double(value)
        #expect(w.string == text)
        if value.isFinite {
            // the text is valid JSON and reads back to the same number
            let parsed = try JSONValue.parse(w.string)
            guard case .number(let n) = parsed else { Issue.record("not a number"); return }
            #expect(Double(n) == value)
        }
    }
}

@Suite struct JSONValueTests {
    @Test func parsesEveryKindAndKeepsNumberText() throws {
        let text = #" { "n": [1, -0, 1.10, 1e400, 12345678901234567890123, -2.5E-3], "s": "a\u00e9\ud83d\ude00\n\/", "t": true, "f": false, "z": null, "o": {} } "#
        let v = try JSONValue.parse(text)
        #expect(v["n"] == .array([.number("1"), .number("-0"), .number("1.10"), .number("1e400"),
                                   .number("12345678901234567890123"), .number("-2.5E-3")]))
        #expect(v["s"] == .string("aé😀\n/"))
        #expect(v["t"] == .bool(true))
        #expect(v["f"] == .bool(false))
        #expect(v["z"] == .null)
        #expect(v["o"] == .object([]))
        #expect(v.jsonString() == #"{"n":[1,-0,1.10,1e400,12345678901234567890123,-2.5E-3],"s":"aé😀\n/","t":true,"f":false,"z":null,"o":{}}"#)
    }

    @Test func memberOrderKeptAndSortedOnRequest() throws {
        let v = try JSONValue.parse(#"{"b":1,"a":{"d":2,"c":3},"B":0}"#)
        #expect(v.jsonString() == #"{"b":1,"a":{"d":2,"c":3},"B":0}"#)
        #expect(v.jsonString(sortedKeys: true) == #"{"B":0,"a":{"c":3,"d":2},"b":1}"#)
    }

    @Test func roundTripThroughWriter() throws {
        let v: JSONValue = .object([("k\"ey", .array([.string("\u{1}"), .number("3"), .bool(false)])), ("x", .null)])
        #expect(try JSONValue.parse(v.jsonString()) == v)
    }

    @Test(arguments: [
        ("", JSONError.Code.unexpectedEnd), ("[1,", .unexpectedEnd), ("[1 2]", .unexpectedByte),
        ("{\"a\" 1}", .unexpectedByte), ("{a:1}", .unexpectedByte), ("01", .invalidNumber),
        ("1.", .invalidNumber), ("1e", .invalidNumber), ("-", .unexpectedEnd), ("+1", .unexpectedByte),
        ("\"abc", .unexpectedEnd), ("\"a\u{1}\"", .invalidString), ("\"\\x\"", .invalidEscape),
        ("\"\\ud800\"", .invalidEscape), ("\"\\udc00\"", .invalidEscape), ("\"\\u12zz\"", .invalidEscape),
        ("tru", .unexpectedEnd), ("nul1", .unexpectedByte), ("1 2", .trailingData), ("[1,]", .unexpectedByte),
        ("{\"a\":1,}", .unexpectedByte),
    ])
    func malformedIsTypedError(text: String, code: JSONError.Code) {
        #expect(throws: JSONError.self) { try JSONValue.parse(text) }
        do {
            _ = try JSONValue.parse(text)
        } catch {
            #expect(error.code == code, "\(text): \(error)")
        }
    }

    @Test func invalidUTF8IsRejected() {
        for bad: [UInt8] in [[0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],
                             [0x22, 0xE2, 0x82, 0x22], [0x22, 0xFF, 0x22]] {
            #expect(throws: JSONError.self) { try JSONValue.parse(bad) }
        }
        #expect((try? JSONValue.parse([0x22, 0xE2, 0x82, 0xAC, 0x22])) == .string("€"))
    }

    @Test func limits() throws {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        do {
            _ = try JSONValue.parse(deep)
            Issue.record("accepted too deep")
        } catch {
            #expect(error.code == .tooDeep)
        }
        let ok = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        _ = try JSONValue.parse(ok, limits: .init(maxDepth: 10))
        #expect(throws: JSONError.self) { try JSONValue.parse(ok, limits: .init(maxDepth: 9)) }
        #expect(throws: JSONError.self) { try JSONValue.parse("[1,2,3]", limits: .init(maxBytes: 6)) }
    }
}
