// An Avro schema (Avro 1.11 specification, "Schema Declaration"), as the decoder needs it:
// the shape of the binary encoding plus the logical types we turn into typed values.
// Names of named types are full names (namespace included).

/// An Avro schema. Build one with `AvroSchema.parse(json:)` or directly.
public indirect enum AvroSchema: Sendable, Equatable {
    // Primitive types.
    case null, boolean, int, long, float, double, bytes, string
    // Complex types.
    case record(name: String, fields: [Field])
    case `enum`(name: String, symbols: [String])
    case array(items: AvroSchema)
    case map(values: AvroSchema)
    case union([AvroSchema])
    case fixed(name: String, size: Int)
    // Logical types; each is encoded as its underlying type.
    /// Days since 1970-01-01, on `int`.
    case date
    /// Milliseconds after midnight, on `int`.
    case timeMillis
    /// Microseconds after midnight, on `long`.
    case timeMicros
    /// Milliseconds since the Unix epoch (UTC), on `long`.
    case timestampMillis
    /// Microseconds since the Unix epoch (UTC), on `long`.
    case timestampMicros
    /// Milliseconds since 1970-01-01T00:00 in an unspecified local time zone, on `long`.
    case localTimestampMillis
    /// Microseconds since 1970-01-01T00:00 in an unspecified local time zone, on `long`.
    case localTimestampMicros
    /// Two's-complement big-endian unscaled value; `underlying` is `.bytes` or `.fixed`.
    case decimal(precision: Int, scale: Int, underlying: AvroSchema)
    /// An RFC 4122 UUID as text, on `string`.
    case uuid
    /// A UUID as its 16 bytes, on `fixed` of size 16 (decoded to the text form).
    case uuidFixed(name: String)
    /// A use of a named type inside its own definition (a recursive record). The parser emits it
    /// only there; a reference to a type already complete is replaced by the type itself.
    case reference(String)

    /// A field of a record. Defaults, aliases and ordering do not affect decoding and are not kept.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var type: AvroSchema
        public init(name: String, type: AvroSchema) {
            self.name = name
            self.type = type
        }
    }

    /// The full name of a named type (record, enum, fixed and the logical types on fixed), else nil.
    public var fullName: String? {
        switch self {
        case .record(let name, _), .enum(let name, _), .fixed(let name, _), .uuidFixed(let name),
             .reference(let name):
            name
        case .decimal(_, _, let underlying): underlying.fullName
        default: nil
        }
    }

    /// The fewest bytes any datum of this schema takes: used to refuse a block count that the
    /// remaining input cannot hold. Visits at most `budget` schema nodes, so a schema whose tree is
    /// exponentially large (a type used twice in a type used twice in ...) costs little; stopping
    /// early still gives a lower bound, since every part adds a non-negative size.
    func minimumEncodedSize(budget: inout Int) -> Int {
        guard budget > 0 else { return 0 }
        budget -= 1
        switch self {
        case .null, .reference: return 0
        case .float: return 4
        case .double: return 8
        case .fixed(_, let size): return size
        case .uuidFixed: return 16
        case .decimal(_, _, let underlying): return underlying.minimumEncodedSize(budget: &budget)
        case .record(_, let fields):
            var total = 0
            for field in fields {
                total += field.type.minimumEncodedSize(budget: &budget)
                if total >= 1 << 32 || budget <= 0 { break }
            }
            return total
        case .boolean, .int, .long, .bytes, .string, .enum, .array, .map, .union, .date, .timeMillis,
             .timeMicros, .timestampMillis, .timestampMicros, .localTimestampMillis,
             .localTimestampMicros, .uuid:
            return 1
        }
    }
}
