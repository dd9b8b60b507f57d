import Connectors
import Foundation
import PipeTestSupport
import Storage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// s3.Sink's record of a merge in progress (`pending-delete/{old key}`, SPEC §6 merge rule): on the
/// next start the old object is deleted when its replacement (same first offset, larger last) is in
/// the bucket, kept when it is not (the merge never uploaded), and the entry goes either way.
@Suite(.serialized) struct S3SinkPendingDeleteTests {
    @Test func pendingDeletesAreFinishedOnStart() async throws {
        guard let svc = S3T.services() else { return }
        let bucket = S3T.uniqueName("kp-pend"), merged = S3T.uniqueName("merged"), unfinished = S3T.uniqueName("unfinished")
        try await S3T.tool(svc, ["mkbucket", bucket])
        // `merged`: the old object (offsets 0-9) and its replacement (0-14); `unfinished`: the old one only.
        try await S3T.tool(svc, ["put", bucket, merged, "1", "1", "10"])
        try await S3T.tool(svc, ["put", bucket, merged, "1", "1", "15"])
        try await S3T.tool(svc, ["put", bucket, unfinished, "1", "1", "10"])
        func key(_ topic: String, _ last: Int) -> String {
            "\(topic)/2024-01-01 10:00:00/0/\(String(repeating: "0", count: 18))-\(String(repeating: "0", count: 18 - String(last).count))\(last).gz"
        }
        let oldMerged = key(merged, 9), newMerged = key(merged, 14), oldUnfinished = key(unfinished, 9)
        #expect(S3ObjectKey(parsing: oldMerged) != nil && S3ObjectKey(parsing: newMerged) != nil)
        let before = try await S3T.dump(svc, bucket: bucket)
        #expect(before.objects == 3, "objects put: \(before.objects)")

        let dir = try S3T.tempDir()
        let store = try StateStore.open(directory: dir.appendingPathComponent("data").path)
        let ns = store.namespace("pend-sink")
        try ns.putSync("pending-delete/" + oldMerged, string: newMerged)
        try ns.putSync("pending-delete/" + oldUnfinished, string: key(unfinished, 19))
        try store.close()

        let topic = S3T.uniqueName("pend-in")
        let produced = try await Run.shell("echo one | '\(svc.kcat)' -b \(svc.kafka) -P -t \(topic)")
        #expect(produced.status == 0, "kcat: \(produced.stderr)")
        let sink = try BackgroundProcess.pipe(S3T.sinkYAML(name: "pend-sink", svc: svc, bucket: bucket, topic: topic,
                                                           group: "g-" + topic), in: dir)
        defer { sink.killNow() }
        // Pending deletes are done before the sink consumes: once its record is stored, they are.
        let stored = try await S3ConnectorTests.waitForRows(svc, bucket: bucket, prefix: topic + "/", count: 1, while: sink)
        #expect(stored.rows.values.reduce(0) { $0 + $1.count } == 1, "\(sink.output)")
        #expect(await sink.stop(SIGTERM) == 0, "\(sink.output)")
        #expect(sink.output.contains("deleted an object replaced by a merge"), "\(sink.output)")
        #expect(sink.output.contains("a merge did not finish; its old object stays"), "\(sink.output)")

        let after = try await S3T.dump(svc, bucket: bucket)
        #expect(after.rows["\(merged)/0"] == Array(0...14), "the replacement alone holds offsets 0-14: \(after.rows["\(merged)/0"] ?? [])")
        #expect(after.rows["\(unfinished)/0"] == Array(0...9), "the unfinished merge's object is kept")
        let reopened = try StateStore.open(directory: dir.appendingPathComponent("data").path)
        #expect(reopened.namespace("pend-sink").scan(prefix: "pending-delete/").isEmpty, "pending entries left behind")
        try reopened.close()
    }
}

/// The merge rule's size bound (SPEC §6): records are appended to the partition's newest object of
/// the time bucket while it is at most 5 MiB; past that a new object starts.
@Suite(.serialized) struct S3SinkMergeLimitTests {
    @Test func objectsPastFiveMiBAreNotMergedInto() async throws {
        guard let svc = S3T.services() else { return }
        let topic = S3T.uniqueName("mlimit"), bucket = S3T.uniqueName("kp-mlimit")
        try await S3T.tool(svc, ["mkbucket", bucket])
        // 88 records of 96 KiB random base64 text: about 6.2 MiB once gzip'd (base64 gzips to about 3/4).
        let produce = """
            python3 -c 'import base64,os
            for i in range(88): print(base64.b64encode(os.urandom(73728)).decode())' | '\(svc.kcat)' -b \(svc.kafka) -P -t \(topic) -p 0
            """
        let big = try await Run.shell(produce)
        #expect(big.status == 0, "kcat: \(big.stderr)")
        let dir = try S3T.tempDir()
        let sink = try BackgroundProcess.pipe(S3T.sinkYAML(name: "mlimit-sink", svc: svc, bucket: bucket, topic: topic,
                                                           group: "g-" + topic, timeout: "2s"), in: dir)
        defer { sink.killNow() }
        let first = try await S3ConnectorTests.waitForRows(svc, bucket: bucket, prefix: topic + "/", count: 88, while: sink)
        #expect(first.objects == 1, "the 88 records were one batch: \(first.objects) objects")
        let listed = try await S3T.tool(svc, ["sizes", bucket, topic + "/"])
        let sizes = listed.split(separator: "\n").compactMap { Int($0.split(separator: " ").last ?? "") }
        #expect(sizes.count == 1 && sizes[0] > 5 << 20, "object sizes: \(sizes)")

        // Three small records: a new object, the big one untouched.
        let small = try await Run.shell("printf 'a\\nb\\nc\\n' | '\(svc.kcat)' -b \(svc.kafka) -P -t \(topic) -p 0")
        #expect(small.status == 0, "kcat: \(small.stderr)")
        let after = try await S3ConnectorTests.waitForRows(svc, bucket: bucket, prefix: topic + "/", count: 91, while: sink)
        #expect(await sink.stop(SIGTERM) == 0, "\(sink.output)")
        #expect(after.objects == 2, "objects: \(after.objects)")
        S3ConnectorTests.expectExactlyOnce(after.rows, count: 91, "past the merge limit")
        let keys = try await S3T.tool(svc, ["sizes", bucket, topic + "/"])
        #expect(keys.contains("000000000000000000-000000000000000087.gz") && keys.contains("000000000000000088-000000000000000090.gz"),
                "keys: \(keys)")
    }
}
