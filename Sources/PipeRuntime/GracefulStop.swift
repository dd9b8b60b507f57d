public import ServiceLifecycle

/// Runs `operation`, giving up after `timeout`: the operation's task is cancelled and
/// `RuntimeError.timedOut` thrown. Used to bound the work done during a graceful stop.
public func withTimeout<T: Sendable>(_ timeout: Duration, _ what: String = "operation",
                                     _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        for try await result in group {
            if let result { return result }
            throw RuntimeError(.timedOut, "\(what) did not finish within \(formatDuration(timeout))")
        }
        throw CancellationError()
    }
}

/// Defaults of the process lifecycle (SPEC §1).
public enum Lifecycle {
    /// A graceful stop must end within this time; then services are cancelled.
    public static let defaultGracefulStop: Duration = .seconds(30)
    /// After cancellation, the process waits at most this long more.
    public static let defaultCancellationGrace: Duration = .seconds(5)
}

/// Bounds the whole stop: once a graceful shutdown (or cancellation) begins, the process is given
/// `bound`; past it `onExpiry` runs (the CLI logs one line and exits with status 1). Put it last
/// in the service group's list: a graceful shutdown reaches services in reverse order, so it hears
/// of the stop first.
public struct StopWatchdog: Service {
    public let bound: Duration
    private let onExpiry: @Sendable () -> Void

    public init(bound: Duration, onExpiry: @escaping @Sendable () -> Void) {
        self.bound = bound
        self.onExpiry = onExpiry
    }

    public func run() async {
        // Returns on a graceful shutdown, throws on cancellation: either way the stop has begun.
        try? await gracefulShutdown()
        let bound = bound
        let onExpiry = onExpiry
        // Unstructured on purpose: it must outlive this service and ignore the group's cancellation.
        Task.detached {
            try? await Task.sleep(for: bound)
            onExpiry()
        }
    }
}
