internal import Synchronization

/// What `GET /ready` answers. A connector says when it is ready (connected) or not, with a reason,
/// and calls `progress()` whenever it moves data or confirms it is caught up; with a stall timeout,
/// readiness turns false when no progress was seen for that long.
public final class Readiness: Sendable {
    public struct Status: Sendable, Equatable {
        public var ready: Bool
        /// Why not ready (empty when ready).
        public var reason: String
    }

    private struct State {
        var ready = false
        var reason = "starting"
        var lastProgress: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    /// No progress for this long makes the status not ready; nil never stalls.
    public let stallTimeout: Duration?
    private let now: @Sendable () -> ContinuousClock.Instant

    public init(stallTimeout: Duration? = nil, now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.stallTimeout = stallTimeout
        self.now = now
    }

    public func setReady() {
        let t = now()
        state.withLock {
            $0.ready = true
            $0.reason = ""
            $0.lastProgress = t
        }
    }

    public func setNotReady(_ reason: String) {
        state.withLock {
            $0.ready = false
            $0.reason = reason
        }
    }

    /// A heartbeat: work moved forward (or there was none to do).
    public func progress() {
        let t = now()
        state.withLock { $0.lastProgress = t }
    }

    public var status: Status {
        let s = state.withLock { $0 }
        guard s.ready else { return Status(ready: false, reason: s.reason) }
        if let stallTimeout, let last = s.lastProgress {
            let idle = now() - last
            if idle > stallTimeout {
                return Status(ready: false, reason: "no progress for \(formatDuration(idle))")
            }
        }
        return Status(ready: true, reason: "")
    }
}

/// `1m30s`-style text, as the configuration writes durations.
public func formatDuration(_ d: Duration) -> String {
    let total = d.components.seconds
    if total < 1 {
        let ms = d.components.attoseconds / 1_000_000_000_000_000
        return "\(ms)ms"
    }
    var s = ""
    let h = total / 3600, m = total / 60 % 60, sec = total % 60
    if h > 0 { s += "\(h)h" }
    if m > 0 { s += "\(m)m" }
    if sec > 0 || s.isEmpty { s += "\(sec)s" }
    return s
}
