import PipeTestSupport
import Testing
@testable import S3Client

/// A wrong secret and an unknown access key give S3's authentication errors, never the secret.
@Suite struct MotoAuthTests {
    static let wrongSecret = "not-the-secret-0123456789abcdef"

    static func checkNoSecret(_ error: S3Error?, _ env: Moto.Env) {
        let text: String = error.map { "\($0)" } ?? ""
        #expect(!text.contains(wrongSecret))
        #expect(!text.contains(env.secret))
    }

    @Test func wrongSecret() async throws {
        guard let env = Moto.env() else { return }
        let good = try Moto.client(env)
        let bucket = try await Moto.newBucket(good, "auth")
        try await good.putObject(bucket: bucket, key: "k", body: [1])
        await good.shutdown()

        let s3 = try Moto.client(env, secret: Self.wrongSecret)
        let get = await Moto.error("a GET with a wrong secret") { () async throws(S3Error) in
            try await s3.getObject(bucket: bucket, key: "k")
        }
        #expect(get?.s3Code == "SignatureDoesNotMatch")
        #expect(get?.status == 403)
        #expect(get?.isRetryable == false)
        Self.checkNoSecret(get, env)
        let put = await Moto.error("a PUT with a wrong secret") { () async throws(S3Error) in
            try await s3.putObject(bucket: bucket, key: "k2", body: [1, 2])
        }
        #expect(put?.s3Code == "SignatureDoesNotMatch")
        Self.checkNoSecret(put, env)
        // HEAD answers carry no body: the status still says what happened.
        let head = await Moto.error("a HEAD with a wrong secret") { () async throws(S3Error) in
            try await s3.headObject(bucket: bucket, key: "k")
        }
        #expect(head?.status == 403)
        Self.checkNoSecret(head, env)
        await s3.shutdown()
    }

    @Test func unknownAccessKey() async throws {
        guard let env = Moto.env() else { return }
        let good = try Moto.client(env)
        let bucket = try await Moto.newBucket(good, "auth2")
        await good.shutdown()
        let s3 = try Moto.client(env, key: "AKIAUNKNOWNKEY000000")
        let put = await Moto.error("a PUT with an unknown access key") { () async throws(S3Error) in
            try await s3.putObject(bucket: bucket, key: "k2", body: [1])
        }
        #expect(put?.s3Code == "InvalidAccessKeyId")
        #expect(put?.status == 403)
        #expect(put?.description.contains("InvalidAccessKeyId") == true)
        Self.checkNoSecret(put, env)
        let list = await Moto.error("a listing with an unknown access key") { () async throws(S3Error) in
            try await s3.listObjectsV2(bucket: bucket)
        }
        #expect(list?.s3Code == "InvalidAccessKeyId")
        await s3.shutdown()
    }
}
