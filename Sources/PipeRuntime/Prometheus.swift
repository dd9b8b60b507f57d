public import CoreMetrics
internal import Synchronization

/// A swift-metrics backend that keeps every metric in memory and renders the Prometheus text
/// exposition format (version 0.0.4) for `GET /metrics`.
///
/// - Counter, FloatingPointCounter → `counter`
/// - Meter, Recorder(aggregate: false) → `gauge`
/// - Recorder(aggregate: true) → `histogram` with fixed buckets
/// - Timer → `histogram` in seconds
///
/// Dimensions become labels. Families and series are rendered sorted, so the text is stable.
public final class PrometheusRegistry: MetricsFactory, Sendable {
    /// Default buckets for recorders.
    public static let defaultBuckets: [Double] = [1, 5, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100_000]
    /// Default buckets for timers, in seconds.
    public static let defaultTimerBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    enum Kind: String { case counter, gauge, histogram }

    private struct Family {
        var kind: Kind
        var help: String?
        var series: [String: any PrometheusSeries] = [:]
    }

    private struct State {
        var families: [String: Family] = [:]
        var help: [String: String] = [:]
        var buckets: [String: [Double]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Sets the HELP text of a metric (before or after it is created).
    public func describe(_ name: String, help: String) {
        let name = Self.sanitize(name)
        state.withLock {
            $0.help[name] = help
            $0.families[name]?.help = help
        }
    }

    /// Sets the buckets of a histogram created later (upper bounds, ascending; `+Inf` is implied).
    public func setBuckets(_ name: String, _ buckets: [Double]) {
        let name = Self.sanitize(name)
        let b = Array(Set(buckets.filter { $0.isFinite })).sorted()
        state.withLock { $0.buckets[name] = b }
    }

    // MARK: MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        series(label, dimensions, .counter) { PromCounter(labels: $0) }
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        series(label, dimensions, .counter) { PromGauge(labels: $0) }
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        series(label, dimensions, .gauge) { PromGauge(labels: $0) }
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if !aggregate {
            return series(label, dimensions, .gauge) { PromGauge(labels: $0) }
        }
        let name = Self.sanitize(label)
        let buckets = state.withLock { $0.buckets[name] } ?? Self.defaultBuckets
        return series(label, dimensions, .histogram) { PromHistogram(labels: $0, buckets: buckets, scale: 1) }
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let name = Self.sanitize(label)
        let buckets = state.withLock { $0.buckets[name] } ?? Self.defaultTimerBuckets
        return series(label, dimensions, .histogram) { PromHistogram(labels: $0, buckets: buckets, scale: 1e-9) }
    }

