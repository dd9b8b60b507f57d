// Connectors module. See DESIGN.md in this folder where present.
public enum ConnectorsModule {
    public static let name = "Connectors"
}
