import Testing
import PipeConfig

@Test func PipeConfigModuleLinks() {
    #expect(PipeConfigModule.name == "PipeConfig")
}
