public import Logging
public import NIOCore
public import NIOPosix
import Synchronization

/// The socket, its handler and the messages a finished operation left over; only the holder of
/// the connection's `busy` flag touches `leftover`.
final class PgWireChannel: @unchecked Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<PgChannelHandler>
    private var leftover: ArraySlice<BackendMessage> = []

    init(channel: any Channel, handler: NIOLoopBound<PgChannelHandler>) {
        self.channel = channel
        self.handler = handler
    }

    func nextBatch() async throws -> [BackendMessage] {
        if !leftover.isEmpty {
            defer { leftover = [] }
            return Array(leftover)
        }
        let promise = channel.eventLoop.makePromise(of: [BackendMessage].self)
        let handler = self.handler
        channel.eventLoop.execute { handler.value.nextBatch(promise) }
        return try await promise.futureResult.get()
    }

    func pushBack(_ messages: ArraySlice<BackendMessage>) {
        leftover = leftover.isEmpty ? messages : messages + leftover
    }

    func nextMessage() async throws -> BackendMessage {
        if let m = leftover.popFirst() { return m }
        leftover = try await nextBatch()[...]
        return leftover.popFirst()!
    }

    func send(_ messages: [FrontendMessage]) async throws {
        var buffer = channel.allocator.buffer(capacity: 256)
        for m in messages { m.encode(into: &buffer) }
        try await channel.writeAndFlush(buffer).get()
    }

    /// Sends without waiting for the write to finish (keepalive answers on the hot path).
    func sendNoWait(_ message: FrontendMessage) {
        var buffer = channel.allocator.buffer(capacity: 64)
        message.encode(into: &buffer)
        channel.writeAndFlush(buffer, promise: nil)
    }

    var peakBufferedBytes: Int {
        get async {
            let handler = self.handler
            return (try? await channel.eventLoop.submit { handler.value.peakBufferedBytes }.get()) ?? 0
        }
    }
}

/// A connection to PostgreSQL: startup and authentication, simple and extended queries, COPY out,
/// and (with `configuration.replication`) the logical replication commands.
///
/// One operation runs at a time; a second concurrent call fails with `connectionBusy`.
public final class PostgresConnection: Sendable {
    let wire: PgWireChannel
    public let configuration: PostgresConfiguration
    /// ParameterStatus values the server reported at startup (`server_version`, `TimeZone`...).
    public let parameters: [String: String]
    public let processID: Int32
    let logger: Logger
    private let busy = Mutex(false)
    private let closed = Mutex(false)

    init(wire: PgWireChannel, configuration: PostgresConfiguration, parameters: [String: String],
         processID: Int32, logger: Logger) {
        self.wire = wire
        self.configuration = configuration
        self.parameters = parameters
        self.processID = processID
        self.logger = logger
    }

    /// `server_version_num`-style number derived from `server_version` (150020 for 15.20).
    public var serverVersionNumber: Int {
        let v = parameters["server_version"] ?? ""
        let digits = v.prefix { $0.isNumber || $0 == "." }.split(separator: ".").compactMap { Int($0) }
        guard let major = digits.first else { return 0 }
        if major >= 10 { return major * 10000 + (digits.count > 1 ? digits[1] : 0) }
        return major * 10000 + (digits.count > 1 ? digits[1] * 100 : 0) + (digits.count > 2 ? digits[2] : 0)
    }

    /// Bytes buffered between the socket and the consumer at their peak (for bounded-memory checks).
    public var peakBufferedBytes: Int { get async { await wire.peakBufferedBytes } }

