import HTTPWire
import Logging
import NIOCore
import NIOPosix
import PipeAuth
import Synchronization
import Testing
@testable import S3Client

/// Retry policy against a local fake S3: 503 SlowDown and 500 are retried, 4xx never.
@Suite struct RetryTests {
    static func withFake(_ statuses: [Int], code: String, _ body: (S3Client, @Sendable () -> Int) async throws -> Void) async throws {
        let count = Atomic<Int>(0)
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), logger: Logger(label: "fake-s3")) { req in
            let n = count.add(1, ordering: .sequentiallyConsistent).newValue
            let status = n <= statuses.count ? statuses[n - 1] : 200
            if status == 200 {
                return HTTPResponse(status: 200, headers: ["ETag": "\"abc\"", "Content-Type": "text/plain"],
                                    body: Array("hello".utf8))
            }
            let xml = "<?xml version=\"1.0\"?><Error><Code>\(status == 503 ? "SlowDown" : code)</Code><Message>m\(n)</Message><RequestId>req\(n)</RequestId></Error>"
            return HTTPResponse(status: status, headers: ["Content-Type": "application/xml", "x-amz-request-id": "req\(n)"],
                                body: Array(xml.utf8))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try #require(try await server.localAddress().port)
            let client = S3Client(configuration: .init(
                endpoint: .init(host: "127.0.0.1", port: port, useTLS: false), region: "us-east-1",
                credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret"),
                maxRetries: 3, retryBaseDelay: .milliseconds(5), retryMaxDelay: .milliseconds(20)))
            try await body(client, { count.load(ordering: .sequentiallyConsistent) })
            await client.shutdown()
            group.cancelAll()
            try? await group.waitForAll()
        }
    }

    @Test func slowDownThenSuccess() async throws {
        try await Self.withFake([503, 500], code: "InternalError") { client, count in
            let (info, body) = try await client.getObject(bucket: "b", key: "k")
            #expect(body == Array("hello".utf8))
            #expect(info.etag == "\"abc\"")
            #expect(count() == 3)
        }
    }

    @Test func gives_upAfterMaxRetries() async throws {
        try await Self.withFake([503, 503, 503, 503, 503, 503], code: "SlowDown") { client, count in
            do throws(S3Error) {
                _ = try await client.getObject(bucket: "b", key: "k")
                Issue.record("expected an error")
            } catch {
                #expect(error.s3Code == "SlowDown")
                #expect(error.status == 503)
                #expect(error.requestID == "req4")
            }
            #expect(count() == 4)
        }
    }

    @Test(arguments: [(400, "InvalidRequest"), (403, "AccessDenied"), (404, "NoSuchKey"), (409, "BucketAlreadyExists")])
    func neverRetries4xx(_ status: Int, _ code: String) async throws {
        try await Self.withFake([status, status], code: code) { client, count in
            do throws(S3Error) {
                _ = try await client.putObject(bucket: "b", key: "k", body: [1, 2, 3])
                Issue.record("expected an error")
            } catch {
                #expect(error.code == .service)
                #expect(error.s3Code == code)
                #expect(error.status == status)
                #expect(error.message == "m1")
                #expect(error.bucket == "b" && error.key == "k")
            }
            #expect(count() == 1)
        }
    }

    @Test func connectionRefusedIsTransportError() async throws {
        let client = S3Client(configuration: .init(
            endpoint: .init(host: "127.0.0.1", port: 1, useTLS: false), region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret"),
            maxRetries: 1, retryBaseDelay: .milliseconds(1)))
        do throws(S3Error) {
            try await client.headBucket("b")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .transport)
            #expect(!error.description.contains("secret"))
        }
        await client.shutdown()
    }
}

/// A peer that drops the first `drops` connections once it has read a request head (no answer),
/// or, with `midBody`, after sending half of the body; later connections get `200 hello`.
final class DroppingPeer: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let number: Int
    let drops: Int
    let midBody: Bool
    var seen = ByteBuffer()

    init(number: Int, drops: Int, midBody: Bool) {
        self.number = number
        self.drops = drops
        self.midBody = midBody
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        seen.writeBuffer(&b)
        guard seen.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) != nil else { return }
        seen.clear()
        if number <= drops {
            if midBody {
                context.writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe")), promise: nil)
            }
            context.close(promise: nil)
            return
        }
        context.writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"e\"\r\n\r\nhello")),
                              promise: nil)
    }

    static func withPeer(drops: Int, midBody: Bool = false,
                         _ body: (S3Client, @Sendable () -> Int) async throws -> Void) async throws {
        let count = Atomic<Int>(0)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    let n = count.add(1, ordering: .sequentiallyConsistent).newValue
                    try child.pipeline.syncOperations.addHandler(DroppingPeer(number: n, drops: drops, midBody: midBody))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = S3Client(configuration: .init(
            endpoint: .init(host: "127.0.0.1", port: server.localAddress!.port!, useTLS: false), region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret"),
            maxRetries: 3, retryBaseDelay: .milliseconds(5), retryMaxDelay: .milliseconds(20)))
        try await body(client, { count.load(ordering: .sequentiallyConsistent) })
        await client.shutdown()
        try await server.close()
    }
}

@Suite struct DroppedConnectionTests {
    @Test func droppedConnectionsAreRetried() async throws {
        try await DroppingPeer.withPeer(drops: 2) { client, connections in
            let (info, body) = try await client.getObject(bucket: "b", key: "k")
            #expect(body == Array("hello".utf8))
            #expect(info.etag == "\"e\"")
            #expect(connections() == 3)
        }
    }

    @Test func streamedGetIsRetriedWhileNothingWasDelivered() async throws {
        try await DroppingPeer.withPeer(drops: 1) { client, connections in
            let got = Mutex<[UInt8]>([])
            _ = try await client.getObject(bucket: "b", key: "k", range: nil) { b in got.withLock { $0 += b.readableBytesView } }
            #expect(got.withLock { $0 } == Array("hello".utf8))
            #expect(connections() == 2)
        }
    }

    @Test func streamedGetIsNotRetriedAfterBytesWereDelivered() async throws {
        try await DroppingPeer.withPeer(drops: 1, midBody: true) { client, connections in
            let got = Mutex<[UInt8]>([])
            do throws(S3Error) {
                _ = try await client.getObject(bucket: "b", key: "k", range: nil) { b in got.withLock { $0 += b.readableBytesView } }
                Issue.record("a download cut in the middle succeeded")
            } catch {
                #expect(error.code == .transport)
            }
            #expect(got.withLock { $0 } == Array("he".utf8))
            #expect(connections() == 1)
        }
    }

    @Test func givesUpAfterMaxRetries() async throws {
        try await DroppingPeer.withPeer(drops: 10) { client, connections in
            do throws(S3Error) {
                try await client.putObject(bucket: "b", key: "k", body: [1, 2, 3])
                Issue.record("expected a transport error")
            } catch {
                #expect(error.code == .transport)
                #expect(error.isRetryable)
            }
            #expect(connections() == 4)
        }
    }
}
