// Records → rows for ch.Sink: the JSON mapping of SPEC §5 (fields fill the columns of the same
// name, case-insensitively), the Avro one, or a library user's `beforeInsert` hook; and what
// `on_error` does with a record that cannot be converted.
internal import ClickHouseNative
internal import KafkaWire
internal import Logging
internal import NIOCore
internal import PipeConfig
internal import WireCore

struct ChRejectedRecord: Sendable {
    var record: KafkaRecord
    var reason: String
}

struct ChConvertedBatch: Sendable {
    var blocks: [ChInsertBlock]
    /// Records left out under `on_error: dlq` (to send to the dead-letter topic).
    var rejected: [ChRejectedRecord]
}

/// A record that cannot become a row: where and why.
struct ChRecordError: Error {
    var column: String?
    var message: String
}

struct ChRecordMapper: Sendable {
    let onError: ErrorPolicy
    let json: ChJSONConverter
    let avro: [String: ChAvroSchema]
    let format: SerdeFormat
    let beforeInsert: ChBeforeInsert?
    let logger: Logger

    init(settings: ChSinkSettings, avroSchemas: [String: ChAvroSchema], beforeInsert: ChBeforeInsert?, logger: Logger) {
        onError = settings.onError
        json = ChJSONConverter(timeFormat: settings.serde.timeFormat)
        avro = avroSchemas
        format = settings.serde.format
        self.beforeInsert = beforeInsert
        self.logger = logger
    }

    /// The rows of one partition's records, in offset order. Throws (on_error stop) a
    /// `ConnectorError` naming topic, partition, offset, column and value.
    func rows(_ records: [KafkaRecord], topic: String, partition: Int32, schema: ChTableSchema) throws -> ChConvertedBatch {
        var acc = ChRowAccumulator(schema: schema, capacity: records.count)
        var rejected: [ChRejectedRecord] = []
        if let beforeInsert {
            let rows: [ChSinkRow]
            do {
                rows = try beforeInsert(schema.displayName, schema.columns, records)
            } catch {
                throw ConnectorError(.invalidData, "ch.Sink: beforeInsert failed for \(topic)/\(partition)\(Self.offsets(records))",
                                     cause: ChConversionError("\(error)"))
            }
            for (n, row) in rows.enumerated() {
                var out = [ClickHouseValue?](repeating: nil, count: schema.columns.count)
                for (name, v) in row.values {
                    guard let i = schema.column(named: name) else {
                        throw ConnectorError(.invalidData, "ch.Sink: beforeInsert row \(n) for \(topic)/\(partition) names column \(name), which \(schema.displayName) does not have")
                    }
                    out[i] = v
                }
                acc.add(out)
            }
            return ChConvertedBatch(blocks: try encoded(acc, topic: topic, partition: partition, records: records), rejected: [])
        }
        var fast = ChFastJSONRow(schema: schema, converter: json)
        var cells: [ChCell] = []
        for r in records {
            guard let value = r.value else { continue }  // a tombstone carries no row
            // The fast path adds the row while the record's bytes are at hand; nil: it was unsure.
            let fastResult: Result<Void, ChRecordError>? = format != .json ? nil : value.withUnsafeReadableBytes { p in
                switch fast.read(p, into: &cells) {
                case .row: acc.add(cells, p, ranges: fast.ranges); return .success(())
                case .failure(let column, let message): return .failure(ChRecordError(column: column, message: message))
                case .unsure: return nil
                }
            }
            let result = fastResult ?? convert(value, topic: topic, schema: schema).map { acc.add($0) }
            if case .failure(let e) = result {
                let place = "\(topic)/\(partition) offset \(r.offset)" + (e.column.map { ", column \($0)" } ?? "")
                switch onError {
                case .stop:
                    throw ConnectorError(.invalidData, "ch.Sink: record \(place) cannot be inserted into \(schema.displayName): \(e.message) (on_error: stop)")
                case .skip:
                    logger.warning("ch.Sink: record skipped (on_error: skip)",
                                   metadata: ["record": "\(place)", "table": "\(schema.displayName)", "error": "\(e.message)"])
                case .dlq(let dlqTopic):
                    logger.warning("ch.Sink: record sent to the dead-letter topic",
                                   metadata: ["record": "\(place)", "table": "\(schema.displayName)", "dlq": "\(dlqTopic)", "error": "\(e.message)"])
                    rejected.append(ChRejectedRecord(record: r, reason: (e.column.map { "column \($0): " } ?? "") + e.message))
                }
            }
        }
        return ChConvertedBatch(blocks: try encoded(acc, topic: topic, partition: partition, records: records), rejected: rejected)
    }

    private func encoded(_ acc: ChRowAccumulator, topic: String, partition: Int32, records: [KafkaRecord]) throws -> [ChInsertBlock] {
        do {
            return try acc.blocks()
        } catch {
            throw ConnectorError(.invalidData, "ch.Sink: the rows of \(topic)/\(partition)\(Self.offsets(records)) do not fit \(acc.schema.displayName)",
                                 cause: error)
        }
    }

    /// ` offsets FIRST-LAST` of a batch, for messages (empty for no records).
    static func offsets(_ records: [KafkaRecord]) -> String {
        guard let first = records.first, let last = records.last else { return "" }
        return " offsets \(first.offset)-\(last.offset)"
    }

    /// The general path: a JSON tree or an Avro record.
    private func convert(_ value: ByteBuffer, topic: String, schema: ChTableSchema) -> Result<[ClickHouseValue?], ChRecordError> {
        do throws(ChRecordError) {
            switch format {
            case .json: return .success(try jsonRow(value, schema: schema))
            case .avro: return .success(try avroRow(value, topic: topic, schema: schema))
            }
        } catch {
            return .failure(error)
        }
    }

    private func jsonRow(_ value: ByteBuffer, schema: ChTableSchema) throws(ChRecordError) -> [ClickHouseValue?] {
        let parsed: JSONValue
        do {
            parsed = try value.withUnsafeReadableBytes { raw throws(JSONError) in try JSONValue.parse(Array(raw)) }
        } catch {
            throw ChRecordError(column: nil, message: "the value is not JSON (\(error))")
        }
        guard case .object(let fields) = parsed else {
            throw ChRecordError(column: nil, message: "the value is JSON but not an object")
        }
        var row = [ClickHouseValue?](repeating: nil, count: schema.columns.count)
        for (name, v) in fields {
            guard let i = schema.column(named: name) else { continue }
            let c = schema.columns[i]
            do {
                row[i] = try json.convert(v, to: c.type)
            } catch {
                throw ChRecordError(column: c.name, message: "\(error.description) (value \(ChScalar.quote(v.jsonString())))")
            }
        }
        return row
    }

    private func avroRow(_ value: ByteBuffer, topic: String, schema: ChTableSchema) throws(ChRecordError) -> [ClickHouseValue?] {
        guard let avroSchema = avro[topic] else {
            throw ChRecordError(column: nil, message: "no Avro schema for topic \(topic) in serde:schemas")
        }
        return try avroSchema.row(value, schema: schema)
    }
}
