import Foundation
import Testing
import PipeConfig

/// The folder of the example configurations shipped with the tests (copies of `examples/`).
let examplesDir: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Examples")
let repoExamplesDir: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples")

func loadExample(_ name: String, environment: [String: String] = [:]) throws -> PipeConfiguration {
    try ConfigLoader.load(path: examplesDir.appendingPathComponent(name).path, environment: environment)
}

@Suite struct ExampleConfigTests {
    @Test(arguments: ["pg-source.yaml", "pg-snapshot.yaml", "ch-sink.yaml", "s3-sink.yaml", "s3-backup.yaml"])
    func repositoryExamplesMatchTestCopies(name: String) throws {
        let a = try Data(contentsOf: examplesDir.appendingPathComponent(name))
        let b = try Data(contentsOf: repoExamplesDir.appendingPathComponent(name))
        #expect(a == b, "examples/\(name) and Tests/PipeConfigTests/Examples/\(name) differ")
    }

    @Test func pgSource() throws {
        let path = examplesDir.appendingPathComponent("pg-source.yaml").path
        let config = try ConfigLoader.load(path: path, environment: [:])
        let kafka = KafkaSettings(
            brokers: [HostPort(host: "127.0.0.1", port: 9092)], clientID: "kafka-pipe",
            topic: TopicSettings(prefix: "pg", replicationFactor: 1, partitions: 1, compressionType: .producer,
                                 cleanupPolicy: "delete", retention: .seconds(168 * 3600), partRetentionSize: 10 << 30,
                                 routes: [Route(pattern: "^public\\.orders$", target: "orders")]),
            batch: BatchSettings(size: 10_000, timeout: .seconds(5)))
        let url = PostgresURL(user: "postgres", password: "postgres", host: "127.0.0.1", port: 5432,
                              database: "postgres", sslMode: .disable)
        let expected = PipeConfiguration(
            name: "pg-source-example", connectorClass: .pgSource, log: LogSettings(level: .info, pretty: true),
            http: HTTPSettings(listen: HostPort(host: "", port: 8081)),
            connector: .pgSource(PgSourceSettings(
                kafka: kafka, url: url, publication: "kafka_pipe", slot: "kafka_pipe",
                tables: [TableName(schema: "public", table: "users"), TableName(schema: "public", table: "orders")],
                skipDelete: false, healthTable: TableName(schema: "public", table: "pipe_health"),
                heartbeat: .seconds(10), tombstones: false)),
            sourceFile: path)
        #expect(config == expected)
        #expect(config.kafka.topic.topicName(for: TableName(schema: "public", table: "orders")) == "pg.orders")
        #expect(config.kafka.topic.topicName(for: TableName(schema: "public", table: "users")) == "pg.public.users")
        #expect(config.kafka.topic.retentionMs == 604_800_000)
        #expect(config.kafka.topic.retentionBytes == 10_737_418_240)
    }

    @Test func pgSourcePasswordFromEnvironment() throws {
        let config = try loadExample("pg-source.yaml", environment: ["PG_PASSWORD": "s3cr3t/@:x"])
        guard case .pgSource(let s) = config.connector else { Issue.record("wrong class"); return }
        #expect(s.url.password == "s3cr3t/@:x")
        #expect(s.url.description == "postgres://postgres:***@127.0.0.1:5432/postgres?sslmode=disable&application_name=kafka-pipe&connect_timeout=10")
        #expect(s.url.unredacted.contains("s3cr3t%2F%40%3Ax"))
    }

    @Test func pgSnapshot() throws {
        let config = try loadExample("pg-snapshot.yaml")
        let expected = PgSnapshotSettings(
            kafka: KafkaSettings(brokers: [HostPort(host: "127.0.0.1", port: 9092)],
                                 topic: TopicSettings(prefix: "snapshot")),
            url: PostgresURL(user: "postgres", password: "postgres", host: "127.0.0.1", database: "postgres",
                             sslMode: .disable),
            tables: [TableName(schema: "public", table: "users"), TableName(schema: "public", table: "orders")],
            condition: "WHERE id > 0", chunkSize: 10_000)
        #expect(config.connectorClass == .pgSnapshot)
        #expect(config.name == "pg-snapshot-example")
        #expect(config.connector == .pgSnapshot(expected))
        #expect(config.log == LogSettings(level: .info, pretty: false))
        #expect(config.http.listen == HostPort(host: "", port: 8081))
    }

