import Testing
import Connectors

@Test func ConnectorsModuleLinks() {
    #expect(ConnectorsModule.name == "Connectors")
}
