public import Logging
internal import Synchronization
internal import WireCore
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Where log lines go: a file descriptor written under a lock, one whole line per write.
public final class LogSink: Sendable {
    public static let standardOutput = LogSink(fileDescriptor: 1)
    public static let standardError = LogSink(fileDescriptor: 2)

    private let fd: Int32
    private let lock = Mutex<Void>(())
    private let capturing: Bool
    private let captured = Mutex<[String]>([])

    public init(fileDescriptor: Int32) {
        fd = fileDescriptor
        capturing = false
    }

    /// A sink that keeps lines in memory (for tests).
    public static func capturing() -> LogSink { LogSink(fd: -1, capturing: true) }

    private init(fd: Int32, capturing: Bool) {
        self.fd = fd
        self.capturing = capturing
    }

    /// The lines a capturing sink received.
    public var lines: [String] { captured.withLock { $0 } }

    /// Whether this sink writes to a terminal.
    public var isTerminal: Bool { fd >= 0 && isatty(fd) == 1 }

    public func write(_ bytes: [UInt8]) {
        if capturing {
            captured.withLock { $0.append(String(decoding: bytes.last == 0x0A ? bytes.dropLast() : bytes[...], as: UTF8.self)) }
            return
        }
        lock.withLock { _ in
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc_write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += n
                }
            }
        }
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}

/// Log level names as the configuration spells them: `trace|debug|info|warn|error`.
public enum PipeLogLevel {
    public static func parse(_ text: String) -> Logger.Level? {
        switch text.lowercased() {
        case "trace": .trace
        case "debug": .debug
        case "info": .info
        case "notice": .notice
        case "warn", "warning": .warning
        case "error": .error
        case "critical": .critical
        default: nil
        }
    }

    public static func name(_ level: Logger.Level) -> String {
        switch level {
        case .trace: "trace"
        case .debug: "debug"
        case .info, .notice: "info"
        case .warning: "warn"
        case .error, .critical: "error"
        }
    }
}

/// UTC timestamps as RFC 3339 text with milliseconds: `2026-11-25T02:16:09.123Z`.
public enum LogTimestamp {
    public static func now() -> String {
        let t = UnixTime.now()
        return format(seconds: t.seconds, milliseconds: Int(t.nanoseconds / 1_000_000))
    }

    public static func format(seconds: Int64, milliseconds: Int) -> String {
        let c = CivilTime(unixSeconds: seconds)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(Int(c.year), 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):"
            + "\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(milliseconds, 3))Z"
    }
}

/// Writes each event as one JSON object per line:
/// `{"ts":"…Z","level":"info","connector":"name","msg":"…", …metadata}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    public let connector: String
    private let sink: LogSink
    private let clock: @Sendable () -> String

    public init(connector: String, level: Logger.Level = .info, sink: LogSink = .standardOutput,
                metadataProvider: Logger.MetadataProvider? = nil, clock: @escaping @Sendable () -> String = LogTimestamp.now) {
        self.connector = connector
        self.logLevel = level
        self.sink = sink
        self.metadataProvider = metadataProvider
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("ts"); w.string(clock())
        w.key("level"); w.string(PipeLogLevel.name(event.level))
        w.key("connector"); w.string(connector)
        w.key("msg"); w.string(event.message.description)
        let all = mergedMetadata(handler: metadata, provider: metadataProvider, event: event.metadata)
        for key in all.keys.sorted() where key != "ts" && key != "level" && key != "connector" && key != "msg" {
            w.key(key)
            writeMetadataValue(all[key]!, to: &w)
        }
        if let error = event.error, all["error"] == nil {
            w.key("error"); w.string("\(error)")
        }
        w.endObject()
        var bytes = w.bytes
        bytes.append(0x0A)
        sink.write(bytes)
    }
}

