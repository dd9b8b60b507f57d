import NIOCore

extension ByteBuffer {
    /// Reads a NUL-terminated string; nil when no NUL is left in the readable bytes.
    mutating func pgReadCString() -> String? {
        guard let nul = self.readableBytesView.firstIndex(of: 0) else { return nil }
        let length = nul - self.readerIndex
        let s = self.readString(length: length)
        self.moveReaderIndex(forwardBy: 1)
        return s
    }

    mutating func pgReadCStringOrThrow(_ what: StaticString) throws(PostgresError) -> String {
        guard let s = pgReadCString() else { throw .malformed("\(what): missing NUL terminator") }
        return s
    }

    mutating func pgReadInt<T: FixedWidthInteger>(_ what: StaticString, as: T.Type = T.self) throws(PostgresError) -> T {
        guard let v = readInteger(as: T.self) else { throw .malformed("\(what): message too short") }
        return v
    }

    mutating func pgReadByte(_ what: StaticString) throws(PostgresError) -> UInt8 {
        guard let v = readInteger(as: UInt8.self) else { throw .malformed("\(what): message too short") }
        return v
    }

    /// Reads an Int32 length (with -1 meaning NULL) and that many bytes, checking them first.
    mutating func pgReadLengthPrefixedSlice(_ what: StaticString) throws(PostgresError) -> ByteBuffer? {
        let n: Int32 = try pgReadInt(what)
        if n == -1 { return nil }
        guard n >= 0, Int(n) <= readableBytes, let slice = readSlice(length: Int(n)) else {
            throw .malformed("\(what): length \(n) exceeds the \(readableBytes) bytes left")
        }
        return slice
    }

    mutating func pgWriteCString(_ s: String) {
        writeString(s)
        writeInteger(UInt8(0))
    }
}
