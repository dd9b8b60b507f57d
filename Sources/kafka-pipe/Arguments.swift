// The command line (SPEC §1), parsed by hand: three commands with a handful of options each do not
// need a parsing library, and leaving one out keeps the static binary small.

/// A bad command line: printed with the command's usage, exit status 2.
struct UsageError: Error, Equatable {
    var message: String
    /// The command whose usage is printed with the message (nil: the top-level usage).
    var command: String?
}

/// What one command accepts: named options (with a value, or flags) and positional arguments.
struct ArgumentSpec {
    var command: String
    var valueOptions: Set<String> = []
    var repeatableOptions: Set<String> = []
    var flags: Set<String> = []
    /// Names of the positional arguments, all required.
    var positionals: [String] = []
}

/// Options and positional arguments as given, checked against an ``ArgumentSpec``.
struct ParsedArguments: Equatable {
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []
    /// `--help` or `-h` was given: print the command's help instead of running it.
    var help = false

    init() {}

    init(_ arguments: some Sequence<String>, spec: ArgumentSpec) throws(UsageError) {
        var rest = Array(arguments)[...]
        var onlyPositionals = false
        while let argument = rest.popFirst() {
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            if argument == "--help" || argument == "-h" {
                help = true
                continue
            }
            guard argument.hasPrefix("--") else {
                throw UsageError(message: "Unknown option '\(argument)'", command: spec.command)
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let eq = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if spec.flags.contains(name) {
                guard inlineValue == nil else {
                    throw UsageError(message: "'--\(name)' takes no value", command: spec.command)
                }
                flags.insert(name)
            } else if spec.valueOptions.contains(name) {
                guard let value = inlineValue ?? rest.popFirst() else {
                    throw UsageError(message: "Missing value for '--\(name) <\(name)>'", command: spec.command)
                }
                if values[name] != nil && !spec.repeatableOptions.contains(name) {
                    throw UsageError(message: "'--\(name)' may be given only once", command: spec.command)
                }
                values[name, default: []].append(value)
            } else {
                throw UsageError(message: "Unknown option '--\(name)'", command: spec.command)
            }
        }
        guard !help else { return }
        if positionals.count < spec.positionals.count {
            let missing = spec.positionals[positionals.count]
            throw UsageError(message: "Missing expected argument '<\(missing)>'", command: spec.command)
        }
        if positionals.count > spec.positionals.count {
            throw UsageError(message: "Unexpected argument '\(positionals[spec.positionals.count])'", command: spec.command)
        }
    }

    func value(_ name: String) -> String? { values[name]?.last }

    func all(_ name: String) -> [String] { values[name] ?? [] }

    /// An integer option, or `defaultValue` when it is absent.
    func integer(_ name: String, default defaultValue: Int, command: String) throws(UsageError) -> Int {
        guard let text = value(name) else { return defaultValue }
        guard let n = Int(text) else {
            throw UsageError(message: "The value '\(text)' is invalid for '--\(name) <\(name)>': not an integer",
                             command: command)
        }
        return n
    }
}

/// The command a command line asks for.
enum Invocation: Equatable {
    case run(config: String, data: String, stopTimeout: Int)
    case check(config: String, timeout: Int)
    case state(StateOptions)
    /// Print this text on standard output and exit 0 (`--help`, `--version`).
    case print(String)

    struct StateOptions: Equatable {
        var data = "data"
        var json = false
        var deleteName: String?
        var keys: [String] = []
        var prefix: String?
    }

    static let runSpec = ArgumentSpec(command: "run", valueOptions: ["data", "stop-timeout"], positionals: ["config"])
    static let checkSpec = ArgumentSpec(command: "check", valueOptions: ["timeout"], positionals: ["config"])
    static let stateSpec = ArgumentSpec(command: "state", valueOptions: ["data", "delete", "key", "prefix"],
                                        repeatableOptions: ["key"], flags: ["json"])

