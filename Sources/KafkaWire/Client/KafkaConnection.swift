import NIOCore
import NIOPosix

/// The correlation bookkeeping of one broker connection, as a value: requests get increasing
/// correlation ids; a broker answers requests in the order it received them, so each response
/// must carry the id at the head of the queue. No I/O here; `KafkaChannelHandler` runs it.
struct KafkaCorrelationStateMachine {
    struct Pending {
        var correlationId: Int32
        var apiKey: Int16
        var apiVersion: Int16
    }

    enum ResponseAction: Equatable {
        /// Hand the frame to the request with this correlation id (the queue's head).
        case deliver(correlationId: Int32)
        /// The id matches nothing outstanding: the stream is out of step; close the connection.
        case protocolViolation(expected: Int32?, got: Int32)
    }

    private(set) var nextCorrelationId: Int32
    private(set) var pending: [Pending] = []
    private(set) var isClosed = false

    init(firstCorrelationId: Int32 = 1) {
        nextCorrelationId = firstCorrelationId
    }

    /// A request goes out; returns its correlation id. A request without a response (Produce
    /// with acks=0) gets an id but is not queued.
    mutating func requestSent(apiKey: Int16, apiVersion: Int16, expectsResponse: Bool) -> Int32 {
        let id = nextCorrelationId
        nextCorrelationId = nextCorrelationId == Int32.max ? 1 : nextCorrelationId + 1
        if expectsResponse {
            pending.append(Pending(correlationId: id, apiKey: apiKey, apiVersion: apiVersion))
        }
        return id
    }

    mutating func responseReceived(correlationId: Int32) -> ResponseAction {
        guard let head = pending.first, head.correlationId == correlationId else {
            return .protocolViolation(expected: pending.first?.correlationId, got: correlationId)
        }
        pending.removeFirst()
        return .deliver(correlationId: correlationId)
    }

    /// Whether a request with this id still waits for its response (its timer checks this).
    func isPending(_ correlationId: Int32) -> Bool {
        pending.contains { $0.correlationId == correlationId }
    }

    /// The connection closed or failed: every outstanding request fails; nothing more is queued.
    mutating func closed() -> [Pending] {
        isClosed = true
        let all = Array(pending)
        pending.removeAll()
        return all
    }
}

/// One request on its way to the channel: a whole frame whose correlation id (bytes 8..<12)
/// the handler fills in, and the promise for the response frame.
struct KafkaOutboundRequest {
    var frame: ByteBuffer
    var apiKey: Int16
    var apiVersion: Int16
    var timeout: TimeAmount
    /// nil for a request the broker does not answer.
    var promise: EventLoopPromise<ByteBuffer>?
}

