import Logging
import KafkaWire
import NIOCore
import PgWire
import PipeConfig
import PipeRuntime
import ServiceLifecycle
import Storage
import Synchronization

/// pg.Source (SPEC §3): PostgreSQL logical replication (pgoutput) → Kafka, at least once.
///
/// One run is a loop of sessions. A session connects to PostgreSQL (a query connection for
/// setup and heartbeats, a replication connection for the stream) and to Kafka, makes sure the
/// topics, the health table, the publication and the slot exist, then streams from the saved
/// position. Records are produced as they arrive; the end LSN of a commit is saved in the state
/// store and then confirmed to PostgreSQL only once Kafka acknowledged every record before it
/// (`PgSourceAcker`). Any network or server failure ends the session; the next one starts after a
/// backoff from the last saved position, so only the unconfirmed window is produced again.
/// Configuration problems (unknown table, missing rights, wrong password) and position problems
/// (slot gone, saved position behind the slot) end the run with an error saying what to do.
public struct PgSourceConnector: Connector {
    public let className = ConnectorClass.pgSource.rawValue
    let environment: ConnectorEnvironment
    let settings: PgSourceSettings

    /// The state-store key of the saved position (the end LSN of the last delivered commit).
    public static let positionKey = "lsn"

    public init(environment: ConnectorEnvironment) throws {
        guard case .pgSource(let s) = environment.configuration.connector else {
            throw ConnectorError(.configuration, "class pg.Source needs pg.Source settings")
        }
        self.environment = environment
        self.settings = s
    }

    public func run() async throws {
        let logger = environment.logger
        let control = PgSourceControl()
        let metrics = PgSourceMetrics(slot: settings.slot)
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(30))
        environment.readiness.setNotReady("connecting")
        try await withGracefulShutdownHandler {
            while !Task.isCancelled && !control.isStopping {
                let session = PgSourceSession(environment: environment, settings: settings, control: control,
                                              metrics: metrics)
                do {
                    try await session.run()
                    if control.isStopping || Task.isCancelled { break }
                    backoff.reset()
                } catch let error as ConnectorError where !error.isRetriable {
                    ConnectorMetrics.errors(ConnectorMetrics.kind(error.code)).increment()
                    environment.readiness.setNotReady("failed")
                    throw error
                } catch {
                    if control.isStopping || Task.isCancelled { break }
                    ConnectorMetrics.errors(ConnectorMetrics.kind(PgSourceSession.classify(error, "").code)).increment()
                    if session.madeProgress { backoff.reset() }
                    let delay = backoff.next()
                    environment.readiness.setNotReady("reconnecting: \(error)")
                    logger.warning("pg.Source session failed; reconnecting", metadata: [
                        "error": "\(error)", "retry_in": "\(formatDuration(delay))",
                    ])
                    // Sleep in short steps so a stop request during the backoff is honoured at once.
                    let until = ContinuousClock.now + delay
                    while ContinuousClock.now < until && !control.isStopping && !Task.isCancelled {
                        try? await Task.sleep(for: min(.milliseconds(100), until - ContinuousClock.now))
                    }
                }
            }
        } onGracefulShutdown: {
            control.stop()
        }
        environment.readiness.setNotReady("stopped")
        logger.info("pg.Source stopped")
    }
}

/// Stop requests from the graceful-shutdown handler to the running session.
final class PgSourceControl: Sendable {
    private struct State {
        var stopping = false
        var stream: ReplicationStream?
    }
    private let state = Mutex(State())

    var isStopping: Bool { state.withLock { $0.stopping } }

    /// The session's stream, stopped at once when a stop was already requested.
    func attach(_ stream: ReplicationStream?) {
        let stopNow = state.withLock { s -> Bool in
            s.stream = stream
            return s.stopping && stream != nil
        }
        if stopNow, let stream { Task { try? await stream.stop() } }
    }

    func stop() {
        let stream = state.withLock { s -> ReplicationStream? in
            s.stopping = true
            return s.stream
        }
        // CopyDone: the server ends the stream; the session then saves what Kafka acknowledged.
        if let stream { Task { try? await stream.stop() } }
    }
}
