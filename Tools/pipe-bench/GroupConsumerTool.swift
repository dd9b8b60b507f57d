import KafkaWire
import NIOCore

/// `group-consumer --bootstrap B --group G --topic T [--max N] [--session-ms MS] [--heartbeat-ms MS]
///   [--partition-bytes B] [--batch-delay-ms MS] [--quiet 1]`
///
/// One member of a consumer group. For each batch it prints `R <partition> <offset> <value>`
/// per record, commits the batch (the next offset), then prints `C <partition> <next offset>`.
/// With `--max N` it leaves the group after N records and prints `DONE <records> <seconds>`;
/// `--quiet 1` prints only that line (the benchmark). Tests kill it with SIGKILL mid-stream.
func groupConsumer(_ args: [String]) async throws -> Int32 {
    let a = Arguments(args)
    guard let bootstrap = a.options["bootstrap"], let group = a.options["group"], let topic = a.options["topic"] else {
        writeStderr("group-consumer --bootstrap B --group G --topic T [--max N] [--session-ms MS] [--quiet 1]\n")
        return 2
    }
    let max = a.int("max", default: Int.max)
    let quiet = a.int("quiet", default: 0) != 0
    let cluster = KafkaCluster(configuration: try KafkaClientConfiguration(bootstrapServers: bootstrap, clientID: "kp-group-consumer"))
    var config = KafkaGroupConsumer.Configuration(groupID: group, topics: [topic])
    config.sessionTimeout = .milliseconds(Int64(a.int("session-ms", default: 10_000)))
    config.heartbeatInterval = .milliseconds(Int64(a.int("heartbeat-ms", default: 1_000)))
    config.rebalanceTimeout = .milliseconds(Int64(a.int("rebalance-ms", default: 20_000)))
    config.fetchMaxPartitionBytes = Int32(a.int("partition-bytes", default: 1 << 20))
    let delay = UInt64(a.int("batch-delay-ms", default: 0)) * 1_000_000
    let consumer = KafkaGroupConsumer(cluster: cluster, configuration: config)
    let start = NIODeadline.now()
    let total = try await withThrowingTaskGroup(of: Int.self) { g in
        g.addTask { try await consumer.run(); return 0 }
        g.addTask {
            var count = 0
            for await batch in consumer.batches {
                if !quiet {
                    var text = ""
                    for r in batch.records {
                        text += "R \(batch.partition) \(r.offset) \(r.value.map { String(buffer: $0) } ?? "")\n"
                    }
                    writeStdout(text)
                }
                if delay > 0 { try await Task.sleep(nanoseconds: delay) }
                try await consumer.commit([batch.topicPartition: batch.nextOffset])
                if !quiet { writeStdout("C \(batch.partition) \(batch.nextOffset)\n") }
                count += batch.records.count
                if count >= max {
                    consumer.leave()
                    break
                }
            }
            return count
        }
        return try await g.reduce(0, +)
    }
    let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1e9
    writeStdout("DONE \(total) \(seconds)\n")
    await cluster.shutdown()
    return 0
}
