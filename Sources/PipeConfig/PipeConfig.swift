// PipeConfig module. See DESIGN.md in this folder where present.
public enum PipeConfigModule {
    public static let name = "PipeConfig"
}
