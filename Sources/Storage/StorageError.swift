/// The one error type of the Storage module.
///
/// `code` says what went wrong; `path` and `errno` give the context; `message` is for people.
/// Messages name files and directories, never values stored in the log.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case locked, corrupt, io, readOnly, closed, invalidArgument, notFound
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Another process (or another open store in this process) holds the directory's lock.
        public static let locked = Code(.locked)
        /// The log is not a state log (wrong header), or compaction found an inconsistency.
        public static let corrupt = Code(.corrupt)
        /// A system call failed (`errno` says which way); after a failed fsync the store refuses writes.
        public static let io = Code(.io)
        /// A write on a store opened with `openReadOnly`.
        public static let readOnly = Code(.readOnly)
        /// An operation on a closed store.
        public static let closed = Code(.closed)
        /// A key, namespace or batch too large to store.
        public static let invalidArgument = Code(.invalidArgument)
        /// `openReadOnly` on a directory that does not exist.
        public static let notFound = Code(.notFound)

        public var description: String {
            switch base {
            case .locked: "locked"
            case .corrupt: "corrupt"
            case .io: "io"
            case .readOnly: "readOnly"
            case .closed: "closed"
            case .invalidArgument: "invalidArgument"
            case .notFound: "notFound"
            }
        }
    }

    public var code: Code
    public var message: String
    /// The file or directory concerned, when there is one.
    public var path: String?
    /// The `errno` of the failed system call, when there is one.
    public var errno: Int32?
    /// For `.locked`: the process that holds the lock, when its PID could be read.
    public var lockHolderPID: Int32?
    /// The underlying error, when another one caused this.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
        self.cause = cause
    }

    public var description: String {
        var s = "state store: \(message)"
        if let path { s += " (\(path))" }
        if let errno { s += ": \(systemErrorText(errno)) [errno \(errno)]" }
        if let cause { s += ": \(cause)" }
        return s
    }
}
