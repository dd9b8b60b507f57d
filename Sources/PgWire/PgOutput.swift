public import NIOCore

/// A column value in pgoutput's TupleData.
public enum TupleValue: Sendable, Equatable {
    case null
    /// An unchanged TOASTed value: the server did not send it.
    case unchangedToast
    case text(ByteBuffer)
    case binary(ByteBuffer)

    /// The text form as a String (nil for null, unchanged or binary).
    public var textValue: String? {
        if case .text(let b) = self { return String(buffer: b) }
        return nil
    }
}

/// A relation's column as described by a Relation message.
public struct RelationColumn: Sendable, Equatable {
    /// Bit 1: the column is part of the key (replica identity).
    public var flags: UInt8
    public var name: String
    public var typeOID: UInt32
    public var typeModifier: Int32
    public var isKey: Bool { flags & 1 != 0 }
}

public struct RelationMessage: Sendable, Equatable {
    public var xid: UInt32?
    public var oid: UInt32
    public var namespace: String
    public var name: String
    /// `d` default, `n` nothing, `f` full, `i` index.
    public var replicaIdentity: UInt8
    public var columns: [RelationColumn]
}

/// Logical replication messages of the pgoutput plugin, protocol versions 1 to 4
/// (PostgreSQL docs, "Logical Replication Message Formats"). Times are PostgreSQL microseconds
/// since 2000-01-01 (see `PostgresTime`).
public enum PgOutputMessage: Sendable, Equatable {
    case begin(finalLSN: LSN, commitTime: Int64, xid: UInt32)
    case commit(flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTime: Int64)
    case origin(commitLSN: LSN, name: String)
    case relation(RelationMessage)
    case type(xid: UInt32?, oid: UInt32, namespace: String, name: String)
    case insert(xid: UInt32?, relation: UInt32, newTuple: [TupleValue])
    /// `oldKey` with replica identity default/index when the key changed; `oldTuple` with FULL.
    case update(xid: UInt32?, relation: UInt32, oldKey: [TupleValue]?, oldTuple: [TupleValue]?, newTuple: [TupleValue])
    case delete(xid: UInt32?, relation: UInt32, oldKey: [TupleValue]?, oldTuple: [TupleValue]?)
    /// options bit 1: CASCADE, bit 2: RESTART IDENTITY.
    case truncate(xid: UInt32?, options: UInt8, relations: [UInt32])
    /// flags bit 1: transactional.
    case message(xid: UInt32?, flags: UInt8, lsn: LSN, prefix: String, content: ByteBuffer)
    case streamStart(xid: UInt32, firstSegment: Bool)
    case streamStop
    case streamCommit(xid: UInt32, flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTime: Int64)
    /// `abortLSN`/`abortTime` are sent with protocol 4 and `streaming 'parallel'`.
    case streamAbort(xid: UInt32, subXid: UInt32, abortLSN: LSN?, abortTime: Int64?)
    case beginPrepare(prepareLSN: LSN, endLSN: LSN, prepareTime: Int64, xid: UInt32, gid: String)
    case prepare(flags: UInt8, prepareLSN: LSN, endLSN: LSN, prepareTime: Int64, xid: UInt32, gid: String)
    case commitPrepared(flags: UInt8, commitLSN: LSN, endLSN: LSN, commitTime: Int64, xid: UInt32, gid: String)
    case rollbackPrepared(flags: UInt8, prepareEndLSN: LSN, rollbackEndLSN: LSN, prepareTime: Int64, rollbackTime: Int64, xid: UInt32, gid: String)
    case streamPrepare(flags: UInt8, prepareLSN: LSN, endLSN: LSN, prepareTime: Int64, xid: UInt32, gid: String)
}

/// Decodes pgoutput messages. Stateful only in knowing whether it is inside a streamed
/// transaction block (Stream Start ... Stream Stop), where data messages carry an xid.
public struct PgOutputDecoder: Sendable {
    public var protocolVersion: Int
    /// `streaming 'parallel'` was asked for (protocol 4): Stream Abort carries the abort LSN and time.
    public var parallelStreaming: Bool
    public private(set) var inStreamBlock = false

    public init(protocolVersion: Int, parallelStreaming: Bool = false) {
        self.protocolVersion = protocolVersion
        self.parallelStreaming = parallelStreaming
    }

