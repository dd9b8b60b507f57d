internal import WireCore
/// Reads a configuration file into a ``PipeConfiguration``: YAML, then `${VAR}` expansion, then the
/// keys of the file's class with their types, defaults and checks. Every error names the file, line,
/// column and key.
public enum ConfigLoader {
    public static func load(path: String, environment: [String: String]) throws(ConfigError) -> PipeConfiguration {
        let data: [UInt8]
        do {
            data = try LocalFile.bytes(path)
        } catch {
            throw ConfigError(code: .io, file: path, line: 0, column: 0, message: "cannot read the file: \(error.reason)")
        }
        let root = try YAML.parse(bytes: data, file: path)
        return try decode(root: root, file: path, environment: environment)
    }

    public static func parse(text: String, file: String, environment: [String: String]) throws(ConfigError) -> PipeConfiguration {
        let root = try YAML.parse(text, file: file)
        return try decode(root: root, file: file, environment: environment)
    }

    /// Decodes an already parsed document.
    public static func decode(root: YAMLNode, file: String, environment: [String: String]) throws(ConfigError) -> PipeConfiguration {
        let reader = ConfigReader(file: file, environment: environment)
        return try reader.configuration(root)
    }
}

// MARK: - Key tables

enum Keys {
    static let common = ["name", "class", "log", "http", "kafka"]
    static let perClass: [ConnectorClass: [String]] = [
        .pgSource: ["pg"],
        .pgSnapshot: ["pg"],
        .chSink: ["click_house", "serde", "routes", "on_error", "dlq.topic"],
        .s3Sink: ["s3", "group_time_interval"],
        .s3Backup: ["s3", "topics", "date_since", "date_to"],
    ]
    static let log = ["level", "pretty"]
    static let http = ["listen"]
    static let kafkaCommon = ["brokers", "client_id", "sasl", "tls", "batch"]
    static let kafkaConsumer = ["group", "topics", "rebalance_timeout", "workers_per_topic", "fetch_max_bytes",
                                "fetch_max_partition_bytes"]
    static let sasl = ["protocol", "user", "pass", "zid", "nonce", "is_token", "token", "access_key", "secret_key",
                       "session_token", "user_agent", "region"]
    static let tls = ["enabled", "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"]
    static let topic = ["prefix", "replication.factor", "partitions", "compression.type", "cleanup.policy",
                        "retention", "part_retention_size", "routes"]
    static let topicForBackup = ["replication.factor", "compression.type", "cleanup.policy", "retention",
                                 "part_retention_size"]
    static let batch = ["size", "timeout"]
    static let pgSource = ["url", "publication", "slot", "tables", "skip.delete", "health.table", "heartbeat",
                           "tombstones"]
    static let pgSnapshot = ["url", "tables", "condition", "chunk.size"]
    static let clickHouse = ["addrs", "database", "user", "password", "tls", "compression"]
    static let serde = ["format", "time_format", "schemas"]
    static let s3 = ["endpoint", "bucket", "id", "secret", "ssl", "region"]

    static func kafka(for c: ConnectorClass) -> [String] {
        switch c {
        case .pgSource, .pgSnapshot, .s3Backup: kafkaCommon + ["topic"]
        case .chSink, .s3Sink: kafkaCommon + kafkaConsumer
        }
    }

    /// Top-level keys of each class, for "belongs to another class" hints.
    static func owners(ofTopLevel key: String) -> [ConnectorClass] {
        ConnectorClass.allCases.filter { perClass[$0]!.contains(key) }
    }
}

// MARK: - Reader

/// A mapping being read: its key path, its node (nil when absent) and where to point when a key is
/// missing.
struct Section {
    var path: String
    var node: YAMLNode?
    var line: Int
    var column: Int

    func full(_ key: String) -> String { path.isEmpty ? key : "\(path):\(key)" }

    /// The value of `key`, nil when absent or null.
    func value(_ key: String) -> YAMLNode? {
        guard let v = node?[key], !v.isNull else { return nil }
        return v
    }

    func has(_ key: String) -> Bool { value(key) != nil }

    func keyNode(_ key: String) -> YAMLNode? {
        node?.mapping?.first { $0.keyText == key }?.key
    }
}

struct ConfigReader {
    let file: String
    let environment: [String: String]

    func fail(_ code: ConfigError.Code, _ node: YAMLNode?, key: String?, _ message: String) -> ConfigError {
        ConfigError(code: code, file: file, line: node?.line ?? 1, column: node?.column ?? 1, key: key, message: message)
    }

