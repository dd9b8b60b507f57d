extension PipeConfiguration {
    /// The configuration as YAML with every default written out and every secret (passwords, `pass`,
    /// `secret`, `token`, `secret_key`, `session_token`, the password in `pg:url`) shown as `***`.
    /// The text loads back into the same configuration, secrets aside.
    public func resolvedYAML() -> String {
        typealias V = YAMLWriter.Value
        var top: [(String, V)] = [
            ("name", .string(name)),
            ("class", .string(connectorClass.rawValue)),
            ("log", .map([("level", .string(log.level.rawValue)), ("pretty", .raw(String(log.pretty)))])),
            ("http", .map([("listen", .string(http.listen.map { $0.description } ?? ""))])),
            ("kafka", .map(kafkaYAML())),
        ]
        switch connector {
        case .pgSource(let s):
            top.append(("pg", .map([
                ("url", .string(s.url.description)),
                ("publication", .string(s.publication)),
                ("slot", .string(s.slot)),
                ("tables", .list(s.tables.map { .string($0.description) })),
                ("skip.delete", .raw(String(s.skipDelete))),
                ("health.table", .string(s.healthTable.description)),
                ("heartbeat", .raw(ScalarParsers.formatDuration(s.heartbeat))),
                ("tombstones", .raw(String(s.tombstones))),
            ])))
        case .pgSnapshot(let s):
            top.append(("pg", .map([
                ("url", .string(s.url.description)),
                ("tables", .list(s.tables.map { .string($0.description) })),
                ("condition", .string(s.condition)),
                ("chunk.size", .raw(String(s.chunkSize))),
            ])))
        case .chSink(let s):
            var ch: [(String, V)] = [
                ("addrs", .list(s.clickHouse.addrs.map { .string($0.description) })),
                ("database", .string(s.clickHouse.database)),
                ("user", .string(s.clickHouse.user)),
                ("password", .string(s.clickHouse.password.isEmpty ? "" : "***")),
            ]
            ch.append(("tls", .map(Self.tlsYAML(s.clickHouse.tls))))
            ch.append(("compression", .string(s.clickHouse.compression.rawValue)))
            top.append(("click_house", .map(ch)))
            var serde: [(String, V)] = [("format", .string(s.serde.format.rawValue)),
                                        ("time_format", .string(s.serde.timeFormat.rawValue))]
            if !s.serde.schemas.isEmpty {
                serde.append(("schemas", .map(s.serde.schemas.map { ($0.topic, .string($0.url)) })))
            }
            top.append(("serde", .map(serde)))
            top.append(("routes", .map(s.routes.map { ($0.pattern, .string($0.target)) })))
            top.append(("on_error", .string(s.onError.name)))
            if case .dlq(let topic) = s.onError { top.append(("dlq.topic", .string(topic))) }
        case .s3Sink(let s):
            top.append(("s3", .map(Self.s3YAML(s.s3))))
            top.append(("group_time_interval", .raw(ScalarParsers.formatDuration(s.groupTimeInterval))))
        case .s3Backup(let s):
            top.append(("s3", .map(Self.s3YAML(s.s3))))
            top.append(("topics", .list(s.topics.map { .string($0) })))
            top.append(("date_since", .string(s.dateSince.description)))
            top.append(("date_to", .string(s.dateTo.description)))
        }
        return YAMLWriter.write(.map(top))
    }

    private func kafkaYAML() -> [(String, YAMLWriter.Value)] {
        let k = kafka
        var out: [(String, YAMLWriter.Value)] = [
            ("brokers", .list(k.brokers.map { .string($0.description) })),
            ("client_id", .string(k.clientID)),
        ]
        if let sasl = k.sasl {
            var s: [(String, YAMLWriter.Value)] = [("protocol", .string(sasl.mechanism.rawValue))]
            switch sasl.mechanism {
            case .plain, .scram256, .scram512:
                s.append(("user", .string(sasl.user)))
                s.append(("pass", .string("***")))
                if !sasl.zid.isEmpty { s.append(("zid", .string(sasl.zid))) }
                if sasl.mechanism != .plain {
                    if let nonce = sasl.nonce { s.append(("nonce", .string(nonce))) }
                    s.append(("is_token", .raw(String(sasl.isToken))))
                }
            case .oauth:
                s.append(("token", .string("***")))
            case .aws:
                s.append(("access_key", .string(sasl.accessKey)))
                s.append(("secret_key", .string("***")))
                if sasl.sessionToken != nil { s.append(("session_token", .string("***"))) }
                s.append(("user_agent", .string(sasl.userAgent)))
                s.append(("region", .string(sasl.region)))
            }
            out.append(("sasl", .map(s)))
        }
        out.append(("tls", .map(Self.tlsYAML(k.tls))))
        switch connectorClass {
        case .pgSource, .pgSnapshot, .s3Backup:
            let t = k.topic
            var topic: [(String, YAMLWriter.Value)] = []
            if connectorClass != .s3Backup { topic.append(("prefix", .string(t.prefix))) }
            topic.append(("replication.factor", .raw(String(t.replicationFactor))))
            if connectorClass != .s3Backup { topic.append(("partitions", .raw(String(t.partitions)))) }
            topic.append(("compression.type", .string(t.compressionType.rawValue)))
            topic.append(("cleanup.policy", .string(t.cleanupPolicy)))
            topic.append(("retention", .raw(t.retention.map(ScalarParsers.formatDuration) ?? "-1")))
            topic.append(("part_retention_size", .raw(t.partRetentionSize.map(ScalarParsers.formatSize) ?? "-1")))
            if connectorClass != .s3Backup {
                topic.append(("routes", .map(t.routes.map { ($0.pattern, .string($0.target)) })))
            }
            out.append(("topic", .map(topic)))
        case .chSink, .s3Sink:
            out.append(("group", .string(k.group)))
            out.append(("topics", .list(k.topics.map { .string($0) })))
            out.append(("rebalance_timeout", .raw(ScalarParsers.formatDuration(k.rebalanceTimeout))))
            out.append(("workers_per_topic", .raw(String(k.workersPerTopic))))
            out.append(("fetch_max_bytes", .raw(ScalarParsers.formatSize(k.fetchMaxBytes))))
            out.append(("fetch_max_partition_bytes", .raw(ScalarParsers.formatSize(k.fetchMaxPartitionBytes))))
        }
        out.append(("batch", .map([("size", .raw(String(k.batch.size))),
                                   ("timeout", .raw(ScalarParsers.formatDuration(k.batch.timeout)))])))
        return out
    }

    private static func tlsYAML(_ tls: TLSSettings?) -> [(String, YAMLWriter.Value)] {
        guard let tls else { return [("enabled", .raw("false"))] }
        var out: [(String, YAMLWriter.Value)] = [("enabled", .raw("true"))]
        if let v = tls.caFile { out.append(("ca_file", .string(v))) }
        if let v = tls.certFile { out.append(("cert_file", .string(v))) }
        if let v = tls.keyFile { out.append(("key_file", .string(v))) }
        if let v = tls.serverName { out.append(("server_name", .string(v))) }
        out.append(("insecure_skip_verify", .raw(String(tls.insecureSkipVerify))))
        return out
    }

    private static func s3YAML(_ s: S3Settings) -> [(String, YAMLWriter.Value)] {
        [
            ("endpoint", .string(s.endpoint.description)),
            ("bucket", .string(s.bucket)),
            ("id", .string(s.accessKeyID)),
            ("secret", .string("***")),
            ("region", .string(s.region)),
        ]
    }
}
