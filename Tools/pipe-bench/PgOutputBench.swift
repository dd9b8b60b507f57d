import PgWire

/// `pipe-bench pgoutput-bench <setup|run|cleanup> --url URL [...]`, driven by bench/pgoutput.sh:
/// - setup: a table, a publication, two identical logical slots, then one transaction of `--rows`
///   rows; prints `slots=A,B publication=P endpos=LSN`.
/// - run: streams slot `--slot` with pgoutput protocol 1 up to `--endpos`, decoding every message;
///   prints `ms=… rows=…`.
/// - cleanup: drops the slots, publication and table named by `--prefix`.
func pgoutputBench(_ args: [String]) async throws {
    var options: [String: String] = [:]
    var i = 1
    while i < args.count {
        if args[i].hasPrefix("--"), i + 1 < args.count { options[String(args[i].dropFirst(2))] = args[i + 1]; i += 2 } else { i += 1 }
    }
    guard let command = args.first, let url = options["url"] else {
        print("usage: pipe-bench pgoutput-bench <setup|run|cleanup> --url postgres://... [--rows N] [--slot S --publication P --endpos LSN] [--prefix X]")
        return
    }
    let prefix = options["prefix"] ?? "pgobench"
    var config = try PostgresConfiguration(url: url)
    if let socket = options["socket"] { config.unixSocketPath = socket }
    switch command {
    case "setup":
        let rows = Int(options["rows"] ?? "") ?? 1_000_000
        let sql = try await PostgresConnection.connect(config)
        try await sql.simpleQuery("""
            SET synchronous_commit = on;
            DROP PUBLICATION IF EXISTS \(prefix)_pub;
            DROP TABLE IF EXISTS \(prefix)_t;
            CREATE TABLE \(prefix)_t (id int8 PRIMARY KEY, name text, amount numeric(12,2), created timestamptz, flag bool);
            CREATE PUBLICATION \(prefix)_pub FOR TABLE \(prefix)_t;
            """)
        for s in ["a", "b"] {
            try await sql.simpleQuery("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(prefix)_\(s)'")
            try await sql.simpleQuery("SELECT pg_create_logical_replication_slot('\(prefix)_\(s)', 'pgoutput')")
        }
        try await sql.simpleQuery("SET synchronous_commit = on; INSERT INTO \(prefix)_t SELECT g, 'name ' || g, g / 100.0, '2024-06-01 10:00:00+00'::timestamptz + g * interval '1 second', g % 2 = 0 FROM generate_series(1, \(rows)) g")
        let end = try await sql.simpleQuery("SELECT pg_current_wal_lsn()").first?.string(0) ?? "0/0"
        await sql.close()
        print("slots=\(prefix)_a,\(prefix)_b publication=\(prefix)_pub endpos=\(end)")
    case "run":
        guard let slot = options["slot"], let publication = options["publication"],
              let endpos = options["endpos"].flatMap({ LSN($0) }) else {
            print("run needs --slot, --publication and --endpos")
            return
        }
        config.replication = true
        let clock = ContinuousClock()
        let started = clock.now
        let repl = try await PostgresConnection.connect(config)
        let stream = try await repl.startReplication(slot: slot, options: PgOutputOptions(publications: [publication], protocolVersion: 1))
        var rows = 0, messages = 0, columns = 0
        loop: for try await event in stream {
            messages += 1
            switch event.message {
            case .insert(_, _, let tuple):
                rows += 1
                columns += tuple.count
            case .commit(_, _, let endLSN, _):
                stream.confirm(flushed: endLSN)
                if endLSN >= endpos { break loop }
            default:
                if event.header.walStart >= endpos { break loop }
            }
        }
        let elapsed = clock.now - started
        let peak = await repl.peakBufferedBytes
        try await stream.sendStandbyStatus()
        await repl.close()
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        print("ms=\(Int(ms)) rows=\(rows) messages=\(messages) columns=\(columns) peak_buffered_bytes=\(peak)")
    case "cleanup":
        let sql = try await PostgresConnection.connect(config)
        for s in ["a", "b"] {
            try await sql.simpleQuery("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(prefix)_\(s)'")
        }
        try await sql.simpleQuery("DROP PUBLICATION IF EXISTS \(prefix)_pub; DROP TABLE IF EXISTS \(prefix)_t")
        await sql.close()
    default:
        print("unknown pgoutput-bench command \(command)")
    }
}
