import Testing
import PipeRuntime

@Test func PipeRuntimeModuleLinks() {
    #expect(PipeRuntimeModule.name == "PipeRuntime")
}
