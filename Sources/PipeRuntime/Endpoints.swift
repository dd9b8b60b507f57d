public import HTTPWire
public import Logging
public import ServiceLifecycle

/// `http:listen` text: `:8081` listens on every interface (as Go does), `host:port` on that
/// address, `[::1]:8081` on an IPv6 literal, and an empty string disables the server.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// nil for the empty string (disabled); throws a message for anything else that is not an address.
    public static func parse(_ text: String) throws(RuntimeError) -> ListenAddress? {
        let t = text.trimmingSpaces()
        if t.isEmpty { return nil }
        guard let colon = t.lastIndex(of: ":") else {
            throw RuntimeError(.invalidAddress, "listen address '\(t)' has no port")
        }
        var host = String(t[..<colon])
        let portText = t[t.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port), portText.allSatisfy(\.isASCII) else {
            throw RuntimeError(.invalidAddress, "listen address '\(t)' has an invalid port")
        }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else {
                throw RuntimeError(.invalidAddress, "listen address '\(t)' has an unclosed IPv6 literal")
            }
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw RuntimeError(.invalidAddress, "listen address '\(t)': write IPv6 literals in brackets")
        }
        return ListenAddress(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}

/// The process's HTTP endpoints (SPEC §1): `/health`, `/ready`, `/metrics`.
public enum RuntimeEndpoints {
    public static func router(metrics: PrometheusRegistry, readiness: Readiness) -> HTTPServer.Router {
        HTTPServer.getRouter([
            "/health": { _ in .text(200, "ok\n") },
            "/ready": { _ in
                let s = readiness.status
                return s.ready ? .text(200, "ready\n") : .text(503, "not ready: \(s.reason)\n")
            },
            "/metrics": { _ in
                .text(200, metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
            },
        ])
    }
}

/// The HTTP server as a service: serves until the group shuts down gracefully or is cancelled.
public struct HTTPEndpointService: Service {
    public let server: HTTPServer
    public let address: ListenAddress

    public init(address: ListenAddress, metrics: PrometheusRegistry, readiness: Readiness, logger: Logger) {
        self.address = address
        server = HTTPServer(configuration: .init(host: address.host, port: address.port), logger: logger,
                            router: RuntimeEndpoints.router(metrics: metrics, readiness: readiness))
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run()
            }
        } catch is CancellationError {
            // a graceful stop: not a failure
        } catch {
            throw RuntimeError(.failed, "HTTP endpoint on \(address) failed", cause: error)
        }
    }
}
