import Foundation
import NIOCore
import NIOPosix
import PipeTestSupport
import PipeTLS
import Testing

/// Interop with real TLS peers: `openssl s_server`, stunnel in front of tansu, the dev stunnel
/// listener, and PostgreSQL with sslmode=verify-full.
@Suite(.serialized) struct ExternalTLSTests {
    let certs: TestCertificates
    init() async throws { certs = try await TestCertificates.get() }

    /// Starts a helper server on a random loopback port; retries another port if it does not come up.
    func startServer(_ makeArguments: (Int) -> (String, [String])) async throws -> (ChildProcess, Int) {
        for _ in 0..<5 {
            let port = randomPort()
            let (program, arguments) = makeArguments(port)
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
            process.currentDirectoryURL = certs.dir
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if await waitForPort(port, seconds: 5), process.isRunning { return (process, port) }
            stop(process)
        }
        throw TimeoutError()
    }

    /// SIGKILL: the helpers inherit a signal mask from the test process that can block SIGTERM.
    func stop(_ process: ChildProcess) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func connect(_ host: String, _ port: Int) async throws -> any Channel {
        try await ClientBootstrap(group: group).connect(host: host, port: port).get()
    }

    // MARK: openssl s_server

    func sServer(requireClientCertificate: Bool) async throws -> (ChildProcess, Int) {
        try await startServer { port in
            var args = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", certs.serverCert, "-key", certs.serverKey,
                        "-www", "-quiet"]
            if requireClientCertificate { args += ["-CAfile", certs.caFile, "-Verify", "1", "-verify_return_error"] }
            return ("/usr/bin/openssl", args)
        }
    }

    static let httpGet = Array("GET / HTTP/1.0\r\n\r\n".utf8)
    static let statusLine: @Sendable ([UInt8]) -> Bool = { $0.count >= 17 }

    @Test func opensslServer() async throws {
        let (process, port) = try await sServer(requireClientCertificate: false)
        defer { stop(process) }
        let channel = try await connect("127.0.0.1", port)
        let result = try await exchange(over: channel, client: TLSConfiguration(caFile: certs.caFile),
                                        serverHostname: "localhost", message: Self.httpGet, expectedReply: Self.statusLine)
        try result.handshake.get()
        // s_server -www answers with a status page.
        #expect(String(decoding: try #require(try result.reply?.get()), as: UTF8.self).hasPrefix("HTTP/1.0 200 ok"))
        try? await channel.close()
    }

    @Test func opensslServerRequiringClientCertificate() async throws {
        let (process, port) = try await sServer(requireClientCertificate: true)
        defer { stop(process) }

        let given = TLSConfiguration(caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey)
        let channel = try await connect("127.0.0.1", port)
        let ok = try await exchange(over: channel, client: given, serverHostname: "localhost",
                                    message: Self.httpGet, expectedReply: Self.statusLine)
        #expect(String(decoding: try #require(try ok.reply?.get()), as: UTF8.self).hasPrefix("HTTP/1.0 200 ok"))
        try? await channel.close()

        let plain = try await connect("127.0.0.1", port)
        let refused = try await exchange(over: plain, client: TLSConfiguration(caFile: certs.caFile),
                                         serverHostname: "localhost", message: Self.httpGet,
                                         expectedReply: Self.statusLine)
        let error = try #require(tlsError(refused), "\(refused)")
        #expect(error.code == .alert, "\(error)")
        #expect(error.alertDescription == "certificate required", "\(error)")
        try? await plain.close()
    }

    // MARK: Kafka (tansu) behind stunnel

    /// ApiVersions v0, correlation id 7, client id "probe".
    static let apiVersionsRequest: [UInt8] = {
        var body: [UInt8] = [0, 18, 0, 0, 0, 0, 0, 7, 0, 5] + Array("probe".utf8)
        let size = UInt32(body.count)
        body.insert(contentsOf: [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)], at: 0)
        return body
    }()

    static func completeResponse(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        let size = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        return bytes.count >= 4 + size
    }

    /// Checks an ApiVersions v0 response: correlation id 7, no error, ApiVersions itself listed.
    static func checkApiVersions(_ bytes: [UInt8]) {
        guard bytes.count >= 14 else {
            Issue.record("short ApiVersions response: \(bytes.count) bytes")
            return
        }
        #expect(Array(bytes[4..<8]) == [0, 0, 0, 7])
        #expect(Array(bytes[8..<10]) == [0, 0])
        let count = Int(bytes[10]) << 24 | Int(bytes[11]) << 16 | Int(bytes[12]) << 8 | Int(bytes[13])
        #expect(count > 5 && bytes.count >= 14 + count * 6)
        let keys = (0..<min(count, (bytes.count - 14) / 6)).map { Int(bytes[14 + $0 * 6]) << 8 | Int(bytes[15 + $0 * 6]) }
        #expect(keys.contains(18))
    }

    static func hostPort(_ address: String, defaultPort: Int) -> (String, Int) {
        let parts = address.split(separator: ":")
        if parts.count == 2, let port = Int(parts[1]) { return (String(parts[0]), port) }
        return (address, defaultPort)
    }

    func stunnel(kafka: String, requireClientCertificate: Bool) async throws -> (ChildProcess, Int) {
        let (host, kafkaPort) = Self.hostPort(kafka, defaultPort: 9092)
        return try await startServer { port in
            var conf = """
            foreground = yes
            pid =
            [kafka]
            accept = 127.0.0.1:\(port)
            connect = \(host):\(kafkaPort)
            cert = \(certs.serverCert)
            key = \(certs.serverKey)

            """
            if requireClientCertificate { conf += "CAfile = \(certs.caFile)\nverify = 2\n" }
            let file = certs.path("stunnel-\(port).conf")
            try? conf.write(toFile: file, atomically: true, encoding: .utf8)
            return ("/usr/bin/stunnel", [file])
        }
    }

    @Test func kafkaBehindStunnel() async throws {
        guard let kafka = TestEnv.require("KP_KAFKA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return }
        guard FileManager.default.fileExists(atPath: "/usr/bin/stunnel") else {
            if TestEnv.isCI { Issue.record("stunnel is not installed") } else { print("skipping: stunnel is not installed") }
            return
        }
        let (process, port) = try await stunnel(kafka: kafka, requireClientCertificate: false)
        defer { stop(process) }

        // Good CA.
        let channel = try await connect("127.0.0.1", port)
        let ok = try await exchange(over: channel, client: TLSConfiguration(caFile: certs.caFile),
                                    serverHostname: "localhost", message: Self.apiVersionsRequest,
                                    expectedReply: Self.completeResponse)
        Self.checkApiVersions(try #require(try ok.reply?.get()))
        try? await channel.close()

        // Wrong CA.
        let wrongCA = try await connect("127.0.0.1", port)
        let refused = try await exchange(over: wrongCA, client: TLSConfiguration(caFile: certs.otherCAFile),
                                         serverHostname: "localhost", message: Self.apiVersionsRequest,
                                         expectedReply: Self.completeResponse)
        #expect(tlsError(refused)?.code == .unknownCA)
        try? await wrongCA.close()

        // Wrong name.
        let wrongName = try await connect("127.0.0.1", port)
        let mismatch = try await exchange(over: wrongName, client: TLSConfiguration(caFile: certs.caFile),
                                          serverHostname: "broker.example.com", message: Self.apiVersionsRequest,
                                          expectedReply: Self.completeResponse)
        #expect(tlsError(mismatch)?.code == .nameMismatch)
        try? await wrongName.close()
    }

    @Test func kafkaBehindStunnelRequiringClientCertificate() async throws {
        guard let kafka = TestEnv.require("KP_KAFKA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return }
        guard FileManager.default.fileExists(atPath: "/usr/bin/stunnel") else { return }
        let (process, port) = try await stunnel(kafka: kafka, requireClientCertificate: true)
        defer { stop(process) }

        let given = TLSConfiguration(caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey)
        let channel = try await connect("127.0.0.1", port)
        let ok = try await exchange(over: channel, client: given, serverHostname: "127.0.0.1",
                                    message: Self.apiVersionsRequest, expectedReply: Self.completeResponse)
        Self.checkApiVersions(try #require(try ok.reply?.get()))
        try? await channel.close()

        let plain = try await connect("127.0.0.1", port)
        let refused = try await exchange(over: plain, client: TLSConfiguration(caFile: certs.caFile),
                                         serverHostname: "127.0.0.1", message: Self.apiVersionsRequest,
                                         expectedReply: Self.completeResponse)
        // stunnel refuses the missing certificate with an alert (TLS 1.3: after the handshake).
        let error = try #require(tlsError(refused), "\(refused)")
        #expect(error.code == .alert || error.code == .ioError, "\(error)")
        try? await plain.close()
    }

    /// The development stunnel listener in front of tansu (KP_KAFKA_TLS=host:port, KP_KAFKA_TLS_CA=ca.pem).
    @Test func devKafkaTLSListener() async throws {
        guard let address = TestEnv.require("KP_KAFKA_TLS", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let ca = TestEnv.require("KP_KAFKA_TLS_CA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return }
        let (host, port) = Self.hostPort(address, defaultPort: 9093)
        let channel = try await connect(host, port)
        let ok = try await exchange(over: channel, client: TLSConfiguration(caFile: ca), serverHostname: host,
                                    message: Self.apiVersionsRequest, expectedReply: Self.completeResponse)
        try ok.handshake.get()
        Self.checkApiVersions(try #require(try ok.reply?.get()))
        try? await channel.close()
    }

    // MARK: PostgreSQL

    /// SSLRequest on a plain connection, then TLS on the active channel with sslmode=verify-full
    /// semantics (CA and host name checked), then a StartupMessage answered with an
    /// authentication request. KP_PG_TLS=host:port of a PostgreSQL with ssl=on, KP_PG_TLS_CA=its CA.
    @Test func postgresVerifyFull() async throws {
        guard let address = TestEnv.require("KP_PG_TLS", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }),
              let ca = TestEnv.require("KP_PG_TLS_CA", onMissingInCI: { Issue.record(Comment(rawValue: $0)) }) else { return }
        let (host, port) = Self.hostPort(address, defaultPort: 5432)
        let channel = try await connect(host, port)
        defer { channel.close(promise: nil) }
        // SSLRequest: length 8, code 80877103; the server answers one byte, 'S' or 'N'.
        let answer = channel.eventLoop.makePromise(of: [UInt8].self)
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(Collector(promise: answer, isComplete: { !$0.isEmpty }), name: "ssl-answer")
        }.get()
        try await channel.writeAndFlush(ByteBuffer(bytes: [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]))
        #expect(try await answer.futureResult.get() == [UInt8(ascii: "S")])
        try await channel.pipeline.removeHandler(name: "ssl-answer").get()

        var startup: [UInt8] = [0, 3, 0, 0] + Array("user\u{0}postgres\u{0}database\u{0}postgres\u{0}\u{0}".utf8)
        let length = UInt32(startup.count + 4)
        startup.insert(contentsOf: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)], at: 0)
        let result = try await exchange(over: channel, client: TLSConfiguration(caFile: ca), serverHostname: host,
                                        message: startup, expectedReply: { $0.count >= 5 })
        try result.handshake.get()
        // 'R' (authentication request) or 'E' (e.g. no pg_hba entry): either way PostgreSQL spoke through TLS.
        let reply = try #require(try result.reply?.get())
        #expect(reply.first == UInt8(ascii: "R") || reply.first == UInt8(ascii: "E"))
    }
}
