import Logging
import NIOCore
import NIOPosix
import PipeTLS
import Synchronization

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
    /// Part of a re-authentication: the first such request waits until every request before it
    /// has its answer, and later ordinary requests wait until `KafkaExclusiveEnd` (KIP-368: no
    /// other request may be in flight while a session is renewed).
    var exclusive = false
}

/// Ends the exclusive phase that the first `exclusive` request began; held requests go out.
struct KafkaExclusiveEnd: Sendable {}

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
    private var exclusive = false
    /// The exclusive request waiting for the requests before it to be answered.
    private var waitingExclusive: (KafkaOutboundRequest, EventLoopPromise<Void>?)?
    /// Ordinary requests written during the exclusive phase, in order.
    private var held: [(KafkaOutboundRequest, EventLoopPromise<Void>?)] = []

    init(peer: String, maxFrameSize: Int = 256 << 20) {
        self.peer = peer
        self.maxFrameSize = maxFrameSize
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if request.exclusive {
            if !exclusive {
                exclusive = true
                if !state.pending.isEmpty {
                    waitingExclusive = (request, promise)
                    return
                }
            }
        } else if exclusive, !state.isClosed {
            held.append((request, promise))
            return
        }
        send(context: context, request: request, promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is KafkaExclusiveEnd else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        exclusive = false
        if let (request, p) = waitingExclusive {
            waitingExclusive = nil
            request.promise?.fail(KafkaWireError(.protocolViolation, "\(peer): re-authentication ended before it began"))
            p?.fail(KafkaWireError(.closed, peer))
        }
        let out = held
        held.removeAll()
        for (request, p) in out { send(context: context, request: request, promise: p) }
        context.flush()
        promise?.succeed()
    }

    private func send(context: ChannelHandlerContext, request: KafkaOutboundRequest, promise: EventLoopPromise<Void>?) {
        guard !state.isClosed else {
            request.promise?.fail(KafkaWireError(.connectionFailed, "\(peer): connection closed"))
            promise?.fail(KafkaWireError(.connectionFailed, "\(peer): connection closed"))
            return
        }
        let id = state.requestSent(apiKey: request.apiKey, apiVersion: request.apiVersion,
                                   expectsResponse: request.promise != nil)
        if let responsePromise = request.promise {
            // The timer fires on this event loop, where the handler and context live.
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let timer: Scheduled<Void> = context.eventLoop.scheduleTask(in: request.timeout) {
                let (handler, context) = bound.value
                handler.timedOut(correlationId: id, context: context)
            }
            promises[id] = (responsePromise, timer)
        }
        // The frame's first 12 bytes (size, API key, version, correlation id) go in a buffer of
        // their own with the id set, the rest as a slice: setting the id in place would copy the
        // whole frame (a produce request of megabytes), whose storage the caller's copy shares.
        let frame = request.frame
        var head = context.channel.allocator.buffer(capacity: 12)
        head.writeImmutableBuffer(frame.getSlice(at: frame.readerIndex, length: 8)!)
        head.writeInteger(id)
        context.write(wrapOutboundOut(head), promise: nil)
        context.write(wrapOutboundOut(frame.getSlice(at: frame.readerIndex + 12, length: frame.readableBytes - 12)!),
                      promise: promise)
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
            if let (request, promise) = waitingExclusive, state.pending.isEmpty {
                waitingExclusive = nil
                send(context: context, request: request, promise: promise)
                context.flush()
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
        var waiting = held
        held.removeAll()
        if let w = waitingExclusive { waiting.insert(w, at: 0) }
        waitingExclusive = nil
        for (request, promise) in waiting {
            request.promise?.fail(error)
            promise?.fail(error)
        }
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
    /// The session re-authentication loop, when the broker granted a session lifetime.
    private let reauthTask = Mutex<Task<Void, Never>?>(nil)
    /// How many times this connection authenticated again after the first time.
    let reauthentications = Atomic<Int>(0)

    private init(channel: any Channel, peer: String, brokerID: Int32?, versions: [Int16: Int16]) {
        self.channel = channel
        self.peer = peer
        self.brokerID = brokerID
        self.versions = versions
    }

    private static let securityLogger = Logger(label: "kafka-pipe.kafka")

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
        let security = configuration.security
        var tlsContext: TLSContext?
        if let tls = security.tls {
            do {
                tlsContext = try TLSContext(configuration: tls)
            } catch {
                throw KafkaWireError(.tlsFailed, "\(peer): \(error)", cause: error)
            }
        }
        let serverName = security.tls?.serverName ?? host
        let handshake = Mutex<EventLoopFuture<Void>?>(nil)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { [tlsContext] channel in
                    let pre: EventLoopFuture<Void> = hook?(channel) ?? channel.eventLoop.makeSucceededVoidFuture()
                    return pre.flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(KafkaChannelHandler(peer: peer))
                        if let tlsContext {
                            let done = addTLS(to: channel, context: tlsContext, serverHostname: serverName,
                                              logger: Self.securityLogger)
                            handshake.withLock { $0 = done }
                        }
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw KafkaWireError(.connectionFailed, "\(peer): \(error)", cause: error)
        }
        if let done = handshake.withLock({ $0 }) {
            do {
                try await done.get()
            } catch {
                try? await channel.close()
                throw KafkaWireError(.tlsFailed, "\(peer): \(error)", cause: error)
            }
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
            let connection = KafkaConnection(channel: channel, peer: peer, brokerID: brokerID, versions: versions)
            if let sasl = security.sasl {
                let lifetime = try await connection.authenticate(sasl, host: host, configuration: configuration)
                connection.scheduleReauthentication(sasl, host: host, lifetimeMs: lifetime, configuration: configuration)
            }
            return connection
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
                               timeout: TimeAmount, exclusive: Bool = false) async throws -> R.Response {
        let v = try version ?? self.version(for: R.self)
        var frame = channel.allocator.buffer(capacity: 256)
        try KafkaFrame.encodeRequest(request, version: v, correlationId: 0, clientId: clientID, into: &frame)
        var body = try await writeFrame(frame, apiKey: R.apiKey, version: v, timeout: timeout, exclusive: exclusive).get()
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
    func writeFrame(_ frame: ByteBuffer, apiKey: Int16, version: Int16, timeout: TimeAmount,
                    exclusive: Bool = false) -> EventLoopFuture<ByteBuffer> {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let request = KafkaOutboundRequest(frame: frame, apiKey: apiKey, apiVersion: version, timeout: timeout,
                                           promise: promise, exclusive: exclusive)
        channel.writeAndFlush(request).whenFailure { error in
            promise.fail(KafkaWireError(.connectionFailed, "\(self.peer): \(error)", cause: error))
        }
        return promise.futureResult
    }

    func close() async {
        reauthTask.withLock { $0?.cancel() }
        try? await channel.close()
    }

    private func authenticate(_ sasl: SASLMechanismConfig, host: String,
                              configuration: KafkaClientConfiguration, renewal: Bool = false) async throws -> Int64 {
        guard versions[KafkaAPIKey.saslHandshake] == 1 else {
            throw KafkaWireError(.saslAuthenticationFailed,
                                 "\(sasl.mechanismName) with \(peer): the broker has no SaslHandshake v1")
        }
        let v = versions[KafkaAPIKey.saslAuthenticate] ?? 0
        let transport = ConnectionSASLTransport(connection: self, clientID: configuration.clientID,
                                                timeout: configuration.requestTimeout, exclusive: renewal)
        guard renewal else {
            return try await Self.authenticate(send: transport, mechanism: sasl, host: host, peer: peer,
                                               authenticateVersion: v)
        }
        // A renewal holds other requests back until it is over (KafkaChannelHandler).
        do {
            let lifetime = try await Self.authenticate(send: transport, mechanism: sasl, host: host, peer: peer,
                                                       authenticateVersion: v)
            try? await channel.triggerUserOutboundEvent(KafkaExclusiveEnd()).get()
            return lifetime
        } catch {
            try? await channel.triggerUserOutboundEvent(KafkaExclusiveEnd()).get()
            throw error
        }
    }

    /// Renews the session at `reauthenticateAt` of its lifetime, again and again, until the
    /// connection closes. A failed renewal closes the connection (the cluster reconnects).
    private func scheduleReauthentication(_ sasl: SASLMechanismConfig, host: String, lifetimeMs: Int64,
                                          configuration: KafkaClientConfiguration) {
        guard lifetimeMs > 0 else { return }
        let fraction = min(max(configuration.security.reauthenticateAt, 0.5), 0.95)
        let task = Task { [self] in
            var lifetime = lifetimeMs
            while lifetime > 0, channel.isActive, !Task.isCancelled {
                let wait = Int64(Double(lifetime) * fraction)
                do {
                    try await Task.sleep(for: .milliseconds(max(wait, 1)))
                } catch { return }
                guard channel.isActive else { return }
                do {
                    lifetime = try await authenticate(sasl, host: host, configuration: configuration, renewal: true)
                    reauthentications.add(1, ordering: .relaxed)
                } catch {
                    Self.securityLogger.warning("re-authentication failed, closing the connection",
                                           metadata: ["peer": "\(peer)", "error": "\(error)"])
                    try? await channel.close()
                    return
                }
            }
        }
        reauthTask.withLock { $0 = task }
    }
}

extension KafkaConnection {
    /// The connection as the SASL exchange's transport.
    struct ConnectionSASLTransport: KafkaSASLTransport {
        let connection: KafkaConnection
        let clientID: String
        let timeout: TimeAmount
        var exclusive = false

        func handshake(_ request: SaslHandshakeRequest) async throws -> SaslHandshakeResponse {
            try await connection.send(request, version: 1, clientID: clientID, timeout: timeout, exclusive: exclusive)
        }

        func authenticate(_ request: SaslAuthenticateRequest, version: Int16) async throws -> SaslAuthenticateResponse {
            try await connection.send(request, version: version, clientID: clientID, timeout: timeout, exclusive: exclusive)
        }
    }
}
