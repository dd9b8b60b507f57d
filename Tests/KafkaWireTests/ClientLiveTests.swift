import Foundation
import KafkaWire
import NIOCore
import PipeTestSupport
import Testing

/// The client against real peers: tansu (`KP_KAFKA`), librdkafka's 3-broker mock cluster
/// (`KP_KAFKA_MOCK`), and kcat (`KP_KCAT`).
@Suite(.serialized) struct ClientLiveTests {
    static func bootstrap(_ env: String) -> String? {
        TestEnv.require(env) { Issue.record(Comment(rawValue: $0)) }
    }

    static var kcat: String? {
        let path = TestEnv.value("KP_KCAT") ?? "/work/devsvc-scripts/kcat-modern"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Runs `body` with a cluster whose `run()` is going, and a producer running too.
    static func withClient<T>(_ servers: String, producer configuration: KafkaProducerConfiguration = KafkaProducerConfiguration(),
                              _ body: (KafkaCluster, KafkaProducer) async throws -> T) async throws -> T {
        var config = try KafkaClientConfiguration(bootstrapServers: servers, clientID: "kp-client-tests")
        config.requestTimeout = .seconds(20)
        let cluster = KafkaCluster(configuration: config)
        let producer = KafkaProducer(cluster: cluster, configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            defer { group.cancelAll() }
            let result = try await body(cluster, producer)
            group.cancelAll()
            await cluster.shutdown()
            return result
        }
    }

    struct Sample: Equatable {
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [KafkaRecordHeader] = []
    }

    static func samples(_ n: Int) -> [Sample] {
        (0..<n).map { i in
            switch i % 4 {
            case 0: Sample(key: Array("key-\(i)".utf8), value: Array("value-\(i)".utf8),
                           headers: [KafkaRecordHeader(key: "op", value: ByteBuffer(string: "c")),
                                     KafkaRecordHeader(key: "null", value: nil)])
            case 1: Sample(key: nil, value: Array("null-key-\(i)".utf8))
            case 2: Sample(key: Array("k\(i)".utf8), value: nil)
            default: Sample(key: [0x00, 0xff, UInt8(i & 0xff)], value: (0..<64).map { UInt8(($0 * 37 + i) & 0xff) })
            }
        }
    }

    static func bytes(_ b: ByteBuffer?) -> [UInt8]? { b.map { Array($0.readableBytesView) } }

    /// Fetches every partition of `topic` from offset 0 until `count` records arrived.
    static func fetchAll(_ cluster: KafkaCluster, topic: String, count: Int,
                         isolation: KafkaIsolationLevel = .readUncommitted,
                         verifyCRC: Bool = true) async throws -> [Int32: [KafkaRecord]] {
        let meta = try await cluster.topicMetadata(topic)
        var next: [Int32: Int64] = Dictionary(uniqueKeysWithValues: meta.partitions.map { ($0.id, Int64(0)) })
        var out: [Int32: [KafkaRecord]] = [:]
        let fetcher = KafkaFetcher(cluster: cluster)
        for _ in 0..<60 {
            if out.values.reduce(0, { $0 + $1.count }) >= count { break }
            let parts = try await fetcher.fetch(next.map { .init(topic: topic, partition: $0.key, offset: $0.value) },
                                                maxWaitMs: 200, isolation: isolation,
                                                decoding: RecordBatchDecodingOptions(verifyCRC: verifyCRC))
            for p in parts {
                if let e = p.error { Issue.record("fetch \(topic)/\(p.partition): \(e)"); continue }
                out[p.partition, default: []] += p.records
                next[p.partition] = p.nextOffset
            }
        }
        return out
    }

    // MARK: tansu

    @Test func adminProduceFetchOnTansu() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        let topic = TestEnv.unique("kp_client")
        try await Self.withClient(servers) { cluster, producer in
            let admin = KafkaAdmin(cluster: cluster)
            let created = try await admin.createTopics([.init(name: topic, partitions: 3, configs: [
                "cleanup.policy": "delete", "retention.ms": "604800000"])])
            #expect(created[topic] == .created)
            let again = try await admin.createTopics([.init(name: topic, partitions: 3)], ifNotExists: true)
            #expect(again[topic] == .alreadyExisted)
            await #expect(throws: KafkaWireError.self) {
                try await admin.createTopics([.init(name: topic, partitions: 3)], ifNotExists: false)
            }
            let meta = try await cluster.topicMetadata(topic)
            #expect(meta.partitions.map(\.id) == [0, 1, 2])

            let samples = Self.samples(40)
            var futures: [DeliveryFuture] = []
            for s in samples {
                futures.append(try await producer.enqueue(topic: topic, key: s.key, value: s.value,
                                                          headers: s.headers.map { ($0.key, Self.bytes($0.value)) },
                                                          timestamp: 1_700_000_000_000))
            }
            var reports: [DeliveryReport] = []
            for f in futures { reports.append(try await f.get()) }
            // Keyed records land where murmur2 puts them; offsets within a partition increase.
            for (s, r) in zip(samples, reports) {
                if let k = s.key { #expect(r.partition == KafkaPartitioner.partition(forKey: k, partitionCount: 3)) }
            }
            for p in Int32(0)..<3 {
                let offsets = reports.filter { $0.partition == p }.map(\.offset)
                #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(p): \(offsets)")
            }

            let fetched = try await Self.fetchAll(cluster, topic: topic, count: samples.count)
            for (s, r) in zip(samples, reports) {
                let record = fetched[r.partition]?.first { $0.offset == r.offset }
                #expect(Self.bytes(record?.key) == s.key)
                #expect(Self.bytes(record?.value) == s.value)
                #expect(record?.headers == s.headers)
                #expect(record?.timestamp == 1_700_000_000_000)
            }

            let p0 = reports.filter { $0.partition == 0 }.count
            #expect(try await admin.listOffsets(topic: topic, partition: 0, .earliest) == 0)
            // tansu answers "latest" with an offset inside the log rather than the next offset
            // (kcat -Q shows the same), and serves far offsets without OFFSET_OUT_OF_RANGE; the
            // exact checks run against the mock cluster below.
            let latest = try await admin.listOffsets(topic: topic, partition: 0, .latest)
            #expect(latest > 0 && latest <= Int64(p0), "latest \(latest), produced \(p0)")
        }
    }

