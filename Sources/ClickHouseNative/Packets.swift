/// Protocol revisions this client knows about.
public enum ClickHouseRevision {
    /// The revision this client speaks; the connection uses min(ours, server's).
    public static let client: UInt64 = 54412
    static let blockInfo: UInt64 = 51903
    static let totalRowsInProgress: UInt64 = 51554
    static let clientInfo: UInt64 = 54032
    static let serverTimezone: UInt64 = 54058
    static let quotaKeyInClientInfo: UInt64 = 54060
    static let serverDisplayName: UInt64 = 54372
    static let versionPatch: UInt64 = 54401
    static let settingsAsStrings: UInt64 = 54429
    static let clientWriteInfo: UInt64 = 54420
}

public struct ClickHouseServerInfo: Sendable, Hashable {
    public var name: String
    public var versionMajor: UInt64
    public var versionMinor: UInt64
    public var versionPatch: UInt64
    public var revision: UInt64
    public var timezone: String
    public var displayName: String
}

public struct ClickHouseProgress: Sendable, Hashable {
    public var rows: UInt64 = 0
    public var bytes: UInt64 = 0
    public var totalRows: UInt64 = 0
}

public struct ClickHouseProfileInfo: Sendable, Hashable {
    public var rows: UInt64
    public var blocks: UInt64
    public var bytes: UInt64
    public var appliedLimit: Bool
    public var rowsBeforeLimit: UInt64
    public var calculatedRowsBeforeLimit: Bool
}

enum ServerPacket: Sendable {
    case hello(ClickHouseServerInfo)
    case data(ClickHouseBlock)
    case exception(ClickHouseError.ServerException)
    case progress(ClickHouseProgress)
    case pong
    case endOfStream
    case profileInfo(ClickHouseProfileInfo)
    case totals(ClickHouseBlock)
    case extremes(ClickHouseBlock)
    case log(ClickHouseBlock)
    case tableColumns(String, String)
}

/// Decodes one server packet from the front of `bytes`. Throws `.truncated` when more bytes are needed.
public enum ServerPacketDecoder {
    /// Fuzzing/inspection entry: decode one packet; returns the bytes consumed.
    public static func decodeOne(_ bytes: [UInt8], revision: UInt64, compressed: Bool) throws -> Int {
        var r = CHReader(bytes)
        _ = try decode(&r, revision: revision, compressed: compressed)
        return r.pos
    }

    static func decode(_ r: inout CHReader, revision: UInt64, compressed: Bool) throws -> ServerPacket {
        let kind = try r.uvarint()
        switch kind {
        case 0:
            let name = try r.string()
            let major = try r.uvarint(), minor = try r.uvarint(), rev = try r.uvarint()
            let tz = rev >= ClickHouseRevision.serverTimezone ? try r.string() : ""
            let display = rev >= ClickHouseRevision.serverDisplayName ? try r.string() : ""
            let patch = rev >= ClickHouseRevision.versionPatch ? try r.uvarint() : rev
            return .hello(ClickHouseServerInfo(name: name, versionMajor: major, versionMinor: minor, versionPatch: patch,
                                               revision: rev, timezone: tz, displayName: display))
        case 1, 7, 8:
            let b = try dataBlock(&r, compressed: compressed)
            return kind == 1 ? .data(b) : kind == 7 ? .totals(b) : .extremes(b)
        case 10:
            return .log(try dataBlock(&r, compressed: false))
        case 2:
            return .exception(try exception(&r, depth: 0))
        case 3:
            var p = ClickHouseProgress()
            p.rows = try r.uvarint(); p.bytes = try r.uvarint()
            if revision >= ClickHouseRevision.totalRowsInProgress { p.totalRows = try r.uvarint() }
            if revision >= ClickHouseRevision.clientWriteInfo { _ = try r.uvarint(); _ = try r.uvarint() }
            return .progress(p)
        case 4: return .pong
        case 5: return .endOfStream
        case 6:
            return .profileInfo(ClickHouseProfileInfo(
                rows: try r.uvarint(), blocks: try r.uvarint(), bytes: try r.uvarint(), appliedLimit: try r.u8() != 0,
                rowsBeforeLimit: try r.uvarint(), calculatedRowsBeforeLimit: try r.u8() != 0))
        case 11:
            return .tableColumns(try r.string(), try r.string())
        default:
            throw ClickHouseError(.protocolViolation, "unknown server packet \(kind)")
        }
    }

