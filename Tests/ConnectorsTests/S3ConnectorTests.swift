import Foundation
import KafkaWire
import PipeTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// s3.Sink and s3.Backup through the real `kafka-pipe` binary, with tansu, moto and kcat
/// (issue #12). Workload sizes scale with `KP_S3_CRASH_RECORDS` (sink crash test, default 1,000,000, the size)
/// and `KP_S3_BACKUP_ROWS` (rows per object in the backup crash test, default 2,000 × 20 objects).
@Suite(.serialized) struct S3ConnectorTests {
    /// Waits until the objects under `prefix` hold `count` rows (or `seconds` pass); returns the dump.
    static func waitForRows(_ svc: S3T.Services, endpoint: String? = nil, bucket: String, prefix: String, count: Int,
                            seconds: Double = 90, while process: BackgroundProcess? = nil) async throws -> S3T.Dump {
        let deadline = Date().addingTimeInterval(seconds)
        var d = S3T.Dump()
        while Date() < deadline {
            d = try await S3T.dump(svc, endpoint: endpoint, bucket: bucket, prefix: prefix)
            if d.rows.values.reduce(0, { $0 + $1.count }) >= count { return d }
            if let process, !process.isRunning { return d }
            try await Task.sleep(for: .milliseconds(700))
        }
        return d
    }

    /// Every (partition, offset) exactly once, `count` in all.
    static func expectExactlyOnce(_ rows: [String: [Int64]], count: Int, _ what: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) {
        var total = 0
        var duplicates = 0
        for (_, offsets) in rows {
            total += offsets.count
            duplicates += offsets.count - Set(offsets).count
        }
        #expect(total == count, "\(what): \(total) rows stored, \(count) expected", sourceLocation: sourceLocation)
        #expect(duplicates == 0, "\(what): \(duplicates) rows stored twice", sourceLocation: sourceLocation)
    }

    // MARK: round trip

