import WireCore
import NIOCore
import Synchronization

/// Result of IDENTIFY_SYSTEM.
public struct IdentifySystemResult: Sendable, Equatable {
    public var systemID: String
    public var timeline: Int
    public var xlogPosition: LSN
    public var database: String?
}

/// Result of CREATE_REPLICATION_SLOT.
public struct ReplicationSlotInfo: Sendable, Equatable {
    public var slotName: String
    public var consistentPoint: LSN
    /// Set with `.export`: usable with `SET TRANSACTION SNAPSHOT` while this connection stays idle.
    public var snapshotName: String?
    public var outputPlugin: String?
}

/// What CREATE_REPLICATION_SLOT does with the slot's snapshot.
public enum SlotSnapshot: String, Sendable {
    /// EXPORT_SNAPSHOT: exported for other sessions until the next command on this connection.
    case export = "EXPORT_SNAPSHOT"
    /// USE_SNAPSHOT: this connection's open transaction uses it (run inside BEGIN ... READ ONLY ISOLATION LEVEL REPEATABLE READ).
    case use = "USE_SNAPSHOT"
    case none = "NOEXPORT_SNAPSHOT"
}

/// Options of START_REPLICATION for pgoutput.
public struct PgOutputOptions: Sendable, Equatable {
    public enum Streaming: String, Sendable { case off, on, parallel }
    public var publications: [String]
    /// nil: the highest version the server supports (see `PgOutputOptions.highestProtocolVersion`).
    public var protocolVersion: Int?
    public var streaming: Streaming
    public var binary: Bool
    public var messages: Bool
    public var twoPhase: Bool
    /// `any` or `none` (PostgreSQL 16+); nil leaves the server default.
    public var origin: String?

    public init(publications: [String], protocolVersion: Int? = nil, streaming: Streaming = .off, binary: Bool = false,
                messages: Bool = false, twoPhase: Bool = false, origin: String? = nil) {
        self.publications = publications
        self.protocolVersion = protocolVersion
        self.streaming = streaming
        self.binary = binary
        self.messages = messages
        self.twoPhase = twoPhase
        self.origin = origin
    }

    /// pgoutput protocol versions by server: 1 (10+), 2 (14+, streaming), 3 (15+, two-phase), 4 (16+, parallel streaming).
    public static func highestProtocolVersion(serverVersionNumber v: Int) -> Int {
        v >= 160000 ? 4 : v >= 150000 ? 3 : v >= 140000 ? 2 : 1
    }

    func optionList(version: Int) -> String {
        var o: [String] = ["proto_version '\(version)'",
                           "publication_names \(quoteLiteral(publications.map(quoteIdentifier).joined(separator: ",")))"]
        if streaming != .off { o.append("streaming '\(streaming.rawValue)'") }
        if binary { o.append("binary 'true'") }
        if messages { o.append("messages 'true'") }
        if twoPhase { o.append("two_phase 'true'") }
        if let origin { o.append("origin \(quoteLiteral(origin))") }
        return o.joined(separator: ", ")
    }
}

/// `"name"` with embedded quotes doubled.
public func quoteIdentifier(_ s: String) -> String { "\"" + s.replacingAll("\"", with: "\"\"") + "\"" }
/// `'text'` with embedded quotes doubled (standard_conforming_strings on).
public func quoteLiteral(_ s: String) -> String { "'" + s.replacingAll("'", with: "''") + "'" }

extension String {
    func replacingAll(_ a: Character, with b: String) -> String {
        var out = ""
        out.reserveCapacity(count)
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}

extension PostgresConnection {
    private func requireReplication(_ what: String) throws {
        guard configuration.replication else {
            throw PostgresError(code: .invalidConfiguration, context: "\(what) needs a replication connection (configuration.replication)")
        }
    }

