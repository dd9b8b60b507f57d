import FoundationEssentials

// WireCore module: shared wire primitives.
public enum WireCoreModule {
    public static let name = "WireCore"
    static let probe = Data([1, 2, 3])
}
