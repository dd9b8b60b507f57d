// PipeTLS module. See DESIGN.md in this folder where present.
public enum PipeTLSModule {
    public static let name = "PipeTLS"
}
