// The typed configuration of every connector class (SPEC §1–§7). The YAML layer in ConfigLoader
// decodes into these values; defaults are documented in REFERENCE.md beside this file.

/// A whole configuration file, decoded and validated.
public struct PipeConfiguration: Sendable, Equatable {
    /// `name`: namespaces the connector's state; letters, digits, `.`, `_`, `-`.
    public var name: String
    /// `class`.
    public var connectorClass: ConnectorClass
    public var log: LogSettings
    public var http: HTTPSettings
    /// The class's own settings.
    public var connector: ConnectorSettings
    /// The file the configuration was read from, as given to the loader.
    public var sourceFile: String

    public init(name: String, connectorClass: ConnectorClass, log: LogSettings, http: HTTPSettings,
                connector: ConnectorSettings, sourceFile: String) {
        self.name = name
        self.connectorClass = connectorClass
        self.log = log
        self.http = http
        self.connector = connector
        self.sourceFile = sourceFile
    }

    /// The Kafka settings, which every class has.
    public var kafka: KafkaSettings { connector.kafka }
}

public enum ConnectorClass: String, Sendable, CaseIterable, Equatable {
    case pgSource = "pg.Source"
    case pgSnapshot = "pg.Snapshot"
    case chSink = "ch.Sink"
    case s3Sink = "s3.Sink"
    case s3Backup = "s3.Backup"
}

public enum ConnectorSettings: Sendable, Equatable {
    case pgSource(PgSourceSettings)
    case pgSnapshot(PgSnapshotSettings)
    case chSink(ChSinkSettings)
    case s3Sink(S3SinkSettings)
    case s3Backup(S3BackupSettings)

    public var kafka: KafkaSettings {
        switch self {
        case .pgSource(let s): s.kafka
        case .pgSnapshot(let s): s.kafka
        case .chSink(let s): s.kafka
        case .s3Sink(let s): s.kafka
        case .s3Backup(let s): s.kafka
        }
    }
}

// MARK: - Common

public enum LogLevel: String, Sendable, CaseIterable, Equatable, Comparable {
    case trace, debug, info, warn, error

    private var rank: Int {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .warn: 3
        case .error: 4
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

public struct LogSettings: Sendable, Equatable {
    /// `log:level`, default `info`.
    public var level: LogLevel
    /// `log:pretty`, default false: JSON lines.
    public var pretty: Bool

    public init(level: LogLevel = .info, pretty: Bool = false) {
        self.level = level
        self.pretty = pretty
    }
}

public struct HTTPSettings: Sendable, Equatable {
    /// `http:listen`, default `:8081` (every interface); nil when set to the empty string (disabled).
    /// An empty host means every interface.
    public var listen: HostPort?

    public init(listen: HostPort? = HostPort(host: "", port: 8081)) {
        self.listen = listen
    }
}

/// `host:port`. IPv6 literals are kept without brackets in `host`; `description` adds them back.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// True when `host` is an IPv6 literal.
    public var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `schema.table`.
public struct TableName: Sendable, Hashable, CustomStringConvertible {
    public var schema: String
    public var table: String

    public init(schema: String, table: String) {
        self.schema = schema
        self.table = table
    }

    public var description: String { "\(schema).\(table)" }
}

/// A time in UTC written `2006-01-02 15:04:05`, held as seconds since 1970-01-01 00:00:00 UTC.
public struct UTCDateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var secondsSince1970: Int64

    public init(secondsSince1970: Int64) {
        self.secondsSince1970 = secondsSince1970
    }

    public static func < (a: UTCDateTime, b: UTCDateTime) -> Bool { a.secondsSince1970 < b.secondsSince1970 }

    public var description: String { ScalarParsers.formatDateTime(secondsSince1970) }
}

/// One entry of a `routes` map: a regular expression and where matches go. Routes keep file order;
/// the first whose expression matches anywhere in the name wins (unanchored, like Go's
/// `regexp.MatchString`; write `^…$` to match the whole name).
public struct Route: Sendable, Equatable {
    public var pattern: String
    public var target: String

    public init(pattern: String, target: String) {
        self.pattern = pattern
        self.target = target
    }

