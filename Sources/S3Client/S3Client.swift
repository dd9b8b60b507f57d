// S3Client module. See DESIGN.md in this folder where present.
public enum S3ClientModule {
    public static let name = "S3Client"
}
