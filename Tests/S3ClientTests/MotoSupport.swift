import Foundation
import NIOCore
import PipeAuth
import PipeTestSupport
import Testing
@testable import S3Client

/// The shared moto with signature checking on (KP_S3, KP_S3_KEY, KP_S3_SECRET, KP_S3_REGION), and
/// boto3 through KP_PYTHON for cross-checks.
enum Moto {
    struct Env: Sendable {
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
                       threshold: Int = 16 << 20, addressing: S3Client.Addressing = .path,
                       connectHost: String? = nil) throws -> S3Client {
        let endpoint = try #require(S3Client.Endpoint(url: env.url))
        let credentials = AWSCredentials(accessKeyID: key ?? env.key, secretAccessKey: secret ?? env.secret)
        var configuration = S3Client.Configuration(
            endpoint: endpoint, region: env.region, credentials: credentials, addressing: addressing,
            multipartThreshold: threshold, partSize: partSize, maxRetries: 2)
        configuration.connectHost = connectHost
        return S3Client(configuration: configuration)
    }

    /// A fresh bucket name (S3 rules: lower case, digits, hyphens).
    static func bucket(_ prefix: String) -> String {
        TestEnv.unique("kp-\(prefix)").lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// A bucket made for one test.
    static func newBucket(_ s3: S3Client, _ prefix: String) async throws -> String {
        let name = bucket(prefix)
        try await s3.createBucket(name)
        return name
    }

    /// Runs `script` with boto3 (KP_PYTHON); `s3` is a path-style client, `sys.argv[5...]` are `args`.
    static func python(_ env: Env, _ script: String, _ args: [String]) async throws -> ProcessResult {
        let header = """
        import sys, boto3
        from botocore.config import Config
        s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
                          aws_secret_access_key=sys.argv[3], region_name=sys.argv[4],
                          config=Config(s3={'addressing_style': 'path'}))

        """
        let python = TestEnv.value("KP_PYTHON") ?? "/usr/bin/python3"
        let arguments: [String] = ["-c", header + script, env.url, env.key, env.secret, env.region] + args
        return try await Run.program(python, arguments)
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Deterministic pseudo-random bytes.
    static func pattern(count: Int, seed: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var x = seed | 1
        var i = 0
        while i < count {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            var v = x
            var j = 0
            while j < 8 && i < count {
                out[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
                i += 1
                j += 1
            }
        }
        return out
    }

    /// The error an operation threw, or nil (recorded as an issue) when it succeeded.
    static func error<T>(_ what: String, _ body: () async throws(S3Error) -> T) async -> S3Error? {
        do {
            _ = try await body()
            Issue.record("\(what) succeeded")
            return nil
        } catch {
            return error
        }
    }
}

final class LockedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [UInt8] = []
    /// Called on event-loop threads: a plain copy, no per-byte work.
    func append(_ b: ByteBuffer) {
        b.withUnsafeReadableBytes { raw in
            lock.lock()
            storage.append(contentsOf: raw)
            lock.unlock()
        }
    }
    var bytes: [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
