import PipeTestSupport
import Testing
@testable import S3Client

/// ListObjectsV2: prefix, delimiter, start-after, continuation.
@Suite struct MotoListTests {
    static let pKeys: [String] = ["p/00", "p/01", "p/02", "p/03", "p/04", "p/05", "p/06"]
    static let keys: [String] = pKeys + ["p/sub/x", "p/sub/y", "q/z", "top"]

    static func filled(_ s3: S3Client) async throws -> String {
        let bucket = try await Moto.newBucket(s3, "list")
        for k in keys { try await s3.putObject(bucket: bucket, key: k, body: Moto.bytes(k)) }
        return bucket
    }

    @Test func prefixDelimiterStartAfter() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Self.filled(s3)
        let all: [String] = try await s3.listAll(bucket: bucket).map(\.key)
        #expect(all == Self.keys.sorted())

        let page: S3Client.ListPage = try await s3.listObjectsV2(bucket: bucket, prefix: "p/", delimiter: "/")
        #expect(page.objects.map(\.key) == Self.pKeys)
        #expect(page.commonPrefixes == ["p/sub/"])
        #expect(!page.isTruncated)

        let top: S3Client.ListPage = try await s3.listObjectsV2(bucket: bucket, delimiter: "/")
        #expect(top.commonPrefixes == ["p/", "q/"])
        #expect(top.objects.map(\.key) == ["top"])

        let after: S3Client.ListPage = try await s3.listObjectsV2(bucket: bucket, startAfter: "p/sub/x")
        #expect(after.objects.map(\.key) == ["p/sub/y", "q/z", "top"])

        let sizes: [Int64] = try await s3.listAll(bucket: bucket, prefix: "p/sub/").map(\.size)
        #expect(sizes == [7, 7])
        let none: [S3Client.ObjectSummary] = try await s3.listAll(bucket: bucket, prefix: "nothing/")
        #expect(none.isEmpty)
        await s3.shutdown()
    }

    @Test func continuation() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Self.filled(s3)
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let p: S3Client.ListPage = try await s3.listObjectsV2(bucket: bucket, continuationToken: token, maxKeys: 3)
            seen += p.objects.map(\.key)
            token = p.isTruncated ? p.nextContinuationToken : nil
            pages += 1
        } while token != nil && pages < 10
        #expect(seen == Self.keys.sorted())
        #expect(pages == 4)
        await s3.shutdown()
    }
}
