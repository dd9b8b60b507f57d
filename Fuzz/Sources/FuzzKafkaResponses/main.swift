import FuzzSupport
import KafkaWire
import NIOCore

// Input: byte 0 picks the api (its key, or an index into the table), byte 1 the version; the
// rest is a response frame after its size prefix (header, then body). A decoded response is
// re-encoded and decoded again, which must succeed.
@_cdecl("FuzzKafkaResponses_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        guard bytes.count >= 2 else { return 0 }
        let all = KafkaAPIInfo.all
        let info = KafkaAPIInfo.forKey(Int16(bytes[0])) ?? all[Int(bytes[0]) % all.count]
        let span = Int(info.maxVersion - info.minVersion) + 1
        let version = info.minVersion + Int16(Int(bytes[1]) % span)
        var buffer = ByteBuffer(bytes: bytes[2...])
        do {
            let header = try KafkaFrame.decodeResponseHeader(apiKey: info.apiKey, apiVersion: version, from: &buffer)
            let response = try KafkaMessages.decodeResponse(apiKey: info.apiKey, version: version, from: &buffer)
            var out = ByteBuffer()
            try header.encode(into: &out, version: KafkaResponseHeader.version(apiKey: info.apiKey, apiVersion: version))
            let bodyStart = out.writerIndex
            try response.encode(into: &out, version: version)
            out.moveReaderIndex(to: bodyStart)
            _ = try KafkaMessages.decodeResponse(apiKey: info.apiKey, version: version, from: &out)
        } catch is KafkaWireError {
            // Malformed input: the expected outcome for most inputs.
        } catch {
            fatalError("unexpected error type: \(error)")
        }
        return 0
    }
}
