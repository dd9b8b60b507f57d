import KafkaWire

#if canImport(Glibc)
import Glibc
#endif

/// `pipe-bench kafka-bench produce|fetch --brokers HOST:PORT --topic T --records N [--size BYTES] [--partitions P] [--codec none|gzip|snappy|lz4|zstd]`
///
/// produce: creates the topic (when missing) and sends N records of SIZE bytes (no key) with
/// the idempotent producer, acks=all; prints `records=N seconds=S rate=R`.
/// fetch: reads the topic from offset 0 until N records arrived; prints the same line.
func kafkaBench(_ args: [String]) async throws {
    guard let mode = args.first, mode == "produce" || mode == "fetch" else {
        print("usage: pipe-bench kafka-bench produce|fetch --brokers B --topic T --records N [--size BYTES]")
        return
    }
    var options: [String: String] = [:]
    var i = 1
    while i + 1 < args.count {
        options[String(args[i].dropFirst(2))] = args[i + 1]
        i += 2
    }
    let brokers = options["brokers"] ?? "127.0.0.1:9092"
    let topic = options["topic"] ?? "kp_bench"
    let records = Int(options["records"] ?? "") ?? 1_000_000
    let size = Int(options["size"] ?? "") ?? 100
    let partitions = Int32(options["partitions"] ?? "") ?? 1
    let codecName = options["codec"] ?? "none"
    guard let codec = KafkaCompressionCodec.allCases.first(where: { "\($0)" == codecName }) else {
        print("unknown codec \(codecName)")
        return
    }

    let cluster = KafkaCluster(configuration: try KafkaClientConfiguration(bootstrapServers: brokers, clientID: "kp-bench"))
    let start = monotonicSeconds()
    var count = 0
    switch mode {
    case "produce":
        try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: partitions)])
        var producerConfiguration = KafkaProducerConfiguration()
        producerConfiguration.compression = codec
        let producer = KafkaProducer(cluster: cluster, configuration: producerConfiguration)
        let value = (0..<size).map { UInt8(97 + $0 % 26) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            var last: DeliveryFuture?
            var failures = 0
            var sampled: [DeliveryFuture] = []
            for n in 0..<records {
                let f = try await producer.enqueue(topic: topic, key: nil, value: value)
                if n % 10_000 == 0 { sampled.append(f) }
                last = f
            }
            try await producer.flush()
            if let last { sampled.append(last) }
            for f in sampled {
                do { _ = try await f.get() } catch { failures += 1; print("delivery failed: \(error)") }
            }
            group.cancelAll()
            if failures > 0 { throw KafkaWireError(.brokerError, "\(failures) sampled deliveries failed") }
        }
        count = records
    default:
        let fetcher = KafkaFetcher(cluster: cluster)
        let meta = try await cluster.topicMetadata(topic)
        var next = Dictionary(uniqueKeysWithValues: meta.partitions.map { ($0.id, Int64(0)) })
        var emptyRounds = 0
        while count < records && emptyRounds < 50 {
            let parts = try await fetcher.fetch(next.map { .init(topic: topic, partition: $0.key, offset: $0.value) },
                                                maxBytes: 50 << 20, maxPartitionBytes: 8 << 20, maxWaitMs: 100)
            var got = 0
            for p in parts {
                if let e = p.error { throw e }
                got += p.records.count
                next[p.partition] = p.nextOffset
            }
            count += got
            emptyRounds = got == 0 ? emptyRounds + 1 : 0
        }
    }
    let seconds = monotonicSeconds() - start
    await cluster.shutdown()
    print("records=\(count) seconds=\(seconds) rate=\(Int(Double(count) / seconds))")
    if count < records { throw KafkaWireError(.timedOut, "only \(count) of \(records) records") }
}

private func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
