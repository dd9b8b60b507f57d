import Testing
import PgWire

@Test func PgWireModuleLinks() {
    #expect(PgWireModule.name == "PgWire")
}
