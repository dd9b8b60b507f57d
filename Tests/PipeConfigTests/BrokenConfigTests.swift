import Testing
import PipeConfig

/// A valid pg.Source file; the broken cases below change one thing each.
let validSource = """
name: src
class: pg.Source
pg:
  url: postgres://postgres:postgres@127.0.0.1:5432/postgres
  publication: pub
  slot: slot
  tables: [public.users]
kafka:
  brokers: [127.0.0.1:9092]

"""

let validSink = """
name: sink
class: ch.Sink
kafka:
  brokers: [127.0.0.1:9092]
  group: g
  topics: [t]
click_house:
  addrs: [127.0.0.1:9000]
  database: default
  user: default

"""

let validS3 = """
name: s3
class: s3.Sink
kafka:
  brokers: [127.0.0.1:9092]
  group: g
  topics: [t]
s3:
  endpoint: 127.0.0.1:9900
  bucket: kafka-pipe
  id: AKIATESTKEY000000001
  secret: testsecret-0123456789

"""

let validBackup = """
name: b
class: s3.Backup
kafka:
  brokers: [127.0.0.1:9092]
s3:
  endpoint: 127.0.0.1:9900
  bucket: kafka-pipe
  id: AKIATESTKEY000000001
  secret: testsecret-0123456789
topics: [t]

"""

func configError(_ text: String, environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try ConfigLoader.parse(text: text, file: "c.yaml", environment: environment)
        return nil
    } catch {
        return error
    }
}

@Suite struct BrokenConfigTests {
    @Test func validBasesLoad() throws {
        for text in [validSource, validSink, validS3, validBackup + "date_since: 2024-01-01 00:00:00\ndate_to: 2024-01-02 00:00:00\n"] {
            #expect(configError(text) == nil, "\(configError(text)?.description ?? "")")
        }
    }

