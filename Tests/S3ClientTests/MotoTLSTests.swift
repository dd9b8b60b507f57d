import Foundation
import NIOCore
import NIOPosix
import PipeAuth
import PipeTestSupport
import PipeTLS
import Testing
@testable import S3Client

/// The S3 client (and so the HTTP client) over TLS: stunnel with a throwaway certificate in front of
/// moto, `https://` endpoint, the default `UNSIGNED-PAYLOAD` signing over TLS.
@Suite(.serialized) struct MotoTLSTests {
    struct Front {
        let process: ChildProcess
        let port: Int
        let dir: URL
        var caFile: String { dir.appendingPathComponent("ca.pem").path }
        var otherCAFile: String { dir.appendingPathComponent("other-ca.pem").path }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    static func startFront(_ env: Moto.Env) async throws -> Front? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/stunnel") else {
            if TestEnv.isCI { Issue.record("stunnel is missing") } else { print("skipping: no /usr/bin/stunnel") }
            return nil
        }
        let target = try #require(S3Client.Endpoint(url: env.url))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kp-s3tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = #"""
        set -euo pipefail
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        key ca.key; key other-ca.key; key server.key
        openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=kp-s3-test-ca
        openssl req -x509 -new -key other-ca.key -out other-ca.pem -days 2 -subj /CN=kp-s3-other-ca
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > server.ext
        openssl req -new -key server.key -out server.csr -subj /CN=localhost
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
        """#
        let made = try await Run.program("/bin/bash", ["-c", script], cwd: dir)
        try #require(made.status == 0, "\(made.stderr)")
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...60_000)
            let conf = """
            foreground = yes
            pid =
            [s3]
            accept = 127.0.0.1:\(port)
            connect = \(target.host):\(target.port)
            cert = \(dir.appendingPathComponent("server.pem").path)
            key = \(dir.appendingPathComponent("server.key").path)

            """
            let file = dir.appendingPathComponent("stunnel.conf")
            try conf.write(to: file, atomically: true, encoding: .utf8)
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/stunnel")
            process.arguments = [file.path]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let front = Front(process: process, port: port, dir: dir)
            if await Self.listening(port), process.isRunning { return front }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        Issue.record("stunnel did not start")
        return nil
    }

    static func listening(_ port: Int) async -> Bool {
        for _ in 0..<50 {
            if let ch = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get() {
                try? await ch.close()
                return true
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    static func client(_ env: Moto.Env, _ front: Front, caFile: String) -> S3Client {
        let endpoint = S3Client.Endpoint(host: "127.0.0.1", port: front.port, useTLS: true)
        let credentials = AWSCredentials(accessKeyID: env.key, secretAccessKey: env.secret)
        let configuration = S3Client.Configuration(endpoint: endpoint, region: env.region, credentials: credentials,
                                                   tls: TLSConfiguration(caFile: caFile),
                                                   multipartThreshold: 6 << 20, partSize: 5 << 20, maxRetries: 1)
        return S3Client(configuration: configuration)
    }

    @Test func operationsOverTLS() async throws {
        guard let env = Moto.env(), let front = try await Self.startFront(env) else { return }
        defer { front.stop() }
        let s3 = Self.client(env, front, caFile: front.caFile)
        #expect(s3.configuration.payloadSigning == .unsigned)
        let bucket = try await Moto.newBucket(s3, "tls")
        let small: [UInt8] = Moto.pattern(count: 200_000, seed: 31)
        try await s3.putObject(bucket: bucket, key: "t/small one", body: small, metadata: ["tls": "yes"])
        let (info, got) = try await s3.getObject(bucket: bucket, key: "t/small one")
        #expect(got == small)
        #expect(info.metadata["tls"] == "yes")

        // Multipart (parts in parallel over several TLS connections), then a streamed download.
        let big: [UInt8] = Moto.pattern(count: 11 << 20, seed: 32)
        let etag: String? = try await s3.upload(bucket: bucket, key: "t/big", body: big)
        #expect(etag?.hasSuffix("-3\"") == true)
        let streamed = LockedBytes()
        _ = try await s3.getObject(bucket: bucket, key: "t/big", range: nil) { streamed.append($0) }
        #expect(streamed.bytes == big)

        // A streamed upload over TLS.
        try await s3.putObject(bucket: bucket, key: "t/streamed", contentLength: small.count,
                               stream: BufferPieces.split(small, by: 30_000))
        let back: [UInt8] = try await s3.getObject(bucket: bucket, key: "t/streamed").1
        #expect(back == small)
        let keys: [String] = try await s3.listAll(bucket: bucket).map(\.key)
        #expect(keys == ["t/big", "t/small one", "t/streamed"])
        await s3.shutdown()
    }

    @Test func untrustedCertificateIsATransportError() async throws {
        guard let env = Moto.env(), let front = try await Self.startFront(env) else { return }
        defer { front.stop() }
        let s3 = Self.client(env, front, caFile: front.otherCAFile)
        let error = await Moto.error("a request to a server with an untrusted certificate") { () async throws(S3Error) in
            try await s3.headBucket("any")
        }
        #expect(error?.code == .transport)
        #expect(error?.description.contains("certificate") == true, "\(error.map { "\($0)" } ?? "")")
        await s3.shutdown()
    }
}
