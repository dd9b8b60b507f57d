import NIOCore
@testable import PgWire
import Testing

/// The byte path (`appendFragment`) writes exactly what the String path (`fragment`) returns, for
/// every type OID the encoding distinguishes against texts valid and invalid for each of them.
@Suite struct PostgresJSONBytesTests {
    typealias O = PostgresJSON.OID

    static let oids: [UInt32] = [
        O.bool, O.bytea, O.char, O.name, O.int8, O.int2, O.int4, O.text, O.oid, O.json, O.xml, O.float4, O.float8,
        O.money, O.bpchar, O.varchar, O.date, O.time, O.timestamp, O.timestamptz, O.interval, O.timetz, O.numeric,
        O.uuid, O.jsonb, 1000, 1007, 1009, 1016, 1185, 1231, 3807, 99_999,
    ]

    static let texts: [String] = [
        "", "t", "f", "true", "0", "-0", "42", "-9223372036854775808", "9223372036854775807", "12a", "-", "--1", "+1",
        "1.5", "-0.25", "1e10", "1.5E-7", "NaN", "Infinity", "-Infinity", "01", ".5", "5.", "1e", "3.4028235e+38",
        "0.1000000000000000055511151231257827", "123456789012345678901234567890.123",
        "2024-01-01", "0001-01-01", "2024-02-30", "2024-13-01", "infinity", "-infinity", "2000-01-01 BC",
        "2024-01-01 12:34:56", "2024-01-01 12:34:56.5", "2024-01-01 12:34:56.123456", "2024-01-01 12:34:56.1234567",
        "2024-01-01 23:59:60", "2024-01-01 24:00:00", "2024-01-01 12:34:56+00", "2024-01-01 00:00:00+05:30",
        "2024-01-01 00:00:00-08", "2024-03-01 00:30:00+01", "1999-12-31 23:00:00-01:00:30", "0001-01-01 00:00:00+01",
        "294276-12-31 23:59:59.999999+00", "2024-01-01 12:34:56+5", "2024-01-01 12:34:56+05:", "2024-01-01 12:34:56Z",
        "2024-01-01 12:34:56+05:30:00:00", "2024-01-01T12:34:56", "12:34:56", "P1Y2M3DT4H5M6S",
        "\\x", "\\x0aff", "\\x0g", "abc\\\\def\\001", "{}", "{1,2,NULL}", "{{1,2},{3,4}}", "{\"a b\",\"c\\\"d\"}",
        "[1:2]={1,2}", "[1:2]{1}", "{a,}", "{,a}", "{\"unterminated}", "{{1},{2}}x", "{null,NuLl,nulls,\"NULL\"}",
        "{\"a\\\\b\",\"q\\\"\"}", "{\"trailing\\", "{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}", "{\"2024-01-01\",2024-01-02}",
        "{t,f,x}", "{1,-2,3.5}", "{\"é\"}", "{a,b1}", "{\"2024-01-01 00:00:00+00\",NULL}", "{\"x\": [1, 2, null]}",
        "quote \" backslash \\ newline \n tab \t cr \r bell \u{07} nul-ish \u{01} ff \u{0C} bs \u{08} esc \u{1B} del \u{7F}",
        "customer 12345", "550e8400-e29b-41d4-a716-446655440000", "ünïcödé", "日本語", "emoji 🎉", "mixed ascii then é",
        String(repeating: "long text without escapes ", count: 40),
        // The UTC timestamptz shortcut's edges: every fraction length, the calendar's limits,
        // out-of-range fields, and near misses of the pattern.
        "2024-06-30 23:59:59+00", "2024-06-30 23:59:59.1+00", "2024-06-30 23:59:59.12+00", "2024-06-30 23:59:59.123+00",
        "2024-06-30 23:59:59.1234+00", "2024-06-30 23:59:59.12345+00", "2024-06-30 23:59:59.123456+00",
        "2024-06-30 23:59:59.1234567+00", "2024-06-30 23:59:59.+00", "2024-02-29 00:00:00+00", "2023-02-29 00:00:00+00",
        "1900-02-29 00:00:00+00", "2000-02-29 00:00:00+00", "2024-04-31 00:00:00+00", "2024-12-31 00:00:00+00",
        "2024-00-10 00:00:00+00", "2024-01-00 00:00:00+00", "2024-01-32 00:00:00+00", "2024-01-01 24:00:00+00",
        "2024-01-01 23:60:00+00", "2024-01-01 23:59:60+00", "0000-01-01 00:00:00+00", "0001-01-01 00:00:00+00",
        "9999-12-31 23:59:59.999999+00", "2024-01-01 00:00:00+01", "2024-01-01 00:00:00-00", "2024-01-01 00:00:00+00:00",
        "2024-01-01T00:00:00+00", "2024/01/01 00:00:00+00", "2024-01-01 00:00:0a+00", "2024-01-01 00:00:00.1a+00",
        "2024-01-01 00:00:00 +00", "12024-01-01 00:00:00+00", "2024-01-01 00:00:00+00 BC",
    ]

    static func bytePath(_ oid: UInt32, _ text: String?) -> [UInt8] {
        var out: [UInt8] = Array("prefix:".utf8)
        PostgresJSON.appendFragment(typeOID: oid, text: text.map { ByteBuffer(string: $0) }, to: &out)
        return Array(out.dropFirst(7))
    }

    @Test(arguments: oids) func sameAsTheStringPath(_ oid: UInt32) {
        for text in Self.texts + [nil] as [String?] {
            let expected = Array(PostgresJSON.fragment(typeOID: oid, text: text).utf8)
            let got = Self.bytePath(oid, text)
            #expect(got == expected, "type \(oid), text \(String(reflecting: text)): \(String(decoding: got, as: UTF8.self))")
        }
    }

    /// Every escapable ASCII byte, alone and inside text, for the default (string) branch.
    @Test func everyASCIIByte() {
        for b in UInt8(0)..<0x80 {
            let s = String(decoding: [b], as: UTF8.self)
            for text in [s, "a\(s)b", "\(s)\(s)"] {
                #expect(Self.bytePath(O.text, text) == Array(PostgresJSON.fragment(typeOID: O.text, text: text).utf8), "byte \(b)")
            }
        }
    }

    /// What the SPEC fixes, through the byte path.
    @Test func specValues() {
        func s(_ oid: UInt32, _ text: String) -> String { String(decoding: Self.bytePath(oid, text), as: UTF8.self) }
        #expect(s(O.timestamptz, "2024-01-01 00:00:00+05:30") == "\"2023-12-31T18:30:00.000000Z\"")
        #expect(s(O.timestamp, "2024-01-01 12:34:56.789") == "1704112496789")
        #expect(s(O.date, "2024-01-01") == "\"2024-01-01T00:00:00Z\"")
        #expect(s(O.int8, "-42") == "-42")
        #expect(s(O.bool, "t") == "true")
        #expect(s(O.jsonb, "{\"a\": 1}") == "{\"a\": 1}")
        #expect(s(O.numeric, "1.50") == "\"1.50\"")
    }
}

@Suite struct PostgresArrayOIDTests {
    /// The switch the byte path uses agrees with the table, and knows nothing else.
    @Test func switchMatchesTheTable() {
        for (array, element) in PostgresJSON.arrayElementType {
            #expect(PostgresJSON.elementType(ofArray: array) == element, "array type \(array)")
        }
        for oid in UInt32(0)..<5000 where PostgresJSON.arrayElementType[oid] == nil {
            #expect(PostgresJSON.elementType(ofArray: oid) == nil, "type \(oid)")
        }
    }
}
