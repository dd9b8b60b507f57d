// Decoding of each class's keys (SPEC §2–§7). Choices the SPEC leaves open are in REFERENCE.md.

extension ConfigReader {
    func configuration(_ root: YAMLNode) throws(ConfigError) -> PipeConfiguration {
        guard root.mapping != nil else {
            if root.isNull {
                throw fail(.missingKey, root, key: nil, "the file is empty; a configuration needs at least `name`, `class` and `kafka`")
            }
            throw fail(.wrongType, root, key: nil, "the file must be a mapping of keys (`name: ...`, `class: ...`), not \(root.kindName)")
        }
        let top = Section(path: "", node: root, line: 1, column: 1)

        // The class decides which other keys are valid.
        let (className, classNode) = try required(top, "class")
        guard let connectorClass = ConnectorClass(rawValue: className) else {
            let names = ConnectorClass.allCases.map(\.rawValue)
            let near = names.first { $0.lowercased() == className.lowercased() } ?? ScalarParsers.nearest(className, in: names)
            let hint = near.map { "; did you mean `\($0)`?" } ?? " (one of \(names.joined(separator: ", ")))"
            throw fail(.invalidValue, classNode, key: "class", "unknown class `\(className)`\(hint)")
        }
        let allowed = Keys.common + Keys.perClass[connectorClass]!
        try checkKeys(top, allowed: allowed) { key in
            let owners = Keys.owners(ofTopLevel: key)
            guard !owners.isEmpty else { return nil }
            return "is not read by class `\(connectorClass.rawValue)` (it belongs to \(owners.map(\.rawValue).joined(separator: ", ")))"
        }

        let (name, nameNode) = try required(top, "name")
        let nameOK = !name.isEmpty && name.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "." || $0 == "_" || $0 == "-"
        }
        guard nameOK else {
            throw fail(.invalidValue, nameNode, key: "name", "`name` may contain only letters, digits, `.`, `_` and `-`, got `\(name)`")
        }

        let logSection = try section(top, "log", allowed: Keys.log)
        let log = LogSettings(
            level: try choice(logSection, "level", default: LogLevel.info, aliases: ["warning": .warn]),
            pretty: try bool(logSection, "pretty", default: false))

        let httpSection = try section(top, "http", allowed: Keys.http)
        var http = HTTPSettings()
        if let (text, node) = try scalar(httpSection, "listen") {
            if text.isEmpty {
                http.listen = nil
            } else {
                let spelled = text.allSatisfy({ $0.isASCII && $0.isNumber }) ? ":" + text : text
                switch ScalarParsers.parseHostPort(spelled, defaultPort: nil, allowEmptyHost: true, allowPortZero: true) {
                case .success(let hp): http.listen = hp
                case .failure(let e):
                    throw fail(.invalidValue, node, key: "http:listen", "`http:listen` \(e.message), got `\(text)`")
                }
            }
        } else if let k = httpSection.node?.mapping?.first(where: { $0.keyText == "listen" }), k.value.isNull,
                  k.value.scalar?.style == .plain, k.value.scalar?.text.isEmpty == true {
            // `listen:` with nothing: the same as the empty string, disabled.
            http.listen = nil
        }

