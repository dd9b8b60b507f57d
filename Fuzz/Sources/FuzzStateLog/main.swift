import FuzzSupport
import Storage
#if canImport(Glibc)
import Glibc
#endif

// Opens arbitrary bytes as a state log: read-only first (must never change the file), then
// writable (cuts a bad tail), then a write and a reopen that must see it. Any crash, trap or
// overread is a bug; a typed StorageError (a foreign header) is fine.

// On tmpfs (/dev/shm) fsync costs nothing, so the fuzzer is not bound by the disk.
nonisolated(unsafe) var fuzzDirectory: String = {
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    var template = Array("\(base)/kp-fuzz-state-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(cString: template)
}()

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot write \(path)")
    bytes.withUnsafeBytes { b in
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            precondition(n > 0)
            done += n
        }
    }
    close(fd)
}

func readAll(_ store: StateStore) -> [String: [(key: String, value: [UInt8])]] {
    var out: [String: [(key: String, value: [UInt8])]] = [:]
    for ns in store.namespaces() { out[ns] = store.namespace(ns).scan(prefix: "") }
    return out
}

@_cdecl("FuzzStateLog_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let dir = fuzzDirectory
        writeFile(dir + "/state.log", bytes)
        guard let ro = try? StateStore.openReadOnly(directory: dir) else { return 0 }
        let seen = readAll(ro)
        for (ns, entries) in seen {
            for e in entries { precondition(ro.namespace(ns).get(e.key) == e.value) }
        }
        guard let rw = try? StateStore.open(directory: dir, options: .init(preallocationBytes: 0)) else {
            return 0
        }
        // The writable open recovers exactly what the read-only one read.
        let again = readAll(rw)
        precondition(again.keys.sorted() == seen.keys.sorted())
        for (ns, entries) in seen { precondition(again[ns]!.map(\.key) == entries.map(\.key)) }
        try? rw.namespace("fuzz").putSync("k", [1, 2, 3])
        try? rw.close()
        let after = try? StateStore.openReadOnly(directory: dir)
        precondition(after?.namespace("fuzz").get("k") == [1, 2, 3], "a write after recovery was lost")
        return 0
    }
}
