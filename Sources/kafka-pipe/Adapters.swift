// The one place the CLI touches the configuration and state-store modules. INTERIM: until the
// PipeConfig and Storage modules land on main, this file holds a stand-in: a reader for the few
// top-level keys the runtime needs, and a directory lock. Replace the bodies with
// `ConfigLoader.load` / `StateStore.open` when they land; nothing else in the CLI changes.
import Logging
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
    var name: String
    var className: String
    var logLevel: Logger.Level
    var logPretty: Bool
    /// nil when `http:listen` is the empty string.
    var listen: ListenAddress?
    var endpoints: [Endpoint]
    /// The configuration with defaults filled in and secrets as `***`.
    var resolvedYAML: String
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
    static let classes = ["pg.Source", "pg.Snapshot", "ch.Sink", "s3.Sink", "s3.Backup"]
    static let secretKeys: Set<String> = ["pass", "password", "secret_key", "token", "session_token", "access_key"]

    static func load(path: String, environment: [String: String]) throws(ConfigFailure) -> LoadedConfig {
        guard let text = readFile(path) else { throw ConfigFailure(description: "\(path):1:1: cannot read the file") }
        var top: [String: (value: String, line: Int, col: Int)] = [:]
        var nested: [String: String] = [:]
        var section = ""
        var brokers: [String] = []
        var redacted: [String] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = i + 1
            var line = String(raw)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            if line.trimmingCharacters().isEmpty {
                redacted.append(String(raw))
                continue
            }
            let indent = line.prefix { $0 == " " }.count
            if line.contains("\t") { throw ConfigFailure(description: "\(path):\(lineNo):\(indent + 1): tabs are not allowed for indentation") }
            let body = line.trimmingCharacters()
            if body.hasPrefix("- ") {
                if section == "kafka.brokers" { brokers.append(unquote(String(body.dropFirst(2)))) }
                redacted.append(String(raw))
                continue
            }
            guard let colon = body.firstIndex(of: ":") else {
                throw ConfigFailure(description: "\(path):\(lineNo):\(indent + 1): expected 'key: value'")
            }
            let key = String(body[..<colon])
            let value = unquote(String(body[body.index(after: colon)...]).trimmingCharacters())
            if value.hasPrefix("\"") || value.hasPrefix("'") || value.hasPrefix("[") && !value.hasSuffix("]") {
                throw ConfigFailure(description: "\(path):\(lineNo):\(indent + key.count + 3): unterminated value")
            }
            if indent == 0 {
                section = key
                top[key] = (value, lineNo, 1)
            } else {
                if section == "kafka" && key == "brokers" {
                    section = "kafka.brokers"
                    if value.hasPrefix("[") {
                        brokers += value.dropFirst().dropLast().split(separator: ",").map { unquote(String($0).trimmingCharacters()) }
                    }
                }
                nested[(section.hasPrefix("kafka") ? "kafka" : section) + ":" + key] = value
            }
            redacted.append(secretKeys.contains(key) && !value.isEmpty
                            ? String(repeating: " ", count: indent) + key + ": \"***\"" : String(raw))
        }
        guard let name = top["name"]?.value, !name.isEmpty else { throw ConfigFailure(description: "\(path):1:1: missing required key 'name'") }
        guard let cls = top["class"] else { throw ConfigFailure(description: "\(path):1:1: missing required key 'class'") }
        guard classes.contains(cls.value) else {
            throw ConfigFailure(description: "\(path):\(cls.line):8: unknown class '\(cls.value)' (one of \(classes.joined(separator: ", ")))")
        }
        let levelText = nested["log:level"] ?? "info"
        guard let level = PipeLogLevel.parse(levelText) else {
            throw ConfigFailure(description: "\(path):1:1: log:level must be trace, debug, info, warn or error")
        }
        let listen: ListenAddress?
        do { listen = try ListenAddress.parse(nested["http:listen"] ?? ":8081") } catch {
            throw ConfigFailure(description: "\(path):1:1: http:listen: \(error)")
        }
        var endpoints: [Endpoint] = []
        for b in brokers {
            if let colon = b.lastIndex(of: ":"), let port = Int(b[b.index(after: colon)...]) {
                endpoints.append(Endpoint(role: "kafka broker", host: String(b[..<colon]), port: port))
            }
        }
        return LoadedConfig(name: name, className: cls.value, logLevel: level, logPretty: nested["log:pretty"] == "true",
                            listen: listen, endpoints: endpoints, resolvedYAML: redacted.joined(separator: "\n"))
    }

    private static func unquote(_ s: String) -> String {
        if s.count >= 2, (s.hasPrefix("\"") && s.hasSuffix("\"")) || (s.hasPrefix("'") && s.hasSuffix("'")) {
            return String(s.dropFirst().dropLast())
        }
        return s
    }

    private static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
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
