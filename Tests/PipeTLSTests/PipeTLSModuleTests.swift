import Testing
import PipeTLS

@Test func PipeTLSModuleLinks() {
    #expect(PipeTLSModule.name == "PipeTLS")
}
