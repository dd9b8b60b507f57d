// A decoded Avro datum. Logical types come out as their own cases; a union comes out as the value
// of the branch that was written (the null branch as `.null`).

/// One decoded Avro value.
///
/// Not `indirect`: the recursive cases hold arrays, which are already on the heap, so scalars need
/// no allocation of their own.
public enum AvroValue: Sendable, Equatable {
    case null
    case boolean(Bool)
    case int(Int32)
    case long(Int64)
    case float(Float)
    case double(Double)
    case bytes([UInt8])
    case string(String)
    /// Fields in schema order.
    case record([(name: String, value: AvroValue)])
    case enumSymbol(String)
    case array([AvroValue])
    /// Entries in the order they were written (Avro map keys are not required to be unique on the wire).
    case map([(String, AvroValue)])
    case fixed([UInt8])
    /// Days since 1970-01-01.
    case date(Int32)
    /// Milliseconds after midnight.
    case timeMillis(Int32)
    /// Microseconds after midnight.
    case timeMicros(Int64)
    /// Milliseconds since the Unix epoch, UTC.
    case timestampMillis(Int64)
    /// Microseconds since the Unix epoch, UTC.
    case timestampMicros(Int64)
    /// Milliseconds since 1970-01-01T00:00 in an unspecified local time zone.
    case localTimestampMillis(Int64)
    /// Microseconds since 1970-01-01T00:00 in an unspecified local time zone.
    case localTimestampMicros(Int64)
    /// The number is `unscaled × 10^-scale`.
    case decimal(unscaled: Int128, scale: Int)
    /// Text form: as written for `uuid` on string, lower-case 8-4-4-4-12 for `uuid` on fixed(16).
    case uuid(String)

    public static func == (lhs: AvroValue, rhs: AvroValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.boolean(a), .boolean(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.long(a), .long(b)): a == b
        case let (.float(a), .float(b)): a == b
        case let (.double(a), .double(b)): a == b
        case let (.bytes(a), .bytes(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.record(a), .record(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        case let (.enumSymbol(a), .enumSymbol(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.map(a), .map(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.fixed(a), .fixed(b)): a == b
        case let (.date(a), .date(b)): a == b
        case let (.timeMillis(a), .timeMillis(b)): a == b
        case let (.timeMicros(a), .timeMicros(b)): a == b
        case let (.timestampMillis(a), .timestampMillis(b)): a == b
        case let (.timestampMicros(a), .timestampMicros(b)): a == b
        case let (.localTimestampMillis(a), .localTimestampMillis(b)): a == b
        case let (.localTimestampMicros(a), .localTimestampMicros(b)): a == b
        case let (.decimal(a, s), .decimal(b, t)): a == b && s == t
        case let (.uuid(a), .uuid(b)): a == b
        default: false
        }
    }

    /// The value of the record field `name`, else nil (also when this is not a record).
    public subscript(field name: String) -> AvroValue? {
        guard case .record(let fields) = self else { return nil }
        return fields.first { $0.name == name }?.value
    }
}
