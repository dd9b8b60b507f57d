import Testing
import S3Client

@Test func S3ClientModuleLinks() {
    #expect(S3ClientModule.name == "S3Client")
}