/// Human-readable lines: `2026-11-25T02:16:09.123Z INFO  name: message key=value`, colored on a terminal.
public struct PrettyLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    public let connector: String
    private let sink: LogSink
    private let color: Bool
    private let clock: @Sendable () -> String

    public init(connector: String, level: Logger.Level = .info, sink: LogSink = .standardOutput, color: Bool? = nil,
                metadataProvider: Logger.MetadataProvider? = nil, clock: @escaping @Sendable () -> String = LogTimestamp.now) {
        self.connector = connector
        self.logLevel = level
        self.sink = sink
        self.color = color ?? sink.isTerminal
        self.metadataProvider = metadataProvider
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let name = PipeLogLevel.name(event.level).uppercased()
        let padded = name + String(repeating: " ", count: max(0, 5 - name.count))
        var level = padded
        if color {
            let code: String
            switch event.level {
            case .trace, .debug: code = "90"
            case .info, .notice: code = "32"
            case .warning: code = "33"
            case .error, .critical: code = "31"
            }
            level = "\u{1B}[\(code)m\(padded)\u{1B}[0m"
        }
        var line = "\(clock()) \(level) \(connector): \(event.message)"
        var all = mergedMetadata(handler: metadata, provider: metadataProvider, event: event.metadata)
        if let error = event.error, all["error"] == nil { all["error"] = "\(error)" }
        for key in all.keys.sorted() {
            line += " \(key)=\(prettyValue(all[key]!))"
        }
        line += "\n"
        sink.write(Array(line.utf8))
    }

    private func prettyValue(_ v: Logger.Metadata.Value) -> String {
        switch v {
        case .string(let s):
            s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) || s.isEmpty ? "\"\(s.replacingQuotes())\"" : s
        case .stringConvertible(let c): prettyValue(.string(c.description))
        case .array(let a): "[" + a.map(prettyValue).joined(separator: ",") + "]"
        case .dictionary(let d): "{" + d.keys.sorted().map { "\($0)=\(prettyValue(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for c in self {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}

private func mergedMetadata(handler: Logger.Metadata, provider: Logger.MetadataProvider?,
                            event: Logger.Metadata?) -> Logger.Metadata {
    var all = handler
    if let provided = provider?.get() { all.merge(provided) { _, new in new } }
    if let event { all.merge(event) { _, new in new } }
    return all
}

private func writeMetadataValue(_ v: Logger.Metadata.Value, to w: inout JSONWriter) {
    switch v {
    case .string(let s): w.string(s)
    case .stringConvertible(let c): w.string(c.description)
    case .array(let a):
        w.beginArray()
        for item in a { writeMetadataValue(item, to: &w) }
        w.endArray()
    case .dictionary(let d):
        w.beginObject()
        for k in d.keys.sorted() {
            w.key(k)
            writeMetadataValue(d[k]!, to: &w)
        }
        w.endObject()
    }
}

/// Sets up swift-log for the process from the `log` settings.
public enum PipeLogging {
    public enum Format: Sendable { case json, pretty }

    /// A log handler factory for `LoggingSystem.bootstrap` or for building loggers directly.
    public static func makeHandler(format: Format, connector: String, level: Logger.Level,
                                   sink: LogSink = .standardOutput) -> any LogHandler {
        switch format {
        case .json: JSONLogHandler(connector: connector, level: level, sink: sink)
        case .pretty: PrettyLogHandler(connector: connector, level: level, sink: sink)
        }
    }

    /// Bootstraps the global logging system (once per process).
    public static func bootstrap(format: Format, connector: String, level: Logger.Level,
                                 sink: LogSink = .standardOutput) {
        LoggingSystem.bootstrap { _ in makeHandler(format: format, connector: connector, level: level, sink: sink) }
    }

    /// A logger that uses the given format directly, without the global bootstrap.
    public static func logger(label: String, format: Format, connector: String, level: Logger.Level,
                              sink: LogSink = .standardOutput) -> Logger {
        Logger(label: label) { _ in makeHandler(format: format, connector: connector, level: level, sink: sink) }
    }
}
