public import Logging
public import NIOCore
internal import NIOPosix
internal import Synchronization

/// A minimal HTTP/1.1 server: one request at a time per connection (pipelined requests are
/// answered in order), keep-alive, `Connection: close`, 400 for a malformed request.
/// `run()` serves until its task is cancelled, then closes the listening socket and every connection.
public final class HTTPServer: Sendable {
    public typealias Router = @Sendable (HTTPRequest) async -> HTTPResponse

    public struct Configuration: Sendable {
        /// Address to listen on; port 0 picks a free port (see `localAddress()`).
        public var host: String
        public var port: Int
        public var limits: HTTPParserLimits
        /// A connection with no complete request for this long is closed.
        public var idleTimeout: TimeAmount

        public init(host: String, port: Int, limits: HTTPParserLimits = HTTPParserLimits(maxBodySize: 64 * 1024),
                    idleTimeout: TimeAmount = .seconds(60)) {
            self.host = host
            self.port = port
            self.limits = limits
            self.idleTimeout = idleTimeout
        }
    }

    private enum BindState {
        case notYet
        case bound(SocketAddress)
        case failed(HTTPError)
        case stopped
    }

    public let configuration: Configuration
    private let router: Router
    private let logger: Logger
    private let group: any EventLoopGroup
    private let bindState = Mutex<BindState>(.notYet)

    public init(configuration: Configuration, logger: Logger, eventLoopGroup: (any EventLoopGroup)? = nil,
                router: @escaping Router) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
    }

    /// The address the server listens on, once `run()` has bound it; waits up to `timeout`.
    public func localAddress(timeout: Duration = .seconds(10)) async throws -> SocketAddress {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let state = bindState.withLock { $0 }
            switch state {
            case .bound(let a): return a
            case .failed(let e): throw e
            case .stopped: throw HTTPError(.connection, "server stopped")
            case .notYet:
                if clock.now >= deadline { throw HTTPError(.connection, "not bound after \(timeout)") }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Binds and serves until cancelled.
    public func run() async throws {
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 64)
                .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .bind(host: configuration.host, port: configuration.port) { [idleTimeout = configuration.idleTimeout] channel in
                    channel.eventLoop.makeCompletedFuture {
                        // An idle connection (no bytes either way) is closed: no slow-loris pile-up.
                        try channel.pipeline.syncOperations.addHandlers([
                            IdleStateHandler(allTimeout: idleTimeout), CloseOnIdleHandler(),
                        ])
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            let e = HTTPError(.connection, "bind \(configuration.host):\(configuration.port)", cause: error)
            bindState.withLock { $0 = .failed(e) }
            throw e
        }
        if let address = server.channel.localAddress {
            bindState.withLock { $0 = .bound(address) }
        }
        defer { bindState.withLock { $0 = .stopped } }
        let serverChannel = server.channel
        try await withTaskCancellationHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
                // The listening socket is closed: stop the connections too.
                group.cancelAll()
            }
        } onCancel: {
            serverChannel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let channel = connection.channel
        do {
            try await withTaskCancellationHandler {
                try await connection.executeThenClose { inbound, outbound in
                    var parser = HTTPRequestParser(limits: configuration.limits)
                    var buffer = ByteBuffer()
                    for try await chunk in inbound {
                        var chunk = chunk
                        buffer.writeBuffer(&chunk)
                        parsing: while true {
                            let parsed: Result<HTTPRequest?, HTTPError>
                            do throws(HTTPError) {
                                parsed = .success(try parser.parse(&buffer))
                            } catch {
                                parsed = .failure(error)
                            }
                            let request: HTTPRequest
                            switch parsed {
                            case .success(nil): break parsing
                            case .success(let r?): request = r
                            case .failure(let error):
                                logger.debug("bad HTTP request", metadata: ["error": "\(error)"])
                                try await outbound.write(Self.encode(Self.errorResponse(for: error), close: true))
                                return
                            }
                            var response = await router(request)
                            let close = !request.head.keepAlive || Task.isCancelled
                            if request.method == "HEAD" {
                                response.head.headers.replace("Content-Length", String(response.body.count))
                                response.body = []
                            }
                            try await outbound.write(Self.encode(response, close: close))
                            if close { return }
                        }
                        buffer.discardReadBytes()
                    }
                }
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch {
            logger.trace("HTTP connection ended", metadata: ["error": "\(error)"])
        }
    }

    private static func errorResponse(for error: HTTPError) -> HTTPResponse {
        let status: Int
        switch error.code {
        case .bodyTooLarge: status = 413
        case .headersTooLarge, .tooManyHeaders: status = 431
        case .unsupportedVersion: status = 505
        case .unsupportedTransferEncoding: status = 501
        default: status = 400
        }
        return .text(status, "\(error.code)\n")
    }

    private static func encode(_ response: HTTPResponse, close: Bool) -> ByteBuffer {
        var response = response
        if close {
            response.head.headers.replace("Connection", "close")
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(response.body.count + 256)
        response.serialize(into: &buffer)
        return buffer
    }
}

extension HTTPServer {
    /// A router that answers 404 for unknown paths and 405 for known paths with another method.
    /// `routes` maps a path to its handler for GET (and HEAD).
    public static func getRouter(_ routes: [String: @Sendable (HTTPRequest) async -> HTTPResponse]) -> Router {
        { request in
            guard let handler = routes[request.path] else {
                return .text(404, "not found\n")
            }
            guard request.method == "GET" || request.method == "HEAD" else {
                var r = HTTPResponse.text(405, "method not allowed\n")
                r.head.headers.add("Allow", "GET, HEAD")
                return r
            }
            return await handler(request)
        }
    }
}

/// Closes the connection when `IdleStateHandler` reports it idle.
final class CloseOnIdleHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
