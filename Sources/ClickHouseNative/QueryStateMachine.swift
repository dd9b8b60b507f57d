/// The packets of one query or insert, as a value: each server packet is an event that returns
/// what the connection must do. No I/O here; `ClickHouseConnection` runs the actions.
struct QueryStateMachine {
    enum Kind { case select, insert }

    enum Action: Equatable {
        /// Keep reading packets.
        case read
        /// Insert only: the server sent the header block; send the data blocks now.
        case sendData(columnNames: [String])
        /// The query finished.
        case finished
        /// The server reported an exception (the query is over).
        case fail(ClickHouseError.ServerException)
        /// A packet that is not allowed now.
        case violation(String)
    }

    private enum State { case waitingHeader, receiving, sendingData, waitingEnd, done }

    private var state: State
    private(set) var result = ClickHouseResult(blocks: [], progress: ClickHouseProgress(), logs: [])

    init(_ kind: Kind) { state = kind == .insert ? .waitingHeader : .receiving }

    /// The caller sent every data block and the empty block.
    mutating func dataSent() { if state == .sendingData { state = .waitingEnd } }

    mutating func packetReceived(_ p: ServerPacket) -> Action {
        if state == .done { return .violation("packet after the end of the query") }
        switch p {
        case .exception(let e):
            state = .done
            return .fail(e)
        case .progress(let x):
            result.progress.rows &+= x.rows; result.progress.bytes &+= x.bytes; result.progress.totalRows &+= x.totalRows
            return .read
        case .log(let b):
            result.logs.append(b)
            return .read
        case .profileInfo(let x):
            result.profileInfo = x
            return .read
        case .tableColumns:
            return .read
        case .data(let b):
            switch state {
            case .waitingHeader:
                state = .sendingData
                return .sendData(columnNames: b.columns.map(\.name))
            case .receiving:
                if !b.columns.isEmpty || b.rowCount > 0 { result.blocks.append(b) }
                return .read
            default:
                return .violation("Data while sending an insert")
            }
        case .totals(let b):
            result.totals = b
            return .read
        case .extremes(let b):
            result.extremes = b
            return .read
        case .endOfStream:
            guard state == .receiving || state == .waitingEnd else { return .violation("EndOfStream before the insert data") }
            state = .done
            return .finished
        case .hello, .pong:
            return .violation("unexpected packet during a query")
        }
    }
}
