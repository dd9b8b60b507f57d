#!/usr/bin/env bash
# Regenerates the pgoutput fixtures: one hex-encoded pgoutput message per line, captured from a
# real server through pg_logical_slot_get_binary_changes.
# Usage: capture.sh "<libpq conninfo>" <proto_version> <output file>
set -euo pipefail
conn="$1"; proto="$2"; out="$3"
export PGOPTIONS="-c synchronous_commit=on"
psql() { command psql "$conn" -v ON_ERROR_STOP=1 -qAt "$@"; }
psql <<'SQL'
DROP PUBLICATION IF EXISTS fx_pub;
DROP TABLE IF EXISTS fx_t, fx_full, fx_nothing, fx_idx;
DROP TYPE IF EXISTS fx_mood;
SELECT pg_drop_replication_slot('fx_slot') FROM pg_replication_slots WHERE slot_name = 'fx_slot';
CREATE TYPE fx_mood AS ENUM ('sad', 'happy');
CREATE TABLE fx_t (id int PRIMARY KEY, name text, mood fx_mood, big text);
ALTER TABLE fx_t ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE fx_full (id int PRIMARY KEY, v text);
ALTER TABLE fx_full REPLICA IDENTITY FULL;
CREATE TABLE fx_nothing (v text);
ALTER TABLE fx_nothing REPLICA IDENTITY NOTHING;
CREATE TABLE fx_idx (a int NOT NULL, b int NOT NULL, v text);
CREATE UNIQUE INDEX fx_idx_ab ON fx_idx (a, b);
ALTER TABLE fx_idx REPLICA IDENTITY USING INDEX fx_idx_ab;
CREATE PUBLICATION fx_pub FOR TABLE fx_t, fx_full, fx_nothing, fx_idx;
SELECT 1 FROM pg_create_logical_replication_slot('fx_slot', 'pgoutput');
INSERT INTO fx_t VALUES (1, 'one', 'happy', repeat('x', 10000)), (2, NULL, NULL, NULL);
UPDATE fx_t SET name = 'uno' WHERE id = 1;
UPDATE fx_t SET id = 3 WHERE id = 2;
DELETE FROM fx_t WHERE id = 3;
INSERT INTO fx_full VALUES (1, 'a');
UPDATE fx_full SET v = 'b';
DELETE FROM fx_full;
INSERT INTO fx_nothing VALUES ('n');
INSERT INTO fx_idx VALUES (1, 2, 'i');
UPDATE fx_idx SET b = 3;
DELETE FROM fx_idx;
BEGIN; SELECT 1 FROM pg_logical_emit_message(true, 'fx', 'hello'); INSERT INTO fx_t VALUES (9, 'nine'); COMMIT;
SELECT 1 FROM pg_logical_emit_message(false, 'fx-nontx', '\x00ff'::bytea);
TRUNCATE fx_full, fx_nothing RESTART IDENTITY CASCADE;
SQL
# A streamed transaction (larger than logical_decoding_work_mem) with a rolled-back subtransaction.
psql <<'SQL'
BEGIN;
INSERT INTO fx_full SELECT g, repeat('s', 100) FROM generate_series(100, 900) g;
SAVEPOINT sp;
INSERT INTO fx_full SELECT g, 'r' FROM generate_series(3000, 3800) g;
ROLLBACK TO SAVEPOINT sp;
COMMIT;
SQL
extra=""
[ "$proto" -ge 2 ] && extra=", 'streaming', 'on'"
psql -c "SET logical_decoding_work_mem = '64kB'; SELECT encode(data, 'hex') FROM pg_logical_slot_get_binary_changes('fx_slot', NULL, NULL, 'proto_version', '$proto', 'publication_names', 'fx_pub', 'messages', 'true'$extra)" > "$out"
psql -c "SELECT pg_drop_replication_slot('fx_slot'); DROP PUBLICATION fx_pub; DROP TABLE fx_t, fx_full, fx_nothing, fx_idx; DROP TYPE fx_mood;"
wc -l "$out"
