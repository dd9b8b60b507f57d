// The generator's model of a message: structs, fields and their Swift types.

indirect enum FieldType: Equatable {
    case bool, int8, int16, uint16, int32, uint32, int64, float64, string, uuid, bytes, records
    case array(FieldType)
    case named(String)

    init(_ text: String) {
        if text.hasPrefix("[]") {
            self = .array(FieldType(String(text.dropFirst(2))))
            return
        }
        switch text {
        case "bool": self = .bool
        case "int8": self = .int8
        case "int16": self = .int16
        case "uint16": self = .uint16
        case "int32": self = .int32
        case "uint32": self = .uint32
        case "int64": self = .int64
        case "float64": self = .float64
        case "string": self = .string
        case "uuid": self = .uuid
        case "bytes": self = .bytes
        case "records": self = .records
        default: self = .named(text)
        }
    }

    var swiftName: String {
        switch self {
        case .bool: "Bool"
        case .int8: "Int8"
        case .int16: "Int16"
        case .uint16: "UInt16"
        case .int32: "Int32"
        case .uint32: "UInt32"
        case .int64: "Int64"
        case .float64: "Double"
        case .string: "String"
        case .uuid: "KafkaUUID"
        case .bytes: "[UInt8]"
        case .records: "ByteBuffer"
        case .array(let e): "[\(e.swiftName)]"
        case .named(let n): n
        }
    }

    var isInteger: Bool {
        switch self {
        case .int8, .int16, .uint16, .int32, .uint32, .int64: true
        default: false
        }
    }
}

struct Field {
    var name: String
    var property: String
    var type: FieldType
    var versions: Versions
    var nullableVersions: Versions
    var taggedVersions: Versions
    var tag: Int?
    var defaultText: String?
    var ignorable: Bool
    var flexibleOverride: Versions?
    var about: String?

    init(_ spec: FieldSpec) throws {
        name = spec.name
        property = swiftProperty(spec.name)
        type = FieldType(spec.type)
        versions = try Versions(spec.versions)
        nullableVersions = try Versions(spec.nullableVersions)
        taggedVersions = try Versions(spec.taggedVersions)
        tag = spec.tag
        defaultText = spec.default?.text
        ignorable = spec.ignorable ?? false
        flexibleOverride = try spec.flexibleVersions.map { try Versions($0) }
        about = spec.about
        if !taggedVersions.isNone && taggedVersions.high != nil {
            throw CodegenError("\(name): bounded taggedVersions are not supported")
        }
        if !taggedVersions.isNone && tag == nil { throw CodegenError("\(name): taggedVersions without tag") }
    }

    /// The versions where the field is a regular (positional) field: `versions` minus the
    /// tagged tail.
    var regularVersions: Versions {
        if taggedVersions.isNone { return versions }
        if versions.isNone { return .none }
        let hi = taggedVersions.low - 1
        if hi < versions.low { return .none }
        return Versions(low: versions.low, high: min(versions.high ?? hi, hi))
    }

    func isOptional(valid: ClosedRange<Int>) -> Bool {
        nullableVersions.condition(within: valid) != "false"
    }
}

struct Struct {
    var name: String
    var fields: [Field]
}

/// One JSON definition turned into the structs to emit.
struct Message {
    var spec: MessageSpec
    var swiftName: String
    var valid: ClosedRange<Int>
    var flexible: Versions
    var top: Struct
    var nested: [Struct]  // in order of first appearance, including commonStructs

    init(_ spec: MessageSpec, swiftName: String) throws {
        self.spec = spec
        self.swiftName = swiftName
        let v = try Versions(spec.validVersions)
        guard !v.isNone, let hi = v.high else { throw CodegenError("\(spec.name): bad validVersions") }
        valid = v.low...hi
        flexible = try Versions(spec.flexibleVersions)
        var nested: [Struct] = []
        var seen: Set<String> = []
        func collect(_ fields: [FieldSpec]) throws -> [Field] {
            var out: [Field] = []
            for f in fields {
                let field = try Field(f)
                if let sub = f.fields {
                    var t = field.type
                    while case .array(let e) = t { t = e }
                    guard case .named(let n) = t else { throw CodegenError("\(f.name): fields on a primitive") }
                    let subFields = try collect(sub)
                    if !seen.contains(n) {
                        seen.insert(n)
                        nested.append(Struct(name: n, fields: subFields))
                    }
                }
                out.append(field)
            }
            return out
        }
        let topFields = try collect(spec.fields)
        for cs in spec.commonStructs ?? [] where !seen.contains(cs.name) {
            seen.insert(cs.name)
            nested.append(Struct(name: cs.name, fields: try collect(cs.fields)))
        }
        top = Struct(name: swiftName, fields: topFields)
        self.nested = nested
        // Every named type must be defined here.
        for s in [top] + nested {
            for f in s.fields {
                var t = f.type
                while case .array(let e) = t { t = e }
                if case .named(let n) = t, !seen.contains(n) {
                    throw CodegenError("\(spec.name).\(f.name): unknown type \(n)")
                }
            }
        }
    }

    var firstFlexible: Int? {
        flexible.isNone ? nil : max(flexible.low, valid.lowerBound)
    }
}

let swiftKeywords: Set<String> = [
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
    "inout", "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public",
    "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue",
    "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return",
    "throw", "switch", "where", "while", "as", "false", "is", "nil", "self", "Self", "super", "throws",
    "true", "try", "Any", "some", "any",
]

/// `ThrottleTimeMs` → `throttleTimeMs`; a leading acronym is lowered as a whole (`ACLs` → `acls`).
func swiftProperty(_ name: String) -> String {
    let chars = Array(name)
    var i = 0
    while i < chars.count, chars[i].isUppercase { i += 1 }
    let lowered: String
    if i <= 1 {
        lowered = chars.first.map { String($0).lowercased() + String(chars.dropFirst()) } ?? name
    } else if i == chars.count {
        lowered = name.lowercased()
    } else {
        // "KRaftVersion": keep the last capital as the start of the next word.
        lowered = String(chars[0..<(i - 1)]).lowercased() + String(chars[(i - 1)...])
    }
    return swiftKeywords.contains(lowered) ? "`\(lowered)`" : lowered
}
