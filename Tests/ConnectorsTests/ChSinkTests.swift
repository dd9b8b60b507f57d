import ClickHouseNative
import Connectors
import Foundation
import Logging
import CoreMetrics
import PipeConfig
import PipeRuntime
import PipeTestSupport
import Storage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the ch.Sink tests need: tansu, kcat, ClickHouse 18.16 (with ZooKeeper for replicated
/// tables) and the real binary.
enum CHT {
    struct Services {
        var kafka: String
        var ch: String
        var user: String
        var password: String
        var kcat: String
        var host: String { String(ch.split(separator: ":")[0]) }
        var port: String { String(ch.split(separator: ":")[1]) }
    }

    static func services() -> Services? {
        guard let kafka = S3T.env("KP_KAFKA"), let ch = S3T.env("KP_CH"), let user = S3T.env("KP_CH_USER"),
              let password = S3T.env("KP_CH_PASSWORD"), let kcat = S3T.env("KP_KCAT") else { return nil }
        return Services(kafka: kafka, ch: ch, user: user, password: password, kcat: kcat)
    }

    /// Runs SQL with clickhouse-client; fails the test on an error. Returns TSV.
    @discardableResult
    static func sql(_ svc: Services, _ query: String) async throws -> String {
        let r = try await Run.program("/usr/bin/clickhouse-client",
                                      ["--host", svc.host, "--port", svc.port, "--user", svc.user, "--password", svc.password,
                                       "--multiquery", "-q", query], timeout: 120)
        if r.status != 0 { throw TestFailure("clickhouse-client failed: \(r.stderr)\nSQL: \(query.prefix(400))") }
        return r.stdout
    }

    static func count(_ svc: Services, _ table: String, _ extra: String = "") async throws -> Int {
        Int(try await sql(svc, "SELECT count() FROM \(table) \(extra)").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Waits until `table` has at least `rows` rows; returns the count.
    static func waitForRows(_ svc: Services, _ table: String, _ rows: Int, seconds: Double = 90,
                            while process: BackgroundProcess? = nil) async throws -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        var n = 0
        while Date() < deadline {
            n = try await count(svc, table)
            if n >= rows { return n }
            if let process, !process.isRunning { return n }
            try await Task.sleep(for: .milliseconds(300))
        }
        return n
    }

    static func name(_ prefix: String) -> String {
        TestEnv.unique(prefix).replacingOccurrences(of: "-", with: "_").lowercased()
    }

    static func yaml(name: String, svc: Services, topics: [String], group: String, table: String? = nil,
                     batchSize: Int = 1000, timeout: String = "300ms", extra: String = "", http: String = "") -> String {
        var routes = ""
        if let table { routes = "routes:\n" + topics.map { "  \"^\($0)$\": \(table)" }.joined(separator: "\n") }
        return """
        name: \(name)
        class: ch.Sink
        log: {level: info}
        http: {listen: "\(http)"}
        kafka:
          brokers: [\(svc.kafka)]
          group: \(group)
          topics: [\(topics.joined(separator: ", "))]
          rebalance_timeout: 3s
          batch: {size: \(batchSize), timeout: \(timeout)}
        click_house:
          addrs: [\(svc.ch)]
          database: default
          user: \(svc.user)
          password: "\(svc.password)"
        \(routes)
        \(extra)
        """
    }

    static func produce(_ svc: Services, topic: String, lines: String, options: String = "") async throws {
        let dir = try S3T.tempDir()
        let file = dir.appendingPathComponent("records.txt")
        try lines.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try await Run.shell("'\(svc.kcat)' -b \(svc.kafka) -P -t \(topic) \(options) -l '\(file.path)'", timeout: 300)
        if r.status != 0 { throw TestFailure("kcat: \(r.stderr)") }
    }

    static func createTopic(_ svc: Services, _ topic: String, partitions: Int) async throws {
        // tansu creates a topic with one partition on first use; ask for more explicitly.
        let py = """
        from confluent_kafka.admin import AdminClient, NewTopic
        a = AdminClient({"bootstrap.servers": "\(svc.kafka)"})
        for f in a.create_topics([NewTopic("\(topic)", num_partitions=\(partitions), replication_factor=1)]).values():
            f.result()
        """
        let r = try await Run.program(TestEnv.value("KP_PYTHON") ?? "python3", ["-c", py], timeout: 60)
        if r.status != 0 { throw TestFailure("create topic \(topic): \(r.stderr)") }
    }
}

@Suite(.serialized) struct ChSinkTests {
    // MARK: values

    @Test func jsonValuesOfManyTypesLandWithTheRightValues() async throws {
        guard let svc = CHT.services() else { return }
        let t = CHT.name("chtypes"), topic = t.replacingOccurrences(of: "_", with: "-")
        try await CHT.sql(svc, """
            CREATE TABLE default.\(t) (id UInt64, i8 Int8, u16 UInt16, i64 Int64, f32 Float32, f64 Float64,
              dec Decimal(18, 4), big Decimal(38, 10), s String, fs FixedString(4), d Date, dt DateTime,
              u UUID, e Enum8('red' = 1, 'green' = 2), arr Array(Int32), nest Array(Array(String)),
              tup Tuple(Int32, String), n Nullable(String), ni Nullable(Int32), flag UInt8, obj String,
              dflt UInt32 DEFAULT id * 10, mat UInt64 MATERIALIZED id + 1)
            ENGINE = MergeTree ORDER BY id
            """)
        let lines = [
            #"{"id":1,"i8":-128,"u16":65535,"i64":-9223372036854775808,"f32":1.5,"f64":"NaN","dec":"12.3400","big":"12345678901234567890.0123456789","s":"héllo \"q\"","fs":"ab","d":"2024-06-01T00:00:00Z","dt":"2024-06-01T10:00:00.123456Z","u":"123e4567-e89b-12d3-a456-426614174000","e":"green","arr":[1,-2,3],"nest":[["a"],[],["b","c"]],"tup":[7,"x"],"n":null,"ni":5,"flag":true,"obj":{"k":[1,2]},"dflt":3}"#,
            #"{"ID":2,"I8":"12","dec":7,"dt":1717236000000,"d":19875,"e":1,"n":"text","FLAG":false,"f64":2.5e3,"extra":"ignored","mat":99}"#,
            #"{"id":3,"dt":1717236000,"d":"2024-06-03","dec":"1e-4","u":"123E4567E89B12D3A456426614174000","s":42,"tup":{"a":1,"b":"o"}}"#,
        ]
        try await CHT.produce(svc, topic: topic, lines: lines.joined(separator: "\n") + "\n", options: "-p 0")
        let dir = try S3T.tempDir()
        let port = try await S3T.freePort()
        let sink = try BackgroundProcess.pipe(CHT.yaml(name: "types", svc: svc, topics: [topic], group: "g-" + topic, table: t,
                                                       http: "127.0.0.1:\(port)"), in: dir)
        defer { sink.killNow() }
        let n = try await CHT.waitForRows(svc, "default.\(t)", 3, while: sink)
        #expect(n == 3, "rows: \(n); sink: \(sink.output.suffix(3000))")
        // /metrics: rows out, records in, the partition's lag (0 once caught up), state-store writes.
        let metrics = try await Run.shell("curl -s http://127.0.0.1:\(port)/metrics").stdout
        #expect(metrics.contains("kafka_pipe_records_out_total 3"), "metrics: \(metrics)")
        #expect(metrics.contains("kafka_pipe_records_in_total 3"))
        #expect(metrics.contains("kafka_pipe_lag{partition=\"0\",topic=\"\(topic)\"} 0") || metrics.contains("kafka_pipe_lag{topic=\"\(topic)\",partition=\"0\"} 0"),
                "metrics: \(metrics)")
        #expect(metrics.contains("kafka_pipe_state_store_writes_total 2"), "pending and done of the one range: \(metrics)")
        #expect(await sink.stop(SIGTERM) == 0)
        let got = try await CHT.sql(svc, "SELECT *, mat FROM default.\(t) ORDER BY id FORMAT TSV")
        let want = [
            "1\t-128\t65535\t-9223372036854775808\t1.5\tnan\t12.3400\t12345678901234567890.0123456789\théllo \"q\"\tab\\0\\0\t2024-06-01\t2024-06-01 10:00:00\t123e4567-e89b-12d3-a456-426614174000\tgreen\t[1,-2,3]\t[['a'],[],['b','c']]\t(7,'x')\t\\N\t5\t1\t{\"k\":[1,2]}\t3\t2",
            "2\t12\t0\t0\t0\t2500\t7.0000\t0.0000000000\t\t\\0\\0\\0\\0\t2024-06-01\t2024-06-01 10:00:00\t00000000-0000-0000-0000-000000000000\tred\t[]\t[]\t(0,'')\ttext\t\\N\t0\t\t20\t3",
            "3\t0\t0\t0\t0\t0\t0.0001\t0.0000000000\t42\t\\0\\0\\0\\0\t2024-06-03\t2024-06-01 10:00:00\t123e4567-e89b-12d3-a456-426614174000\tred\t[]\t[]\t(1,'o')\t\\N\t\\N\t0\t\t30\t4",
        ]
        let rows = got.split(separator: "\n").map(String.init)
        #expect(rows.count == 3)
        for (i, w) in want.enumerated() where i < rows.count {
            #expect(rows[i] == w, "row \(i + 1)")
        }
    }

    // MARK: on_error

    @Test func poisonRecordsUnderEachOnErrorMode() async throws {
        guard let svc = CHT.services() else { return }
        let lines = [#"{"id":1,"v":10}"#, #"{"id":2,"v":"not a number"}"#, #"{"id":3,"v":30"#, #"{"id":4,"v":40}"#].joined(separator: "\n") + "\n"
        // stop: exit status 1, one line naming topic, partition, offset and column; nothing committed past it.
        do {
            let t = CHT.name("chstop"), topic = t.replacingOccurrences(of: "_", with: "-")
            try await CHT.sql(svc, "CREATE TABLE default.\(t) (id UInt64, v Int32) ENGINE = MergeTree ORDER BY id")
            try await CHT.produce(svc, topic: topic, lines: lines, options: "-p 0")
            let dir = try S3T.tempDir()
            let r = try await S3T.runPipe(CHT.yaml(name: "stop", svc: svc, topics: [topic], group: "g-" + topic, table: t), in: dir, timeout: 60)
            #expect(r.status == 1)
            let out = r.stdout + r.stderr
            #expect(out.contains("\(topic)/0 offset 1, column v"), "output: \(out.suffix(2000))")
            #expect(out.contains("not a number"))
            #expect(try await CHT.count(svc, "default.\(t)") == 0)
            // The state store saw nothing done.
            let state = try await Run.program(S3T.binary, ["state"], cwd: dir)
            #expect(!state.stdout.contains("done"), "state: \(state.stdout)")
        }
        // skip: the two bad records are left out, the others land.
        do {
            let t = CHT.name("chskip"), topic = t.replacingOccurrences(of: "_", with: "-")
            try await CHT.sql(svc, "CREATE TABLE default.\(t) (id UInt64, v Int32) ENGINE = MergeTree ORDER BY id")
            try await CHT.produce(svc, topic: topic, lines: lines, options: "-p 0")
            let dir = try S3T.tempDir()
            let sink = try BackgroundProcess.pipe(CHT.yaml(name: "skip", svc: svc, topics: [topic], group: "g-" + topic, table: t,
                                                           extra: "on_error: skip"), in: dir)
            defer { sink.killNow() }
            #expect(try await CHT.waitForRows(svc, "default.\(t)", 2, while: sink) == 2)
            try await Task.sleep(for: .milliseconds(800))
            #expect(await sink.stop(SIGTERM) == 0)
            #expect(try await CHT.sql(svc, "SELECT id, v FROM default.\(t) ORDER BY id FORMAT TSV") == "1\t10\n4\t40\n")
            #expect(sink.output.contains("offset 2"), "skip names the broken JSON record: \(sink.output.suffix(2000))")
            #expect(sink.output.contains("column v"))
        }
        // dlq: the bad records go to the dead-letter topic with the reason, the rest land.
        do {
            let t = CHT.name("chdlq"), topic = t.replacingOccurrences(of: "_", with: "-")
            let dlqTopic = topic + "-dlq"
            try await CHT.sql(svc, "CREATE TABLE default.\(t) (id UInt64, v Int32) ENGINE = MergeTree ORDER BY id")
            try await CHT.produce(svc, topic: topic, lines: lines, options: "-p 0")
            let dir = try S3T.tempDir()
            let sink = try BackgroundProcess.pipe(CHT.yaml(name: "dlq", svc: svc, topics: [topic], group: "g-" + topic, table: t,
                                                           extra: "on_error: dlq\ndlq.topic: \(dlqTopic)"), in: dir)
            defer { sink.killNow() }
            #expect(try await CHT.waitForRows(svc, "default.\(t)", 2, while: sink) == 2)
            try await Task.sleep(for: .milliseconds(800))
            #expect(await sink.stop(SIGTERM) == 0, "sink: \(sink.output.suffix(2000))")
            let dead = try await PgSourceTestKit.consume(topic: dlqTopic, kafka: svc.kafka, atLeast: 2, seconds: 20)
            #expect(dead.map(\.value) == [#"{"id":2,"v":"not a number"}"#, #"{"id":3,"v":30"#])
            #expect(dead.first?.header("kafka-pipe.offset") == "1")
            #expect(dead.first?.header("kafka-pipe.topic") == topic)
            #expect(dead.first?.header("kafka-pipe.error")?.contains("column v") == true)
            #expect(dead.last?.header("kafka-pipe.error")?.contains("not JSON") == true)
        }
    }

    // MARK: exactly once

    /// A crash between a finished insert and the saving of its range: the restart sends the same
    /// block again. A ReplicatedMergeTree table drops the repeat; a plain MergeTree (ClickHouse
    /// 18.16 has no insert_deduplication_token or non_replicated_deduplication_window) keeps it:
    /// that window (one batch per partition per crash) is what remains there.
    @Test func crashAfterInsertIsDeduplicatedByReplicatedTablesOnly() async throws {
        guard let svc = CHT.services() else { return }
        for replicated in [true, false] {
            let t = CHT.name(replicated ? "chwinr" : "chwinm"), topic = t.replacingOccurrences(of: "_", with: "-")
            let engine = replicated ? "ReplicatedMergeTree('/clickhouse/tables/{shard}/\(t)', '{replica}')" : "MergeTree"
            try await CHT.sql(svc, "CREATE TABLE default.\(t) (id UInt64, v String) ENGINE = \(engine) ORDER BY id")
            let n = 500
            try await CHT.produce(svc, topic: topic, lines: (1...n).map { #"{"id":\#($0),"v":"value-\#($0)"}"# }.joined(separator: "\n") + "\n",
                                 options: "-p 0")
            let dir = try S3T.tempDir()
            let path = dir.appendingPathComponent("pipe.yaml")
            try CHT.yaml(name: "win", svc: svc, topics: [topic], group: "g-" + topic, table: t, batchSize: 100, timeout: "10s")
                .write(to: path, atomically: true, encoding: .utf8)
            // The first run dies right after its first insert (100 rows), before saving the range.
            let crashing = try BackgroundProcess(S3T.binary, [path.path], cwd: dir, env: ["KP_DEBUG_CH_CRASH_AFTER_INSERT": "1"])
            defer { crashing.killNow() }
            let deadline = Date().addingTimeInterval(60)
            while crashing.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!crashing.isRunning)
            #expect(try await CHT.count(svc, "default.\(t)") == 100)
            let state = try await Run.program(S3T.binary, ["state"], cwd: dir)
            #expect(state.stdout.contains("pending 0 99"), "state: \(state.stdout)")
            let sink = try BackgroundProcess(S3T.binary, [path.path], cwd: dir)
            defer { sink.killNow() }
            let want = replicated ? n : n + 100
            let got = try await CHT.waitForRows(svc, "default.\(t)", want, while: sink)
            try await Task.sleep(for: .seconds(1))
            #expect(await sink.stop(SIGTERM) == 0)
            #expect(sink.output.contains("sending a pending range again"))
            let final = try await CHT.count(svc, "default.\(t)")
            #expect(got == want && final == want, "\(replicated ? "Replicated" : "plain") MergeTree: \(final) rows, \(want) expected")
            #expect(try await CHT.sql(svc, "SELECT uniqExact(id) FROM default.\(t)") == "\(n)\n")
        }
    }

    /// SIGKILL at random moments, restart each time: a ReplicatedMergeTree table ends with every
    /// record exactly once. `KP_CH_CRASH_RECORDS` (default 1,000,000) and `KP_CH_CRASH_KILLS` (10).
    @Test func killedAtRandomMomentsEveryRecordLandsExactlyOnce() async throws {
        guard let svc = CHT.services() else { return }
        let n = Int(TestEnv.value("KP_CH_CRASH_RECORDS") ?? "") ?? 1_000_000
        let kills = Int(TestEnv.value("KP_CH_CRASH_KILLS") ?? "") ?? 10
        let t = CHT.name("chcrash"), topic = t.replacingOccurrences(of: "_", with: "-")
        try await CHT.createTopic(svc, topic, partitions: 3)
        try await CHT.sql(svc, """
            CREATE TABLE default.\(t) (id UInt64, name String, amount Decimal(12, 2), at DateTime)
            ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/\(t)', '{replica}') ORDER BY id
            """)
        let produced = try await Run.shell("""
            seq 1 \(n) | awk '{printf "{\\"id\\":%d,\\"name\\":\\"name-%d\\",\\"amount\\":\\"%d.25\\",\\"at\\":%d000}\\n", $1, $1, $1 % 100000, 1700000000 + $1}' \
            | '\(svc.kcat)' -b \(svc.kafka) -P -t \(topic)
            """, timeout: 600)
        #expect(produced.status == 0, "kcat: \(produced.stderr)")
        let dir = try S3T.tempDir()
        let yaml = CHT.yaml(name: "crash", svc: svc, topics: [topic], group: "g-" + topic, table: t,
                            batchSize: max(500, n / 60), timeout: "200ms")
        var killed = 0
        var lastCount = 0
        for _ in 0..<kills {
            let sink = try BackgroundProcess.pipe(yaml, in: dir)
            defer { sink.killNow() }
            try await Task.sleep(for: .milliseconds(Int.random(in: 1500...4000)))
            if sink.isRunning { killed += 1 }
            _ = await sink.stop(SIGKILL)
            lastCount = try await CHT.count(svc, "default.\(t)")
        }
        #expect(killed == kills)
        #expect(lastCount < n, "the kills should land before the end (\(lastCount) of \(n) rows); lower the batch or raise KP_CH_CRASH_RECORDS")
        let sink = try BackgroundProcess.pipe(yaml, in: dir)
        defer { sink.killNow() }
        _ = try await CHT.waitForRows(svc, "default.\(t)", n, seconds: 300, while: sink)
        try await Task.sleep(for: .seconds(2))
        #expect(await sink.stop(SIGTERM) == 0, "sink: \(sink.output.suffix(2000))")
        #expect(try await CHT.sql(svc, "SELECT count(), uniqExact(id), sum(id) FROM default.\(t) FORMAT TSV")
                == "\(n)\t\(n)\t\(n * (n + 1) / 2)\n", "after \(killed) kills")
    }

    /// Two sink processes in one group share the partitions; killing one moves its partitions to
    /// the other, which finishes with every record exactly once (the pending range of the killed
    /// one travels in the group's commit metadata).
    @Test func twoSinksShareThePartitionsAndFailOver() async throws {
        guard let svc = CHT.services() else { return }
        let n = 200_000
        let t = CHT.name("chtwo"), topic = t.replacingOccurrences(of: "_", with: "-")
        try await CHT.createTopic(svc, topic, partitions: 4)
        try await CHT.sql(svc, """
            CREATE TABLE default.\(t) (id UInt64, p String)
            ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/\(t)', '{replica}') ORDER BY id
            """)
        let dirA = try S3T.tempDir(), dirB = try S3T.tempDir()
        let yaml = CHT.yaml(name: "two", svc: svc, topics: [topic], group: "g-" + topic, table: t, batchSize: 500, timeout: "100ms")
        let a = try BackgroundProcess.pipe(yaml, in: dirA)
        defer { a.killNow() }
        let b = try BackgroundProcess.pipe(yaml, in: dirB)
        defer { b.killNow() }
        try await Task.sleep(for: .seconds(4))
        // Produce while both run, kill A in the middle.
        let producer = Task {
            try await Run.shell("""
                seq 1 \(n) | awk '{printf "{\\"id\\":%d,\\"p\\":\\"x\\"}\\n", $1}' | '\(svc.kcat)' -b \(svc.kafka) -P -t \(topic)
                """, timeout: 600)
        }
        // Kill A once both members have inserted something (the state store is readable while they run).
        let deadline = Date().addingTimeInterval(120)
        var bothWorking = false
        while Date() < deadline && !bothWorking {
            let sa = try await Run.program(S3T.binary, ["state"], cwd: dirA).stdout
            let sb = try await Run.program(S3T.binary, ["state"], cwd: dirB).stdout
            bothWorking = sa.contains("ch/\(topic)/") && sb.contains("ch/\(topic)/")
            if !bothWorking { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(bothWorking, "A: \(a.output.suffix(1500))\nB: \(b.output.suffix(1500))")
        _ = await a.stop(SIGKILL)
        let stateA = try await Run.program(S3T.binary, ["state"], cwd: dirA).stdout
        let r = try await producer.value
        #expect(r.status == 0)
        let got = try await CHT.waitForRows(svc, "default.\(t)", n, seconds: 180, while: b)
        try await Task.sleep(for: .seconds(2))
        #expect(await b.stop(SIGTERM) == 0, "B: \(b.output.suffix(2000))")
        let stateB = try await Run.program(S3T.binary, ["state"], cwd: dirB).stdout
        #expect(got >= n)
        // Both members had partitions.
        #expect(stateA.contains("ch/\(topic)/"), "A state: \(stateA)")
        #expect(stateB.contains("ch/\(topic)/"), "B state: \(stateB)")
        #expect(try await CHT.sql(svc, "SELECT count(), uniqExact(id) FROM default.\(t) FORMAT TSV") == "\(n)\t\(n)\n")
    }

    // MARK: pg.Source → ch.Sink

    /// Rows of a PostgreSQL table of many types, streamed by pg.Source (its SPEC §3 value
    /// encoding) and inserted by ch.Sink, read back from ClickHouse.
    @Test func pgSourceRecordsOfManyTypesLandInClickHouse() async throws {
        guard let svc = CHT.services(), let url = S3T.env("KP_PG15") else { return }
        let t = CHT.name("chpg")
        let slot = t + "_slot", publication = t + "_pub", prefix = t.replacingOccurrences(of: "_", with: "-")
        await PgSourceTestKit.dropSlot(url, slot: slot, publication: publication)
        try await PgSourceTestKit.sql(url, """
            DROP TABLE IF EXISTS public.\(t);
            DROP TYPE IF EXISTS \(t)_mood;
            CREATE TYPE \(t)_mood AS ENUM ('sad', 'ok', 'happy');
            CREATE TABLE public.\(t) (id int8 PRIMARY KEY, c_int2 int2, c_int4 int4, c_numeric numeric(12, 3), c_float4 float4,
              c_float8 float8, c_text text, c_varchar varchar(10), c_bool bool, c_date date, c_ts timestamp, c_tstz timestamptz,
              c_uuid uuid, c_int_arr int4[], c_text_arr text[], c_jsonb jsonb, c_bytea bytea, c_mood \(t)_mood);
            """)
        try await CHT.sql(svc, """
            CREATE TABLE default.\(t) (id Int64, c_int2 Int16, c_int4 Nullable(Int32), c_numeric Decimal(12, 3), c_float4 Float32,
              c_float8 Float64, c_text String, c_varchar String, c_bool UInt8, c_date Date, c_ts DateTime, c_tstz DateTime,
              c_uuid UUID, c_int_arr Array(Int32), c_text_arr Array(String), c_jsonb String, c_bytea String,
              c_mood Enum8('sad' = 1, 'ok' = 2, 'happy' = 3))
            ENGINE = MergeTree ORDER BY id
            """)
        let topic = "\(prefix).public.\(t)"
        let srcDir = try PgSourceTestKit.workdir(PgSourceTestKit.config(
            name: "chpg-src", url: url, slot: slot, publication: publication, tables: ["public.\(t)"],
            topicPrefix: prefix, kafka: svc.kafka))
        let source = try BackgroundProcess(S3T.binary, [srcDir.appendingPathComponent("pipe.yaml").path], cwd: srcDir)
        defer { source.killNow() }
        let sinkDir = try S3T.tempDir()
        let sink = try BackgroundProcess.pipe(CHT.yaml(name: "chpg-sink", svc: svc, topics: [topic], group: "g-" + prefix,
                                                       table: t, timeout: "200ms"), in: sinkDir)
        defer { sink.killNow() }
        // The source creates its slot and the topic; wait for it to stream before changing rows.
        for _ in 0..<100 where !source.output.contains("streaming") { try await Task.sleep(for: .milliseconds(100)) }
        try await PgSourceTestKit.sql(url, """
            INSERT INTO public.\(t) VALUES
              (1, -7, 2147483647, 12345.678, 1.5, 0.1, 'a "q" \\ b', 'vc', true, '2024-06-01', '2024-06-01 10:00:00.123',
               '2024-06-01 12:00:00.5+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,3}', '{"x y","z"}', '{"n": 1.10, "b": [true, null]}',
               '\\x00ff10', 'happy'),
              (2, 0, NULL, -0.001, 'NaN', '-Infinity', '', '', false, '1970-01-02', '1970-01-01 00:00:01', '2100-01-01 00:00:00+00',
               '00000000-0000-0000-0000-000000000001', '{}', '{}', '[]', '', 'sad');
            """)
        let n = try await CHT.waitForRows(svc, "default.\(t)", 2, seconds: 60, while: sink)
        #expect(n == 2, "source: \(source.output.suffix(1500))\nsink: \(sink.output.suffix(1500))")
        #expect(await sink.stop(SIGTERM) == 0)
        _ = await source.stop(SIGTERM)
        await PgSourceTestKit.dropSlot(url, slot: slot, publication: publication)
        let got = try await CHT.sql(svc, "SELECT * FROM default.\(t) ORDER BY id FORMAT TSV").split(separator: "\n").map(String.init)
        #expect(got.count == 2)
        let want = [
            "1\t-7\t2147483647\t12345.678\t1.5\t0.1\ta \"q\" \\\\ b\tvc\t1\t2024-06-01\t2024-06-01 10:00:00\t2024-06-01 10:00:00\ta0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\t[1,2,3]\t['x y','z']\t{\"b\":[true,null],\"n\":1.10}\tAP8Q\thappy",
            "2\t0\t\\N\t-0.001\tnan\t-inf\t\t\t0\t1970-01-02\t1970-01-01 00:00:01\t2100-01-01 00:00:00\t00000000-0000-0000-0000-000000000001\t[]\t[]\t[]\t\tsad",
        ]
        for (i, w) in want.enumerated() where i < got.count { #expect(got[i] == w, "row \(i + 1)") }
    }

    // MARK: Avro

    /// Raw Avro values (schema from file:// for one topic, http:// for another) of every type land
    /// in the matching columns; a value that is not Avro of the schema is skipped under on_error skip.
    @Test func rawAvroValuesLandWithTheRightValues() async throws {
        guard let svc = CHT.services() else { return }
        let t = CHT.name("chavro"), topic = t.replacingOccurrences(of: "_", with: "-"), topic2 = topic + "-http"
        try await CHT.sql(svc, """
            CREATE TABLE default.\(t) (a Int64, b String, c Nullable(Int32), d Array(Int32), e String, f Enum8('x' = 1, 'y' = 2, 'z' = 3),
              g FixedString(2), h Date, i DateTime, j Decimal(10, 2), k UUID, l UInt8, m Float32, n Float64, o Nullable(String))
            ENGINE = MergeTree ORDER BY a
            """)
        let dir = try S3T.tempDir()
        let schema = #"""
            {"type": "record", "name": "Row", "fields": [
              {"name": "a", "type": "long"}, {"name": "B", "type": "string"}, {"name": "c", "type": ["null", "int"]},
              {"name": "d", "type": {"type": "array", "items": "int"}}, {"name": "e", "type": {"type": "map", "values": "string"}},
              {"name": "f", "type": {"type": "enum", "name": "Color", "symbols": ["x", "y", "z"]}},
              {"name": "g", "type": {"type": "fixed", "name": "Two", "size": 2}},
              {"name": "h", "type": {"type": "int", "logicalType": "date"}},
              {"name": "i", "type": {"type": "long", "logicalType": "timestamp-millis"}},
              {"name": "j", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
              {"name": "k", "type": {"type": "string", "logicalType": "uuid"}},
              {"name": "l", "type": "boolean"}, {"name": "m", "type": "float"}, {"name": "n", "type": "double"},
              {"name": "o", "type": ["null", "string"]}]}
            """#
        try schema.write(to: dir.appendingPathComponent("row.avsc"), atomically: true, encoding: .utf8)
        // Our own small encoder in Python (independent of the Swift reader), producing with confluent_kafka.
        let py = #"""
            import struct, sys
            from confluent_kafka import Producer
            def zz(n): return ((n << 1) ^ (n >> 63)) & ((1 << 64) - 1)
            def varint(u):
                out = b""
                while True:
                    b = u & 0x7f; u >>= 7
                    if u: out += bytes([b | 0x80])
                    else: return out + bytes([b])
            def long(n): return varint(zz(n))
            def s(x): b = x.encode(); return long(len(b)) + b
            def row(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o):
                out = long(a) + s(b) + (long(0) if c is None else long(1) + long(c))
                out += (long(len(d)) + b"".join(long(x) for x in d) if d else b"") + long(0)
                out += (long(len(e)) + b"".join(s(k2) + s(v) for k2, v in e.items()) if e else b"") + long(0)
                dec = j.to_bytes(max(1, (j.bit_length() + 8) // 8), "big", signed=True)
                out += long(f) + g + long(h) + long(i) + long(len(dec)) + dec + s(k) + bytes([1 if l else 0])
                out += struct.pack("<f", m) + struct.pack("<d", n) + (long(0) if o is None else long(1) + s(o))
                return out
            p = Producer({"bootstrap.servers": sys.argv[1]})
            for topic in sys.argv[2:]:
                p.produce(topic, row(1, "héllo", None, [1, -2], {"k": "v"}, 1, b"ab", 19875, 1717236000123, -12345,
                                     "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", True, 1.5, -0.25, "x"), partition=0)
                p.produce(topic, bytes([2, 255]) + b" not avro", partition=0)
                p.produce(topic, row(-9223372036854775808, "", 7, [], {}, 2, bytes([0, 1]), 0, 0, 5, "00000000-0000-0000-0000-000000000000",
                                     False, -0.0, 1e300, None), partition=0)
            p.flush()
            """#
        let produced = try await Run.program(TestEnv.value("KP_PYTHON") ?? "python3", ["-c", py, svc.kafka, topic, topic2], timeout: 60)
        #expect(produced.status == 0, "producer: \(produced.stderr)")
        // The second topic's schema comes over HTTP.
        let port = try await S3T.freePort()
        let http = try BackgroundProcess(TestEnv.value("KP_PYTHON") ?? "python3", ["-m", "http.server", "\(port)", "--bind", "127.0.0.1"], cwd: dir)
        defer { http.killNow() }
        for _ in 0..<100 where !(await S3T.portOpen(port)) { try await Task.sleep(for: .milliseconds(50)) }
        let extra = """
            serde:
              format: avro
              schemas:
                \(topic): file://\(dir.appendingPathComponent("row.avsc").path)
                \(topic2): http://127.0.0.1:\(port)/row.avsc
            on_error: skip
            """
        let sink = try BackgroundProcess.pipe(CHT.yaml(name: "avro", svc: svc, topics: [topic, topic2], group: "g-" + topic, table: t,
                                                       extra: extra), in: dir)
        defer { sink.killNow() }
        let n = try await CHT.waitForRows(svc, "default.\(t)", 4, while: sink)
        try await Task.sleep(for: .milliseconds(500))
        #expect(await sink.stop(SIGTERM) == 0, "sink: \(sink.output.suffix(2000))")
        #expect(n == 4, "sink: \(sink.output.suffix(2000))")
        #expect(sink.output.contains("\(topic)/0 offset 1"), "the broken value is named: \(sink.output.suffix(2000))")
        let got = try await CHT.sql(svc, "SELECT a, b, c, d, e, f, hex(g), toUInt16(h), toUInt32(i), j, k, l, m, n, o FROM default.\(t) ORDER BY a FORMAT TSV")
        let rowMin = "-9223372036854775808\t\t7\t[]\t{}\tz\t0001\t0\t0\t0.05\t00000000-0000-0000-0000-000000000000\t0\t-0\t1e300\t\\N"
        let rowOne = "1\théllo\t\\N\t[1,-2]\t{\"k\":\"v\"}\ty\t6162\t19875\t1717236000\t-123.45\ta0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\t1\t1.5\t-0.25\tx"
        #expect(got == [rowMin, rowMin, rowOne, rowOne].joined(separator: "\n") + "\n")
    }

    // MARK: library use

    /// A library user's `beforeInsert` hook replaces the mapping: here it makes a row of every
    /// record's key, value length and an upper-cased value, with `workers_per_topic: 2`.
    @Test func beforeInsertHookTurnsRecordsIntoRows() async throws {
        guard let svc = CHT.services() else { return }
        let t = CHT.name("chhook"), topic = t.replacingOccurrences(of: "_", with: "-")
        try await CHT.createTopic(svc, topic, partitions: 2)
        try await CHT.sql(svc, "CREATE TABLE default.\(t) (k String, len UInt32, upper String, part UInt8) ENGINE = MergeTree ORDER BY k")
        try await CHT.produce(svc, topic: topic, lines: (1...50).map { "key\($0):not json \($0)" }.joined(separator: "\n") + "\n", options: "-K:")
        let dir = try S3T.tempDir()
        let yaml = CHT.yaml(name: "hook", svc: svc, topics: [topic], group: "g-" + topic, table: t)
            .replacingOccurrences(of: "  rebalance_timeout: 3s", with: "  rebalance_timeout: 3s\n  workers_per_topic: 2")
        let config = try ConfigLoader.parse(text: yaml, file: "hook.yaml", environment: [:])
        let store = try StateStore.open(directory: dir.appendingPathComponent("data").path)
        let env = ConnectorEnvironment(configuration: config, store: store, logger: Logger(label: "hook"),
                                       metrics: NOOPMetricsHandler.instance, readiness: Readiness())
        let sink = try ChSinkConnector(environment: env) { table, columns, records in
            #expect(table == "default.\(t)")
            #expect(columns.map(\.name) == ["k", "len", "upper", "part"])
            return records.map { r in
                let value = r.value.map { String(buffer: $0) } ?? ""
                return ChSinkRow(["K": .string(r.key.map { String(buffer: $0) } ?? ""), "len": .uint(UInt64(value.utf8.count)),
                                  "upper": .string(value.uppercased())])
            }
        }
        let task = Task { try await sink.run() }
        let n = try await CHT.waitForRows(svc, "default.\(t)", 50, seconds: 60)
        task.cancel()
        _ = try? await task.value
        try store.close()
        #expect(n == 50)
        #expect(try await CHT.sql(svc, "SELECT k, len, upper, part FROM default.\(t) WHERE k = 'key7' FORMAT TSV") == "key7\t10\tNOT JSON 7\t0\n")
        #expect(try await CHT.sql(svc, "SELECT uniqExact(k), sum(len) FROM default.\(t) FORMAT TSV") == "50\t\((1...50).reduce(0) { $0 + "not json \($1)".count })\n")
    }

    // MARK: compression

    /// `click_house:tls` against the server's secure native port; a sink that trusts another CA
    /// stops at start with an error naming TLS and the address, and no password.
    @Test func insertsOverTLS() async throws {
        guard let svc = CHT.services(), let tlsAddr = S3T.env("KP_CH_TLS"), let ca = S3T.env("KP_TLS_CA"),
              let otherCA = S3T.env("KP_TLS_OTHER_CA") else { return }
        let t = CHT.name("chtls"), topic = t.replacingOccurrences(of: "_", with: "-")
        try await CHT.sql(svc, "CREATE TABLE default.\(t) (id UInt64, s String) ENGINE = MergeTree ORDER BY id")
        try await CHT.produce(svc, topic: topic, lines: #"{"id":1,"s":"a"}"# + "\n" + #"{"id":2,"s":"b"}"# + "\n")
        func yaml(_ caFile: String, _ name: String) -> String {
            CHT.yaml(name: name, svc: svc, topics: [topic], group: "g-" + name + topic, table: t)
                .replacingOccurrences(of: "click_house:\n  addrs: [\(svc.ch)]", with: "click_house:\n  tls: {ca_file: \(caFile)}\n  addrs: [\(tlsAddr)]")
        }
        let refused = try BackgroundProcess.pipe(yaml(otherCA, "tlsbad"), in: try S3T.tempDir())
        defer { refused.killNow() }
        let status = await refused.wait(seconds: 60)
        #expect(status == 1, "a sink trusting another CA: \(refused.output.suffix(2000))")
        #expect(refused.output.contains("TLS") && refused.output.contains(tlsAddr), "\(refused.output.suffix(2000))")
        #expect(!refused.output.contains(svc.password) || svc.password.isEmpty)
        let sink = try BackgroundProcess.pipe(yaml(ca, "tls"), in: try S3T.tempDir())
        defer { sink.killNow() }
        let n = try await CHT.waitForRows(svc, "default.\(t)", 2, while: sink)
        #expect(n == 2, "rows: \(n); sink: \(sink.output.suffix(3000))")
        #expect(await sink.stop(SIGTERM) == 0)
        #expect(try await CHT.sql(svc, "SELECT id, s FROM default.\(t) ORDER BY id FORMAT TSV") == "1\ta\n2\tb\n")
    }

    @Test func recordsCompressedWithEachCodecAreConsumed() async throws {
        guard let svc = CHT.services() else { return }
        let t = CHT.name("chcodec"), topic = t.replacingOccurrences(of: "_", with: "-")
        try await CHT.sql(svc, "CREATE TABLE default.\(t) (id UInt64, codec String) ENGINE = MergeTree ORDER BY id")
        let codecs = ["none", "gzip", "snappy", "lz4", "zstd"]
        for (k, c) in codecs.enumerated() {
            let lines = (1...200).map { #"{"id":\#(k * 1000 + $0),"codec":"\#(c)"}"# }.joined(separator: "\n") + "\n"
            try await CHT.produce(svc, topic: topic, lines: lines, options: "-z \(c)")
        }
        let dir = try S3T.tempDir()
        let sink = try BackgroundProcess.pipe(CHT.yaml(name: "codec", svc: svc, topics: [topic], group: "g-" + topic, table: t), in: dir)
        defer { sink.killNow() }
        let n = try await CHT.waitForRows(svc, "default.\(t)", 1000, while: sink)
        #expect(await sink.stop(SIGTERM) == 0)
        #expect(n == 1000)
        #expect(try await CHT.sql(svc, "SELECT codec, count() FROM default.\(t) GROUP BY codec ORDER BY codec FORMAT TSV")
                == codecs.sorted().map { "\($0)\t200" }.joined(separator: "\n") + "\n")
    }
}
