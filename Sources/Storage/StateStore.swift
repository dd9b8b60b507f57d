import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An embedded key-value store on an append-only log, for the connectors' positions: a few keys
/// updated very often. Keys live in namespaces (one per connector name).
///
/// Every write is one CRC-framed record appended to `state.log` and returns after an fsync has
/// covered it; writers that append while an fsync is running share the next one (group commit).
/// Reads come from memory. When the log has grown well past the live data it is rewritten
/// (compaction) and atomically replaces the old one. See DESIGN.md.
public final class StateStore: Sendable {
    public struct Options: Sendable {
        /// The log is never compacted while smaller than this.
        public var compactionMinBytes: Int
        /// Compact when the log is larger than `compactionRatio` times the live data.
        public var compactionRatio: Int
        /// The log file grows in steps of this many zero bytes, written ahead of the records, so
        /// that an append overwrites existing blocks and its fsync need not commit a new file
        /// size (on ext4 that halves the cost of a durable write). 0 appends without preallocating.
        public var preallocationBytes: Int
        /// Test hook called at each step of a compaction; throwing `InjectedFault` simulates a
        /// crash or an I/O failure at that step.
        var compactionHook: (@Sendable (CompactionStep) throws -> Void)?
        /// Test hook called by a group-commit leader just before its fsync; throwing makes the
        /// fsync fail.
        var leaderSyncHook: (@Sendable () throws -> Void)?

        public init(compactionMinBytes: Int = 4 << 20, compactionRatio: Int = 4, preallocationBytes: Int = 1 << 20) {
            self.compactionMinBytes = compactionMinBytes
            self.compactionRatio = compactionRatio
            self.preallocationBytes = max(0, preallocationBytes)
            self.compactionHook = nil
            self.leaderSyncHook = nil
        }
    }

    /// Counters, for metrics and the benchmark.
    public struct Statistics: Sendable, Equatable {
        /// Bytes in the current log file.
        public var logBytes: Int64
        /// Bytes the live keys would take in a freshly compacted log.
        public var liveBytes: Int
        /// Records appended since open.
        public var writes: Int
        /// fsyncs of the log since open (fewer than `writes` when writers shared them).
        public var syncs: Int
        /// Compactions since open.
        public var compactions: Int
    }

    public let directory: String
    public let isReadOnly: Bool
    let options: Options
    let state: Mutex<StoreState>

    static let logName = "state.log"
    static let compactName = "state.log.compact"
    static let lockName = "LOCK"

    var logPath: String { directory + "/" + Self.logName }
    var compactPath: String { directory + "/" + Self.compactName }

    private init(directory: String, readOnly: Bool, options: Options, state: StoreState) {
        self.directory = directory
        self.isReadOnly = readOnly
        self.options = options
        self.state = Mutex(state)
    }

    deinit {
        state.withLock { s in
            if let fd = s.lockFD { Posix.close(fd); s.lockFD = nil }
            s.file = nil
        }
    }

    // MARK: Opening

    /// Opens (creating when needed) the store in `directory` for reading and writing. Takes an OS
    /// lock on `directory/LOCK` held until `close()`; a second opener gets `.locked`. A torn or
    /// corrupt tail left by a crash is cut off.
    public static func open(directory: String, options: Options = .init()) throws -> StateStore {
        let dir = normalize(directory)
        try Posix.makeDirectories(dir)
        let lockPath = dir + "/" + lockName
        let lockFD = try Posix.open(lockPath, O_RDWR | O_CREAT)
        do {
            guard try Posix.tryLock(lockFD, path: lockPath) else {
                let holder = try? Posix.readAll(lockFD, path: lockPath)
                let pid = holder.flatMap { Int32(String(decoding: $0, as: UTF8.self).trimmingWhitespace) }
                var e = StorageError(.locked, "the state directory \(dir) is in use by another process"
                                     + (pid.map { " (PID \($0))" } ?? ""), path: dir)
                e.lockHolderPID = pid
                throw e
            }
            try Posix.truncate(lockFD, to: 0, path: lockPath)
            try Array("\(Posix.pid)\n".utf8).withUnsafeBytes { try Posix.pwriteAll(lockFD, $0, at: 0, path: lockPath) }
        } catch {
            Posix.close(lockFD)
            throw error
        }
        let store = StateStore(directory: dir, readOnly: false, options: options, state: StoreState())
        store.state.withLock { $0.lockFD = lockFD }
        do {
            try store.load()
        } catch {
            // Releases the lock and the log (the store's deinit would close them too).
            store.state.withLock { s in
                if let fd = s.lockFD { Posix.close(fd); s.lockFD = nil }
                s.file = nil
            }
            throw error
        }
        return store
    }

