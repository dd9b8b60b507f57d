import Foundation
import PipeTestSupport
import Testing

/// pg.Source through the real binary: every type of SPEC §3's table, inserts, updates, deletes,
/// unchanged TOASTed values, tables without a primary key, headers in order.
@Suite(.serialized) struct PgSourceRecordTests {
    static let kafkaVar = "KP_KAFKA"

    static let schemaSQL = """
        DROP TABLE IF EXISTS %T, %T_toast, %T_full, %T_nopk, %T_idx;
        DROP TYPE IF EXISTS %T_mood;
        CREATE TYPE %T_mood AS ENUM ('happy', 'sad');
        CREATE TABLE %T (
          id int8 PRIMARY KEY, c_bool bool, c_int2 int2, c_int4 int4, c_oid oid, c_float4 float4, c_float8 float8,
          c_numeric numeric(10,2), c_text text, c_varchar varchar(20), c_char char(5), c_name name, c_uuid uuid,
          c_inet inet, c_cidr cidr, c_macaddr macaddr, c_money money, c_xml xml, c_bit bit(4), c_point point,
          c_range int4range, c_bytea bytea, c_json json, c_jsonb jsonb, c_date date, c_ts timestamp, c_tstz timestamptz,
          c_time time, c_timetz timetz, c_interval interval, c_int_arr int4[], c_text_arr text[], c_enum %T_mood);
        CREATE TABLE %T_toast (id int PRIMARY KEY, big text, n int);
        CREATE TABLE %T_full (id int PRIMARY KEY, big text, n int);
        ALTER TABLE %T_full REPLICA IDENTITY FULL;
        CREATE TABLE %T_nopk (a int, b text);
        CREATE TABLE %T_idx (a int NOT NULL, b text);
        CREATE UNIQUE INDEX %T_idx_a ON %T_idx (a);
        ALTER TABLE %T_idx REPLICA IDENTITY USING INDEX %T_idx_a;
        """

    static let workloadSQL = """
        INSERT INTO %T VALUES (1, true, -7, 2147483647, 4000000000, 1.5, 0.1, 10.50, 'a "q" \\ b', 'vc', 'ab', 'nm',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', 12.34, %XML, B'1010', '(1,2)',
         '[1,5)', '\\x00ff10', '{"n": 1.10, "b": [true, null]}', '{"n": 1.10, "b": [true, null]}', '2024-06-01', '2024-06-01 10:00:00.123456',
         '2024-06-01 12:00:00.123456+02', '13:45:06.5', '13:45:06+05:30', '1 year 2 months 3 days 04:05:06.5', '{1,NULL,3}', '{"x y","z\\"w"}', 'sad');
        INSERT INTO %T (id, c_float4, c_float8, c_numeric, c_date, c_ts, c_tstz, c_interval)
         VALUES (2, 'NaN', '-Infinity', 'NaN', 'infinity', '-infinity', '0044-03-15 12:30:00 BC', '-1 days -02:00:00');
        INSERT INTO %T (id, c_date, c_ts, c_tstz, c_float8, c_interval) VALUES (3, '0044-03-15 BC', '0044-03-15 12:30:00 BC', '2024-06-01 10:00:00+00', 1e300, '0');
        BEGIN;
        UPDATE %T SET c_text = 'changed', c_int4 = 0 WHERE id = 1;
        DELETE FROM %T WHERE id = 2;
        COMMIT;
        INSERT INTO %T_toast SELECT 1, string_agg(md5(i::text), ''), 1 FROM generate_series(1, 3000) i;
        UPDATE %T_toast SET n = 2 WHERE id = 1;
        INSERT INTO %T_full SELECT 1, string_agg(md5(i::text), ''), 1 FROM generate_series(1, 3000) i;
        UPDATE %T_full SET n = 2 WHERE id = 1;
        INSERT INTO %T_nopk VALUES (7, 'x');
        INSERT INTO %T_idx VALUES (8, 'y');
        UPDATE %T_idx SET b = 'z' WHERE a = 8;
        DELETE FROM %T_idx WHERE a = 8;
        """

