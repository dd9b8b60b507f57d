import NIOCore
@testable import PgWire
import Testing

/// Event-by-event transcripts of the protocol state machines, no network.
@Suite struct StateMachineTests {
    struct ScriptedSCRAM: SASLSession {
        var step = 0
        var failFinal = false
        mutating func clientFirstMessage() throws -> [UInt8] { step = 1; return Array("n,,n=u,r=abc".utf8) }
        mutating func receiveServerFirst(_ m: [UInt8]) throws -> [UInt8] {
            #expect(step == 1 && m == Array("r=abcdef,s=c2FsdA==,i=4096".utf8))
            step = 2
            return Array("c=biws,r=abcdef,p=proof".utf8)
        }
        mutating func receiveServerFinal(_ m: [UInt8]) throws {
            struct BadSignature: Error {}
            if failFinal || m != Array("v=sig".utf8) { throw BadSignature() }
        }
    }

    static func mechanisms(failFinal: Bool = false) -> PasswordMechanisms {
        PasswordMechanisms(makeSCRAMSHA256: { _, _ in ScriptedSCRAM(failFinal: failFinal) },
                           md5Answer: { u, p, s in "md5-\(u)-\(p)-\(s)" })
    }

    func machine(password: String? = "pw", mechanisms: PasswordMechanisms? = StateMachineTests.mechanisms()) -> StartupStateMachine {
        StartupStateMachine(user: "u", password: password, startupParameters: [("user", "u")], mechanisms: mechanisms)
    }

    @Test func trust() {
        var m = machine(password: nil)
        #expect(m.start() == .send([.startup(parameters: [("user", "u")])]))
        #expect(m.received(.authentication(.ok)) == .wait)
        #expect(m.received(.parameterStatus(name: "server_version", value: "18.6")) == .wait)
        #expect(m.received(.backendKeyData(processID: 42, secretKey: [1, 2, 3, 4])) == .wait)
        #expect(m.received(.readyForQuery(transactionStatus: UInt8(ascii: "I"))) == .ready)
        #expect(m.parameters["server_version"] == "18.6")
        #expect(m.processID == 42)
    }

    @Test func cleartext() {
        var m = machine()
        _ = m.start()
        #expect(m.received(.authentication(.cleartextPassword)) == .send([.password("pw")]))
        #expect(m.received(.authentication(.ok)) == .wait)
        #expect(m.received(.readyForQuery(transactionStatus: 73)) == .ready)
    }

    @Test func md5() {
        var m = machine()
        _ = m.start()
        #expect(m.received(.authentication(.md5Password(salt: [1, 2, 3, 4]))) == .send([.md5Password(hashed: "md5-u-pw-[1, 2, 3, 4]")]))
        #expect(m.received(.authentication(.ok)) == .wait)
    }

