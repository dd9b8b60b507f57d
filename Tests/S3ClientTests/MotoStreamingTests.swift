import NIOCore
import PipeAuth
import PipeTestSupport
import Testing
@testable import S3Client

/// A body produced piece by piece.
struct BufferPieces: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let pieces: [[UInt8]]
    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: [[UInt8]]
        mutating func next() async throws -> ByteBuffer? {
            guard !rest.isEmpty else { return nil }
            return ByteBuffer(bytes: rest.removeFirst())
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: pieces) }

    static func split(_ bytes: [UInt8], by size: Int) -> BufferPieces {
        BufferPieces(pieces: stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<Swift.min($0 + size, bytes.count)]) })
    }
}

/// Streaming uploads (UNSIGNED-PAYLOAD) and downloads against moto.
@Suite struct MotoStreamingTests {
    @Test func streamedPutThenStreamedGet() async throws {
        guard let env = Moto.env() else { return }
        let s3 = try Moto.client(env)
        let bucket = try await Moto.newBucket(s3, "stream")
        let body: [UInt8] = Moto.pattern(count: 3_000_000, seed: 21)
        let etag: String? = try await s3.putObject(bucket: bucket, key: "s/streamed obj", contentLength: body.count,
                                                   stream: BufferPieces.split(body, by: 100_000),
                                                   contentType: "application/x-stream", metadata: ["how": "stream"])
        #expect(etag == "\"" + Hex.encode(Digest.md5.hash(body)) + "\"")
        let got = LockedBytes()
        let info = try await s3.getObject(bucket: bucket, key: "s/streamed obj", range: nil) { got.append($0) }
        #expect(got.bytes == body)
        #expect(info.metadata["how"] == "stream")
        #expect(info.contentType == "application/x-stream")

        // A stream that ends early fails and leaves no object.
        let short = await Moto.error("a stream shorter than its length") { () async throws(S3Error) in
            try await s3.putObject(bucket: bucket, key: "s/short", contentLength: 10, stream: BufferPieces(pieces: [[1, 2]]))
        }
        #expect(short?.code == .transport)
        let missing = await Moto.error("head of the failed upload") { () async throws(S3Error) in
            try await s3.headObject(bucket: bucket, key: "s/short")
        }
        #expect(missing?.status == 404)

        // An empty stream makes an empty object.
        try await s3.putObject(bucket: bucket, key: "s/empty", contentLength: 0, stream: BufferPieces(pieces: []))
        let empty: S3Client.ObjectInfo = try await s3.headObject(bucket: bucket, key: "s/empty")
        #expect(empty.size == 0)
        await s3.shutdown()
    }
}
