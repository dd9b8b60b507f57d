import Testing
@testable import ClickHouseNative

private func block(_ rows: Int) -> ClickHouseBlock {
    ClickHouseBlock(columns: [ClickHouseColumn(name: "x", type: .uint8, values: Array(repeating: .uint(1), count: rows))],
                    rowCount: rows)
}

@Test func selectMachineCollectsBlocksUntilEndOfStream() {
    var m = QueryStateMachine(.select)
    #expect(m.packetReceived(.data(block(0))) == .read)
    #expect(m.packetReceived(.progress(ClickHouseProgress(rows: 2, bytes: 2, totalRows: 0))) == .read)
    #expect(m.packetReceived(.data(block(2))) == .read)
    #expect(m.packetReceived(.totals(block(1))) == .read)
    #expect(m.packetReceived(.endOfStream) == .finished)
    #expect(m.result.rows.count == 2)
    #expect(m.result.progress.rows == 2)
    #expect(m.result.totals?.rowCount == 1)
    if case .violation = m.packetReceived(.data(block(1))) {} else { Issue.record("packet after the end accepted") }
}

@Test func insertMachineWaitsForHeaderThenEnd() {
    var m = QueryStateMachine(.insert)
    if case .violation = m.packetReceived(.endOfStream) {} else { Issue.record("early EndOfStream accepted") }
    var m2 = QueryStateMachine(.insert)
    #expect(m2.packetReceived(.tableColumns("", "columns format")) == .read)
    #expect(m2.packetReceived(.data(block(0))) == .sendData(columnNames: ["x"]))
    m2.dataSent()
    #expect(m2.packetReceived(.progress(ClickHouseProgress())) == .read)
    #expect(m2.packetReceived(.endOfStream) == .finished)
}

@Test func exceptionEndsTheQuery() {
    var m = QueryStateMachine(.select)
    let e = ClickHouseError.ServerException(code: 60, name: "DB::Exception", message: "Table x doesn't exist", stackTrace: "", nested: [])
    #expect(m.packetReceived(.exception(e)) == .fail(e))
}
