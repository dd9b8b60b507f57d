// PipeRuntime module. See DESIGN.md in this folder where present.
public enum PipeRuntimeModule {
    public static let name = "PipeRuntime"
}