    func failAt(_ code: ConfigError.Code, _ section: Section, key: String?, _ message: String) -> ConfigError {
        ConfigError(code: code, file: file, line: section.line, column: section.column, key: key, message: message)
    }

    // MARK: Sections and keys

    /// The mapping under `key` (absent: an empty section pointing at the parent), its keys checked.
    func section(_ parent: Section, _ key: String, allowed: [String],
                 elsewhere: (String) -> String? = { _ in nil }) throws(ConfigError) -> Section {
        let path = parent.full(key)
        guard let node = parent.value(key) else {
            let at = parent.keyNode(key) ?? parent.node
            return Section(path: path, node: nil, line: at?.line ?? parent.line, column: at?.column ?? parent.column)
        }
        guard node.mapping != nil else {
            throw fail(.wrongType, node, key: path, "`\(path)` must be a mapping of keys, not \(node.kindName)")
        }
        let keyNode = parent.keyNode(key)
        let section = Section(path: path, node: node, line: keyNode?.line ?? node.line, column: keyNode?.column ?? node.column)
        try checkKeys(section, allowed: allowed, elsewhere: elsewhere)
        return section
    }

    /// Every key of the section must be one of `allowed`; otherwise an error that suggests the nearest.
    func checkKeys(_ section: Section, allowed: [String], elsewhere: (String) -> String? = { _ in nil }) throws(ConfigError) {
        for pair in section.node?.mapping ?? [] where !allowed.contains(pair.keyText) {
            let k = pair.keyText
            // Top-level `x-…` keys are the user's own (a place for anchors, as in Compose files).
            if section.path.isEmpty && k.hasPrefix("x-") { continue }
            let path = section.full(k)
            if let note = elsewhere(k) {
                throw fail(.unknownKey, pair.key, key: path, "key `\(path)` \(note)")
            }
            if let near = ScalarParsers.nearest(k, in: allowed) {
                throw fail(.unknownKey, pair.key, key: path, "unknown key `\(path)`; did you mean `\(near)`?")
            }
            let where_ = section.path.isEmpty ? "at the top level" : "in `\(section.path)`"
            throw fail(.unknownKey, pair.key, key: path,
                       "unknown key `\(path)`; valid keys \(where_): \(allowed.joined(separator: ", "))")
        }
    }

    /// The scalar text under `key` with `${VAR}` expanded; nil when absent or null.
    func scalar(_ s: Section, _ key: String, what: String = "a string") throws(ConfigError) -> (String, YAMLNode)? {
        guard let node = s.value(key) else { return nil }
        let path = s.full(key)
        guard let sc = node.scalar else {
            throw fail(.wrongType, node, key: path, "`\(path)` must be \(what), not \(node.kindName)")
        }
        return (try expand(sc.text, node: node, key: path), node)
    }

    func required(_ s: Section, _ key: String, what: String = "a string") throws(ConfigError) -> (String, YAMLNode) {
        guard let v = try scalar(s, key, what: what) else {
            throw missing(s, key)
        }
        return v
    }

    func missing(_ s: Section, _ key: String) -> ConfigError {
        let path = s.full(key)
        // A present-but-null key points at itself.
        if let k = s.keyNode(key) {
            return fail(.missingKey, k, key: path, "`\(path)` needs a value")
        }
        return failAt(.missingKey, s, key: path, "missing required key `\(path)`")
    }

    func string(_ s: Section, _ key: String, default def: String) throws(ConfigError) -> String {
        try scalar(s, key)?.0 ?? def
    }

    func nonEmpty(_ s: Section, _ key: String) throws(ConfigError) -> String {
        let (v, node) = try required(s, key)
        if v.isEmpty { throw fail(.invalidValue, node, key: s.full(key), "`\(s.full(key))` must not be empty") }
        return v
    }

    func bool(_ s: Section, _ key: String, default def: Bool) throws(ConfigError) -> Bool {
        guard let (text, node) = try scalar(s, key, what: "true or false") else { return def }
        guard let b = ScalarParsers.parseBool(text) else {
            throw fail(.invalidValue, node, key: s.full(key), "`\(s.full(key))` must be true or false, got `\(text)`")
        }
        return b
    }

    func int(_ s: Section, _ key: String, default def: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let (text, node) = try scalar(s, key, what: "a number") else { return def }
        guard let n = ScalarParsers.parseInt(text) else {
            throw fail(.invalidValue, node, key: s.full(key), "`\(s.full(key))` must be a whole number, got `\(text)`")
        }
        guard range.contains(n) else {
            throw fail(.invalidValue, node, key: s.full(key),
                       "`\(s.full(key))` must be between \(range.lowerBound) and \(range.upperBound), got \(n)")
        }
        return n
    }

