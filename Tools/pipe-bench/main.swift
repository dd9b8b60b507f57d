// pipe-bench: benchmark drivers run by bench/*.sh.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "codec-bench" {
    try codecBench(Array(arguments.dropFirst()))
} else {
    print("pipe-bench: not built yet")
}