    /// Opens the store without the lock, for looking at it while another process writes. Reads
    /// the log as it is now (a snapshot); never writes, truncates or creates anything.
    public static func openReadOnly(directory: String) throws -> StateStore {
        let dir = normalize(directory)
        guard Posix.isDirectory(dir) else { throw StorageError(.notFound, "no state directory", path: dir) }
        var st = StoreState()
        let path = dir + "/" + logName
        if let fd = try Posix.openIfExists(path, O_RDONLY) {
            defer { Posix.close(fd) }
            let bytes = try Posix.readAll(fd, path: path)
            _ = try bytes.withUnsafeBytes { try st.replay($0, path: path) }
        }
        return StateStore(directory: dir, readOnly: true, options: .init(), state: st)
    }

    private static func normalize(_ d: String) -> String {
        var d = d.isEmpty ? "." : d
        while d.count > 1 && d.hasSuffix("/") { d.removeLast() }
        return d
    }

    /// Reads the log into memory, cuts a bad tail, and opens the log for appending.
    private func load() throws {
        try Posix.unlinkIfExists(compactPath)
        try state.withLock { s in
            if let fd = try Posix.openIfExists(logPath, O_RDWR) {
                let file = LogFile(fd: fd, path: logPath)
                let bytes = try Posix.readAll(fd, path: logPath)
                let scan = try bytes.withUnsafeBytes { try s.replay($0, path: logPath) }
                if let scan {
                    s.fileSize = Int64(bytes.count)
                    if scan.hasBadTail {
                        // Cut the torn record off, with any preallocated zeros after it, so that no
                        // stale bytes lie beyond the records we append next.
                        try Posix.truncate(fd, to: Int64(scan.validEnd), path: logPath)
                        try Posix.syncFull(fd, path: logPath)
                        s.fileSize = Int64(scan.validEnd)
                    }
                    s.file = file
                    s.end = Int64(scan.validEnd)
                    if needsCompaction(s) {
                        // Optional here: a failure before the rename leaves the log as it was.
                        do { try compactLocked(&s) } catch { if let f = s.failure { throw f } }
                    }
                    return
                }
                // A header that was never completely written: start over below.
            }
            // No log yet: write an empty one the same way compaction writes a full one.
            try compactLocked(&s)
            s.compactions = 0
        }
    }

    // MARK: Namespaces

    public func namespace(_ name: String) -> StateNamespace {
        StateNamespace(store: self, name: name)
    }

    /// The namespaces that hold at least one key, sorted.
    public func namespaces() -> [String] {
        state.withLock { Array($0.data.keys) }.sorted()
    }

    public var statistics: Statistics {
        state.withLock { s in
            Statistics(logBytes: s.end, liveBytes: s.liveBytes, writes: s.writes, syncs: s.syncs,
                       compactions: s.compactions)
        }
    }

    // MARK: Reads

    func get(_ ns: String, _ key: String) -> [UInt8]? {
        state.withLock { $0.data[ns]?[key] }
    }

    func scan(_ ns: String, prefix: String) -> [(key: String, value: [UInt8])] {
        guard let entries = state.withLock({ $0.data[ns] }) else { return [] }
        return entries.filter { $0.key.hasPrefix(prefix) }
            .sorted { $0.key < $1.key }
            .map { (key: $0.key, value: $0.value) }
    }