    public func identifySystem() async throws -> IdentifySystemResult {
        try requireReplication("IDENTIFY_SYSTEM")
        let rows = try await simpleQuery("IDENTIFY_SYSTEM")
        guard let r = rows.first, let id = r.string(0), let tl = r.string(1).flatMap({ Int($0) }),
              let pos = r.string(2).flatMap({ LSN($0) }) else {
            throw PostgresError(code: .unexpectedMessage, context: "IDENTIFY_SYSTEM returned an unexpected row")
        }
        return IdentifySystemResult(systemID: id, timeline: tl, xlogPosition: pos, database: r.string(3))
    }

    /// CREATE_REPLICATION_SLOT name [TEMPORARY] LOGICAL pgoutput {EXPORT|USE|NOEXPORT}_SNAPSHOT.
    public func createReplicationSlot(_ name: String, temporary: Bool = false, snapshot: SlotSnapshot = .none,
                                      plugin: String = "pgoutput") async throws -> ReplicationSlotInfo {
        try requireReplication("CREATE_REPLICATION_SLOT")
        let sql = "CREATE_REPLICATION_SLOT \(quoteIdentifier(name))\(temporary ? " TEMPORARY" : "") LOGICAL \(quoteIdentifier(plugin)) \(snapshot.rawValue)"
        let rows = try await simpleQuery(sql)
        guard let r = rows.first, let slot = r.string(0), let point = r.string(1).flatMap({ LSN($0) }) else {
            throw PostgresError(code: .unexpectedMessage, context: "CREATE_REPLICATION_SLOT returned an unexpected row")
        }
        return ReplicationSlotInfo(slotName: slot, consistentPoint: point, snapshotName: r.string(2), outputPlugin: r.string(3))
    }

    public func dropReplicationSlot(_ name: String, wait: Bool = false) async throws {
        try requireReplication("DROP_REPLICATION_SLOT")
        try await simpleQuery("DROP_REPLICATION_SLOT \(quoteIdentifier(name))\(wait ? " WAIT" : "")")
    }

    /// START_REPLICATION SLOT name LOGICAL start (options): the connection is then held by the
    /// returned stream until it ends.
    public func startReplication(slot: String, start: LSN = .zero, options: PgOutputOptions) async throws -> ReplicationStream {
        try requireReplication("START_REPLICATION")
        let version = options.protocolVersion ?? PgOutputOptions.highestProtocolVersion(serverVersionNumber: serverVersionNumber)
        let sql = "START_REPLICATION SLOT \(quoteIdentifier(slot)) LOGICAL \(start) (\(options.optionList(version: version)))"
        try acquire()
        do {
            _ = try await runCycle([.query(sql)], sql: sql, allowCopyBoth: true)
        } catch {
            release()
            throw error
        }
        return ReplicationStream(connection: self, decoder: PgOutputDecoder(protocolVersion: version, parallelStreaming: options.streaming == .parallel),
                                 start: start)
    }
}

/// One decoded pgoutput message with the XLogData header it came in.
public struct ReplicationEvent: Sendable, Equatable {
    public var header: XLogDataHeader
    public var message: PgOutputMessage
}

/// The logical replication stream of START_REPLICATION: an AsyncSequence of pgoutput messages.
///
/// Keepalives that ask for a reply are answered at once with the last position given to
/// `confirm(flushed:)`. Iterate it from one task; `confirm`, `sendStandbyStatus` and `stop` may be
/// called from any task.
public final class ReplicationStream: AsyncSequence, Sendable {
    public typealias Element = ReplicationEvent

    struct Shared {
        var flushed: LSN
        var received: LSN
        var stopRequested = false
    }

    let connection: PostgresConnection
    /// The pgoutput protocol version in use.
    public let protocolVersion: Int
    let shared: Mutex<Shared>
    let cursor: Cursor

    init(connection: PostgresConnection, decoder: PgOutputDecoder, start: LSN) {
        self.connection = connection
        self.protocolVersion = decoder.protocolVersion
        self.cursor = Cursor(decoder: decoder)
        self.shared = Mutex(Shared(flushed: start, received: start))
    }


