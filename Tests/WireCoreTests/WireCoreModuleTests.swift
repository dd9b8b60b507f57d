import Testing
import WireCore

@Test func WireCoreModuleLinks() {
    #expect(WireCoreModule.name == "WireCore")
}
