import Testing
@testable import S3Client

@Suite struct XMLReaderTests {
    @Test func listBucketResult() throws {
        let doc = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
          <!-- a comment -->
          <Contents><Key>a &amp; b &lt;c&gt; &quot;q&quot; &apos;s&apos; &#233;&#x1F600;</Key><Size>12</Size></Contents>
          <Contents><Key><![CDATA[x<y>&z]]></Key><Size>0</Size></Contents>
          <IsTruncated>false</IsTruncated>
        </ListBucketResult>
        """
        let root = try XMLReader.parse(Array(doc.utf8))
        #expect(root.name == "ListBucketResult")
        #expect(root.attributes["xmlns"] == "http://s3.amazonaws.com/doc/2006-03-01/")
        let contents = root.all("Contents")
        #expect(contents.count == 2)
        #expect(contents[0].text("Key") == "a & b <c> \"q\" 's' é😀")
        #expect(contents[1].text("Key") == "x<y>&z")
        #expect(root.text("IsTruncated") == "false")
    }

    @Test func prefixesAndSelfClosing() throws {
        let root = try XMLReader.parse(Array("<s3:A xmlns:s3='x' k=\"v\"><s3:B/><C a='1' b='&amp;'></C></s3:A>".utf8))
        #expect(root.name == "A")
        #expect(root.children.map(\.name) == ["B", "C"])
        #expect(root.child("C")?.attributes == ["a": "1", "b": "&"])
    }

    @Test(arguments: [
        "", "<", "<a>", "<a></b>", "<a>&foo;</a>", "<a>&#0;</a>", "<a>&#x110000;</a>", "<a>&#;</a>", "<a>&amp</a>",
        "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", "<a></a><b></b>", "<a b='1' b='2'/>", "<a b=1/>",
        "<a><![CDATA[x</a>", "<a><!-- x</a>", "text", "<a b='<'/>",
    ])
    func malformed(_ doc: String) {
        #expect(throws: S3Error.self) { try XMLReader.parse(Array(doc.utf8)) }
        do { _ = try XMLReader.parse(Array(doc.utf8)) } catch { #expect(error.code == .malformedXML) }
    }

    @Test func invalidUTF8() {
        #expect(throws: S3Error.self) { try XMLReader.parse([0x3C, 0x61, 0x3E, 0xFF, 0xFE, 0x3C, 0x2F, 0x61, 0x3E]) }
    }

    @Test func depthAndSizeBounds() throws {
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: S3Error.self) { try XMLReader.parse(Array(deep.utf8)) }
        let ok = String(repeating: "<a>", count: 10) + String(repeating: "</a>", count: 10)
        #expect(try XMLReader(maxDepth: 10).parse(Array(ok.utf8)).name == "a")
        #expect(throws: S3Error.self) { try XMLReader(maxDepth: 9).parse(Array(ok.utf8)) }
        #expect(throws: S3Error.self) { try XMLReader(maxBytes: 10).parse(Array(ok.utf8)) }
        let many = "<r>" + String(repeating: "<x/>", count: 50) + "</r>"
        #expect(throws: S3Error.self) { try XMLReader(maxElements: 20).parse(Array(many.utf8)) }
    }

    @Test func escapeRoundTrip() throws {
        let text = "a&b<c>\"d\"'e' \r ü"
        let root = try XMLReader.parse(Array("<k>\(xmlEscape(text))</k>".utf8))
        #expect(root.text == text)
    }

    @Test func errorDescriptionHasNoSecret() {
        let e = S3Error(.service, "The request signature we calculated does not match", s3Code: "SignatureDoesNotMatch",
                        requestID: "R1", status: 403, bucket: "b", key: "k")
        #expect(e.description.contains("SignatureDoesNotMatch"))
        #expect(e.description.contains("R1"))
        #expect(!e.isRetryable)
        #expect(S3Error(.service, "slow", s3Code: "SlowDown", status: 503).isRetryable)
        #expect(S3Error(.service, "x", s3Code: "InternalError", status: 500).isRetryable)
        #expect(!S3Error(.service, "x", s3Code: "NoSuchKey", status: 404).isRetryable)
    }

    @Test func endpointURL() {
        #expect(S3Client.Endpoint(url: "http://127.0.0.1:9900") == S3Client.Endpoint(host: "127.0.0.1", port: 9900, useTLS: false))
        #expect(S3Client.Endpoint(url: "https://s3.amazonaws.com")?.port == 443)
        #expect(S3Client.Endpoint(url: "ftp://x") == nil)
        #expect(S3Client.Endpoint(url: "http://x:99999") == nil)
    }
}
