import Foundation
import PgWire
import Testing

/// One test per row of SPEC §3's value-encoding table, edge values included.
@Suite struct PostgresJSONTests {
    typealias O = PostgresJSON.OID
    func f(_ oid: UInt32, _ text: String?) -> String { PostgresJSON.fragment(typeOID: oid, text: text) }

    @Test func null() {
        #expect(f(O.int4, nil) == "null")
        #expect(f(O.text, nil) == "null")
        #expect(f(1007, nil) == "null")
    }

    @Test func bool() {
        #expect(f(O.bool, "t") == "true")
        #expect(f(O.bool, "f") == "false")
    }

    @Test func integers() {
        #expect(f(O.int2, "-32768") == "-32768")
        #expect(f(O.int4, "2147483647") == "2147483647")
        #expect(f(O.int8, "-9223372036854775808") == "-9223372036854775808")
        #expect(f(O.int8, "9223372036854775807") == "9223372036854775807")
        #expect(f(O.oid, "4294967295") == "4294967295")
    }

    @Test func floats() {
        #expect(f(O.float8, "1.1") == "1.1")
        #expect(f(O.float4, "1.1") == "1.1")
        #expect(f(O.float8, "1e+308") == "1e+308")
        #expect(f(O.float8, "-0") == "-0")
        #expect(f(O.float8, "5e-324") == "5e-324")
        #expect(f(O.float8, "0.30000000000000004") == "0.30000000000000004")
        #expect(f(O.float8, "NaN") == "\"NaN\"")
        #expect(f(O.float8, "Infinity") == "\"Infinity\"")
        #expect(f(O.float4, "-Infinity") == "\"-Infinity\"")
        // Not JSON as written (leading '+', leading '.'): re-printed in the shortest form.
        #expect(f(O.float8, "+1.5") == "1.5")
        #expect(f(O.float8, ".5") == "0.5")
        for text in ["1.1", "1e+308", "5e-324", "123456.789"] {
            let json = f(O.float8, text)
            #expect(Double(json) == Double(text))
        }
    }

    @Test func numeric() {
        #expect(f(O.numeric, "10.50") == "\"10.50\"")
        #expect(f(O.numeric, "NaN") == "\"NaN\"")
        let huge = String(repeating: "9", count: 1000) + "." + String(repeating: "1", count: 100)
        #expect(f(O.numeric, huge) == "\"\(huge)\"")
        #expect(f(O.numeric, "-Infinity") == "\"-Infinity\"")
    }

    @Test func textLikeTypes() {
        #expect(f(O.text, "héllo ☃ 𝄞") == "\"héllo ☃ 𝄞\"")
        #expect(f(O.varchar, "a\"b\\c\nd\u{1}") == "\"a\\\"b\\\\c\\nd\\u0001\"")
        #expect(f(O.bpchar, "ab   ") == "\"ab   \"")
        #expect(f(O.name, "pg_class") == "\"pg_class\"")
        #expect(f(O.uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"")
        #expect(f(869, "192.168.0.1/24") == "\"192.168.0.1/24\"")  // inet
        #expect(f(O.money, "$1,000.00") == "\"$1,000.00\"")
        #expect(f(1560, "101") == "\"101\"")  // bit
        #expect(f(600, "(1,2)") == "\"(1,2)\"")  // point
        #expect(f(3904, "[1,10)") == "\"[1,10)\"")  // int4range
        #expect(f(99_999, "whatever") == "\"whatever\"")  // unknown (enum, citext...)
        #expect(f(O.text, "") == "\"\"")
    }

    @Test func bytea() {
        #expect(f(O.bytea, "\\x") == "\"\"")
        #expect(f(O.bytea, "\\x00ff10") == "\"AP8Q\"")
        #expect(f(O.bytea, "\\x68656c6c6f") == "\"aGVsbG8=\"")
        #expect(f(O.bytea, "ab\\\\c\\001") == "\"YWJcYwE=\"")  // escape format
    }

    @Test func json() {
        #expect(f(O.jsonb, "{\"a\": 12345678901234567890123}") == "{\"a\": 12345678901234567890123}")
        #expect(f(O.json, "[1.000, {\"x\": null}]") == "[1.000, {\"x\": null}]")
        #expect(f(O.jsonb, "\"☃\"") == "\"☃\"")
    }

