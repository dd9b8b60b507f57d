import CAllocatorTuning
import PipeRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Exit statuses (SPEC §1).
enum ExitStatus {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
}

/// An error that ends the process with a given status after its message was printed or logged.
struct Exit: Error {
    var status: Int32
}

@main
enum Main {
    static func main() async {
        tuneAllocator()
        let status: Int32
        do {
            switch try Invocation.parse(Array(CommandLine.arguments.dropFirst())) {
            case .print(let text):
                print(text)
            case let .run(config, data, stopTimeout):
                try await RunCommand(config: config, data: data, stopTimeout: stopTimeout).run()
            case let .check(config, timeout):
                try await CheckCommand(config: config, timeout: timeout).run()
            case .state(let options):
                try await StateCommand(options: options).run()
            }
            status = ExitStatus.ok
        } catch let e as UsageError {
            printError("Error: \(e.message)\n\(Help.usage(for: e.command))\n  See 'kafka-pipe --help' for more information.")
            status = ExitStatus.usage
        } catch let e as Exit {
            status = e.status
        } catch {
            printError("\(error)")
            status = ExitStatus.failure
        }
        fflush(nil)
        exit(status)
    }

    /// Connectors allocate and free buffers of a few MiB at a steady rate (a chunk of rows, a
    /// record batch, a ClickHouse block). Above glibc's default mmap threshold each one is a
    /// fresh mapping whose pages the kernel zeroes on first touch (a pg.Snapshot run spent 8% of
    /// its CPU there); kept on the heap and not trimmed at once, freed buffers are reused.
    static func tuneAllocator() {
        _ = kp_tune_allocator(32 << 20, 256 << 20)
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    var line = message
    if !line.hasSuffix("\n") { line += "\n" }
    LogSink.standardError.write(Array(line.utf8))
}
