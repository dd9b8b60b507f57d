import Testing
import PipeConfig

@Suite struct ScalarParserTests {
    @Test(arguments: [
        ("300ms", Duration.milliseconds(300)), ("5s", .seconds(5)), ("1m30s", .seconds(90)), ("168h", .seconds(604_800)),
        ("1.5h", .seconds(5400)), ("0", .zero), ("2h45m0.5s", .milliseconds(9_900_500)), ("10us", .microseconds(10)),
        ("10µs", .microseconds(10)), ("7ns", .nanoseconds(7)), (".5s", .milliseconds(500)), ("-1m", .seconds(-60)),
    ])
    func goDurations(text: String, expected: Duration) throws {
        #expect(try ScalarParsers.parseDuration(text).get() == expected)
    }

    @Test(arguments: ["", "5", "s", "1x", "1.s.", "5 s", "--1s", "99999999999h"])
    func badDurations(text: String) {
        #expect((try? ScalarParsers.parseDuration(text).get()) == nil, "\(text)")
    }

    @Test(arguments: [Duration.seconds(604_800), .seconds(90), .milliseconds(1500), .milliseconds(300), .nanoseconds(7),
                      .microseconds(12), .zero, .seconds(3600)])
    func durationFormatRoundTrips(d: Duration) throws {
        #expect(try ScalarParsers.parseDuration(ScalarParsers.formatDuration(d)).get() == d)
    }

    @Test func durationFormatIsGoLike() {
        #expect(ScalarParsers.formatDuration(.seconds(604_800)) == "168h")
        #expect(ScalarParsers.formatDuration(.seconds(90)) == "1m30s")
        #expect(ScalarParsers.formatDuration(.milliseconds(1500)) == "1.5s")
        #expect(ScalarParsers.formatDuration(.milliseconds(300)) == "300ms")
        #expect(ScalarParsers.formatDuration(.zero) == "0s")
    }

    @Test(arguments: [
        ("10GB", Int64(10) << 30), ("512MB", 512 << 20), ("1GiB", 1 << 30), ("1024", 1024), ("64k", 64 << 10),
        ("2 TB", 2 << 40), ("100B", 100), ("50MiB", 52_428_800), ("1mb", 1 << 20),
    ])
    func sizes(text: String, expected: Int64) throws {
        #expect(try ScalarParsers.parseSize(text).get() == expected)
    }

    @Test(arguments: ["", "GB", "1.5GB", "10XB", "-1", "99999999999999999999", "9000000PB"])
    func badSizes(text: String) {
        #expect((try? ScalarParsers.parseSize(text).get()) == nil, "\(text)")
    }

    @Test func sizeFormat() {
        #expect(ScalarParsers.formatSize(10 << 30) == "10GiB")
        #expect(ScalarParsers.formatSize(1536 << 20) == "1536MiB")
        #expect(ScalarParsers.formatSize(100) == "100")
    }

    @Test(arguments: [
        ("127.0.0.1:9092", "127.0.0.1", 9092), ("kafka-1.example.com:19092", "kafka-1.example.com", 19092),
        ("[::1]:9092", "::1", 9092), ("[2001:db8::8:800:200c:417a]:80", "2001:db8::8:800:200c:417a", 80),
        ("[::ffff:10.0.0.1]:5", "::ffff:10.0.0.1", 5), ("localhost", "localhost", 9092), ("[fe80::1%eth0]:1", "fe80::1%eth0", 1),
    ])
    func addresses(text: String, host: String, port: Int) throws {
        let hp = try ScalarParsers.parseHostPort(text, defaultPort: 9092).get()
        #expect(hp == HostPort(host: host, port: port))
        // The description reads back.
        #expect(try ScalarParsers.parseHostPort(hp.description, defaultPort: nil).get() == hp)
    }

    @Test(arguments: ["::1:9092", "[::1", "[1.2.3.4]:1", "[::1]9092", "h:0", "h:65536", "h:", ":9092", "1.2.3:1",
                      "256.1.1.1:1", "bad host:1", "[1:2:3:4:5:6:7:8:9]:1", "[1::2::3]:1", "a..b:1"])
    func badAddresses(text: String) {
        #expect((try? ScalarParsers.parseHostPort(text, defaultPort: 9092).get()) == nil, "\(text)")
    }

    @Test func listenAddresses() throws {
        #expect(try ScalarParsers.parseHostPort(":8081", defaultPort: nil, allowEmptyHost: true).get() == HostPort(host: "", port: 8081))
        #expect(try ScalarParsers.parseHostPort("127.0.0.1:0", defaultPort: nil, allowPortZero: true).get().port == 0)
    }

    @Test func dates() throws {
        #expect(try ScalarParsers.parseDateTime("1970-01-01 00:00:00").get().secondsSince1970 == 0)
        #expect(try ScalarParsers.parseDateTime("2006-01-02 15:04:05").get().secondsSince1970 == 1_136_214_245)
        #expect(try ScalarParsers.parseDateTime("2024-02-29 23:59:59").get().description == "2024-02-29 23:59:59")
        #expect((try? ScalarParsers.parseDateTime("2023-02-29 00:00:00").get()) == nil)
        #expect((try? ScalarParsers.parseDateTime("2024-01-01T00:00:00").get()) == nil)
        #expect((try? ScalarParsers.parseDateTime("2024-01-01 24:00:00").get()) == nil)
    }

    @Test func suggestions() {
        let keys = ["brokers", "client_id", "sasl", "tls", "batch", "topic"]
        #expect(ScalarParsers.nearest("bokers", in: keys) == "brokers")
        #expect(ScalarParsers.nearest("clientid", in: keys) == "client_id")
        #expect(ScalarParsers.nearest("TLS", in: keys) == "tls")
        #expect(ScalarParsers.nearest("tpoic", in: keys) == "topic")
        #expect(ScalarParsers.nearest("completely-different", in: keys) == nil)
    }
}
