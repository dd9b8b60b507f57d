// Pieces shared by s3.Sink and s3.Backup: the S3 client of the `s3:*` settings, an async lock.
internal import PipeAuth
public import PipeConfig
public import S3Client
internal import Synchronization
public import Logging

extension S3Settings {
    /// The S3 client of these settings: path-style addressing (moto, MinIO and AWS all accept it),
    /// SigV4 with the `s3:id`/`s3:secret` credentials.
    public func makeClient(logger: Logger, requestTimeout: Duration = .seconds(60)) -> S3Client {
        let endpoint = S3Client.Endpoint(host: endpoint.address.host, port: endpoint.address.port, useTLS: endpoint.useTLS)
        let seconds = requestTimeout.components.seconds
        let configuration = S3Client.Configuration(
            endpoint: endpoint, region: region,
            credentials: AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: nil),
            addressing: .path, maxRetries: 3, retryMaxDelay: .seconds(2),
            connectTimeout: .seconds(5), requestTimeout: .seconds(seconds))
        return S3Client(configuration: configuration, logger: logger)
    }
}

/// A FIFO lock for async code: one holder at a time, waiters resumed in order.
final class AsyncLock: Sendable {
    private let state = Mutex<(locked: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func lock() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { s -> Bool in
                if !s.locked {
                    s.locked = true
                    return true
                }
                s.waiters.append(c)
                return false
            }
            if acquired { c.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.locked = false
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }

    func withLock<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await lock()
        defer { unlock() }
        return try await body()
    }
}

/// The connectors' error for s3.Sink and s3.Backup: what failed and where, never a secret.
public struct S3ConnectorError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
