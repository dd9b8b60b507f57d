/// Exponential backoff with full jitter bounds: delay n is `initial * multiplier^n`, capped at
/// `maximum`, then a random part of `jitter` (0...1) of it is taken off, so retrying clients spread out.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    public var jitter: Double
    public private(set) var attempt = 0
    private var random: @Sendable (ClosedRange<Double>) -> Double

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(30), multiplier: Double = 2,
                jitter: Double = 0.2, random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = max(1, multiplier)
        self.jitter = min(1, max(0, jitter))
        self.random = random
    }

    /// The delay before the next attempt; each call grows it.
    public mutating func next() -> Duration {
        let base = seconds(initial) * pow(multiplier, attempt)
        let capped = min(base, seconds(maximum))
        attempt &+= 1
        let factor = jitter > 0 ? 1 - random(0...jitter) : 1
        // clamp: Int64(x) traps past Int64.max
        return .nanoseconds(Int64(min(max(0, capped * factor) * 1e9, 9.0e18)))
    }

    /// Back to the initial delay (after a success).
    public mutating func reset() { attempt = 0 }

    /// Sleeps for the next delay; throws CancellationError when the task is cancelled.
    public mutating func wait() async throws {
        try await Task.sleep(for: next())
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    private func pow(_ b: Double, _ e: Int) -> Double {
        var r = 1.0
        var i = 0
        while i < e && r < 1e12 {   // past that the cap applies anyway
            r *= b
            i += 1
        }
        return r
    }
}
