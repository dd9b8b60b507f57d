import Testing
import PipeConfig

@Suite struct ConfigFeatureTests {
    @Test func anchorsAndMergeKeysInAConfiguration() throws {
        let text = """
        x-kafka: &kafka
          brokers: ["[::1]:9092", kafka-2]
          batch: {size: 500, timeout: 300ms}
        name: merged
        class: s3.Sink
        kafka:
          <<: *kafka
          group: g
          topics: [a, b]
        s3:
          endpoint: s3.local:9000
          ssl: true
          bucket: my.bucket-1
          id: key
          secret: secret
        """
        // Top-level `x-` keys are ignored: a place for anchors.
        let merged = try ConfigLoader.parse(text: text, file: "m.yaml", environment: [:])
        #expect(merged.kafka.brokers == [HostPort(host: "::1", port: 9092), HostPort(host: "kafka-2", port: 9092)])
        #expect(merged.kafka.batch == BatchSettings(size: 500, timeout: .milliseconds(300)))
        #expect(merged.kafka.group == "g")
        // Other unknown keys are errors.
        let e = configError(text.replacingOccurrences(of: "x-kafka:", with: "y-kafka:"))
        #expect(e?.description == "c.yaml:1:1: unknown key `y-kafka`; did you mean `kafka`?")
        // Anchors inside the sections work as well.
        let fixed = """
        name: merged
        class: s3.Sink
        kafka:
          brokers: &brokers ["[::1]:9092", kafka-2]
          batch: &batch {size: 500, timeout: 300ms}
          group: g
          topics: [a, b]
        s3:
          endpoint: s3.local:9000
          ssl: true
          bucket: my.bucket-1
          id: key
          secret: secret
        """
        let config = try ConfigLoader.parse(text: fixed, file: "m.yaml", environment: [:])
        #expect(config.kafka.brokers == [HostPort(host: "::1", port: 9092), HostPort(host: "kafka-2", port: 9092)])
        #expect(config.kafka.batch == BatchSettings(size: 500, timeout: .milliseconds(300)))
        guard case .s3Sink(let s) = config.connector else { Issue.record("class"); return }
        #expect(s.s3.endpoint == S3Endpoint(useTLS: true, address: HostPort(host: "s3.local", port: 9000)))
        #expect(s.s3.endpoint.description == "https://s3.local:9000")
    }

    @Test func blockScalarsAsValues() throws {
        let text = """
        name: snap
        class: pg.Snapshot
        pg:
          url: >-
            postgres://u:p@db.example.com:6432/app?sslmode=require&options=-c%20statement_timeout%3D0
          tables:
            - '"Weird.Schema"."My Table"'
            - app.users
          condition: |
            WHERE created_at > now() - interval '1 day'
              AND deleted_at IS NULL
        kafka:
          brokers:
          - 127.0.0.1:9092
        """
        let config = try ConfigLoader.parse(text: text, file: "b.yaml", environment: [:])
        guard case .pgSnapshot(let s) = config.connector else { Issue.record("class"); return }
        #expect(s.url.host == "db.example.com")
        #expect(s.url.port == 6432)
        #expect(s.url.sslMode == .require)
        #expect(s.url.parameters == [PostgresURL.Parameter(name: "options", value: "-c statement_timeout=0")])
        #expect(s.tables == [TableName(schema: "Weird.Schema", table: "My Table"), TableName(schema: "app", table: "users")])
        #expect(s.condition == "WHERE created_at > now() - interval '1 day'\n  AND deleted_at IS NULL\n")
    }

    @Test(arguments: [
        ("\":8081\"", HostPort(host: "", port: 8081) as HostPort?), ("8082", HostPort(host: "", port: 8082)),
        ("\"\"", nil), ("", nil), ("\"127.0.0.1:0\"", HostPort(host: "127.0.0.1", port: 0)),
        ("\"[::]:9100\"", HostPort(host: "::", port: 9100)),
    ])
    func httpListen(value: String, expected: HostPort?) throws {
        let text = validSource + "http:\n  listen: \(value)\n"
        let config = try ConfigLoader.parse(text: text, file: "h.yaml", environment: [:])
        #expect(config.http.listen == expected)
    }

    @Test func defaultsWhenSectionsAreAbsent() throws {
        let config = try ConfigLoader.parse(text: validSource, file: "d.yaml", environment: [:])
        #expect(config.log == LogSettings(level: .info, pretty: false))
        #expect(config.http.listen == HostPort(host: "", port: 8081))
        #expect(config.kafka.clientID == "kafka-pipe")
        #expect(config.kafka.sasl == nil)
        #expect(config.kafka.tls == nil)
        #expect(config.kafka.topic == TopicSettings())
        #expect(config.kafka.batch == BatchSettings(size: 10_000, timeout: .seconds(5)))
        guard case .pgSource(let s) = config.connector else { Issue.record("class"); return }
        #expect(s.skipDelete == false)
        #expect(s.tombstones == false)
        #expect(s.heartbeat == .seconds(10))
        #expect(s.healthTable == TableName(schema: "public", table: "pipe_health"))
        #expect(s.url.sslMode == .prefer)
        #expect(s.url.applicationName == "kafka-pipe")
    }

    @Test func chSinkAvroDLQAndTLS() throws {
        let text = validSink + """
          password: pw
          compression: NONE
          tls:
            ca_file: /etc/ca.pem
            server_name: ch.internal
        serde:
          format: avro
          schemas:
            t: file:///schemas/t.avsc
        on_error: dlq
        dlq.topic: dead-letters
        log:
          level: WARNING
          pretty: on
        """
        let config = try ConfigLoader.parse(text: text, file: "a.yaml", environment: [:])
        #expect(config.log == LogSettings(level: .warn, pretty: true))
        guard case .chSink(let s) = config.connector else { Issue.record("class"); return }
        #expect(s.clickHouse.password == "pw")
        #expect(s.clickHouse.compression == ClickHouseCompression.none)
        #expect(s.clickHouse.tls == TLSSettings(caFile: "/etc/ca.pem", serverName: "ch.internal"))
        #expect(s.serde.format == .avro)
        #expect(s.serde.schemas == [SerdeSettings.SchemaSource(topic: "t", url: "file:///schemas/t.avsc")])
        #expect(s.onError == .dlq(topic: "dead-letters"))
        #expect(!config.resolvedYAML().contains("pw"))
    }

    @Test func missingFileIsAnIOError() {
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/dir/pipe.yaml", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .io)
            #expect(error.description.hasPrefix("/nonexistent/dir/pipe.yaml: cannot read the file"))
        }
    }

    @Test func everyClassHasAnExample() throws {
        var seen = Set<ConnectorClass>()
        for name in ["pg-source.yaml", "pg-snapshot.yaml", "ch-sink.yaml", "s3-sink.yaml", "s3-backup.yaml"] {
            seen.insert(try loadExample(name).connectorClass)
        }
        #expect(seen == Set(ConnectorClass.allCases))
    }
}
