// Storage module. See DESIGN.md in this folder where present.
public enum StorageModule {
    public static let name = "Storage"
}