    // MARK: Writes

    /// Appends `ops` as one record and waits until it is durable, sharing fsyncs with concurrent writers.
    func write(_ ops: [LogOp]) async throws {
        guard !ops.isEmpty else { return }
        let seq = try append(ops)
        try await waitDurable(seq)
    }

    /// Appends `ops` as one record and fsyncs on the calling thread.
    func writeSync(_ ops: [LogOp]) throws {
        guard !ops.isEmpty else { return }
        let seq = try append(ops)
        try waitDurableBlocking(seq)
    }

    /// Appends a record under the lock (so records are in the order their changes were applied in
    /// memory) and returns its sequence number. May compact the log afterwards.
    private func append(_ ops: [LogOp]) throws -> UInt64 {
        let record = try LogFormat.encodeRecord(ops)
        let (seq, resume) = try state.withLock { s -> (UInt64, [Waiter]) in
            try checkWritable(s)
            guard let file = s.file else { throw StorageError(.closed, "the store is closed", path: directory) }
            let newEnd = s.end + Int64(record.count)
            do {
                if newEnd > s.fileSize {
                    // Extend the file by whole preallocation steps of zeros, written with the record.
                    let size = roundUp(newEnd, options.preallocationBytes)
                    let extended = record + [UInt8](repeating: 0, count: Int(size - newEnd))
                    try extended.withUnsafeBytes { try Posix.pwriteAll(file.fd, $0, at: s.end, path: file.path) }
                    s.fileSize = size
                } else {
                    try record.withUnsafeBytes { try Posix.pwriteAll(file.fd, $0, at: s.end, path: file.path) }
                }
            } catch let error as StorageError {
                // Take back a partial record so later records do not follow garbage.
                do {
                    try Posix.truncate(file.fd, to: s.end, path: file.path)
                    s.fileSize = s.end
                } catch let e as StorageError { s.failure = e } catch {}
                throw error
            }
            s.end = newEnd
            s.apply(ops)
            s.appendedSeq += 1
            s.writes += 1
            var resume: [Waiter] = []
            if needsCompaction(s) {
                do {
                    try compactLocked(&s)
                    resume = s.takeCovered()
                } catch {
                    // Before the rename the old log is intact and goes on; later, `failure` is set.
                    if let failure = s.failure { throw failure }
                    s.nextCompactionAt = s.end + Int64(max(options.compactionMinBytes, 4096))
                }
            }
            return (s.appendedSeq, resume)
        }
        for w in resume { w.continuation.resume(returning: SyncRole.done) }
        return seq
    }

    private func checkWritable(_ s: StoreState) throws {
        if isReadOnly { throw StorageError(.readOnly, "the store was opened read-only", path: directory) }
        if s.closed { throw StorageError(.closed, "the store is closed", path: directory) }
        if let failure = s.failure { throw failure }
    }

    private enum FastPath { case done, lead(LogFile, UInt64), wait }

    private func waitDurable(_ seq: UInt64) async throws {
        var role: SyncRole
        switch try state.withLock({ s -> FastPath in
            if let f = s.failure { throw f }
            if s.durableSeq >= seq { return .done }
            guard let file = s.file else { throw StorageError(.closed, "the store was closed", path: directory) }
            if !s.syncing {
                s.syncing = true
                return .lead(file, s.appendedSeq)
            }
            return .wait
        }) {
        case .done: return
        case let .lead(file, target): role = .lead(file, target)
        case .wait:
            role = try await withCheckedThrowingContinuation { (c: CheckedContinuation<SyncRole, any Error>) in
                let now: Result<SyncRole, any Error>? = state.withLock { s in
                    if let f = s.failure { return .failure(f) }
                    if s.durableSeq >= seq { return .success(.done) }
                    guard let file = s.file else {
                        return .failure(StorageError(.closed, "the store was closed", path: directory))
                    }
                    if !s.syncing {
                        s.syncing = true
                        return .success(.lead(file, s.appendedSeq))
                    }
                    s.waiters.append(Waiter(seq: seq, continuation: c))
                    return nil
                }
                if let now { c.resume(with: now) }
            }
        }
        if case let .lead(file, target) = role { try lead(file, target) }
    }

