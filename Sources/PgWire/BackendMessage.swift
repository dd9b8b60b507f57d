public import NIOCore

/// A message from the server (PostgreSQL docs, "Message Formats").
public enum BackendMessage: Sendable, Equatable {
    public enum Authentication: Sendable, Equatable {
        case ok
        case cleartextPassword
        case md5Password(salt: [UInt8])
        case sasl(mechanisms: [String])
        case saslContinue(data: [UInt8])
        case saslFinal(data: [UInt8])
        /// Kerberos, SCM, GSS, SSPI: named by their code, not supported.
        case unsupported(code: Int32)
    }

    public struct FieldDescription: Sendable, Equatable {
        public var name: String
        public var tableOID: UInt32
        public var columnAttributeNumber: Int16
        public var dataTypeOID: UInt32
        public var dataTypeSize: Int16
        public var typeModifier: Int32
        /// 0 text, 1 binary.
        public var formatCode: Int16
    }

    /// A DataRow whose column lengths were checked when it was decoded; columns are read lazily.
    public struct DataRow: Sendable, Equatable {
        public let columnCount: Int
        var bytes: ByteBuffer

        /// The column values in order; nil is SQL NULL.
        public var columns: [ByteBuffer?] {
            var b = bytes
            var out: [ByteBuffer?] = []
            out.reserveCapacity(columnCount)
            for _ in 0..<columnCount {
                // Lengths were validated at decode time.
                let n = b.readInteger(as: Int32.self) ?? -1
                out.append(n < 0 ? nil : b.readSlice(length: Int(n)))
            }
            return out
        }

        /// Calls `body` with the row's columns as raw bytes, without an array or a buffer per
        /// column (the bounds live on the stack); the columns are valid only inside `body`.
        public func withColumns<R>(_ body: (PostgresColumns) throws -> R) rethrows -> R {
            try withUnsafeTemporaryAllocation(of: (start: Int, count: Int).self, capacity: columnCount) { bounds in
                try bytes.withUnsafeReadableBytes { raw in
                    var at = 0
                    for c in 0..<columnCount {
                        // Lengths were validated at decode time.
                        let n = Int(Int32(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self)))
                        at += 4
                        bounds[c] = n < 0 ? (-1, 0) : (at, n)
                        if n > 0 { at += n }
                    }
                    return try body(PostgresColumns(raw: raw, bounds: UnsafeBufferPointer(bounds)))
                }
            }
        }
    }

    case authentication(Authentication)
    case backendKeyData(processID: Int32, secretKey: [UInt8])
    case parameterStatus(name: String, value: String)
    case readyForQuery(transactionStatus: UInt8)
    case rowDescription([FieldDescription])
    case dataRow(DataRow)
    case commandComplete(tag: String)
    case emptyQueryResponse
    case error(fields: [UInt8: String])
    case notice(fields: [UInt8: String])
    case parseComplete
    case bindComplete
    case closeComplete
    case noData
    case portalSuspended
    case parameterDescription([UInt32])
    case copyInResponse(format: Int8, columnFormats: [Int16])
    case copyOutResponse(format: Int8, columnFormats: [Int16])
    case copyBothResponse(format: Int8, columnFormats: [Int16])
    case copyData(ByteBuffer)
    case copyDone
    case notification(processID: Int32, channel: String, payload: String)
    case negotiateProtocolVersion(minorVersion: Int32, unrecognizedOptions: [String])
    /// A message type this client does not use (FunctionCallResponse...): kept by its type byte.
    case other(type: UInt8, body: ByteBuffer)
}

/// Frames and decodes backend messages from a byte stream.
///
/// Every length and count is checked against the bytes present before anything is allocated.
public struct BackendMessageDecoder: Sendable {
    /// Largest message accepted (PostgreSQL itself caps field values at 1 GB).
    public var maximumMessageSize: Int

    public init(maximumMessageSize: Int = 1 << 30) {
        self.maximumMessageSize = maximumMessageSize
    }

