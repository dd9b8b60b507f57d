public import Logging
public import NIOCore

/// Client-side TLS over the system OpenSSL as a NIO channel handler.
///
/// Put it first in the pipeline (nearest the socket). The handshake starts when the channel
/// becomes active, or at once when the handler is added to an active channel (PostgreSQL starts
/// TLS after its SSLRequest exchange). Writes made before the handshake finishes are held and sent
/// after it. Decrypted bytes go up as `ByteBuffer`s; `close` sends close_notify. Failures are
/// `TLSError`s: they fail the handshake future, go down the pipeline with `fireErrorCaught`, and
/// close the channel.
public final class OpenSSLClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    let engine: TLSEngine

    /// - Parameters:
    ///   - serverHostname: the host connected to; `configuration.serverName` takes precedence.
    ///   - handshakePromise: completed when the handshake succeeds or fails.
    public init(context: TLSContext, serverHostname: String?, logger: Logger,
                handshakePromise: EventLoopPromise<Void>? = nil) {
        let name = context.configuration?.serverName ?? serverHostname
        engine = TLSEngine(context: context, role: .client(serverName: name), logger: logger,
                           handshakePromise: handshakePromise)
    }

    /// Completes when the handshake is done; available once the handler is in a pipeline and until
    /// the handshake ends.
    public var handshakeFuture: EventLoopFuture<Void>? { engine.handshakeFuture }
    /// "TLSv1.3" or "TLSv1.2" once the handshake is done.
    public var negotiatedVersion: String? { engine.negotiatedVersion }
    /// Channel-binding data for SCRAM-SHA-256-PLUS (RFC 5929 tls-server-end-point).
    public func serverCertificateEndPointHash() -> [UInt8]? { engine.peerCertificateEndPointHash() }

    public func handlerAdded(context: ChannelHandlerContext) { engine.handlerAdded(context: context) }
    public func handlerRemoved(context: ChannelHandlerContext) { engine.handlerRemoved(context: context) }
    public func channelActive(context: ChannelHandlerContext) {
        engine.start(context: context)
        context.fireChannelActive()
    }
    public func channelInactive(context: ChannelHandlerContext) { engine.channelInactive(context: context) }
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        engine.channelRead(context: context, data: unwrapInboundIn(data))
    }
    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        engine.errorCaught(context: context, error: error)
    }
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        engine.write(context: context, data: unwrapOutboundIn(data), promise: promise)
    }
    public func flush(context: ChannelHandlerContext) { engine.flush(context: context) }
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        engine.close(context: context, mode: mode, promise: promise)
    }
}

@available(*, unavailable)
extension OpenSSLClientHandler: Sendable {}

/// The server side, for tests (an in-process TLS peer) and local tooling.
public final class OpenSSLServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    let engine: TLSEngine

    public init(context: TLSContext, logger: Logger, handshakePromise: EventLoopPromise<Void>? = nil) {
        engine = TLSEngine(context: context, role: .server, logger: logger, handshakePromise: handshakePromise)
    }

    public var handshakeFuture: EventLoopFuture<Void>? { engine.handshakeFuture }
    public var negotiatedVersion: String? { engine.negotiatedVersion }

    public func handlerAdded(context: ChannelHandlerContext) { engine.handlerAdded(context: context) }
    public func handlerRemoved(context: ChannelHandlerContext) { engine.handlerRemoved(context: context) }
    public func channelActive(context: ChannelHandlerContext) {
        engine.start(context: context)
        context.fireChannelActive()
    }
    public func channelInactive(context: ChannelHandlerContext) { engine.channelInactive(context: context) }
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        engine.channelRead(context: context, data: unwrapInboundIn(data))
    }
    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        engine.errorCaught(context: context, error: error)
    }
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        engine.write(context: context, data: unwrapOutboundIn(data), promise: promise)
    }
    public func flush(context: ChannelHandlerContext) { engine.flush(context: context) }
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        engine.close(context: context, mode: mode, promise: promise)
    }
}

@available(*, unavailable)
extension OpenSSLServerHandler: Sendable {}

/// Adds client TLS in front of everything in `channel`'s pipeline and returns a future that
/// completes when the handshake has finished (or fails with a `TLSError`). Works on a channel
/// that is already active (PostgreSQL after SSLRequest) as on one that is about to connect.
public func addTLS(to channel: any Channel, context: TLSContext, serverHostname: String?,
                   logger: Logger) -> EventLoopFuture<Void> {
    channel.eventLoop.flatSubmit {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = OpenSSLClientHandler(context: context, serverHostname: serverHostname, logger: logger,
                                           handshakePromise: promise)
        do {
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        } catch {
            promise.fail(TLSError(.ioError, "cannot start TLS with \(serverHostname ?? "server"): \(error)", cause: error))
        }
        return promise.futureResult
    }
}

/// `addTLS` with a fresh context from `configuration` (loads the CA and key files each call;
/// long-lived clients should make one `TLSContext` and reuse it).
public func addTLS(to channel: any Channel, configuration: TLSConfiguration, serverHostname: String?,
                   logger: Logger) -> EventLoopFuture<Void> {
    do {
        let context = try TLSContext(configuration: configuration)
        return addTLS(to: channel, context: context, serverHostname: serverHostname, logger: logger)
    } catch {
        return channel.eventLoop.makeFailedFuture(error)
    }
}
