import PipeTestSupport
import Testing
@testable import S3Client

/// Keys that need escaping in the path, the canonical request and the copy source.
@Suite struct MotoKeyTests {
    static let keys: [String] = [
        "with space", "plus+equals=percent%25%", "tilde~bang!star*(paren)", "ünïcødé/日本語/😀",
        "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/deep.txt", "quote'\"&<>", "semi;colon:comma,at@dollar$hash#q?",
        "dot./..x", "brackets[]{}^|`", "double//slash", "trailing/",
    ]

    @Test func roundTripEveryOperation() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "keys")
        for k in Self.keys {
            let body: [UInt8] = Moto.bytes(k)
            try await s3.putObject(bucket: bucket, key: k, body: body)
            let got: [UInt8] = try await s3.getObject(bucket: bucket, key: k).1
            #expect(got == body, "\(k)")
            let size: Int64 = try await s3.headObject(bucket: bucket, key: k).size
            #expect(size == Int64(body.count), "\(k)")
        }
        let listed: [String] = try await s3.listAll(bucket: bucket).map(\.key)
        #expect(Set(listed) == Set(Self.keys))
        let unicode: [String] = try await s3.listAll(bucket: bucket, prefix: "ünïcødé/").map(\.key)
        #expect(unicode == ["ünïcødé/日本語/😀"])
        let startAfter: S3Client.ListPage = try await s3.listObjectsV2(bucket: bucket, prefix: "a/b/c/", startAfter: "a/b/c/d")
        #expect(startAfter.objects.map(\.key) == [Self.keys[4]])

        for (i, k) in Self.keys.enumerated() {
            let copyKey: String = Self.keys[(i + 1) % Self.keys.count] + " copy"
            try await s3.copyObject(sourceBucket: bucket, sourceKey: k, bucket: bucket, key: copyKey)
            let copied: [UInt8] = try await s3.getObject(bucket: bucket, key: copyKey).1
            #expect(copied == Moto.bytes(k), "copy of \(k)")
        }
        let copies: [String] = Self.keys.map { $0 + " copy" }
        try await s3.deleteObject(bucket: bucket, key: Self.keys[0])
        let failures: [S3Client.DeleteFailure] = try await s3.deleteObjects(bucket: bucket, keys: Array(Self.keys.dropFirst()) + copies)
        #expect(failures.isEmpty)
        let left: [S3Client.ObjectSummary] = try await s3.listAll(bucket: bucket)
        #expect(left.isEmpty)
        await s3.shutdown()
    }

    @Test func boto3SeesTheSameKeys() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "keysboto")
        for k in Self.keys { try await s3.putObject(bucket: bucket, key: k, body: Moto.bytes(k)) }
        // boto3 lists the keys (JSON-escaped, one a line) and reads each body back.
        let script = """
        import json
        keys = [o['Key'] for o in s3.list_objects_v2(Bucket=sys.argv[5])['Contents']]
        for k in keys:
            assert s3.get_object(Bucket=sys.argv[5], Key=k)['Body'].read() == k.encode(), k
            print(json.dumps(k))
        """
        let r = try await Moto.python(env, script, [bucket])
        #expect(r.status == 0, "\(r.stderr)")
        let lines: [String] = r.stdout.split(separator: "\n").map(String.init)
        let expected: [String] = Self.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map(Self.json)
        #expect(lines == expected)
        await s3.shutdown()
    }

    /// Python's `json.dumps` of a string (ensure_ascii): enough of it for our keys.
    static func json(_ s: String) -> String {
        var out = "\""
        for u in s.utf16 {
            switch u {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(u)!)
            default:
                let hex = String(u, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }
}
