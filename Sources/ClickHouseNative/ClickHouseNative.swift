// ClickHouseNative module. See DESIGN.md in this folder where present.
public enum ClickHouseNativeModule {
    public static let name = "ClickHouseNative"
}