        let kafka = try kafkaSettings(top, connectorClass)
        let connector: ConnectorSettings
        switch connectorClass {
        case .pgSource: connector = .pgSource(try pgSource(top, kafka: kafka))
        case .pgSnapshot: connector = .pgSnapshot(try pgSnapshot(top, kafka: kafka))
        case .chSink: connector = .chSink(try chSink(top, kafka: kafka))
        case .s3Sink:
            connector = .s3Sink(S3SinkSettings(
                kafka: kafka, s3: try s3(top),
                groupTimeInterval: try duration(top, "group_time_interval", default: .seconds(3600))))
        case .s3Backup: connector = .s3Backup(try s3Backup(top, kafka: kafka))
        }
        return PipeConfiguration(name: name, connectorClass: connectorClass, log: log, http: http,
                                 connector: connector, sourceFile: file)
    }

    // MARK: Kafka

    func kafkaSettings(_ top: Section, _ c: ConnectorClass) throws(ConfigError) -> KafkaSettings {
        guard top.value("kafka") != nil else { throw missing(top, "kafka") }
        let k = try section(top, "kafka", allowed: Keys.kafka(for: c)) { key in
            if Keys.kafkaConsumer.contains(key) { return "is read only by classes ch.Sink and s3.Sink" }
            if key == "topic" { return "is read only by classes pg.Source, pg.Snapshot and s3.Backup" }
            return nil
        }
        let brokers = try addresses(k, "brokers", defaultPort: 9092)
        var settings = KafkaSettings(brokers: brokers)
        settings.clientID = try string(k, "client_id", default: "kafka-pipe")
        if settings.clientID.isEmpty {
            throw fail(.invalidValue, k.value("client_id"), key: "kafka:client_id", "`kafka:client_id` must not be empty")
        }
        settings.sasl = try sasl(k, brokers: brokers)
        settings.tls = try tls(k, defaultOn: settings.sasl != nil)

        let batch = try section(k, "batch", allowed: Keys.batch)
        settings.batch = BatchSettings(size: try int(batch, "size", default: 10_000, range: 1...10_000_000),
                                       timeout: try duration(batch, "timeout", default: .seconds(5)))

        switch c {
        case .pgSource, .pgSnapshot:
            settings.topic = try topic(k, forBackup: false)
        case .s3Backup:
            settings.topic = try topic(k, forBackup: true)
        case .chSink, .s3Sink:
            settings.group = try nonEmpty(k, "group")
            settings.topics = try requiredList(k, "topics", what: "topic names").map { text, node throws(ConfigError) in
                try topicName(text, node: node, key: "kafka:topics")
            }
            settings.rebalanceTimeout = try duration(k, "rebalance_timeout", default: .seconds(60))
            settings.workersPerTopic = try int(k, "workers_per_topic", default: 1, range: 1...1024)
            settings.fetchMaxBytes = try size(k, "fetch_max_bytes", default: 50 << 20, max: Int64(Int32.max))
            settings.fetchMaxPartitionBytes = try size(k, "fetch_max_partition_bytes", default: 1 << 20, max: Int64(Int32.max))
        }
        return settings
    }

    /// A required list of addresses. An item may hold several separated by commas, so that one
    /// variable can carry them all: `brokers: ["${KAFKA_BROKERS}"]` with `k1:9092,k2:9092`.
    func addresses(_ s: Section, _ key: String, defaultPort: Int) throws(ConfigError) -> [HostPort] {
        var out: [HostPort] = []
        for (text, node) in try requiredList(s, key, what: "`host:port` addresses") {
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                let item = String(part.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
                out.append(try hostPort(item, node: node, key: s.full(key), defaultPort: defaultPort))
            }
        }
        return out
    }

    func sasl(_ k: Section, brokers: [HostPort]) throws(ConfigError) -> SASLSettings? {
        let s = try section(k, "sasl", allowed: Keys.sasl)
        guard s.node != nil else { return nil }
        guard s.has("protocol") else { throw missing(s, "protocol") }
        let mechanism: SASLMechanism = try choice(s, "protocol", default: .plain, aliases: [
            "scram-sha-256": .scram256, "scram-sha-512": .scram512, "oauthbearer": .oauth,
            "aws_msk_iam": .aws, "aws-msk-iam": .aws,
        ])
        let only: [String: [SASLMechanism]] = [
            "user": [.plain, .scram256, .scram512], "pass": [.plain, .scram256, .scram512],
            "zid": [.plain, .scram256, .scram512], "nonce": [.scram256, .scram512], "is_token": [.scram256, .scram512],
            "token": [.oauth], "access_key": [.aws], "secret_key": [.aws], "session_token": [.aws],
            "user_agent": [.aws], "region": [.aws],
        ]
        for pair in s.node?.mapping ?? [] {
            if let allowed = only[pair.keyText], !allowed.contains(mechanism) {
                throw fail(.invalidValue, pair.key, key: s.full(pair.keyText),
                           "`\(s.full(pair.keyText))` is not used with protocol `\(mechanism.rawValue)` (only with \(allowed.map { "`\($0.rawValue)`" }.joined(separator: ", ")))")
            }
        }
        var out = SASLSettings(mechanism: mechanism)
        switch mechanism {
        case .plain, .scram256, .scram512:
            out.user = try nonEmpty(s, "user")
            out.pass = try required(s, "pass").0
            out.zid = try string(s, "zid", default: "")
            out.nonce = try scalar(s, "nonce")?.0
            out.isToken = try bool(s, "is_token", default: false)
        case .oauth:
            out.token = try nonEmpty(s, "token")
        case .aws:
            let fileKey = try scalar(s, "access_key")?.0
            let fileSecret = try scalar(s, "secret_key")?.0
            if (fileKey == nil) != (fileSecret == nil) {
                throw failAt(.missingKey, s, key: "kafka:sasl", "`kafka:sasl:access_key` and `kafka:sasl:secret_key` go together")
            }
            if let fileKey, let fileSecret {
                out.accessKey = fileKey
                out.secretKey = fileSecret
                out.sessionToken = try scalar(s, "session_token")?.0
            } else {
                guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
                      let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                    throw failAt(.missingKey, s, key: "kafka:sasl",
                                 "protocol `aws` needs `access_key` and `secret_key`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
                }
                out.accessKey = key
                out.secretKey = secret
                out.sessionToken = try scalar(s, "session_token")?.0 ?? environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            }
            out.userAgent = try string(s, "user_agent", default: "kafka-pipe")
            var region = try scalar(s, "region")?.0
            if region == nil || region!.isEmpty {
                region = [environment["AWS_REGION"], environment["AWS_DEFAULT_REGION"]].compactMap { $0 }.first { !$0.isEmpty }
            }
            if region == nil {
                // MSK broker names carry the region: b-1.x.y.kafka.eu-west-1.amazonaws.com
                for b in brokers {
                    let parts = b.host.split(separator: ".")
                    if let i = parts.firstIndex(of: "kafka"), i + 2 < parts.count, parts[i + 2] == "amazonaws" {
                        region = String(parts[i + 1])
                        break
                    }
                }
            }
            guard let region else {
                throw failAt(.missingKey, s, key: "kafka:sasl:region",
                             "protocol `aws` needs `kafka:sasl:region` (or AWS_REGION in the environment)")
            }
            out.region = region
        }
        return out
    }

    func tls(_ parent: Section, defaultOn: Bool) throws(ConfigError) -> TLSSettings? {
        let t = try section(parent, "tls", allowed: Keys.tls)
        guard t.node != nil else { return defaultOn ? TLSSettings() : nil }
        let enabled = try bool(t, "enabled", default: true)
        let settings = TLSSettings(
            caFile: try scalar(t, "ca_file")?.0,
            certFile: try scalar(t, "cert_file")?.0,
            keyFile: try scalar(t, "key_file")?.0,
            serverName: try scalar(t, "server_name")?.0,
            insecureSkipVerify: try bool(t, "insecure_skip_verify", default: false))
        if (settings.certFile == nil) != (settings.keyFile == nil) {
            let key = settings.certFile == nil ? "cert_file" : "key_file"
            throw failAt(.missingKey, t, key: t.full(key), "`\(t.full("cert_file"))` and `\(t.full("key_file"))` go together; `\(t.full(key))` is missing")
        }
        return enabled ? settings : nil
    }

    func topic(_ k: Section, forBackup: Bool) throws(ConfigError) -> TopicSettings {
        let t = try section(k, "topic", allowed: forBackup ? Keys.topicForBackup : Keys.topic) { key in
            forBackup && Keys.topic.contains(key) ? "is not read by class s3.Backup (restored topics keep their names and partitions)" : nil
        }
        var out = TopicSettings()
        if let (prefix, node) = try scalar(t, "prefix") {
            out.prefix = try topicName(prefix, node: node, key: "kafka:topic:prefix", allowEmpty: true)
        }
        out.replicationFactor = try int(t, "replication.factor", default: 1, range: 1...Int(Int16.max))
        out.partitions = try int(t, "partitions", default: 1, range: 1...Int(Int32.max))
        out.compressionType = try choice(t, "compression.type", default: .producer, aliases: ["none": .uncompressed])
        if let (policy, node) = try scalar(t, "cleanup.policy") {
            let parts = Set(policy.split(separator: ",").map { String($0.filter { $0 != " " }).lowercased() })
            guard !parts.isEmpty, parts.isSubset(of: ["delete", "compact"]) else {
                throw fail(.invalidValue, node, key: "kafka:topic:cleanup.policy",
                           "`kafka:topic:cleanup.policy` must be `delete`, `compact` or `compact,delete`, got `\(policy)`")
            }
            out.cleanupPolicy = parts.count == 2 ? "compact,delete" : parts.first!
        }
        if let (text, node) = try scalar(t, "retention") {
            if text == "-1" || text.lowercased() == "unlimited" {
                out.retention = nil
            } else {
                out.retention = try positiveDuration(text, node: node, key: "kafka:topic:retention")
            }
        }
        if let (text, _) = try scalar(t, "part_retention_size") {
            if text == "-1" || text.lowercased() == "unlimited" {
                out.partRetentionSize = nil
            } else {
                out.partRetentionSize = try size(t, "part_retention_size", default: 0)
            }
        }
        for (pattern, target, node) in try orderedMap(t, "routes") {
            let key = "kafka:topic:routes:\(pattern)"
            try regex(pattern, node: node, key: key)
            _ = try topicName(target, node: t.value("routes")?[pattern] ?? node, key: key)
            out.routes.append(Route(pattern: pattern, target: target))
        }
        return out
    }

    // MARK: PostgreSQL

    func postgresURL(_ pg: Section) throws(ConfigError) -> PostgresURL {
        let (text, node) = try required(pg, "url")
        switch PostgresURLParser.parse(text) {
        case .success(let url): return url
        case .failure(let e): throw fail(.invalidValue, node, key: "pg:url", "`pg:url` \(e.message)")
        }
    }

    func tables(_ pg: Section) throws(ConfigError) -> [TableName] {
        var seen = Set<TableName>()
        var out: [TableName] = []
        for (text, node) in try requiredList(pg, "tables", what: "`schema.table` names") {
            let t = try tableName(text, node: node, key: "pg:tables")
            guard seen.insert(t).inserted else {
                throw fail(.invalidValue, node, key: "pg:tables", "`pg:tables` lists `\(t)` twice")
            }
            out.append(t)
        }
        return out
    }

    func pgSource(_ top: Section, kafka: KafkaSettings) throws(ConfigError) -> PgSourceSettings {
        guard top.value("pg") != nil else { throw missing(top, "pg") }
        let pg = try section(top, "pg", allowed: Keys.pgSource) { key in
            Keys.pgSnapshot.contains(key) ? "is read only by class pg.Snapshot" : nil
        }
        let url = try postgresURL(pg)
        let (publication, pubNode) = try required(pg, "publication")
        guard !publication.isEmpty, publication.utf8.count <= 63 else {
            throw fail(.invalidValue, pubNode, key: "pg:publication", "`pg:publication` must be a name of 1 to 63 bytes")
        }
        let (slot, slotNode) = try required(pg, "slot")
        let slotOK = !slot.isEmpty && slot.utf8.count <= 63
            && slot.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }
        guard slotOK else {
            throw fail(.invalidValue, slotNode, key: "pg:slot",
                       "`pg:slot` may contain only lower-case letters, digits and `_` (at most 63), got `\(slot)`")
        }
        let tables = try tables(pg)
        var health = TableName(schema: "public", table: "pipe_health")
        if let (text, node) = try scalar(pg, "health.table") {
            health = try tableName(text, node: node, key: "pg:health.table")
            if tables.contains(health) {
                throw fail(.invalidValue, node, key: "pg:health.table",
                           "`pg:health.table` `\(health)` is also in `pg:tables`; its changes are never produced, so use another table")
            }
        }
        return PgSourceSettings(
            kafka: kafka, url: url, publication: publication, slot: slot, tables: tables,
            skipDelete: try bool(pg, "skip.delete", default: false), healthTable: health,
            heartbeat: try duration(pg, "heartbeat", default: .seconds(10)),
            tombstones: try bool(pg, "tombstones", default: false))
    }

    func pgSnapshot(_ top: Section, kafka: KafkaSettings) throws(ConfigError) -> PgSnapshotSettings {
        guard top.value("pg") != nil else { throw missing(top, "pg") }
        let pg = try section(top, "pg", allowed: Keys.pgSnapshot) { key in
            Keys.pgSource.contains(key) ? "is read only by class pg.Source" : nil
        }
        return PgSnapshotSettings(
            kafka: kafka, url: try postgresURL(pg), tables: try tables(pg),
            condition: try string(pg, "condition", default: ""),
            chunkSize: try int(pg, "chunk.size", default: 10_000, range: 1...10_000_000))
    }

    // MARK: ClickHouse

    func chSink(_ top: Section, kafka: KafkaSettings) throws(ConfigError) -> ChSinkSettings {
        guard top.value("click_house") != nil else { throw missing(top, "click_house") }
        let ch = try section(top, "click_house", allowed: Keys.clickHouse)
        let addrs = try addresses(ch, "addrs", defaultPort: 9000)
        let clickHouse = ClickHouseSettings(
            addrs: addrs, database: try nonEmpty(ch, "database"), user: try nonEmpty(ch, "user"),
            password: try string(ch, "password", default: ""), tls: try tls(ch, defaultOn: false),
            compression: try choice(ch, "compression", default: .lz4))

        let sd = try section(top, "serde", allowed: Keys.serde)
        var serde = SerdeSettings(format: try choice(sd, "format", default: .json),
                                  timeFormat: try choice(sd, "time_format", default: .timestampMilli,
                                                         aliases: ["timestamp_milli": .timestampMilli]))
        for (topic, url, node) in try orderedMap(sd, "schemas") {
            let key = "serde:schemas:\(topic)"
            guard url.hasPrefix("file://") || url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw fail(.invalidValue, sd.value("schemas")?[topic] ?? node, key: key,
                           "`\(key)` must be a `file://`, `http://` or `https://` URL, got `\(url)`")
            }
            serde.schemas.append(.init(topic: topic, url: url))
        }
        if serde.format == .json, let first = sd.keyNode("schemas"), !serde.schemas.isEmpty {
            throw fail(.invalidValue, first, key: "serde:schemas", "`serde:schemas` is used only with `serde:format: avro`")
        }
        if serde.format == .avro {
            for t in kafka.topics where !serde.schemas.contains(where: { $0.topic == t }) {
                throw failAt(.missingKey, sd, key: "serde:schemas",
                             "`serde:format` is avro but `serde:schemas` has no schema for topic `\(t)`")
            }
        }

        var routes: [Route] = []
        for (pattern, table, node) in try orderedMap(top, "routes") {
            try regex(pattern, node: node, key: "routes:\(pattern)")
            if table.isEmpty {
                throw fail(.invalidValue, node, key: "routes:\(pattern)", "`routes:\(pattern)` must name a table")
            }
            routes.append(Route(pattern: pattern, target: table))
        }

        var onError = ErrorPolicy.stop
        let policy = try scalar(top, "on_error")
        let dlqTopic = try scalar(top, "dlq.topic")
        switch policy?.0.lowercased() {
        case nil, "stop": onError = .stop
        case "skip": onError = .skip
        case "dlq":
            guard let (t, node) = dlqTopic else {
                throw fail(.missingKey, policy!.1, key: "dlq.topic", "`on_error: dlq` needs `dlq.topic`")
            }
            onError = .dlq(topic: try topicName(t, node: node, key: "dlq.topic"))
        default:
            let text = policy!.0
            let near = ScalarParsers.nearest(text, in: ["stop", "skip", "dlq"]).map { "; did you mean `\($0)`?" } ?? " (`stop`, `skip` or `dlq`)"
            throw fail(.invalidValue, policy!.1, key: "on_error", "`on_error` cannot be `\(text)`\(near)")
        }
        if let (_, node) = dlqTopic, onError.name != "dlq" {
            throw fail(.invalidValue, top.keyNode("dlq.topic") ?? node, key: "dlq.topic", "`dlq.topic` is used only with `on_error: dlq`")
        }
        return ChSinkSettings(kafka: kafka, clickHouse: clickHouse, serde: serde, routes: routes, onError: onError)
    }

    // MARK: S3

    func s3(_ top: Section) throws(ConfigError) -> S3Settings {
        guard top.value("s3") != nil else { throw missing(top, "s3") }
        let s = try section(top, "s3", allowed: Keys.s3)
        let (endpointText, endpointNode) = try required(s, "endpoint")
        let sslKey = try scalar(s, "ssl", what: "true or false")
        let ssl = try bool(s, "ssl", default: false)
        var endpoint: S3Endpoint
        if let schemeEnd = endpointText.firstRange(of: "://") {
            let scheme = endpointText[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else {
                throw fail(.invalidValue, endpointNode, key: "s3:endpoint", "`s3:endpoint` must use `http://` or `https://`, got `\(endpointText)`")
            }
            var rest = endpointText[schemeEnd.upperBound...]
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            if rest.contains("/") || rest.contains("?") || rest.contains("@") {
                throw fail(.invalidValue, endpointNode, key: "s3:endpoint",
                           "`s3:endpoint` must be `scheme://host[:port]` without a path, got `\(endpointText)`")
            }
            let tlsOn = scheme == "https"
            if sslKey != nil && ssl != tlsOn {
                throw fail(.invalidValue, endpointNode, key: "s3:endpoint",
                           "`s3:endpoint` says \(scheme) but `s3:ssl` is \(ssl); drop `s3:ssl` or make them agree")
            }
            endpoint = S3Endpoint(useTLS: tlsOn, address: try hostPort(String(rest), node: endpointNode, key: "s3:endpoint", defaultPort: tlsOn ? 443 : 80))
        } else {
            endpoint = S3Endpoint(useTLS: ssl, address: try hostPort(endpointText, node: endpointNode, key: "s3:endpoint", defaultPort: ssl ? 443 : 80))
        }
        let (bucket, bucketNode) = try required(s, "bucket")
        let bucketOK = (3...63).contains(bucket.count) && bucket.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "."
        }
        guard bucketOK else {
            throw fail(.invalidValue, bucketNode, key: "s3:bucket",
                       "`s3:bucket` must be an S3 bucket name (3-63 lower-case letters, digits, `-`, `.`), got `\(bucket)`")
        }
        return S3Settings(endpoint: endpoint, bucket: bucket, accessKeyID: try nonEmpty(s, "id"),
                          secretAccessKey: try nonEmpty(s, "secret"), region: try string(s, "region", default: "us-east-1"))
    }

    func s3Backup(_ top: Section, kafka: KafkaSettings) throws(ConfigError) -> S3BackupSettings {
        let s3 = try s3(top)
        let topics = try requiredList(top, "topics", what: "topic names").map { text, node throws(ConfigError) in
            try topicName(text, node: node, key: "topics")
        }
        func date(_ key: String) throws(ConfigError) -> UTCDateTime {
            let (text, node) = try required(top, key)
            switch ScalarParsers.parseDateTime(text) {
            case .success(let d): return d
            case .failure(let e): throw fail(.invalidValue, node, key: key, "`\(key)` \(e.message), got `\(text)`")
            }
        }
        let since = try date("date_since")
        let to = try date("date_to")
        if to < since {
            throw fail(.invalidValue, top.value("date_to"), key: "date_to", "`date_to` (\(to)) is before `date_since` (\(since))")
        }
        return S3BackupSettings(kafka: kafka, s3: s3, topics: topics, dateSince: since, dateTo: to)
    }
}

