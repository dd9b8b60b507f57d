// Benchmark drivers; each subcommand is run by a script under bench/.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "pgoutput-bench":
    try await pgoutputBench(Array(arguments.dropFirst()))
default:
    print("pipe-bench: subcommands: pgoutput-bench")
}