    /// gzip batches from our producer, over small batches and several requests in flight.
    /// Without a flush, a batch goes out once it is `linger` old: rounds of records, each round
    /// awaited before the next is enqueued (so no batch fills up), are all acknowledged promptly.
    @Test(arguments: ["KP_KAFKA", "KP_KAFKA_MOCK"])
    func lingerSendsWithoutAFlush(_ env: String) async throws {
        guard let servers = Self.bootstrap(env) else { return }
        let topic = TestEnv.unique("kp_linger")
        var configuration = KafkaProducerConfiguration()
        configuration.linger = .milliseconds(5)
        try await Self.withClient(servers, producer: configuration) { cluster, producer in
            if env == "KP_KAFKA_MOCK" { _ = try await Self.createOnMock(cluster, topic) }
            else { _ = try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: 2)]) }
            let clock = ContinuousClock()
            for round in 0..<20 {
                var futures: [DeliveryFuture] = []
                for i in 0..<50 {
                    futures.append(try await producer.enqueue(topic: topic, key: Array("k\(i)".utf8), value: Array("r\(round)".utf8)))
                }
                let started = clock.now
                for f in futures { _ = try await f.get() }
                let waited = clock.now - started
                #expect(waited < .seconds(2), "round \(round): acknowledged after \(waited)")
            }
        }
    }

    @Test func gzipProducerOnTansu() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        let topic = TestEnv.unique("kp_gzip")
        var config = KafkaProducerConfiguration()
        config.compression = .gzip
        config.batchMaxRecords = 50
        try await Self.withClient(servers, producer: config) { cluster, producer in
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: 2)])
            var futures: [DeliveryFuture] = []
            for i in 0..<500 {
                futures.append(try await producer.enqueue(topic: topic, key: Array("k\(i % 7)".utf8),
                                                          value: Array(String(repeating: "gzip-\(i) ", count: 10).utf8)))
            }
            try await producer.flush()
            var expected: [Int32: [String]] = [:]
            for (i, f) in futures.enumerated() {
                let r = try await f.get()
                expected[r.partition, default: []].append(String(repeating: "gzip-\(i) ", count: 10))
            }
            let fetched = try await Self.fetchAll(cluster, topic: topic, count: 500)
            for (p, values) in expected {
                #expect(fetched[p]?.map { String(buffer: $0.value!) } == values, "partition \(p)")
            }
        }
    }

    /// Records we produce read back by kcat byte for byte, and records kcat produces (binary
    /// values from files) read back by us byte for byte.
    @Test func kcatInteropBothWays() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        guard let kcat = Self.kcat else {
            if TestEnv.isCI { Issue.record("no kcat (KP_KCAT)") }
            return
        }
        let topic = TestEnv.unique("kp_kcat")
        try await Self.withClient(servers) { cluster, producer in
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: 1)])
            let samples = Self.samples(8)
            for s in samples {
                _ = try await producer.send(topic: topic, key: s.key, value: s.value,
                                            headers: s.headers.map { ($0.key, Self.bytes($0.value)) }, partition: 0)
            }
            // kcat prints "offset keylen valuelen\n" then the raw key and value; hex through xxd.
            let out = try await Run.shell("'\(kcat)' -C -b \(servers) -t \(topic) -p 0 -o beginning -e -q -f '%o %K %S\\n%k%s%h\\n' | xxd -p | tr -d '\\n'",
                                    timeout: 60)
            var bytes = Self.unhex(out.stdout)[...]
            for (i, s) in samples.enumerated() {
                guard let nl = bytes.firstIndex(of: 0x0a) else { Issue.record("kcat output short at \(i): \(out.stderr)"); return }
                let fields = String(decoding: bytes[..<nl], as: UTF8.self).split(separator: " ").compactMap { Int($0) }
                bytes = bytes[(nl + 1)...]
                #expect(fields.count == 3 && fields[0] == i)
                guard fields.count == 3 else { return }
                let key = fields[1] < 0 ? nil : Array(bytes.prefix(fields[1]))
                bytes = bytes.dropFirst(max(0, fields[1]))
                let value = fields[2] < 0 ? nil : Array(bytes.prefix(fields[2]))
                bytes = bytes.dropFirst(max(0, fields[2]))
                #expect(key == s.key, "record \(i) key")
                #expect(value == s.value, "record \(i) value")
                let end = bytes.firstIndex(of: 0x0a) ?? bytes.endIndex
                let headers = String(decoding: bytes[..<end], as: UTF8.self)
                if !s.headers.isEmpty { #expect(headers.hasPrefix("op=c"), "headers \(headers)") }
                bytes = bytes[min(end + 1, bytes.endIndex)...]
            }

            // kcat -> us: binary files as values, keys and headers from the command line.
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnv.unique("kp_kcat_in"))
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let values: [[UInt8]] = [(0..<256).map { UInt8($0) }, [0, 0, 0, 10, 13, 0xff], Array("plain text".utf8)]
            var files: [String] = []
            for (i, v) in values.enumerated() {
                let f = dir.appendingPathComponent("v\(i).bin")
                try Data(v).write(to: f)
                files.append(f.path)
            }
            let topic2 = topic + "_in"
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic2, partitions: 1)])
            let produced = try await Run.program(kcat, ["-P", "-b", servers, "-t", topic2, "-p", "0", "-k", "bin-key",
                                                  "-H", "source=kcat", "-H", "empty="] + files, timeout: 60)
            #expect(produced.status == 0, "kcat: \(produced.stderr)")
            let fetched = try await Self.fetchAll(cluster, topic: topic2, count: values.count)[0] ?? []
            #expect(fetched.map { Self.bytes($0.value) } == values.map { Optional($0) })
            #expect(fetched.allSatisfy { Self.bytes($0.key) == Array("bin-key".utf8) })
            #expect(fetched.first?.headers.first == KafkaRecordHeader(key: "source", value: ByteBuffer(string: "kcat")))
        }
    }

    /// Every codec both ways with librdkafka: kcat produces with gzip, snappy, lz4 and zstd and we
    /// read the values back exactly (and see that codec on the batch); we produce with each codec
    /// and kcat reads our values back exactly.
    @Test(arguments: [KafkaCompressionCodec.gzip, .snappy, .lz4, .zstd])
    func codecInteropWithKcat(codec: KafkaCompressionCodec) async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        guard let kcat = Self.kcat else {
            if TestEnv.isCI { Issue.record("no kcat (KP_KCAT)") }
            return
        }
        let name = "\(codec)"
        let values = (0..<300).map { i in "\(name)-record-\(i) " + String(repeating: "abc\(i % 13)", count: i % 40) }
        var config = KafkaProducerConfiguration()
        config.compression = codec
        config.batchMaxRecords = 100
        try await Self.withClient(servers, producer: config) { cluster, producer in
            // kcat -> us
            let inTopic = TestEnv.unique("kp_codec_in_\(name)")
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: inTopic, partitions: 1)])
            let produced = try await Run.program(kcat, ["-P", "-b", servers, "-t", inTopic, "-p", "0", "-z", name,
                                                        "-X", "linger.ms=50"],
                                                 input: Data(values.joined(separator: "\n").utf8), timeout: 60)
            #expect(produced.status == 0, "kcat: \(produced.stderr)")
            let fetched = try await Self.fetchAll(cluster, topic: inTopic, count: values.count)[0] ?? []
            #expect(fetched.map { String(buffer: $0.value!) } == values)
            let fetcher = KafkaFetcher(cluster: cluster)
            let first = try await fetcher.fetch([.init(topic: inTopic, partition: 0, offset: 0)], maxWaitMs: 100)
            #expect(first.first?.batchCompressions.contains(codec) == true, "kcat's batches are \(codec)-compressed")

            // us -> kcat
            let outTopic = TestEnv.unique("kp_codec_out_\(name)")
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: outTopic, partitions: 1)])
            var futures: [DeliveryFuture] = []
            for v in values { futures.append(try await producer.enqueue(topic: outTopic, key: nil, value: Array(v.utf8), partition: 0)) }
            try await producer.flush()
            for f in futures { _ = try await f.get() }
            let read = try await Run.program(kcat, ["-C", "-b", servers, "-t", outTopic, "-p", "0", "-o", "beginning", "-e", "-q"],
                                             timeout: 60)
            #expect(read.status == 0, "kcat: \(read.stderr)")
            #expect(read.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) == values)
        }
    }

    /// librdkafka's `murmur2_random` partitioner and ours put every key on the same partition.
    @Test func murmur2MatchesLibrdkafka() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        guard let kcat = Self.kcat else {
            if TestEnv.isCI { Issue.record("no kcat (KP_KCAT)") }
            return
        }
        let topic = TestEnv.unique("kp_murmur")
        let partitions: Int32 = 7
        try await Self.withClient(servers) { cluster, _ in
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: partitions)])
            let keys = (0..<200).map { "key-\($0)-\(String(repeating: "x", count: $0 % 9))" }
            let input = keys.map { "\($0):v" }.joined(separator: "\n") + "\n"
            let r = try await Run.program(kcat, ["-P", "-b", servers, "-t", topic, "-K:", "-X", "partitioner=murmur2_random"],
                                    input: Data(input.utf8), timeout: 60)
            #expect(r.status == 0, "kcat: \(r.stderr)")
            let fetched = try await Self.fetchAll(cluster, topic: topic, count: keys.count)
            var seen = 0
            for (partition, records) in fetched {
                for rec in records {
                    let key = try #require(Self.bytes(rec.key))
                    #expect(KafkaPartitioner.partition(forKey: key, partitionCount: partitions) == partition,
                            "key \(String(decoding: key, as: UTF8.self))")
                    seen += 1
                }
            }
            #expect(seen == keys.count)
            #expect(fetched.count > 3, "keys spread over the partitions")
        }
    }

    @Test func brokerDownIsAClearErrorAfterTheTimeout() async throws {
        // A port nothing listens on: connection refused, retried with backoff, then a typed error.
        var config = try KafkaClientConfiguration(bootstrapServers: "127.0.0.1:1")
        config.connectTimeout = .seconds(1)
        config.retryBackoffMin = .milliseconds(10)
        let cluster = KafkaCluster(configuration: config)
        await #expect {
            try await cluster.metadata(topics: ["x"])
        } throws: { error in
            guard let e = error as? KafkaWireError else { return false }
            return e.code == .connectionFailed && e.description.contains("127.0.0.1:1")
        }
        // A broker that accepts but never answers: the request times out.
        let silent = try SilentServer()
        defer { silent.close() }
        var config2 = try KafkaClientConfiguration(bootstrapServers: "127.0.0.1:\(silent.port)")
        config2.requestTimeout = .milliseconds(500)
        let cluster2 = KafkaCluster(configuration: config2)
        await #expect {
            try await cluster2.metadata(topics: ["x"])
        } throws: { error in
            (error as? KafkaWireError)?.code == .timedOut
        }
        await cluster2.shutdown()
    }

    // MARK: librdkafka mock cluster

    /// Many partitions with leaders on three brokers: produce, fetch back, compare.
    @Test func produceAcrossBrokersOnMockCluster() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA_MOCK") else { return }
        let topic = TestEnv.unique("kp_mock")
        try await Self.withClient(servers) { cluster, producer in
            let partitionCount = try await Self.createOnMock(cluster, topic)
            let meta = try await cluster.topicMetadata(topic)
            #expect(Set(meta.partitions.map(\.leader)).count >= 2, "leaders on several brokers")
            let n = 3000
            var futures: [DeliveryFuture] = []
            for i in 0..<n {
                futures.append(try await producer.enqueue(topic: topic, key: Array("k\(i)".utf8), value: Array("v\(i)".utf8)))
            }
            try await producer.flush()
            var expected: [Int32: [String]] = [:]
            for (i, f) in futures.enumerated() {
                let r = try await f.get()
                expected[r.partition, default: []].append("v\(i)")
            }
            let fetched = try await Self.fetchAll(cluster, topic: topic, count: n)
            #expect(fetched.count == partitionCount)
            for (p, values) in expected {
                #expect(fetched[p]?.map { String(buffer: $0.value!) } == values, "partition \(p)")
            }
            let admin = KafkaAdmin(cluster: cluster)
            for (p, values) in expected {
                #expect(try await admin.listOffsets(topic: topic, partition: p, .latest) == Int64(values.count))
                #expect(try await admin.listOffsets(topic: topic, partition: p, .earliest) == 0)
            }
            // Out of range is a typed error.
            let far = try await KafkaFetcher(cluster: cluster).fetch([.init(topic: topic, partition: 0, offset: 1_000_000)])
            #expect(far.first?.error?.code == .offsetOutOfRange, "\(String(describing: far.first))")
        }
    }

    /// A record block enqueued in one call, far larger than the producer's buffer: the call waits
    /// for room part-way and goes on, every record arrives once, in order per partition, with the
    /// shared headers, and each future reports its own offset.
    @Test func recordBlockUnderBackPressureOnMockCluster() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA_MOCK") else { return }
        let topic = TestEnv.unique("kp_block")
        var configuration = KafkaProducerConfiguration()
        configuration.maxBufferedBytes = 64 << 10
        configuration.batchMaxBytes = 16 << 10
        try await Self.withClient(servers, producer: configuration) { cluster, producer in
            let partitionCount = try await Self.createOnMock(cluster, topic)
            let n = 5000
            var block = KafkaRecordBlock()
            for i in 0..<n {
                block.append(key: i % 5 == 4 ? nil : Array("k\(i)".utf8), value: i % 7 == 6 ? nil : Array("value-\(i)".utf8))
            }
            let headers = KafkaRecordHeaders([("op", Array("r".utf8)), ("total", Array(String(n).utf8)), ("none", nil)])
            let futures = try await producer.enqueue(topic: topic, records: block, headers: headers, timestamp: 1_700_000_000_123)
            #expect(futures.count == n)
            try await producer.flush()
            var expected: [Int32: [Int]] = [:]
            var seen = Set<String>()
            for (i, f) in futures.enumerated() {
                let r = try await f.get()
                #expect(seen.insert("\(r.partition)/\(r.offset)").inserted, "offset reported twice: \(r)")
                if let k = block.key(i) { #expect(r.partition == KafkaPartitioner.partition(forKey: Array(k), partitionCount: Int32(partitionCount))) }
                expected[r.partition, default: []].append(i)
            }
            let fetched = try await Self.fetchAll(cluster, topic: topic, count: n)
            #expect(fetched.values.reduce(0) { $0 + $1.count } == n)
            for (p, indexes) in expected {
                let records = fetched[p] ?? []
                #expect(records.map { Self.bytes($0.key) } == indexes.map { block.key($0).map(Array.init) }, "partition \(p)")
                #expect(records.map { Self.bytes($0.value) } == indexes.map { block.value($0).map(Array.init) }, "partition \(p)")
                #expect(records.allSatisfy { $0.timestamp == 1_700_000_000_123 })
                #expect(records.allSatisfy { $0.headers == [KafkaRecordHeader(key: "op", value: ByteBuffer(string: "r")),
                                                            KafkaRecordHeader(key: "total", value: ByteBuffer(string: "5000")),
                                                            KafkaRecordHeader(key: "none", value: nil)] })
            }
        }
    }

    /// Transactions: a committed one is visible to read_committed, an aborted one is not.
    /// (On tansu: librdkafka's mock lists no aborted transactions and returns one batch per
    /// fetch, so a read_committed reader there never sees a transaction's marker with its data.)
    @Test func transactionsOnTansu() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        let topic = TestEnv.unique("kp_txn")
        var config = KafkaProducerConfiguration()
        config.transactionalID = TestEnv.unique("kp-txn")
        try await Self.withClient(servers, producer: config) { cluster, producer in
            _ = try await Self.createOnMock(cluster, topic)
            try producer.beginTransaction()
            for i in 0..<10 { _ = try await producer.enqueue(topic: topic, key: Array("c\(i)".utf8), value: Array("commit-\(i)".utf8)) }
            try await producer.commitTransaction()
            try producer.beginTransaction()
            for i in 0..<10 { _ = try await producer.enqueue(topic: topic, key: Array("a\(i)".utf8), value: Array("abort-\(i)".utf8)) }
            try await producer.abortTransaction()
            try producer.beginTransaction()
            _ = try await producer.enqueue(topic: topic, key: Array("c-last".utf8), value: Array("commit-last".utf8))
            try await producer.commitTransaction()

            let committed = try await Self.fetchAll(cluster, topic: topic, count: 11, isolation: .readCommitted)
            let values = committed.values.flatMap { $0 }.map { String(buffer: $0.value!) }
            #expect(values.count == 11)
            #expect(values.allSatisfy { $0.hasPrefix("commit-") })
            let all = try await Self.fetchAll(cluster, topic: topic, count: 21, isolation: .readUncommitted)
            #expect(all.values.flatMap { $0 }.count == 21)
            #expect(all.values.flatMap { $0 }.filter { String(buffer: $0.value!).hasPrefix("abort-") }.count == 10)
        }
    }

    /// The mock cluster has no CreateTopics; it creates a topic (with its default partition
    /// count) when metadata asks for one with auto-creation allowed.
    static func createOnMock(_ cluster: KafkaCluster, _ topic: String) async throws -> Int {
        do {
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: 12)])
        } catch let e as KafkaWireError where e.code == .unsupportedVersion {
            try await cluster.metadata(topics: [topic], allowAutoTopicCreation: true)
        }
        return try await cluster.topicMetadata(topic).partitions.count
    }

    static func unhex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
        while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
        return out
    }
}

/// A TCP listener that accepts and never answers.
final class SilentServer {
    let fd: Int32
    let port: Int
    init() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(s, 8)
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = Int(UInt16(bigEndian: bound.sin_port))
    }
    func close() { Glibc.close(fd) }
}
