// PgWire module. See DESIGN.md in this folder where present.
public enum PgWireModule {
    public static let name = "PgWire"
}