    static let row1 = #"{"c_bit":"1010","c_bool":true,"c_bytea":"AP8Q","c_char":"ab   ","c_cidr":"10.0.0.0/8","c_date":"2024-06-01T00:00:00Z","c_enum":"sad","c_float4":1.5,"c_float8":0.1,"c_inet":"192.168.0.1/24","c_int2":-7,"c_int4":2147483647,"c_int_arr":[1,null,3],"c_interval":"P1Y2M3DT4H5M6.5S","c_json":{"n": 1.10, "b": [true, null]},"c_jsonb":{"b": [true, null], "n": 1.10},"c_macaddr":"08:00:2b:01:02:03","c_money":"$12.34","c_name":"nm","c_numeric":"10.50","c_oid":4000000000,"c_point":"(1,2)","c_range":"[1,5)","c_text":"a \"q\" \\ b","c_text_arr":["x y","z\"w"],"c_time":"13:45:06.5","c_timetz":"13:45:06+05:30","c_ts":1717236000123,"c_tstz":"2024-06-01T10:00:00.123456Z","c_uuid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","c_varchar":"vc","c_xml":"<a>x</a>","id":1}"#

    static func nulls(except: [String: String]) -> String {
        let names = ["c_bit", "c_bool", "c_bytea", "c_char", "c_cidr", "c_date", "c_enum", "c_float4", "c_float8", "c_inet",
                     "c_int2", "c_int4", "c_int_arr", "c_interval", "c_json", "c_jsonb", "c_macaddr", "c_money", "c_name",
                     "c_numeric", "c_oid", "c_point", "c_range", "c_text", "c_text_arr", "c_time", "c_timetz", "c_ts",
                     "c_tstz", "c_uuid", "c_varchar", "c_xml", "id"]
        return "{" + names.map { "\"\($0)\":" + (except[$0] ?? "null") }.joined(separator: ",") + "}"
    }

