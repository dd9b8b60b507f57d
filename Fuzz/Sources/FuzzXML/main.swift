import FuzzSupport
import S3Client

// Arbitrary bytes through the S3 XML reader: a tree or an S3Error (.malformedXML), never a crash,
// a trap or unbounded work. Whatever parses must survive escaping its text and parsing it again.
@_cdecl("FuzzXML_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        let bytes = fuzzBytes(data, size)
        let root: XMLElement
        do throws(S3Error) {
            root = try XMLReader(maxDepth: 32, maxBytes: 1 << 20, maxElements: 10_000).parse(bytes)
        } catch {
            precondition(error.code == .malformedXML, "unexpected error code \(error.code)")
            _ = error.description
            return 0
        }
        let again = "<r>" + xmlEscape(root.text) + "</r>"
        do throws(S3Error) {
            let back = try XMLReader.parse(Array(again.utf8))
            precondition(back.text == root.text, "escaped text does not read back")
        } catch {
            fatalError("escaped text does not parse: \(error)")
        }
        return 0
    }
}
