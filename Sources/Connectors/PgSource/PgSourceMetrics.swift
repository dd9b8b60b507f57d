import CoreMetrics
import PgWire
import PipeRuntime
import Synchronization

/// pg.Source's standard metrics (`PipeMetric`), shared by the sessions of one run.
///
/// - `kafka_pipe_records_in_total`: insert, update and delete messages of the configured tables
///   read from the WAL (the health table's heartbeats are not counted);
/// - `kafka_pipe_records_out_total`, `kafka_pipe_bytes_out_total` (key + value): records Kafka
///   acknowledged;
/// - `kafka_pipe_batch_latency_seconds`: from a commit message (of a transaction with records) to
///   Kafka's acknowledgement of all its records;
/// - `kafka_pipe_state_store_writes_total`: saved positions;
/// - `kafka_pipe_lag{slot}`: bytes of WAL between the server's end of WAL (the highest of the
///   stream's XLogData/keepalive WAL end and `pg_current_wal_lsn()` read with each heartbeat) and
///   the position confirmed to the slot;
/// - `kafka_pipe_errors_total{kind}`: failed sessions (retried) and the final error, by kind.
final class PgSourceMetrics: Sendable {
    let recordsIn = Counter(label: PipeMetric.recordsIn)
    let recordsOut = Counter(label: PipeMetric.recordsOut)
    let bytesOut = Counter(label: PipeMetric.bytesOut)
    let latency = Timer(label: PipeMetric.batchLatency)
    let stateWrites = Counter(label: PipeMetric.stateStoreWrites)
    let lag: Gauge
    /// The highest end of WAL `pg_current_wal_lsn()` returned.
    private let serverEnd = Mutex(LSN.zero)

    init(slot: String) {
        lag = Gauge(label: PipeMetric.lag, dimensions: [("slot", slot)])
    }

    /// The server's end of WAL as a query returned it.
    func serverWALEnd(_ lsn: LSN) {
        serverEnd.withLock { if lsn > $0 { $0 = lsn } }
    }

    /// Records the lag of `stream`: end of WAL minus the confirmed position, never below 0.
    func updateLag(_ stream: ReplicationStream) {
        let end = max(stream.receivedLSN, serverEnd.withLock { $0 })
        let flushed = stream.flushedLSN
        lag.record(end.value > flushed.value ? Int64(clamping: end.value - flushed.value) : 0)
    }
}
