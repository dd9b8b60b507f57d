import Testing
import Logging
import NIOCore
import NIOPosix
import HTTPWire

/// Sends raw bytes to the server over a real loopback socket and reads `count` responses.
private func exchange(port: Int, _ request: String, responses count: Int, expectClose: Bool = false) async throws -> ([HTTPResponse], closed: Bool) {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: request))
        var parser = HTTPResponseParser()
        var buf = ByteBuffer()
        var out: [HTTPResponse] = []
        var closed = true
        for try await chunk in inbound {
            var chunk = chunk
            buf.writeBuffer(&chunk)
            while let r = try parser.parse(&buf) { out.append(r) }
            if out.count >= count && !expectClose {
                closed = false
                break
            }
        }
        return (out, closed)
    }
}

@Suite(.serialized) struct HTTPServerTests {
    static func withServer(idleTimeout: TimeAmount = .seconds(60), _ body: (Int) async throws -> Void) async throws {
        let router = HTTPServer.getRouter([
            "/health": { _ in .text(200, "ok\n") },
            "/echo": { req in .text(200, req.head.query ?? "") },
        ])
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0, idleTimeout: idleTimeout), logger: Logger(label: "test"), router: router)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let address = try await server.localAddress(timeout: .seconds(120))
            let port = try #require(address.port)
            try await body(port)
            group.cancelAll()
            try? await group.waitForAll()
        }
    }

    @Test func healthAndKeepAlive() async throws {
        try await Self.withServer { port in
            let (rs, closed) = try await exchange(
                port: port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /echo?abc HTTP/1.1\r\n\r\n", responses: 2)
            #expect(rs.map(\.status) == [200, 200])
            #expect(rs.first?.body == Array("ok\n".utf8))
            #expect(rs.last?.body == Array("abc".utf8))
            #expect(!closed)
        }
    }

    @Test func notFoundMethodNotAllowedAndHead() async throws {
        try await Self.withServer { port in
            let (rs, _) = try await exchange(
                port: port, "GET /nope HTTP/1.1\r\n\r\nPOST /health HTTP/1.1\r\nContent-Length: 1\r\n\r\nxHEAD /health HTTP/1.1\r\n\r\n",
                responses: 2)
            #expect(rs.map(\.status) == [404, 405])   // a HEAD response has no body: the plain parser waits for 3 bytes
            #expect(rs.dropFirst().first?.headers["Allow"] == "GET, HEAD")
        }
    }

    @Test func connectionCloseIsHonoured() async throws {
        try await Self.withServer { port in
            let (rs, closed) = try await exchange(
                port: port, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", responses: 1, expectClose: true)
            #expect(rs.map(\.status) == [200])
            #expect(rs.first?.headers["Connection"] == "close")
            #expect(closed)
        }
    }

    @Test func malformedGets400AndClose() async throws {
        try await Self.withServer { port in
            let (rs, closed) = try await exchange(port: port, "GARBAGE\r\n\r\n", responses: 1, expectClose: true)
            #expect(rs.map(\.status) == [400])
            #expect(closed)
            let (rs2, _) = try await exchange(port: port, "GET /health HTTP/1.1\r\n\r\n", responses: 1)
            #expect(rs2.map(\.status) == [200])
        }
    }

    @Test(.timeLimit(.minutes(1))) func idleConnectionIsClosed() async throws {
        try await Self.withServer(idleTimeout: .milliseconds(200)) { port in
            // sends nothing: the server closes the connection, which ends the read loop
            let (rs, closed) = try await exchange(port: port, "", responses: 0, expectClose: true)
            #expect(rs.isEmpty)
            #expect(closed)
        }
    }

    @Test func oversizedBodyGets413() async throws {
        try await Self.withServer { port in
            // only the head: the length alone is refused, before any body is read
            let (rs, closed) = try await exchange(
                port: port, "POST /health HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", responses: 1, expectClose: true)
            #expect(rs.map(\.status) == [413])
            #expect(closed)
        }
    }
}
