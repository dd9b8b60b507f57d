public import Logging
public import CoreMetrics
public import PipeConfig
public import PipeRuntime
public import Storage
public import ServiceLifecycle

/// A running connector (pg.Source, ch.Sink, …): a service that moves data until its task is
/// cancelled or the group shuts down gracefully, or until its work is done (pg.Snapshot,
/// s3.Backup), then returns. Throwing from `run()` is a runtime failure (exit status 1); the
/// error's description is logged as the one line saying what failed and where.
public protocol Connector: Service {
    /// The class name from the configuration (`pg.Source`).
    var className: String { get }
}

/// What the CLI hands a connector when it builds it.
public struct ConnectorEnvironment: Sendable {
    /// The whole configuration (its `connector` settings are the class's own).
    public var configuration: PipeConfiguration
    /// The connector's `name` (also the state-store namespace).
    public var name: String { configuration.name }
    /// The `class` from the configuration, e.g. `pg.Source`.
    public var className: String { configuration.connectorClass.rawValue }
    /// The state store, opened and locked by this process; the connector keeps its positions in
    /// `store.namespace(name)`.
    public var store: StateStore
    public var logger: Logger
    public var metrics: any MetricsFactory
    /// Set ready/not ready and report progress for `GET /ready`.
    public var readiness: Readiness

    public init(configuration: PipeConfiguration, store: StateStore, logger: Logger,
                metrics: any MetricsFactory, readiness: Readiness) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.readiness = readiness
    }
}

/// Builds the connector for a class. Classes register here as they are written.
public enum ConnectorFactory {
    public typealias Maker = @Sendable (ConnectorEnvironment) throws -> any Connector

    /// The classes that are built. Empty until the first connector lands.
    static let makers: [ConnectorClass: Maker] = [
        .pgSource: { try PgSourceConnector(environment: $0) },
        .pgSnapshot: { try PgSnapshotConnector(environment: $0) },
        .chSink: { try ChSinkConnector(environment: $0) },
        .s3Sink: { try S3SinkConnector(environment: $0) },
        .s3Backup: { try S3BackupConnector(environment: $0) },
    ]

    /// The classes that have a connector.
    public static var builtClasses: [ConnectorClass] { makers.keys.sorted { $0.rawValue < $1.rawValue } }

    /// The connector for `environment.className`, or nil when that class is not built yet.
    ///
    /// With `KP_DEBUG_CONNECTOR=idle` in `debugEnvironment`, every class runs `IdleConnector`
    /// instead: it serves readiness until stopped, which tests use to check the process lifecycle
    /// (signals, graceful stop, the HTTP endpoints, the state-directory lock).
    /// `KP_DEBUG_CONNECTOR=fail` runs `FailingConnector`, which fails at once (the failure path);
    /// `KP_DEBUG_CONNECTOR=stuck` runs `StuckConnector`, which ignores stop requests (the stop bound).
    public static func make(_ environment: ConnectorEnvironment,
                            debugEnvironment: [String: String] = [:]) throws -> (any Connector)? {
        switch debugEnvironment["KP_DEBUG_CONNECTOR"] {
        case "idle": return IdleConnector(environment: environment)
        case "fail": return FailingConnector(environment: environment)
        case "stuck": return StuckConnector(environment: environment)
        default: break
        }
        guard let maker = makers[environment.configuration.connectorClass] else { return nil }
        return try maker(environment)
    }
}

/// Does nothing until stopped: ready at once, a progress heartbeat every second.
public struct IdleConnector: Connector {
    public let className: String
    let environment: ConnectorEnvironment

    public init(environment: ConnectorEnvironment) {
        self.environment = environment
        self.className = environment.className
    }

    public func run() async throws {
        environment.readiness.setReady()
        environment.logger.info("idle connector running", metadata: ["class": "\(className)"])
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                environment.readiness.progress()
                try? await Task.sleep(for: .milliseconds(200))
            }
        } onGracefulShutdown: {}
        environment.readiness.setNotReady("stopping")
        environment.logger.info("idle connector stopped")
    }
}

/// Fails at once with a runtime error (tests of the failure path: exit status 1, one log line).
public struct FailingConnector: Connector {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let className: String

    public init(environment: ConnectorEnvironment) {
        self.className = environment.className
    }

    public func run() async throws {
        throw Failure(description: "debug failure in \(className) (KP_DEBUG_CONNECTOR=fail)")
    }
}

/// Ignores graceful shutdown and cancellation (tests of the bound on a stop).
public struct StuckConnector: Connector {
    public let className: String
    let environment: ConnectorEnvironment

    public init(environment: ConnectorEnvironment) {
        self.environment = environment
        self.className = environment.className
    }

    public func run() async throws {
        environment.readiness.setReady()
        environment.logger.info("stuck connector running")
        while true {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
