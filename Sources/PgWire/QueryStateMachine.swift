/// One query cycle, simple or extended, from the first message sent to ReadyForQuery.
///
/// The server always ends a cycle with ReadyForQuery (after the simple query, or after Sync), even
/// after an error; the machine remembers the first error and reports it at the end, so the
/// connection is left in a known state.
struct QueryStateMachine {
    enum Action: Equatable {
        case wait
        /// Columns of the next rows.
        case columns([BackendMessage.FieldDescription])
        case row(BackendMessage.DataRow)
        case copyData(ByteBufferBox)
        case send([FrontendMessage])
        case notice([UInt8: String])
        /// CopyBothResponse: the replication stream starts; the query cycle ends here.
        case copyBothStarted
        /// ReadyForQuery: done, with the first error if there was one.
        case finished(PostgresError?)
        case fail(PostgresError)

        static func == (a: Action, b: Action) -> Bool {
            switch (a, b) {
            case (.wait, .wait), (.copyBothStarted, .copyBothStarted): return true
            case (.columns(let x), .columns(let y)): return x == y
            case (.row(let x), .row(let y)): return x == y
            case (.copyData(let x), .copyData(let y)): return x == y
            case (.send(let x), .send(let y)): return x == y
            case (.notice(let x), .notice(let y)): return x == y
            case (.finished(let x), .finished(let y)):
                switch (x, y) {
                case (nil, nil): return true
                case (let x?, let y?): return x.sameKind(as: y)
                default: return false
                }
            case (.fail(let x), .fail(let y)): return x.sameKind(as: y)
            default: return false
            }
        }
    }

    private enum State { case running, copyOut, finished, failed }
    private var state: State = .running
    private(set) var firstError: PostgresError?
    private(set) var commandTags: [String] = []
    private(set) var transactionStatus: UInt8 = UInt8(ascii: "I")
    let sql: String

    init(sql: String) { self.sql = sql }

    mutating func received(_ message: BackendMessage) -> Action {
        switch (state, message) {
        case (.finished, _), (.failed, _):
            return .fail(.unexpected("\(StartupStateMachine.name(message)) after the query ended"))
        case (_, .notice(let fields)):
            return .notice(fields)
        case (_, .parameterStatus), (_, .notification):
            return .wait
        case (_, .error(let fields)):
            if firstError == nil { firstError = .server(fields, context: "query \(Self.shorten(sql))") }
            state = .running
            return .wait
        case (_, .readyForQuery(let status)):
            transactionStatus = status
            state = .finished
            return .finished(firstError)
        case (.running, .rowDescription(let fields)):
            return .columns(fields)
        case (.running, .dataRow(let row)):
            return .row(row)
        case (.running, .commandComplete(let tag)):
            commandTags.append(tag)
            return .wait
        case (.running, .emptyQueryResponse), (.running, .parseComplete), (.running, .bindComplete),
             (.running, .noData), (.running, .parameterDescription), (.running, .closeComplete),
             (.running, .portalSuspended):
            return .wait
        case (.running, .copyOutResponse):
            state = .copyOut
            return .wait
        case (.copyOut, .copyData(let bytes)):
            return .copyData(ByteBufferBox(bytes))
        case (.copyOut, .copyDone):
            state = .running
            return .wait
        case (.copyOut, .commandComplete(let tag)):
            commandTags.append(tag)
            state = .running
            return .wait
        case (.running, .copyInResponse):
            return .send([.copyFail("COPY FROM STDIN is not supported by this client")])
        case (.running, .copyBothResponse):
            state = .finished
            return .copyBothStarted
        default:
            state = .failed
            return .fail(.unexpected("query: unexpected \(StartupStateMachine.name(message))"))
        }
    }

    static func shorten(_ sql: String) -> String {
        let oneLine = sql.split(whereSeparator: \.isNewline).joined(separator: " ")
        return oneLine.count <= 80 ? "\"\(oneLine)\"" : "\"\(oneLine.prefix(77))...\""
    }
}

import NIOCore

/// Equatable wrapper so actions can be compared in tests.
struct ByteBufferBox: Equatable {
    var buffer: ByteBuffer
    init(_ b: ByteBuffer) { buffer = b }
}