    @Test func scram() {
        var m = machine()
        _ = m.start()
        #expect(m.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])))
                == .send([.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: Array("n,,n=u,r=abc".utf8))]))
        #expect(m.received(.authentication(.saslContinue(data: Array("r=abcdef,s=c2FsdA==,i=4096".utf8))))
                == .send([.saslResponse(data: Array("c=biws,r=abcdef,p=proof".utf8))]))
        #expect(m.received(.authentication(.saslFinal(data: Array("v=sig".utf8)))) == .wait)
        #expect(m.received(.authentication(.ok)) == .wait)
        #expect(m.received(.readyForQuery(transactionStatus: 73)) == .ready)
    }

    @Test func scramServerMustProveItself() {
        // AuthenticationOk without a verified server signature is refused.
        var m = machine()
        _ = m.start()
        _ = m.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])))
        _ = m.received(.authentication(.saslContinue(data: Array("r=abcdef,s=c2FsdA==,i=4096".utf8))))
        #expect(m.received(.authentication(.ok)) == .fail(.init(code: .unexpectedMessage, context: "")))
        var bad = machine(mechanisms: Self.mechanisms(failFinal: true))
        _ = bad.start()
        _ = bad.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])))
        _ = bad.received(.authentication(.saslContinue(data: Array("r=abcdef,s=c2FsdA==,i=4096".utf8))))
        #expect(bad.received(.authentication(.saslFinal(data: Array("v=forged".utf8)))) == .fail(.init(code: .authenticationUnsupported, context: "")))
    }

    @Test func wrongPasswordIsAClearServerError() {
        var m = machine()
        _ = m.start()
        _ = m.received(.authentication(.cleartextPassword))
        let fields: [UInt8: String] = [UInt8(ascii: "S"): "FATAL", UInt8(ascii: "C"): "28P01",
                                       UInt8(ascii: "M"): "password authentication failed for user \"u\""]
        guard case .fail(let e) = m.received(.error(fields: fields)) else { Issue.record("no failure"); return }
        #expect(e.sqlState == "28P01")
        #expect(!e.description.contains("pw"))
        #expect(e.description.contains("password authentication failed"))
    }

    @Test func missingPasswordAndUnsupportedMethods() {
        var m = machine(password: nil)
        _ = m.start()
        #expect(m.received(.authentication(.cleartextPassword)) == .fail(.init(code: .invalidConfiguration, context: "")))
        var k = machine()
        _ = k.start()
        #expect(k.received(.authentication(.unsupported(code: 7))) == .fail(.init(code: .authenticationUnsupported, context: "")))
        var s = machine()
        _ = s.start()
        #expect(s.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-1"]))) == .fail(.init(code: .authenticationUnsupported, context: "")))
    }

    @Test func simpleQueryWithErrorReportsItAtReadyForQuery() {
        var q = QueryStateMachine(sql: "SELECT 1; SELECT x")
        let field = BackendMessage.FieldDescription(name: "a", tableOID: 0, columnAttributeNumber: 0, dataTypeOID: 23,
                                                    dataTypeSize: 4, typeModifier: -1, formatCode: 0)
        #expect(q.received(.rowDescription([field])) == .columns([field]))
        var row = ByteBuffer(); row.writeInteger(Int32(1)); row.writeString("1")
        let dataRow = BackendMessage.DataRow(columnCount: 1, bytes: row)
        #expect(q.received(.dataRow(dataRow)) == .row(dataRow))
        #expect(q.received(.commandComplete(tag: "SELECT 1")) == .wait)
        let err: [UInt8: String] = [UInt8(ascii: "C"): "42703", UInt8(ascii: "M"): "column \"x\" does not exist", UInt8(ascii: "P"): "18"]
        #expect(q.received(.error(fields: err)) == .wait)
        guard case .finished(let e?) = q.received(.readyForQuery(transactionStatus: 73)) else { Issue.record("no error"); return }
        #expect(e.sqlState == "42703" && e.position == 18)
        #expect(q.commandTags == ["SELECT 1"])
    }

    @Test func extendedQueryAndCopy() {
        var q = QueryStateMachine(sql: "SELECT $1")
        for m: BackendMessage in [.parseComplete, .bindComplete, .noData, .commandComplete(tag: "INSERT 0 1")] {
            #expect(q.received(m) == .wait)
        }
        #expect(q.received(.readyForQuery(transactionStatus: 73)) == .finished(nil))
        var c = QueryStateMachine(sql: "COPY t TO STDOUT")
        #expect(c.received(.copyOutResponse(format: 0, columnFormats: [0])) == .wait)
        let data = ByteBuffer(string: "1\tx\n")
        #expect(c.received(.copyData(data)) == .copyData(ByteBufferBox(data)))
        #expect(c.received(.copyDone) == .wait)
        #expect(c.received(.commandComplete(tag: "COPY 1")) == .wait)
        #expect(c.received(.readyForQuery(transactionStatus: 73)) == .finished(nil))
        var i = QueryStateMachine(sql: "COPY t FROM STDIN")
        #expect(i.received(.copyInResponse(format: 0, columnFormats: [])) == .send([.copyFail("COPY FROM STDIN is not supported by this client")]))
        var u = QueryStateMachine(sql: "x")
        #expect(u.received(.authentication(.ok)) == .fail(.init(code: .unexpectedMessage, context: "")))
    }

    static func xlog(_ start: UInt64, _ end: UInt64, _ payload: [UInt8]) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(ascii: "w")); b.writeInteger(start); b.writeInteger(end); b.writeInteger(Int64(99)); b.writeBytes(payload)
        return b
    }

    static func keepalive(_ end: UInt64, reply: Bool) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(UInt8(ascii: "k")); b.writeInteger(end); b.writeInteger(Int64(5)); b.writeInteger(UInt8(reply ? 1 : 0))
        return b
    }

    @Test func replicationKeepalivesAndData() {
        var r = ReplicationStateMachine()
        let payload = Self.xlog(0x100, 0x200, [UInt8(ascii: "E")])
        #expect(r.received(.copyData(payload), flushed: .zero, now: 0)
                == .deliver(XLogDataHeader(walStart: LSN(0x100), walEnd: LSN(0x200), sendTime: 99), ByteBufferBox(ByteBuffer(bytes: [UInt8(ascii: "E")]))))
        #expect(r.received(.copyData(Self.keepalive(0x300, reply: false)), flushed: LSN(0x150), now: 7) == .wait)
        #expect(r.received(.copyData(Self.keepalive(0x300, reply: true)), flushed: LSN(0x150), now: 7)
                == .sendStatus(StandbyStatus(write: LSN(0x300), flush: LSN(0x150), apply: LSN(0x150), clock: 7, replyRequested: false)))
        #expect(r.received(.copyData(ByteBuffer(bytes: [UInt8(ascii: "w"), 1])), flushed: .zero, now: 0)
                == .fail(.malformed("")))
    }

    @Test func replicationStopHandshake() {
        var r = ReplicationStateMachine()
        #expect(r.stopRequested() == .sendCopyDone)
        // Data in flight before the server saw our CopyDone is dropped.
        #expect(r.received(.copyData(Self.xlog(1, 2, [1])), flushed: .zero, now: 0) == .wait)
        #expect(r.received(.copyDone, flushed: .zero, now: 0) == .wait)
        #expect(r.received(.commandComplete(tag: "START_REPLICATION"), flushed: .zero, now: 0) == .wait)
        #expect(r.received(.readyForQuery(transactionStatus: 73), flushed: .zero, now: 0) == .finished)
        // Server-initiated end.
        var s = ReplicationStateMachine()
        #expect(s.received(.copyDone, flushed: .zero, now: 0) == .sendCopyDone)
        #expect(s.received(.readyForQuery(transactionStatus: 73), flushed: .zero, now: 0) == .finished)
        var e = ReplicationStateMachine()
        #expect(e.received(.error(fields: [UInt8(ascii: "C"): "XX000"]), flushed: .zero, now: 0)
                == .fail(.server([UInt8(ascii: "C"): "XX000"])))
    }

    @Test func standbyStatusBytes() {
        let s = StandbyStatus(write: LSN(0x1_0000_0002), flush: LSN(3), apply: LSN(4), clock: 5, replyRequested: true)
        #expect(s.encoded() == [0x72, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5, 1])
    }
}

