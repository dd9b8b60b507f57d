import Testing
import PipeConfig

@Suite struct EnvironmentAndRedactionTests {
    @Test func expansionInEveryKindOfScalar() throws {
        let text = """
        name: ${NAME}
        class: ch.Sink
        kafka:
          brokers: ["${KAFKA_HOST}:${KAFKA_PORT:-9092}", '${SECOND:-127.0.0.2:9093}']
          group: ${GROUP:-default-group}
          topics: [t]
          batch:
            size: ${BATCH_SIZE}
        click_house:
          addrs: [127.0.0.1:9000]
          database: db
          user: u
          password: ${CH_PASSWORD}
        routes:
          "^t$": costs-$$5 and $${LITERAL}
        """
        let env = ["NAME": "from-env", "KAFKA_HOST": "10.0.0.1", "BATCH_SIZE": "250", "CH_PASSWORD": "pa$$word", "SECOND": ""]
        let config = try ConfigLoader.parse(text: text, file: "e.yaml", environment: env)
        #expect(config.name == "from-env")
        #expect(config.kafka.brokers == [HostPort(host: "10.0.0.1", port: 9092), HostPort(host: "127.0.0.2", port: 9093)])
        #expect(config.kafka.group == "default-group")
        #expect(config.kafka.batch.size == 250)
        guard case .chSink(let s) = config.connector else { Issue.record("class"); return }
        // Values from the environment are not expanded again.
        #expect(s.clickHouse.password == "pa$$word")
        #expect(s.routes == [Route(pattern: "^t$", target: "costs-$$5 and ${LITERAL}")])
    }

    @Test func severalAddressesFromOneVariable() throws {
        let text = validSink.replacingOccurrences(of: "[127.0.0.1:9092]", with: "[\"${KAFKA_BROKERS}\"]")
            .replacingOccurrences(of: "[127.0.0.1:9000]", with: "[\"${CH_ADDRS}\", c3]")
        let config = try ConfigLoader.parse(text: text, file: "e.yaml",
                                            environment: ["KAFKA_BROKERS": "k1:9092, [::1]:9093", "CH_ADDRS": "c1,c2:9001"])
        #expect(config.kafka.brokers == [HostPort(host: "k1", port: 9092), HostPort(host: "::1", port: 9093)])
        guard case .chSink(let s) = config.connector else { Issue.record("class"); return }
        #expect(s.clickHouse.addrs == [HostPort(host: "c1", port: 9000), HostPort(host: "c2", port: 9001), HostPort(host: "c3", port: 9000)])
    }

    @Test func unsetVariableNamesVariableAndPlace() {
        let text = "name: x\nclass: s3.Sink\nkafka:\n  brokers: [a:1]\n  group: g\n  topics: [t]\ns3:\n  endpoint: e:1\n  bucket: bkt\n  id: i\n  secret: ${S3_SECRET}\n"
        let e = configError(text)
        #expect(e?.code == .environment)
        #expect(e?.key == "s3:secret")
        #expect(e?.description == "c.yaml:11:11: environment variable `S3_SECRET` is not set (used in `s3:secret`); set it or write `${S3_SECRET:-default}`")
        // The same file with the variable set loads.
        #expect(configError(text, environment: ["S3_SECRET": "x"]) == nil)
    }

