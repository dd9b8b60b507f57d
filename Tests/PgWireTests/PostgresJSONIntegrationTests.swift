import PgWire
import Testing

/// The text PostgreSQL really prints (session settings of SPEC §3) through the conversion.
@Suite struct PostgresJSONIntegrationTests {
    static let cases: [(sql: String, json: String)] = [
        ("NULL::int4", "null"),
        ("true", "true"),
        ("(-32768)::int2", "-32768"),
        ("9223372036854775807::int8", "9223372036854775807"),
        ("4294967295::oid", "4294967295"),
        ("1.1::float4", "1.1"),
        ("0.1::float8 + 0.2::float8", "0.30000000000000004"),
        ("'NaN'::float8", "\"NaN\""),
        ("'-Infinity'::float4", "\"-Infinity\""),
        ("10.50::numeric", "\"10.50\""),
        ("'NaN'::numeric", "\"NaN\""),
        ("('1' || repeat('0', 200))::numeric", "\"1" + String(repeating: "0", count: 200) + "\""),
        ("'ab'::char(4)", "\"ab  \""),
        ("'snow ☃ \"q\"'::text", "\"snow ☃ \\\"q\\\"\""),
        ("'\\x00ff10'::bytea", "\"AP8Q\""),
        ("'{\"a\": 12345678901234567890123}'::jsonb", "{\"a\": 12345678901234567890123}"),
        ("'2024-06-01'::date", "\"2024-06-01T00:00:00Z\""),
        ("'infinity'::date", "\"infinity\""),
        ("'0044-03-15 BC'::date", "\"0044-03-15 BC\""),
        ("'2024-06-01 10:00:00.123456'::timestamp", "1717236000123"),
        ("'-infinity'::timestamp", "\"-infinity\""),
        ("'0044-03-15 12:30:00 BC'::timestamp", "\"0044-03-15 12:30:00 BC\""),
        ("'2024-06-01 10:00:00.123456+00'::timestamptz", "\"2024-06-01T10:00:00.123456Z\""),
        ("'2024-06-01 12:00:00+02'::timestamptz", "\"2024-06-01T10:00:00.000000Z\""),
        ("'10:00:00.5'::time", "\"10:00:00.5\""),
        ("'1 year 2 mons 3 days 04:05:06.5'::interval", "\"P1Y2M3DT4H5M6.5S\""),
        ("'0'::interval", "\"PT0S\""),
        ("'-1 day -2 hours'::interval", "\"P-1DT-2H\""),
        ("'{}'::int4[]", "[]"),
        ("ARRAY[[1,2],[3,NULL]]::int4[]", "[[1,2],[3,null]]"),
        ("ARRAY['a b', 'c\"d', NULL]::text[]", "[\"a b\",\"c\\\"d\",null]"),
        ("ARRAY['2024-06-01 10:00:00+00'::timestamptz]", "[\"2024-06-01T10:00:00.000000Z\"]"),
        ("'192.168.0.1/24'::inet", "\"192.168.0.1/24\""),
        ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""),
    ]

    @Test(arguments: PgTestServer.allCases)
    func serverTextConverts(_ server: PgTestServer) async throws {
        guard var config = server.configuration() else { return }
        config.options = ["DateStyle": "ISO", "IntervalStyle": "iso_8601", "TimeZone": "UTC", "extra_float_digits": "3"]
        let c = try await PostgresConnection.connect(config)
        defer { Task { await c.close() } }
        for (sql, json) in Self.cases {
            let row = try #require(try await c.simpleQuery("SELECT \(sql)").first)
            let fragment = PostgresJSON.fragment(typeOID: row.fields[0].dataTypeOID, text: row.string(0))
            #expect(fragment == json, "SELECT \(sql)")
        }
    }
}