    public func destroyCounter(_ handler: any CounterHandler) { remove(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { remove(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { remove(handler) }
    public func destroyRecorder(_ handler: any RecorderHandler) { remove(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { remove(handler) }

    private func remove(_ handler: AnyObject) {
        state.withLock { s in
            for (name, family) in s.families {
                if let key = family.series.first(where: { $0.value === handler })?.key {
                    s.families[name]?.series[key] = nil
                    if s.families[name]?.series.isEmpty == true { s.families[name] = nil }
                    return
                }
            }
        }
    }

    /// Returns the existing series for this label and dimensions, or makes one. When a name is
    /// reused with another kind, the new series gets a name suffixed with its kind, so the
    /// exposition stays valid.
    private func series<H: PrometheusSeries>(_ label: String, _ dimensions: [(String, String)], _ kind: Kind,
                                            make: (String) -> H) -> H {
        var name = Self.sanitize(label)
        let labels = Self.labelText(dimensions)
        return state.withLock { s in
            if let existing = s.families[name], existing.kind != kind { name += "_" + kind.rawValue }
            if let found = s.families[name]?.series[labels] as? H { return found }
            let h = make(labels)
            if s.families[name] == nil { s.families[name] = Family(kind: kind, help: s.help[name]) }
            s.families[name]!.series[labels] = h
            return h
        }
    }

    // MARK: Rendering

    /// The whole exposition: `# HELP`, `# TYPE` and samples, families sorted by name.
    public func render() -> String {
        let snapshot = state.withLock { s in
            s.families.map { ($0.key, $0.value.kind, $0.value.help, $0.value.series.sorted { $0.key < $1.key }.map(\.value)) }
        }
        var out = ""
        for (name, kind, help, series) in snapshot.sorted(by: { $0.0 < $1.0 }) {
            if let help { out += "# HELP \(name) \(Self.escapeHelp(help))\n" }
            out += "# TYPE \(name) \(kind.rawValue)\n"
            for s in series { s.render(name: name, into: &out) }
        }
        return out
    }

    /// Metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`; other characters become `_`.
    static func sanitize(_ name: String) -> String {
        var out = ""
        for (i, u) in name.unicodeScalars.enumerated() {
            let ok = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || u == "_" || u == ":" || (i > 0 && u >= "0" && u <= "9")
            out.unicodeScalars.append(ok ? u : "_")
        }
        return out.isEmpty ? "_" : out
    }

    static func labelName(_ name: String) -> String {
        var out = ""
        for (i, u) in name.unicodeScalars.enumerated() {
            let ok = (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || u == "_" || (i > 0 && u >= "0" && u <= "9")
            out.unicodeScalars.append(ok ? u : "_")
        }
        return out.isEmpty ? "_" : out
    }

    /// `\`, `"` and newline escaped in label values.
    static func escapeLabelValue(_ v: String) -> String {
        var out = ""
        for c in v.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func escapeHelp(_ v: String) -> String {
        var out = ""
        for c in v.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// `a="x",b="y"`, sorted by label name.
    static func labelText(_ dimensions: [(String, String)]) -> String {
        dimensions.map { (labelName($0.0), $0.1) }.sorted { $0.0 < $1.0 }
            .map { "\($0.0)=\"\(escapeLabelValue($0.1))\"" }.joined(separator: ",")
    }

    /// Go-style float text: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    static func formatValue(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(.towardZero) && abs(v) < 1e15 { return String(Int64(v)) }
        return v.description
    }
}

protocol PrometheusSeries: AnyObject, Sendable {
    func render(name: String, into out: inout String)
}

private func sampleLine(_ name: String, _ labels: String, _ value: String, into out: inout String) {
    out += name
    if !labels.isEmpty { out += "{\(labels)}" }
    out += " \(value)\n"
}

final class PromCounter: CounterHandler, PrometheusSeries {
    let labels: String
    private let value = Atomic<Int64>(0)
    init(labels: String) { self.labels = labels }
    func increment(by amount: Int64) {
        guard amount > 0 else { return }
        value.wrappingAdd(amount, ordering: .relaxed)
    }
    func reset() { value.store(0, ordering: .relaxed) }
    var current: Int64 { value.load(ordering: .relaxed) }
    func render(name: String, into out: inout String) {
        sampleLine(name, labels, String(current), into: &out)
    }
}

/// Gauges and floating-point counters: one Double.
final class PromGauge: MeterHandler, RecorderHandler, FloatingPointCounterHandler, PrometheusSeries {
    let labels: String
    private let value = Mutex<Double>(0)
    init(labels: String) { self.labels = labels }
    func set(_ v: Int64) { value.withLock { $0 = Double(v) } }
    func set(_ v: Double) { value.withLock { $0 = v } }
    func increment(by amount: Double) { value.withLock { $0 += amount } }
    func decrement(by amount: Double) { value.withLock { $0 -= amount } }
    func record(_ v: Int64) { set(v) }
    func record(_ v: Double) { set(v) }
    func reset() { value.withLock { $0 = 0 } }
    var current: Double { value.withLock { $0 } }
    func render(name: String, into out: inout String) {
        sampleLine(name, labels, PrometheusRegistry.formatValue(current), into: &out)
    }
}

/// Fixed-bucket histogram; `scale` converts recorded values (nanoseconds for timers) to the unit shown.
final class PromHistogram: RecorderHandler, TimerHandler, PrometheusSeries {
    struct Data {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }
    let labels: String
    let buckets: [Double]
    let scale: Double
    private let data: Mutex<Data>

    init(labels: String, buckets: [Double], scale: Double) {
        self.labels = labels
        self.buckets = buckets
        self.scale = scale
        data = Mutex(Data(counts: Array(repeating: 0, count: buckets.count)))
    }

    func record(_ v: Int64) { observe(Double(v) * scale) }
    func record(_ v: Double) { observe(v * scale) }
    func recordNanoseconds(_ duration: Int64) { observe(Double(duration) * scale) }

    private func observe(_ v: Double) {
        guard !v.isNaN else { return }
        // first bucket whose bound is >= v; counts are made cumulative when rendered
        var i = 0
        while i < buckets.count && v > buckets[i] { i += 1 }
        data.withLock { d in
            if i < d.counts.count { d.counts[i] &+= 1 }
            d.sum += v
            d.count &+= 1
        }
    }

    func render(name: String, into out: inout String) {
        let d = data.withLock { $0 }
        let prefix = labels.isEmpty ? "" : labels + ","
        var cumulative: UInt64 = 0
        for (i, bound) in buckets.enumerated() {
            cumulative &+= d.counts[i]
            out += "\(name)_bucket{\(prefix)le=\"\(PrometheusRegistry.formatValue(bound))\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(d.count)\n"
        sampleLine(name + "_sum", labels, PrometheusRegistry.formatValue(d.sum), into: &out)
        sampleLine(name + "_count", labels, String(d.count), into: &out)
    }
}
