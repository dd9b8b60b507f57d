/// The Connectors module's one error type: what failed, where (table, topic, slot, config key),
/// and the underlying cause. Descriptions never include passwords or tokens (causes come from
/// PgWire/KafkaWire, whose errors are already redacted).
public struct ConnectorError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case configuration, postgres, kafka, position, stateStore, invalidData, clickHouse
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configuration does not fit the servers (unknown table, missing rights...).
        public static let configuration = Code(.configuration)
        /// PostgreSQL refused or failed.
        public static let postgres = Code(.postgres)
        /// Kafka refused or failed.
        public static let kafka = Code(.kafka)
        /// A saved position does not match the server (slot gone, slot ahead of the saved LSN).
        public static let position = Code(.position)
        /// The state store failed.
        public static let stateStore = Code(.stateStore)
        /// The server sent something the connector cannot turn into records.
        public static let invalidData = Code(.invalidData)
        /// ClickHouse refused or failed.
        public static let clickHouse = Code(.clickHouse)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// What failed and where, in words for the log line.
    public var context: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ context: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.context = context
        self.cause = cause
    }

    /// Whether retrying after a backoff may help (network and server failures), as opposed to
    /// errors only an operator can fix (configuration, positions).
    public var isRetriable: Bool {
        code == .postgres || code == .kafka || code == .clickHouse
    }

    public var description: String {
        guard let cause else { return context }
        return "\(context): \(cause)"
    }
}
