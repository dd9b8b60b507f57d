import Testing
import Storage

@Test func StorageModuleLinks() {
    #expect(StorageModule.name == "Storage")
}
