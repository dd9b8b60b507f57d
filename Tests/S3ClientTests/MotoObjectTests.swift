import PipeAuth
import PipeTestSupport
import Testing
@testable import S3Client

/// Single-object operations against moto with signature checking on.
@Suite struct MotoObjectTests {
    @Test func putGetHeadWithMetadata() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "ops")
        try await s3.headBucket(bucket)

        let body: [UInt8] = Moto.bytes("hello, s3")
        let metadata: [String: String] = ["owner": "pipe", "n": "1"]
        let etag: String? = try await s3.putObject(bucket: bucket, key: "dir/a.txt", body: body, contentType: "text/plain",
                                                   contentEncoding: "identity", metadata: metadata)
        let md5: String = "\"" + Hex.encode(Digest.md5.hash(body)) + "\""
        #expect(etag == md5)

        let (info, got) = try await s3.getObject(bucket: bucket, key: "dir/a.txt")
        #expect(got == body)
        #expect(info.contentType == "text/plain")
        #expect(info.metadata == metadata)
        #expect(info.etag == md5)

        let head: S3Client.ObjectInfo = try await s3.headObject(bucket: bucket, key: "dir/a.txt")
        #expect(head.size == Int64(body.count))
        #expect(head.etag == md5)
        #expect(head.contentEncoding == "identity")
        #expect(head.metadata == metadata)
        await s3.shutdown()
    }

    @Test func rangesAndStreamingGet() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "range")
        let body: [UInt8] = Moto.bytes("hello, s3")
        try await s3.putObject(bucket: bucket, key: "r", body: body)

        let (rinfo, first) = try await s3.getObject(bucket: bucket, key: "r", range: .bytes(0, 4))
        #expect(first == Moto.bytes("hello"))
        #expect(rinfo.contentRange?.hasPrefix("bytes 0-4/9") == true)
        let suffix: [UInt8] = try await s3.getObject(bucket: bucket, key: "r", range: .suffix(2)).1
        #expect(suffix == Moto.bytes("s3"))
        let from: [UInt8] = try await s3.getObject(bucket: bucket, key: "r", range: .from(7)).1
        #expect(from == Moto.bytes("s3"))

        // Streaming get, whole and ranged.
        let collected = LockedBytes()
        let sinfo = try await s3.getObject(bucket: bucket, key: "r", range: nil) { collected.append($0) }
        #expect(collected.bytes == body)
        #expect(sinfo.size == Int64(body.count))
        let part = LockedBytes()
        _ = try await s3.getObject(bucket: bucket, key: "r", range: .bytes(7, 8)) { part.append($0) }
        #expect(part.bytes == Moto.bytes("s3"))

        // A streaming get of a missing key reports S3's error and sends nothing to the sink.
        let nothing = LockedBytes()
        let error = await Moto.error("streaming get of a missing key") { () async throws(S3Error) in
            try await s3.getObject(bucket: bucket, key: "missing") { nothing.append($0) }
        }
        #expect(error?.s3Code == "NoSuchKey")
        #expect(nothing.bytes.isEmpty)
        await s3.shutdown()
    }

    @Test func conditionalPut() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "cond")
        try await s3.putObject(bucket: bucket, key: "k", body: [1], ifNoneMatch: "*")
        let error = await Moto.error("If-None-Match: * over an existing key") { () async throws(S3Error) in
            try await s3.putObject(bucket: bucket, key: "k", body: [2], ifNoneMatch: "*")
        }
        #expect(error?.status == 412)
        #expect(error?.s3Code == "PreconditionFailed")
        let kept: [UInt8] = try await s3.getObject(bucket: bucket, key: "k").1
        #expect(kept == [1])
        await s3.shutdown()
    }

    @Test func copyObject() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "copy")
        let other = try await Moto.newBucket(s3, "copy2")
        let body: [UInt8] = Moto.pattern(count: 1000, seed: 5)
        try await s3.putObject(bucket: bucket, key: "src/a b", body: body, metadata: ["m": "v"])
        let etag: String? = try await s3.copyObject(sourceBucket: bucket, sourceKey: "src/a b", bucket: other, key: "dst/c+d")
        #expect(etag == "\"" + Hex.encode(Digest.md5.hash(body)) + "\"")
        let (info, got) = try await s3.getObject(bucket: other, key: "dst/c+d")
        #expect(got == body)
        #expect(info.metadata["m"] == "v")

        let error = await Moto.error("copy of a missing key") { () async throws(S3Error) in
            try await s3.copyObject(sourceBucket: bucket, sourceKey: "missing", bucket: other, key: "x")
        }
        #expect(error?.s3Code == "NoSuchKey")
        await s3.shutdown()
    }

    @Test func missingObjectsAndBuckets() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "miss")
        let get = await Moto.error("get of a missing key") { () async throws(S3Error) in
            try await s3.getObject(bucket: bucket, key: "nope")
        }
        #expect(get?.s3Code == "NoSuchKey")
        #expect(get?.status == 404)
        #expect(get?.key == "nope")
        #expect(get?.requestID != nil)
        let head = await Moto.error("head of a missing key") { () async throws(S3Error) in
            try await s3.headObject(bucket: bucket, key: "nope")
        }
        #expect(head?.status == 404)
        let noBucket = Moto.bucket("none")
        let headBucket = await Moto.error("head of a missing bucket") { () async throws(S3Error) in
            try await s3.headBucket(noBucket)
        }
        #expect(headBucket?.status == 404)
        let put = await Moto.error("put into a missing bucket") { () async throws(S3Error) in
            try await s3.putObject(bucket: noBucket, key: "k", body: [1])
        }
        #expect(put?.s3Code == "NoSuchBucket")
        await s3.shutdown()
    }

    @Test func deleteObjectsAndBucket() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "del")
        for k in ["a", "b", "c/d", "e f"] { try await s3.putObject(bucket: bucket, key: k, body: Moto.bytes(k)) }
        try await s3.deleteObject(bucket: bucket, key: "a")
        try await s3.deleteObject(bucket: bucket, key: "never-there")   // S3 deletes are idempotent
        let failures: [S3Client.DeleteFailure] = try await s3.deleteObjects(bucket: bucket, keys: ["b", "c/d", "e f"])
        #expect(failures.isEmpty)
        let left: [S3Client.ObjectSummary] = try await s3.listAll(bucket: bucket)
        #expect(left.isEmpty)

        // More than 1000 keys are split over several requests.
        let many: [String] = (0..<1005).map { "k\($0)" }
        let manyFailures: [S3Client.DeleteFailure] = try await s3.deleteObjects(bucket: bucket, keys: many)
        #expect(manyFailures.isEmpty)

        try await s3.deleteBucket(bucket)
        let error = await Moto.error("head of a deleted bucket") { () async throws(S3Error) in
            try await s3.headBucket(bucket)
        }
        #expect(error?.status == 404)
        await s3.shutdown()
    }
}
