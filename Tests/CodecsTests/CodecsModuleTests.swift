import Testing
import Codecs

@Test func CodecsModuleLinks() {
    #expect(CodecsModule.name == "Codecs")
}
