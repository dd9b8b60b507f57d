// ch.Sink (SPEC §5): Kafka → ClickHouse over the native protocol, exactly once per partition
// into tables with insert deduplication (see ChSinkWriter for the protocol).
//
// `kafka:workers_per_topic` members per topic join the group from this process; each has its
// own consumer and writer (partitions are never shared, so writers do not contend).
internal import ClickHouseNative
internal import PipeTLS
internal import KafkaWire
internal import Logging
internal import NIOCore
internal import PipeConfig
internal import PipeRuntime
internal import ServiceLifecycle
internal import Storage
internal import WireCore

public final class ChSinkConnector: Connector {
    public let className = "ch.Sink"
    let environment: ConnectorEnvironment
    let settings: ChSinkSettings
    let beforeInsert: ChBeforeInsert?

    /// `beforeInsert`: for library users, replaces the JSON/Avro mapping (see `ChBeforeInsert`).
    public init(environment: ConnectorEnvironment, beforeInsert: ChBeforeInsert? = nil) throws {
        guard case .chSink(let s) = environment.configuration.connector else {
            throw ConnectorError(.configuration, "ch.Sink needs ch.Sink settings")
        }
        self.environment = environment
        self.settings = s
        self.beforeInsert = beforeInsert
    }

    static func pool(_ ch: ClickHouseSettings) throws -> ClickHouseConnectionPool {
        var tls: TLSContext?
        if let t = ch.tls {
            do {
                tls = try TLSContext(configuration: t.tlsConfiguration)
            } catch {
                throw ConnectorError(.configuration, "ch.Sink: click_house:tls", cause: error)
            }
        }
        let config = ClickHouseConfig(host: "", user: ch.user, password: ch.password, database: ch.database,
                                      compression: ch.compression == .lz4 ? .lz4 : .none,
                                      tls: tls, tlsServerName: ch.tls?.serverName)
        do {
            return try ClickHouseConnectionPool(addresses: ch.addrs.map(\.description), config: config, maxConnections: 8)
        } catch {
            throw ConnectorError(.configuration, "ch.Sink: click_house:addrs", cause: error)
        }
    }

    public func run() async throws {
        let logger = environment.logger
        let pool = try Self.pool(settings.clickHouse)
        let addrs = settings.clickHouse.addrs.map(\.description).joined(separator: ",")
        // The server, its deduplication token support, and every table, before consuming.
        let supportsToken: Bool
        do {
            let r = try await pool.withConnection {
                try await $0.query("SELECT count() FROM system.settings WHERE name = 'insert_deduplication_token'")
            }
            if case .uint(let n) = r.rows.first?.first { supportsToken = n > 0 } else { supportsToken = false }
        } catch {
            await pool.close()
            throw ConnectorError(.clickHouse, "ch.Sink: ClickHouse at \(addrs) (database \(settings.clickHouse.database), user \(settings.clickHouse.user))", cause: error)
        }
        for topic in settings.kafka.topics {
            do {
                _ = try await ChTableSchema.load(settings.table(forTopic: topic), defaultDatabase: settings.clickHouse.database, pool: pool)
            } catch {
                await pool.close()
                throw error
            }
        }
        let avro: [String: ChAvroSchema]
        do {
            avro = try await ChAvroSchema.loadAll(settings.serde, topics: settings.kafka.topics, logger: logger)
        } catch {
            await pool.close()
            throw error
        }
        let mapper = ChRecordMapper(settings: settings, avroSchemas: avro, beforeInsert: beforeInsert, logger: logger)

        var clientConfig = settings.kafka.clientConfiguration()
        clientConfig.requestTimeout = .seconds(30)
        let cluster = KafkaCluster(configuration: clientConfig)
        var dlq: KafkaProducer?
        if case .dlq(let topic) = settings.onError {
            let setup = TopicSetup(settings: settings.kafka.topic)
            do {
                try await setup.createMissingTopics([topic], admin: KafkaAdmin(cluster: cluster), logger: logger)
            } catch {
                await cluster.shutdown()
                await pool.close()
                throw error
            }
            dlq = TopicSetup.makeProducer(settings.kafka, cluster: cluster)
        }
        logger.info("ch.Sink running", metadata: [
            "topics": "\(settings.kafka.topics.joined(separator: ","))", "clickhouse": "\(addrs)",
            "group": "\(settings.kafka.group)", "dedup_token": "\(supportsToken)",
            "workers_per_topic": "\(settings.kafka.workersPerTopic)",
        ])
        do {
            try await runWorkers(cluster: cluster, pool: pool, mapper: mapper, dlq: dlq, supportsToken: supportsToken)
        } catch {
            await cluster.shutdown()
            await pool.close()
            throw error
        }
        await cluster.shutdown()
        await pool.close()
        environment.readiness.setNotReady("stopped")
        logger.info("ch.Sink stopped")
    }

    private func runWorkers(cluster: KafkaCluster, pool: ClickHouseConnectionPool, mapper: ChRecordMapper,
                            dlq: KafkaProducer?, supportsToken: Bool) async throws {
        let state = environment.store.namespace(environment.name)
        var built: [(KafkaGroupConsumer, ChSinkWriter)] = []
        for topic in settings.kafka.topics {
            for _ in 0..<max(1, settings.kafka.workersPerTopic) {
                let writer = ChSinkWriter(settings: settings, pool: pool, state: state, logger: environment.logger,
                                          readiness: environment.readiness, mapper: mapper, dlq: dlq,
                                          supportsDedupToken: supportsToken)
                var cc = KafkaGroupConsumer.Configuration(groupID: settings.kafka.group, topics: [topic])
                cc.rebalanceTimeout = .nanoseconds(Int64(settings.kafka.rebalanceTimeout.components.seconds) * 1_000_000_000)
                cc.fetchMaxBytes = Int32(clamping: settings.kafka.fetchMaxBytes)
                cc.fetchMaxPartitionBytes = Int32(clamping: settings.kafka.fetchMaxPartitionBytes)
                cc.sessionTimeout = .seconds(10)
                let consumer = KafkaGroupConsumer(cluster: cluster, configuration: cc, onRevoke: { partitions in
                    await writer.revoked(partitions)
                }, onAssign: { partitions in
                    await writer.assigned(partitions)
                })
                writer.consumer = consumer
                built.append((consumer, writer))
            }
        }
        let members = built
        environment.readiness.setReady()
        let batchTimeout = settings.kafka.batch.timeout
        let tick: Duration = min(.milliseconds(200), max(.milliseconds(10), batchTimeout / 5))
        try await withGracefulShutdownHandler {
            // A task's result: whether it was a member's run (which ends on leave(), after its
            // revoke flushed). The first failure, or a member that ends without a stop request,
            // ends them all.
            try await withThrowingTaskGroup(of: Bool.self) { group in
                if let dlq { group.addTask { try await dlq.run(); return false } }
                for (consumer, writer) in members {
                    group.addTask { try await consumer.run(); return true }
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: tick)
                            try await writer.flushIfDue()
                        }
                        return false
                    }
                    group.addTask {
                        for await batch in consumer.batches {
                            try await writer.add(batch)
                        }
                        return false
                    }
                }
                var running = members.count
                while running > 0, let memberEnded = try await group.next() {
                    guard memberEnded else { continue }
                    running -= 1
                    if !Task.isShuttingDownGracefully {
                        throw ConnectorError(.kafka, "ch.Sink: a group member of \(settings.kafka.group) stopped unexpectedly")
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            for (consumer, _) in members { consumer.leave() }
        }
    }
}
