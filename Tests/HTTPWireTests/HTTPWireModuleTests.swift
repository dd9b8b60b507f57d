import Testing
import HTTPWire

@Test func HTTPWireModuleLinks() {
    #expect(HTTPWireModule.name == "HTTPWire")
}