    /// The position everything up to which the application has durably handled; reported as the
    /// flush and apply positions from now on (the server may then recycle WAL before it).
    public func confirm(flushed: LSN) {
        shared.withLock { if flushed > $0.flushed { $0.flushed = flushed } }
    }

    /// The highest WAL end the server reported so far.
    public var receivedLSN: LSN { shared.withLock { $0.received } }
    public var flushedLSN: LSN { shared.withLock { $0.flushed } }

    /// Sends a standby status update now; nil positions use the confirmed/received ones.
    public func sendStandbyStatus(write: LSN? = nil, flush: LSN? = nil, apply: LSN? = nil, replyRequested: Bool = false) async throws {
        let s = shared.withLock { $0 }
        let f = flush ?? s.flushed
        let status = StandbyStatus(write: write ?? Swift.max(s.received, f), flush: f, apply: apply ?? f,
                                   clock: Self.nowPostgresMicros(), replyRequested: replyRequested)
        try await connection.wire.send([.copyData(status.encoded())])
    }

    /// Asks the server to end the stream (CopyDone); iteration ends once the server confirms.
    public func stop() async throws {
        let first = shared.withLock { s in
            defer { s.stopRequested = true }
            return !s.stopRequested
        }
        if first { try await connection.wire.send([.copyDone]) }
    }

    static func nowPostgresMicros() -> Int64 {
        PostgresTime.pgMicros(unixMicros: UnixTime.now().microseconds)
    }

    /// Iteration state; one consumer at a time (a later `for` loop continues where the last stopped).
    final class Cursor: @unchecked Sendable {
        var decoder: PgOutputDecoder
        var machine = ReplicationStateMachine()
        var batch: ArraySlice<BackendMessage> = []
        var done = false
        var sawStopRequest = false
        /// The WAL end last published to `shared.received`.
        var published = LSN.zero
        init(decoder: PgOutputDecoder) { self.decoder = decoder }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ReplicationStream
        public mutating func next() async throws -> ReplicationEvent? { try await stream.next() }
    }

    /// The next pgoutput message, or nil once the stream ended (after `stop()` or the server's CopyDone).
    public func next() async throws -> ReplicationEvent? {
        let c = cursor
        guard !c.done else { return nil }
        do {
            while true {
                guard let m = c.batch.popFirst() else {
                    c.batch = try await connection.wire.nextBatch()[...]
                    if !c.sawStopRequest, shared.withLock({ $0.stopRequested }) {
                        c.sawStopRequest = true
                        _ = c.machine.stopRequested()
                    }
                    continue
                }
                var action = c.machine.received(m, flushed: .zero, now: 0)
                if c.machine.received > c.published {
                    // Every XLogData and keepalive: `receivedLSN` follows the server's WAL end.
                    let received = c.machine.received
                    c.published = received
                    shared.withLock { $0.received = Swift.max($0.received, received) }
                }
                if case .sendStatus = action {
                    // Keepalive asking for a reply: answer with the confirmed position.
                    let received = c.machine.received
                    let f = shared.withLock { s in
                        s.received = Swift.max(s.received, received)
                        return s.flushed
                    }
                    action = .sendStatus(StandbyStatus(write: Swift.max(received, f), flush: f, apply: f,
                                                       clock: ReplicationStream.nowPostgresMicros(), replyRequested: false))
                }
                switch action {
                case .wait:
                    continue
                case .deliver(let header, let payload):
                    return ReplicationEvent(header: header, message: try c.decoder.decode(payload.buffer))
                case .sendStatus(let status):
                    connection.wire.sendNoWait(.copyData(status.encoded()))
                case .sendCopyDone:
                    let first = shared.withLock { s in
                        defer { s.stopRequested = true }
                        return !s.stopRequested
                    }
                    if first { try await connection.wire.send([.copyDone]) }
                case .finished:
                    c.done = true
                    if !c.batch.isEmpty { connection.wire.pushBack(c.batch) }
                    connection.release()
                    return nil
                case .fail(let e):
                    throw e
                }
            }
        } catch {
            c.done = true
            connection.release()
            throw error
        }
    }
}
