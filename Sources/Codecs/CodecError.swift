/// The one error type of the Codecs module: malformed or oversized compressed input, or a failure
/// reported by zlib.
public struct CodecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, as a small struct over a private enum so codes can be added later.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case truncated, corrupt, checksumMismatch, outputTooLarge, unsupported, zlib
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The input ended before the format said it would.
        public static let truncated = Code(.truncated)
        /// A field has a value the format does not allow (bad magic, offset, size, table...).
        public static let corrupt = Code(.corrupt)
        /// A checksum stored in the input does not match the data.
        public static let checksumMismatch = Code(.checksumMismatch)
        /// The output would exceed the caller's `maxOutput` bound.
        public static let outputTooLarge = Code(.outputTooLarge)
        /// A valid feature that this implementation does not handle (e.g. zstd dictionaries).
        public static let unsupported = Code(.unsupported)
        /// zlib reported an error.
        public static let zlib = Code(.zlib)

        public var description: String { value.rawValue }
    }

    public var code: Code
    /// Which codec, and what it was reading.
    public var context: String
    /// Further detail, e.g. zlib's message.
    public var detail: String?

    public init(_ code: Code, _ context: String, detail: String? = nil) {
        self.code = code
        self.context = context
        self.detail = detail
    }

    public var description: String {
        var s = "CodecError.\(code): \(context)"
        if let detail { s += " (\(detail))" }
        return s
    }
}

/// Kafka's record-batch compression codecs (attribute bits 0-2).
public enum CompressionCodec: Int8, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4

    /// The codec for Kafka attribute bits, or nil for an unknown value.
    public init?(kafkaAttributes: Int16) {
        self.init(rawValue: Int8(kafkaAttributes & 0x7))
    }

    /// The codec named as in `compression.type` (`none`, `gzip`, `snappy`, `lz4`, `zstd`).
    public init?(name: String) {
        switch name.lowercased() {
        case "none", "uncompressed", "": self = .none
        case "gzip": self = .gzip
        case "snappy": self = .snappy
        case "lz4": self = .lz4
        case "zstd": self = .zstd
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }
}

/// Default bound on decompressed output: 256 MiB.
public let codecDefaultMaxOutput = 256 << 20

@inline(__always) func codecCheckedSize(_ declared: UInt64, max: Int, _ context: String) throws -> Int {
    guard declared <= UInt64(max) else {
        throw CodecError(.outputTooLarge, context, detail: "declared \(declared) bytes, bound \(max)")
    }
    return Int(declared)
}
