import PipeAuth
import PipeTestSupport
import Testing
@testable import S3Client

/// Multipart upload: automatic for large bodies (50 MB here), explicit parts, abort.
@Suite struct MotoMultipartTests {
    @Test func upload50MB() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env, partSize: 8 << 20, threshold: 16 << 20)
        let bucket = try await Moto.newBucket(s3, "mpu")
        let body: [UInt8] = Moto.pattern(count: 50_000_000, seed: 11)
        let etag: String? = try await s3.upload(bucket: bucket, key: "big/blob.bin", body: body,
                                                contentType: "application/octet-stream", metadata: ["kind": "big"])
        #expect(etag?.hasSuffix("-6\"") == true, "\(etag ?? "nil")")   // 6 parts of 8 MiB, the last shorter

        let head: S3Client.ObjectInfo = try await s3.headObject(bucket: bucket, key: "big/blob.bin")
        #expect(head.size == Int64(body.count))
        #expect(head.metadata["kind"] == "big")
        #expect(head.contentType == "application/octet-stream")

        // Streamed download.
        let streamed = LockedBytes()
        let info = try await s3.getObject(bucket: bucket, key: "big/blob.bin", range: nil) { streamed.append($0) }
        #expect(info.size == Int64(body.count))
        #expect(streamed.bytes == body)

        let last = Int64(body.count - 1)
        let tail: [UInt8] = try await s3.getObject(bucket: bucket, key: "big/blob.bin", range: .bytes(last - 9, last)).1
        #expect(tail == Array(body.suffix(10)))
        // A range across a part boundary.
        let boundary = Int64(8 << 20)
        let across: [UInt8] = try await s3.getObject(bucket: bucket, key: "big/blob.bin", range: .bytes(boundary - 3, boundary + 2)).1
        #expect(across == Array(body[(8 << 20) - 3 ..< (8 << 20) + 3]))
        await s3.shutdown()
    }

    @Test func smallBodiesUseOnePut() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "mpus")
        let small: String? = try await s3.upload(bucket: bucket, key: "small", body: [1, 2, 3])
        #expect(small == "\"" + Hex.encode(Digest.md5.hash([1, 2, 3])) + "\"")
        await s3.shutdown()
    }

    @Test func explicitPartsAndAbort() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "mpux")
        let part1: [UInt8] = Moto.pattern(count: 5 << 20, seed: 3)
        let part2: [UInt8] = Moto.bytes("the end")
        let id: String = try await s3.createMultipartUpload(bucket: bucket, key: "parts/x y", contentType: "text/x-test")
        // Parts may arrive in any order; complete sorts them.
        let e2: String = try await s3.uploadPart(bucket: bucket, key: "parts/x y", uploadID: id, partNumber: 2, body: part2)
        let e1: String = try await s3.uploadPart(bucket: bucket, key: "parts/x y", uploadID: id, partNumber: 1, body: part1)
        let parts: [(partNumber: Int, etag: String)] = [(2, e2), (1, e1)]
        let etag: String? = try await s3.completeMultipartUpload(bucket: bucket, key: "parts/x y", uploadID: id, parts: parts)
        #expect(etag?.hasSuffix("-2\"") == true)
        let (info, got) = try await s3.getObject(bucket: bucket, key: "parts/x y")
        #expect(got == part1 + part2)
        #expect(info.contentType == "text/x-test")

        // Completing with a wrong ETag is S3's InvalidPart, reported even though it may come after a 200 head.
        let id2: String = try await s3.createMultipartUpload(bucket: bucket, key: "bad")
        _ = try await s3.uploadPart(bucket: bucket, key: "bad", uploadID: id2, partNumber: 1, body: [1])
        let bad = await Moto.error("complete with a wrong part ETag") { () async throws(S3Error) in
            try await s3.completeMultipartUpload(bucket: bucket, key: "bad", uploadID: id2, parts: [(1, "\"0123\"")])
        }
        #expect(bad?.s3Code == "InvalidPart")

        // Abort leaves nothing behind; parts of an aborted upload are refused.
        let id3: String = try await s3.createMultipartUpload(bucket: bucket, key: "aborted")
        _ = try await s3.uploadPart(bucket: bucket, key: "aborted", uploadID: id3, partNumber: 1, body: part1)
        try await s3.abortMultipartUpload(bucket: bucket, key: "aborted", uploadID: id3)
        let left: [S3Client.ObjectSummary] = try await s3.listAll(bucket: bucket, prefix: "aborted")
        #expect(left.isEmpty)
        let late = await Moto.error("a part of an aborted upload") { () async throws(S3Error) in
            try await s3.uploadPart(bucket: bucket, key: "aborted", uploadID: id3, partNumber: 2, body: [1])
        }
        // S3 says 404 NoSuchUpload; moto answers 500 (to boto3 as well), which is retried, then reported.
        #expect(late?.s3Code == "NoSuchUpload" || late?.status == 500)
        await s3.shutdown()
    }
}

