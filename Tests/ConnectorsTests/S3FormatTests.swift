import Connectors
import KafkaWire
import NIOCore
import Testing
import WireCore

/// The object layout of SPEC §6 without any service: keys, time buckets, JSON lines both ways.
@Suite struct S3FormatTests {
    @Test func objectKeyLayoutRoundTrips() throws {
        let t = try #require(S3ObjectKey.parseTime("2024-06-01 10:00:00"))
        let key = S3ObjectKey(topic: "pg.public.users", bucketTime: t, partition: 3, first: 100, last: 2_000)
        #expect(key.description == "pg.public.users/2024-06-01 10:00:00/3/000000000000000100-000000000000002000.gz")
        #expect(S3ObjectKey(parsing: key.description) == key)
        #expect(S3ObjectKey(parsing: "t/2024-06-01 10:00:00/3/5-4.gz") == nil, "last below first")
        #expect(S3ObjectKey(parsing: "t/2024-13-01 10:00:00/3/1-4.gz") == nil, "month 13")
        #expect(S3ObjectKey(parsing: "t/2024-06-01 10:00:00/x/1-4.gz") == nil)
        #expect(S3ObjectKey(parsing: "t/2024-06-01 10:00:00/1/1-4.json") == nil)
        #expect(S3ObjectKey.formatTime(0) == "1970-01-01 00:00:00")
        #expect(S3ObjectKey.formatTime(951_782_400) == "2000-02-29 00:00:00")
        #expect(S3ObjectKey.parseTime("2000-02-29 00:00:00") == 951_782_400)
    }

    @Test func timestampsTruncateToTheInterval() {
        // 2024-06-01 10:59:59.999 UTC
        let ms: Int64 = 1_717_239_599_999
        #expect(S3ObjectKey.formatTime(S3ObjectKey.bucket(timestampMs: ms, intervalSeconds: 3600)) == "2024-06-01 10:00:00")
        #expect(S3ObjectKey.formatTime(S3ObjectKey.bucket(timestampMs: ms, intervalSeconds: 86400)) == "2024-06-01 00:00:00")
        #expect(S3ObjectKey.formatTime(S3ObjectKey.bucket(timestampMs: ms, intervalSeconds: 300)) == "2024-06-01 10:55:00")
        #expect(S3ObjectKey.bucket(timestampMs: -1, intervalSeconds: 60) == -60)
    }

    @Test func linesKeepNullsBinaryAndHeaders() throws {
        let records = [
            KafkaRecord(offset: 7, timestamp: 1_717_239_599_999, key: ByteBuffer(string: "k\"1"),
                        value: ByteBuffer(bytes: [0xFF, 0x00, 0x41]),
                        headers: [KafkaRecordHeader(key: "lsn", value: ByteBuffer(string: "0/1A2B3C8")),
                                  KafkaRecordHeader(key: "n", value: nil),
                                  KafkaRecordHeader(key: "b", value: ByteBuffer(bytes: [0xC3, 0x28]))]),
            KafkaRecord(offset: 8, timestamp: 5, key: nil, value: nil),
            KafkaRecord(offset: 9, timestamp: 6, key: ByteBuffer(bytes: []), value: ByteBuffer(string: "é\n")),
        ]
        var w = JSONWriter()
        for r in records { S3LineFormat.append(r, to: &w) }
        let text = w.string
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == #"{"offset":7,"key":"k\"1","value_b64":"/wBB","headers":[{"key":"lsn","value":"0/1A2B3C8"},{"key":"n","value":null},{"key":"b","value_b64":"wyg="}],"timestamp":1717239599999}"#)
        #expect(lines[1] == #"{"offset":8,"key":null,"value":null,"headers":[],"timestamp":5}"#)
        let rows = try S3LineFormat.rows(w.bytes)
        #expect(rows.count == 3)
        #expect(rows[0] == S3Row(offset: 7, key: Array("k\"1".utf8), value: [0xFF, 0x00, 0x41],
                                 headers: [.init(key: "lsn", value: Array("0/1A2B3C8".utf8)), .init(key: "n", value: nil),
                                           .init(key: "b", value: [0xC3, 0x28])], timestamp: 1_717_239_599_999))
        #expect(rows[1] == S3Row(offset: 8, key: nil, value: nil, timestamp: 5))
        #expect(rows[2] == S3Row(offset: 9, key: [], value: Array("é\n".utf8), timestamp: 6))
        // gzip members concatenate (how merges append): both read back.
        let joined = try S3LineFormat.gzip(Array(w.bytes.prefix(through: w.bytes.firstIndex(of: 0x0A)!)))
            + S3LineFormat.gzip(Array(w.bytes[(w.bytes.firstIndex(of: 0x0A)! + 1)...]))
        #expect(try S3LineFormat.rows(S3LineFormat.gunzip(joined)) == rows)
    }

    @Test func readsTheOldToolsLines() throws {
        let row = try S3LineFormat.row(Array(#"{"offset":100,"key":"a","value":"{\"id\":1}","headers":[{"key":"lsn","value":"0/1"}]}"#.utf8))
        #expect(row == S3Row(offset: 100, key: Array("a".utf8), value: Array(#"{"id":1}"#.utf8),
                             headers: [.init(key: "lsn", value: Array("0/1".utf8))], timestamp: nil))
    }

    @Test(arguments: [#"[1]"#, #"{"key":"a"}"#, #"{"offset":-1}"#, #"{"offset":1,"value_b64":"!!"}"#,
                      #"{"offset":1,"headers":{}}"#, #"{"offset":1,"timestamp":"x"}"#, #"{"offset":1"#,
                      #"{"offset":1,"headers":[{"value":"v"}]}"#])
    func badLinesAreErrors(_ line: String) {
        #expect(throws: S3FormatError.self) { try S3LineFormat.row(Array(line.utf8)) }
    }

    @Test func badLineNamesItsNumber() {
        do {
            _ = try S3LineFormat.rows(Array("{\"offset\":1}\n\nnot json\n".utf8))
            Issue.record("no error")
        } catch {
            #expect(error.description.hasPrefix("line 3:"))
        }
    }
}
