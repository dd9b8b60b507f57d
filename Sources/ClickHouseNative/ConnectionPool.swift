/// A pool of native connections over several servers (`click_house.addrs`). A new connection goes
/// to the next address in turn and falls over to the following ones when a connect fails.
public actor ClickHouseConnectionPool {
    let addresses: [(host: String, port: Int)]
    let config: ClickHouseConfig
    let maxConnections: Int
    var idle: [ClickHouseConnection] = []
    var open = 0
    var next = 0
    var waiters: [CheckedContinuation<Void, Never>] = []
    var closed = false

    /// `addresses` are `host:port` (port 9000 when missing).
    public init(addresses: [String], config: ClickHouseConfig, maxConnections: Int = 4) throws {
        guard !addresses.isEmpty else { throw ClickHouseError(.invalidArgument, "the pool needs at least one address") }
        self.addresses = try addresses.map { a in
            if let i = a.lastIndex(of: ":"), !a.hasSuffix("]") {
                guard let p = Int(a[a.index(after: i)...]), (1...65535).contains(p) else {
                    throw ClickHouseError(.invalidArgument, "bad port in address \(a)")
                }
                return (String(a[..<i]), p)
            }
            return (a, 9000)
        }
        self.config = config
        self.maxConnections = max(1, maxConnections)
    }

    /// Runs `body` with a connection; a connection that failed at the network level is dropped.
    public nonisolated func withConnection<T: Sendable>(_ body: (ClickHouseConnection) async throws -> T) async throws -> T {
        let conn = try await acquire()
        do {
            let r = try await body(conn)
            await release(conn, healthy: true)
            return r
        } catch let e as ClickHouseError {
            await release(conn, healthy: e.code != .connection && e.code != .closed && e.code != .protocolViolation
                          && e.code != .truncated && e.code != .malformed && e.serverException?.code != 62)
            throw e
        } catch {
            await release(conn, healthy: false)
            throw error
        }
    }

    func acquire() async throws -> ClickHouseConnection {
        while true {
            guard !closed else { throw ClickHouseError(.closed, "the pool is closed") }
            if let c = idle.popLast() { return c }
            if open < maxConnections {
                open += 1
                do {
                    return try await connectAny()
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    func connectAny() async throws -> ClickHouseConnection {
        var lastError: (any Error)?
        // A local start: other connects may run while this one awaits (actor reentrancy).
        let start = next % addresses.count
        next = (next &+ 1) % addresses.count
        for k in 0..<addresses.count {
            let a = addresses[(start + k) % addresses.count]
            var c = config
            c.host = a.host
            c.port = a.port
            do { return try await ClickHouseConnection.connect(c) } catch let e as ClickHouseError where e.code == .connection {
                lastError = e
            }
        }
        throw ClickHouseError(.connection, "no ClickHouse address accepted a connection", cause: lastError)
    }

    func release(_ c: ClickHouseConnection, healthy: Bool) async {
        if healthy && !closed {
            idle.append(c)
        } else {
            open -= 1
            await c.close()
        }
        wakeOne()
    }

    func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    /// Closes idle connections; connections in use close when they come back.
    public func close() async {
        closed = true
        let all = idle
        idle = []
        open -= all.count
        for c in all { await c.close() }
        let w = waiters
        waiters = []
        for x in w { x.resume() }
    }
}
