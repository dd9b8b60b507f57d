import Testing
import PipeAuth

@Test func PipeAuthModuleLinks() {
    #expect(PipeAuthModule.name == "PipeAuth")
}
