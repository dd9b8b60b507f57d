public import NIOCore
internal import NIOPosix
public import PipeTLS
internal import Logging

/// Where and how to connect.
public struct ClickHouseConfig: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String
    public var compression: ClickHouseCompression
    /// Upper bound of one packet's size while it is being received.
    public var maxPacketSize: Int
    /// TLS (ClickHouse's `tcp_port_secure`, 9440 by default); nil: plaintext.
    public var tls: TLSContext?
    /// The name checked against the server's certificate and sent as SNI; nil: the host.
    public var tlsServerName: String?

    public init(host: String, port: Int = 9000, user: String = "default", password: String = "",
                database: String = "", compression: ClickHouseCompression = .lz4, maxPacketSize: Int = 1 << 30,
                tls: TLSContext? = nil, tlsServerName: String? = nil) {
        self.host = host; self.port = port; self.user = user; self.password = password
        self.database = database; self.compression = compression; self.maxPacketSize = maxPacketSize
        self.tls = tls; self.tlsServerName = tlsServerName
    }
}

/// What a query returned.
public struct ClickHouseResult: Sendable {
    public var blocks: [ClickHouseBlock]
    public var totals: ClickHouseBlock?
    public var extremes: ClickHouseBlock?
    public var progress: ClickHouseProgress
    public var profileInfo: ClickHouseProfileInfo?
    public var logs: [ClickHouseBlock]

    /// Columns of the non-empty blocks concatenated (the first block's names and types).
    public var columns: [ClickHouseColumn] {
        guard let first = blocks.first(where: { !$0.columns.isEmpty }) else { return [] }
        var cols = first.columns.map { ClickHouseColumn(name: $0.name, type: $0.type, values: []) }
        for b in blocks where b.columns.count == cols.count {
            for i in cols.indices { cols[i].values.append(contentsOf: b.columns[i].values) }
        }
        return cols
    }

    /// Rows as arrays of values.
    public var rows: [[ClickHouseValue]] {
        let cols = columns
        guard let n = cols.first?.values.count else { return [] }
        return (0..<n).map { i in cols.map { $0.values[i] } }
    }
}

final class ByteStreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    init(_ c: AsyncThrowingStream<ByteBuffer, any Error>.Continuation) { continuation = c }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
    func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }
}

