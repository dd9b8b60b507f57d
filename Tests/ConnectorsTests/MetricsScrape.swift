import Foundation
import PipeTestSupport

/// Reads `/metrics` of a running `kafka-pipe` (its `http:listen`).
enum MetricsScrape {
    /// The exposition text, or "" when nothing answers.
    static func text(port: Int) async -> String {
        (try? await Run.shell("curl -s --max-time 5 http://127.0.0.1:\(port)/metrics").stdout) ?? ""
    }

    /// The value of one series, named as rendered (labels sorted by name), e.g.
    /// `kafka_pipe_records_out_total` or `kafka_pipe_lag{partition="0",topic="t"}`.
    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// Scrapes until `series` is at least `atLeast` (or `seconds` pass); returns the last text.
    static func waitFor(port: Int, _ series: String, atLeast: Double, seconds: Double = 20) async -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var text = ""
        repeat {
            text = await Self.text(port: port)
            if let v = value(text, series), v >= atLeast { return text }
            try? await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return text
    }
}
