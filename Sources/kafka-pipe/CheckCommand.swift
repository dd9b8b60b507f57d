import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// `kafka-pipe check CONFIG.yaml`.
struct CheckCommand {
    var config: String
    /// Seconds to wait for each endpoint.
    var timeout: Int

    func run() async throws {
        let loaded: LoadedConfig
        do {
            loaded = try ConfigAdapter.load(path: config, environment: currentEnvironment())
        } catch {
            printError(error.description)
            throw Exit(status: ExitStatus.usage)
        }
        print(loaded.resolvedYAML)
        print("# configuration is valid: \(loaded.className) \"\(loaded.name)\"")
        var unreachable = 0
        for endpoint in loaded.endpoints {
            let target = "\(endpoint.role) \(hostPort(endpoint.host, endpoint.port))"
            do {
                try await tcpConnect(host: endpoint.host, port: endpoint.port, timeout: .seconds(Int64(max(1, timeout))))
                print("ok: \(target) is reachable")
            } catch {
                unreachable += 1
                print("FAILED: \(target) is not reachable: \(connectFailure(error))")
            }
        }
        if unreachable > 0 { throw Exit(status: ExitStatus.failure) }
    }
}

func hostPort(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}

/// Opens and closes a TCP connection.
func tcpConnect(host: String, port: Int, timeout: TimeAmount) async throws {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connectTimeout(timeout)
        .connect(host: host, port: port).get()
    try? await channel.close()
}

/// A short reason for a failed connect (NIO wraps the socket error in a list of attempts).
func connectFailure(_ error: any Error) -> String {
    if let e = error as? NIOConnectionError, let first = e.connectionErrors.first {
        if let io = first.error as? IOError { return String(cString: strerror(io.errnoCode)) }
        return "\(first.error)"
    }
    if let e = error as? ChannelError, case .connectTimeout = e { return "timed out" }
    return "\(error)"
}
