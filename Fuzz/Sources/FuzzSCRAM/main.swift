import FuzzSupport
import PipeAuth

/// Input: server-first-message, a 0 byte, server-final-message. The client nonce is "fuzz".
@_cdecl("FuzzSCRAM_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        let serverFirst = Array(parts[0])
        // Large iteration counts are valid but only make PBKDF2 slow: skip them.
        if let i = serverFirst.firstRange(of: Array("i=".utf8)) {
            if serverFirst[i.upperBound...].prefix(while: { $0 >= 0x30 && $0 <= 0x39 }).count > 4 { return 0 }
        }
        for mechanism in [SCRAMClient.Mechanism.sha256, .sha512] {
            var client = SCRAMClient(mechanism: mechanism, username: "user", password: "pencil", nonce: "fuzz")
            _ = client.clientFirstMessage()
            guard (try? client.receiveServerFirst(serverFirst)) != nil else { continue }
            if parts.count > 1 { try? client.receiveServerFinal(Array(parts[1])) }
        }
        return 0
    }
}
