import Foundation
import PipeAuth
import PipeTestSupport
import Testing
@testable import S3Client

/// Every operation against moto with signature checking on (KP_S3, KP_S3_KEY, KP_S3_SECRET, KP_S3_REGION).
enum Moto {
    struct Env {
        var url: String
        var key: String
        var secret: String
        var region: String
    }

    static func env() -> Env? {
        guard let url = TestEnv.require("KP_S3", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return nil }
        return Env(url: url, key: TestEnv.value("KP_S3_KEY") ?? "AKIATESTKEY000000001",
                   secret: TestEnv.value("KP_S3_SECRET") ?? "testsecret-0123456789",
                   region: TestEnv.value("KP_S3_REGION") ?? "us-east-1")
    }

    static func client(_ env: Env, key: String? = nil, secret: String? = nil, partSize: Int = 5 << 20,
                       threshold: Int = 16 << 20, addressing: S3Client.Addressing = .path) throws -> S3Client {
        let endpoint = try #require(S3Client.Endpoint(url: env.url))
        return S3Client(configuration: .init(
            endpoint: endpoint, region: env.region,
            credentials: AWSCredentials(accessKeyID: key ?? env.key, secretAccessKey: secret ?? env.secret),
            addressing: addressing, multipartThreshold: threshold, partSize: partSize, maxRetries: 2))
    }

    /// A fresh bucket name (S3 rules: lower case, digits, hyphens).
    static func bucket(_ prefix: String) -> String {
        TestEnv.unique("kp-\(prefix)").lowercased().replacingOccurrences(of: "_", with: "-")
    }

    static func python(_ env: Env, _ script: String, _ args: [String]) async throws -> ProcessResult {
        let header = """
        import sys, boto3
        from botocore.config import Config
        s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
                          aws_secret_access_key=sys.argv[3], region_name=sys.argv[4],
                          config=Config(s3={'addressing_style': 'path'}))

        """
        return try await Run.program("/usr/bin/env", ["python3", "-c", header + script,
                                                      env.url, env.key, env.secret, env.region] + args)
    }
}

@Suite struct MotoTests {
    @Test func bucketsAndObjects() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        defer { Task { await s3.shutdown() } }
        let bucket = Moto.bucket("ops")
        try await s3.createBucket(bucket)
        try await s3.headBucket(bucket)

        let body = Array("hello, s3".utf8)
        let etag = try await s3.putObject(bucket: bucket, key: "dir/a.txt", body: body, contentType: "text/plain",
                                          contentEncoding: "identity", metadata: ["owner": "pipe", "n": "1"])
        #expect(etag == "\"\(Hex.encode(Digest.md5.hash(body)))\"")
        let (info, got) = try await s3.getObject(bucket: bucket, key: "dir/a.txt")
        #expect(got == body)
        #expect(info.contentType == "text/plain")
        #expect(info.metadata == ["owner": "pipe", "n": "1"])
        let head = try await s3.headObject(bucket: bucket, key: "dir/a.txt")
        #expect(head.size == Int64(body.count))
        #expect(head.etag == etag)
        #expect(head.contentEncoding == "identity")

        // ranges
        let (rinfo, part) = try await s3.getObject(bucket: bucket, key: "dir/a.txt", range: .bytes(0, 4))
        #expect(part == Array("hello".utf8))
        #expect(rinfo.contentRange?.hasPrefix("bytes 0-4/") == true)
        #expect(try await s3.getObject(bucket: bucket, key: "dir/a.txt", range: .suffix(2)).1 == Array("s3".utf8))
        #expect(try await s3.getObject(bucket: bucket, key: "dir/a.txt", range: .from(7)).1 == Array("s3".utf8))

        // streaming get
        let collected = LockedBytes()
        let sinfo = try await s3.getObject(bucket: bucket, key: "dir/a.txt", range: nil) { collected.append($0.readableBytesView) }
        #expect(collected.bytes == body)
        #expect(sinfo.etag == etag)

