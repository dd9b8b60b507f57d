import PipeAuth
import PipeTestSupport
import Testing
@testable import S3Client

/// What we write boto3 reads, and the reverse (single and multipart objects, metadata).
@Suite struct MotoBoto3Tests {
    @Test func boto3ReadsWhatWeWrite() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env, partSize: 5 << 20, threshold: 6 << 20)
        let bucket = try await Moto.newBucket(s3, "boto")
        let small: [UInt8] = Moto.pattern(count: 100_000, seed: 7)
        let large: [UInt8] = Moto.pattern(count: 12 << 20, seed: 8)
        try await s3.putObject(bucket: bucket, key: "from swift/ö+1", body: small, contentType: "application/x-test",
                               metadata: ["who": "swift"])
        try await s3.upload(bucket: bucket, key: "from swift/large", body: large)
        let script = """
        import hashlib
        o = s3.get_object(Bucket=sys.argv[5], Key='from swift/ö+1')
        print(hashlib.sha256(o['Body'].read()).hexdigest(), o['ContentType'], o['Metadata']['who'])
        o = s3.get_object(Bucket=sys.argv[5], Key='from swift/large')
        print(hashlib.sha256(o['Body'].read()).hexdigest(), o['ContentLength'], o['ETag'])
        """
        let r = try await Moto.python(env, script, [bucket])
        #expect(r.status == 0, "\(r.stderr)")
        let lines: [String] = r.stdout.split(separator: "\n").map(String.init)
        let first: String = Hex.encode(Digest.sha256.hash(small)) + " application/x-test swift"
        let second: String = Hex.encode(Digest.sha256.hash(large)) + " \(large.count) "
        #expect(lines.count == 2)
        #expect(lines.first == first)
        #expect(lines.last?.hasPrefix(second) == true)
        #expect(lines.last?.hasSuffix("-3\"") == true)   // 5 + 5 + 2 MiB
        await s3.shutdown()
    }

    @Test func weReadWhatBoto3Writes() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "boto2")
        let script = """
        from boto3.s3.transfer import TransferConfig
        import io
        s3.put_object(Bucket=sys.argv[5], Key='from boto/ä b', Body=bytes(range(256)) * 1000,
                      Metadata={'who': 'boto'}, ContentType='application/x-boto')
        big = bytes((i * 7) & 0xFF for i in range(256)) * (12 * 4096)
        s3.upload_fileobj(io.BytesIO(big), sys.argv[5], 'from boto/big',
                          Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
        """
        let r = try await Moto.python(env, script, [bucket])
        #expect(r.status == 0, "\(r.stderr)")

        let (info, theirs) = try await s3.getObject(bucket: bucket, key: "from boto/ä b")
        var want: [UInt8] = []
        for _ in 0..<1000 { want += (0...255).map { UInt8($0) } }
        #expect(theirs == want)
        #expect(info.metadata["who"] == "boto")
        #expect(info.contentType == "application/x-boto")

        let (bigInfo, big) = try await s3.getObject(bucket: bucket, key: "from boto/big")
        var unit: [UInt8] = []
        for i in 0..<256 { unit.append(UInt8((i * 7) & 0xFF)) }
        var wantBig: [UInt8] = []
        wantBig.reserveCapacity(12 << 20)
        for _ in 0..<(12 * 4096) { wantBig += unit }
        #expect(big.count == wantBig.count)
        #expect(big == wantBig)
        #expect(bigInfo.etag?.hasSuffix("-3\"") == true)
        let listed: [String] = try await s3.listAll(bucket: bucket, prefix: "from boto/").map(\.key)
        #expect(listed == ["from boto/big", "from boto/ä b"])
        await s3.shutdown()
    }

    /// Virtual-hosted requests (`Host: <bucket>.localhost:port`, path `/key`): moto routes them by
    /// the Host header. `<bucket>.localhost` does not resolve here, so the client connects to the
    /// endpoint's address (`connectHost`) and keeps the bucket's name in `Host` and the signature.
    @Test func virtualHostedAddressing() async throws {
        guard let env = Moto.env() else { return }
        let endpoint = try #require(S3Client.Endpoint(url: env.url))
        var local = env
        local.url = "http://localhost:\(endpoint.port)"
        let path = try Moto.client(env)
        let bucket = try await Moto.newBucket(path, "vh")
        let vh = try Moto.client(local, addressing: .virtualHosted, connectHost: endpoint.host)
        try await vh.putObject(bucket: bucket, key: "v/k l+", body: [9, 9])
        let got: [UInt8] = try await vh.getObject(bucket: bucket, key: "v/k l+").1
        #expect(got == [9, 9])
        let viaPath: [UInt8] = try await path.getObject(bucket: bucket, key: "v/k l+").1
        #expect(viaPath == [9, 9])
        let listed: [String] = try await vh.listAll(bucket: bucket).map(\.key)
        #expect(listed == ["v/k l+"])
        try await vh.headBucket(bucket)
        let failures: [S3Client.DeleteFailure] = try await vh.deleteObjects(bucket: bucket, keys: ["v/k l+"])
        #expect(failures.isEmpty)
        let left: [S3Client.ObjectSummary] = try await path.listAll(bucket: bucket)
        #expect(left.isEmpty)
        await vh.shutdown()
        await path.shutdown()
    }
}