    @Test func chSink() throws {
        let config = try loadExample("ch-sink.yaml")
        let expected = ChSinkSettings(
            kafka: KafkaSettings(brokers: [HostPort(host: "127.0.0.1", port: 9092)], group: "ch-sink-example",
                                 topics: ["pg.public.users", "orders"], rebalanceTimeout: .seconds(60),
                                 workersPerTopic: 1, fetchMaxBytes: 52_428_800, fetchMaxPartitionBytes: 1_048_576),
            clickHouse: ClickHouseSettings(addrs: [HostPort(host: "127.0.0.1", port: 9000)], database: "default",
                                           user: "default", password: "", tls: nil, compression: .lz4),
            serde: SerdeSettings(format: .json, timeFormat: .timestampMilli, schemas: []),
            routes: [Route(pattern: "^pg\\.public\\.users$", target: "users"), Route(pattern: "^orders$", target: "orders")],
            onError: .stop)
        #expect(config.connector == .chSink(expected))
        #expect(expected.table(forTopic: "pg.public.users") == "users")
        #expect(expected.table(forTopic: "other") == "other")
    }

    @Test func s3Sink() throws {
        let config = try loadExample("s3-sink.yaml")
        let expected = S3SinkSettings(
            kafka: KafkaSettings(brokers: [HostPort(host: "127.0.0.1", port: 9092)], group: "s3-sink-example",
                                 topics: ["pg.public.users"]),
            s3: S3Settings(endpoint: S3Endpoint(useTLS: false, address: HostPort(host: "127.0.0.1", port: 9900)),
                           bucket: "kafka-pipe", accessKeyID: "AKIATESTKEY000000001",
                           secretAccessKey: "testsecret-0123456789", region: "us-east-1"),
            groupTimeInterval: .seconds(3600))
        #expect(config.connector == .s3Sink(expected))
        #expect(expected.s3.endpoint.description == "http://127.0.0.1:9900")
    }

    @Test func s3Backup() throws {
        let config = try loadExample("s3-backup.yaml", environment: ["S3_SECRET": "from-env"])
        guard case .s3Backup(let s) = config.connector else { Issue.record("wrong class"); return }
        #expect(s.kafka.brokers == [HostPort(host: "127.0.0.1", port: 9092)])
        #expect(s.kafka.batch == BatchSettings(size: 10_000, timeout: .seconds(5)))
        #expect(s.s3.endpoint == S3Endpoint(useTLS: false, address: HostPort(host: "127.0.0.1", port: 9900)))
        #expect(s.s3.secretAccessKey == "from-env")
        #expect(s.topics == ["pg.public.users"])
        #expect(s.dateSince == UTCDateTime(secondsSince1970: 1_704_067_200))
        #expect(s.dateTo == UTCDateTime(secondsSince1970: 1_924_991_999))
        #expect(s.dateTo.description == "2030-12-31 23:59:59")
    }

    /// The resolved YAML of each example loads back into the same configuration (secrets aside) and
    /// shows no secret.
    @Test(arguments: ["pg-source.yaml", "pg-snapshot.yaml", "ch-sink.yaml", "s3-sink.yaml", "s3-backup.yaml"])
    func resolvedYAMLRoundTrips(name: String) throws {
        let env = ["PG_PASSWORD": "pg-secret-value", "S3_SECRET": "s3-secret-value", "CLICKHOUSE_PASSWORD": "ch-secret-value"]
        let config = try loadExample(name, environment: env)
        let text = config.resolvedYAML()
        for secret in env.values {
            #expect(!text.contains(secret), "\(name): secret shown in\n\(text)")
        }
        var again = try ConfigLoader.parse(text: text, file: config.sourceFile, environment: [:])
        // Put the secrets back, then everything must be equal.
        switch (again.connector, config.connector) {
        case (.pgSource(var a), .pgSource(let b)):
            #expect(a.url.password == "***")
            a.url.password = b.url.password
            again.connector = .pgSource(a)
        case (.pgSnapshot(var a), .pgSnapshot(let b)):
            a.url.password = b.url.password
            again.connector = .pgSnapshot(a)
        case (.chSink(var a), .chSink(let b)):
            a.clickHouse.password = b.clickHouse.password
            again.connector = .chSink(a)
        case (.s3Sink(var a), .s3Sink(let b)):
            #expect(a.s3.secretAccessKey == "***")
            a.s3.secretAccessKey = b.s3.secretAccessKey
            again.connector = .s3Sink(a)
        case (.s3Backup(var a), .s3Backup(let b)):
            a.s3.secretAccessKey = b.s3.secretAccessKey
            again.connector = .s3Backup(a)
        default:
            Issue.record("class changed")
        }
        #expect(again == config, "\(text)")
    }
}
