// Reads a schema from its JSON form (Avro 1.11 "Schema Declaration", "Names", "Logical Types").
// Named types go into one table of full names as they are defined; a later use of a name is
// replaced by the definition, and a use inside the record being defined becomes `.reference`.

import WireCore

extension AvroSchema {
    /// Parses a schema: a JSON string naming a primitive type (`"long"`), a JSON array (a union)
    /// or a JSON object. A logical type that is unknown, or invalid for its underlying type, is
    /// ignored and the underlying type is used, as the specification says.
    public static func parse(json: String) throws(AvroError) -> AvroSchema {
        let value: JSONValue
        do {
            value = try JSONValue.parse(json)
        } catch {
            throw AvroFailure.schema("not valid JSON (\(error))").error
        }
        var parser = SchemaParser()
        do {
            return try parser.parse(value, namespace: "")
        } catch {
            throw error.error
        }
    }
}

struct SchemaParser {
    /// Named types whose definition is complete, by full name.
    var defined: [String: AvroSchema] = [:]
    /// Records whose fields are being read: a use of one of these names is recursive.
    var recordsInProgress: Set<String> = []

    static func primitive(_ name: String) -> AvroSchema? {
        switch name {
        case "null": .null
        case "boolean": .boolean
        case "int": .int
        case "long": .long
        case "float": .float
        case "double": .double
        case "bytes": .bytes
        case "string": .string
        default: nil
        }
    }

    mutating func parse(_ json: JSONValue, namespace: String) throws(AvroFailure) -> AvroSchema {
        switch json {
        case .string(let name): return try resolve(name, namespace: namespace)
        case .array(let branches): return try union(branches, namespace: namespace)
        case .object(let members): return try object(members, namespace: namespace)
        default: throw .schema("a schema must be a type name, an array (a union) or an object")
        }
    }

    /// A primitive type name, or the name of a named type defined before.
    func resolve(_ name: String, namespace: String) throws(AvroFailure) -> AvroSchema {
        if let primitive = Self.primitive(name) { return primitive }
        // A name with a dot is a full name; otherwise it is in the enclosing namespace, and we also
        // try the null namespace (as the Java implementation does).
        let candidates = name.contains(".") || namespace.isEmpty ? [name] : [namespace + "." + name, name]
        for candidate in candidates {
            if recordsInProgress.contains(candidate) { return .reference(candidate) }
            if let schema = defined[candidate] { return schema }
        }
        throw .schema("unknown type \"\(name)\"")
    }

    mutating func object(_ members: [(String, JSONValue)], namespace: String) throws(AvroFailure) -> AvroSchema {
        guard let type = member(members, "type") else { throw .schema("an object schema needs \"type\"") }
        switch type {
        case .string(let typeName):
            switch typeName {
            case "record", "error": return try record(members, namespace: namespace)
            case "enum": return try enumeration(members, namespace: namespace)
            case "fixed": return try fixed(members, namespace: namespace)
            case "array":
                guard let items = member(members, "items") else { throw .schema("an array needs \"items\"") }
                return .array(items: try parse(items, namespace: namespace))
            case "map":
                guard let values = member(members, "values") else { throw .schema("a map needs \"values\"") }
                return .map(values: try parse(values, namespace: namespace))
            default:
                let base = try resolve(typeName, namespace: namespace)
                guard Self.primitive(typeName) != nil else { return base }
                return logicalType(on: base, members)
            }
        case .object, .array:
            // {"type": {...}}: the nested schema is the type.
            return try parse(type, namespace: namespace)
        default:
            throw .schema("\"type\" must be a type name or a schema")
        }
    }

    func logicalType(on base: AvroSchema, _ members: [(String, JSONValue)]) -> AvroSchema {
        guard case .string(let logical)? = member(members, "logicalType") else { return base }
        switch (logical, base) {
        case ("date", .int): return .date
        case ("time-millis", .int): return .timeMillis
        case ("time-micros", .long): return .timeMicros
        case ("timestamp-millis", .long): return .timestampMillis
        case ("timestamp-micros", .long): return .timestampMicros
        case ("local-timestamp-millis", .long): return .localTimestampMillis
        case ("local-timestamp-micros", .long): return .localTimestampMicros
        case ("uuid", .string): return .uuid
        case ("decimal", .bytes):
            guard let (precision, scale) = decimalParameters(members, maxPrecision: nil) else { return base }
            return .decimal(precision: precision, scale: scale, underlying: base)
        default: return base
        }
    }

