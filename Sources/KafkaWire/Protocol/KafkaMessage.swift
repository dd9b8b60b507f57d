public import NIOCore

/// A message body generated from Apache Kafka's JSON definitions: a request, a response, or a
/// `data` structure such as `ConsumerProtocolSubscription`.
public protocol KafkaMessage: Sendable, Hashable {
    /// The versions the definition allows.
    static var validVersions: ClosedRange<Int16> { get }
    /// The first version that uses compact strings/arrays and tagged fields, or nil.
    static var firstFlexibleVersion: Int16? { get }
    /// Every field at its spec default.
    init()
    /// Reads exactly one message body at `version` (no length prefix, no header).
    init(from buffer: inout ByteBuffer, version: Int16) throws
    /// Writes the body at `version`. Throws when a field holds a value that `version` cannot carry.
    func encode(into buffer: inout ByteBuffer, version: Int16) throws
}

/// A request body with its api key and response type.
public protocol KafkaRequest: KafkaMessage {
    associatedtype Response: KafkaResponse
    static var apiKey: Int16 { get }
}

/// A response body with its api key.
public protocol KafkaResponse: KafkaMessage {
    static var apiKey: Int16 { get }
}

extension KafkaMessage {
    /// Whether `version` uses the flexible (compact, tagged) encoding.
    public static func isFlexible(_ version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }
}

/// A tagged field the generated code does not know, kept so that re-encoding preserves it.
public struct KafkaTaggedField: Sendable, Hashable {
    public var tag: UInt32
    public var data: [UInt8]

    public init(tag: UInt32, data: [UInt8]) {
        self.tag = tag
        self.data = data
    }

    init(tag: UInt32, buffer: ByteBuffer) {
        self.tag = tag
        self.data = Array(buffer.readableBytesView)
    }
}

/// Kafka's 16-byte UUID (topic ids). The all-zero value means "none".
public struct KafkaUUID: Sendable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let zero = KafkaUUID(high: 0, low: 0)

    /// Lower-case hex with dashes, 8-4-4-4-12.
    public var description: String {
        let hex = String(high, radix: 16).leftPadded(to: 16) + String(low, radix: 16).leftPadded(to: 16)
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-"
            + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}
