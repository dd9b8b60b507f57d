import Foundation
import NIOCore
import NIOPosix
import PipeTLS
import Testing

/// Client handler against the in-process OpenSSL server handler over a socketpair.
@Suite struct InProcessTLSTests {
    let certs: TestCertificates
    init() async throws { certs = try await TestCertificates.get() }

    var server: TLSServerConfiguration { TLSServerConfiguration(certFile: certs.serverCert, keyFile: certs.serverKey) }

    @Test func handshakeAndEchoTLS13() async throws {
        let result = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile), server: server)
        try result.handshake.get()
        #expect(try result.reply?.get() == Array("ping".utf8))
        #expect(result.version == "TLSv1.3")
        #expect(result.endPointHash?.count == 32)  // ECDSA-SHA256 certificate → SHA-256
    }

    @Test func handshakeAndEchoTLS12() async throws {
        var server = self.server
        server.maxVersion = .tls12
        let result = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile), server: server)
        #expect(try result.reply?.get() == Array("ping".utf8))
        #expect(result.version == "TLSv1.2")
    }

    @Test func largePayloadRoundTrip() async throws {
        let message = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        let result = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile), server: server,
                                                 message: message)
        let reply = try #require(try result.reply?.get())
        #expect(reply.count == message.count)
        #expect(reply == message)
    }

    @Test func wrongCAIsUnknownCA() async throws {
        let result = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.otherCAFile), server: server)
        let error = try #require(tlsError(result))
        #expect(error.code == .unknownCA, "\(error)")
        #expect(error.openSSLErrors.contains { $0.contains("certificate verify failed") }, "\(error)")
    }

    @Test func systemStoreDoesNotTrustTestCA() async throws {
        let result = try await exchangeInProcess(client: TLSConfiguration(), server: server)
        #expect(tlsError(result)?.code == .unknownCA)
    }

    @Test func wrongNameIsNameMismatch() async throws {
        let result = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile), server: server,
                                                 serverHostname: "kafka.example.com")
        let error = try #require(tlsError(result))
        #expect(error.code == .nameMismatch, "\(error)")
        #expect(error.context.contains("hostname mismatch"), "\(error)")
    }

    @Test func serverNameOverridesHostname() async throws {
        let ok = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile, serverName: "localhost"),
                                             server: server, serverHostname: "kafka.example.com")
        #expect(try ok.reply?.get() == Array("ping".utf8))
    }

    @Test func ipAddressSAN() async throws {
        let ok = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile), server: server,
                                             serverHostname: "127.0.0.1")
        #expect(try ok.reply?.get() == Array("ping".utf8))
        let bad = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile), server: server,
                                              serverHostname: "127.0.0.2")
        #expect(tlsError(bad)?.code == .nameMismatch)
    }

    @Test func expiredCertificate() async throws {
        let expired = TLSServerConfiguration(certFile: certs.expiredCert, keyFile: certs.expiredKey)
        let result = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile), server: expired)
        let error = try #require(tlsError(result))
        #expect(error.code == .expired, "\(error)")
    }

    @Test func insecureSkipVerifyAcceptsAnything() async throws {
        let expired = TLSServerConfiguration(certFile: certs.expiredCert, keyFile: certs.expiredKey)
        let config = TLSConfiguration(caFile: certs.otherCAFile, insecureSkipVerify: true)
        let result = try await exchangeInProcess(client: config, server: expired, serverHostname: "wrong.example")
        #expect(try result.reply?.get() == Array("ping".utf8))
    }

    @Test(arguments: [TLSConfiguration.Version.tls13, .tls12])
    func clientCertificateRequiredAndGiven(version: TLSConfiguration.Version) async throws {
        let mtls = TLSServerConfiguration(certFile: certs.serverCert, keyFile: certs.serverKey, clientCAFile: certs.caFile,
                                          requireClientCertificate: true, maxVersion: version)
        let given = TLSConfiguration(caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey)
        let ok = try await exchangeInProcess(client: given, server: mtls)
        #expect(try ok.reply?.get() == Array("ping".utf8))

        let missing = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile), server: mtls)
        let error = try #require(tlsError(missing))
        #expect(error.code == .alert, "\(error)")
        // TLS 1.3 names it; TLS 1.2 servers answer with a generic handshake_failure.
        let expected = version == .tls13 ? "certificate required" : "handshake failure"
        #expect(error.alertDescription == expected, "\(error)")
    }

    @Test func clientCertificateFromUntrustedCA() async throws {
        let mtls = TLSServerConfiguration(certFile: certs.serverCert, keyFile: certs.serverKey,
                                          clientCAFile: certs.otherCAFile, requireClientCertificate: true)
        let given = TLSConfiguration(caFile: certs.caFile, certFile: certs.clientCert, keyFile: certs.clientKey)
        let result = try await exchangeInProcess(client: given, server: mtls)
        let error = try #require(tlsError(result))
        #expect(error.code == .alert, "\(error)")
        #expect(error.alertDescription == "unknown CA", "\(error)")
    }

    @Test func noCommonVersion() async throws {
        var server = self.server
        server.maxVersion = .tls12
        let result = try await exchangeInProcess(client: TLSConfiguration(caFile: certs.caFile, minVersion: .tls13),
                                                 server: server)
        let error = try #require(tlsError(result))
        #expect(error.code == .alert, "\(error)")
        #expect(error.alertDescription == "protocol version", "\(error)")
    }

    @Test func peerClosesDuringHandshake() async throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        close(fds[1])
        let channel = try await NIOPipeBootstrap(group: group).takingOwnershipOfDescriptor(inputOutput: fds[0]).get()
        // Whether the channel has seen the EOF yet or not, the result is a TLS I/O error.
        let error = await #expect(throws: TLSError.self) {
            try await addTLS(to: channel, configuration: TLSConfiguration(caFile: certs.caFile),
                             serverHostname: "localhost", logger: testLogger).get()
        }
        #expect(error?.code == .ioError, "\(String(describing: error))")
        try? await channel.close()
    }

    @Test func closeSendsCloseNotify() async throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let serverContext = try TLSContext(server: server)
        let serverChannel = try await NIOPipeBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        OpenSSLServerHandler(context: serverContext, logger: testLogger), Echo(),
                    ])
                }
            }
            .takingOwnershipOfDescriptor(inputOutput: fds[1]).get()
        let client = try await NIOPipeBootstrap(group: group).takingOwnershipOfDescriptor(inputOutput: fds[0]).get()
        let result = try await exchange(over: client, client: TLSConfiguration(caFile: certs.caFile),
                                        serverHostname: "localhost", message: Array("x".utf8))
        #expect(try result.reply?.get() == Array("x".utf8))
        try await client.close()
        // The server handler closes its side when the client's close_notify arrives.
        try await serverChannel.closeFuture.get()
        // Writing after close fails.
        await #expect(throws: (any Error).self) { try await client.writeAndFlush(ByteBuffer(bytes: [1])) }
    }

    @Test func configurationErrors() throws {
        #expect(throws: TLSError.self) { try TLSContext(configuration: TLSConfiguration(caFile: "/nonexistent/ca.pem")) }
        let noKey = #expect(throws: TLSError.self) {
            try TLSContext(configuration: TLSConfiguration(caFile: certs.caFile, certFile: certs.clientCert))
        }
        #expect(noKey?.code == .configuration)
        let mismatch = #expect(throws: TLSError.self) {
            try TLSContext(configuration: TLSConfiguration(caFile: certs.caFile, certFile: certs.clientCert,
                                                           keyFile: certs.serverKey))
        }
        #expect(mismatch?.code == .configuration)
        #expect(mismatch?.openSSLErrors.isEmpty == false)
        #expect(throws: TLSError.self) {
            try TLSContext(configuration: TLSConfiguration(minVersion: .tls13, maxVersion: .tls12))
        }
        #expect(throws: TLSError.self) {
            try TLSContext(server: TLSServerConfiguration(certFile: certs.serverCert, keyFile: certs.serverKey,
                                                          requireClientCertificate: true))
        }
    }
}