    public mutating func decode(_ data: ByteBuffer) throws(PostgresError) -> PgOutputMessage {
        var b = data
        let type = try b.pgReadByte("pgoutput message type")
        func lsn(_ what: StaticString) throws(PostgresError) -> LSN { LSN(try b.pgReadInt(what, as: UInt64.self)) }
        func streamXid() throws(PostgresError) -> UInt32? {
            inStreamBlock ? try b.pgReadInt("xid", as: UInt32.self) : nil
        }
        let message: PgOutputMessage
        switch type {
        case UInt8(ascii: "B"):
            message = .begin(finalLSN: try lsn("Begin"), commitTime: try b.pgReadInt("Begin"), xid: try b.pgReadInt("Begin"))
        case UInt8(ascii: "C"):
            message = .commit(flags: try b.pgReadByte("Commit"), commitLSN: try lsn("Commit"), endLSN: try lsn("Commit"),
                              commitTime: try b.pgReadInt("Commit"))
        case UInt8(ascii: "O"):
            message = .origin(commitLSN: try lsn("Origin"), name: try b.pgReadCStringOrThrow("Origin name"))
        case UInt8(ascii: "R"):
            let xid = try streamXid()
            let oid: UInt32 = try b.pgReadInt("Relation")
            let ns = try b.pgReadCStringOrThrow("Relation namespace")
            let name = try b.pgReadCStringOrThrow("Relation name")
            let ident = try b.pgReadByte("Relation replica identity")
            let n: Int16 = try b.pgReadInt("Relation column count")
            // Each column takes at least 1 + 1 + 4 + 4 bytes.
            guard n >= 0, Int(n) * 10 <= b.readableBytes else {
                throw .malformed("Relation: \(n) columns do not fit in \(b.readableBytes) bytes")
            }
            var columns: [RelationColumn] = []
            columns.reserveCapacity(Int(n))
            for _ in 0..<Int(n) {
                let flags = try b.pgReadByte("Relation column")
                let cname = try b.pgReadCStringOrThrow("Relation column name")
                let typ: UInt32 = try b.pgReadInt("Relation column type")
                let mod: Int32 = try b.pgReadInt("Relation column typmod")
                columns.append(RelationColumn(flags: flags, name: cname, typeOID: typ, typeModifier: mod))
            }
            message = .relation(RelationMessage(xid: xid, oid: oid, namespace: ns, name: name, replicaIdentity: ident, columns: columns))
        case UInt8(ascii: "Y"):
            let xid = try streamXid()
            message = .type(xid: xid, oid: try b.pgReadInt("Type"), namespace: try b.pgReadCStringOrThrow("Type namespace"),
                            name: try b.pgReadCStringOrThrow("Type name"))
        case UInt8(ascii: "I"):
            let xid = try streamXid()
            let rel: UInt32 = try b.pgReadInt("Insert")
            let marker = try b.pgReadByte("Insert")
            guard marker == UInt8(ascii: "N") else { throw .malformed("Insert: expected 'N', got \(marker)") }
            message = .insert(xid: xid, relation: rel, newTuple: try Self.tuple(&b))
        case UInt8(ascii: "U"):
            let xid = try streamXid()
            let rel: UInt32 = try b.pgReadInt("Update")
            var marker = try b.pgReadByte("Update")
            var oldKey: [TupleValue]?
            var oldTuple: [TupleValue]?
            if marker == UInt8(ascii: "K") {
                oldKey = try Self.tuple(&b)
                marker = try b.pgReadByte("Update")
            } else if marker == UInt8(ascii: "O") {
                oldTuple = try Self.tuple(&b)
                marker = try b.pgReadByte("Update")
            }
            guard marker == UInt8(ascii: "N") else { throw .malformed("Update: expected 'N', got \(marker)") }
            message = .update(xid: xid, relation: rel, oldKey: oldKey, oldTuple: oldTuple, newTuple: try Self.tuple(&b))
        case UInt8(ascii: "D"):
            let xid = try streamXid()
            let rel: UInt32 = try b.pgReadInt("Delete")
            let marker = try b.pgReadByte("Delete")
            switch marker {
            case UInt8(ascii: "K"): message = .delete(xid: xid, relation: rel, oldKey: try Self.tuple(&b), oldTuple: nil)
            case UInt8(ascii: "O"): message = .delete(xid: xid, relation: rel, oldKey: nil, oldTuple: try Self.tuple(&b))
            default: throw .malformed("Delete: expected 'K' or 'O', got \(marker)")
            }
        case UInt8(ascii: "T"):
            let xid = try streamXid()
            let n: Int32 = try b.pgReadInt("Truncate")
            let options = try b.pgReadByte("Truncate")
            guard n >= 0, Int(n) * 4 <= b.readableBytes else { throw .malformed("Truncate: \(n) relations do not fit") }
            var rels: [UInt32] = []
            rels.reserveCapacity(Int(n))
            for _ in 0..<Int(n) { rels.append(try b.pgReadInt("Truncate")) }
            message = .truncate(xid: xid, options: options, relations: rels)
        case UInt8(ascii: "M"):
            let xid = try streamXid()
            let flags = try b.pgReadByte("Message")
            let at = try lsn("Message")
            let prefix = try b.pgReadCStringOrThrow("Message prefix")
            guard let content = try b.pgReadLengthPrefixedSlice("Message content") else {
                throw .malformed("Message: negative content length")
            }
            message = .message(xid: xid, flags: flags, lsn: at, prefix: prefix, content: content)
        case UInt8(ascii: "S"):
            let xid: UInt32 = try b.pgReadInt("Stream Start")
            let first = try b.pgReadByte("Stream Start")
            inStreamBlock = true
            message = .streamStart(xid: xid, firstSegment: first == 1)
        case UInt8(ascii: "E"):
            inStreamBlock = false
            message = .streamStop
        case UInt8(ascii: "c"):
            message = .streamCommit(xid: try b.pgReadInt("Stream Commit"), flags: try b.pgReadByte("Stream Commit"),
                                    commitLSN: try lsn("Stream Commit"), endLSN: try lsn("Stream Commit"),
                                    commitTime: try b.pgReadInt("Stream Commit"))
        case UInt8(ascii: "A"):
            let xid: UInt32 = try b.pgReadInt("Stream Abort")
            let sub: UInt32 = try b.pgReadInt("Stream Abort")
            if protocolVersion >= 4 && parallelStreaming {
                message = .streamAbort(xid: xid, subXid: sub, abortLSN: try lsn("Stream Abort"), abortTime: try b.pgReadInt("Stream Abort"))
            } else {
                message = .streamAbort(xid: xid, subXid: sub, abortLSN: nil, abortTime: nil)
            }
        case UInt8(ascii: "b"):
            message = .beginPrepare(prepareLSN: try lsn("Begin Prepare"), endLSN: try lsn("Begin Prepare"),
                                    prepareTime: try b.pgReadInt("Begin Prepare"), xid: try b.pgReadInt("Begin Prepare"),
                                    gid: try b.pgReadCStringOrThrow("Begin Prepare gid"))
        case UInt8(ascii: "P"), UInt8(ascii: "p"):
            let flags = try b.pgReadByte("Prepare")
            let p = try lsn("Prepare"), e = try lsn("Prepare")
            let t: Int64 = try b.pgReadInt("Prepare")
            let xid: UInt32 = try b.pgReadInt("Prepare")
            let gid = try b.pgReadCStringOrThrow("Prepare gid")
            message = type == UInt8(ascii: "P")
                ? .prepare(flags: flags, prepareLSN: p, endLSN: e, prepareTime: t, xid: xid, gid: gid)
                : .streamPrepare(flags: flags, prepareLSN: p, endLSN: e, prepareTime: t, xid: xid, gid: gid)
        case UInt8(ascii: "K"):
            message = .commitPrepared(flags: try b.pgReadByte("Commit Prepared"), commitLSN: try lsn("Commit Prepared"),
                                      endLSN: try lsn("Commit Prepared"), commitTime: try b.pgReadInt("Commit Prepared"),
                                      xid: try b.pgReadInt("Commit Prepared"), gid: try b.pgReadCStringOrThrow("Commit Prepared gid"))
        case UInt8(ascii: "r"):
            message = .rollbackPrepared(flags: try b.pgReadByte("Rollback Prepared"), prepareEndLSN: try lsn("Rollback Prepared"),
                                        rollbackEndLSN: try lsn("Rollback Prepared"), prepareTime: try b.pgReadInt("Rollback Prepared"),
                                        rollbackTime: try b.pgReadInt("Rollback Prepared"), xid: try b.pgReadInt("Rollback Prepared"),
                                        gid: try b.pgReadCStringOrThrow("Rollback Prepared gid"))
        default:
            throw .malformed("unknown pgoutput message type \(type)")
        }
        return message
    }