/// One native-protocol connection. Calls are serialized by the actor.
public actor ClickHouseConnection {
    let channel: any Channel
    var stream: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
    var buffer: [UInt8] = []
    let config: ClickHouseConfig
    public nonisolated let server: ClickHouseServerInfo
    /// The negotiated revision: min(ours, server's).
    public nonisolated let revision: UInt64

    init(channel: any Channel, stream: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator,
         config: ClickHouseConfig, server: ClickHouseServerInfo, buffer: [UInt8]) {
        self.channel = channel; self.stream = stream; self.config = config; self.server = server
        self.revision = min(server.revision, ClickHouseRevision.client)
        self.buffer = buffer
    }

    /// Connects, says Hello and authenticates.
    public static func connect(_ config: ClickHouseConfig) async throws -> ClickHouseConnection {
        let (s, cont) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(ByteStreamHandler(cont)) }
                }
                .connect(host: config.host, port: config.port).get()
        } catch {
            throw ClickHouseError(.connection, "connect to \(config.host):\(config.port)", cause: error)
        }
        if let tls = config.tls {
            do {
                try await addTLS(to: channel, context: tls, serverHostname: config.tlsServerName ?? config.host,
                                 logger: Logger(label: "ClickHouseNative.TLS")).get()
            } catch {
                try? await channel.close()
                throw ClickHouseError(.connection, "TLS with \(config.host):\(config.port)", cause: error)
            }
        }
        var it = s.makeAsyncIterator()
        var buf: [UInt8] = []
        do {
            try await channel.writeAndFlush(ByteBuffer(bytes: ClientPacket.hello(
                database: config.database, user: config.user, password: config.password)))
            let p = try await readPacket(&it, &buf, revision: ClickHouseRevision.client, compressed: false, maxBytes: config.maxPacketSize)
            switch p {
            case .hello(let info):
                return ClickHouseConnection(channel: channel, stream: it, config: config, server: info, buffer: buf)
            case .exception(let e):
                throw ClickHouseError(server: e)
            default:
                throw ClickHouseError(.protocolViolation, "expected Hello from the server")
            }
        } catch {
            try? await channel.close()
            throw error
        }
    }

    nonisolated(nonsending) static func readPacket(_ it: inout AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator, _ buf: inout [UInt8],
                           revision: UInt64, compressed: Bool, maxBytes: Int) async throws -> ServerPacket {
        // Decode again only once the bytes the last attempt was missing are there.
        var waitFor = 1
        while true {
            if buf.count >= waitFor {
                var r = CHReader(buf)
                do {
                    let p = try ServerPacketDecoder.decode(&r, revision: revision, compressed: compressed)
                    buf.removeFirst(r.pos)
                    return p
                } catch let e as ClickHouseError where e.code == .truncated {
                    waitFor = max(buf.count + 1, e.neededBytes ?? 0)
                    guard waitFor <= maxBytes else { throw ClickHouseError(.tooLarge, "packet larger than \(maxBytes) bytes") }
                }
            }
            let next: ByteBuffer?
            do { next = try await it.next(isolation: #isolation) } catch {
                throw ClickHouseError(.connection, "read", cause: error)
            }
            guard var chunk = next else { throw ClickHouseError(.closed, "the server closed the connection") }
            buf.append(contentsOf: chunk.readBytes(length: chunk.readableBytes) ?? [])
        }
    }

    func nextPacket(compressed: Bool) async throws -> ServerPacket {
        var it = stream
        var buf = buffer
        defer { stream = it; buffer = buf }
        return try await Self.readPacket(&it, &buf, revision: revision, compressed: compressed, maxBytes: config.maxPacketSize)
    }

    func send(_ bytes: [UInt8]) async throws {
        do { try await channel.writeAndFlush(ByteBuffer(bytes: bytes)) } catch {
            throw ClickHouseError(.connection, "write", cause: error)
        }
    }

    var compressed: Bool { if case .none = config.compression { return false }; return true }

    /// Sends Ping and waits for Pong.
    public func ping() async throws {
        try await send(ClientPacket.ping())
        while true {
            switch try await nextPacket(compressed: compressed) {
            case .pong: return
            case .progress, .log: continue
            case .exception(let e): throw ClickHouseError(server: e)
            default: throw ClickHouseError(.protocolViolation, "expected Pong")
            }
        }
    }

    /// Runs a query and collects everything it returns. `settings` are (name, value) pairs for this
    /// query only; `queryID` is shown in `system.processes` / `system.query_log`.
    public func query(_ sql: String, settings: [(String, String)] = [], queryID: String = "") async throws -> ClickHouseResult {
        try await sendQuery(sql, settings: settings, queryID: queryID)
        var machine = QueryStateMachine(.select)
        while true {
            switch machine.packetReceived(try await nextPacket(compressed: compressed)) {
            case .read: continue
            case .finished: return machine.result
            case .fail(let e): throw ClickHouseError(server: e)
            case .violation(let why): throw ClickHouseError(.protocolViolation, "query: \(why)")
            case .sendData: throw ClickHouseError(.protocolViolation, "query: an insert header outside an insert")
            }
        }
    }

    func sendQuery(_ sql: String, settings: [(String, String)], queryID: String) async throws {
        var bytes = try ClientPacket.query(sql, queryID: queryID, settings: settings, revision: revision,
                                           compression: compressed, user: config.user)
        // The query is followed by an empty block (no external tables).
        bytes += try ClientPacket.data(ClickHouseBlock(columns: [], rowCount: 0), compression: config.compression)
        try await send(bytes)
    }

    /// Inserts columns into `table`: `INSERT INTO table (names) VALUES`, header block, data, empty block.
    public func insert(into table: String, columns: [ClickHouseColumn], settings: [(String, String)] = [],
                       queryID: String = "", blockRows: Int = 1_000_000) async throws {
        let rows = columns.first?.values.count ?? 0
        guard !columns.isEmpty, columns.allSatisfy({ $0.values.count == rows }) else {
            throw ClickHouseError(.invalidArgument, "insert needs columns of equal length")
        }
        try await runInsert(table, columns.map(\.name), settings: settings, queryID: queryID) {
            var start = 0
            let step = max(1, blockRows)
            while start < rows {
                let end = min(rows, start + step)
                // One block of everything uses the columns as they are (no copy of every value).
                let block = start == 0 && end == rows
                    ? ClickHouseBlock(columns: columns, rowCount: rows)
                    : ClickHouseBlock(columns: columns.map {
                        ClickHouseColumn(name: $0.name, type: $0.type, values: Array($0.values[start..<end]))
                    }, rowCount: end - start)
                try await self.send(try ClientPacket.data(block, compression: self.config.compression))
                start = end
            }
        }
    }

    /// Inserts one block of encoded columns (see `ClickHouseColumnBuilder`) into `table`.
    public func insert(into table: String, block: ClickHouseEncodedBlock, settings: [(String, String)] = [],
                       queryID: String = "") async throws {
        guard !block.columns.isEmpty else { throw ClickHouseError(.invalidArgument, "insert needs at least one column") }
        try await runInsert(table, block.columns.map(\.name), settings: settings, queryID: queryID) {
            if block.rowCount > 0 {
                try await self.send(ClientPacket.data(encoded: block, compression: self.config.compression))
            }
        }
    }

    /// The insert exchange: the query, the server's header, `sendBlocks`, the empty block, the end.
    private func runInsert(_ table: String, _ columns: [String], settings: [(String, String)], queryID: String,
                           sendBlocks: () async throws -> Void) async throws {
        let names = columns.map { "`" + $0.replacingBackticks() + "`" }.joined(separator: ", ")
        try await sendQuery("INSERT INTO \(table) (\(names)) VALUES", settings: settings, queryID: queryID)
        var machine = QueryStateMachine(.insert)
        while true {
            switch machine.packetReceived(try await nextPacket(compressed: compressed)) {
            case .read: continue
            case .finished: return
            case .fail(let e): throw ClickHouseError(server: e)
            case .violation(let why): throw ClickHouseError(.protocolViolation, "insert: \(why)")
            case .sendData:
                try await sendBlocks()
                try await send(try ClientPacket.data(ClickHouseBlock(columns: [], rowCount: 0), compression: config.compression))
                machine.dataSent()
            }
        }
    }

    /// Asks the server to stop the running query (call from another task while `query` waits);
    /// the query then ends with the rows read so far or with an exception.
    public func cancel() async throws {
        try await send(ClientPacket.cancel())
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}

extension String {
    func replacingBackticks() -> String {
        String(decoding: utf8.flatMap { $0 == 96 ? [92, 96] : [$0] }, as: UTF8.self)
    }
}
