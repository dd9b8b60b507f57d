public import KafkaWire
public import Logging
public import PipeConfig
import NIOCore

/// Topic naming and creation for the source connectors (SPEC §2.2), and the producer they share.
///
/// - Naming: `{prefix}.{schema}.{table}` (no leading dot when the prefix is empty); `routes` are
///   regular expressions over `schema.table`, tried in file order, the first match wins, and its
///   target gets the prefix prepended unless it already starts with it.
/// - Creation: a missing topic is created with `partitions`, `replication.factor`,
///   `compression.type`, `cleanup.policy`, `retention.ms` and `retention.bytes` from
///   `kafka:topic`; an existing topic is never altered.
public struct TopicSetup: Sendable {
    public let settings: TopicSettings

    public init(settings: TopicSettings) {
        self.settings = settings
    }

    /// The topic for `table` (routes first, then `{prefix}.{schema}.{table}`).
    public func topicName(for table: TableName) -> String {
        settings.topicName(for: table)
    }

    /// The topics of `tables`, in table order, each table mapped to its topic.
    public func topicNames(for tables: [TableName]) -> [TableName: String] {
        var names: [TableName: String] = [:]
        for t in tables { names[t] = topicName(for: t) }
        return names
    }

    /// The CreateTopics specification for a topic named `name` under these settings.
    public func topicSpec(named name: String) -> KafkaAdmin.TopicSpec {
        KafkaAdmin.TopicSpec(
            name: name, partitions: Int32(clamping: settings.partitions),
            replicationFactor: Int16(clamping: settings.replicationFactor),
            configs: [
                "compression.type": settings.compressionType.rawValue,
                "cleanup.policy": settings.cleanupPolicy,
                "retention.ms": String(settings.retentionMs),
                "retention.bytes": String(settings.retentionBytes),
            ])
    }

    /// Creates the topics of `names` that do not exist yet; existing ones are left as they are.
    /// Returns the names that were created.
    @discardableResult
    public func createMissingTopics(_ names: [String], admin: KafkaAdmin, logger: Logger) async throws(ConnectorError) -> [String] {
        let unique = Array(Set(names)).sorted()
        guard !unique.isEmpty else { return [] }
        let missing: [String]
        do {
            let metadata = try await admin.metadata(topics: unique)
            var present = Set<String>()
            for t in metadata.topics where KafkaErrorCode(t.errorCode) == .noError {
                if let name = t.name { present.insert(name) }
            }
            missing = unique.filter { !present.contains($0) }
        } catch {
            throw ConnectorError(.kafka, "Kafka metadata for topics \(unique.joined(separator: ", "))", cause: error)
        }
        guard !missing.isEmpty else { return [] }
        let results: [String: KafkaAdmin.CreateResult]
        do {
            results = try await admin.createTopics(missing.map(topicSpec(named:)), ifNotExists: true)
        } catch {
            throw ConnectorError(.kafka, "creating topics \(missing.joined(separator: ", "))", cause: error)
        }
        let created = missing.filter { results[$0] == .created }
        for name in created {
            logger.info("created topic", metadata: [
                "topic": "\(name)", "partitions": "\(settings.partitions)",
                "replication.factor": "\(settings.replicationFactor)",
            ])
        }
        return created
    }

    /// The producer settings of `kafka:batch` (SPEC §2.2): a batch is sent once it holds
    /// `batch:size` records or has waited `batch:timeout`; idempotent with `acks=all`.
    public static func producerConfiguration(_ kafka: KafkaSettings) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration()
        configuration.idempotent = true
        configuration.acks = -1
        configuration.batchMaxRecords = max(1, kafka.batch.size)
        let (seconds, atto) = kafka.batch.timeout.components
        configuration.linger = .nanoseconds(max(0, seconds &* 1_000_000_000 &+ atto / 1_000_000_000))
        return configuration
    }

    /// A cluster for the connector's `kafka:*` settings (brokers, client id, TLS, SASL).
    public static func makeCluster(_ kafka: KafkaSettings) -> KafkaCluster {
        KafkaCluster(configuration: kafka.clientConfiguration())
    }

    /// The producer for `kafka` over `cluster`. Run `cluster.run()` and `producer.run()` in tasks
    /// of their own for it to send.
    public static func makeProducer(_ kafka: KafkaSettings, cluster: KafkaCluster) -> KafkaProducer {
        KafkaProducer(cluster: cluster, configuration: producerConfiguration(kafka))
    }
}