    @Test func date() {
        #expect(f(O.date, "2024-06-01") == "\"2024-06-01T00:00:00Z\"")
        #expect(f(O.date, "infinity") == "\"infinity\"")
        #expect(f(O.date, "-infinity") == "\"-infinity\"")
        #expect(f(O.date, "0044-03-15 BC") == "\"0044-03-15 BC\"")
    }

    @Test func timestamp() {
        #expect(f(O.timestamp, "2024-06-01 10:00:00.123456") == "1717236000123")
        #expect(f(O.timestamp, "1970-01-01 00:00:00") == "0")
        // Before 1970: rounded down.
        #expect(f(O.timestamp, "1969-12-31 23:59:59.9995") == "-1")
        #expect(f(O.timestamp, "infinity") == "\"infinity\"")
        #expect(f(O.timestamp, "-infinity") == "\"-infinity\"")
        #expect(f(O.timestamp, "0044-03-15 12:30:00 BC") == "\"0044-03-15 12:30:00 BC\"")
        #expect(f(O.timestamp, "294276-12-31 23:59:59.999999") == "9224318015999999")
    }

    @Test func timestamptz() {
        #expect(f(O.timestamptz, "2024-06-01 10:00:00.123456+00") == "\"2024-06-01T10:00:00.123456Z\"")
        #expect(f(O.timestamptz, "2024-06-01 10:00:00+00") == "\"2024-06-01T10:00:00.000000Z\"")
        #expect(f(O.timestamptz, "2024-06-01 10:00:00.5+05:30") == "\"2024-06-01T04:30:00.500000Z\"")
        #expect(f(O.timestamptz, "2024-01-01 00:30:00-01") == "\"2024-01-01T01:30:00.000000Z\"")
        #expect(f(O.timestamptz, "infinity") == "\"infinity\"")
        #expect(f(O.timestamptz, "0044-03-15 12:30:00+00 BC") == "\"0044-03-15 12:30:00+00 BC\"")
    }

    @Test func timeAndInterval() {
        #expect(f(O.time, "10:00:00.5") == "\"10:00:00.5\"")
        #expect(f(O.timetz, "10:00:00+02") == "\"10:00:00+02\"")
        #expect(f(O.interval, "P1Y2M3DT4H5M6.5S") == "\"P1Y2M3DT4H5M6.5S\"")
        #expect(f(O.interval, "PT0S") == "\"PT0S\"")
        #expect(f(O.interval, "P-1DT-2H") == "\"P-1DT-2H\"")
    }

    @Test func arrays() {
        #expect(f(1007, "{}") == "[]")
        #expect(f(1007, "{1,2,NULL}") == "[1,2,null]")
        #expect(f(1007, "{{1,2},{3,4}}") == "[[1,2],[3,4]]")
        #expect(f(1009, "{\"a b\",\"c\\\"d\",NULL,\"NULL\",x}") == "[\"a b\",\"c\\\"d\",null,\"NULL\",\"x\"]")
        #expect(f(1000, "{t,f}") == "[true,false]")
        #expect(f(1022, "{NaN,1.5,-Infinity}") == "[\"NaN\",1.5,\"-Infinity\"]")
        #expect(f(1231, "{1.50,NaN}") == "[\"1.50\",\"NaN\"]")
        #expect(f(1182, "{2024-06-01,infinity}") == "[\"2024-06-01T00:00:00Z\",\"infinity\"]")
        #expect(f(3807, "{\"{\\\"a\\\": 1}\"}") == "[{\"a\": 1}]")
        #expect(f(1007, "[0:1]={5,6}") == "[5,6]")
        // Malformed array text falls back to the string.
        #expect(f(1007, "{1,2") == "\"{1,2\"")
    }

    /// Every fragment of the table parses as JSON.
    @Test func fragmentsAreValidJSON() throws {
        let cases: [(UInt32, String)] = [(O.float8, "NaN"), (O.text, "a\u{7}\"b"), (O.bytea, "\\x00"), (1009, "{\"x\\\\y\"}"),
                                         (O.timestamptz, "2024-06-01 10:00:00+00"), (O.date, "0044-03-15 BC")]
        for (oid, text) in cases {
            let json = "[" + f(oid, text) + "]"
            #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(json.utf8)) }
        }
    }
}