    @Test func roundTripKeepsKeysValuesHeadersTimestampsAndPartitions() async throws {
        guard let svc = S3T.services() else { return }
        guard let tansu = try await PrivateTansu() else { return }
        defer { tansu.stop() }
        let topic = S3T.uniqueName("rt"), bucket = S3T.uniqueName("kp-rt")
        try await S3T.tool(svc, ["mkbucket", bucket])
        let kcat = "'\(svc.kcat)' -b \(svc.kafka) -P -t \(topic) -K: -Z"
        let hourOfFirst = Int(Date().timeIntervalSince1970) / 3600
        // Binary values and keys, null keys and values, headers with null and non-UTF-8 values.
        let produced = try await Run.shell("""
            set -e
            printf 'k1:v1\\nk2:\\377\\376\\000bin\\n:nullkey\\nk4:\\n\\301\\302:binkey\\n' | \(kcat) -H h1=a -H h2
            printf 'k5:{"json":"\\\\u00e9 \\303\\251"}\\nk6:line\\n' | \(kcat) $'-Hhb=\\xc3\\x28' -H e=
            seq 1 300 | awk '{print "key" $1 ":value-" $1}' | \(kcat) -H n=1 -H n=2
            """)
        #expect(produced.status == 0, "kcat: \(produced.stderr)")
        let extra = 3
        let total = 5 + 2 + 300 + extra

        let dir = try S3T.tempDir()
        let port = try await S3T.freePort()
        let sink = try BackgroundProcess.pipe(S3T.sinkYAML(name: "rt-sink", svc: svc, bucket: bucket, topic: topic,
                                                           group: "g-" + topic, listen: "127.0.0.1:\(port)"), in: dir)
        defer { sink.killNow() }
        let firstDump = try await Self.waitForRows(svc, bucket: bucket, prefix: topic + "/", count: total - extra, while: sink)
        // /metrics once the first records are stored: records in and out, every partition's lag 0.
        let m1 = await MetricsScrape.waitFor(port: port, "kafka_pipe_records_out_total", atLeast: Double(total - extra))
        #expect(MetricsScrape.value(m1, "kafka_pipe_records_in_total") == Double(total - extra), "metrics: \(m1)")
        #expect(MetricsScrape.value(m1, "kafka_pipe_records_out_total") == Double(total - extra))
        #expect((MetricsScrape.value(m1, "kafka_pipe_bytes_in_total") ?? 0) > 0)
        #expect((MetricsScrape.value(m1, "kafka_pipe_bytes_out_total") ?? 0) > 0)
        #expect((MetricsScrape.value(m1, "kafka_pipe_batch_latency_seconds_count") ?? 0) >= 1)
        #expect(MetricsScrape.value(m1, "kafka_pipe_errors_total{kind=\"s3\"}") == 0)
        let lags = m1.split(separator: "\n").filter { $0.hasPrefix("kafka_pipe_lag{") && $0.contains("topic=\"\(topic)\"") }
        #expect(!lags.isEmpty && lags.allSatisfy { $0.hasSuffix("} 0") }, "lags: \(lags)")
        // A few more records into partition 0: appended to its newest object (a merge writes the
        // old key into the state store and removes it again).
        let more = try await Run.shell("printf 'm1:x\\nm2:y\\nm3:z\\n' | \(kcat) -p 0")
        #expect(more.status == 0, "kcat: \(more.stderr)")
        let merges = Int(Date().timeIntervalSince1970) / 3600 == hourOfFirst && firstDump.rows["\(topic)/0"] != nil
        let dump = try await Self.waitForRows(svc, bucket: bucket, prefix: topic + "/", count: total, while: sink)
        let m2 = await MetricsScrape.waitFor(port: port, "kafka_pipe_records_out_total", atLeast: Double(total))
        #expect(MetricsScrape.value(m2, "kafka_pipe_records_in_total") == Double(total), "metrics: \(m2)")
        #expect(MetricsScrape.value(m2, "kafka_pipe_records_out_total") == Double(total))
        if merges {
            let writes = (MetricsScrape.value(m2, "kafka_pipe_state_store_writes_total") ?? 0)
                - (MetricsScrape.value(m1, "kafka_pipe_state_store_writes_total") ?? 0)
            #expect(writes == 2, "the merge's pending key written and removed: \(m2)")
        }
        #expect(MetricsScrape.value(m2, "kafka_pipe_lag{partition=\"0\",topic=\"\(topic)\"}") == 0)
        #expect(await sink.stop(SIGTERM) == 0, "sink output: \(sink.output)")
        Self.expectExactlyOnce(dump.rows, count: total, "s3.Sink")
        #expect(dump.countsMatch, "x-amz-meta-count differs from the line count")
        #expect(dump.objects > 0)
        // Format details (SPEC §6), as json.loads read them back.
        #expect(dump.lines.contains { $0.contains("\"key\": null") && $0.contains("\"value\": \"nullkey\"") })
        #expect(dump.lines.contains { $0.contains("\"key\": \"k4\"") && $0.contains("\"value\": null") })
        #expect(dump.lines.contains { $0.contains("\"value_b64\": \"//4AYmlu\"") })
        #expect(dump.lines.contains { $0.contains("\"key_b64\": \"wcI=\"") })
        #expect(dump.lines.contains { $0.contains("{\"key\": \"hb\", \"value_b64\": \"wyg=\"}") })
        #expect(dump.lines.contains { $0.contains("{\"key\": \"h2\", \"value\": null}") })

        // Restore into a fresh broker, then compare every record partition by partition.
        let backup = try await S3T.runPipe(S3T.backupYAML(name: "rt-backup", svc: svc, broker: tansu.broker, bucket: bucket,
                                                          topics: [topic]), in: dir, file: "backup.yaml")
        #expect(backup.status == 0, "backup: \(backup.stdout) \(backup.stderr)")
        let partitions = try await S3T.partitionCount(svc, broker: svc.kafka, topic: topic)
        #expect(partitions > 0)
        let source = try await S3T.readTopic(svc, broker: svc.kafka, topic: topic, partitions: partitions)
        let restored = try await S3T.readTopic(svc, broker: tansu.broker, topic: topic, partitions: partitions)
        #expect(try await S3T.countRecords(svc, broker: tansu.broker, topic: topic).count == total)
        for p in 0..<partitions {
            #expect(source[p] == restored[p], "partition \(p): records differ after the round trip")
        }
        // A second run of the same range restores nothing again.
        let again = try await S3T.runPipe(S3T.backupYAML(name: "rt-backup", svc: svc, broker: tansu.broker, bucket: bucket,
                                                         topics: [topic]), in: dir, file: "backup.yaml")
        #expect(again.status == 0)
        let after = try await S3T.readTopic(svc, broker: tansu.broker, topic: topic, partitions: partitions)
        #expect(after == restored, "a rerun wrote records again")
    }

    // MARK: old format, ranges, partitions