    /// Whether the expression matches somewhere in `name`. The pattern was compiled once when the
    /// configuration was loaded, so it is valid.
    public func matches(_ name: String) -> Bool {
        guard let regex = try? Regex(pattern) else { return false }
        return (try? regex.firstMatch(in: name)) != nil
    }
}

// MARK: - Kafka

public enum SASLMechanism: String, Sendable, CaseIterable, Equatable {
    case plain
    case scram256 = "scram-256"
    case scram512 = "scram-512"
    case oauth
    case aws
}

/// `kafka:sasl`. Only the fields of the chosen mechanism are set.
public struct SASLSettings: Sendable, Equatable {
    public var mechanism: SASLMechanism
    /// PLAIN / SCRAM user name.
    public var user: String
    /// PLAIN / SCRAM password (secret).
    public var pass: String
    /// Authorization id (PLAIN, SCRAM).
    public var zid: String
    /// SCRAM: a fixed client nonce, for tests only.
    public var nonce: String?
    /// SCRAM: send `tokenauth=true` (delegation tokens).
    public var isToken: Bool
    /// OAUTHBEARER token (secret).
    public var token: String
    /// AWS_MSK_IAM access key id; from `AWS_ACCESS_KEY_ID` when the file has none.
    public var accessKey: String
    /// AWS_MSK_IAM secret key (secret); from `AWS_SECRET_ACCESS_KEY` when the file has none.
    public var secretKey: String
    /// AWS_MSK_IAM session token (secret); from `AWS_SESSION_TOKEN` when the file has none.
    public var sessionToken: String?
    /// AWS_MSK_IAM user agent, default `kafka-pipe`.
    public var userAgent: String
    /// AWS region for AWS_MSK_IAM signing.
    public var region: String

    public init(mechanism: SASLMechanism, user: String = "", pass: String = "", zid: String = "",
                nonce: String? = nil, isToken: Bool = false, token: String = "", accessKey: String = "",
                secretKey: String = "", sessionToken: String? = nil, userAgent: String = "kafka-pipe",
                region: String = "") {
        self.mechanism = mechanism
        self.user = user
        self.pass = pass
        self.zid = zid
        self.nonce = nonce
        self.isToken = isToken
        self.token = token
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
        self.userAgent = userAgent
        self.region = region
    }
}

/// Client TLS. Present means TLS is on.
public struct TLSSettings: Sendable, Equatable {
    /// PEM file of trusted CAs; nil: the system's trust store.
    public var caFile: String?
    /// PEM client certificate (with `keyFile`).
    public var certFile: String?
    public var keyFile: String?
    /// Name checked against the certificate and sent as SNI; nil: the host connected to.
    public var serverName: String?
    /// Accept any certificate (tests only).
    public var insecureSkipVerify: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                serverName: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecureSkipVerify = insecureSkipVerify
    }
}

public enum TopicCompression: String, Sendable, CaseIterable, Equatable {
    case producer, uncompressed, gzip, snappy, lz4, zstd
}

/// `kafka:topic`: how missing topics are created (SPEC §2.2).
public struct TopicSettings: Sendable, Equatable {
    /// `prefix`, default empty.
    public var prefix: String
    /// `replication.factor`, default 1.
    public var replicationFactor: Int
    /// `partitions`, default 1.
    public var partitions: Int
    /// `compression.type`, default `producer`.
    public var compressionType: TopicCompression
    /// `cleanup.policy`: `delete` (default), `compact`, or `compact,delete`.
    public var cleanupPolicy: String
    /// `retention` → `retention.ms`, default 168h; nil: unlimited (`-1`).
    public var retention: Duration?
    /// `part_retention_size` → `retention.bytes`, default 10 GiB; nil: unlimited (`-1`).
    public var partRetentionSize: Int64?
    /// `routes`, in file order.
    public var routes: [Route]

    public init(prefix: String = "", replicationFactor: Int = 1, partitions: Int = 1,
                compressionType: TopicCompression = .producer, cleanupPolicy: String = "delete",
                retention: Duration? = .seconds(168 * 3600), partRetentionSize: Int64? = 10 << 30,
                routes: [Route] = []) {
        self.prefix = prefix
        self.replicationFactor = replicationFactor
        self.partitions = partitions
        self.compressionType = compressionType
        self.cleanupPolicy = cleanupPolicy
        self.retention = retention
        self.partRetentionSize = partRetentionSize
        self.routes = routes
    }

    /// `retention.ms` for CreateTopics: -1 when unlimited.
    public var retentionMs: Int64 {
        guard let retention else { return -1 }
        let (s, atto) = retention.components
        return s &* 1000 &+ atto / 1_000_000_000_000_000
    }

    /// `retention.bytes` for CreateTopics: -1 when unlimited.
    public var retentionBytes: Int64 { partRetentionSize ?? -1 }

