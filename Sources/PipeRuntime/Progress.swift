public import Logging
internal import Synchronization

/// Counts, rate and time left for long work (snapshots, backups): a bar redrawn on a terminal,
/// a periodic log line otherwise (SPEC §1).
public final class ProgressReporter: Sendable {
    /// One reading of the progress.
    public struct Snapshot: Sendable, Equatable {
        public var done: Int64
        public var total: Int64?
        public var bytes: Int64
        /// Items per second since the start.
        public var rate: Double
        /// Estimated time left, when the total is known and the rate is positive.
        public var remaining: Duration?
        public var elapsed: Duration

        public init(done: Int64, total: Int64?, bytes: Int64, elapsed: Duration) {
            self.done = done
            self.total = total
            self.bytes = bytes
            self.elapsed = elapsed
            let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            rate = secs > 0 ? Double(done) / secs : 0
            if let total, rate > 0 {
                let left = max(0, Double(total - done)) / rate
                remaining = left < 1e9 ? .milliseconds(Int64(left * 1000)) : nil
            } else {
                remaining = nil
            }
        }

        /// `1200/5000 records (24.0%), 300/s, 12s left`
        public func line(unit: String) -> String {
            var s = "\(done)"
            if let total { s += "/\(total)" }
            s += " \(unit)"
            if let total, total > 0 {
                let pct = Double(done) * 100 / Double(total)
                s += " (\(fixed1(pct))%)"
            }
            s += ", \(Int64(rate.rounded()))/s"
            if let remaining { s += ", \(formatDuration(remaining)) left" }
            return s
        }

        /// `[#####.....] 1200/5000 records (24.0%), 300/s, 12s left`
        public func bar(unit: String, width: Int = 30) -> String {
            guard let total, total > 0 else { return line(unit: unit) }
            let filled = Int(min(1, max(0, Double(done) / Double(total))) * Double(width))
            return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
                + line(unit: unit)
        }
    }

    private struct State {
        var done: Int64 = 0
        var bytes: Int64 = 0
        var total: Int64?
    }

    public let label: String
    public let unit: String
    private let logger: Logger
    private let sink: LogSink?
    private let interval: Duration
    private let state: Mutex<State>
    private let start = ContinuousClock.now

    /// - Parameters:
    ///   - terminal: where to draw the bar (e.g. `LogSink.standardError`) when it is a terminal;
    ///     nil or not a terminal logs a line every `interval` instead.
    public init(label: String, unit: String = "records", total: Int64? = nil, logger: Logger,
                terminal: LogSink? = .standardError, interval: Duration = .seconds(10)) {
        self.label = label
        self.unit = unit
        self.logger = logger
        self.sink = terminal?.isTerminal == true ? terminal : nil
        self.interval = sink == nil ? interval : .milliseconds(250)
        self.state = Mutex(State(total: total))
    }

    public func advance(by count: Int64, bytes: Int64 = 0) {
        state.withLock {
            $0.done &+= count
            $0.bytes &+= bytes
        }
    }

    public func setTotal(_ total: Int64?) { state.withLock { $0.total = total } }

    public var snapshot: Snapshot {
        let s = state.withLock { $0 }
        return Snapshot(done: s.done, total: s.total, bytes: s.bytes, elapsed: ContinuousClock.now - start)
    }

    /// Reports until cancelled, then once more (the final count).
    public func run() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { break }
            report()
        }
        report(final: true)
    }

    public func report(final: Bool = false) {
        let snap = snapshot
        if let sink {
            sink.write(Array(("\r\u{1B}[2K\(label): " + snap.bar(unit: unit) + (final ? "\n" : "")).utf8))
        } else {
            logger.info("\(label): \(snap.line(unit: unit))", metadata: [
                "done": "\(snap.done)", "total": snap.total.map { "\($0)" } ?? "unknown",
                "rate": "\(Int64(snap.rate.rounded()))",
                "eta_s": snap.remaining.map { "\($0.components.seconds)" } ?? "unknown",
            ])
        }
    }
}

private func fixed1(_ v: Double) -> String {
    let tenths = Int64((v * 10).rounded())
    return "\(tenths / 10).\(abs(tenths % 10))"
}