    /// precision > 0 (and no more than the fixed size can hold), 0 <= scale <= precision; nil when
    /// invalid, which makes the logical type ignored.
    func decimalParameters(_ members: [(String, JSONValue)], maxPrecision: Int?) -> (Int, Int)? {
        guard let precision = integer(member(members, "precision")), precision > 0 else { return nil }
        if let maxPrecision, precision > maxPrecision { return nil }
        var scale = 0
        if let json = member(members, "scale") {
            guard let value = integer(json) else { return nil }
            scale = value
        }
        guard scale >= 0, scale <= precision else { return nil }
        return (precision, scale)
    }

    mutating func record(_ members: [(String, JSONValue)], namespace: String) throws(AvroFailure) -> AvroSchema {
        let (fullName, innerNamespace) = try name(members, namespace: namespace)
        guard case .array(let fieldsJSON)? = member(members, "fields") else {
            throw .schema("record \(fullName) needs a \"fields\" array")
        }
        recordsInProgress.insert(fullName)
        var fields: [AvroSchema.Field] = []
        fields.reserveCapacity(fieldsJSON.count)
        var seen: Set<String> = []
        for fieldJSON in fieldsJSON {
            guard case .object(let fieldMembers) = fieldJSON,
                  case .string(let fieldName)? = member(fieldMembers, "name") else {
                throw .schema("each field of record \(fullName) must be an object with a \"name\"")
            }
            guard Self.isValidName(fieldName) else {
                throw .schema("invalid field name \"\(fieldName)\" in record \(fullName)")
            }
            guard seen.insert(fieldName).inserted else {
                throw .schema("field \"\(fieldName)\" appears twice in record \(fullName)")
            }
            guard let typeJSON = member(fieldMembers, "type") else {
                throw AvroFailure.schema("field needs a \"type\"").within(fieldName)
            }
            do {
                fields.append(.init(name: fieldName, type: try parse(typeJSON, namespace: innerNamespace)))
            } catch {
                throw error.within(fieldName)
            }
        }
        recordsInProgress.remove(fullName)
        let schema = AvroSchema.record(name: fullName, fields: fields)
        defined[fullName] = schema
        return schema
    }

    mutating func enumeration(_ members: [(String, JSONValue)], namespace: String) throws(AvroFailure) -> AvroSchema {
        let (fullName, _) = try name(members, namespace: namespace)
        guard case .array(let symbolsJSON)? = member(members, "symbols") else {
            throw .schema("enum \(fullName) needs a \"symbols\" array")
        }
        var symbols: [String] = []
        var seen: Set<String> = []
        for symbolJSON in symbolsJSON {
            guard case .string(let symbol) = symbolJSON, Self.isValidName(symbol) else {
                throw .schema("enum \(fullName) has a symbol that is not a valid name")
            }
            guard seen.insert(symbol).inserted else {
                throw .schema("symbol \"\(symbol)\" appears twice in enum \(fullName)")
            }
            symbols.append(symbol)
        }
        let schema = AvroSchema.enum(name: fullName, symbols: symbols)
        defined[fullName] = schema
        return schema
    }

    mutating func fixed(_ members: [(String, JSONValue)], namespace: String) throws(AvroFailure) -> AvroSchema {
        let (fullName, _) = try name(members, namespace: namespace)
        guard let size = integer(member(members, "size")), size >= 0, size <= Int(Int32.max) else {
            throw .schema("fixed \(fullName) needs a \"size\" from 0 to 2147483647")
        }
        let base = AvroSchema.fixed(name: fullName, size: size)
        var schema = base
        if case .string(let logical)? = member(members, "logicalType") {
            switch logical {
            case "decimal" where size > 0:
                if let (precision, scale) = decimalParameters(members, maxPrecision: Self.maxDecimalPrecision(size: size)) {
                    schema = .decimal(precision: precision, scale: scale, underlying: base)
                }
            case "uuid" where size == 16:
                schema = .uuidFixed(name: fullName)
            default:
                break  // unknown (e.g. "duration"): the plain fixed
            }
        }
        defined[fullName] = schema
        return schema
    }

