// Raw Avro values (SPEC §5 `serde:format: avro`) → rows. Filled in with the Avro module.
internal import ClickHouseNative
internal import NIOCore
internal import PipeConfig

struct ChAvroSchema: Sendable {
    func row(_ value: ByteBuffer, schema: ChTableSchema) throws(ChRecordError) -> [ClickHouseValue?] {
        throw ChRecordError(column: nil, message: "Avro is not wired yet")
    }
}

extension ChAvroSchema {
    static func loadAll(_ serde: SerdeSettings, topics: [String]) async throws -> [String: ChAvroSchema] { [:] }
}
