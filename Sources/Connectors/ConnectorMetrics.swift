internal import CoreMetrics
internal import KafkaWire
internal import PipeRuntime

/// Helpers for the standard metrics (`PipeMetric`) that several connectors share.
enum ConnectorMetrics {
    /// The `kind` label of `kafka_pipe_errors_total` for a connector error code.
    static func kind(_ code: ConnectorError.Code) -> String {
        switch code {
        case .postgres: return "postgres"
        case .kafka: return "kafka"
        case .clickHouse: return "clickhouse"
        case .stateStore: return "state_store"
        case .configuration: return "configuration"
        case .position: return "position"
        case .invalidData: return "invalid_data"
        default: return "\(code)"
        }
    }

    /// The `kind` of any error: a `ConnectorError`'s code, else `other`.
    static func kind(_ error: any Error) -> String {
        if let e = error as? ConnectorError { return kind(e.code) }
        return "other"
    }

    /// `kafka_pipe_errors_total{kind}`.
    static func errors(_ kind: String) -> Counter {
        Counter(label: PipeMetric.errors, dimensions: [("kind", kind)])
    }

    /// Counts one error of `error`'s kind.
    static func countError(_ error: any Error) {
        errors(kind(error)).increment()
    }

    /// A duration as nanoseconds for `Timer.recordNanoseconds`.
    static func nanoseconds(_ d: Duration) -> Int64 {
        let c = d.components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}

/// What a sink's group member counts of each fetched batch: records and bytes (key + value) in,
/// and `kafka_pipe_lag{topic,partition}` (records between the batch's end and the high watermark).
/// Used under the owner's lock.
struct ConsumerIntakeMetrics {
    let recordsIn = Counter(label: PipeMetric.recordsIn)
    let bytesIn = Counter(label: PipeMetric.bytesIn)
    private var lag: [TopicPartition: Gauge] = [:]

    mutating func record(_ batch: ConsumerBatch) {
        var bytes = 0
        for r in batch.records { bytes += (r.value?.readableBytes ?? 0) + (r.key?.readableBytes ?? 0) }
        recordsIn.increment(by: batch.records.count)
        bytesIn.increment(by: bytes)
        let tp = batch.topicPartition
        let gauge = lag[tp] ?? Gauge(label: PipeMetric.lag, dimensions: [("topic", tp.topic), ("partition", String(tp.partition))])
        lag[tp] = gauge
        gauge.record(max(0, batch.highWatermark - batch.nextOffset))
    }
}