    /// The most decimal digits a two's-complement number of `size` bytes always holds:
    /// floor(log10(2^(8·size−1) − 1)) = floor((8·size−1)·log10 2), 2^k never being a power of ten.
    static func maxDecimalPrecision(size: Int) -> Int {
        Int((Double(8 * size - 1) * 0.301_029_995_663_981_2).rounded(.down))
    }

    mutating func union(_ branchesJSON: [JSONValue], namespace: String) throws(AvroFailure) -> AvroSchema {
        var branches: [AvroSchema] = []
        branches.reserveCapacity(branchesJSON.count)
        var seen: Set<String> = []
        for (index, branchJSON) in branchesJSON.enumerated() {
            let branch: AvroSchema
            do {
                branch = try parse(branchJSON, namespace: namespace)
            } catch {
                throw error.within("[union branch \(index)]")
            }
            // Avro 1.11 "Unions": no union directly in a union, and at most one branch of each
            // unnamed type (logical types count as their underlying type).
            if case .union = branch { throw .schema("a union may not directly contain a union") }
            let key = Self.unionKey(branch)
            guard seen.insert(key).inserted else { throw .schema("union has two branches of type \(key)") }
            branches.append(branch)
        }
        return .union(branches)
    }

    static func unionKey(_ schema: AvroSchema) -> String {
        if let name = schema.fullName { return name }
        switch schema {
        case .null: return "null"
        case .boolean: return "boolean"
        case .int, .date, .timeMillis: return "int"
        case .long, .timeMicros, .timestampMillis, .timestampMicros, .localTimestampMillis,
             .localTimestampMicros: return "long"
        case .float: return "float"
        case .double: return "double"
        case .bytes, .decimal: return "bytes"
        case .string, .uuid: return "string"
        case .array: return "array"
        case .map: return "map"
        case .union: return "union"
        case .record, .enum, .fixed, .uuidFixed, .reference: return "named"  // unreachable: these have names
        }
    }

    /// The full name of a named type being defined and the namespace for the names inside it.
    func name(_ members: [(String, JSONValue)], namespace: String) throws(AvroFailure) -> (String, String) {
        guard case .string(let name)? = member(members, "name") else {
            throw .schema("a named type needs a \"name\"")
        }
        let fullName: String
        if name.contains(".") {
            fullName = name
        } else {
            var enclosing = namespace
            switch member(members, "namespace") {
            case .string(let value)?: enclosing = value
            case .null?, nil: break
            default: throw .schema("\"namespace\" of \(name) must be a string")
            }
            fullName = enclosing.isEmpty ? name : enclosing + "." + name
        }
        let parts = fullName.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.allSatisfy({ Self.isValidName(Substring($0)) }) else {
            throw .schema("\"\(fullName)\" is not a valid name")
        }
        guard Self.primitive(fullName) == nil else {
            throw .schema("\"\(fullName)\" is a primitive type and cannot be redefined")
        }
        guard defined[fullName] == nil, !recordsInProgress.contains(fullName) else {
            throw .schema("\"\(fullName)\" is defined twice")
        }
        let innerNamespace = parts.dropLast().joined(separator: ".")
        return (fullName, innerNamespace)
    }

    /// [A-Za-z_][A-Za-z0-9_]* (Avro 1.11 "Names").
    static func isValidName(_ name: some StringProtocol) -> Bool {
        var first = true
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"): break
            case UInt8(ascii: "0")...UInt8(ascii: "9") where !first: break
            default: return false
            }
            first = false
        }
        return !first
    }

    func member(_ members: [(String, JSONValue)], _ key: String) -> JSONValue? {
        members.first { $0.0 == key }?.1
    }

    func integer(_ json: JSONValue?) -> Int? {
        guard case .number(let text)? = json else { return nil }
        return Int(text)
    }
}
