import WireCore
import Storage

/// `kafka-pipe state`: prints the store, or deletes positions (`--delete NAME --key K | --prefix P`).
struct StateCommand {
    var options: Invocation.StateOptions
    var data: String { options.data }
    var json: Bool { options.json }
    var deleteName: String? { options.deleteName }
    var keys: [String] { options.keys }
    var prefix: String? { options.prefix }

    func run() async throws {
        if let name = deleteName {
            try await delete(name: name)
            return
        }
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

extension StateCommand {
    /// Deletes the chosen keys of one namespace in one atomic batch and prints each one removed.
    func delete(name: String) async throws {
        let handle: StoreHandle
        do {
            handle = try StoreHandle.open(directory: data)
        } catch {
            printError(error.isLocked ? "\(error.description) (stop the connector first)" : error.description)
            throw Exit(status: ExitStatus.failure)
        }
        defer { handle.close() }
        let ns = handle.store.namespace(name)
        var doomed = keys.filter { ns.get($0) != nil }
        if let prefix { doomed += ns.scan(prefix: prefix).map(\.key).filter { !doomed.contains($0) } }
        for k in keys where ns.get(k) == nil { print("no key \(k) in \(name)") }
        guard !doomed.isEmpty else {
            print("nothing to delete in \(name)")
            return
        }
        var batch = StateBatch()
        for k in doomed { batch.delete(k) }
        do {
            try ns.writeSync(batch)
        } catch {
            printError("state store: \(error)")
            throw Exit(status: ExitStatus.failure)
        }
        for k in doomed { print("deleted \(name) \(k)") }
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
