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