        // conditional put
        do throws(S3Error) {
            try await s3.putObject(bucket: bucket, key: "dir/a.txt", body: [1], ifNoneMatch: "*")
            Issue.record("If-None-Match: * over an existing key succeeded")
        } catch {
            #expect(error.status == 412)
            #expect(error.s3Code == "PreconditionFailed")
        }
        try await s3.putObject(bucket: bucket, key: "dir/new.txt", body: [1], ifNoneMatch: "*")

        // copy
        try await s3.copyObject(sourceBucket: bucket, sourceKey: "dir/a.txt", bucket: bucket, key: "copy/a.txt")
        #expect(try await s3.getObject(bucket: bucket, key: "copy/a.txt").1 == body)

        // missing key
        do throws(S3Error) {
            _ = try await s3.getObject(bucket: bucket, key: "nope")
            Issue.record("expected NoSuchKey")
        } catch {
            #expect(error.s3Code == "NoSuchKey")
            #expect(error.status == 404)
        }
        do throws(S3Error) {
            _ = try await s3.headObject(bucket: bucket, key: "nope")
            Issue.record("expected 404")
        } catch {
            #expect(error.status == 404)
        }

        // delete
        try await s3.deleteObject(bucket: bucket, key: "dir/new.txt")
        let failures = try await s3.deleteObjects(bucket: bucket, keys: ["copy/a.txt", "dir/a.txt"])
        #expect(failures.isEmpty)
        #expect(try await s3.listAll(bucket: bucket).isEmpty)
        try await s3.deleteBucket(bucket)
        do throws(S3Error) {
            try await s3.headBucket(bucket)
            Issue.record("deleted bucket still there")
        } catch {
            #expect(error.status == 404)
        }
    }

    @Test func listing() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        defer { Task { await s3.shutdown() } }
        let bucket = Moto.bucket("list")
        try await s3.createBucket(bucket)
        let pKeys: [String] = ["p/00", "p/01", "p/02", "p/03", "p/04", "p/05", "p/06"]
        let keys: [String] = pKeys + ["p/sub/x", "p/sub/y", "q/z", "top"]
        for k in keys { try await s3.putObject(bucket: bucket, key: k, body: Array(k.utf8)) }

        #expect(try await s3.listAll(bucket: bucket).map(\.key) == keys.sorted())
        let page = try await s3.listObjectsV2(bucket: bucket, prefix: "p/", delimiter: "/")
        #expect(page.objects.map(\.key) == pKeys)
        #expect(page.commonPrefixes == ["p/sub/"])
        let top = try await s3.listObjectsV2(bucket: bucket, delimiter: "/")
        #expect(top.commonPrefixes == ["p/", "q/"])
        #expect(top.objects.map(\.key) == ["top"])
        let after = try await s3.listObjectsV2(bucket: bucket, startAfter: "p/sub/x")
        #expect(after.objects.map(\.key) == ["p/sub/y", "q/z", "top"])

        // continuation, 3 at a time
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let p = try await s3.listObjectsV2(bucket: bucket, continuationToken: token, maxKeys: 3)
            seen += p.objects.map(\.key)
            token = p.isTruncated ? p.nextContinuationToken : nil
            pages += 1
        } while token != nil && pages < 10
        #expect(seen == keys.sorted())
        #expect(pages == 4)
        #expect(try await s3.listAll(bucket: bucket, prefix: "p/sub/").map(\.size) == [7, 7])
        _ = try await s3.deleteObjects(bucket: bucket, keys: keys)
    }

    @Test func awkwardKeys() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        defer { Task { await s3.shutdown() } }
        let bucket = Moto.bucket("keys")
        try await s3.createBucket(bucket)
        let keys: [String] = ["with space", "plus+equals=percent%25%", "tilde~bang!star*(paren)", "ünïcødé/日本語/😀",
                    "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/deep.txt", "quote'\"&<>", "semi;colon:comma,at@dollar$hash#q?",
                    "dot./..x", "brackets[]{}^|`"]
        for k in keys {
            try await s3.putObject(bucket: bucket, key: k, body: Array(k.utf8))
            #expect(try await s3.getObject(bucket: bucket, key: k).1 == Array(k.utf8), "\(k)")
            #expect(try await s3.headObject(bucket: bucket, key: k).size == Int64(k.utf8.count))
        }
        let listedKeys: [String] = try await s3.listAll(bucket: bucket).map(\.key)
        #expect(Set(listedKeys) == Set(keys))
        #expect(try await s3.listAll(bucket: bucket, prefix: "ünïcødé/").map(\.key) == ["ünïcødé/日本語/😀"])
        let copyKey: String = keys[0] + " copy"
        try await s3.copyObject(sourceBucket: bucket, sourceKey: keys[1], bucket: bucket, key: copyKey)
        let copied: [UInt8] = try await s3.getObject(bucket: bucket, key: copyKey).1
        #expect(copied == Array(keys[1].utf8))
        let allKeys: [String] = keys + [copyKey]
        let deleteFailures = try await s3.deleteObjects(bucket: bucket, keys: allKeys)
        #expect(deleteFailures.isEmpty)
        #expect(try await s3.listAll(bucket: bucket).isEmpty)

        // boto3 sees the same keys we write.
        try await s3.putObject(bucket: bucket, key: keys[3], body: [1, 2, 3])
        let r = try await Moto.python(env, "print(s3.list_objects_v2(Bucket=sys.argv[5])['Contents'][0]['Key'])", [bucket])
        #expect(r.status == 0, "\(r.stderr)")
        let listed: String = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(listed == keys[3])
    }

    @Test func authenticationErrors() async throws {
        guard let env = Moto.env() else { return }
        let good = try Moto.client(env)
        let bucket = Moto.bucket("auth")
        try await good.createBucket(bucket)
        try await good.putObject(bucket: bucket, key: "k", body: [1])
        await good.shutdown()

        let wrongSecret = try Moto.client(env, secret: "not-the-secret-0123")
        do throws(S3Error) {
            _ = try await wrongSecret.getObject(bucket: bucket, key: "k")
            Issue.record("a wrong secret was accepted")
        } catch {
            #expect(error.s3Code == "SignatureDoesNotMatch")
            #expect(error.status == 403)
            #expect(!error.description.contains("not-the-secret-0123"))
            #expect(!error.description.contains(env.secret))
        }
        await wrongSecret.shutdown()

        let unknownKey = try Moto.client(env, key: "AKIAUNKNOWNKEY000000")
        do throws(S3Error) {
            try await unknownKey.putObject(bucket: bucket, key: "k2", body: [1])
            Issue.record("an unknown access key was accepted")
        } catch {
            #expect(error.s3Code == "InvalidAccessKeyId")
            #expect(error.status == 403)
        }
        await unknownKey.shutdown()
    }

    @Test func multipart50MB() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env, partSize: 8 << 20, threshold: 16 << 20)
        defer { Task { await s3.shutdown() } }
        let bucket = Moto.bucket("mpu")
        try await s3.createBucket(bucket)
        var rng = SystemRandomNumberGenerator()
        var body = [UInt8](repeating: 0, count: 50 << 20)
        for i in stride(from: 0, to: body.count, by: 8) {
            withUnsafeBytes(of: rng.next() as UInt64) { b in for j in 0..<8 { body[i + j] = b[j] } }
        }
        let etag = try await s3.upload(bucket: bucket, key: "big/blob.bin", body: body, contentType: "application/octet-stream")
        #expect(etag?.hasSuffix("-7\"") == true, "\(etag ?? "nil")")   // 7 parts of 8 MiB
        let (info, got) = try await s3.getObject(bucket: bucket, key: "big/blob.bin")
        #expect(info.size == Int64(body.count))
        #expect(got == body)
        let (_, tail) = try await s3.getObject(bucket: bucket, key: "big/blob.bin", range: .bytes(Int64(body.count - 10), Int64(body.count - 1)))
        #expect(tail == Array(body.suffix(10)))

        // Small bodies take the single PUT path.
        let small = try await s3.upload(bucket: bucket, key: "small", body: [1, 2, 3])
        #expect(small?.contains("-") == false)

        // Abort leaves nothing behind.
        let id = try await s3.createMultipartUpload(bucket: bucket, key: "aborted")
        _ = try await s3.uploadPart(bucket: bucket, key: "aborted", uploadID: id, partNumber: 1, body: [UInt8](repeating: 7, count: 5 << 20))
        try await s3.abortMultipartUpload(bucket: bucket, key: "aborted", uploadID: id)
        #expect(try await s3.listAll(bucket: bucket, prefix: "aborted").isEmpty)
        _ = try await s3.deleteObjects(bucket: bucket, keys: ["big/blob.bin", "small"])
    }

    @Test func boto3CrossChecks() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        defer { Task { await s3.shutdown() } }
        let bucket = Moto.bucket("boto")
        try await s3.createBucket(bucket)
        var ours = [UInt8](repeating: 0, count: 100_000)
        for i in 0..<ours.count { ours[i] = UInt8(truncatingIfNeeded: i &* 31) }
        try await s3.putObject(bucket: bucket, key: "from swift/ö+1", body: ours, contentType: "application/x-test",
                               metadata: ["who": "swift"])
        let read = try await Moto.python(env, """
        import hashlib
        o = s3.get_object(Bucket=sys.argv[5], Key='from swift/ö+1')
        print(hashlib.sha256(o['Body'].read()).hexdigest(), o['ContentType'], o['Metadata']['who'])
        s3.put_object(Bucket=sys.argv[5], Key='from boto/ä b', Body=bytes(range(256)) * 1000, Metadata={'who': 'boto'})
        """, [bucket])
        #expect(read.status == 0, "\(read.stderr)")
        let expected: String = Hex.encode(Digest.sha256.hash(ours)) + " application/x-test swift"
        let printed: String = read.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(printed == expected)
        let (info, theirs) = try await s3.getObject(bucket: bucket, key: "from boto/ä b")
        var want: [UInt8] = []
        for _ in 0..<1000 { for b in 0..<256 { want.append(UInt8(b)) } }
        #expect(theirs == want)
        #expect(info.metadata["who"] == "boto")
    }

    @Test func virtualHostedAddressingUsesBucketHost() async throws {
        // moto answers virtual-hosted requests when the Host is <bucket>.<endpoint>; the local
        // resolver maps *.localhost to 127.0.0.1, so use localhost as the endpoint host.
        guard let env = Moto.env(), env.url.contains("127.0.0.1") else { return }
        var local = env
        local.url = env.url.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let path = try Moto.client(env)
        let bucket = Moto.bucket("vh")
        try await path.createBucket(bucket)
        await path.shutdown()
        let vh = try Moto.client(local, addressing: .virtualHosted)
        defer { Task { await vh.shutdown() } }
        do throws(S3Error) {
            try await vh.putObject(bucket: bucket, key: "v/k", body: [9, 9])
            let got = try await vh.getObject(bucket: bucket, key: "v/k").1
            #expect(got == [9, 9])
        } catch where error.code == .transport {
            // No resolver entry for <bucket>.localhost on this machine: nothing to check.
            print("skipping virtual-hosted check: \(error)")
        }
    }
}

final class LockedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [UInt8] = []
    func append<C: Collection>(_ c: C) where C.Element == UInt8 { lock.lock(); storage.append(contentsOf: c); lock.unlock() }
    var bytes: [UInt8] { lock.lock(); defer { lock.unlock() }; return storage }
}
