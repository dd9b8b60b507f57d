import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import HTTPWire

/// A scripted HTTP/1.1 peer for the client: every connection gets a number; the target says what to answer.
///   /len/N        N bytes with Content-Length        /chunked/N   N bytes in chunks of 1000
///   /close/N      N bytes, framed by closing          /conn        the connection's number
///   /bye          Connection: close                   /slow        never answers
///   /echo         the request body back, and how it was framed (x-framing: length|chunked)
///   /drop-idle    answers, then closes the connection 50 ms later (an idle keep-alive timeout)
///   /head         HEAD: Content-Length 1000 and no body
final class ScriptedPeer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init() async throws {
        let box = CounterBox()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(PeerHandler(number: box.next()))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.box = box
    }
    private let box: CounterBox
    var accepted: Int { box.value }

    func close() async { try? await channel.close() }

    /// Made once: the peer answers on event-loop threads shared with the client.
    static let patternBytes: [UInt8] = (0..<4_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
    static func pattern(_ n: Int) -> [UInt8] { Array(patternBytes[0..<n]) }
}

final class CounterBox: Sendable {
    private let count = Atomic<Int>(0)
    func next() -> Int { count.add(1, ordering: .sequentiallyConsistent).newValue }
    var value: Int { count.load(ordering: .sequentiallyConsistent) }
}