    /// The leader's part of group commit: one fsync covering every record appended up to `target`,
    /// then wake the writers it covered and hand the lead to the first one still waiting.
    private func lead(_ file: LogFile, _ target: UInt64) throws {
        let result = Result {
            try options.leaderSyncHook?()
            try Posix.syncData(file.fd, path: file.path)
        }
        var resume: [(Waiter, Result<SyncRole, any Error>)] = []
        var thrown: StorageError?
        state.withLock { s in
            s.syncs += 1
            // A failed fsync elsewhere (putSync) means this one's success proves nothing.
            let outcome: Result<Void, any Error> = s.failure.map { .failure($0) } ?? result
            switch outcome {
            case let .failure(error):
                // After a failed fsync the kernel may have dropped the dirty pages: refuse all writes.
                let e = (error as? StorageError) ?? StorageError(.io, "fsync failed", path: file.path)
                if s.failure == nil { s.failure = e }
                thrown = e
                resume = s.waiters.map { ($0, .failure(e)) }
                s.waiters = []
                s.syncing = false
            case .success:
                s.durableSeq = max(s.durableSeq, target)
                resume = s.takeCovered().map { ($0, .success(.done)) }
                if !s.waiters.isEmpty, let next = s.file {
                    let w = s.waiters.removeFirst()
                    resume.append((w, .success(.lead(next, s.appendedSeq))))
                } else if !s.waiters.isEmpty {
                    let e = StorageError(.closed, "the store was closed", path: directory)
                    resume += s.waiters.map { ($0, .failure(e)) }
                    s.waiters = []
                    s.syncing = false
                } else {
                    s.syncing = false
                }
            }
        }
        for (w, r) in resume { w.continuation.resume(with: r) }
        if let thrown { throw thrown }
    }

    private func waitDurableBlocking(_ seq: UInt64) throws {
        guard let (file, target) = try state.withLock({ s -> (LogFile, UInt64)? in
            if let f = s.failure { throw f }
            if s.durableSeq >= seq { return nil }
            guard let file = s.file else { throw StorageError(.closed, "the store was closed", path: directory) }
            return (file, s.appendedSeq)
        }) else { return }
        let result = Result { try Posix.syncData(file.fd, path: file.path) }
        let resume = state.withLock { s -> [Waiter] in
            s.syncs += 1
            if case let .failure(error) = result {
                if s.failure == nil { s.failure = (error as? StorageError) }
                return []  // the leader, if any, fails its waiters when it sees `failure`
            }
            if s.failure != nil { return [] }
            s.durableSeq = max(s.durableSeq, target)
            return s.takeCovered()
        }
        for w in resume { w.continuation.resume(returning: SyncRole.done) }
        try result.get()
        if let f = state.withLock({ $0.failure }) { throw f }
    }

    // MARK: Compaction

    private func needsCompaction(_ s: StoreState) -> Bool {
        s.end >= Int64(options.compactionMinBytes)
            && s.end >= Int64(s.liveBytes) * Int64(max(options.compactionRatio, 1))
            && s.end >= s.nextCompactionAt
    }

    /// Rewrites the live keys now, whatever the log's size.
    public func compact() throws {
        let resume = try state.withLock { s -> [Waiter] in
            try checkWritable(s)
            try compactLocked(&s)
            return s.takeCovered()
        }
        for w in resume { w.continuation.resume(returning: SyncRole.done) }
    }

