#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// pipe-bench: the Swift side of the benchmarks in bench/, and helper processes for tests.
//   pipe-bench <command> [arguments]
// To add a command, write `func name(_ args: [String]) async throws -> Int32` in its own file and
// add one line to `commands`.

typealias BenchCommand = @Sendable ([String]) async throws -> Int32

let commands: [(name: String, usage: String, run: BenchCommand)] = [
    ("crc32c-bench", "[--mib N]   CRC-32C throughput", crc32cBench),
    ("store-bench", "--updates N [--writers W] [--mode async|sync|concurrent|all] DIR   durable single-key updates per second", storeBench),
    ("store-writer", "[--writers W] [--compact-min BYTES] DIR   writes until killed, one stdout line per acknowledged write", storeWriter),
    ("codec-bench", "--file F [--seconds S] [--ref-zstd|lz4|snappy|gzip F]   codec MB/s", { try codecBench($0); return 0 }),
    ("store-lock-probe", "DIR   opens DIR; exit 3 and the error when it is locked", storeLockProbe),
    ("group-consumer", "--bootstrap B --group G --topic T [--max N] [--session-ms MS] [--quiet 1]   one consumer-group member (tests, bench/kafka-group.sh)", groupConsumer),
    ("kafka-bench", "produce|fetch ...   Kafka producer/fetcher throughput (bench/kafka.sh)",
     { try await kafkaBench($0); return 0 }),
    ("pgoutput-bench", "<setup|run|cleanup> --url URL [--rows N] [--slot S --publication P --endpos LSN] [--prefix X] [--socket DIR]   pgoutput decoding (bench/pgoutput.sh)",
     { try await pgoutputBench($0); return 0 }),
    ("s3-bench", "--endpoint URL --key K --secret S --region R --bucket B --phase put|get [--count N] [--size BYTES] [--concurrency C] [--prefix P]   S3 upload/download throughput (bench/s3.sh)",
     s3Bench),
    ("ch-insert", "--addr H:P --table T --rows N [--block B] [--user U] [--password P] [--native-file F]   ClickHouse native inserts (bench/clickhouse.sh)",
     chInsert),
]

func usage() -> Never {
    var text = "usage: pipe-bench <command> [arguments]\n"
    for c in commands { text += "  \(c.name) \(c.usage)\n" }
    writeStderr(text)
    exit(2)
}

func writeStdout(_ s: String) {
    var s = s
    s.withUTF8 { b in
        var done = 0
        while done < b.count {
            let n = write(1, b.baseAddress! + done, b.count - done)
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }
}

func writeStderr(_ s: String) {
    var s = s
    s.withUTF8 { b in _ = write(2, b.baseAddress!, b.count) }
}

/// Splits `--name value` options from positional arguments.
struct Arguments {
    var options: [String: String] = [:]
    var positional: [String] = []

    init(_ args: [String]) {
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("--"), i + 1 < args.count {
                options[String(a.dropFirst(2))] = args[i + 1]
                i += 2
            } else {
                positional.append(a)
                i += 1
            }
        }
    }

    func int(_ name: String, default d: Int) -> Int {
        guard let v = options[name] else { return d }
        guard let n = Int(v) else { writeStderr("--\(name) wants a number, got \(v)\n"); exit(2) }
        return n
    }
}

let argv = CommandLine.arguments
guard argv.count >= 2, let command = commands.first(where: { $0.name == argv[1] }) else { usage() }
do {
    let status = try await command.run(Array(argv.dropFirst(2)))
    exit(status)
} catch {
    writeStderr("pipe-bench \(command.name): \(error)\n")
    exit(1)
}
