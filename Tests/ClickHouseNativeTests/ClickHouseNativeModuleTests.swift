import Testing
import ClickHouseNative

@Test func ClickHouseNativeModuleLinks() {
    #expect(ClickHouseNativeModule.name == "ClickHouseNative")
}
