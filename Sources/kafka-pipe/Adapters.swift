// The one place the CLI touches the configuration and state-store modules: it turns their types
// into the few facts the commands need (names, log settings, the listen address, the endpoints to
// try), so the command code stays small.
import Logging
import PipeConfig
import PipeRuntime
import Storage

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
    let store: StateStore
    var directory: String { store.directory }

    private init(store: StateStore) {
        self.store = store
    }

    static func open(directory: String) throws(StoreFailure) -> StoreHandle {
        do {
            return StoreHandle(store: try StateStore.open(directory: directory))
        } catch let e as StorageError {
            throw StoreFailure(isLocked: e.code == .locked, description: e.description)
        } catch {
            throw StoreFailure(isLocked: false, description: "state store: \(error)")
        }
    }

    func close() { try? store.close() }
}

enum StoreAdapter {
    /// Every namespace with its keys and values, read-only; nil when the directory does not exist.
    static func dump(directory: String) throws(StoreFailure) -> [(namespace: String, entries: [(key: String, value: [UInt8])])]? {
        let store: StateStore
        do {
            store = try StateStore.openReadOnly(directory: directory)
        } catch let e as StorageError {
            if e.code == .notFound { return nil }
            throw StoreFailure(isLocked: false, description: e.description)
        } catch {
            throw StoreFailure(isLocked: false, description: "state store: \(error)")
        }
        defer { try? store.close() }
        return store.namespaces().sorted().map { ($0, store.namespace($0).scan(prefix: "")) }
    }
}
