#!/usr/bin/env bash
# Evidence for issue 3: does tansu 0.6 (s3:// storage on moto) keep every record an idempotent
# librdkafka producer (confluent-kafka, acks=all, enable.idempotence=true) considers delivered when the
# broker is SIGKILLed mid-production and restarted? No Swift involved.
# Usage: tansu-kill-kcat.sh [records]   (needs KP_TANSU_BIN, KP_KCAT, KP_S3, KP_PYTHON)
set -euo pipefail
N=${1:-3000}
: "${KP_TANSU_BIN:?}" "${KP_KCAT:?}" "${KP_S3:?}" "${KP_PYTHON:?}"
work=$(mktemp -d /tmp/tansu-kill-librdkafka.XXXXXX)
bucket="kp-rdkafka-kill-$$-$RANDOM"; echo "$bucket" >"$work/bucket"
port=$($KP_PYTHON -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ENDPOINT="$KP_S3" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID="${KP_S3_KEY:-AKIATESTKEY000000001}" AWS_SECRET_ACCESS_KEY="${KP_S3_SECRET:-testsecret-0123456789}"
$KP_PYTHON - "$bucket" <<PY
import sys, boto3
from botocore.config import Config
boto3.client("s3", endpoint_url="$KP_S3", config=Config(s3={"addressing_style": "path"})).create_bucket(Bucket=sys.argv[1])
PY
start() {
  "$KP_TANSU_BIN" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "s3://$bucket/" >>"$work/tansu.log" 2>&1 &
  tansu=$!
  echo $tansu >"$work/tansu.pid"
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return; sleep 0.05; done
  echo "tansu did not start"; exit 1
}
trap 'kill -9 $tansu 2>/dev/null || true' EXIT
start
# A 2-partition topic (kcat cannot create topics; tansu creates one on first Metadata with 1 partition
# otherwise): use CreateTopics through confluent-kafka's admin client.
$KP_PYTHON - "$port" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": f"127.0.0.1:{sys.argv[1]}"})
for f in a.create_topics([NewTopic("restart", 2, 1)]).values(): f.result()
PY
# Producer: confluent-kafka (librdkafka 2.x) with enable.idempotence, acks=all, one delivery
# report per record (kcat itself cannot be used: it exits on ALL_BROKERS_DOWN as soon as the only
# broker dies). Paced as the Swift test (100 records, then 5 ms); at the middle it stops, the broker
# is SIGKILLed (by the producer process, at once) and restarted, then it goes on. Delivery reports (offset, or -1 when the broker
# answered DUPLICATE_SEQUENCE_NUMBER, which librdkafka treats as success) go to $work/reports.
$KP_PYTHON - "$N" "$work" "$port" 2>"$work/producer.log" <<'PY' &
import sys, time, os, signal
from confluent_kafka import Producer
n, work, port = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = Producer({"bootstrap.servers": f"127.0.0.1:{port}", "enable.idempotence": True, "acks": "all",
              "linger.ms": 2, "message.timeout.ms": 60000, "debug": "eos,msg", "log_level": 7})
out = open(work + "/reports", "w")
p.produce("restart", key="warm", value="warm-up")  # the producer id is acquired before the timed part
p.flush(30)
def report(err, msg):
    out.write(f"{msg.value().decode()} {msg.partition()} {(msg.offset() if msg.offset() is not None else -1) if err is None else 'ERR:' + str(err)}\n")
for i in range(n):
    p.produce("restart", key=f"k{i % 10}", value=f"r{i}", on_delivery=report)
    p.poll(0)
    if i % 100 == 99: time.sleep(0.005)
    if i == n // 2:
        # Killed from here, at once, as the Swift test does, so batches are in flight.
        os.kill(int(open(work + "/tansu.pid").read()), signal.SIGKILL)
        open(work + "/kill", "w").close()
        while not os.path.exists(work + "/restarted"): time.sleep(0.01)
left = p.flush(90)
out.close()
print("unflushed", left, file=sys.stderr)
PY
producer=$!
while [ ! -e "$work/kill" ]; do sleep 0.01; done
wait $tansu 2>/dev/null || true
sleep 0.5
start
touch "$work/restarted"
wait $producer || true
"$KP_KCAT" -C -b "127.0.0.1:$port" -t restart -e -q -f '%p %o %s\n' >"$work/read-offsets"; cut -d' ' -f3 "$work/read-offsets" >"$work/read" 2>/dev/null
$KP_PYTHON - "$work" <<'PY'
import sys, re
work = sys.argv[1]
reports = [l.split() for l in open(work + "/reports")]
ok = [r for r in reports if not r[2].startswith("ERR")]
failed = [r for r in reports if r[2].startswith("ERR")]
read = [l.strip() for l in open(work + "/read") if l.strip() and l.startswith("r")]
present = set(read)
missing = [r[0] for r in ok if r[0] not in present]
# librdkafka reports a batch answered with DUPLICATE_SEQUENCE_NUMBER as delivered (offset -1 + index):
# its debug log names each such batch (DUPSEQ).
dupseq = [l.strip() for l in open(work + "/producer.log") if "DUPSEQ" in l]
dup_records = sum(int(m.group(1)) for l in dupseq for m in [re.search(r"with (\d+) message", l)] if m)
print(f"librdkafka: delivered={len(ok)} failed={len(failed)}; batches answered DUPLICATE_SEQUENCE_NUMBER "
      f"and reported delivered: {len(dupseq)} ({dup_records} records)")
print(f"read back={len(read)} distinct={len(present)} duplicates={len(read) - len(present)}")
print(f"delivered but missing={len(missing)} e.g. {missing[:6]}")
for l in dupseq: print("  " + l[l.index("ProduceRequest"):])
PY
echo "logs in $work"
