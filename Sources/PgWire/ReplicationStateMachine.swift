import NIOCore

/// The header of an XLogData message (PostgreSQL docs, "Streaming Replication Protocol").
public struct XLogDataHeader: Sendable, Equatable {
    /// WAL position where this message's data starts.
    public var walStart: LSN
    /// The server's current end of WAL.
    public var walEnd: LSN
    /// Server clock when sent (PostgreSQL microseconds).
    public var sendTime: Int64
}

/// Standby status update positions ('r').
public struct StandbyStatus: Sendable, Equatable {
    public var write: LSN
    public var flush: LSN
    public var apply: LSN
    public var clock: Int64
    public var replyRequested: Bool

    func encoded() -> [UInt8] {
        var b = ByteBuffer()
        b.writeInteger(UInt8(ascii: "r"))
        b.writeInteger(write.value)
        b.writeInteger(flush.value)
        b.writeInteger(apply.value)
        b.writeInteger(clock)
        b.writeInteger(UInt8(replyRequested ? 1 : 0))
        return Array(b.readableBytesView)
    }
}

/// The CopyBoth phase of START_REPLICATION: XLogData is delivered, keepalives that ask for a reply
/// get a standby status update with the positions the application confirmed, and the end of the
/// stream (CopyDone, CommandComplete, ReadyForQuery) or an ErrorResponse ends it.
struct ReplicationStateMachine {
    enum Action: Equatable {
        case wait
        case deliver(XLogDataHeader, ByteBufferBox)
        case sendStatus(StandbyStatus)
        /// The server ended the copy: answer with CopyDone (once) and keep reading to ReadyForQuery.
        case sendCopyDone
        case finished
        case fail(PostgresError)

        static func == (a: Action, b: Action) -> Bool {
            switch (a, b) {
            case (.wait, .wait), (.sendCopyDone, .sendCopyDone), (.finished, .finished): return true
            case (.deliver(let h1, let p1), .deliver(let h2, let p2)): return h1 == h2 && p1 == p2
            case (.sendStatus(let x), .sendStatus(let y)): return x == y
            case (.fail(let x), .fail(let y)): return x.sameKind(as: y)
            default: return false
            }
        }
    }

    private enum State { case streaming, stopping(sentCopyDone: Bool, serverDone: Bool), finished, failed }
    private var state: State = .streaming
    /// Highest WAL end seen (from XLogData or keepalives).
    private(set) var received = LSN.zero
    private(set) var lastServerClock: Int64 = 0

    /// The application asked to stop: CopyDone was sent by us.
    mutating func stopRequested() -> Action {
        switch state {
        case .streaming:
            state = .stopping(sentCopyDone: true, serverDone: false)
            return .sendCopyDone
        case .stopping(false, let serverDone):
            state = .stopping(sentCopyDone: true, serverDone: serverDone)
            return .sendCopyDone
        default:
            return .wait
        }
    }

    /// `flushed` is what the application confirmed; `now` the clock for the reply.
    mutating func received(_ message: BackendMessage, flushed: LSN, now: Int64) -> Action {
        switch (state, message) {
        case (.finished, _), (.failed, _):
            return .fail(.unexpected("\(StartupStateMachine.name(message)) after the replication stream ended"))
        case (_, .copyData(var body)):
            // Data in flight when we asked to stop is dropped: the application did not see it,
            // so it does not confirm it, and the next START_REPLICATION sends it again.
            guard case .streaming = state else { return .wait }
            guard let kind = body.readInteger(as: UInt8.self) else { return fail(.malformed("empty CopyData")) }
            switch kind {
            case UInt8(ascii: "w"):
                guard let start = body.readInteger(as: UInt64.self), let end = body.readInteger(as: UInt64.self),
                      let time = body.readInteger(as: Int64.self) else { return fail(.malformed("XLogData: header too short")) }
                if end > received.value { received = LSN(end) }
                return .deliver(XLogDataHeader(walStart: LSN(start), walEnd: LSN(end), sendTime: time), ByteBufferBox(body))
            case UInt8(ascii: "k"):
                guard let end = body.readInteger(as: UInt64.self), let time = body.readInteger(as: Int64.self),
                      let reply = body.readInteger(as: UInt8.self) else { return fail(.malformed("keepalive too short")) }
                if end > received.value { received = LSN(end) }
                lastServerClock = time
                guard reply != 0 else { return .wait }
                return .sendStatus(StandbyStatus(write: max(received, flushed), flush: flushed, apply: flushed,
                                                 clock: now, replyRequested: false))
            default:
                return fail(.malformed("unknown CopyData kind \(kind) in the replication stream"))
            }
        case (.streaming, .copyDone):
            state = .stopping(sentCopyDone: true, serverDone: true)
            return .sendCopyDone
        case (.stopping(let sent, _), .copyDone):
            state = .stopping(sentCopyDone: sent, serverDone: true)
            return sent ? .wait : .sendCopyDone
        case (_, .error(let fields)):
            // Reported at once: after an error the walsender may just close the connection.
            return fail(.server(fields, context: "replication stream"))
        case (_, .notice), (_, .parameterStatus), (_, .notification):
            return .wait
        case (.stopping, .commandComplete), (.stopping, .rowDescription), (.stopping, .dataRow):
            // After CopyDone the server may send a result set (timeline info) and CommandComplete.
            return .wait
        case (.stopping, .readyForQuery):
            state = .finished
            return .finished
        default:
            return fail(.unexpected("replication: unexpected \(StartupStateMachine.name(message))"))
        }
    }

    private mutating func fail(_ e: PostgresError) -> Action {
        state = .failed
        return .fail(e)
    }
}
