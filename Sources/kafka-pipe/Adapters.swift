// The one place the CLI touches the configuration and state-store modules: it turns their types
// into the few facts the commands need (names, log settings, the listen address, the endpoints to
// try), so the command code stays small.
// INTERIM (store part): until the Storage module lands on main, `StoreHandle` is a stand-in that
// only takes the directory lock, and `StoreAdapter.dump` sees an empty store. Replace them with
// `StateStore.open` / `openReadOnly` when it lands; nothing else in the CLI changes.
import Logging
import PipeConfig
import PipeRuntime
#if canImport(Glibc)
import Glibc
#endif

/// A network endpoint that `check` tries.
struct Endpoint: Sendable {
    var role: String
    var host: String
    var port: Int
}

/// What the CLI needs from a configuration file.
struct LoadedConfig: Sendable {
    var configuration: PipeConfiguration
    var name: String { configuration.name }
    var className: String { configuration.connectorClass.rawValue }
    var logLevel: Logger.Level
    var logPretty: Bool { configuration.log.pretty }
    /// nil when `http:listen` is the empty string.
    var listen: ListenAddress?
    var endpoints: [Endpoint]
    /// The configuration with defaults filled in and secrets as `***`.
    var resolvedYAML: String { configuration.resolvedYAML() }
}

/// A configuration error, written `FILE:LINE:COLUMN: message`.
struct ConfigFailure: Error, CustomStringConvertible {
    var description: String
}

/// A state-store error; `isLocked` when another process holds the directory.
struct StoreFailure: Error, CustomStringConvertible {
    var isLocked: Bool
    var description: String
}

enum ConfigAdapter {
    static func load(path: String, environment: [String: String]) throws(ConfigFailure) -> LoadedConfig {
        let c: PipeConfiguration
        do {
            c = try ConfigLoader.load(path: path, environment: environment)
        } catch {
            throw ConfigFailure(description: error.description)
        }
        let level = PipeLogLevel.parse(c.log.level.rawValue) ?? .info
        let listen = c.http.listen.map { ListenAddress(host: $0.host.isEmpty ? "0.0.0.0" : $0.host, port: $0.port) }
        var endpoints = c.kafka.brokers.map { Endpoint(role: "kafka broker", host: $0.host, port: $0.port) }
        switch c.connector {
        case .pgSource(let s):
            endpoints.append(Endpoint(role: "postgresql", host: s.url.host, port: s.url.port))
        case .pgSnapshot(let s):
            endpoints.append(Endpoint(role: "postgresql", host: s.url.host, port: s.url.port))
        case .chSink(let s):
            endpoints += s.clickHouse.addrs.map { Endpoint(role: "clickhouse", host: $0.host, port: $0.port) }
        case .s3Sink(let s):
            endpoints.append(Endpoint(role: "s3", host: s.s3.endpoint.address.host, port: s.s3.endpoint.address.port))
        case .s3Backup(let s):
            endpoints.append(Endpoint(role: "s3", host: s.s3.endpoint.address.host, port: s.s3.endpoint.address.port))
        }
        return LoadedConfig(configuration: c, logLevel: level, listen: listen, endpoints: endpoints)
    }
}

/// The open state store, held (with its lock) for the life of the run.
final class StoreHandle: Sendable {
    let directory: String
    private let fd: Int32

    private init(directory: String, fd: Int32) {
        self.directory = directory
        self.fd = fd
    }

    static func open(directory: String) throws(StoreFailure) -> StoreHandle {
        mkdir(directory, 0o755)
        let fd = Glibc.open(directory + "/LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreFailure(isLocked: false, description: "state store: cannot open \(directory)/LOCK") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            Glibc.close(fd)
            throw StoreFailure(isLocked: true,
                               description: "state store: the state directory \(directory) is in use by another process")
        }
        return StoreHandle(directory: directory, fd: fd)
    }

    func close() { Glibc.close(fd) }
}

enum StoreAdapter {
    /// Every namespace with its keys and values, read-only; nil when the directory does not exist.
    static func dump(directory: String) throws(StoreFailure) -> [(namespace: String, entries: [(key: String, value: [UInt8])])]? {
        var st = stat()
        guard stat(directory, &st) == 0 else { return nil }
        return []
    }
}