    /// Parses the arguments after the program name.
    static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        guard let first = arguments.first else {
            throw UsageError(message: "Missing expected argument '<config>'", command: nil)
        }
        switch first {
        case "--version":
            guard arguments.count == 1 else {
                throw UsageError(message: "Unexpected argument '\(arguments[1])'", command: nil)
            }
            return .print(BuildInfo.text)
        case "--help", "-h", "help":
            if first == "help", arguments.count > 1 {
                return .print(Help.text(for: arguments[1]))
            }
            return .print(Help.text(for: nil))
        case "run":
            return try run(ParsedArguments(arguments.dropFirst(), spec: runSpec))
        case "check":
            let p = try ParsedArguments(arguments.dropFirst(), spec: checkSpec)
            if p.help { return .print(Help.text(for: "check")) }
            return .check(config: p.positionals[0], timeout: try p.integer("timeout", default: 5, command: "check"))
        case "state":
            let p = try ParsedArguments(arguments.dropFirst(), spec: stateSpec)
            if p.help { return .print(Help.text(for: "state")) }
            let options = StateOptions(data: p.value("data") ?? "data", json: p.flags.contains("json"),
                                       deleteName: p.value("delete"), keys: p.all("key"), prefix: p.value("prefix"))
            if options.deleteName == nil && (!options.keys.isEmpty || options.prefix != nil) {
                throw UsageError(message: "--key and --prefix need --delete NAME", command: "state")
            }
            if options.deleteName != nil && options.keys.isEmpty && options.prefix == nil {
                throw UsageError(message: "--delete NAME needs --key KEY or --prefix PREFIX", command: "state")
            }
            return .state(options)
        default:
            // The default command: `kafka-pipe CONFIG.yaml [options]`.
            let p = try ParsedArguments(arguments, spec: runSpec)
            if p.help { return .print(Help.text(for: nil)) }
            return try run(p)
        }
    }

    private static func run(_ p: ParsedArguments) throws(UsageError) -> Invocation {
        if p.help { return .print(Help.text(for: "run")) }
        let stopTimeout = try p.integer("stop-timeout", default: 30, command: "run")
        guard stopTimeout > 0 else { throw UsageError(message: "--stop-timeout must be positive", command: "run") }
        return .run(config: p.positionals[0], data: p.value("data") ?? "data", stopTimeout: stopTimeout)
    }
}

/// Help and usage texts.
enum Help {
    static let usage = """
        Usage: kafka-pipe CONFIG.yaml [--data DIR] [--stop-timeout SECONDS]
               kafka-pipe check CONFIG.yaml [--timeout SECONDS]
               kafka-pipe state [--data DIR] [--json] [--delete NAME (--key KEY)... | --prefix PREFIX]
               kafka-pipe --version
        """

    static func usage(for command: String?) -> String {
        switch command {
        case "check": "Usage: kafka-pipe check CONFIG.yaml [--timeout SECONDS]"
        case "state": "Usage: kafka-pipe state [--data DIR] [--json] [--delete NAME (--key KEY)... | --prefix PREFIX]"
        case "run": "Usage: kafka-pipe [run] CONFIG.yaml [--data DIR] [--stop-timeout SECONDS]"
        default: usage
        }
    }

    static func text(for command: String?) -> String {
        switch command {
        case "run":
            return """
                Run the connector the configuration names until SIGINT/SIGTERM or until its work is done.

                \(usage(for: "run"))

                Options:
                  --data DIR                The state directory (default: data).
                  --stop-timeout SECONDS    Seconds a graceful stop may take (default: 30).
                  -h, --help                Show this help.
                """
        case "check":
            return """
                Validate a configuration, print it resolved (secrets as ***) and try each endpoint.

                \(usage(for: "check"))

                Options:
                  --timeout SECONDS         Seconds to wait for each endpoint (default: 5).
                  -h, --help                Show this help.
                """
        case "state":
            return """
                Print, read-only, what the state store holds for each connector name; or delete positions.

                \(usage(for: "state"))

                With --delete NAME and --key KEY (repeatable) or --prefix PREFIX, removes those positions of
                connector NAME, so that it starts them afresh (after a topic was recreated, a slot dropped, or
                to snapshot a table again). The connector must be stopped: the store's lock refuses a running one.

                Options:
                  --data DIR                The state directory (default: data).
                  --json                    Print JSON: {"<connector>": {"<key>": "<text>" or {"hex": "…"}}}.
                  --delete NAME             Delete positions of this connector name (with --key or --prefix).
                  --key KEY                 A key to delete (repeatable).
                  --prefix PREFIX           Delete every key that starts with this prefix ("" deletes them all).
                  -h, --help                Show this help.
                """
        default:
            return """
                kafka-pipe: change data capture: PostgreSQL → Kafka → ClickHouse / S3.

                \(usage)

                Commands:
                  CONFIG.yaml (or run CONFIG.yaml)  Run the connector the configuration names.
                  check CONFIG.yaml                 Validate a configuration and try each endpoint.
                  state                             Print or delete what the state store holds.

                Exit status: 0 after a clean stop or finished work, 1 after a runtime failure,
                2 for a bad command line or configuration.

                See 'kafka-pipe help <command>' for a command's options.
                """
        }
    }
}
