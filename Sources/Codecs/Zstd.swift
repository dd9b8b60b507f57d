public enum Zstd {
    public static func compress(_ input: [UInt8], level: Int = 1) -> [UInt8] { fatalError() }
    public static func decompress(_ input: [UInt8], maxOutput: Int = codecDefaultMaxOutput) throws -> [UInt8] { throw CodecError(.unsupported, "zstd") }
}
