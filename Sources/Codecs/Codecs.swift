internal import CZlib

// Codecs module: gzip (zlib), Snappy, LZ4, Zstandard.
public enum CodecsModule {
    public static let name = "Codecs"
    public static var zlibVersionString: String { String(cString: CZlib.zlibVersion()) }
}
