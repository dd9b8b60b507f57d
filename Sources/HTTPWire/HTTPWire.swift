// HTTPWire module. See DESIGN.md in this folder where present.
public enum HTTPWireModule {
    public static let name = "HTTPWire"
}