    /// Decodes one message from the front of `buffer`, or returns nil (leaving `buffer` untouched)
    /// when the message is not complete yet.
    public func decode(_ buffer: inout ByteBuffer) throws(PostgresError) -> BackendMessage? {
        guard buffer.readableBytes >= 5,
              let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self) else { return nil }
        guard length >= 4, Int(length) - 4 <= maximumMessageSize else {
            throw .malformed("message '\(Character(Unicode.Scalar(type)))' has invalid length \(length)")
        }
        guard buffer.readableBytes >= 1 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        var body = buffer.readSlice(length: Int(length) - 4)!
        return try Self.decodeBody(type: type, &body)
    }

    /// Decodes a message body (without its type byte and length).
    public static func decodeBody(type: UInt8, _ body: inout ByteBuffer) throws(PostgresError) -> BackendMessage {
        switch type {
        case UInt8(ascii: "d"):
            return .copyData(body)
        case UInt8(ascii: "D"):
            let n: Int16 = try body.pgReadInt("DataRow column count")
            guard n >= 0 else { throw .malformed("DataRow: negative column count") }
            let start = body
            for _ in 0..<Int(n) {
                let len: Int32 = try body.pgReadInt("DataRow column length")
                if len == -1 { continue }
                guard len >= 0, Int(len) <= body.readableBytes else {
                    throw .malformed("DataRow: column length \(len) exceeds the \(body.readableBytes) bytes left")
                }
                body.moveReaderIndex(forwardBy: Int(len))
            }
            return .dataRow(.init(columnCount: Int(n), bytes: start))
        case UInt8(ascii: "R"):
            let code: Int32 = try body.pgReadInt("Authentication code")
            switch code {
            case 0: return .authentication(.ok)
            case 3: return .authentication(.cleartextPassword)
            case 5:
                guard let salt = body.readBytes(length: 4) else { throw .malformed("AuthenticationMD5Password: no salt") }
                return .authentication(.md5Password(salt: salt))
            case 10:
                var mechanisms: [String] = []
                while true {
                    let m = try body.pgReadCStringOrThrow("AuthenticationSASL mechanism")
                    if m.isEmpty { break }
                    mechanisms.append(m)
                }
                return .authentication(.sasl(mechanisms: mechanisms))
            case 11: return .authentication(.saslContinue(data: body.readBytes(length: body.readableBytes) ?? []))
            case 12: return .authentication(.saslFinal(data: body.readBytes(length: body.readableBytes) ?? []))
            default: return .authentication(.unsupported(code: code))
            }
        case UInt8(ascii: "K"):
            let pid: Int32 = try body.pgReadInt("BackendKeyData")
            guard body.readableBytes <= 256 else { throw .malformed("BackendKeyData: key too long") }
            return .backendKeyData(processID: pid, secretKey: body.readBytes(length: body.readableBytes) ?? [])
        case UInt8(ascii: "S"):
            let name = try body.pgReadCStringOrThrow("ParameterStatus name")
            let value = try body.pgReadCStringOrThrow("ParameterStatus value")
            return .parameterStatus(name: name, value: value)
        case UInt8(ascii: "Z"):
            return .readyForQuery(transactionStatus: try body.pgReadByte("ReadyForQuery"))
        case UInt8(ascii: "T"):
            let n: Int16 = try body.pgReadInt("RowDescription count")
            guard n >= 0, Int(n) * 19 <= body.readableBytes else {
                throw .malformed("RowDescription: \(n) fields do not fit in \(body.readableBytes) bytes")
            }
            var fields: [BackendMessage.FieldDescription] = []
            fields.reserveCapacity(Int(n))
            for _ in 0..<Int(n) {
                let name = try body.pgReadCStringOrThrow("RowDescription field name")
                let table: UInt32 = try body.pgReadInt("RowDescription")
                let attnum: Int16 = try body.pgReadInt("RowDescription")
                let type: UInt32 = try body.pgReadInt("RowDescription")
                let size: Int16 = try body.pgReadInt("RowDescription")
                let typmod: Int32 = try body.pgReadInt("RowDescription")
                let format: Int16 = try body.pgReadInt("RowDescription")
                fields.append(.init(name: name, tableOID: table, columnAttributeNumber: attnum, dataTypeOID: type,
                                    dataTypeSize: size, typeModifier: typmod, formatCode: format))
            }
            return .rowDescription(fields)
        case UInt8(ascii: "C"):
            return .commandComplete(tag: try body.pgReadCStringOrThrow("CommandComplete"))
        case UInt8(ascii: "I"): return .emptyQueryResponse
        case UInt8(ascii: "E"): return .error(fields: try decodeFields(&body))
        case UInt8(ascii: "N"): return .notice(fields: try decodeFields(&body))
        case UInt8(ascii: "1"): return .parseComplete
        case UInt8(ascii: "2"): return .bindComplete
        case UInt8(ascii: "3"): return .closeComplete
        case UInt8(ascii: "n"): return .noData
        case UInt8(ascii: "s"): return .portalSuspended
        case UInt8(ascii: "c"): return .copyDone
        case UInt8(ascii: "t"):
            let n: Int16 = try body.pgReadInt("ParameterDescription count")
            guard n >= 0, Int(n) * 4 <= body.readableBytes else { throw .malformed("ParameterDescription: count too large") }
            var oids: [UInt32] = []
            oids.reserveCapacity(Int(n))
            for _ in 0..<Int(n) { oids.append(try body.pgReadInt("ParameterDescription")) }
            return .parameterDescription(oids)
        case UInt8(ascii: "G"), UInt8(ascii: "H"), UInt8(ascii: "W"):
            let format: Int8 = try body.pgReadInt("Copy response format")
            let n: Int16 = try body.pgReadInt("Copy response count")
            guard n >= 0, Int(n) * 2 <= body.readableBytes else { throw .malformed("Copy response: count too large") }
            var formats: [Int16] = []
            formats.reserveCapacity(Int(n))
            for _ in 0..<Int(n) { formats.append(try body.pgReadInt("Copy response")) }
            switch type {
            case UInt8(ascii: "G"): return .copyInResponse(format: format, columnFormats: formats)
            case UInt8(ascii: "H"): return .copyOutResponse(format: format, columnFormats: formats)
            default: return .copyBothResponse(format: format, columnFormats: formats)
            }
        case UInt8(ascii: "A"):
            let pid: Int32 = try body.pgReadInt("NotificationResponse")
            let channel = try body.pgReadCStringOrThrow("NotificationResponse channel")
            let payload = try body.pgReadCStringOrThrow("NotificationResponse payload")
            return .notification(processID: pid, channel: channel, payload: payload)
        case UInt8(ascii: "v"):
            let minor: Int32 = try body.pgReadInt("NegotiateProtocolVersion")
            let n: Int32 = try body.pgReadInt("NegotiateProtocolVersion")
            guard n >= 0, Int(n) <= body.readableBytes else { throw .malformed("NegotiateProtocolVersion: count too large") }
            var options: [String] = []
            for _ in 0..<Int(n) { options.append(try body.pgReadCStringOrThrow("NegotiateProtocolVersion option")) }
            return .negotiateProtocolVersion(minorVersion: minor, unrecognizedOptions: options)
        default:
            return .other(type: type, body: body)
        }
    }

    static func decodeFields(_ body: inout ByteBuffer) throws(PostgresError) -> [UInt8: String] {
        var fields: [UInt8: String] = [:]
        while true {
            let t = try body.pgReadByte("error/notice field type")
            if t == 0 { break }
            fields[t] = try body.pgReadCStringOrThrow("error/notice field")
        }
        return fields
    }
}

extension BackendMessageDecoder {
    /// Decodes every complete message in `bytes` (a trailing partial message is left out).
    public func decodeAll(_ bytes: [UInt8]) throws(PostgresError) -> [BackendMessage] {
        var buffer = ByteBuffer(bytes: bytes)
        var out: [BackendMessage] = []
        while let m = try decode(&buffer) {
            if case .dataRow(let row) = m { _ = row.columns }
            out.append(m)
        }
        return out
    }
}

/// A DataRow's columns as raw bytes (see `BackendMessage.DataRow.withColumns`).
public struct PostgresColumns {
    let raw: UnsafeRawBufferPointer
    let bounds: UnsafeBufferPointer<(start: Int, count: Int)>

    public var count: Int { bounds.count }

    /// Column `i`'s bytes; nil for SQL NULL or a column past the row's end.
    public subscript(i: Int) -> UnsafeRawBufferPointer? {
        guard i >= 0, i < bounds.count else { return nil }
        let b = bounds[i]
        return b.start < 0 ? nil : UnsafeRawBufferPointer(rebasing: raw[b.start..<(b.start + b.count)])
    }
}
