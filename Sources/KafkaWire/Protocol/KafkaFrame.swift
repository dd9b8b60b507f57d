public import NIOCore

extension KafkaRequestHeader {
    /// The request header version for a request body at `apiVersion`: 2 (compact, tagged) when
    /// the body is flexible, 1 otherwise. (Header v0, without a client id, was only ever used by
    /// ControlledShutdown v0, which this module does not speak.)
    public static func version<R: KafkaRequest>(for request: R.Type, apiVersion: Int16) -> Int16 {
        R.isFlexible(apiVersion) ? 2 : 1
    }
}

extension KafkaResponseHeader {
    /// The response header version for a response at `apiVersion`: 1 when flexible, 0
    /// otherwise, and always 0 for ApiVersions, whose response a client must be able to read
    /// before it knows which versions the broker speaks.
    public static func version(apiKey: Int16, apiVersion: Int16) -> Int16 {
        if apiKey == ApiVersionsResponse.apiKey { return 0 }
        guard let first = KafkaAPIInfo.forKey(apiKey)?.firstFlexibleVersion else { return 0 }
        return apiVersion >= first ? 1 : 0
    }
}

/// Request and response frames: an INT32 size, a header, a body.
public enum KafkaFrame {
    /// Appends a whole request frame (size prefix included) for `request` at `version`.
    public static func encodeRequest<R: KafkaRequest>(
        _ request: R, version: Int16, correlationId: Int32, clientId: String?, into buffer: inout ByteBuffer
    ) throws {
        let start = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        let header = KafkaRequestHeader(requestApiKey: R.apiKey, requestApiVersion: version,
                                        correlationId: correlationId, clientId: clientId)
        try header.encode(into: &buffer, version: KafkaRequestHeader.version(for: R.self, apiVersion: version))
        try request.encode(into: &buffer, version: version)
        let size = buffer.writerIndex - start - 4
        guard size <= Int(Int32.max) else { throw KafkaWireError(.valueTooLong, "request frame") }
        buffer.setInteger(Int32(size), at: start)
    }

    /// Reads the response header of a frame whose size prefix is already removed.
    public static func decodeResponseHeader(apiKey: Int16, apiVersion: Int16,
                                            from buffer: inout ByteBuffer) throws -> KafkaResponseHeader {
        try KafkaResponseHeader(from: &buffer, version: KafkaResponseHeader.version(apiKey: apiKey, apiVersion: apiVersion))
    }

    /// Decodes a response frame (size prefix removed): its header, then the body of
    /// `R.Response` at `version`. Bytes after the body are ignored, as Kafka's Java client
    /// ignores them (librdkafka's mock cluster, for one, sends a stray byte after Metadata v12).
    public static func decodeResponse<R: KafkaRequest>(
        to request: R.Type, version: Int16, from buffer: inout ByteBuffer
    ) throws -> (correlationId: Int32, response: R.Response) {
        let header = try decodeResponseHeader(apiKey: R.apiKey, apiVersion: version, from: &buffer)
        let response = try R.Response(from: &buffer, version: version)
        return (header.correlationId, response)
    }

    /// The correlation id a response frame starts with (every response header begins with it),
    /// so a connection can find the pending request, and with it the type to decode, first.
    public static func peekCorrelationId(_ frame: ByteBuffer) -> Int32? {
        frame.getInteger(at: frame.readerIndex, as: Int32.self)
    }

    /// Decodes a response frame (size prefix removed) of any api in the table.
    public static func decodeResponse(apiKey: Int16, apiVersion: Int16,
                                      from buffer: inout ByteBuffer) throws -> (correlationId: Int32, response: any KafkaResponse) {
        let header = try decodeResponseHeader(apiKey: apiKey, apiVersion: apiVersion, from: &buffer)
        let response = try KafkaMessages.decodeResponse(apiKey: apiKey, version: apiVersion, from: &buffer)
        return (header.correlationId, response)
    }

    /// Reads one frame's body (after the INT32 size) when the whole frame is there; nil when
    /// more bytes are needed. A negative size or one above `maxSize` is an error.
    public static func readFrame(from buffer: inout ByteBuffer, maxSize: Int = 100 << 20) throws -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
        guard size >= 0, Int(size) <= maxSize else {
            throw KafkaWireError(.invalidLength, "frame size \(size) (limit \(maxSize))")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))
    }
}
