import Connectors
import CoreMetrics
import Logging
import PipeRuntime
import WireCore
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `kafka-pipe [run] CONFIG.yaml`.
struct RunCommand {
    var config: String
    var data: String
    var stopTimeout: Int

    func run() async throws {
        let environment = currentEnvironment()
        let loaded: LoadedConfig
        do {
            loaded = try ConfigAdapter.load(path: config, environment: environment)
        } catch {
            printError(error.description)
            throw Exit(status: ExitStatus.usage)
        }

        let format: PipeLogging.Format = loaded.logPretty ? .pretty : .json
        PipeLogging.bootstrap(format: format, connector: loaded.name, level: loaded.logLevel)
        let logger = Logger(label: "kafka-pipe")
        let metrics = PrometheusRegistry()
        MetricsSystem.bootstrap(metrics)
        metrics.describeStandardMetrics()
        Gauge(label: PipeMetric.buildInfo, dimensions: [("version", BuildInfo.version), ("class", loaded.className)]).record(1)
        Gauge(label: PipeMetric.startTime).record(Double(processStartSeconds()))
        let readiness = Readiness(stallTimeout: .seconds(300))

        let store: StoreHandle
        do {
            store = try StoreHandle.open(directory: data)
        } catch {
            logger.error("cannot open the state store: \(error)", metadata: ["data": "\(data)"])
            throw Exit(status: ExitStatus.failure)
        }
        defer { store.close() }

        let env = ConnectorEnvironment(configuration: loaded.configuration, store: store.store, logger: logger,
                                       metrics: metrics, readiness: readiness)
        let connector: any Connector
        do {
            guard let c = try ConnectorFactory.make(env, debugEnvironment: environment) else {
                logger.error("class \(loaded.className) is not built yet")
                throw Exit(status: ExitStatus.failure)
            }
            connector = c
        } catch let e as Exit {
            throw e
        } catch {
            logger.error("cannot start \(loaded.className): \(error)")
            throw Exit(status: ExitStatus.failure)
        }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let listen = loaded.listen {
            let http = HTTPEndpointService(address: listen, metrics: metrics, readiness: readiness, logger: logger)
            services.append(.init(service: http, successTerminationBehavior: .ignore,
                                  failureTerminationBehavior: .cancelGroup, serviceName: "http"))
        }
        // The connector last: a graceful stop reaches it first (services stop in reverse order).
        services.append(.init(service: connector, successTerminationBehavior: .gracefullyShutdownGroup,
                              failureTerminationBehavior: .cancelGroup, serviceName: loaded.className))
        // Past the graceful stop the group cancels the services; past that too, the watchdog ends
        // the process (ServiceGroup's own cancellation limit would crash it instead).
        let bound = Duration.seconds(stopTimeout) + Lifecycle.defaultCancellationGrace
        let watchdog = StopWatchdog(bound: bound) { [logger] in
            logger.error("the connector did not stop within \(formatDuration(bound)); exiting")
            Glibc.exit(ExitStatus.failure)
        }
        services.append(.init(service: watchdog, successTerminationBehavior: .ignore,
                              failureTerminationBehavior: .ignore, serviceName: "stop-watchdog"))
        var groupConfig = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                    logger: quietLogger(logger))
        groupConfig.maximumGracefulShutdownDuration = .seconds(stopTimeout)
        groupConfig.maximumCancellationDuration = nil
        let group = ServiceGroup(configuration: groupConfig)

        logger.info("starting", metadata: [
            "class": "\(loaded.className)", "data": "\(data)",
            "http": "\(loaded.listen.map { $0.description } ?? "disabled")",
            "version": "\(BuildInfo.version)",
        ])
        do {
            try await group.run()
        } catch {
            if let e = error as? RuntimeError {
                logger.error("\(e)")
            } else {
                logger.error("\(loaded.className) failed: \(error)")
            }
            throw Exit(status: ExitStatus.failure)
        }
        logger.info("stopped")
    }
}

/// The service group logs its own lifecycle at debug level and below; keep those out of `info`.
private func quietLogger(_ logger: Logger) -> Logger {
    var l = logger
    if l.logLevel < .debug { l.logLevel = .debug }
    return l
}

/// The process environment as a dictionary.
func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") {
            result[String(s[..<eq])] = String(s[s.index(after: eq)...])
        }
        p += 1
    }
    return result
}

/// Seconds since 1970, now.
private func processStartSeconds() -> Int64 { UnixTime.now().seconds }
