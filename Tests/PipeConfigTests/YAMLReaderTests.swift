import Testing
import PipeConfig

private func parse(_ text: String) throws -> YAMLNode { try YAML.parse(text, file: "t.yaml") }

/// The parse error for `text`, or nil when it parses.
private func parseError(_ text: String) -> ConfigError? {
    do {
        _ = try YAML.parse(text, file: "t.yaml")
        return nil
    } catch {
        return error
    }
}

@Suite struct YAMLReaderTests {
    @Test func blockMappingKeepsOrderAndPositions() throws {
        let doc = try parse("b: 1\na: two\nc:\n  d: x\n")
        let pairs = try #require(doc.mapping)
        #expect(pairs.map(\.keyText) == ["b", "a", "c"])
        #expect(pairs[1].value.scalar?.text == "two")
        #expect(pairs[1].value.line == 2 && pairs[1].value.column == 4)
        #expect(doc["c"]?["d"]?.scalar?.text == "x")
        #expect(doc["c"]?["d"]?.line == 4)
        #expect(doc["c"]?["d"]?.column == 6)
    }

    @Test func blockSequences() throws {
        let doc = try parse("""
        list:
          - a
          - b c
        same:
        - x
        - y
        nested:
          - - 1
            - 2
          - k: v
            k2: v2
          -
            z: 1
        after: end
        """)
        #expect(doc.description == "{\"list\": [\"a\", \"b c\"], \"same\": [\"x\", \"y\"], \"nested\": [[\"1\", \"2\"], {\"k\": \"v\", \"k2\": \"v2\"}, {\"z\": \"1\"}], \"after\": \"end\"}")
    }

    @Test func flowCollections() throws {
        let doc = try parse("a: [1, 'two', \"three\", {x: y, z: [ ]}]\nb: {k: v, empty:, 'q': \"w\",}\nc: [\n  multi,\n  line\n]\nd: [http://x:1/p, a:b]\n")
        #expect(doc["a"]?.description == "[\"1\", \"two\", \"three\", {\"x\": \"y\", \"z\": []}]")
        #expect(doc["b"]?.description == "{\"k\": \"v\", \"empty\": null, \"q\": \"w\"}")
        #expect(doc["c"]?.description == "[\"multi\", \"line\"]")
        #expect(doc["d"]?.description == "[\"http://x:1/p\", \"a:b\"]")
    }

    @Test func plainScalars() throws {
        let doc = try parse("a: hello world   # comment\nb: a#b\nc: x:y\nd: folded\n  over\n\n  lines\ne:\nf: ~\ng: -1\nh: ::1\n")
        #expect(doc["a"]?.scalar?.text == "hello world")
        #expect(doc["b"]?.scalar?.text == "a#b")
        #expect(doc["c"]?.scalar?.text == "x:y")
        #expect(doc["d"]?.scalar?.text == "folded over\nlines")
        #expect(doc["e"]?.isNull == true)
        #expect(doc["f"]?.isNull == true)
        #expect(doc["g"]?.scalar?.text == "-1")
        #expect(doc["h"]?.scalar?.text == "::1")
        let commented = try parse("a: first\n  second # comment\n  # own line\nb: 2\n")
        #expect(commented.description == "{\"a\": \"first second\", \"b\": \"2\"}")
    }

