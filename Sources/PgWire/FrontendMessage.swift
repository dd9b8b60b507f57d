public import NIOCore

/// A message to the server (PostgreSQL docs, "Message Formats").
public enum FrontendMessage: Sendable, Equatable {
    case startup(parameters: [(String, String)])
    case sslRequest
    case password(String)
    case md5Password(hashed: String)
    case saslInitialResponse(mechanism: String, data: [UInt8])
    case saslResponse(data: [UInt8])
    case query(String)
    case parse(statement: String, query: String, parameterTypes: [UInt32])
    /// Parameters in the given formats (0 text, 1 binary); nil is NULL.
    case bind(portal: String, statement: String, parameterFormats: [Int16], parameters: [[UInt8]?], resultFormats: [Int16])
    case describePortal(String)
    case describeStatement(String)
    case execute(portal: String, maxRows: Int32)
    case sync
    case flush
    case closeStatement(String)
    case copyData([UInt8])
    case copyDone
    case copyFail(String)
    case terminate

    public static func == (a: FrontendMessage, b: FrontendMessage) -> Bool {
        var x = ByteBuffer(), y = ByteBuffer()
        a.encode(into: &x)
        b.encode(into: &y)
        return x == y
    }

    /// Appends the message's bytes to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        func framed(_ type: UInt8?, _ body: (inout ByteBuffer) -> Void) {
            if let type { buffer.writeInteger(type) }
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(Int32(0))
            body(&buffer)
            buffer.setInteger(Int32(buffer.writerIndex - lengthIndex), at: lengthIndex)
        }
        switch self {
        case .startup(let parameters):
            framed(nil) { b in
                b.writeInteger(Int32(196_608))  // protocol 3.0
                for (k, v) in parameters { b.pgWriteCString(k); b.pgWriteCString(v) }
                b.writeInteger(UInt8(0))
            }
        case .sslRequest:
            framed(nil) { $0.writeInteger(Int32(80_877_103)) }
        case .password(let p):
            framed(UInt8(ascii: "p")) { $0.pgWriteCString(p) }
        case .md5Password(let hashed):
            framed(UInt8(ascii: "p")) { $0.pgWriteCString(hashed) }
        case .saslInitialResponse(let mechanism, let data):
            framed(UInt8(ascii: "p")) { b in
                b.pgWriteCString(mechanism)
                b.writeInteger(Int32(data.count))
                b.writeBytes(data)
            }
        case .saslResponse(let data):
            framed(UInt8(ascii: "p")) { $0.writeBytes(data) }
        case .query(let sql):
            framed(UInt8(ascii: "Q")) { $0.pgWriteCString(sql) }
        case .parse(let statement, let query, let types):
            framed(UInt8(ascii: "P")) { b in
                b.pgWriteCString(statement)
                b.pgWriteCString(query)
                b.writeInteger(Int16(truncatingIfNeeded: types.count))
                for t in types { b.writeInteger(t) }
            }
        case .bind(let portal, let statement, let formats, let parameters, let resultFormats):
            framed(UInt8(ascii: "B")) { b in
                b.pgWriteCString(portal)
                b.pgWriteCString(statement)
                b.writeInteger(Int16(truncatingIfNeeded: formats.count))
                for f in formats { b.writeInteger(f) }
                b.writeInteger(Int16(truncatingIfNeeded: parameters.count))
                for p in parameters {
                    if let p {
                        b.writeInteger(Int32(truncatingIfNeeded: p.count))
                        b.writeBytes(p)
                    } else {
                        b.writeInteger(Int32(-1))
                    }
                }
                b.writeInteger(Int16(truncatingIfNeeded: resultFormats.count))
                for f in resultFormats { b.writeInteger(f) }
            }
        case .describePortal(let name):
            framed(UInt8(ascii: "D")) { $0.writeInteger(UInt8(ascii: "P")); $0.pgWriteCString(name) }
        case .describeStatement(let name):
            framed(UInt8(ascii: "D")) { $0.writeInteger(UInt8(ascii: "S")); $0.pgWriteCString(name) }
        case .execute(let portal, let maxRows):
            framed(UInt8(ascii: "E")) { $0.pgWriteCString(portal); $0.writeInteger(maxRows) }
        case .sync:
            framed(UInt8(ascii: "S")) { _ in }
        case .flush:
            framed(UInt8(ascii: "H")) { _ in }
        case .closeStatement(let name):
            framed(UInt8(ascii: "C")) { $0.writeInteger(UInt8(ascii: "S")); $0.pgWriteCString(name) }
        case .copyData(let bytes):
            framed(UInt8(ascii: "d")) { $0.writeBytes(bytes) }
        case .copyDone:
            framed(UInt8(ascii: "c")) { _ in }
        case .copyFail(let message):
            framed(UInt8(ascii: "f")) { $0.pgWriteCString(message) }
        case .terminate:
            framed(UInt8(ascii: "X")) { _ in }
        }
    }
}