    func duration(_ s: Section, _ key: String, default def: Duration) throws(ConfigError) -> Duration {
        guard let (text, node) = try scalar(s, key, what: "a duration") else { return def }
        return try positiveDuration(text, node: node, key: s.full(key))
    }

    func positiveDuration(_ text: String, node: YAMLNode, key: String) throws(ConfigError) -> Duration {
        switch ScalarParsers.parseDuration(text) {
        case .failure(let e):
            throw fail(.invalidValue, node, key: key, "`\(key)` \(e.message), got `\(text)`")
        case .success(let d):
            guard d > .zero else {
                throw fail(.invalidValue, node, key: key, "`\(key)` must be longer than zero, got `\(text)`")
            }
            return d
        }
    }

    func size(_ s: Section, _ key: String, default def: Int64, max: Int64 = .max) throws(ConfigError) -> Int64 {
        guard let (text, node) = try scalar(s, key, what: "a size") else { return def }
        switch ScalarParsers.parseSize(text) {
        case .failure(let e):
            throw fail(.invalidValue, node, key: s.full(key), "`\(s.full(key))` \(e.message), got `\(text)`")
        case .success(let n):
            guard n > 0 else { throw fail(.invalidValue, node, key: s.full(key), "`\(s.full(key))` must be more than zero") }
            guard n <= max else {
                throw fail(.invalidValue, node, key: s.full(key),
                           "`\(s.full(key))` must be at most \(ScalarParsers.formatSize(max)), got `\(text)`")
            }
            return n
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ s: Section, _ key: String, default def: T,
                                                    aliases: [String: T] = [:]) throws(ConfigError) -> T where T.RawValue == String {
        guard let (text, node) = try scalar(s, key) else { return def }
        let lowered = text.lowercased()
        if let v = T.allCases.first(where: { $0.rawValue.lowercased() == lowered }) { return v }
        if let v = aliases[lowered] { return v }
        let names = T.allCases.map(\.rawValue)
        let path = s.full(key)
        if let near = ScalarParsers.nearest(text, in: names) {
            throw fail(.invalidValue, node, key: path, "`\(path)` cannot be `\(text)`; did you mean `\(near)`?")
        }
        throw fail(.invalidValue, node, key: path,
                   "`\(path)` must be one of \(names.map { "`\($0)`" }.joined(separator: ", ")), got `\(text)`")
    }

    /// A list of scalars (expanded). nil when absent.
    func list(_ s: Section, _ key: String, what: String) throws(ConfigError) -> [(String, YAMLNode)]? {
        guard let node = s.value(key) else { return nil }
        let path = s.full(key)
        guard let items = node.sequence else {
            throw fail(.wrongType, node, key: path,
                       "`\(path)` must be a list of \(what) (`[a, b]` or one `- item` per line), not \(node.kindName)")
        }
        var out: [(String, YAMLNode)] = []
        for (n, item) in items.enumerated() {
            guard let sc = item.scalar, !sc.isNull else {
                throw fail(.wrongType, item, key: path, "`\(path)` item \(n + 1) must be \(what), not \(item.kindName)")
            }
            out.append((try expand(sc.text, node: item, key: path), item))
        }
        return out
    }

    func requiredList(_ s: Section, _ key: String, what: String) throws(ConfigError) -> [(String, YAMLNode)] {
        guard let items = try list(s, key, what: what) else { throw missing(s, key) }
        if items.isEmpty {
            throw fail(.invalidValue, s.value(key), key: s.full(key), "`\(s.full(key))` must list at least one item")
        }
        return items
    }

    /// An ordered map of scalar → scalar (routes, schemas).
    func orderedMap(_ s: Section, _ key: String) throws(ConfigError) -> [(key: String, value: String, node: YAMLNode)] {
        guard let node = s.value(key) else { return [] }
        let path = s.full(key)
        guard let pairs = node.mapping else {
            throw fail(.wrongType, node, key: path, "`\(path)` must be a mapping (`pattern: target` per line), not \(node.kindName)")
        }
        var out: [(key: String, value: String, node: YAMLNode)] = []
        for p in pairs {
            guard let sc = p.value.scalar, !sc.isNull else {
                throw fail(.wrongType, p.value, key: "\(path):\(p.keyText)",
                           "`\(path):\(p.keyText)` must be a string, not \(p.value.kindName)")
            }
            out.append((p.keyText, try expand(sc.text, node: p.value, key: "\(path):\(p.keyText)"), p.key))
        }
        return out
    }

    // MARK: Environment

    /// `${VAR}` and `${VAR:-default}` from the environment; `$${` is a literal `${`. A lone `$` stays.
    func expand(_ text: String, node: YAMLNode, key: String) throws(ConfigError) -> String {
        guard text.contains("$") else { return text }
        let c = Array(text.unicodeScalars)
        var out = ""
        var i = 0
        while i < c.count {
            if c[i] == "$" && i + 2 < c.count && c[i + 1] == "$" && c[i + 2] == "{" {
                out += "${"
                i += 3
                continue
            }
            guard c[i] == "$" && i + 1 < c.count && c[i + 1] == "{" else {
                out.unicodeScalars.append(c[i])
                i += 1
                continue
            }
            var j = i + 2
            var name = ""
            while j < c.count, c[j] == "_" || (c[j] >= "A" && c[j] <= "Z") || (c[j] >= "a" && c[j] <= "z") || (c[j] >= "0" && c[j] <= "9") {
                name.unicodeScalars.append(c[j])
                j += 1
            }
            let validName = !name.isEmpty && !(name.unicodeScalars.first!.value >= 48 && name.unicodeScalars.first!.value <= 57)
            var fallback: String?
            if j + 1 < c.count && c[j] == ":" && c[j + 1] == "-" {
                j += 2
                var d = ""
                while j < c.count && c[j] != "}" {
                    d.unicodeScalars.append(c[j])
                    j += 1
                }
                fallback = d
            }
            guard validName, j < c.count, c[j] == "}" else {
                throw fail(.environment, node, key: key,
                           "malformed `${...}` in `\(key)`: write `${NAME}` or `${NAME:-default}` (`$${` for a literal `${`)")
            }
            if let v = environment[name], !(fallback != nil && v.isEmpty) {
                out += v
            } else if let fallback {
                out += fallback
            } else {
                throw fail(.environment, node, key: key,
                           "environment variable `\(name)` is not set (used in `\(key)`); set it or write `${\(name):-default}`")
            }
            i = j + 1
        }
        return out
    }

    // MARK: Values with syntax

    func hostPort(_ text: String, node: YAMLNode, key: String, defaultPort: Int?) throws(ConfigError) -> HostPort {
        switch ScalarParsers.parseHostPort(text, defaultPort: defaultPort) {
        case .success(let hp): return hp
        case .failure(let e): throw fail(.invalidValue, node, key: key, "`\(key)` \(e.message), got `\(text)`")
        }
    }

    func topicName(_ text: String, node: YAMLNode, key: String, allowEmpty: Bool = false) throws(ConfigError) -> String {
        if text.isEmpty && allowEmpty { return text }
        let ok = !text.isEmpty && text.count <= 249 && text != "." && text != ".."
            && text.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "." || $0 == "_" || $0 == "-" }
        guard ok else {
            throw fail(.invalidValue, node, key: key,
                       "`\(key)` must be a Kafka topic name (letters, digits, `.`, `_`, `-`; at most 249), got `\(text)`")
        }
        return text
    }