    /// The topic for a table: the first route whose expression matches `schema.table` (its target
    /// gets the prefix unless it already starts with it), else `{prefix}.{schema}.{table}`
    /// (no leading dot when the prefix is empty).
    public func topicName(for table: TableName) -> String {
        let relation = table.description
        if let route = routes.first(where: { $0.matches(relation) }) {
            if prefix.isEmpty || route.target.hasPrefix(prefix) { return route.target }
            return "\(prefix).\(route.target)"
        }
        return prefix.isEmpty ? relation : "\(prefix).\(relation)"
    }
}

/// `kafka:batch`.
public struct BatchSettings: Sendable, Equatable {
    /// `size`, default 10000 records.
    public var size: Int
    /// `timeout`, default 5s.
    public var timeout: Duration

    public init(size: Int = 10_000, timeout: Duration = .seconds(5)) {
        self.size = size
        self.timeout = timeout
    }
}

/// `kafka`. Consumer fields (`group`, `topics`, ...) are read by ch.Sink and s3.Sink only; for the
/// other classes they hold their defaults (`group` empty, `topics` empty).
public struct KafkaSettings: Sendable, Equatable {
    /// `brokers`: seed brokers (default port 9092 when a broker has none).
    public var brokers: [HostPort]
    /// `client_id`, default `kafka-pipe`.
    public var clientID: String
    public var sasl: SASLSettings?
    /// nil: plaintext. When `sasl` is set and `tls` is absent, TLS is on with defaults.
    public var tls: TLSSettings?
    public var topic: TopicSettings
    public var batch: BatchSettings
    /// `group`: consumer group (sinks).
    public var group: String
    /// `topics`: topics to consume (sinks).
    public var topics: [String]
    /// `rebalance_timeout`, default 1m.
    public var rebalanceTimeout: Duration
    /// `workers_per_topic`, default 1.
    public var workersPerTopic: Int
    /// `fetch_max_bytes`, default 50 MiB.
    public var fetchMaxBytes: Int64
    /// `fetch_max_partition_bytes`, default 1 MiB.
    public var fetchMaxPartitionBytes: Int64

    public init(brokers: [HostPort], clientID: String = "kafka-pipe", sasl: SASLSettings? = nil,
                tls: TLSSettings? = nil, topic: TopicSettings = TopicSettings(), batch: BatchSettings = BatchSettings(),
                group: String = "", topics: [String] = [], rebalanceTimeout: Duration = .seconds(60),
                workersPerTopic: Int = 1, fetchMaxBytes: Int64 = 50 << 20, fetchMaxPartitionBytes: Int64 = 1 << 20) {
        self.brokers = brokers
        self.clientID = clientID
        self.sasl = sasl
        self.tls = tls
        self.topic = topic
        self.batch = batch
        self.group = group
        self.topics = topics
        self.rebalanceTimeout = rebalanceTimeout
        self.workersPerTopic = workersPerTopic
        self.fetchMaxBytes = fetchMaxBytes
        self.fetchMaxPartitionBytes = fetchMaxPartitionBytes
    }
}

// MARK: - PostgreSQL