final class PeerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let number: Int
    var parser = HTTPRequestParser(limits: HTTPParserLimits(maxBodySize: 64 << 20))
    var buffer = ByteBuffer()
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(number: Int) { self.number = number }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        do {
            while let part = try parser.next(&buffer) {
                switch part {
                case .head(let h): head = h; body = []
                case .body(let b): b.withUnsafeReadableBytes { body.append(contentsOf: $0) }
                case .end: answer(context: context)
                }
            }
        } catch {
            context.close(promise: nil)
        }
    }

    func write(_ context: ChannelHandlerContext, _ text: String, _ bytes: [UInt8] = []) {
        var out = context.channel.allocator.buffer(capacity: text.utf8.count + bytes.count)
        out.writeString(text)
        out.writeBytes(bytes)
        context.writeAndFlush(NIOAny(out), promise: nil)
    }

    func answer(context: ChannelHandlerContext) {
        guard let head else { return }
        let parts = head.target.split(separator: "/").map(String.init)
        let n = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        switch parts.first ?? "" {
        case "len":
            write(context, "HTTP/1.1 200 OK\r\nContent-Length: \(n)\r\n\r\n", ScriptedPeer.pattern(n))
        case "chunked":
            var out = context.channel.allocator.buffer(capacity: n + n / 100 + 200)
            out.writeString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-test: yes\r\n\r\n")
            var i = 0
            while i < n {
                let m = min(1000, n - i)
                out.writeString(String(m, radix: 16) + ";ext=1\r\n")
                ScriptedPeer.patternBytes.withUnsafeBufferPointer { out.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: $0[i..<(i + m)]))) }
                out.writeString("\r\n")
                i += m
            }
            out.writeString("0\r\nx-trailer: t\r\n\r\n")
            context.writeAndFlush(NIOAny(out), promise: nil)
        case "close":
            write(context, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", ScriptedPeer.pattern(n))
            context.close(promise: nil)
        case "conn":
            write(context, "HTTP/1.1 200 OK\r\nContent-Length: \(String(number).utf8.count)\r\n\r\n\(number)")
        case "bye":
            write(context, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            context.close(promise: nil)
        case "slow":
            break
        case "echo":
            let framing = head.headers.contains("Transfer-Encoding") ? "chunked" : "length"
            write(context, "HTTP/1.1 200 OK\r\nx-framing: \(framing)\r\nContent-Length: \(body.count)\r\n\r\n", body)
        case "drop-idle":
            write(context, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            let channel = context.channel
            context.eventLoop.scheduleTask(in: .milliseconds(50)) { channel.close(promise: nil) }
        case "head":
            write(context, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        case "reject":
            // Answers before reading the body, then closes (like a server refusing an upload).
            write(context, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            context.close(promise: nil)
        default:
            write(context, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        }
    }
}

/// A request body produced piece by piece.
struct Pieces: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let pieces: [[UInt8]]
    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: [[UInt8]]
        mutating func next() async throws -> ByteBuffer? {
            guard !rest.isEmpty else { return nil }
            await Task.yield()
            return ByteBuffer(bytes: rest.removeFirst())
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: pieces) }
}

@Suite struct HTTPClientTests {
    static func client(_ peer: ScriptedPeer, timeout: TimeAmount = .seconds(10)) throws -> HTTPClient {
        try HTTPClient(configuration: .init(host: "127.0.0.1", port: peer.port, requestTimeout: timeout),
                       logger: Logger(label: "http-client-test"))
    }

    static func get(_ target: String, method: String = "GET") -> HTTPRequestHead {
        HTTPRequestHead(method: method, target: target, version: .http1_1, headers: HTTPHeaders())
    }

    @Test func keepAlivePoolReusesConnections() async throws {
        let peer = try await ScriptedPeer()
        let client = try Self.client(peer)
        var numbers: [String] = []
        for _ in 0..<5 {
            let r = try await client.execute(Self.get("/conn"))
            numbers.append(String(decoding: r.body, as: UTF8.self))
        }
        #expect(Set(numbers).count == 1)
        #expect(client.idleConnectionCount == 1)
        // Concurrent requests open more connections; they all go back to the pool.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await client.execute(Self.get("/len/100000")) } }
            try await group.waitForAll()
        }
        #expect(client.idleConnectionCount >= 1)
        #expect(peer.accepted >= 1 && peer.accepted <= 4)
        await client.shutdown()

        // Connection: close is honoured: that connection is not pooled, the next request opens another.
        let single = try Self.client(peer)
        let before = peer.accepted
        let bye = try await single.execute(Self.get("/bye"))
        #expect(bye.body == Array("ok".utf8))
        #expect(single.idleConnectionCount == 0)
        let next = try await single.execute(Self.get("/conn"))
        #expect(String(decoding: next.body, as: UTF8.self) == String(before + 2))
        #expect(single.idleConnectionCount == 1)
        await single.shutdown()
        await peer.close()
    }

    @Test func bodiesFramedByLengthChunksAndClose() async throws {
        let peer = try await ScriptedPeer()
        let client = try Self.client(peer)
        let length = try await client.execute(Self.get("/len/100000"))
        #expect(length.status == 200)
        #expect(length.body == ScriptedPeer.pattern(100_000))
        let chunked = try await client.execute(Self.get("/chunked/123456"))
        #expect(chunked.body == ScriptedPeer.pattern(123_456))
        #expect(chunked.headers["x-test"] == "yes")
        let empty = try await client.execute(Self.get("/chunked/0"))
        #expect(empty.body.isEmpty)
        let closed = try await client.execute(Self.get("/close/5000"))
        #expect(closed.body == ScriptedPeer.pattern(5000))
        // HEAD: a Content-Length but no body; the connection stays usable.
        let head = try await client.execute(Self.get("/head", method: "HEAD"))
        #expect(head.headers["Content-Length"] == "1000")
        #expect(head.body.isEmpty)
        let after = try await client.execute(Self.get("/len/3"))
        #expect(after.body == ScriptedPeer.pattern(3))
        await client.shutdown()
        await peer.close()
    }

    @Test func streamingDownloadGoesToTheSink() async throws {
        let peer = try await ScriptedPeer()
        let client = try Self.client(peer)
        let collected = Mutex<(heads: Int, bytes: [UInt8], pieces: Int)>((0, [], 0))
        let response = try await client.execute(Self.get("/chunked/3000000")) { part in
            collected.withLock { c in
                switch part {
                case .head: c.heads += 1
                case .body(let b):
                    b.withUnsafeReadableBytes { c.bytes.append(contentsOf: $0) }
                    c.pieces += 1
                case .end: break
                }
            }
        }
        #expect(response.body.isEmpty)
        let (heads, bytes, pieces) = collected.withLock { ($0.heads, $0.bytes, $0.pieces) }
        #expect(heads == 1)
        #expect(bytes == ScriptedPeer.pattern(3_000_000))
        #expect(pieces > 1)
        await client.shutdown()
        await peer.close()
    }

    @Test func streamingUploadWithLengthAndChunked() async throws {
        let peer = try await ScriptedPeer()
        let client = try Self.client(peer)
        let data = ScriptedPeer.pattern(1_000_000)
        let pieces: [[UInt8]] = stride(from: 0, to: data.count, by: 65_536).map { Array(data[$0..<min($0 + 65_536, data.count)]) }
        let put = HTTPRequestHead(method: "PUT", target: "/echo", version: .http1_1, headers: HTTPHeaders())

        let sized = try await client.execute(put, length: data.count, stream: Pieces(pieces: pieces))
        #expect(sized.headers["x-framing"] == "length")
        #expect(sized.body == data)
        let chunked = try await client.execute(put, length: nil, stream: Pieces(pieces: pieces))
        #expect(chunked.headers["x-framing"] == "chunked")
        #expect(chunked.body == data)
        let none = try await client.execute(put, length: nil, stream: Pieces(pieces: []))
        #expect(none.body.isEmpty)
        // All of that over one kept-alive connection.
        #expect(peer.accepted == 1)

        // A stream shorter than its Content-Length fails and the connection is dropped.
        await #expect(throws: HTTPError.self) {
            _ = try await client.execute(put, length: 10, stream: Pieces(pieces: [[1, 2, 3]]))
        }
        await #expect(throws: HTTPError.self) {
            _ = try await client.execute(put, length: 2, stream: Pieces(pieces: [[1, 2, 3]]))
        }
        let again = try await client.execute(put, length: 3, stream: Pieces(pieces: [[1], [2, 3]]))
        #expect(again.body == [1, 2, 3])
        await client.shutdown()
        await peer.close()
    }

    @Test func earlyAnswerToAnUploadIsReturned() async throws {
        let peer = try await ScriptedPeer()
        let client = try Self.client(peer)
        let put = HTTPRequestHead(method: "PUT", target: "/reject", version: .http1_1,
                                  headers: HTTPHeaders([("Expect-Nothing", "1")]))
        // The peer answers 413 after the head; whatever of the body it did not read is dropped.
        let big: [[UInt8]] = Array(repeating: [UInt8](repeating: 1, count: 1 << 20), count: 64)
        do {
            let r = try await client.execute(put, length: 64 << 20, stream: Pieces(pieces: big))
            #expect(r.status == 413)
        } catch let error as HTTPError {
            // The reset can beat the answer to us; then it is a connection error, never a hang.
            #expect(error.code == .connection || error.code == .unexpectedEnd)
        }
        #expect(client.idleConnectionCount == 0)
        await client.shutdown()
        await peer.close()
    }

    @Test func requestTimeoutClosesTheConnection() async throws {
        let peer = try await ScriptedPeer()
        let client = try Self.client(peer, timeout: .milliseconds(300))
        do {
            _ = try await client.execute(Self.get("/slow"))
            Issue.record("a request without an answer returned")
        } catch let error as HTTPError {
            #expect(error.code == .connection)
            #expect(error.description.contains("no complete response"))
        }
        #expect(client.idleConnectionCount == 0)
        // A per-request timeout overrides the configured one (generous: other suites share the event loops).
        let ok = try await client.execute(Self.get("/len/10"), timeout: .seconds(60))
        #expect(ok.body == ScriptedPeer.pattern(10))
        await client.shutdown()
        await peer.close()
    }

    @Test func idleConnectionClosedByThePeerIsReplaced() async throws {
        let peer = try await ScriptedPeer()
        let client = try Self.client(peer)
        _ = try await client.execute(Self.get("/drop-idle"))
        try await Task.sleep(for: .milliseconds(200))
        let r = try await client.execute(Self.get("/conn"))
        #expect(String(decoding: r.body, as: UTF8.self) == "2")
        await client.shutdown()
        await peer.close()
    }

    @Test func connectFailureAndShutdown() async throws {
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: 1, connectTimeout: .seconds(2)),
                                    logger: Logger(label: "http-client-test"))
        do {
            _ = try await client.execute(Self.get("/"))
            Issue.record("connected to port 1")
        } catch let error as HTTPError {
            #expect(error.code == .connection)
        }
        await client.shutdown()
        do {
            _ = try await client.execute(Self.get("/"))
            Issue.record("a shut-down client sent a request")
        } catch let error as HTTPError {
            #expect(error.description.contains("shut down"))
        }
    }
}
