import FuzzSupport
import KafkaWire
import NIOCore

// Input: byte 0 picks the api (bits 0-6: its key, or an index into the table) and whether the
// rest is a request (bit 7 set) or a response; byte 1 picks the version; the rest is a frame
// after its size prefix (header, then body). A decoded message is re-encoded and decoded
// again, which must succeed.
@_cdecl("FuzzKafkaResponses_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        guard bytes.count >= 2 else { return 0 }
        let all = KafkaAPIInfo.all
        let isRequest = bytes[0] & 0x80 != 0
        let selector = Int(bytes[0] & 0x7F)
        let info = KafkaAPIInfo.forKey(Int16(selector)) ?? all[selector % all.count]
        let span = Int(info.maxVersion - info.minVersion) + 1
        let version = info.minVersion + Int16(Int(bytes[1]) % span)
        let flexible = info.firstFlexibleVersion.map { version >= $0 } ?? false
        var buffer = ByteBuffer(bytes: bytes[2...])
        do {
            var out = ByteBuffer()
            if isRequest {
                let headerVersion: Int16 = flexible ? 2 : 1
                let header = try KafkaRequestHeader(from: &buffer, version: headerVersion)
                let request = try KafkaMessages.decodeRequest(apiKey: info.apiKey, version: version, from: &buffer)
                try header.encode(into: &out, version: headerVersion)
                let bodyStart = out.writerIndex
                try request.encode(into: &out, version: version)
                out.moveReaderIndex(to: bodyStart)
                _ = try KafkaMessages.decodeRequest(apiKey: info.apiKey, version: version, from: &out)
            } else {
                let header = try KafkaFrame.decodeResponseHeader(apiKey: info.apiKey, apiVersion: version, from: &buffer)
                let response = try KafkaMessages.decodeResponse(apiKey: info.apiKey, version: version, from: &buffer)
                try header.encode(into: &out, version: KafkaResponseHeader.version(apiKey: info.apiKey, apiVersion: version))
                let bodyStart = out.writerIndex
                try response.encode(into: &out, version: version)
                out.moveReaderIndex(to: bodyStart)
                _ = try KafkaMessages.decodeResponse(apiKey: info.apiKey, version: version, from: &out)
            }
        } catch is KafkaWireError {
            // Malformed input: the expected outcome for most inputs.
        } catch {
            fatalError("unexpected error type: \(error)")
        }
        return 0
    }
}
