public import Logging
public import NIOCore
internal import NIOPosix
public import PipeTLS
internal import Synchronization

/// An HTTP/1.1 client for one origin (host, port, optional TLS) with a keep-alive connection pool.
/// One request at a time per connection; bodies are framed by Content-Length, chunked encoding or
/// connection close (the shared `HTTPResponseParser`). Response bodies can be collected or streamed
/// to a sink. Every request has a deadline; a connection that misses it is closed.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// TLS through PipeTLS when set.
        public var tls: TLSConfiguration?
        /// The name checked against the certificate and sent as SNI (default: `host`).
        public var serverHostname: String?
        public var connectTimeout: TimeAmount
        /// Whole-exchange limit for one request (sending and receiving).
        public var requestTimeout: TimeAmount
        /// Most idle connections kept for reuse.
        public var maxIdleConnections: Int

        public init(host: String, port: Int, tls: TLSConfiguration? = nil, serverHostname: String? = nil,
                    connectTimeout: TimeAmount = .seconds(10), requestTimeout: TimeAmount = .seconds(120),
                    maxIdleConnections: Int = 16) {
            self.host = host
            self.port = port
            self.tls = tls
            self.serverHostname = serverHostname
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.maxIdleConnections = maxIdleConnections
        }
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let tlsContext: TLSContext?
    private let idle = Mutex<[HTTPClientConnection]>([])
    private let isShutdown = Atomic<Bool>(false)

    public init(configuration: Configuration, logger: Logger, eventLoopGroup: (any EventLoopGroup)? = nil) throws {
        self.configuration = configuration
        self.logger = logger
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.tlsContext = try configuration.tls.map { try TLSContext(configuration: $0) }
    }

    /// Closes every idle connection; later requests fail.
    public func shutdown() async {
        isShutdown.store(true, ordering: .sequentiallyConsistent)
        let conns = idle.withLock { list -> [HTTPClientConnection] in
            defer { list.removeAll() }
            return list
        }
        for c in conns { try? await c.channel.close() }
    }

    /// Sends `head` with `body` (Content-Length added when missing and a body or PUT/POST is given)
    /// and returns the response. With `sink`, the head and then the body bytes go to the sink as they
    /// arrive (on the connection's event loop) and the returned response has an empty body.
    /// An answer to HEAD has no body whatever its headers say.
    public func execute(_ head: HTTPRequestHead, body: ByteBuffer? = nil,
                        sink: (@Sendable (HTTPResponsePart) -> Void)? = nil,
                        timeout: TimeAmount? = nil) async throws -> HTTPResponse {
        if isShutdown.load(ordering: .sequentiallyConsistent) { throw HTTPError(.connection, "client shut down") }
        var head = withHost(head)
        if !head.headers.contains("Content-Length") && !head.headers.contains("Transfer-Encoding")
            && (body != nil || head.method == "PUT" || head.method == "POST") {
            head.headers.add("Content-Length", String(body?.readableBytes ?? 0))
        }
        var buffer = ByteBufferAllocator().buffer(capacity: 512)
        HTTPRequest(head: head).serializeHead(into: &buffer)
        let isHead = head.method == "HEAD"
        let limit = timeout ?? configuration.requestTimeout
        // A pooled connection may have been closed by the server while idle: one fresh retry
        // when a reused connection fails before any response byte.
        var attempt = 0
        while true {
            attempt += 1
            let (conn, reused) = try await acquire()
            do {
                let (response, keepAlive) = try await conn.send(head: buffer, body: body, isHead: isHead, sink: sink,
                                                                timeout: limit).get()
                if keepAlive && head.keepAlive { release(conn) } else { conn.channel.close(promise: nil) }
                return response
            } catch let e as HTTPClientConnection.Stale where reused && attempt == 1 {
                _ = e
                continue
            } catch let e as HTTPClientConnection.Stale {
                throw HTTPError(.connection, "connection to \(configuration.host):\(configuration.port) closed before a response",
                                cause: e)
            }
        }
    }

    /// Sends `head` with a body streamed from `body`: with `Content-Length: length` when the length
    /// is known (the stream must yield exactly that many bytes), chunked otherwise. Each buffer is
    /// written before the next is requested, so a slow peer slows the producer down. A streamed body
    /// cannot be replayed: a failure is thrown, never retried here. An answer that arrives before the
    /// whole body was sent (an error, typically) is returned and the connection is not reused.
    public func execute<Body: AsyncSequence>(_ head: HTTPRequestHead, length: Int?, stream body: Body,
                                             sink: (@Sendable (HTTPResponsePart) -> Void)? = nil,
                                             timeout: TimeAmount? = nil) async throws -> HTTPResponse
        where Body.Element == ByteBuffer {
        if isShutdown.load(ordering: .sequentiallyConsistent) { throw HTTPError(.connection, "client shut down") }
        var head = withHost(head)
        head.headers.remove("Content-Length")
        head.headers.remove("Transfer-Encoding")
        if let length {
            head.headers.add("Content-Length", String(length))
        } else {
            head.headers.add("Transfer-Encoding", "chunked")
        }
        var buffer = ByteBufferAllocator().buffer(capacity: 512)
        HTTPRequest(head: head).serializeHead(into: &buffer)
        let limit = timeout ?? configuration.requestTimeout
        var (conn, reused) = try await acquire()
        if reused && !conn.channel.isActive { (conn, reused) = (try await connect(), false) }
        let response = conn.start(head: buffer, isHead: head.method == "HEAD", sink: sink, timeout: limit)
        let channel = conn.channel
        let answered = AnsweredFlag()
        response.whenComplete { _ in answered.set() }
        var sent = 0
        // Whether the whole body went out, so the connection is in a state to be reused.
        var complete = false
        do {
            var stoppedEarly = false
            for try await chunk in body {
                if answered.isSet {   // answered before the body was sent: stop sending
                    stoppedEarly = true
                    break
                }
                let n = chunk.readableBytes
                if n == 0 { continue }
                sent += n
                if let length, sent > length {
                    throw HTTPError(.connection, "request body longer than its Content-Length \(length)")
                }
                if length == nil {
                    var size = channel.allocator.buffer(capacity: 18)
                    size.writeString(String(n, radix: 16) + "\r\n")
                    channel.write(size, promise: nil)
                    channel.write(chunk, promise: nil)
                    try await channel.writeAndFlush(ByteBuffer(string: "\r\n")).get()
                } else {
                    try await channel.writeAndFlush(chunk).get()
                }
            }
            if !stoppedEarly {
                if let length {
                    guard sent == length else {
                        throw HTTPError(.connection, "request body of \(sent) bytes, Content-Length \(length)")
                    }
                    // The peer may answer as soon as the last byte is in, even before our write completes.
                    complete = true
                } else if !answered.isSet {
                    try await channel.writeAndFlush(ByteBuffer(string: "0\r\n\r\n")).get()
                    complete = true
                }
            }
        } catch {
            // The peer may have answered (and closed) while we were writing: prefer its answer.
            channel.close(promise: nil)
            if answered.isSet, let answer = try? await response.get() { return answer.0 }
            throw error
        }
        let answer: (HTTPResponse, Bool)
        do {
            answer = try await response.get()
        } catch let e as HTTPClientConnection.Stale {
            throw HTTPError(.connection, "connection to \(configuration.host):\(configuration.port) closed before a response",
                            cause: e)
        }
        if complete && answer.1 && head.keepAlive { release(conn) } else { channel.close(promise: nil) }
        return answer.0
    }

    /// Idle connections in the pool (tests, metrics).
    public var idleConnectionCount: Int { idle.withLock { $0.count } }

    private func withHost(_ head: HTTPRequestHead) -> HTTPRequestHead {
        var head = head
        if !head.headers.contains("Host") {
            let defaultPort = configuration.tls == nil ? 80 : 443
            head.headers.add("Host", configuration.port == defaultPort ? configuration.host
                                                                       : "\(configuration.host):\(configuration.port)")
        }
        return head
    }

    private func acquire() async throws -> (HTTPClientConnection, Bool) {
        while let c = idle.withLock({ $0.popLast() }) {
            if c.channel.isActive { return (c, true) }
        }
        return (try await connect(), false)
    }

    private func release(_ c: HTTPClientConnection) {
        let keep = !isShutdown.load(ordering: .sequentiallyConsistent) && idle.withLock { list -> Bool in
            guard list.count < configuration.maxIdleConnections else { return false }
            list.append(c)
            return true
        }
        if !keep { c.channel.close(promise: nil) }
    }

    private func connect() async throws -> HTTPClientConnection {
        let handler = HTTPClientConnectionHandler()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.allowRemoteHalfClosure, value: false)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw HTTPError(.connection, "cannot connect to \(configuration.host):\(configuration.port): \(error)", cause: error)
        }
        if let tlsContext {
            do {
                try await addTLS(to: channel, context: tlsContext,
                                 serverHostname: configuration.serverHostname ?? configuration.host, logger: logger).get()
            } catch {
                channel.close(promise: nil)
                throw error
            }
        }
        return HTTPClientConnection(channel: channel, handler: handler)
    }
}

