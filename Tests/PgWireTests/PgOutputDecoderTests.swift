import Foundation
import NIOCore
@testable import PgWire
import Testing

/// pgoutput decoding of bytes captured from PostgreSQL 15 and 18 (Fixtures/capture.sh) and of
/// hand-built messages for what the dev servers cannot produce (two-phase, parallel abort).
@Suite struct PgOutputDecoderTests {
    static func fixture(_ name: String) throws -> [ByteBuffer] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").map { line in
            var b = ByteBuffer()
            let u = Array(line.utf8)
            var i = 0
            while i + 1 < u.count {
                b.writeInteger(PostgresJSON.hexValue(u[i])! << 4 | PostgresJSON.hexValue(u[i + 1])!)
                i += 2
            }
            return b
        }
    }

    static func decodeAll(_ name: String, version: Int) throws -> [PgOutputMessage] {
        var d = PgOutputDecoder(protocolVersion: version)
        return try fixture(name).map { try d.decode($0) }
    }

    func texts(_ t: [TupleValue]?) -> [String?]? {
        t?.map { v in
            switch v {
            case .null: nil
            case .unchangedToast: "<u>"
            case .text(let b): String(buffer: b)
            case .binary: "<b>"
            }
        }
    }

    @Test(arguments: [("pg15-proto3.hex", 3), ("pg18-proto4.hex", 4), ("pg18-proto1.hex", 1)])
    func capturedStream(_ name: String, _ version: Int) throws {
        let messages = try Self.decodeAll(name, version: version)
        var relations: [UInt32: RelationMessage] = [:]
        var sawType = false, sawToast = false, sawFullUpdate = false, sawIndexKey = false, sawNothing = false
        var sawTruncate = false, messagesSeen: [String] = [], streamStarts = 0, streamStops = 0
        var streamCommit = false, streamAbort = false, inserts = 0
        for m in messages {
            switch m {
            case .relation(let r):
                relations[r.oid] = r
                if r.name == "fx_t" {
                    #expect(r.columns.map(\.name) == ["id", "name", "mood", "big"])
                    #expect(r.columns.map(\.isKey) == [true, false, false, false])
                    #expect(r.replicaIdentity == UInt8(ascii: "d"))
                }
                if r.name == "fx_full" { #expect(r.replicaIdentity == UInt8(ascii: "f")) }
                if r.name == "fx_idx" {
                    #expect(r.replicaIdentity == UInt8(ascii: "i"))
                    #expect(r.columns.map(\.isKey) == [true, true, false])
                }
                if r.name == "fx_nothing" { #expect(r.replicaIdentity == UInt8(ascii: "n")) }
            case .type(_, _, let ns, let n):
                sawType = ns == "public" && n == "fx_mood"
            case .insert(let xid, let rel, let new):
                inserts += 1
                if relations[rel]?.name == "fx_nothing" { sawNothing = texts(new) == ["n"] }
                if version >= 2, relations[rel]?.name == "fx_full", new.count == 2, texts(new)?[1] == "r" {
                    #expect(xid != nil)  // inside a streamed block
                }
            case .update(_, let rel, let oldKey, let oldTuple, let new):
                switch relations[rel]?.name {
                case "fx_t":
                    if texts(new)?.first == "1" {
                        // The 10,000-byte TOASTed column did not change: not sent.
                        #expect(texts(new) == ["1", "uno", "happy", "<u>"])
                        sawToast = true
                    } else {
                        #expect(texts(oldKey) == ["2", nil, nil, nil])
                    }
                case "fx_full":
                    sawFullUpdate = texts(oldTuple) == ["1", "a"] && texts(new) == ["1", "b"] && oldKey == nil
                case "fx_idx":
                    sawIndexKey = texts(oldKey) == ["1", "2", nil] && texts(new) == ["1", "3", "i"]
                default: Issue.record("update of an unknown relation")
                }
            case .delete(_, let rel, let oldKey, let oldTuple):
                if relations[rel]?.name == "fx_full" { #expect(texts(oldTuple) == ["1", "b"]) }
                if relations[rel]?.name == "fx_t" { #expect(texts(oldKey) == ["3", nil, nil, nil]) }
            case .truncate(_, let options, let rels):
                sawTruncate = options == 3 && Set(rels.compactMap { relations[$0]?.name }) == ["fx_full", "fx_nothing"]
            case .message(_, let flags, _, let prefix, let content):
                messagesSeen.append("\(prefix):\(flags):\(content.readableBytes)")
            case .streamStart: streamStarts += 1
            case .streamStop: streamStops += 1
            case .streamCommit: streamCommit = true
            case .streamAbort(_, let sub, let lsn, _):
                streamAbort = sub != 0 && lsn == nil
            default: break
            }
        }
        #expect(sawType && sawToast && sawFullUpdate && sawIndexKey && sawNothing && sawTruncate)
        #expect(messagesSeen == ["fx:1:5", "fx-nontx:0:2"])
        if version >= 2 {
            #expect(streamStarts > 0 && streamStarts == streamStops && streamCommit && streamAbort)
        } else {
            #expect(inserts == 6 + 801)  // the aborted subtransaction's rows are not sent
        }
    }

    /// Hand-built messages per "Logical Replication Message Formats" for what needs
    /// max_prepared_transactions or streaming=parallel.
    @Test func twoPhaseAndParallelAbort() throws {
        func msg(_ type: Character, _ build: (inout ByteBuffer) -> Void) -> ByteBuffer {
            var b = ByteBuffer()
            b.writeInteger(type.asciiValue!)
            build(&b)
            return b
        }
        var d = PgOutputDecoder(protocolVersion: 4, parallelStreaming: true)
        let beginPrepare = msg("b") { $0.writeInteger(UInt64(0x10)); $0.writeInteger(UInt64(0x20)); $0.writeInteger(Int64(5)); $0.writeInteger(UInt32(7)); $0.pgWriteCString("g1") }
        #expect(try d.decode(beginPrepare) == .beginPrepare(prepareLSN: LSN(0x10), endLSN: LSN(0x20), prepareTime: 5, xid: 7, gid: "g1"))
        let prepare = msg("P") { $0.writeInteger(UInt8(0)); $0.writeInteger(UInt64(0x10)); $0.writeInteger(UInt64(0x20)); $0.writeInteger(Int64(5)); $0.writeInteger(UInt32(7)); $0.pgWriteCString("g1") }
        #expect(try d.decode(prepare) == .prepare(flags: 0, prepareLSN: LSN(0x10), endLSN: LSN(0x20), prepareTime: 5, xid: 7, gid: "g1"))
        let commitPrepared = msg("K") { $0.writeInteger(UInt8(0)); $0.writeInteger(UInt64(0x30)); $0.writeInteger(UInt64(0x40)); $0.writeInteger(Int64(6)); $0.writeInteger(UInt32(7)); $0.pgWriteCString("g1") }
        #expect(try d.decode(commitPrepared) == .commitPrepared(flags: 0, commitLSN: LSN(0x30), endLSN: LSN(0x40), commitTime: 6, xid: 7, gid: "g1"))
        let rollback = msg("r") { $0.writeInteger(UInt8(0)); $0.writeInteger(UInt64(0x30)); $0.writeInteger(UInt64(0x40)); $0.writeInteger(Int64(5)); $0.writeInteger(Int64(6)); $0.writeInteger(UInt32(7)); $0.pgWriteCString("g1") }
        #expect(try d.decode(rollback) == .rollbackPrepared(flags: 0, prepareEndLSN: LSN(0x30), rollbackEndLSN: LSN(0x40), prepareTime: 5, rollbackTime: 6, xid: 7, gid: "g1"))
        let streamPrepare = msg("p") { $0.writeInteger(UInt8(0)); $0.writeInteger(UInt64(0x10)); $0.writeInteger(UInt64(0x20)); $0.writeInteger(Int64(5)); $0.writeInteger(UInt32(7)); $0.pgWriteCString("g2") }
        #expect(try d.decode(streamPrepare) == .streamPrepare(flags: 0, prepareLSN: LSN(0x10), endLSN: LSN(0x20), prepareTime: 5, xid: 7, gid: "g2"))
        let abort = msg("A") { $0.writeInteger(UInt32(7)); $0.writeInteger(UInt32(8)); $0.writeInteger(UInt64(0x50)); $0.writeInteger(Int64(9)) }
        #expect(try d.decode(abort) == .streamAbort(xid: 7, subXid: 8, abortLSN: LSN(0x50), abortTime: 9))
        var v3 = PgOutputDecoder(protocolVersion: 3)
        #expect(try v3.decode(abort) == .streamAbort(xid: 7, subXid: 8, abortLSN: nil, abortTime: nil))
        let origin = msg("O") { $0.writeInteger(UInt64(0x60)); $0.pgWriteCString("node_a") }
        #expect(try d.decode(origin) == .origin(commitLSN: LSN(0x60), name: "node_a"))
        // Binary tuple values.
        let insert = msg("I") { b in
            b.writeInteger(UInt32(42)); b.writeInteger(UInt8(ascii: "N")); b.writeInteger(Int16(3))
            b.writeInteger(UInt8(ascii: "b")); b.writeInteger(Int32(4)); b.writeInteger(Int32(7))
            b.writeInteger(UInt8(ascii: "n")); b.writeInteger(UInt8(ascii: "u"))
        }
        var bin = ByteBuffer(); bin.writeInteger(Int32(7))
        #expect(try d.decode(insert) == .insert(xid: nil, relation: 42, newTuple: [.binary(bin), .null, .unchangedToast]))
    }

    /// Every prefix of every captured message is rejected with a typed error, never a crash.
    @Test func truncatedMessagesAreErrors() throws {
        for (name, version) in [("pg15-proto3.hex", 3), ("pg18-proto4.hex", 4)] {
            for full in try Self.fixture(name).prefix(60) {
                for cut in 0..<full.readableBytes {
                    var d = PgOutputDecoder(protocolVersion: version)
                    let prefix = full.getSlice(at: full.readerIndex, length: cut)!
                    #expect(throws: PostgresError.self) { _ = try d.decode(prefix) }
                }
            }
        }
    }

    @Test func hugeCountsAreRejected() throws {
        var b = ByteBuffer()
        b.writeInteger(UInt8(ascii: "I")); b.writeInteger(UInt32(1)); b.writeInteger(UInt8(ascii: "N")); b.writeInteger(Int16.max)
        var d = PgOutputDecoder(protocolVersion: 1)
        #expect(throws: PostgresError.self) { _ = try d.decode(b) }
        var t = ByteBuffer()
        t.writeInteger(UInt8(ascii: "T")); t.writeInteger(Int32.max); t.writeInteger(UInt8(0))
        #expect(throws: PostgresError.self) { _ = try d.decode(t) }
        var v = ByteBuffer()
        v.writeInteger(UInt8(ascii: "I")); v.writeInteger(UInt32(1)); v.writeInteger(UInt8(ascii: "N")); v.writeInteger(Int16(1))
        v.writeInteger(UInt8(ascii: "t")); v.writeInteger(Int32(-5))
        #expect(throws: PostgresError.self) { _ = try d.decode(v) }
    }
}