@Suite struct CodecTests {
    @Test func lsnTextForm() {
        #expect(LSN(0x1A2B3C8).description == "0/1A2B3C8")
        #expect(LSN(0x16_0000_0000).description == "16/0")
        #expect(LSN("0/1a2b3c8") == LSN(0x1A2B3C8))
        #expect(LSN("FFFFFFFF/FFFFFFFF") == LSN(UInt64.max))
        for bad in ["", "0", "0/", "/1", "1/2/3", "G/0", "123456789/0", "-1/0"] { #expect(LSN(bad) == nil, "\(bad)") }
        #expect(LSN(1) < LSN(2))
    }

    @Test func frontendBytes() {
        var b = ByteBuffer()
        FrontendMessage.sslRequest.encode(into: &b)
        #expect(Array(b.readableBytesView) == [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F])
        b.clear()
        FrontendMessage.query("SELECT 1").encode(into: &b)
        #expect(Array(b.readableBytesView) == [UInt8(ascii: "Q"), 0, 0, 0, 13] + Array("SELECT 1".utf8) + [0])
        b.clear()
        FrontendMessage.startup(parameters: [("user", "u")]).encode(into: &b)
        #expect(Array(b.readableBytesView) == [0, 0, 0, 16, 0, 3, 0, 0] + Array("user".utf8) + [0, UInt8(ascii: "u"), 0, 0])
        b.clear()
        FrontendMessage.bind(portal: "", statement: "", parameterFormats: [1], parameters: [[7], nil], resultFormats: [0]).encode(into: &b)
        #expect(Array(b.readableBytesView) == [UInt8(ascii: "B"), 0, 0, 0, 25, 0, 0, 0, 1, 0, 1, 0, 2, 0, 0, 0, 1, 7, 0xFF, 0xFF, 0xFF, 0xFF, 0, 1, 0, 0])
    }

    /// Bytes as PostgreSQL sends them after a simple query: RowDescription, DataRow, CommandComplete, ReadyForQuery.
    static let capturedReply: [UInt8] = {
        var b = ByteBuffer()
        func msg(_ t: Character, _ body: (inout ByteBuffer) -> Void) {
            var m = ByteBuffer(); body(&m)
            b.writeInteger(t.asciiValue!); b.writeInteger(Int32(m.readableBytes + 4)); b.writeBuffer(&m)
        }
        msg("T") { m in m.writeInteger(Int16(1)); m.pgWriteCString("one"); m.writeInteger(UInt32(0)); m.writeInteger(Int16(0))
            m.writeInteger(UInt32(23)); m.writeInteger(Int16(4)); m.writeInteger(Int32(-1)); m.writeInteger(Int16(0)) }
        msg("D") { m in m.writeInteger(Int16(2)); m.writeInteger(Int32(1)); m.writeString("1"); m.writeInteger(Int32(-1)) }
        msg("C") { $0.pgWriteCString("SELECT 1") }
        msg("E") { m in m.writeInteger(UInt8(ascii: "C")); m.pgWriteCString("42601"); m.writeInteger(UInt8(ascii: "P")); m.pgWriteCString("8"); m.writeInteger(UInt8(0)) }
        msg("Z") { $0.writeInteger(UInt8(ascii: "I")) }
        return Array(b.readableBytesView)
    }()

    @Test func backendDecodingAndSplitting() throws {
        let decoder = BackendMessageDecoder()
        // Fed one byte at a time, the same messages come out.
        var buffer = ByteBuffer()
        var messages: [BackendMessage] = []
        for byte in Self.capturedReply {
            buffer.writeInteger(byte)
            while let m = try decoder.decode(&buffer) { messages.append(m) }
        }
        #expect(messages.count == 5)
        guard case .rowDescription(let f) = messages[0], case .dataRow(let row) = messages[1],
              case .error(let e) = messages[3] else { Issue.record("wrong messages"); return }
        #expect(f.map(\.name) == ["one"] && f[0].dataTypeOID == 23)
        #expect(row.columns.map { $0.map { String(buffer: $0) } } == ["1", nil])
        #expect(PostgresError.server(e).position == 8)
        #expect(messages[4] == .readyForQuery(transactionStatus: UInt8(ascii: "I")))
    }

    @Test func malformedBackendMessagesAreErrors() throws {
        let decoder = BackendMessageDecoder(maximumMessageSize: 1 << 20)
        for bytes: [UInt8] in [
            [UInt8(ascii: "D"), 0, 0, 0, 2],                              // length < 4
            [UInt8(ascii: "D"), 0x7F, 0xFF, 0xFF, 0xFF],                   // over the maximum
            [UInt8(ascii: "D"), 0, 0, 0, 10, 0, 1, 0, 0, 0, 9],           // column longer than the message
            [UInt8(ascii: "D"), 0, 0, 0, 6, 0xFF, 0xFF],                   // negative column count
            [UInt8(ascii: "T"), 0, 0, 0, 6, 0x7F, 0xFF],                   // field count too large
            [UInt8(ascii: "S"), 0, 0, 0, 7, 97, 0, 98],                    // no NUL
            [UInt8(ascii: "R"), 0, 0, 0, 8, 0, 0, 0, 5],                   // MD5 without salt
            [UInt8(ascii: "E"), 0, 0, 0, 6, 67, 49],                       // unterminated field
        ] {
            var b = ByteBuffer(bytes: bytes)
            #expect(throws: PostgresError.self, "\(bytes)") { _ = try decoder.decode(&b) }
        }
        // Every prefix of a valid stream is either incomplete (nil) or decodes; never a crash.
        for cut in 0..<Self.capturedReply.count {
            var b = ByteBuffer(bytes: Self.capturedReply.prefix(cut))
            while let _ = try decoder.decode(&b) {}
        }
    }

    @Test func configurationURL() throws {
        let c = try PostgresConfiguration(url: "postgres://us%40er:p%3Ass@[::1]:6543/my%20db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x")
        #expect(c.user == "us@er" && c.password == "p:ss" && c.host == "::1" && c.port == 6543 && c.database == "my db")
        #expect(c.sslMode == .verifyFull && c.sslRootCert == "/ca.pem" && c.applicationName == "x")
        #expect(!c.description.contains("p:ss") && c.description.contains("***"))
        let s = try PostgresConfiguration(url: "postgresql://u@/db?host=/var/run/postgresql&port=5433")
        #expect(s.unixSocketFile == "/var/run/postgresql/.s.PGSQL.5433")
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "mysql://x") }
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "postgres://h:99999/db") }
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "postgres://h/db?sslmode=sometimes") }
    }
}