    /// Writes the live data to `state.log.compact`, fsyncs it, renames it over `state.log` and
    /// fsyncs the directory. A failure before the rename leaves the old log in use; after it, the
    /// store refuses further writes (the rename may or may not survive a crash).
    private func compactLocked(_ s: inout StoreState) throws {
        let hook = options.compactionHook
        var renamed = false
        var fd: Int32 = -1
        do {
            try hook?(.start)
            let bytes = try s.snapshotLog()
            let size = roundUp(Int64(bytes.count) + 1, options.preallocationBytes)
            let image = bytes + [UInt8](repeating: 0, count: Int(size) - bytes.count)
            fd = try Posix.open(compactPath, O_RDWR | O_CREAT | O_TRUNC)
            try image.withUnsafeBytes { try Posix.pwriteAll(fd, $0, at: 0, path: compactPath) }
            try hook?(.written)
            try Posix.syncFull(fd, path: compactPath)
            try hook?(.synced)
            try Posix.rename(compactPath, logPath)
            renamed = true
            try hook?(.renamed)
            try Posix.syncDirectory(directory)
            try hook?(.directorySynced)
            s.file = LogFile(fd: fd, path: logPath)
            s.end = Int64(bytes.count)
            s.fileSize = Int64(image.count)
            s.durableSeq = s.appendedSeq
            s.compactions += 1
        } catch let fault as InjectedFault where fault == .crash {
            // A simulated crash: nothing more happens on disk.
            if fd >= 0 { Posix.close(fd) }
            s.failure = StorageError(.io, "simulated crash during compaction", path: directory)
            s.file = nil
            throw s.failure!
        } catch {
            let e = (error as? StorageError) ?? StorageError(.io, "compaction failed", path: directory, cause: error)
            if renamed {
                // The new log is complete and synced, but the rename may not be durable yet, so
                // appending to it could be lost: stop writing (reopening goes on from the log).
                Posix.close(fd)
                s.file = nil
                s.failure = e
            } else {
                if fd >= 0 { Posix.close(fd) }
                try? Posix.unlinkIfExists(compactPath)
            }
            throw e
        }
    }

    // MARK: Closing

    /// Syncs what was appended, releases the lock and closes the files. Later writes fail with `.closed`.
    public func close() throws {
        let pending = state.withLock { s -> (LogFile, UInt64)? in
            if s.closed { return nil }
            s.closed = true
            guard s.failure == nil, let file = s.file, s.durableSeq < s.appendedSeq else { return nil }
            return (file, s.appendedSeq)
        }
        var result: Result<Void, any Error> = .success(())
        if let (file, target) = pending {
            result = Result { try Posix.syncData(file.fd, path: file.path) }
            let resume = state.withLock { s -> [Waiter] in
                switch result {
                case .success: s.durableSeq = max(s.durableSeq, target)
                case let .failure(e): if s.failure == nil { s.failure = e as? StorageError }
                }
                return s.takeCovered()
            }
            for w in resume { w.continuation.resume(returning: SyncRole.done) }
        }
        state.withLock { s in
            // A leader still syncing holds its own reference to the file.
            s.file = nil
            if let fd = s.lockFD { Posix.close(fd); s.lockFD = nil }
        }
        try result.get()
    }
}

/// Steps of a compaction, for the test hook.
enum CompactionStep: CaseIterable, Sendable {
    case start, written, synced, renamed, directorySynced
}

/// Faults the compaction hook can inject.
enum InjectedFault: Error, Equatable {
    /// The process dies here: no cleanup, the store refuses everything afterwards.
    case crash
    /// A system call fails here: the store cleans up as it would after a real I/O error.
    case ioFailure
}

/// The open log file. The descriptor is closed when the last reference goes, so a leader's fsync
/// on a log that compaction has just replaced still has a valid descriptor.
final class LogFile: Sendable {
    let fd: Int32
    let path: String
    init(fd: Int32, path: String) { self.fd = fd; self.path = path }
    deinit { Posix.close(fd) }
}