    @Test func resolvedYAMLHidesEverySecret() throws {
        let secrets = ["sasl-pass-1", "ch-pass-2", "pg-pass-3", "token-4", "aws-secret-5", "aws-session-6", "s3-secret-7"]
        let scram = """
        name: a
        class: ch.Sink
        kafka:
          brokers: [127.0.0.1:9092]
          group: g
          topics: [t]
          sasl:
            protocol: scram-512
            user: alice
            pass: sasl-pass-1
        click_house:
          addrs: [127.0.0.1:9000]
          database: db
          user: u
          password: ch-pass-2
        """
        let pg = """
        name: b
        class: pg.Snapshot
        pg:
          url: postgres://bob:pg-pass-3@[::1]:5433/db?sslmode=verify-full&sslrootcert=/ca.pem
          tables: [t]
        kafka:
          brokers: ["[::1]:9092"]
          sasl:
            protocol: oauth
            token: token-4
        """
        let aws = """
        name: c
        class: s3.Sink
        kafka:
          brokers: [b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098]
          group: g
          topics: [t]
          sasl:
            protocol: aws
        s3:
          endpoint: https://s3.example.com
          bucket: bkt
          id: AKIA
          secret: s3-secret-7
        """
        let env = ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "aws-secret-5", "AWS_SESSION_TOKEN": "aws-session-6"]
        for text in [scram, pg, aws] {
            let config = try ConfigLoader.parse(text: text, file: "r.yaml", environment: env)
            let resolved = config.resolvedYAML()
            for secret in secrets {
                #expect(!resolved.contains(secret), "\(secret) in\n\(resolved)")
            }
            #expect(resolved.contains("***"))
            #expect(!String(describing: config.connector).isEmpty)
        }
        let a = try ConfigLoader.parse(text: aws, file: "r.yaml", environment: env)
        #expect(a.kafka.sasl?.region == "eu-west-1")
        #expect(a.kafka.sasl?.accessKey == "AKIAENV")
        #expect(a.kafka.sasl?.secretKey == "aws-secret-5")
        #expect(a.kafka.sasl?.sessionToken == "aws-session-6")
        // SASL without a tls section turns TLS on.
        #expect(a.kafka.tls == TLSSettings())
        guard case .s3Sink(let s) = a.connector else { Issue.record("class"); return }
        #expect(s.s3.endpoint == S3Endpoint(useTLS: true, address: HostPort(host: "s3.example.com", port: 443)))
        let p = try ConfigLoader.parse(text: pg, file: "r.yaml", environment: [:])
        guard case .pgSnapshot(let snap) = p.connector else { Issue.record("class"); return }
        #expect(snap.url.host == "::1")
        #expect(snap.url.port == 5433)
        #expect(snap.url.sslMode == .verifyFull)
        #expect(snap.url.sslRootCert == "/ca.pem")
        #expect(snap.url.description == "postgres://bob:***@[::1]:5433/db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=kafka-pipe&connect_timeout=10")
        #expect(snap.tables == [TableName(schema: "public", table: "t")])
    }

    @Test func resolvedYAMLShowsDefaults() throws {
        let text = "name: n\nclass: pg.Snapshot\npg:\n  url: postgres://u@h/d\n  tables: [s.t]\nkafka:\n  brokers: [h]\nhttp:\n  listen: \"\"\n"
        let config = try ConfigLoader.parse(text: text, file: "d.yaml", environment: [:])
        #expect(config.http.listen == nil)
        let expected = """
        name: n
        class: pg.Snapshot
        log:
          level: info
          pretty: false
        http:
          listen: ""
        kafka:
          brokers:
            - h:9092
          client_id: kafka-pipe
          tls:
            enabled: false
          topic:
            prefix: ""
            replication.factor: 1
            partitions: 1
            compression.type: producer
            cleanup.policy: delete
            retention: 168h
            part_retention_size: 10GiB
            routes: {}
          batch:
            size: 10000
            timeout: 5s
        pg:
          url: postgres://u@h:5432/d?sslmode=prefer&application_name=kafka-pipe&connect_timeout=10
          tables:
            - s.t
          condition: ""
          chunk.size: 10000

        """
        #expect(config.resolvedYAML() == expected)
    }

    @Test func tlsSectionAndOptions() throws {
        let text = """
        name: n
        class: pg.Source
        pg:
          url: postgres://u:p@h/d
          publication: p
          slot: s
          tables: [a, b.c]
          heartbeat: 2s
          skip.delete: yes
          tombstones: true
        kafka:
          brokers: [h:1]
          client_id: my-client
          sasl:
            protocol: SCRAM-SHA-256
            user: u
            pass: p
          tls:
            enabled: false
          topic:
            cleanup.policy: delete, compact
            retention: -1
            part_retention_size: unlimited
            routes:
              "^public\\\\.a$": a-topic
              ".*": all
        """
        let config = try ConfigLoader.parse(text: text, file: "t.yaml", environment: [:])
        #expect(config.kafka.tls == nil)
        #expect(config.kafka.sasl?.mechanism == .scram256)
        #expect(config.kafka.clientID == "my-client")
        #expect(config.kafka.topic.cleanupPolicy == "compact,delete")
        #expect(config.kafka.topic.retentionMs == -1)
        #expect(config.kafka.topic.retentionBytes == -1)
        #expect(config.kafka.topic.routes.map(\.target) == ["a-topic", "all"])
        #expect(config.kafka.topic.topicName(for: TableName(schema: "public", table: "a")) == "a-topic")
        #expect(config.kafka.topic.topicName(for: TableName(schema: "b", table: "c")) == "all")
        guard case .pgSource(let s) = config.connector else { Issue.record("class"); return }
        #expect(s.heartbeat == .seconds(2))
        #expect(s.skipDelete)
        #expect(s.tombstones)
        #expect(s.tables == [TableName(schema: "public", table: "a"), TableName(schema: "b", table: "c")])
        // Round trip through the resolved form.
        let again = try ConfigLoader.parse(text: config.resolvedYAML(), file: "t.yaml", environment: [:])
        #expect(again.kafka == config.kafka.with { $0.sasl?.pass = "***" })
    }
}

extension KafkaSettings {
    func with(_ change: (inout KafkaSettings) -> Void) -> KafkaSettings {
        var copy = self
        change(&copy)
        return copy
    }
}

@Suite struct PrintingRedactionTests {
    @Test func printingValuesNeverShowsSecrets() throws {
        let env = ["PG_PASSWORD": "pg-secret-value", "S3_SECRET": "s3-secret-value", "CLICKHOUSE_PASSWORD": "ch-secret-value"]
        let sasl = "  sasl:\n    protocol: plain\n    user: u\n    pass: sasl-secret-value\n"
        for name in ["pg-source.yaml", "ch-sink.yaml", "s3-sink.yaml", "s3-backup.yaml"] {
            let text = try String(contentsOf: examplesDir.appendingPathComponent(name), encoding: .utf8)
                .replacingOccurrences(of: "kafka:\n", with: "kafka:\n" + sasl)
            let config = try ConfigLoader.parse(text: text, file: name, environment: env)
            var dumped = ""
            dump(config, to: &dumped)
            let printed = [String(describing: config), "\(config.connector)", "\(config.kafka)", String(reflecting: config.connector), dumped]
            for p in printed {
                for secret in Array(env.values) + ["sasl-secret-value"] {
                    #expect(!p.contains(secret), "\(name): \(secret) in \(p)")
                }
            }
            #expect(config.kafka.sasl?.pass == "sasl-secret-value")
        }
    }
}
