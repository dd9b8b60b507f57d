import FoundationEssentials
import PipeAuth
import S3Client

// s3-bench: one phase of bench/s3.sh, timed here (wall) and by /usr/bin/time (CPU).
//   s3-bench --endpoint URL --key K --secret S --region R --bucket B --phase put|get
//            [--count N] [--size BYTES] [--concurrency C] [--prefix P]
// put: creates the bucket if needed, uploads N objects of SIZE bytes (multipart above 16 MiB).
// get: downloads them and checks their sizes. Prints "objects=N bytes=B seconds=S".
func s3Bench(_ args: [String]) async throws -> Int32 {
    let a = Arguments(args)
    guard let url = a.options["endpoint"], let endpoint = S3Client.Endpoint(url: url),
          let bucket = a.options["bucket"], let phase = a.options["phase"] else { usage() }
    let count = Int(a.options["count"] ?? "1000") ?? 1000
    let size = Int(a.options["size"] ?? "262144") ?? 262_144
    let concurrency = Int(a.options["concurrency"] ?? "8") ?? 8
    let prefix = a.options["prefix"] ?? "bench/"
    let s3 = S3Client(configuration: .init(
        endpoint: endpoint, region: a.options["region"] ?? "us-east-1",
        credentials: AWSCredentials(accessKeyID: a.options["key"] ?? "", secretAccessKey: a.options["secret"] ?? ""),
        partConcurrency: concurrency))
    var body = [UInt8](repeating: 0, count: size)
    for i in 0..<size { body[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 7) }
    let payload = body
    if phase == "put" {
        do { try await s3.createBucket(bucket) } catch where error.s3Code == "BucketAlreadyOwnedByYou" || error.s3Code == "BucketAlreadyExists" {}
    }
    let clock = ContinuousClock()
    let start = clock.now
    try await withThrowingTaskGroup(of: Int.self) { group in
        var next = 0
        func add() {
            let key = "\(prefix)\(next)"
            next += 1
            group.addTask {
                if phase == "put" {
                    try await s3.upload(bucket: bucket, key: key, body: payload)
                    return payload.count
                } else {
                    let (_, got) = try await s3.getObject(bucket: bucket, key: key)
                    guard got.count == size else { throw S3Error(.malformedResponse, "\(key): \(got.count) bytes") }
                    return got.count
                }
            }
        }
        while next < min(count, concurrency) { add() }
        while try await group.next() != nil { if next < count { add() } }
    }
    let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
    writeStdout("objects=\(count) bytes=\(count * size) seconds=\(seconds)\n")
    await s3.shutdown()
    return 0
}