    func tableName(_ text: String, node: YAMLNode, key: String) throws(ConfigError) -> TableName {
        var parts: [String] = []
        var current = ""
        let c = Array(text.unicodeScalars)
        var i = 0
        var quotedPart = false
        while i < c.count {
            if c[i] == "\"" && current.isEmpty && !quotedPart {
                i += 1
                var closed = false
                while i < c.count {
                    if c[i] == "\"" {
                        if i + 1 < c.count && c[i + 1] == "\"" { current += "\""; i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    current.unicodeScalars.append(c[i])
                    i += 1
                }
                guard closed else { break }
                quotedPart = true
                continue
            }
            if c[i] == "." {
                parts.append(current)
                current = ""
                quotedPart = false
                i += 1
                continue
            }
            if quotedPart { parts = []; current = ""; break }
            current.unicodeScalars.append(c[i])
            i += 1
        }
        parts.append(current)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw fail(.invalidValue, node, key: key,
                       "`\(key)` must name tables as `schema.table` (or `table` for `public.table`), got `\(text)`")
        }
        return parts.count == 1 ? TableName(schema: "public", table: parts[0]) : TableName(schema: parts[0], table: parts[1])
    }

    func regex(_ pattern: String, node: YAMLNode, key: String) throws(ConfigError) {
        do {
            _ = try Regex(pattern)
        } catch {
            throw fail(.invalidValue, node, key: key, "`\(key)` has an invalid regular expression `\(pattern)`")
        }
    }
}
