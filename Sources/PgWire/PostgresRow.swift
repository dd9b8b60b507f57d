public import NIOCore

/// One result row: the columns' descriptions and their raw values (text or binary per `formatCode`).
public struct PostgresRow: Sendable, Equatable {
    public let fields: [BackendMessage.FieldDescription]
    /// nil is SQL NULL.
    public let values: [ByteBuffer?]

    public init(fields: [BackendMessage.FieldDescription], values: [ByteBuffer?]) {
        self.fields = fields
        self.values = values
    }

    /// The value of column `index` as text (text-format results), nil for NULL or a missing column.
    public func string(_ index: Int) -> String? {
        guard index >= 0, index < values.count, let v = values[index] else { return nil }
        return String(buffer: v)
    }

    /// The value of the column named `name` as text.
    public func string(_ name: String) -> String? {
        guard let i = fields.firstIndex(where: { $0.name == name }) else { return nil }
        return string(i)
    }

    public func bytes(_ index: Int) -> [UInt8]? {
        guard index >= 0, index < values.count, let v = values[index] else { return nil }
        return Array(v.readableBytesView)
    }
}

/// A query parameter: bytes in text (format 0) or binary (format 1) form, with an optional type OID
/// (0 lets the server infer it).
public struct PostgresValue: Sendable, Equatable {
    public var typeOID: UInt32
    public var format: Int16
    public var bytes: [UInt8]

    public init(typeOID: UInt32 = 0, format: Int16 = 0, bytes: [UInt8]) {
        self.typeOID = typeOID
        self.format = format
        self.bytes = bytes
    }

    public static func text(_ s: String) -> PostgresValue { .init(bytes: Array(s.utf8)) }
    public static func int(_ v: Int) -> PostgresValue { .init(typeOID: 20, format: 1, bytes: withUnsafeBytes(of: Int64(v).bigEndian, Array.init)) }
    public static func bool(_ v: Bool) -> PostgresValue { .init(typeOID: 16, format: 1, bytes: [v ? 1 : 0]) }
    public static func bytea(_ v: [UInt8]) -> PostgresValue { .init(typeOID: 17, format: 1, bytes: v) }
}

/// The result format asked for in an extended query.
public enum PostgresFormat: Int16, Sendable {
    case text = 0
    case binary = 1
}