    static func exception(_ r: inout CHReader, depth: Int) throws -> ClickHouseError.ServerException {
        guard depth < 16 else { throw ClickHouseError(.malformed, "exception chain too deep") }
        let code = try r.fixed(Int32.self)
        let name = try r.string(), message = try r.string(), stack = try r.string()
        let hasNested = try r.u8() != 0
        let nested = hasNested ? try exception(&r, depth: depth + 1) : nil
        return ClickHouseError.ServerException(code: code, name: name, message: message, stackTrace: stack,
                                               nested: nested.map { [$0] + $0.nested } ?? [])
    }

    static func dataBlock(_ r: inout CHReader, compressed: Bool) throws -> ClickHouseBlock {
        _ = try r.string() // external table name
        if !compressed {
            return try BlockCodec.read(&r)
        }
        var plain: [UInt8] = []
        while true {
            let size: Int? = try r.bytes.withUnsafeBytes { all in
                try CompressedBlock.frameSize(UnsafeRawBufferPointer(rebasing: all[r.pos...]))
            }
            guard let size else {
                var e = ClickHouseError(.truncated, "compressed frame header")
                e.neededBytes = r.pos + 25
                throw e
            }
            try r.need(size)
            let frame = try r.bytes.withUnsafeBytes { all in
                try CompressedBlock.decode(UnsafeRawBufferPointer(rebasing: all[r.pos..<(r.pos + size)]))
            }
            r.pos += size
            plain.append(contentsOf: frame)
            var pr = CHReader(plain)
            do {
                let b = try BlockCodec.read(&pr)
                guard pr.remaining == 0 else { throw ClickHouseError(.malformed, "bytes after the block in its frames") }
                return b
            } catch let e as ClickHouseError where e.code == .truncated {
                continue
            }
        }
    }
}

enum ClientPacket {
    static func hello(database: String, user: String, password: String) -> [UInt8] {
        var w = CHWriter()
        w.uvarint(0)
        w.string("kafka-pipe"); w.uvarint(1); w.uvarint(0); w.uvarint(ClickHouseRevision.client)
        w.string(database); w.string(user); w.string(password)
        return w.bytes
    }

    static func ping() -> [UInt8] { [4] }
    static func cancel() -> [UInt8] { [3] }

    static func query(_ sql: String, queryID: String, settings: [(String, String)], revision: UInt64,
                      compression: Bool, user: String) throws -> [UInt8] {
        var w = CHWriter()
        w.uvarint(1)
        w.string(queryID)
        if revision >= ClickHouseRevision.clientInfo {
            w.u8(1) // initial query
            w.string(""); w.string(""); w.string("0.0.0.0:0")
            w.u8(1) // TCP
            w.string(""); w.string(""); w.string("kafka-pipe")
            w.uvarint(1); w.uvarint(0); w.uvarint(ClickHouseRevision.client)
            if revision >= ClickHouseRevision.quotaKeyInClientInfo { w.string("") }
            if revision >= ClickHouseRevision.versionPatch { w.uvarint(0) }
        }
        for (name, value) in settings {
            w.string(name)
            if revision >= ClickHouseRevision.settingsAsStrings {
                w.uvarint(1) // important
                w.string(value)
            } else if let n = UInt64(value) {
                w.uvarint(n) // old binary form: integer settings as varints
            } else {
                w.string(value)
            }
        }
        w.string("") // end of settings
        w.uvarint(2) // stage: Complete
        w.uvarint(compression ? 1 : 0)
        w.string(sql)
        return w.bytes
    }

    static func data(_ block: ClickHouseBlock, compression: ClickHouseCompression) throws -> [UInt8] {
        var body = CHWriter()
        try BlockCodec.write(block, &body)
        return data(body: body.bytes, compression: compression)
    }

    static func data(encoded block: ClickHouseEncodedBlock, compression: ClickHouseCompression) -> [UInt8] {
        var body = CHWriter()
        block.write(&body)
        return data(body: body.bytes, compression: compression)
    }

    /// A Data packet (no table name) around a block body, compressed in frames of at most 1 MiB.
    static func data(body: [UInt8], compression: ClickHouseCompression) -> [UInt8] {
        var w = CHWriter()
        w.uvarint(2)
        w.string("")
        if case .none = compression {
            w.bytes.append(contentsOf: body)
        } else {
            // Frames of at most 1 MiB, as ClickHouse writes them.
            var start = 0
            repeat {
                let end = min(body.count, start + (1 << 20))
                w.bytes.append(contentsOf: CompressedBlock.encode(Array(body[start..<end]), compression: compression))
                start = end
            } while start < body.count
        }
        return w.bytes
    }
}
