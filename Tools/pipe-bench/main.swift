if CommandLine.arguments.dropFirst().first == "kafka-bench" { try await kafkaBench(Array(CommandLine.arguments.dropFirst(2))) } else {
print("pipe-bench: not built yet")
}