/// Frames requests, matches responses by correlation id, and times requests out. All its state
/// lives on the channel's event loop.
final class KafkaChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = KafkaOutboundRequest
    typealias OutboundOut = ByteBuffer

    private var state = KafkaCorrelationStateMachine()
    private var promises: [Int32: (EventLoopPromise<ByteBuffer>, Scheduled<Void>?)] = [:]
    private var inbound: ByteBuffer?
    private let peer: String
    private let maxFrameSize: Int

    init(peer: String, maxFrameSize: Int = 256 << 20) {
        self.peer = peer
        self.maxFrameSize = maxFrameSize
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var request = unwrapOutboundIn(data)
        guard !state.isClosed else {
            request.promise?.fail(KafkaWireError(.connectionFailed, "\(peer): connection closed"))
            promise?.fail(KafkaWireError(.connectionFailed, "\(peer): connection closed"))
            return
        }
        let id = state.requestSent(apiKey: request.apiKey, apiVersion: request.apiVersion,
                                   expectsResponse: request.promise != nil)
        request.frame.setInteger(id, at: request.frame.readerIndex + 8)
        if let responsePromise = request.promise {
            // The timer fires on this event loop, where the handler and context live.
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let timer: Scheduled<Void> = context.eventLoop.scheduleTask(in: request.timeout) {
                let (handler, context) = bound.value
                handler.timedOut(correlationId: id, context: context)
            }
            promises[id] = (responsePromise, timer)
        }
        context.write(wrapOutboundOut(request.frame), promise: promise)
    }

    private func timedOut(correlationId: Int32, context: ChannelHandlerContext) {
        guard state.isPending(correlationId), let (promise, _) = promises.removeValue(forKey: correlationId) else { return }
        promise.fail(KafkaWireError(.timedOut, "\(peer): no response to request \(correlationId)"))
        // The broker may still answer it; the stream is out of step, so this connection goes.
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if inbound == nil || inbound!.readableBytes == 0 {
            inbound = bytes
        } else {
            inbound!.writeBuffer(&bytes)
        }
        do {
            while var buffer = inbound, let frame = try KafkaFrame.readFrame(from: &buffer, maxSize: maxFrameSize) {
                inbound = buffer
                guard let id = KafkaFrame.peekCorrelationId(frame) else {
                    throw KafkaWireError(.truncated, "\(peer): response without a header")
                }
                switch state.responseReceived(correlationId: id) {
                case .deliver:
                    if let (promise, timer) = promises.removeValue(forKey: id) {
                        timer?.cancel()
                        promise.succeed(frame)
                    }
                case .protocolViolation(let expected, let got):
                    throw KafkaWireError(.protocolViolation, "\(peer): correlation id \(got), expected \(expected.map(String.init) ?? "none")")
                }
            }
            if let b = inbound, b.readableBytes == 0 { inbound = nil }
            else if inbound != nil { inbound!.discardReadBytes() }
        } catch {
            failAll(error as? KafkaWireError ?? KafkaWireError(.connectionFailed, peer, cause: error))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(KafkaWireError(.connectionFailed, "\(peer): \(error)", cause: error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(KafkaWireError(.connectionFailed, "\(peer): connection closed"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: KafkaWireError) {
        for p in state.closed() {
            if let (promise, timer) = promises.removeValue(forKey: p.correlationId) {
                timer?.cancel()
                promise.fail(error)
            }
        }
    }
}

/// One broker connection: a NIO channel running `KafkaChannelHandler`, and the api versions
/// negotiated with the broker.
final class KafkaConnection: Sendable {
    let channel: any Channel
    let peer: String
    let brokerID: Int32?
    /// Per api key, the version both sides speak (the highest common one).
    let versions: [Int16: Int16]

    private init(channel: any Channel, peer: String, brokerID: Int32?, versions: [Int16: Int16]) {
        self.channel = channel
        self.peer = peer
        self.brokerID = brokerID
        self.versions = versions
    }

    var isActive: Bool { channel.isActive }

    /// The highest versions this client speaks per api (capped where a newer version changes
    /// shapes this client does not use, such as topic ids in Fetch v13).
    static let clientMaxVersions: [Int16: Int16] = [
        KafkaAPIKey.produce: 9, KafkaAPIKey.fetch: 12, KafkaAPIKey.listOffsets: 7,
        KafkaAPIKey.metadata: 12, KafkaAPIKey.apiVersions: 3, KafkaAPIKey.createTopics: 7,
        KafkaAPIKey.deleteTopics: 6, KafkaAPIKey.initProducerId: 4, KafkaAPIKey.addPartitionsToTxn: 3,
        KafkaAPIKey.endTxn: 3, KafkaAPIKey.findCoordinator: 3, KafkaAPIKey.describeConfigs: 4,
        KafkaAPIKey.saslHandshake: 1, KafkaAPIKey.saslAuthenticate: 2,
        // The group APIs at librdkafka's versions: its mock cluster advertises JoinGroup v6
        // (flexible) but closes the connection on it.
        KafkaAPIKey.joinGroup: 5, KafkaAPIKey.syncGroup: 3, KafkaAPIKey.heartbeat: 3, KafkaAPIKey.leaveGroup: 3,
    ]

    /// Picks the highest version both sides support; nil when the ranges do not meet.
    static func negotiate(apiKey: Int16, brokerMin: Int16, brokerMax: Int16) -> Int16? {
        guard let info = KafkaAPIInfo.forKey(apiKey) else { return nil }
        let ours = min(info.maxVersion, clientMaxVersions[apiKey] ?? info.maxVersion)
        let high = min(ours, brokerMax)
        return high >= max(info.minVersion, brokerMin) ? high : nil
    }

    static func connect(host: String, port: Int, brokerID: Int32?, configuration: KafkaClientConfiguration,
                        group: any EventLoopGroup) async throws -> KafkaConnection {
        let peer = "\(host):\(port)"
        let hook = configuration.channelInitializer
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    let pre: EventLoopFuture<Void> = hook?(channel) ?? channel.eventLoop.makeSucceededVoidFuture()
                    return pre.flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(KafkaChannelHandler(peer: peer))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw KafkaWireError(.connectionFailed, "\(peer): \(error)", cause: error)
        }
        let bare = KafkaConnection(channel: channel, peer: peer, brokerID: brokerID, versions: [:])
        do {
            var response: ApiVersionsResponse
            do {
                response = try await bare.send(ApiVersionsRequest(clientSoftwareName: "kafka-pipe", clientSoftwareVersion: "1"),
                                               version: 3, clientID: configuration.clientID,
                                               timeout: configuration.requestTimeout)
            } catch let e as KafkaWireError where e.code != .timedOut && e.code != .connectionFailed {
                response = ApiVersionsResponse(errorCode: KafkaErrorCode.unsupportedVersion.rawValue)
            }
            if response.errorCode == KafkaErrorCode.unsupportedVersion.rawValue {
                // The broker answers an unknown version with v0; ask again at v0.
                response = try await bare.send(ApiVersionsRequest(), version: 0, clientID: configuration.clientID,
                                               timeout: configuration.requestTimeout)
            }
            guard response.errorCode == 0 else {
                throw KafkaWireError.broker(KafkaErrorCode(response.errorCode), "\(peer) ApiVersions")
            }
            var versions: [Int16: Int16] = [:]
            for api in response.apiKeys {
                if let v = negotiate(apiKey: api.apiKey, brokerMin: api.minVersion, brokerMax: api.maxVersion) {
                    versions[api.apiKey] = v
                }
            }
            return KafkaConnection(channel: channel, peer: peer, brokerID: brokerID, versions: versions)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    func version<R: KafkaRequest>(for request: R.Type) throws -> Int16 {
        guard let v = versions[R.apiKey] else {
            throw KafkaWireError(.unsupportedVersion, "\(peer) supports no common version of api \(R.apiKey)")
        }
        return v
    }

    /// Sends one request and waits for its response (or its timeout).
    func send<R: KafkaRequest>(_ request: R, version: Int16? = nil, clientID: String?,
                               timeout: TimeAmount) async throws -> R.Response {
        let v = try version ?? self.version(for: R.self)
        var frame = channel.allocator.buffer(capacity: 256)
        try KafkaFrame.encodeRequest(request, version: v, correlationId: 0, clientId: clientID, into: &frame)
        var body = try await sendFrame(frame, apiKey: R.apiKey, version: v, timeout: timeout)
        do {
            return try KafkaFrame.decodeResponse(to: R.self, version: v, from: &body).response
        } catch var e as KafkaWireError {
            e.context = "\(peer): \(e.context)"
            throw e
        }
    }

    /// Sends an encoded request frame (its correlation id is filled in on the event loop) and
    /// returns the response frame without its size prefix.
    func sendFrame(_ frame: ByteBuffer, apiKey: Int16, version: Int16, timeout: TimeAmount) async throws -> ByteBuffer {
        try await writeFrame(frame, apiKey: apiKey, version: version, timeout: timeout).get()
    }

    /// Writes a request now (in the caller's order) and returns the future of its response.
    /// Writes from one thread reach the channel in the order they were made, which the
    /// producer relies on to keep a partition's batches in sequence.
    func writeFrame(_ frame: ByteBuffer, apiKey: Int16, version: Int16, timeout: TimeAmount) -> EventLoopFuture<ByteBuffer> {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let request = KafkaOutboundRequest(frame: frame, apiKey: apiKey, apiVersion: version, timeout: timeout,
                                           promise: promise)
        channel.writeAndFlush(request).whenFailure { error in
            promise.fail(KafkaWireError(.connectionFailed, "\(self.peer): \(error)", cause: error))
        }
        return promise.futureResult
    }

    func close() async {
        try? await channel.close()
    }
}
