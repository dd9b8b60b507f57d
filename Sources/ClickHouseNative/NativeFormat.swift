/// ClickHouse's `Native` file format: what `SELECT ... FORMAT Native` and `INTO OUTFILE ... FORMAT
/// Native` write, and what `file('...', Native)` / `INSERT ... FORMAT Native` read.
///
/// The file is a sequence of blocks and nothing else (no header, no trailer). Each block is
/// `varint columns | varint rows | per column: string name, string type name, data`, where the data
/// is the same column serialization as in the TCP protocol's Data packets; a zero-row block has no
/// data bytes at all. Unlike a Data packet there is no block info and no compression, and the
/// writer's revision is 0, which has two visible effects in files written by any server version
/// (18.16 and 26.x write the same bytes for the types both have):
/// - no serialization-kind byte per column (that needs revision >= 54454), so sparse columns are
///   written in full;
/// - a top-level `DateTime('tz')` column's type is written as plain `DateTime` (the time zone of a
///   DateTime nested in Array/Nullable/Tuple, and of DateTime64, is kept).
/// LowCardinality columns keep their type, with key version 1 and a per-block dictionary.
public enum ClickHouseNativeFormat {
    /// The bytes of a Native file holding `blocks` in order. Throws `.invalidArgument` when a
    /// column's length differs from its block's row count or a value does not fit its column type.
    public static func encode(_ blocks: [ClickHouseBlock]) throws -> [UInt8] {
        var w = CHWriter()
        for b in blocks { try BlockCodec.writeColumns(b, &w) }
        return w.bytes
    }

    /// The bytes of a Native file holding blocks of encoded columns (see `ClickHouseColumnBuilder`).
    public static func encode(_ blocks: [ClickHouseEncodedBlock]) -> [UInt8] {
        var w = CHWriter()
        for b in blocks {
            w.uvarint(UInt64(b.columns.count)); w.uvarint(UInt64(b.rowCount))
            for c in b.columns {
                w.string(c.name); w.string(c.type.description)
                w.bytes.append(contentsOf: c.bytes)
            }
        }
        return w.bytes
    }

    /// The blocks of a Native file. Every count and length is checked against the bytes that are
    /// there before anything is allocated; a file cut short is `.truncated`, bad bytes `.malformed`,
    /// a type we do not know `.unsupportedType` naming it.
    public static func decode(_ bytes: [UInt8]) throws -> [ClickHouseBlock] {
        var r = CHReader(bytes)
        var blocks: [ClickHouseBlock] = []
        while r.remaining > 0 {
            blocks.append(try BlockCodec.readColumns(&r))
        }
        return blocks
    }
}
