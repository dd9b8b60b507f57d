import Testing
import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import HTTPWire
@testable import PipeRuntime

@Suite struct PrometheusTests {
    @Test func rendersExactText() {
        let r = PrometheusRegistry()
        r.describe("kafka_pipe_records_in_total", help: "Records read.\nFrom the source.")
        let c = Counter(label: "kafka_pipe_records_in_total", dimensions: [("topic", "a\"b\\c\nd"), ("partition", "0")], factory: r)
        c.increment(by: 5)
        c.increment()
        Counter(label: "kafka_pipe_records_in_total", dimensions: [("partition", "1"), ("topic", "x")], factory: r).increment(by: 2)
        let g = Gauge(label: "kafka-pipe.lag", factory: r)
        g.record(12.5)
        let m = Meter(label: "inflight", factory: r)
        m.set(3)
        m.increment(by: 2)
        m.decrement(by: 1)
        r.setBuckets("batch_size", [10, 1, 100])
        let h = Recorder(label: "batch_size", dimensions: [("sink", "ch")], factory: r)
        h.record(1)
        h.record(5)
        h.record(50)
        h.record(500)
        #expect(r.render() == """
        # TYPE batch_size histogram
        batch_size_bucket{sink="ch",le="1"} 1
        batch_size_bucket{sink="ch",le="10"} 2
        batch_size_bucket{sink="ch",le="100"} 3
        batch_size_bucket{sink="ch",le="+Inf"} 4
        batch_size_sum{sink="ch"} 556
        batch_size_count{sink="ch"} 4
        # TYPE inflight gauge
        inflight 4
        # TYPE kafka_pipe_lag gauge
        kafka_pipe_lag 12.5
        # HELP kafka_pipe_records_in_total Records read.\\nFrom the source.
        # TYPE kafka_pipe_records_in_total counter
        kafka_pipe_records_in_total{partition="0",topic="a\\"b\\\\c\\nd"} 6
        kafka_pipe_records_in_total{partition="1",topic="x"} 2

        """)
    }

    @Test func timersAreSecondsHistograms() {
        let r = PrometheusRegistry()
        r.setBuckets("batch_latency_seconds", [0.01, 1])
        let t = Timer(label: "batch_latency_seconds", factory: r)
        t.recordNanoseconds(5_000_000)      // 0.005 s
        t.recordNanoseconds(2_000_000_000)  // 2 s
        #expect(r.render() == """
        # TYPE batch_latency_seconds histogram
        batch_latency_seconds_bucket{le="0.01"} 1
        batch_latency_seconds_bucket{le="1"} 1
        batch_latency_seconds_bucket{le="+Inf"} 2
        batch_latency_seconds_sum 2.005
        batch_latency_seconds_count 2

        """)
    }

    @Test func sameLabelAndDimensionsShareASeriesAndDestroyRemoves() {
        let r = PrometheusRegistry()
        let a = Counter(label: "c", dimensions: [("k", "v")], factory: r)
        let b = Counter(label: "c", dimensions: [("k", "v")], factory: r)
        a.increment(by: 1)
        b.increment(by: 1)
        #expect(r.render() == "# TYPE c counter\nc{k=\"v\"} 2\n")
        a.destroy()
        #expect(r.render() == "")
    }

    @Test func standardMetricsHaveHelp() {
        let r = PrometheusRegistry()
        r.describeStandardMetrics()
        Counter(label: PipeMetric.recordsOut, dimensions: [("topic", "t")], factory: r).increment(by: 7)
        #expect(r.render() == """
        # HELP kafka_pipe_records_out_total Records delivered to the destination and acknowledged.
        # TYPE kafka_pipe_records_out_total counter
        kafka_pipe_records_out_total{topic="t"} 7

        """)
    }

    @Test func nameReusedWithAnotherKindStaysValid() {
        let r = PrometheusRegistry()
        Counter(label: "x", factory: r).increment()
        Gauge(label: "x", factory: r).record(3)
        #expect(r.render() == "# TYPE x counter\nx 1\n# TYPE x_gauge gauge\nx_gauge 3\n")
    }
}

@Suite struct LoggingTests {
    static let fixedClock: @Sendable () -> String = { "2026-01-02T03:04:05.678Z" }

    @Test func jsonLineFormat() throws {
        let sink = LogSink.capturing()
        var logger = Logger(label: "t") { _ in JSONLogHandler(connector: "orders", level: .debug, sink: sink, clock: Self.fixedClock) }
        logger[metadataKey: "topic"] = "t\"1"
        logger.debug("sent \"batch\"", metadata: ["count": "10", "parts": .array(["a", "b"]), "m": .dictionary(["z": "1", "a": "2"])])
        logger.trace("hidden")
        logger.warning("careful")
        #expect(sink.lines == [
            #"{"ts":"2026-01-02T03:04:05.678Z","level":"debug","connector":"orders","msg":"sent \"batch\"","count":"10","m":{"a":"2","z":"1"},"parts":["a","b"],"topic":"t\"1"}"#,
            #"{"ts":"2026-01-02T03:04:05.678Z","level":"warn","connector":"orders","msg":"careful","topic":"t\"1"}"#,
        ])
        for line in sink.lines {
            #expect(throws: Never.self) { try JSONValueCheck.parse(line) }
        }
    }

    @Test func prettyLineFormat() {
        let sink = LogSink.capturing()
        let logger = Logger(label: "t") { _ in PrettyLogHandler(connector: "orders", level: .info, sink: sink, clock: Self.fixedClock) }
        logger.error("failed", metadata: ["broker": "127.0.0.1:9092", "why": "no route"])
        logger.debug("hidden")
        #expect(sink.lines == [#"2026-01-02T03:04:05.678Z ERROR orders: failed broker=127.0.0.1:9092 why="no route""#])
    }

    @Test func levels() {
        #expect(PipeLogLevel.parse("trace") == .trace)
        #expect(PipeLogLevel.parse("DEBUG") == .debug)
        #expect(PipeLogLevel.parse("warn") == .warning)
        #expect(PipeLogLevel.parse("error") == .error)
        #expect(PipeLogLevel.parse("loud") == nil)
        #expect(PipeLogLevel.name(.warning) == "warn")
    }

    @Test func timestamps() {
        #expect(LogTimestamp.format(seconds: 0, milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(LogTimestamp.format(seconds: 951_782_400, milliseconds: 5) == "2000-02-29T00:00:00.005Z")
        #expect(LogTimestamp.format(seconds: 1_798_761_599, milliseconds: 999) == "2026-12-31T23:59:59.999Z")
        #expect(LogTimestamp.format(seconds: 4_107_542_400, milliseconds: 0) == "2100-03-01T00:00:00.000Z")
        #expect(LogTimestamp.now().hasSuffix("Z"))
    }
}

import WireCore
enum JSONValueCheck {
    static func parse(_ s: String) throws -> JSONValue { try JSONValue.parse(s) }
}

@Suite struct ReadinessTests {
    final class FakeClock: @unchecked Sendable {
        var now = ContinuousClock.now
    }

    @Test func readyNotReadyAndStall() {
        let clock = FakeClock()
        let r = Readiness(stallTimeout: .seconds(60), now: { clock.now })
        #expect(r.status == .init(ready: false, reason: "starting"))
        r.setReady()
        #expect(r.status.ready)
        clock.now = clock.now.advanced(by: .seconds(59))
        #expect(r.status.ready)
        clock.now = clock.now.advanced(by: .seconds(2))
        #expect(r.status == .init(ready: false, reason: "no progress for 1m1s"))
        r.progress()
        #expect(r.status.ready)
        r.setNotReady("broker 127.0.0.1:9092 unreachable")
        #expect(r.status == .init(ready: false, reason: "broker 127.0.0.1:9092 unreachable"))
    }
}

@Suite struct ListenAddressTests {
    @Test func parses() throws {
        #expect(try ListenAddress.parse(":8081") == ListenAddress(host: "0.0.0.0", port: 8081))
        #expect(try ListenAddress.parse("127.0.0.1:9") == ListenAddress(host: "127.0.0.1", port: 9))
        #expect(try ListenAddress.parse("[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(try ListenAddress.parse("localhost:0") == ListenAddress(host: "localhost", port: 0))
        #expect(try ListenAddress.parse("") == nil)
        #expect(try ListenAddress.parse("  ") == nil)
        for bad in ["8081", ":x", ":70000", "::1:80", "[::1:80", "a:-1"] {
            #expect(throws: RuntimeError.self, "\(bad)") { try ListenAddress.parse(bad) }
        }
    }
}

@Suite struct BackoffTests {
    @Test func growsCapsAndResets() {
        var b = Backoff(initial: .milliseconds(100), maximum: .seconds(1), multiplier: 2, jitter: 0)
        #expect((0..<6).map { _ in b.next() } == [.milliseconds(100), .milliseconds(200), .milliseconds(400),
                                                   .milliseconds(800), .seconds(1), .seconds(1)])
        b.reset()
        #expect(b.next() == .milliseconds(100))
    }

    @Test func jitterTakesOffAtMostItsShare() {
        var low = Backoff(initial: .seconds(1), maximum: .seconds(10), jitter: 0.5, random: { $0.upperBound })
        #expect(low.next() == .milliseconds(500))
        var b = Backoff(initial: .seconds(1), maximum: .seconds(10), jitter: 0.5)
        for _ in 0..<20 {
            b.reset()
            let d = b.next()
            #expect(d >= .milliseconds(500) && d <= .seconds(1))
        }
    }
}

@Suite struct ProgressTests {
    @Test func snapshotRateAndTimeLeft() {
        let s = ProgressReporter.Snapshot(done: 1000, total: 5000, bytes: 0, elapsed: .seconds(10))
        #expect(s.rate == 100)
        #expect(s.remaining == .seconds(40))
        #expect(s.line(unit: "rows") == "1000/5000 rows (20.0%), 100/s, 40s left")
        #expect(s.bar(unit: "rows", width: 10) == "[##........] 1000/5000 rows (20.0%), 100/s, 40s left")
        let open = ProgressReporter.Snapshot(done: 7, total: nil, bytes: 0, elapsed: .zero)
        #expect(open.line(unit: "objects") == "7 objects, 0/s")
    }

    @Test func logsALineWhenNotATerminal() {
        let sink = LogSink.capturing()
        let logger = Logger(label: "p") { _ in JSONLogHandler(connector: "snap", sink: sink, clock: LoggingTests.fixedClock) }
        let p = ProgressReporter(label: "snapshot", unit: "rows", total: 10, logger: logger, terminal: nil)
        p.advance(by: 4)
        p.report()
        #expect(sink.lines.count == 1)
        #expect(sink.lines.first?.contains(#""msg":"snapshot: 4/10 rows (40.0%)"#) == true)
        #expect(sink.lines.first?.contains(#""done":"4""#) == true)
    }
}

@Suite struct TimeoutTests {
    @Test func boundedOperation() async throws {
        let v = try await withTimeout(.seconds(5)) { 42 }
        #expect(v == 42)
        await #expect(throws: RuntimeError.self) {
            try await withTimeout(.milliseconds(20), "stop") { try await Task.sleep(for: .seconds(30)); return 1 }
        }
    }
}

@Suite struct EndpointTests {
    func get(_ port: Int, _ path: String) async throws -> HTTPResponse {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { ch in
                ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n"))
            var parser = HTTPResponseParser()
            var buf = ByteBuffer()
            for try await chunk in inbound {
                var c = chunk
                buf.writeBuffer(&c)
                if let r = try parser.parse(&buf) { return r }
            }
            throw HTTPError(.unexpectedEnd)
        }
    }

    @Test func healthReadyMetricsOverLoopback() async throws {
        let metrics = PrometheusRegistry()
        Counter(label: "kafka_pipe_errors_total", factory: metrics).increment(by: 3)
        let readiness = Readiness()
        let service = HTTPEndpointService(address: ListenAddress(host: "127.0.0.1", port: 0), metrics: metrics,
                                          readiness: readiness, logger: Logger(label: "t"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.server.run() }
            let port = try #require(try await service.server.localAddress(timeout: .seconds(120)).port)
            let health = try await get(port, "/health")
            #expect(health.status == 200 && health.body == Array("ok\n".utf8))
            let notReady = try await get(port, "/ready")
            #expect(notReady.status == 503 && String(decoding: notReady.body, as: UTF8.self) == "not ready: starting\n")
            readiness.setReady()
            #expect(try await get(port, "/ready").status == 200)
            let m = try await get(port, "/metrics")
            #expect(m.status == 200)
            #expect(m.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(String(decoding: m.body, as: UTF8.self) == "# TYPE kafka_pipe_errors_total counter\nkafka_pipe_errors_total 3\n")
            #expect(try await get(port, "/debug/pprof").status == 404)
            group.cancelAll()
        }
    }
}
