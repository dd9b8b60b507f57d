/// The metric names every connector uses, so `/metrics` reads the same whatever the class
/// (SPEC §1: records and bytes in/out, batch latency, lag, errors, state-store writes).
/// Dimensions: `topic`, `partition`, `table` where they apply.
public enum PipeMetric {
    public static let recordsIn = "kafka_pipe_records_in_total"
    public static let recordsOut = "kafka_pipe_records_out_total"
    public static let bytesIn = "kafka_pipe_bytes_in_total"
    public static let bytesOut = "kafka_pipe_bytes_out_total"
    public static let batchLatency = "kafka_pipe_batch_latency_seconds"
    public static let lag = "kafka_pipe_lag"
    public static let errors = "kafka_pipe_errors_total"
    public static let stateStoreWrites = "kafka_pipe_state_store_writes_total"
    public static let buildInfo = "kafka_pipe_build_info"
    public static let startTime = "kafka_pipe_start_time_seconds"

    static let help: [(String, String)] = [
        (recordsIn, "Records read from the source (WAL messages, Kafka records, S3 objects' records)."),
        (recordsOut, "Records delivered to the destination and acknowledged."),
        (bytesIn, "Bytes read from the source."),
        (bytesOut, "Bytes delivered to the destination."),
        (batchLatency, "Time from a batch's first record to its acknowledged delivery, in seconds."),
        (lag, "How far behind the source the connector is (bytes of WAL or records of Kafka)."),
        (errors, "Errors, retried or not, by kind."),
        (stateStoreWrites, "Writes to the state store (positions, offsets)."),
        (buildInfo, "Always 1; the labels name the version."),
        (startTime, "When the process started, in seconds since 1970."),
    ]
}

extension PrometheusRegistry {
    /// Gives the standard metrics their HELP text.
    public func describeStandardMetrics() {
        for (name, help) in PipeMetric.help { describe(name, help: help) }
    }
}
