import NIOCore

/// Frames backend messages and hands them to one async consumer in batches, reading from the
/// socket only while fewer than `highWatermark` bytes wait (the channel runs with autoRead off),
/// so a slow consumer holds the server back instead of growing memory.
final class PgChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var cumulation: ByteBuffer?
    /// Whether `cumulation` is a buffer made here for a partial message (no one else shares it).
    private var ownsCumulation = false
    private let decoder: BackendMessageDecoder
    private var pending: [BackendMessage] = []
    private var pendingBytes = 0
    private(set) var peakBufferedBytes = 0
    private var waiter: EventLoopPromise<[BackendMessage]>?
    private var sslWaiter: EventLoopPromise<UInt8>?
    private var failure: PostgresError?
    private var inactive = false
    private var readInFlight = false
    private var context: ChannelHandlerContext?
    let highWatermark: Int

    init(highWatermark: Int, decoder: BackendMessageDecoder = .init()) {
        self.highWatermark = highWatermark
        self.decoder = decoder
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if let sslWaiter {
            // The SSLRequest answer is one byte; anything after it, before TLS starts, could be
            // injected by an attacker (CVE-2021-23222), so it is an error.
            self.sslWaiter = nil
            let byte = incoming.readInteger(as: UInt8.self) ?? 0
            if incoming.readableBytes > 0 {
                sslWaiter.fail(PostgresError(code: .protocolViolation, context: "unexpected data after the SSLRequest answer"))
                context.close(promise: nil)
            } else {
                sslWaiter.succeed(byte)
            }
            return
        }
        guard failure == nil else { return }
        do {
            // A message that began in an earlier read is completed in a buffer of its own with
            // just the bytes it lacks; the rest of this read is decoded where it lies. (Appending
            // every read to the leftover copied all data once more, into fresh memory, since the
            // delivered messages still share the leftover's storage.)
            while cumulation.map({ $0.readableBytes > 0 }) == true, incoming.readableBytes > 0 {
                let take = min(missingBytes(cumulation!), incoming.readableBytes)
                guard take > 0 else { break }   // an invalid length: decoding below reports it
                if !ownsCumulation {
                    var own = context.channel.allocator.buffer(capacity: cumulation!.readableBytes + min(take, 1 << 20))
                    own.writeImmutableBuffer(cumulation!)
                    cumulation = own
                    ownsCumulation = true
                }
                cumulation!.writeImmutableBuffer(incoming.readSlice(length: take)!)
                if let m = try decoder.decode(&cumulation!) {
                    pendingBytes &+= Self.size(of: m)
                    pending.append(m)
                }
            }
            if cumulation.map({ $0.readableBytes == 0 }) ?? true {
                cumulation = incoming
                ownsCumulation = false
            }
            while true {
                guard let m = try decoder.decode(&cumulation!) else { break }
                pendingBytes &+= Self.size(of: m)
                pending.append(m)
            }
        } catch {
            failure = error
            context.close(promise: nil)
        }
        let buffered = pendingBytes &+ (cumulation?.readableBytes ?? 0)
        if buffered > peakBufferedBytes { peakBufferedBytes = buffered }
    }

    /// Bytes still missing from the message that starts `partial` (its 5-byte header first); 0
    /// when its length is invalid.
    private func missingBytes(_ partial: ByteBuffer) -> Int {
        guard partial.readableBytes >= 5 else { return 5 - partial.readableBytes }
        guard let length = partial.getInteger(at: partial.readerIndex + 1, as: Int32.self),
              length >= 4, Int(length) - 4 <= decoder.maximumMessageSize else { return 0 }
        return max(0, 1 + Int(length) - partial.readableBytes)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readInFlight = false
        deliver()
        readIfRoom()
    }

    func channelInactive(context: ChannelHandlerContext) {
        inactive = true
        if let sslWaiter {
            self.sslWaiter = nil
            sslWaiter.fail(PostgresError(code: .connectionClosed, context: "closed while waiting for the SSLRequest answer"))
        }
        deliver()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failure == nil {
            failure = error as? PostgresError ?? PostgresError(code: .connectionClosed, context: "connection error", cause: error)
        }
        deliver()
        context.close(promise: nil)
    }

    /// Waits for the one-byte answer to an SSLRequest.
    func waitForSSLAnswer(_ promise: EventLoopPromise<UInt8>) {
        sslWaiter = promise
        context?.read()
    }

    /// Completes `promise` with every message decoded so far, waiting for at least one.
    func nextBatch(_ promise: EventLoopPromise<[BackendMessage]>) {
        precondition(waiter == nil, "one consumer at a time")
        waiter = promise
        deliver()
        readIfRoom()
    }

    private func deliver() {
        guard let w = waiter else { return }
        if !pending.isEmpty {
            waiter = nil
            let batch = pending
            pending = []
            pending.reserveCapacity(batch.count)
            pendingBytes = 0
            w.succeed(batch)
        } else if let failure {
            waiter = nil
            w.fail(failure)
        } else if inactive {
            waiter = nil
            w.fail(PostgresError(code: .connectionClosed, context: "the server closed the connection"))
        }
    }

    private func readIfRoom() {
        guard let context, !inactive, !readInFlight, failure == nil, pendingBytes < highWatermark else { return }
        readInFlight = true
        context.read()
    }

    private static func size(of m: BackendMessage) -> Int {
        switch m {
        case .copyData(let b): return b.readableBytes &+ 16
        case .dataRow(let r): return r.bytes.readableBytes &+ 16
        default: return 64
        }
    }
}