    /// Connects, negotiates TLS per `sslMode`, authenticates and waits for ReadyForQuery.
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger = Logger(label: "PgWire"),
                               eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               highWatermark: Int = 4 << 20) async throws -> PostgresConnection {
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout.components.seconds) * 1_000_000_000
                + configuration.connectTimeout.components.attoseconds / 1_000_000_000))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PgChannelHandler(highWatermark: highWatermark))
                }
            }
        let channel: any Channel
        do {
            if let socket = configuration.unixSocketFile {
                channel = try await bootstrap.connect(unixDomainSocketPath: socket).get()
            } else {
                if configuration.host.isEmpty || configuration.host.hasPrefix("/") {
                    throw PostgresError(code: .invalidConfiguration, context: "no host to connect to")
                }
                channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
            }
        } catch let e as PostgresError {
            throw e
        } catch {
            throw PostgresError(code: .connectFailed, context: "cannot connect to \(configuration.endpoint)", cause: error)
        }
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: PgChannelHandler.self), eventLoop: channel.eventLoop)
        }.get()
        let wire = PgWireChannel(channel: channel, handler: handler)
        do {
            try await negotiateTLS(wire, configuration)
            var machine = StartupStateMachine(user: configuration.user, password: configuration.password,
                                              startupParameters: configuration.startupParameters,
                                              mechanisms: PgAuthentication.mechanisms)
            var action = machine.start()
            startup: while true {
                switch action {
                case .send(let messages): try await wire.send(messages)
                case .wait: break
                case .ready: break startup
                case .fail(let e): throw e
                }
                action = machine.received(try await wire.nextMessage())
            }
            for n in machine.notices { logger.debug("notice at startup", metadata: ["message": .string(n[UInt8(ascii: "M")] ?? "")]) }
            return PostgresConnection(wire: wire, configuration: configuration, parameters: machine.parameters,
                                      processID: machine.processID, logger: logger)
        } catch {
            try? await channel.close()
            if var e = error as? PostgresError {
                if e.context.isEmpty || e.code == .server { e.context = "\(configuration.endpoint): " + e.context }
                throw e
            }
            throw PostgresError(code: .connectFailed, context: "startup with \(configuration.endpoint) failed", cause: error)
        }
    }

    private static func negotiateTLS(_ wire: PgWireChannel, _ c: PostgresConfiguration) async throws {
        guard c.unixSocketFile == nil, c.sslMode != .disable else { return }
        try await wire.send([.sslRequest])
        let promise = wire.channel.eventLoop.makePromise(of: UInt8.self)
        let handler = wire.handler
        wire.channel.eventLoop.execute { handler.value.waitForSSLAnswer(promise) }
        let answer = try await promise.futureResult.get()
        switch answer {
        case UInt8(ascii: "S"):
            try await PgAuthentication.startTLS(wire.channel, c)
        case UInt8(ascii: "N"):
            if c.sslMode != .prefer {
                throw PostgresError(code: .tlsRequired, context: "sslmode=\(c.sslMode.rawValue) but \(c.endpoint) does not accept TLS")
            }
        default:
            throw PostgresError(code: .protocolViolation, context: "unexpected answer \(answer) to SSLRequest")
        }
    }

    // MARK: operations

    func acquire() throws {
        let wasBusy = busy.withLock { b in
            defer { b = true }
            return b
        }
        if wasBusy { throw PostgresError(code: .connectionBusy, context: "another operation is running on this connection") }
        if closed.withLock({ $0 }) {
            release()
            throw PostgresError(code: .connectionClosed, context: "connection is closed")
        }
    }

    func release() { busy.withLock { $0 = false } }

    func withExclusive<T>(_ body: () async throws -> T) async throws -> T {
        try acquire()
        defer { release() }
        return try await body()
    }

    /// Runs one query cycle: sends `messages`, feeds every reply to a QueryStateMachine until
    /// ReadyForQuery (or CopyBothResponse, when `allowCopyBoth`).
    func runCycle(_ messages: [FrontendMessage], sql: String, allowCopyBoth: Bool = false,
                  onColumns: ([BackendMessage.FieldDescription]) -> Void = { _ in },
                  onRow: (BackendMessage.DataRow) throws -> Void = { _ in },
                  onCopyData: (ByteBuffer) async throws -> Void = { _ in }) async throws -> [String] {
        try await wire.send(messages)
        var machine = QueryStateMachine(sql: sql)
        while true {
            var batch = try await wire.nextBatch()[...]
            while let m = batch.popFirst() {
                switch machine.received(m) {
                case .wait: continue
                case .columns(let f): onColumns(f)
                case .row(let r): try onRow(r)
                case .copyData(let b): try await onCopyData(b.buffer)
                case .send(let out): try await wire.send(out)
                case .notice(let fields):
                    logger.debug("notice", metadata: ["sqlstate": .string(fields[UInt8(ascii: "C")] ?? ""),
                                                      "message": .string(fields[UInt8(ascii: "M")] ?? "")])
                case .copyBothStarted:
                    guard allowCopyBoth else {
                        throw PostgresError(code: .unexpectedMessage, context: "CopyBothResponse to \(QueryStateMachine.shorten(sql))")
                    }
                    wire.pushBack(batch)
                    return machine.commandTags
                case .finished(let error):
                    if !batch.isEmpty { wire.pushBack(batch) }
                    if let error { throw error }
                    return machine.commandTags
                case .fail(let e):
                    throw e
                }
            }
        }
    }

    /// Runs `sql` with the simple query protocol (several statements allowed) and returns the rows
    /// of every statement, in text format.
    @discardableResult
    public func simpleQuery(_ sql: String) async throws -> [PostgresRow] {
        try await withExclusive {
            var rows: [PostgresRow] = []
            var fields: [BackendMessage.FieldDescription] = []
            _ = try await runCycle([.query(sql)], sql: sql, onColumns: { fields = $0 },
                                   onRow: { rows.append(PostgresRow(fields: fields, values: $0.columns)) })
            return rows
        }
    }

    /// Runs `sql` with the extended query protocol and `$1...` parameters.
    public func query(_ sql: String, _ parameters: [PostgresValue?] = [], resultFormat: PostgresFormat = .text) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        try await query(sql, parameters, resultFormat: resultFormat) { rows.append($0) }
        return rows
    }

    /// Extended query handing each row to `onRow` as it arrives (rows are not accumulated, and the
    /// socket is read only as fast as `onRow` returns).
    public func query(_ sql: String, _ parameters: [PostgresValue?], resultFormat: PostgresFormat = .text,
                      onRow: (PostgresRow) throws -> Void) async throws {
        guard parameters.count <= Int(Int16.max) else {
            throw PostgresError(code: .invalidConfiguration, context: "too many parameters (\(parameters.count))")
        }
        try await withExclusive {
            var fields: [BackendMessage.FieldDescription] = []
            _ = try await runCycle(Self.extendedQuery(sql, parameters, resultFormat: resultFormat), sql: sql,
                                   onColumns: { fields = $0 },
                                   onRow: { try onRow(PostgresRow(fields: fields, values: $0.columns)) })
        }
    }

    /// Extended query handing the result's columns to `onFields` once, then each row as it was
    /// received (read it with `DataRow.withColumns` to avoid a buffer per column).
    public func query(_ sql: String, _ parameters: [PostgresValue?], resultFormat: PostgresFormat = .text,
                      onFields: ([BackendMessage.FieldDescription]) throws -> Void,
                      onDataRow: (BackendMessage.DataRow) throws -> Void) async throws {
        guard parameters.count <= Int(Int16.max) else {
            throw PostgresError(code: .invalidConfiguration, context: "too many parameters (\(parameters.count))")
        }
        try await withExclusive {
            var fieldsError: (any Error)?
            _ = try await runCycle(Self.extendedQuery(sql, parameters, resultFormat: resultFormat), sql: sql,
                                   onColumns: { f in
                                       do { try onFields(f) } catch { fieldsError = error }
                                   },
                                   onRow: { row in
                                       if let fieldsError { throw fieldsError }
                                       try onDataRow(row)
                                   })
            if let fieldsError { throw fieldsError }
        }
    }

    /// Parse, Bind, Describe, Execute and Sync of an unnamed statement.
    static func extendedQuery(_ sql: String, _ parameters: [PostgresValue?], resultFormat: PostgresFormat) -> [FrontendMessage] {
        [
            .parse(statement: "", query: sql, parameterTypes: parameters.map { $0?.typeOID ?? 0 }),
            .bind(portal: "", statement: "", parameterFormats: parameters.map { $0?.format ?? 0 },
                  parameters: parameters.map { $0?.bytes }, resultFormats: [resultFormat.rawValue]),
            .describePortal(""),
            .execute(portal: "", maxRows: 0),
            .sync,
        ]
    }

    /// Runs a `COPY ... TO STDOUT` and hands each CopyData chunk (a row in text/CSV format) to
    /// `onData`. Returns the command tag (`COPY n`).
    @discardableResult
    public func copyOut(_ sql: String, onData: (ByteBuffer) async throws -> Void) async throws -> String {
        try await withExclusive {
            try await runCycle([.query(sql)], sql: sql, onCopyData: onData).last ?? ""
        }
    }

    /// Sends Terminate and closes the socket.
    public func close() async {
        let first = closed.withLock { c in
            defer { c = true }
            return !c
        }
        guard first else { return }
        try? await wire.send([.terminate])
        try? await wire.channel.close()
    }

    /// True once the socket is closed (by us or the server).
    public var isClosed: Bool { !wire.channel.isActive }
}