    static let row2 = nulls(except: ["c_date": #""infinity""#, "c_float4": #""NaN""#, "c_float8": #""-Infinity""#,
                                     "c_interval": #""P-1DT-2H""#, "c_numeric": #""NaN""#, "c_ts": #""-infinity""#,
                                     "c_tstz": #""0044-03-15 12:30:00+00 BC""#, "id": "2"])
    static let row3 = nulls(except: ["c_date": #""0044-03-15 BC""#, "c_float8": "1e+300", "c_interval": #""PT0S""#,
                                     "c_ts": #""0044-03-15 12:30:00 BC""#, "c_tstz": #""2024-06-01T10:00:00.000000Z""#, "id": "3"])
    static let row2Deleted = nulls(except: ["id": "2"])

    @Test(arguments: ["KP_PG15", "KP_PG18"])
    func everyTypeInsertUpdateDelete(pgVar: String) async throws {
        guard let url = TestEnv.require(pgVar, onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let kafka = TestEnv.require(Self.kafkaVar, onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              TestEnv.require("KP_KCAT", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) != nil else { return }
        let t = TestEnv.unique("pgs_types")
        let slot = t + "_slot", publication = t + "_pub", prefix = t
        try await PgSourceTestKit.sql(url, Self.schemaSQL.replacingOccurrences(of: "%T", with: t))
        let tables = ["", "_toast", "_full", "_nopk", "_idx"].map { "public.\(t)\($0)" }
        let port = try await S3T.freePort()
        let dir = try PgSourceTestKit.workdir(PgSourceTestKit.config(
            name: "types", url: url, slot: slot, publication: publication, tables: tables, topicPrefix: prefix, kafka: kafka,
            listen: "127.0.0.1:\(port)"))
        let pipe = try PipeProcess(configIn: dir)
        #expect(await pipe.waitFor("\"streaming\""), "connector did not start: \(pipe.output)")

        let before = Int64(Date().timeIntervalSince1970 * 1000) - 1000
        // xml needs a server built with libxml (the PostgreSQL 18 of the dev services is not).
        let hasXML = (try? await PgSourceTestKit.sql(url, "SELECT '<a>x</a>'::xml")) != nil
        try await PgSourceTestKit.sql(url, Self.workloadSQL.replacingOccurrences(of: "%T", with: t)
            .replacingOccurrences(of: "%XML", with: hasXML ? "'<a>x</a>'" : "NULL"))
        let row1 = hasXML ? Self.row1 : Self.row1.replacingOccurrences(of: #""c_xml":"<a>x</a>""#, with: #""c_xml":null"#)
        let after = Int64(Date().timeIntervalSince1970 * 1000) + 1000

        let main = try await PgSourceTestKit.consume(topic: "\(prefix).public.\(t)", kafka: kafka, atLeast: 5)
        let toast = try await PgSourceTestKit.consume(topic: "\(prefix).public.\(t)_toast", kafka: kafka, atLeast: 2)
        let full = try await PgSourceTestKit.consume(topic: "\(prefix).public.\(t)_full", kafka: kafka, atLeast: 2)
        let nopk = try await PgSourceTestKit.consume(topic: "\(prefix).public.\(t)_nopk", kafka: kafka, atLeast: 1)
        let idx = try await PgSourceTestKit.consume(topic: "\(prefix).public.\(t)_idx", kafka: kafka, atLeast: 3)
        // /metrics: 13 changes read from the WAL, 13 records acknowledged by Kafka (the health
        // table's heartbeats are in neither), positions saved, the slot's lag in bytes.
        let metrics = await MetricsScrape.waitFor(port: port, "kafka_pipe_state_store_writes_total", atLeast: 1)
        // The last of the 12 transactions with records is timed once all its records are acknowledged.
        let out = await MetricsScrape.waitFor(port: port, "kafka_pipe_batch_latency_seconds_count", atLeast: 12)
        #expect(MetricsScrape.value(out, "kafka_pipe_records_in_total") == 13, "metrics: \(out)")
        #expect(MetricsScrape.value(out, "kafka_pipe_records_out_total") == 13)
        #expect((MetricsScrape.value(out, "kafka_pipe_bytes_out_total") ?? 0) > 96_000, "the TOASTed value alone is 96,000 bytes")
        #expect((MetricsScrape.value(metrics, "kafka_pipe_state_store_writes_total") ?? 0) >= 1, "metrics: \(metrics)")
        #expect(MetricsScrape.value(out, "kafka_pipe_batch_latency_seconds_count") == 12, "one per transaction with records")
        let lag = MetricsScrape.value(out, "kafka_pipe_lag{slot=\"\(slot)\"}")
        #expect(lag != nil && lag! >= 0, "metrics: \(out)")
        #expect(await pipe.stop() == 0, "\(pipe.output)")
        await PgSourceTestKit.dropSlot(url, slot: slot, publication: publication)

        // The main table: exact key and value bytes, op in order.
        try #require(main.count == 5, "records: \(main.map { $0.value ?? "nil" })")
        let expected: [(String, String, String)] = [
            (#"{"id":1}"#, row1, "c"), (#"{"id":2}"#, Self.row2, "c"), (#"{"id":3}"#, Self.row3, "c"),
            (#"{"id":1}"#, row1.replacingOccurrences(of: #""c_int4":2147483647"#, with: #""c_int4":0"#)
                .replacingOccurrences(of: #""c_text":"a \"q\" \\ b""#, with: #""c_text":"changed""#), "u"),
            (#"{"id":2}"#, Self.row2Deleted, "d"),
        ]
        for (record, (key, value, op)) in zip(main, expected) {
            #expect(record.key == key)
            #expect(record.value == value)
            #expect(record.header("op") == op)
        }
        // Headers: names and order, formats.
        let lsnPattern = /^(0|[1-9A-F][0-9A-F]*)\/(0|[1-9A-F][0-9A-F]*)$/
        let hostPort = URLComponents(string: url)
        var lastLSN: UInt64 = 0
        for r in main + toast + full + nopk + idx {
            let names = r.headerNames
            let base = ["version", "lsn", "ts_ms", "host", "port", "database", "relation", "op"]
            #expect(names == base || names == base + ["unchanged"], "\(names)")
            #expect(r.header("version") == "1")
            let lsn = try #require(r.header("lsn"))
            #expect(lsn.wholeMatch(of: lsnPattern) != nil, "lsn \(lsn)")
            let ts = Int64(r.header("ts_ms") ?? "") ?? 0
            #expect(ts >= before && ts <= after, "ts_ms \(ts) not within the workload [\(before), \(after)]")
            #expect(r.header("host") == hostPort?.host)
            #expect(r.header("port") == String(hostPort?.port ?? 5432))
            #expect(r.header("database") == "postgres")
            #expect(r.header("relation")?.hasPrefix("public.\(t)") == true)
            _ = lastLSN
        }
        for topicRecords in [main, toast, full, idx] {
            lastLSN = 0
            for r in topicRecords {
                let parts = (r.header("lsn") ?? "0/0").split(separator: "/").map { UInt64($0, radix: 16) ?? 0 }
                let v = parts[0] << 32 | parts[1]
                #expect(v > lastLSN, "LSNs grow within a topic")
                lastLSN = v
            }
        }
        #expect(main.map { $0.header("relation") } == Array(repeating: "public.\(t)", count: 5))

        // Unchanged TOAST, REPLICA IDENTITY DEFAULT: left out of the value and named in `unchanged`.
        try #require(toast.count == 2)
        #expect(toast[0].key == #"{"id":1}"#)
        let big = try #require((PgSourceTestKit.json(toast[0].value) as? [String: Any])?["big"] as? String)
        #expect(big.count == 3000 * 32)
        #expect(toast[0].header("unchanged") == nil)
        #expect(toast[1].value == #"{"id":1,"n":2}"#)
        #expect(toast[1].header("unchanged") == "big")
        #expect(toast[1].header("op") == "u")
        // REPLICA IDENTITY FULL: taken from the old row; key still the primary key.
        try #require(full.count == 2)
        #expect(full[1].key == #"{"id":1}"#)
        #expect(full[1].value == #"{"big":"\#(big)","id":1,"n":2}"#)
        #expect(full[1].header("unchanged") == nil)
        // No primary key, no replica identity: key {}.
        try #require(nopk.count == 1)
        #expect(nopk[0].key == "{}")
        #expect(nopk[0].value == #"{"a":7,"b":"x"}"#)
        // No primary key, REPLICA IDENTITY USING INDEX: the index columns.
        try #require(idx.count == 3)
        #expect(idx.map(\.key) == [#"{"a":8}"#, #"{"a":8}"#, #"{"a":8}"#])
        #expect(idx.map(\.value) == [#"{"a":8,"b":"y"}"#, #"{"a":8,"b":"z"}"#, #"{"a":8,"b":null}"#])
        #expect(idx.map { $0.header("op") } == ["c", "u", "d"])
        // The health table's heartbeats are never produced, and only the configured topics exist.
        try await PgSourceTestKit.sql(url, "DROP TABLE IF EXISTS \(tables.map { $0 }.joined(separator: ", ")); DROP TYPE IF EXISTS \(t)_mood;")
    }

    @Test func skipDeleteAndTombstones() async throws {
        guard let url = TestEnv.require("KP_PG15", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let kafka = TestEnv.require(Self.kafkaVar, onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              TestEnv.require("KP_KCAT", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) != nil else { return }
        for (option, expectedOps) in [("skip.delete: true", ["c"]), ("tombstones: true", ["c", "d", "d"])] {
            let t = TestEnv.unique("pgs_del")
            let slot = t + "_slot", publication = t + "_pub"
            try await PgSourceTestKit.sql(url, "CREATE TABLE \(t) (id int PRIMARY KEY, v text);")
            let dir = try PgSourceTestKit.workdir(PgSourceTestKit.config(
                name: "del", url: url, slot: slot, publication: publication, tables: ["public.\(t)"], topicPrefix: t,
                extraPg: "  \(option)", kafka: kafka))
            let pipe = try PipeProcess(configIn: dir)
            #expect(await pipe.waitFor("\"streaming\""), "\(pipe.output)")
            try await PgSourceTestKit.sql(url, "INSERT INTO \(t) VALUES (1, 'a'); DELETE FROM \(t) WHERE id = 1; INSERT INTO \(t) VALUES (2, 'marker');")
            let records = try await PgSourceTestKit.consume(topic: "\(t).public.\(t)", kafka: kafka, atLeast: expectedOps.count + 1)
            #expect(await pipe.stop() == 0)
            await PgSourceTestKit.dropSlot(url, slot: slot, publication: publication)
            try await PgSourceTestKit.sql(url, "DROP TABLE \(t);")
            #expect(records.map { $0.header("op") ?? "" } == expectedOps + ["c"], "\(option)")
            #expect(records.last?.key == #"{"id":2}"#)
            if option.hasPrefix("tombstones") {
                #expect(records[1].key == #"{"id":1}"#)
                #expect(records[1].value == #"{"id":1,"v":null}"#)
                #expect(records[2].key == #"{"id":1}"#)
                #expect(records[2].value == nil, "tombstone has a null value")
            }
        }
    }
}
