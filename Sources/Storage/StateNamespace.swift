/// The keys of one connector (its `name`) in a `StateStore`. Cheap to make; holds the store.
///
/// Reads come from memory and see every write that has been appended, including one whose `put`
/// is still waiting for its fsync. A write returns once its record is durable.
public struct StateNamespace: Sendable {
    public let store: StateStore
    public let name: String

    init(store: StateStore, name: String) {
        self.store = store
        self.name = name
    }

    public func get(_ key: String) -> [UInt8]? {
        store.get(name, key)
    }

    /// The value as UTF-8 text; nil when the key is missing or the bytes are not UTF-8.
    public func getString(_ key: String) -> String? {
        get(key).flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// The keys starting with `prefix` and their values, sorted by key.
    public func scan(prefix: String = "") -> [(key: String, value: [UInt8])] {
        store.scan(name, prefix: prefix)
    }

    // MARK: Writes that wait for the fsync without blocking a thread (group commit).

    public func put(_ key: String, _ value: [UInt8]) async throws {
        try await store.write([.put(namespace: name, key: key, value: value)])
    }

    public func put(_ key: String, string: String) async throws {
        try await put(key, Array(string.utf8))
    }

    public func delete(_ key: String) async throws {
        try await store.write([.delete(namespace: name, key: key)])
    }

    /// Applies every change of `batch` atomically: after a crash all of them are there or none.
    public func write(_ batch: StateBatch) async throws {
        try await store.write(batch.ops(namespace: name))
    }

    // MARK: Writes that fsync on the calling thread.

    public func putSync(_ key: String, _ value: [UInt8]) throws {
        try store.writeSync([.put(namespace: name, key: key, value: value)])
    }

    public func putSync(_ key: String, string: String) throws {
        try putSync(key, Array(string.utf8))
    }

    public func deleteSync(_ key: String) throws {
        try store.writeSync([.delete(namespace: name, key: key)])
    }

    public func writeSync(_ batch: StateBatch) throws {
        try store.writeSync(batch.ops(namespace: name))
    }
}

/// Puts and deletes applied together by `StateNamespace.write(_:)`, in order.
public struct StateBatch: Sendable {
    enum Change: Sendable, Equatable {
        case put(String, [UInt8])
        case delete(String)
    }

    var changes: [Change] = []

    public init() {}

    public mutating func put(_ key: String, _ value: [UInt8]) {
        changes.append(.put(key, value))
    }

    public mutating func put(_ key: String, string: String) {
        changes.append(.put(key, Array(string.utf8)))
    }

    public mutating func delete(_ key: String) {
        changes.append(.delete(key))
    }

    public var isEmpty: Bool { changes.isEmpty }
    public var count: Int { changes.count }

    func ops(namespace: String) -> [LogOp] {
        changes.map { c in
            switch c {
            case let .put(k, v): .put(namespace: namespace, key: k, value: v)
            case let .delete(k): .delete(namespace: namespace, key: k)
            }
        }
    }
}