enum SyncRole: Sendable {
    case done
    /// The waiter becomes the leader and fsyncs for everyone appended up to the target.
    case lead(LogFile, UInt64)
}

struct Waiter {
    var seq: UInt64
    var continuation: CheckedContinuation<SyncRole, any Error>
}

/// Everything behind the store's mutex.
struct StoreState {
    var data: [String: [String: [UInt8]]] = [:]
    var liveBytes = 0
    var file: LogFile?
    var lockFD: Int32?
    /// Where the records end; the next record goes here.
    var end: Int64 = 0
    /// The file's size: `end` plus preallocated zeros.
    var fileSize: Int64 = 0
    /// Records appended (a sequence number) and the last one known durable.
    var appendedSeq: UInt64 = 0
    var durableSeq: UInt64 = 0
    /// Whether a group-commit leader is fsyncing. `waiters` is empty whenever this is false.
    var syncing = false
    var waiters: [Waiter] = []
    var failure: StorageError?
    var closed = false
    var nextCompactionAt: Int64 = 0
    var writes = 0
    var syncs = 0
    var compactions = 0

    /// Replays a log image into `data`. Nil when the header is incomplete (an unfinished creation).
    mutating func replay(_ bytes: UnsafeRawBufferPointer, path: String) throws -> LogFormat.ScanResult? {
        switch LogFormat.checkHeader(bytes) {
        case .foreign:
            throw StorageError(.corrupt, "not a state log (bad header)", path: path)
        case .incomplete:
            return nil
        case .valid:
            var me = self.data, live = self.liveBytes
            let result = LogFormat.scan(bytes) { ops in StoreState.apply(ops, to: &me, live: &live) }
            self.data = me
            self.liveBytes = live
            return result
        }
    }

    mutating func apply(_ ops: [LogOp]) {
        StoreState.apply(ops, to: &data, live: &liveBytes)
    }

    static func apply(_ ops: [LogOp], to data: inout [String: [String: [UInt8]]], live: inout Int) {
        for op in ops {
            switch op {
            case let .put(ns, key, value):
                let old = data[ns, default: [:]].updateValue(value, forKey: key)
                if let old { live -= entrySize(ns, key, old.count) }
                live += entrySize(ns, key, value.count)
            case let .delete(ns, key):
                if let old = data[ns]?.removeValue(forKey: key) {
                    live -= entrySize(ns, key, old.count)
                    if data[ns]?.isEmpty == true { data[ns] = nil }
                }
            }
        }
    }

    static func entrySize(_ ns: String, _ key: String, _ value: Int) -> Int {
        LogFormat.encodedSize(namespace: ns.utf8.count, key: key.utf8.count, value: value)
    }

    /// The whole live data as a log image: header, then records of at most about 1 MiB.
    func snapshotLog() throws -> [UInt8] {
        var out = LogFormat.magic
        var ops: [LogOp] = []
        var size = 0
        for ns in data.keys.sorted() {
            guard let entries = data[ns] else { continue }
            for key in entries.keys.sorted() {
                let value = entries[key]!
                ops.append(.put(namespace: ns, key: key, value: value))
                size += StoreState.entrySize(ns, key, value.count)
                if size >= 1 << 20 {
                    out += try LogFormat.encodeRecord(ops)
                    ops = []
                    size = 0
                }
            }
        }
        if !ops.isEmpty { out += try LogFormat.encodeRecord(ops) }
        return out
    }

    /// Removes and returns the waiters whose records are durable now.
    mutating func takeCovered() -> [Waiter] {
        guard !waiters.isEmpty else { return [] }
        let durable = durableSeq
        let covered = waiters.filter { $0.seq <= durable }
        waiters.removeAll { $0.seq <= durable }
        return covered
    }
}

/// `n` rounded up to a multiple of `step` (no rounding when `step` is 0).
func roundUp(_ n: Int64, _ step: Int) -> Int64 {
    guard step > 0 else { return n }
    let s = Int64(step)
    return (n + s - 1) / s * s
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
