import Connectors
import FuzzSupport

// The content of an S3 object (JSON lines, SPEC §6) and object keys, as s3.Backup reads them from a
// bucket: any input gives rows or an S3FormatError, never a crash, a trap or unbounded work. Rows
// read back must write out and read again to the same rows.
@_cdecl("FuzzS3Lines_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let text = String(decoding: bytes, as: UTF8.self)
        if let key = S3ObjectKey(parsing: text) {
            guard S3ObjectKey(parsing: key.description) == key else { fatalError("object key does not read back: \(text)") }
        }
        do throws(S3FormatError) {
            _ = try S3LineFormat.rows(bytes)
        } catch {
            _ = error.description
        }
        return 0
    }
}