extension HTTPRequest {
    /// The request line and headers only (the body is written separately).
    func serializeHead(into buffer: inout ByteBuffer) {
        buffer.writeString("\(head.method) \(head.target) \(head.version)\r\n")
        for (name, value) in head.headers {
            buffer.writeString(name)
            buffer.writeString(": ")
            buffer.writeString(value)
            buffer.writeString("\r\n")
        }
        buffer.writeString("\r\n")
    }
}

/// Set once a response future completed.
final class AnsweredFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

struct HTTPClientConnection: Sendable {
    /// The connection closed (or failed) before any response byte arrived.
    struct Stale: Error {}

    let channel: any Channel
    let handler: HTTPClientConnectionHandler

    func send(head: ByteBuffer, body: ByteBuffer?, isHead: Bool, sink: (@Sendable (HTTPResponsePart) -> Void)?,
              timeout: TimeAmount) -> EventLoopFuture<(HTTPResponse, Bool)> {
        let response = start(head: head, isHead: isHead, sink: sink, timeout: timeout)
        if let body, body.readableBytes > 0 { channel.writeAndFlush(body, promise: nil) }
        return response
    }

    /// Arms the handler and the deadline and writes the request head; the body follows through
    /// `channel` (writes from other threads keep their order behind this one).
    func start(head: ByteBuffer, isHead: Bool, sink: (@Sendable (HTTPResponsePart) -> Void)?,
               timeout: TimeAmount) -> EventLoopFuture<(HTTPResponse, Bool)> {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: (HTTPResponse, Bool).self)
        loop.execute { [channel, handler] in
            handler.start(promise: promise, isHead: isHead, sink: sink)
            let timer = loop.scheduleTask(in: timeout) {
                handler.fail(HTTPError(.connection, "no complete response within \(timeout.nanoseconds / 1_000_000) ms"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            if !channel.isActive {
                handler.fail(Stale())
                return
            }
            channel.writeAndFlush(head, promise: nil)
        }
        return promise.futureResult
    }
}

/// Reads responses for one connection. Touched only on the channel's event loop.
final class HTTPClientConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private var parser = HTTPResponseParser()
    private var pending: EventLoopPromise<(HTTPResponse, Bool)>?
    private var sink: (@Sendable (HTTPResponsePart) -> Void)?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var received = false
    private var buffer: ByteBuffer?

    func start(promise: EventLoopPromise<(HTTPResponse, Bool)>, isHead: Bool,
               sink: (@Sendable (HTTPResponsePart) -> Void)?) {
        parser = HTTPResponseParser()
        if isHead { parser.expectNoBody() }
        pending = promise
        self.sink = sink
        head = nil
        body = nil
        received = false
    }

    func fail(_ error: any Error) {
        guard let p = pending else { return }
        pending = nil
        p.fail(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        received = true
        drain(context: context)
    }

    private func drain(context: ChannelHandlerContext) {
        guard pending != nil, var buf = buffer else { return }
        buffer = nil
        defer { if pending != nil || buf.readableBytes > 0 { buffer = buf } }
        do {
            while pending != nil, let part = try parser.next(&buf) {
                handle(part, context: context)
            }
        } catch {
            fail(error)
            context.close(promise: nil)
        }
    }

    private func handle(_ part: HTTPResponsePart, context: ChannelHandlerContext) {
        switch part {
        case .head(let h):
            if h.status >= 100 && h.status < 200 {   // 100 Continue and friends: wait for the real head
                return
            }
            head = h
            sink?(part)
        case .body(var b):
            if let sink { sink(.body(b)) } else if body == nil { body = b } else { body!.writeBuffer(&b) }
        case .end:
            guard let h = head, let p = pending else { return }
            pending = nil
            var bytes: [UInt8] = []
            if var b = body { bytes = b.readBytes(length: b.readableBytes) ?? [] }
            body = nil
            p.succeed((HTTPResponse(head: h, body: bytes), h.keepAlive))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if pending != nil {
            if !received {
                fail(HTTPClientConnection.Stale())
            } else {
                do {
                    if let part = try parser.finishPart() { handle(part, context: context) }
                    fail(HTTPError(.unexpectedEnd, "connection closed mid-response"))
                } catch {
                    fail(error)
                }
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if received { fail(HTTPError(.connection, "\(error)", cause: error)) } else { fail(HTTPClientConnection.Stale()) }
        context.close(promise: nil)
    }
}
