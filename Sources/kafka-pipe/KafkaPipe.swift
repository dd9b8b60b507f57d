import ArgumentParser
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

struct KafkaPipe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-pipe",
        abstract: "Change data capture: PostgreSQL → Kafka → ClickHouse / S3.",
        usage: """
        kafka-pipe CONFIG.yaml [--data DIR] [--stop-timeout SECONDS]
          kafka-pipe check CONFIG.yaml
          kafka-pipe state [--data DIR] [--json]
          kafka-pipe --version
        """,
        discussion: """
        Exit status: 0 after a clean stop or finished work, 1 after a runtime failure,
        2 for a bad command line or configuration.
        """,
        version: BuildInfo.text,
        subcommands: [RunCommand.self, CheckCommand.self, StateCommand.self],
        defaultSubcommand: RunCommand.self)
}

@main
enum Main {
    static func main() async {
        let status: Int32
        do {
            var command = try KafkaPipe.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            status = ExitStatus.ok
        } catch let e as Exit {
            status = e.status
        } catch {
            let code = KafkaPipe.exitCode(for: error)
            let message = KafkaPipe.fullMessage(for: error)
            if code == .success {
                // --help, --version
                if !message.isEmpty { print(message) }
                status = ExitStatus.ok
            } else {
                if !message.isEmpty { printError(message) }
                // ArgumentParser reports usage errors as EX_USAGE (64); SPEC §1 says 2.
                status = code == .validationFailure ? ExitStatus.usage : ExitStatus.failure
            }
        }
        fflush(nil)
        exit(status)
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    var line = message
    if !line.hasSuffix("\n") { line += "\n" }
    LogSink.standardError.write(Array(line.utf8))
}
