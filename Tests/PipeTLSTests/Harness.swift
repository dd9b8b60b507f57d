import Foundation
import Logging
import NIOCore
import NIOPosix
import PipeTLS
import Testing

#if canImport(Glibc)
import Glibc
#endif

let testLogger: Logger = {
    var logger = Logger(label: "pipe-tls-tests")
    logger.logLevel = .debug
    return logger
}()
let group = MultiThreadedEventLoopGroup.singleton

struct TimeoutError: Error {}
struct ClosedError: Error {}

/// Collects decrypted bytes until `isComplete` says so; fails on an error, on close, or after 10 s.
final class Collector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<[UInt8]>
    let isComplete: @Sendable ([UInt8]) -> Bool
    private var bytes: [UInt8] = []
    private var done = false

    init(promise: EventLoopPromise<[UInt8]>, isComplete: @escaping @Sendable ([UInt8]) -> Bool) {
        self.promise = promise
        self.isComplete = isComplete
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(10)) { loopBound.value.finish(.failure(TimeoutError())) }
    }

    func finish(_ result: Result<[UInt8], any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes += Array(unwrapInboundIn(data).readableBytesView)
        if isComplete(bytes) { finish(.success(bytes)) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { finish(.failure(error)) }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ClosedError()))
        context.fireChannelInactive()
    }
}

/// Echoes what it reads (behind the server's TLS handler).
final class Echo: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

struct Exchange {
    var handshake: Result<Void, any Error>
    var reply: Result<[UInt8], any Error>?
    var version: String?
    var endPointHash: [UInt8]?
    var serverClosed: Bool = false
}

/// Runs a TLS client against an in-process TLS server over a socketpair (no network), handshakes,
/// sends `message` and waits for its echo.
func exchangeInProcess(client: TLSConfiguration, server: TLSServerConfiguration, serverHostname: String? = "localhost",
                       message: [UInt8] = Array("ping".utf8)) async throws -> Exchange {
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
    let clientChannel = try await NIOPipeBootstrap(group: group).takingOwnershipOfDescriptor(inputOutput: fds[0]).get()
    defer {
        clientChannel.close(promise: nil)
        serverChannel.close(promise: nil)
    }
    return try await exchange(over: clientChannel, client: client, serverHostname: serverHostname, message: message)
}

/// Adds TLS to an already connected channel, then sends `message` and waits for `expected` bytes.
func exchange(over channel: any Channel, client: TLSConfiguration, serverHostname: String?, message: [UInt8],
              expectedReply: (@Sendable ([UInt8]) -> Bool)? = nil) async throws -> Exchange {
    // The collector goes in first so that an alert arriving right after the handshake (TLS 1.3
    // client-certificate failures) reaches it.
    let promise = channel.eventLoop.makePromise(of: [UInt8].self)
    let count = message.count
    let isComplete = expectedReply ?? { $0.count >= count }
    do {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(Collector(promise: promise, isComplete: isComplete))
        }.get()
    } catch {
        promise.fail(error)
        return Exchange(handshake: .failure(error))
    }
    let handshake: Result<Void, any Error>
    do {
        try await addTLS(to: channel, configuration: client, serverHostname: serverHostname, logger: testLogger).get()
        handshake = .success(())
    } catch {
        handshake = .failure(error)
    }
    var result = Exchange(handshake: handshake)
    guard case .success = handshake else {
        promise.succeed([])
        return result
    }
    let info = try await channel.eventLoop.submit {
        let handler = try? channel.pipeline.syncOperations.handler(type: OpenSSLClientHandler.self)
        return (handler?.negotiatedVersion, handler?.serverCertificateEndPointHash())
    }.get()
    result.version = info.0
    result.endPointHash = info.1
    channel.writeAndFlush(ByteBuffer(bytes: message), promise: nil)
    do {
        result.reply = .success(try await promise.futureResult.get())
    } catch {
        result.reply = .failure(error)
    }
    return result
}

extension Result {
    var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}

/// The first TLSError of an exchange: from the handshake or, in TLS 1.3, the first read.
func tlsError(_ exchange: Exchange) -> TLSError? {
    if let e = exchange.handshake.failure { return e as? TLSError }
    return exchange.reply?.failure as? TLSError
}

/// A free-ish loopback port for helper servers.
func randomPort() -> Int { Int.random(in: 20_000...60_000) }

/// Waits until something listens on 127.0.0.1:port.
func waitForPort(_ port: Int, seconds: Double = 10) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let ch = try? await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get() {
            try? await ch.close()
            return true
        }
        try? await Task.sleep(nanoseconds: 100_000_000)
    }
    return false
}
