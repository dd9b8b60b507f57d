import Foundation
import PipeAuth
import PipeTestSupport
import Testing
@testable import S3Client

/// Presigned URLs used without credentials (Python's urllib, no boto3 signing) against moto with
/// signature checking on: GET and PUT work, a tampered signature and an expired URL are refused.
@Suite struct MotoPresignTests {
    /// `urllib` sends `method` to `url` (with `body` from a hex argument); prints the status and
    /// the SHA-256 of the response body, or the status and the S3 error code.
    static let fetch = """
    import sys, hashlib, urllib.request, urllib.error, re
    method, url, body = sys.argv[5], sys.argv[6], bytes.fromhex(sys.argv[7])
    req = urllib.request.Request(url, data=body if method == 'PUT' else None, method=method,
                             headers={'Content-Type': 'application/octet-stream'} if method == 'PUT' else {})
    try:
        with urllib.request.urlopen(req) as r:
            print(r.status, hashlib.sha256(r.read()).hexdigest())
    except urllib.error.HTTPError as e:
        m = re.search(rb'<Code>([^<]*)</Code>', e.read())
        print(e.code, m.group(1).decode() if m else '-')
    """

    static func use(_ env: Moto.Env, _ method: String, _ url: String, body: [UInt8] = []) async throws -> [String] {
        let r = try await Moto.python(env, fetch, [method, url, Hex.encode(body)])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    @Test func getAndPutWithoutCredentials() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "presign")
        let stored = Moto.pattern(count: 70_000, seed: 11)
        let key = "deep/prefix/a key+with=odd~chars(ö)"
        try await s3.putObject(bucket: bucket, key: key, body: stored)

        let get = try s3.presignedURL(bucket: bucket, key: key, expires: .seconds(300))
        #expect(get.hasPrefix(env.url + "/" + bucket + "/deep/prefix/"))
        #expect(get.contains("X-Amz-Signature=") && get.contains("X-Amz-Expires=300"))
        #expect(!get.contains(env.secret))
        #expect(try await Self.use(env, "GET", get) == ["200", Hex.encode(Digest.sha256.hash(stored))])

        let uploaded = Moto.pattern(count: 5_000, seed: 12)
        let put = try s3.presignedURL(method: "PUT", bucket: bucket, key: "uploaded via url", expires: .seconds(60))
        #expect(try await Self.use(env, "PUT", put, body: uploaded).first == "200")
        let (_, back) = try await s3.getObject(bucket: bucket, key: "uploaded via url")
        #expect(Hex.encode(Digest.sha256.hash(back)) == Hex.encode(Digest.sha256.hash(uploaded)))
        await s3.shutdown()
    }

    @Test func tamperedOrExpiredURLsAreRefused() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "presign2")
        try await s3.putObject(bucket: bucket, key: "k", body: [1, 2, 3])

        // Another key under the same signature: the canonical request differs.
        let url = try s3.presignedURL(bucket: bucket, key: "k")
        let moved = url.replacingOccurrences(of: "/\(bucket)/k?", with: "/\(bucket)/other?")
        #expect(try await Self.use(env, "GET", moved) == ["403", "SignatureDoesNotMatch"])
        // A method the URL was not signed for.
        #expect(try await Self.use(env, "DELETE", url).first == "403")
        let (_, still) = try await s3.getObject(bucket: bucket, key: "k")
        #expect(still == [1, 2, 3])

        // Signed two hours ago for one minute.
        let old = try s3.presignedURL(bucket: bucket, key: "k", expires: .seconds(60), at: Int64(Date().timeIntervalSince1970) - 7200)
        #expect(try await Self.use(env, "GET", old).first == "403")

        // S3's limits on the expiry are checked before signing.
        let tooLong = await Moto.error("an 8-day presigned URL") { () async throws(S3Error) in
            try s3.presignedURL(bucket: bucket, key: "k", expires: .seconds(8 * 86_400))
        }
        #expect(tooLong?.code == .invalidArgument)
        #expect(tooLong?.description.contains("7 days") == true)
        await s3.shutdown()
    }
}