/// `pg:url`, parsed. `description` shows the password as `***`.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, CaseIterable, Equatable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// A query parameter this module does not interpret, passed to the server as a run-time parameter.
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var user: String
    /// Secret; nil when the URL has none.
    public var password: String?
    /// Host name or IP literal (IPv6 without brackets).
    public var host: String
    /// Default 5432.
    public var port: Int
    /// Default: the user name (as libpq does).
    public var database: String
    /// `sslmode`, default `prefer`.
    public var sslMode: SSLMode
    /// `sslrootcert`: PEM file of trusted CAs for `verify-ca`/`verify-full`.
    public var sslRootCert: String?
    /// `sslcert`/`sslkey`: client certificate.
    public var sslCert: String?
    public var sslKey: String?
    /// `application_name`, default `kafka-pipe`.
    public var applicationName: String
    /// `connect_timeout` in seconds, default 10s.
    public var connectTimeout: Duration
    /// Other query parameters, in URL order.
    public var parameters: [Parameter]

    public init(user: String, password: String? = nil, host: String, port: Int = 5432, database: String,
                sslMode: SSLMode = .prefer, sslRootCert: String? = nil, sslCert: String? = nil,
                sslKey: String? = nil, applicationName: String = "kafka-pipe",
                connectTimeout: Duration = .seconds(10), parameters: [Parameter] = []) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.sslCert = sslCert
        self.sslKey = sslKey
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.parameters = parameters
    }

    public var address: HostPort { HostPort(host: host, port: port) }

    /// The URL with the password as `***`, all defaults written out.
    public var description: String { render(password: password == nil ? nil : "***") }

    /// The URL including the password: for handing to a connection, never for printing.
    public var unredacted: String { render(password: password.map { ScalarParsers.percentEncode($0, userinfo: true) }) }

    private func render(password: String?) -> String {
        var s = "postgres://" + ScalarParsers.percentEncode(user, userinfo: true)
        if let password { s += ":" + password }
        s += "@\(address)/" + ScalarParsers.percentEncode(database, userinfo: false)
        var query = ["sslmode=\(sslMode.rawValue)"]
        if let sslRootCert { query.append("sslrootcert=" + ScalarParsers.percentEncode(sslRootCert, userinfo: false)) }
        if let sslCert { query.append("sslcert=" + ScalarParsers.percentEncode(sslCert, userinfo: false)) }
        if let sslKey { query.append("sslkey=" + ScalarParsers.percentEncode(sslKey, userinfo: false)) }
        query.append("application_name=" + ScalarParsers.percentEncode(applicationName, userinfo: false))
        query.append("connect_timeout=\(connectTimeout.components.seconds)")
        for p in parameters {
            query.append(ScalarParsers.percentEncode(p.name, userinfo: false) + "=" + ScalarParsers.percentEncode(p.value, userinfo: false))
        }
        return s + "?" + query.joined(separator: "&")
    }
}

/// pg.Source (SPEC §3).
public struct PgSourceSettings: Sendable, Equatable {
    public var kafka: KafkaSettings
    /// `pg:url`.
    public var url: PostgresURL
    /// `pg:publication`.
    public var publication: String
    /// `pg:slot`.
    public var slot: String
    /// `pg:tables`.
    public var tables: [TableName]
    /// `pg:skip.delete`, default false.
    public var skipDelete: Bool
    /// `pg:health.table`, default `public.pipe_health`.
    public var healthTable: TableName
    /// `pg:heartbeat`, default 10s.
    public var heartbeat: Duration
    /// `pg:tombstones`, default false.
    public var tombstones: Bool

    public init(kafka: KafkaSettings, url: PostgresURL, publication: String, slot: String, tables: [TableName],
                skipDelete: Bool = false, healthTable: TableName = TableName(schema: "public", table: "pipe_health"),
                heartbeat: Duration = .seconds(10), tombstones: Bool = false) {
        self.kafka = kafka
        self.url = url
        self.publication = publication
        self.slot = slot
        self.tables = tables
        self.skipDelete = skipDelete
        self.healthTable = healthTable
        self.heartbeat = heartbeat
        self.tombstones = tombstones
    }
}

/// pg.Snapshot (SPEC §4).
public struct PgSnapshotSettings: Sendable, Equatable {
    public var kafka: KafkaSettings
    public var url: PostgresURL
    public var tables: [TableName]
    /// `pg:condition`: SQL appended after `FROM table`; empty when absent.
    public var condition: String
    /// `pg:chunk.size`, default 10000.
    public var chunkSize: Int

    public init(kafka: KafkaSettings, url: PostgresURL, tables: [TableName], condition: String = "",
                chunkSize: Int = 10_000) {
        self.kafka = kafka
        self.url = url
        self.tables = tables
        self.condition = condition
        self.chunkSize = chunkSize
    }
}

// MARK: - ClickHouse

public enum ClickHouseCompression: String, Sendable, CaseIterable, Equatable {
    case lz4, none
}

/// `click_house`.
public struct ClickHouseSettings: Sendable, Equatable {
    /// `addrs`: native-protocol addresses (default port 9000), tried in turn.
    public var addrs: [HostPort]
    public var database: String
    public var user: String
    /// Secret; empty when absent.
    public var password: String
    public var tls: TLSSettings?
    /// Default lz4.
    public var compression: ClickHouseCompression

    public init(addrs: [HostPort], database: String, user: String, password: String = "",
                tls: TLSSettings? = nil, compression: ClickHouseCompression = .lz4) {
        self.addrs = addrs
        self.database = database
        self.user = user
        self.password = password
        self.tls = tls
        self.compression = compression
    }
}

public enum SerdeFormat: String, Sendable, CaseIterable, Equatable {
    case json, avro
}