    @Test func restoresOldFormatAndOnlyTheDateRangeThenTheRest() async throws {
        guard let svc = S3T.services() else { return }
        let topic = S3T.uniqueName("old"), bucket = S3T.uniqueName("kp-old")
        try await S3T.tool(svc, ["mkbucket", bucket])
        // 2 partitions × 3 objects (one per day, 2024-01-01..03) × 4 rows, old tool's format.
        try await S3T.tool(svc, ["put", bucket, topic, "2", "3", "4", "old"])
        let dir = try S3T.tempDir()
        let first = try await S3T.runPipe(S3T.backupYAML(name: "old-backup", svc: svc, broker: svc.kafka, bucket: bucket, topics: [topic],
                                                         since: "2024-01-01 00:00:00", to: "2024-01-02 23:59:59"), in: dir)
        #expect(first.status == 0, "\(first.stdout) \(first.stderr)")
        var values = try await S3T.countRecords(svc, broker: svc.kafka, topic: topic)
        #expect(values.count == 16, "first range: two objects of four rows in two partitions")
        let second = try await S3T.runPipe(S3T.backupYAML(name: "old-backup", svc: svc, broker: svc.kafka, bucket: bucket, topics: [topic]),
                                           in: dir)
        #expect(second.status == 0, "\(second.stdout) \(second.stderr)")
        values = try await S3T.countRecords(svc, broker: svc.kafka, topic: topic)
        #expect(values.count == 24)
        #expect(Set(values).count == 24, "a record was restored twice")
        for p in 0..<2 {
            let r = try await Run.shell("'\(svc.kcat)' -b \(svc.kafka) -C -t \(topic) -p \(p) -o beginning -e -q -f '%k|%s|%h\\n' 2>/dev/null")
            let expected = (0..<12).map { "k\($0)|\(p)-\($0)|h=v\($0)" }
            #expect(r.stdout.split(separator: "\n").map(String.init) == expected, "partition \(p) in offset order")
        }
    }