// MARK: - pg:url

enum PostgresURLParser {
    /// `postgres://user:pass@host:port/db?sslmode=…`. Messages never repeat the URL (it holds a password).
    static func parse(_ text: String) -> Result<PostgresURL, ValueError> {
        let scheme: String
        if text.hasPrefix("postgres://") { scheme = "postgres://" } else if text.hasPrefix("postgresql://") { scheme = "postgresql://" } else {
            return .failure(ValueError("must be a URL `postgres://user:password@host:port/database?sslmode=...`"))
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var user = ""
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                guard let u = ScalarParsers.percentDecode(info[..<colon]),
                      let p = ScalarParsers.percentDecode(info[info.index(after: colon)...]) else {
                    return .failure(ValueError("has a bad `%` escape in the user or password"))
                }
                user = u
                password = p
            } else {
                guard let u = ScalarParsers.percentDecode(info) else { return .failure(ValueError("has a bad `%` escape in the user")) }
                user = u
            }
        }
        var hostPart = rest
        var database = ""
        if let slash = rest.firstIndex(of: "/") {
            hostPart = rest[..<slash]
            guard let d = ScalarParsers.percentDecode(rest[rest.index(after: slash)...]) else {
                return .failure(ValueError("has a bad `%` escape in the database name"))
            }
            database = d
        }
        if hostPart.contains(",") { return .failure(ValueError("names several hosts; give one")) }
        if hostPart.isEmpty { return .failure(ValueError("has no host (Unix sockets are not supported); write `postgres://user:password@host:5432/database`")) }
        let address: HostPort
        switch ScalarParsers.parseHostPort(String(hostPart), defaultPort: 5432) {
        case .success(let hp): address = hp
        case .failure(let e): return .failure(ValueError("host " + e.message))
        }
        if user.isEmpty { return .failure(ValueError("has no user name; write `postgres://user:password@host:port/database`")) }
        var url = PostgresURL(user: user, password: password, host: address.host, port: address.port,
                              database: database.isEmpty ? user : database)
        for item in query.split(separator: "&") where !item.isEmpty {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = ScalarParsers.percentDecode(kv[0]),
                  let value = ScalarParsers.percentDecode(kv.count > 1 ? kv[1] : "") else {
                return .failure(ValueError("has a bad `%` escape in its parameters"))
            }
            switch name {
            case "sslmode":
                guard let mode = PostgresURL.SSLMode(rawValue: value) else {
                    let modes = PostgresURL.SSLMode.allCases.map(\.rawValue)
                    let near = ScalarParsers.nearest(value, in: modes).map { "; did you mean `\($0)`?" } ?? " (\(modes.joined(separator: ", ")))"
                    return .failure(ValueError("has unknown sslmode `\(value)`\(near)"))
                }
                url.sslMode = mode
            case "sslrootcert": url.sslRootCert = value
            case "sslcert": url.sslCert = value
            case "sslkey": url.sslKey = value
            case "application_name": url.applicationName = value
            case "connect_timeout":
                guard let n = Int(value), n > 0, n < 86400 else {
                    return .failure(ValueError("has connect_timeout `\(value)`; it must be whole seconds"))
                }
                url.connectTimeout = .seconds(n)
            case "replication":
                // The connector opens its replication connection itself.
                continue
            case "host", "hostaddr", "port", "user", "password", "dbname":
                return .failure(ValueError("sets `\(name)` as a parameter; put it in the URL itself"))
            default:
                url.parameters.append(.init(name: name, value: value))
            }
        }
        if url.sslCert != nil && url.sslKey == nil || url.sslCert == nil && url.sslKey != nil {
            return .failure(ValueError("needs both `sslcert` and `sslkey`, or neither"))
        }
        return .success(url)
    }
}