public enum TimeFormat: String, Sendable, CaseIterable, Equatable {
    case rfc3339
    /// Seconds since the epoch.
    case timestamp
    /// Milliseconds since the epoch.
    case timestampMilli = "timestamp-milli"
}

/// `serde`.
public struct SerdeSettings: Sendable, Equatable {
    /// Where an Avro schema for a topic comes from.
    public struct SchemaSource: Sendable, Equatable {
        public var topic: String
        /// `file://…`, `http://…` or `https://…`.
        public var url: String

        public init(topic: String, url: String) {
            self.topic = topic
            self.url = url
        }
    }

    /// Default json.
    public var format: SerdeFormat
    /// Default timestamp-milli.
    public var timeFormat: TimeFormat
    /// avro: one schema per topic, in file order.
    public var schemas: [SchemaSource]

    public init(format: SerdeFormat = .json, timeFormat: TimeFormat = .timestampMilli, schemas: [SchemaSource] = []) {
        self.format = format
        self.timeFormat = timeFormat
        self.schemas = schemas
    }
}

/// `on_error` (with `dlq.topic`).
public enum ErrorPolicy: Sendable, Equatable {
    case stop
    case skip
    case dlq(topic: String)

    public var name: String {
        switch self {
        case .stop: "stop"
        case .skip: "skip"
        case .dlq: "dlq"
        }
    }
}

/// ch.Sink (SPEC §5).
public struct ChSinkSettings: Sendable, Equatable {
    public var kafka: KafkaSettings
    public var clickHouse: ClickHouseSettings
    public var serde: SerdeSettings
    /// `routes`: topic expression → table, in file order.
    public var routes: [Route]
    /// `on_error`, default stop.
    public var onError: ErrorPolicy

    public init(kafka: KafkaSettings, clickHouse: ClickHouseSettings, serde: SerdeSettings = SerdeSettings(),
                routes: [Route] = [], onError: ErrorPolicy = .stop) {
        self.kafka = kafka
        self.clickHouse = clickHouse
        self.serde = serde
        self.routes = routes
        self.onError = onError
    }

    /// The table for a topic: the first matching route's target, else the topic name.
    public func table(forTopic topic: String) -> String {
        routes.first(where: { $0.matches(topic) })?.target ?? topic
    }
}

// MARK: - S3

/// Where the S3 service is: scheme, host and port.
public struct S3Endpoint: Sendable, Equatable, CustomStringConvertible {
    public var useTLS: Bool
    public var address: HostPort

    public init(useTLS: Bool, address: HostPort) {
        self.useTLS = useTLS
        self.address = address
    }

    public var scheme: String { useTLS ? "https" : "http" }

    /// `http://host:port`.
    public var description: String { "\(scheme)://\(address)" }
}

/// `s3`.
public struct S3Settings: Sendable, Equatable {
    /// `endpoint` (+ `ssl`).
    public var endpoint: S3Endpoint
    public var bucket: String
    /// `id`: access key id.
    public var accessKeyID: String
    /// `secret`: secret access key (secret).
    public var secretAccessKey: String
    /// `region`, default us-east-1.
    public var region: String

    public init(endpoint: S3Endpoint, bucket: String, accessKeyID: String, secretAccessKey: String,
                region: String = "us-east-1") {
        self.endpoint = endpoint
        self.bucket = bucket
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.region = region
    }
}

/// s3.Sink (SPEC §6).
public struct S3SinkSettings: Sendable, Equatable {
    public var kafka: KafkaSettings
    public var s3: S3Settings
    /// `group_time_interval`, default 1h.
    public var groupTimeInterval: Duration

    public init(kafka: KafkaSettings, s3: S3Settings, groupTimeInterval: Duration = .seconds(3600)) {
        self.kafka = kafka
        self.s3 = s3
        self.groupTimeInterval = groupTimeInterval
    }
}

/// s3.Backup (SPEC §7).
public struct S3BackupSettings: Sendable, Equatable {
    public var kafka: KafkaSettings
    public var s3: S3Settings
    /// `topics` to restore.
    public var topics: [String]
    /// `date_since`, UTC, inclusive.
    public var dateSince: UTCDateTime
    /// `date_to`, UTC, inclusive.
    public var dateTo: UTCDateTime

    public init(kafka: KafkaSettings, s3: S3Settings, topics: [String], dateSince: UTCDateTime, dateTo: UTCDateTime) {
        self.kafka = kafka
        self.s3 = s3
        self.topics = topics
        self.dateSince = dateSince
        self.dateTo = dateTo
    }
}
