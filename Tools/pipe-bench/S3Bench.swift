import FoundationEssentials
import NIOCore
import PipeAuth
import S3Client
import Synchronization

// s3-bench: one phase of bench/s3.sh, timed here (wall) and by /usr/bin/time (CPU).
//   s3-bench --endpoint URL --key K --secret S --region R --bucket B --phase put|get
//            [--count N] [--size BYTES] [--concurrency C] [--prefix P]
// put: creates the bucket if needed, uploads N objects of SIZE bytes (multipart from 16 MiB, parts
// of 8 MiB, C parts at a time). get: streams them back (bytes counted, not kept) and checks sizes.
// C objects are in flight at once. Prints "objects=N bytes=B seconds=S".
func s3Bench(_ args: [String]) async throws -> Int32 {
    let a = Arguments(args)
    guard let url = a.options["endpoint"], let endpoint = S3Client.Endpoint(url: url),
          let bucket = a.options["bucket"], let phase = a.options["phase"], phase == "put" || phase == "get" else { usage() }
    let count = a.int("count", default: 1000)
    let size = a.int("size", default: 262_144)
    let concurrency = max(1, a.int("concurrency", default: 8))
    let prefix = a.options["prefix"] ?? "bench/"
    let s3 = S3Client(configuration: .init(
        endpoint: endpoint, region: a.options["region"] ?? "us-east-1",
        credentials: AWSCredentials(accessKeyID: a.options["key"] ?? "", secretAccessKey: a.options["secret"] ?? ""),
        partConcurrency: concurrency))
    var body = [UInt8](repeating: 0, count: size)
    for i in 0..<size { body[i] = UInt8(truncatingIfNeeded: (i &* 2654435761) >> 7) }
    let payload = body
    if phase == "put", let error = await createBucketError(s3, bucket),
       error.s3Code != "BucketAlreadyOwnedByYou" && error.s3Code != "BucketAlreadyExists" {
        throw error
    }
    let clock = ContinuousClock()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        func add() {
            let key = "\(prefix)\(next)"
            next += 1
            group.addTask {
                if phase == "put" {
                    try await s3.upload(bucket: bucket, key: key, body: payload)
                } else {
                    let received = Atomic<Int>(0)
                    _ = try await s3.getObject(bucket: bucket, key: key, range: nil) { buffer in
                        received.add(buffer.readableBytes, ordering: .relaxed)
                    }
                    let n = received.load(ordering: .relaxed)
                    guard n == size else { throw S3Error(.malformedResponse, "\(key): \(n) bytes, expected \(size)") }
                }
            }
        }
        while next < min(count, concurrency) { add() }
        while try await group.next() != nil { if next < count { add() } }
    }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    writeStdout("objects=\(count) bytes=\(count * size) seconds=\(seconds)\n")
    await s3.shutdown()
    return 0
}

private func createBucketError(_ s3: S3Client, _ bucket: String) async -> S3Error? {
    do {
        try await s3.createBucket(bucket)
        return nil
    } catch {
        return error
    }
}