    @Test func quotedScalars() throws {
        let doc = try parse(#"""
        s: 'it''s # not a comment'
        d: "tab\tnl\nq\"bs\\ \x41\u00e9\U0001F600 \/"
        m: "one
          two

          three"
        e: "joined\
            here"
        k: 'single
          folded'
        empty: ""
        """#)
        #expect(doc["s"]?.scalar?.text == "it's # not a comment")
        #expect(doc["s"]?.scalar?.style == .singleQuoted)
        #expect(doc["d"]?.scalar?.text == "tab\tnl\nq\"bs\\ Aé😀 /")
        #expect(doc["m"]?.scalar?.text == "one two\nthree")
        #expect(doc["e"]?.scalar?.text == "joinedhere")
        #expect(doc["k"]?.scalar?.text == "single folded")
        #expect(doc["empty"]?.scalar?.text == "")
        #expect(doc["empty"]?.isNull == false)
    }

    @Test func blockScalars() throws {
        let doc = try parse("""
        lit: |
          line 1
            indented
          line 3

        fold: >
          folded
          text

          para
        strip: |-
          no newline
        keep: |+
          kept

        ind: |2
            two extra
        after: x
        """)
        #expect(doc["lit"]?.scalar?.text == "line 1\n  indented\nline 3\n")
        #expect(doc["lit"]?.scalar?.style == .literal)
        #expect(doc["fold"]?.scalar?.text == "folded text\npara\n")
        #expect(doc["strip"]?.scalar?.text == "no newline")
        #expect(doc["keep"]?.scalar?.text == "kept\n\n")
        #expect(doc["ind"]?.scalar?.text == "  two extra\n")
        #expect(doc["after"]?.scalar?.text == "x")
    }

    @Test func blockScalarEdges() throws {
        // No line break at the end of the input: none in the value either.
        #expect(try parse("a: |\n  text").description == "{\"a\": \"text\"}")
        #expect(try parse("a: |+\n  text").description == "{\"a\": \"text\"}")
        #expect(try parse("a: |\n  text\n").description == "{\"a\": \"text\\n\"}")
        // Lines of spaces only are empty lines; an all-empty block is empty.
        #expect(try parse("a: >-\n    \nb: 1\n").description == "{\"a\": \"\", \"b\": \"1\"}")
        #expect(try parse("a: |\n  x\n    \n  y\n").description == "{\"a\": \"x\\n  \\ny\\n\"}")
        // At the top level, content is indented too; a line at column 0 ends the block.
        #expect((try? parse(">\n#> c\n")) .map(\.description) == "\"\"")
        #expect(try parse("--- |\n  top\n").description == "\"top\\n\"")
    }

    @Test func documentMarkersDirectiveAndComments() throws {
        let doc = try parse("%YAML 1.2\n# leading comment\n---\na: 1 # c\n# between\nb: 2\n...\n# trailing\n")
        #expect(doc.description == "{\"a\": \"1\", \"b\": \"2\"}")
        #expect(try parse("").isNull)
        #expect(try parse("# only a comment\n").isNull)
        #expect(try parse("---\n").isNull)
        #expect(try parse("...\n").isNull)
        #expect(parseError("... x\n")?.description == "t.yaml:1:5: unexpected `x` after `...`")
        #expect(try parse("\u{FEFF}a: b\r\nc: d\r\n").description == "{\"a\": \"b\", \"c\": \"d\"}")
    }

    @Test func anchorsAliasesAndMerge() throws {
        let doc = try parse("""
        base: &base
          brokers: [a:1]
          size: 10
        copy: *base
        name: &n hello
        again: *n
        merged:
          <<: *base
          size: 20
        multi:
          <<: [*base, {extra: 1}]
        """)
        #expect(doc["copy"]?.description == doc["base"]?.description)
        #expect(doc["again"]?.scalar?.text == "hello")
        #expect(doc["merged"]?.description == "{\"brokers\": [\"a:1\"], \"size\": \"20\"}")
        #expect(doc["multi"]?.description == "{\"brokers\": [\"a:1\"], \"size\": \"10\", \"extra\": \"1\"}")
    }

    @Test(arguments: [
        ("a: !!str x\n", "t.yaml:1:4: tags (`!`) are not supported; write the value without a tag"),
        ("? a\n: b\n", "t.yaml:1:1: complex mapping keys (`? `) are not supported"),
        ("[a]: b\n", "t.yaml:1:1: collections as mapping keys are not supported"),
        ("a:\n\tb: 1\n", "t.yaml:2:1: tabs are not allowed in indentation; use spaces"),
        ("a: 1\na: 2\n", "t.yaml:2:1: duplicate key `a` (first at line 1)"),
        ("a: 1\n---\nb: 2\n", "t.yaml:2:1: a second document (`---`) is not supported; a configuration file holds one document"),
        ("a: b: c\n", "t.yaml:1:5: a mapping cannot start on the same line as its key (`a: b: c`); quote the value if it contains `: `"),
        ("a: \"open\n", "t.yaml:1:4: unterminated double-quoted string"),
        ("a: 'open\n", "t.yaml:1:4: unterminated single-quoted string"),
        ("a: [1, 2\n", "t.yaml:1:4: unterminated flow collection (opened at line 1, column 4)"),
        ("a: \"\\q\"\n", "t.yaml:1:5: unknown escape `\\q` in a double-quoted string"),
        ("a: *nope\n", "t.yaml:1:4: unknown alias `*nope`: no anchor `&nope` before it"),
        ("a:\n  b: 1\n   c: 2\n", "t.yaml:3:4: `key: value` inside a multi-line value: is this line indented too far, or should the value be quoted?"),
        ("a:\n  b:\n    - 1\n   c: 2\n", "t.yaml:4:4: unexpected indentation: this line is indented more than the keys above it"),
        ("a: 1\n  b: 2\n", "t.yaml:2:3: `key: value` inside a multi-line value: is this line indented too far, or should the value be quoted?"),
        ("a: - b\n", "t.yaml:1:4: a block sequence cannot start on the same line as its key; start it on the next line"),
        ("- a\nb: 1\n", "t.yaml:2:1: unexpected `b`: wrong indentation?"),
        ("a: @x\n", "t.yaml:1:4: `@` is reserved in YAML and cannot start a plain value; quote the value"),
        ("a: x\u{1}\n", "t.yaml:1:5: character U+1 is not allowed in YAML"),
        ("%TAG ! tag:x\n---\na: 1\n", "t.yaml:1:1: directive `%TAG` is not supported"),
        ("a: [b: c]\n", "t.yaml:1:6: `key: value` entries inside `[ ]` are not supported; use `{ }`"),
        ("a:\n  - x\n  y: 1\n", "t.yaml:3:3: unexpected indentation: this line is indented more than the keys above it"),
        ("a: |x\n  t\n", "t.yaml:1:5: unexpected `x` after the block scalar indicator; the text starts on the next line"),
        ("a: &127.0.0.1 x\n", "t.yaml:1:4: anchor and alias names may contain only letters, digits, `_` and `-`; quote the value if the `&` or `*` is part of it"),
        ("&a k: v\n", "t.yaml:1:4: anchors on mapping keys are not supported; put the anchor after the `:`"),
        ("a: \"x\" y\n", "t.yaml:1:8: unexpected `y` after the quoted value"),
    ])
    func errorsGiveLineAndColumn(text: String, expected: String) {
        let e = parseError(text)
        #expect(e?.description == expected, "\(text)")
    }

    @Test func deepNestingIsBoundedNotACrash() {
        let deepFlow = String(repeating: "[", count: 10_000)
        #expect(parseError(deepFlow)?.code == .limit)
        var deepBlock = ""
        for level in 0..<200 {
            deepBlock += String(repeating: " ", count: level) + "k:\n"
        }
        #expect(parseError(deepBlock)?.code == .limit)
        let okBlock = (0..<10).map { String(repeating: " ", count: $0 * 2) + "k\($0):" }.joined(separator: "\n") + " leaf\n"
        #expect(parseError(okBlock) == nil)
    }

    @Test func aliasBombIsBounded() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for n in 1..<10 {
            text += "a\(n): &a\(n) [" + Array(repeating: "*a\(n - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(parseError(text)?.code == .limit)
    }

    @Test func invalidUTF8IsAnError() {
        let bytes: [UInt8] = Array("a: b\nc: ".utf8) + [0xC3, 0x28]
        do {
            _ = try YAML.parse(bytes: bytes, file: "bad.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "bad.yaml:2:4: the file is not valid UTF-8")
        }
    }
}
