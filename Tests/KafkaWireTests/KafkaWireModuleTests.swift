import Testing
import KafkaWire

@Test func KafkaWireModuleLinks() {
    #expect(KafkaWireModule.name == "KafkaWire")
}