    static let cases: [(String, String)] = [
        // Typos, with suggestions.
        (validSource.replacingOccurrences(of: "  brokers:", with: "  bokers:"),
         "c.yaml:9:3: unknown key `kafka:bokers`; did you mean `brokers`?"),
        (validSource + "kafak:\n  client_id: x\n",
         "c.yaml:10:1: unknown key `kafak`; did you mean `kafka`?"),
        (validSource.replacingOccurrences(of: "  slot: slot", with: "  slot: slot\n  skip_delete: true"),
         "c.yaml:7:3: unknown key `pg:skip_delete`; did you mean `skip.delete`?"),
        (validSource + "colour: blue\n",
         "c.yaml:10:1: unknown key `colour`; valid keys at the top level: name, class, log, http, kafka, pg"),
        (validSource.replacingOccurrences(of: "class: pg.Source", with: "class: pg.source"),
         "c.yaml:2:8: unknown class `pg.source`; did you mean `pg.Source`?"),
        (validSource.replacingOccurrences(of: "class: pg.Source", with: "class: mysql.Source"),
         "c.yaml:2:8: unknown class `mysql.Source` (one of pg.Source, pg.Snapshot, ch.Sink, s3.Sink, s3.Backup)"),
        // Keys of another class.
        (validSource + "click_house:\n  user: x\n",
         "c.yaml:10:1: key `click_house` is not read by class `pg.Source` (it belongs to ch.Sink)"),
        (validSource + "  group: g\n",
         "c.yaml:10:3: key `kafka:group` is read only by classes ch.Sink and s3.Sink"),
        (validSource.replacingOccurrences(of: "  slot: slot", with: "  slot: slot\n  chunk.size: 5"),
         "c.yaml:7:3: key `pg:chunk.size` is read only by class pg.Snapshot"),
        // Missing keys.
        (validSource.replacingOccurrences(of: "  slot: slot\n", with: ""),
         "c.yaml:3:1: missing required key `pg:slot`"),
        (validSource.replacingOccurrences(of: "name: src\n", with: ""),
         "c.yaml:1:1: missing required key `name`"),
        (validSource.replacingOccurrences(of: "  slot: slot\n", with: "  slot:\n"),
         "c.yaml:6:3: `pg:slot` needs a value"),
        (validSink.replacingOccurrences(of: "  user: default\n", with: ""),
         "c.yaml:7:1: missing required key `click_house:user`"),
        ("name: x\n", "c.yaml:1:1: missing required key `class`"),
        ("", "c.yaml:1:1: the file is empty; a configuration needs at least `name`, `class` and `kafka`"),
        ("- a\n", "c.yaml:1:1: the file must be a mapping of keys (`name: ...`, `class: ...`), not a list"),
        // Wrong types and values.
        (validSource.replacingOccurrences(of: "  brokers: [127.0.0.1:9092]", with: "  brokers: 127.0.0.1:9092"),
         "c.yaml:9:12: `kafka:brokers` must be a list of `host:port` addresses (`[a, b]` or one `- item` per line), not a single value"),
        (validSource.replacingOccurrences(of: "[127.0.0.1:9092]", with: "[127.0.0.1:90x2]"),
         "c.yaml:9:13: `kafka:brokers` has port `90x2`, which is not a port number (1-65535), got `127.0.0.1:90x2`"),
        (validSource.replacingOccurrences(of: "[127.0.0.1:9092]", with: "[\"::1:9092\"]"),
         "c.yaml:9:13: `kafka:brokers` looks like an IPv6 address: write it in brackets, such as `[::1]:9092`, got `::1:9092`"),
        (validSource.replacingOccurrences(of: "[127.0.0.1:9092]", with: "[kafka://k1:9092]"),
         "c.yaml:9:13: `kafka:brokers` must be `host:port` without `kafka://`, got `kafka://k1:9092`"),
        (validSink.replacingOccurrences(of: "[127.0.0.1:9000]", with: "[127.0.0.1:9000, \"ch 2\"]"),
         "c.yaml:8:27: `click_house:addrs` has a host name with ` `, which host names cannot contain, got `ch 2`"),
        (validSource.replacingOccurrences(of: "[127.0.0.1:9092]", with: "[300.1.1.1:9092]"),
         "c.yaml:9:13: `kafka:brokers` has `300.1.1.1`, which is not an IPv4 address, got `300.1.1.1:9092`"),
        (validSource + "  batch:\n    timeout: 5 sec\n",
         "c.yaml:11:14: `kafka:batch:timeout` has an unknown duration unit ` sec` (units: ns, us, ms, s, m, h), got `5 sec`"),
        (validSource + "  batch:\n    timeout: 5\n",
         "c.yaml:11:14: `kafka:batch:timeout` must be a duration with a unit, such as `5s` (units: ns, us, ms, s, m, h), got `5`"),
        (validSource + "  batch:\n    size: ten\n",
         "c.yaml:11:11: `kafka:batch:size` must be a whole number, got `ten`"),
        (validSource + "  batch:\n    size: 0\n",
         "c.yaml:11:11: `kafka:batch:size` must be between 1 and 10000000, got 0"),
        (validSource + "  topic:\n    part_retention_size: 10XB\n",
         "c.yaml:11:26: `kafka:topic:part_retention_size` has an unknown size unit `XB` (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), got `10XB`"),
        (validSource + "  topic:\n    compression.type: zstandard\n",
         "c.yaml:11:23: `kafka:topic:compression.type` must be one of `producer`, `uncompressed`, `gzip`, `snappy`, `lz4`, `zstd`, got `zstandard`"),
        (validSource + "  topic:\n    compression.type: gzp\n",
         "c.yaml:11:23: `kafka:topic:compression.type` cannot be `gzp`; did you mean `gzip`?"),
        (validSource + "  topic:\n    routes:\n      \"(unclosed\": t\n",
         "c.yaml:12:7: `kafka:topic:routes:(unclosed` has an invalid regular expression `(unclosed`"),
        (validSource + "  topic:\n    prefix: bad/prefix\n",
         "c.yaml:11:13: `kafka:topic:prefix` must be a Kafka topic name (letters, digits, `.`, `_`, `-`; at most 249), got `bad/prefix`"),
        (validSource + "log:\n  level: verbose\n",
         "c.yaml:11:10: `log:level` must be one of `trace`, `debug`, `info`, `warn`, `error`, got `verbose`"),
        (validSource + "log:\n  pretty: maybe\n",
         "c.yaml:11:11: `log:pretty` must be true or false, got `maybe`"),
        (validSource + "http:\n  listen: localhost\n",
         "c.yaml:11:11: `http:listen` has no port; write `host:port`, such as `127.0.0.1:9092` or `[::1]:9092`, got `localhost`"),
        (validSource.replacingOccurrences(of: "name: src", with: "name: my pipe"),
         "c.yaml:1:7: `name` may contain only letters, digits, `.`, `_` and `-`, got `my pipe`"),
        (validSource.replacingOccurrences(of: "  slot: slot", with: "  slot: My-Slot"),
         "c.yaml:6:9: `pg:slot` may contain only lower-case letters, digits and `_` (at most 63), got `My-Slot`"),
        (validSource.replacingOccurrences(of: "[public.users]", with: "[public.users, a.b.c]"),
         "c.yaml:7:26: `pg:tables` must name tables as `schema.table` (or `table` for `public.table`), got `a.b.c`"),
        (validSource.replacingOccurrences(of: "[public.users]", with: "[public.users, users]"),
         "c.yaml:7:26: `pg:tables` lists `public.users` twice"),
        (validSource.replacingOccurrences(of: "  slot: slot", with: "  slot: slot\n  health.table: public.users"),
         "c.yaml:7:17: `pg:health.table` `public.users` is also in `pg:tables`; its changes are never produced, so use another table"),
        (validSource.replacingOccurrences(of: "postgres://postgres:postgres@", with: "mysql://postgres:postgres@"),
         "c.yaml:4:8: `pg:url` must be a URL `postgres://user:password@host:port/database?sslmode=...`"),
        (validSource.replacingOccurrences(of: "/postgres\n", with: "/postgres?sslmode=verify_full\n"),
         "c.yaml:4:8: `pg:url` has unknown sslmode `verify_full`; did you mean `verify-full`?"),
        (validSource.replacingOccurrences(of: "127.0.0.1:5432", with: "127.0.0.1:99999"),
         "c.yaml:4:8: `pg:url` host has port `99999`, which is not a port number (1-65535)"),
        (validSource.replacingOccurrences(of: "[127.0.0.1:9092]", with: "[\"a:1,,b:2\"]"),
         "c.yaml:9:13: `kafka:brokers` has no host; write `host:port`, such as `127.0.0.1:9092` or `[::1]:9092`, got ``"),
        (validSource + "log: debug\n",
         "c.yaml:10:6: `log` must be a mapping of keys, not a single value"),
        (validSource.replacingOccurrences(of: "kafka:\n  brokers: [127.0.0.1:9092]", with: "kafka: [127.0.0.1:9092]"),
         "c.yaml:8:8: `kafka` must be a mapping of keys, not a list"),
        (validSource + "  sasl:\n    user: u\n",
         "c.yaml:10:3: missing required key `kafka:sasl:protocol`"),
        (validSource.replacingOccurrences(of: "  publication: pub", with: "  publication: [pub]"),
         "c.yaml:5:16: `pg:publication` must be a string, not a list"),
        // SASL and TLS.
        (validSource + "  sasl:\n    protocol: scram-256\n    user: u\n",
         "c.yaml:10:3: missing required key `kafka:sasl:pass`"),
        (validSource + "  sasl:\n    protocol: plain\n    user: u\n    pass: p\n    token: t\n",
         "c.yaml:14:5: `kafka:sasl:token` is not used with protocol `plain` (only with `oauth`)"),
        (validSource + "  sasl:\n    protocol: kerberos\n",
         "c.yaml:11:15: `kafka:sasl:protocol` must be one of `plain`, `scram-256`, `scram-512`, `oauth`, `aws`, got `kerberos`"),
        (validSource + "  tls:\n    cert_file: c.pem\n",
         "c.yaml:10:3: `kafka:tls:cert_file` and `kafka:tls:key_file` go together; `kafka:tls:key_file` is missing"),
        (validSource + "  sasl:\n    protocol: aws\n",
         "c.yaml:10:3: protocol `aws` needs `access_key` and `secret_key`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"),
        // ch.Sink.
        (validSink + "on_error: dlq\n",
         "c.yaml:11:11: `on_error: dlq` needs `dlq.topic`"),
        (validSink + "on_error: skp\n",
         "c.yaml:11:11: `on_error` cannot be `skp`; did you mean `skip`?"),
        (validSink + "dlq.topic: dead\n",
         "c.yaml:11:1: `dlq.topic` is used only with `on_error: dlq`"),
        (validSink + "serde:\n  format: avro\n",
         "c.yaml:11:1: `serde:format` is avro but `serde:schemas` has no schema for topic `t`"),
        (validSink + "serde:\n  format: avro\n  schemas:\n    t: /tmp/schema.avsc\n",
         "c.yaml:14:8: `serde:schemas:t` must be a `file://`, `http://` or `https://` URL, got `/tmp/schema.avsc`"),
        (validSink + "serde:\n  time_format: iso\n",
         "c.yaml:12:16: `serde:time_format` must be one of `rfc3339`, `timestamp`, `timestamp-milli`, got `iso`"),
        (validSink.replacingOccurrences(of: "  topics: [t]", with: "  topics: []"),
         "c.yaml:6:11: `kafka:topics` must list at least one item"),
        (validSink + "  compression: zstd\n",
         "c.yaml:11:16: `click_house:compression` must be one of `lz4`, `none`, got `zstd`"),
        (validSink.replacingOccurrences(of: "  workers", with: "") + "routes: [a, b]\n",
         "c.yaml:11:9: `routes` must be a mapping (`pattern: target` per line), not a list"),
        // s3.
        (validS3.replacingOccurrences(of: "127.0.0.1:9900", with: "ftp://127.0.0.1:9900"),
         "c.yaml:8:13: `s3:endpoint` must use `http://` or `https://`, got `ftp://127.0.0.1:9900`"),
        (validS3.replacingOccurrences(of: "127.0.0.1:9900", with: "https://127.0.0.1:9900\n  ssl: false"),
         "c.yaml:8:13: `s3:endpoint` says https but `s3:ssl` is false; drop `s3:ssl` or make them agree"),
        (validS3.replacingOccurrences(of: "kafka-pipe", with: "Kafka_Pipe"),
         "c.yaml:9:11: `s3:bucket` must be an S3 bucket name (3-63 lower-case letters, digits, `-`, `.`), got `Kafka_Pipe`"),
        (validS3 + "group_time_interval: 0s\n",
         "c.yaml:12:22: `group_time_interval` must be longer than zero, got `0s`"),
        (validBackup + "date_since: 2024-01-02 00:00:00\ndate_to: 2024-01-01 00:00:00\n",
         "c.yaml:12:10: `date_to` (2024-01-01 00:00:00) is before `date_since` (2024-01-02 00:00:00)"),
        (validBackup + "date_since: 2024-02-30 00:00:00\ndate_to: 2024-03-01 00:00:00\n",
         "c.yaml:11:13: `date_since` is not a real date and time (`2024-02-30 00:00:00`), got `2024-02-30 00:00:00`"),
        (validBackup + "date_since: 2024-01-01\ndate_to: 2024-03-01 00:00:00\n",
         "c.yaml:11:13: `date_since` must be a UTC time written `2006-01-02 15:04:05`, got `2024-01-01`"),
        (validBackup + "date_since: 2024-01-01 00:00:00\n",
         "c.yaml:1:1: missing required key `date_to`"),
        (validBackup.replacingOccurrences(of: "kafka:\n", with: "kafka:\n  topic:\n    prefix: x\n") + "date_since: 2024-01-01 00:00:00\ndate_to: 2024-01-02 00:00:00\n",
         "c.yaml:5:5: key `kafka:topic:prefix` is not read by class s3.Backup (restored topics keep their names and partitions)"),
        // Environment.
        (validSource.replacingOccurrences(of: "postgres:postgres@", with: "postgres:${PG_PASS}@"),
         "c.yaml:4:8: environment variable `PG_PASS` is not set (used in `pg:url`); set it or write `${PG_PASS:-default}`"),
        (validSource.replacingOccurrences(of: "postgres:postgres@", with: "postgres:${PG PASS}@"),
         "c.yaml:4:8: malformed `${...}` in `pg:url`: write `${NAME}` or `${NAME:-default}` (`$${` for a literal `${`)"),
        // YAML errors come through with the file name.
        (validSource + "  brokers: [again]\n",
         "c.yaml:10:3: duplicate key `brokers` (first at line 9)"),
    ]

    @Test(arguments: cases)
    func brokenFileGivesExpectedMessage(text: String, expected: String) {
        #expect(configError(text)?.description == expected, "\(text)")
    }

    @Test func errorsCarryTheKey() {
        let e = configError(validSource.replacingOccurrences(of: "  brokers:", with: "  bokers:"))
        #expect(e?.key == "kafka:bokers")
        #expect(e?.code == .unknownKey)
        #expect(e?.file == "c.yaml")
        #expect(e?.line == 9)
        #expect(e?.column == 3)
        let m = configError(validSource.replacingOccurrences(of: "  slot: slot\n", with: ""))
        #expect(m?.key == "pg:slot")
        #expect(m?.code == .missingKey)
    }

    @Test func secretsNeverAppearInErrors() {
        let text = validSource.replacingOccurrences(of: "postgres:postgres@127.0.0.1:5432", with: "postgres:hunter2@127.0.0.1:5432x")
        let e = configError(text)
        #expect(e != nil)
        #expect(e?.description.contains("hunter2") == false)
    }
}