    @Test func backupRefusesATopicWithTooFewPartitionsBeforeWriting() async throws {
        guard let svc = S3T.services() else { return }
        let topic = S3T.uniqueName("few"), bucket = S3T.uniqueName("kp-few")
        try await S3T.tool(svc, ["mkbucket", bucket])
        try await S3T.tool(svc, ["put", bucket, topic, "3", "1", "2"])
        let cluster = KafkaCluster(configuration: try KafkaClientConfiguration(bootstrapServers: svc.kafka))
        try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: 1)])
        await cluster.shutdown()
        let dir = try S3T.tempDir()
        let r = try await S3T.runPipe(S3T.backupYAML(name: "few-backup", svc: svc, broker: svc.kafka, bucket: bucket, topics: [topic]), in: dir)
        #expect(r.status == 1)
        #expect((r.stdout + r.stderr).contains("has 1 partitions"), "\(r.stdout) \(r.stderr)")
        let values = try await S3T.countRecords(svc, broker: svc.kafka, topic: topic)
        #expect(values.isEmpty, "nothing may be written before the check")
    }

    // MARK: crash safety

    @Test func sinkKilledAtRandomMomentsStoresEveryRecordOnce() async throws {
        guard let svc = S3T.services() else { return }
        let n = Int(TestEnv.value("KP_S3_CRASH_RECORDS") ?? "") ?? 1_000_000
        let topic = S3T.uniqueName("crash"), bucket = S3T.uniqueName("kp-crash")
        try await S3T.tool(svc, ["mkbucket", bucket])
        let produced = try await Run.shell("""
            seq 1 \(n) | awk '{print "key" $1 ":value-" $1 "-padding-padding-padding-padding-padding-padding"}' \
            | '\(svc.kcat)' -b \(svc.kafka) -P -t \(topic) -K: -H h=x
            """, timeout: 300)
        #expect(produced.status == 0, "kcat: \(produced.stderr)")
        let dir = try S3T.tempDir()
        let yaml = S3T.sinkYAML(name: "crash-sink", svc: svc, bucket: bucket, topic: topic, group: "g-" + topic,
                                batchSize: max(200, n / 40), timeout: "300ms")
        var kills = 0
        for _ in 0..<3 {
            let sink = try BackgroundProcess.pipe(yaml, in: dir)
            defer { sink.killNow() }
            // Let it join the group and store a little, then kill it somewhere in the middle.
            try await Task.sleep(for: .milliseconds(Int.random(in: 2500...6000)))
            if sink.isRunning { kills += 1 }
            _ = await sink.stop(SIGKILL)
        }
        #expect(kills == 3)
        let sink = try BackgroundProcess.pipe(yaml, in: dir)
        defer { sink.killNow() }
        let dump = try await Self.waitForRows(svc, bucket: bucket, prefix: topic + "/", count: n, seconds: 300, while: sink)
        try await Task.sleep(for: .seconds(1))
        let final = try await S3T.dump(svc, bucket: bucket, prefix: topic + "/")
        #expect(await sink.stop(SIGTERM) == 0, "sink output: \(sink.output.suffix(2000))")
        #expect(dump.objects > 0)
        Self.expectExactlyOnce(final.rows, count: n, "after \(kills) kills")
        #expect(final.countsMatch)
    }

    @Test func backupKilledHalfwayRestoresEveryRecordOnce() async throws {
        guard let svc = S3T.services() else { return }
        let rows = Int(TestEnv.value("KP_S3_BACKUP_ROWS") ?? "") ?? 2000
        let topic = S3T.uniqueName("bcrash"), bucket = S3T.uniqueName("kp-bcrash")
        try await S3T.tool(svc, ["mkbucket", bucket])
        try await S3T.tool(svc, ["put", bucket, topic, "2", "10", "\(rows)"], timeout: 300)
        let total = 2 * 10 * rows
        let dir = try S3T.tempDir()
        let port = try await S3T.freePort()
        let yaml = S3T.backupYAML(name: "bcrash", svc: svc, broker: svc.kafka, bucket: bucket, topics: [topic],
                                  listen: "127.0.0.1:\(port)")
        let first = try BackgroundProcess.pipe(yaml, in: dir)
        defer { first.killNow() }
        // Kill it once it has written something, before it is done.
        var written = 0
        for _ in 0..<400 {
            let r = try await Run.shell("'\(svc.kcat)' -b \(svc.kafka) -C -t \(topic) -p 0 -o beginning -e -q -f '.' 2>/dev/null | wc -c")
            written = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            if written > rows / 2 || !first.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        // /metrics half-way: an object read, its position written, no more acknowledged than read.
        let metrics = await MetricsScrape.text(port: port)
        let wasRunning = first.isRunning
        _ = await first.stop(SIGKILL)
        if wasRunning {
            let recordsIn = MetricsScrape.value(metrics, "kafka_pipe_records_in_total") ?? -1
            #expect(recordsIn >= Double(rows), "metrics: \(metrics)")
            #expect((MetricsScrape.value(metrics, "kafka_pipe_bytes_in_total") ?? 0) > 0)
            #expect((MetricsScrape.value(metrics, "kafka_pipe_records_out_total") ?? -1) <= recordsIn)
            #expect((MetricsScrape.value(metrics, "kafka_pipe_state_store_writes_total") ?? 0) >= 1)
        }
        #expect(wasRunning, "the backup finished before it could be killed; raise KP_S3_BACKUP_ROWS")
        let values = try await S3T.countRecords(svc, broker: svc.kafka, topic: topic)
        #expect(values.count < total)
        let second = try await S3T.runPipe(yaml, in: dir, timeout: 300)
        #expect(second.status == 0, "\(second.stdout.suffix(2000)) \(second.stderr)")
        let all = try await S3T.countRecords(svc, broker: svc.kafka, topic: topic)
        #expect(all.count == total, "\(all.count) records restored, \(total) expected")
        #expect(Set(all).count == all.count, "\(all.count - Set(all).count) records restored twice")
    }

    // MARK: S3 outage

    @Test func sinkWaitsForS3AndLosesNothing() async throws {
        guard let svc = S3T.services() else { return }
        let moto = try await PrivateMoto(svc: svc)
        try await moto.start()
        defer { Task { await moto.stop() } }
        let topic = S3T.uniqueName("outage"), bucket = S3T.uniqueName("kp-outage")
        try await S3T.tool(svc, endpoint: moto.endpoint, ["mkbucket", bucket])
        func produce(_ from: Int, _ to: Int) async throws {
            let r = try await Run.shell("seq \(from) \(to) | awk '{print \"key\" $1 \":value-\" $1}' | '\(svc.kcat)' -b \(svc.kafka) -P -t \(topic) -K:")
            #expect(r.status == 0, "kcat: \(r.stderr)")
        }
        try await produce(1, 300)
        let dir = try S3T.tempDir()
        let sink = try BackgroundProcess.pipe(S3T.sinkYAML(name: "outage-sink", svc: svc, endpoint: moto.endpoint, bucket: bucket,
                                                           topic: topic, group: "g-" + topic, timeout: "300ms"), in: dir)
        defer { sink.killNow() }
        let before = try await Self.waitForRows(svc, endpoint: moto.endpoint, bucket: bucket, prefix: topic + "/", count: 300, while: sink)
        Self.expectExactlyOnce(before.rows, count: 300, "before the outage")

        // S3 goes away while new records arrive; moto keeps its data in memory, so the restarted
        // one is empty: what was stored before is kept in `before`.
        await moto.stop()
        try await produce(301, 600)
        try await Task.sleep(for: .seconds(4))
        #expect(sink.isRunning, "the sink gave up while S3 was down: \(sink.output.suffix(2000))")
        #expect(sink.output.contains("retrying"))
        try await moto.start()
        try await S3T.tool(svc, endpoint: moto.endpoint, ["mkbucket", bucket])
        let after = try await Self.waitForRows(svc, endpoint: moto.endpoint, bucket: bucket, prefix: topic + "/", count: 300, while: sink)
        #expect(await sink.stop(SIGTERM) == 0, "sink output: \(sink.output.suffix(2000))")
        var union = before.rows
        for (tp, offsets) in after.rows { union[tp, default: []] += offsets }
        Self.expectExactlyOnce(union, count: 600, "across the outage")
    }
}