    /// TupleData: Int16 column count, then per column 'n' | 'u' | 't' len bytes | 'b' len bytes.
    static func tuple(_ b: inout ByteBuffer) throws(PostgresError) -> [TupleValue] {
        let n: Int16 = try b.pgReadInt("TupleData column count")
        guard n >= 0, Int(n) <= b.readableBytes else {
            throw .malformed("TupleData: \(n) columns do not fit in \(b.readableBytes) bytes")
        }
        var values: [TupleValue] = []
        values.reserveCapacity(Int(n))
        for _ in 0..<Int(n) {
            let kind = try b.pgReadByte("TupleData column kind")
            switch kind {
            case UInt8(ascii: "n"): values.append(.null)
            case UInt8(ascii: "u"): values.append(.unchangedToast)
            case UInt8(ascii: "t"), UInt8(ascii: "b"):
                guard let v = try b.pgReadLengthPrefixedSlice("TupleData value") else {
                    throw .malformed("TupleData: negative value length")
                }
                values.append(kind == UInt8(ascii: "t") ? .text(v) : .binary(v))
            default:
                throw .malformed("TupleData: unknown column kind \(kind)")
            }
        }
        return values
    }
}

extension PgOutputDecoder {
    /// Decodes one pgoutput message from raw bytes.
    public mutating func decode(bytes: [UInt8]) throws(PostgresError) -> PgOutputMessage {
        try decode(ByteBuffer(bytes: bytes))
    }
}
