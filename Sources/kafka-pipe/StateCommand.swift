import ArgumentParser
import WireCore

struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Print, read-only, what the state store holds for each connector name.")

    @Option(name: .customLong("data"), help: "The state directory.")
    var data: String = "data"

    @Flag(help: "Print JSON: {\"<connector>\": {\"<key>\": \"<text>\" or {\"hex\": \"…\"}}}.")
    var json = false

    func run() async throws {
        let dump: [(namespace: String, entries: [(key: String, value: [UInt8])])]
        do {
            guard let d = try StoreAdapter.dump(directory: data) else {
                printError("no state directory at \(data)")
                throw Exit(status: ExitStatus.failure)
            }
            dump = d
        } catch let e as StoreFailure {
            printError(e.description)
            throw Exit(status: ExitStatus.failure)
        }
        if json {
            var w = JSONWriter()
            w.beginObject()
            for (ns, entries) in dump {
                w.key(ns)
                w.beginObject()
                for (key, value) in entries {
                    w.key(key)
                    if let text = printableText(value) {
                        w.string(text)
                    } else {
                        w.beginObject(); w.key("hex"); w.string(hex(value)); w.endObject()
                    }
                }
                w.endObject()
            }
            w.endObject()
            print(w.string)
            return
        }
        if dump.isEmpty {
            print("the state store in \(data) is empty")
            return
        }
        for (ns, entries) in dump {
            print(ns)
            for (key, value) in entries {
                print("  \(key) = \(printableText(value) ?? "0x" + hex(value))")
            }
        }
    }
}

/// The value as text when it is UTF-8 without control characters (tab allowed).
func printableText(_ bytes: [UInt8]) -> String? {
    guard let s = String(validating: bytes, as: UTF8.self) else { return nil }
    for u in s.unicodeScalars where (u.value < 0x20 && u != "\t") || u.value == 0x7F { return nil }
    return s
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}
