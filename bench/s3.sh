#!/usr/bin/env bash
# S3 upload/download throughput: our S3Client (pipe-bench s3-bench) against boto3, same moto, same run.
#   bench/s3.sh [--count N] [--size BYTES] [--big BYTES] [--concurrency C]
# Each case runs twice per tool, alternating, and each tool's faster round is shown.
# Defaults: 1000 objects of 256 KiB and one of 256 MiB, 8 in flight (objects, or parts of the big one:
# multipart from 16 MiB in 8 MiB parts on both sides). Ours streams downloads (bytes counted, not
# kept); boto3 reads small bodies whole and downloads the big one with ranged GETs in parallel.
# wall_s is the transfer alone; cpu_s (user+sys of the whole client process, /usr/bin/time) includes
# start-up and making the payload.
# Endpoint from KP_S3/KP_S3_KEY/KP_S3_SECRET/KP_S3_REGION (default: the dev moto on 127.0.0.1:9900).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=1000; SIZE=262144; BIG=268435456; CONC=8
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2;; --size) SIZE=$2; shift 2;; --big) BIG=$2; shift 2;;
    --concurrency) CONC=$2; shift 2;; *) echo "unknown option $1" >&2; exit 2;;
  esac
done
S3=${KP_S3:-http://127.0.0.1:9900}; KEY=${KP_S3_KEY:-AKIATESTKEY000000001}
SECRET=${KP_S3_SECRET:-testsecret-0123456789}; REGION=${KP_S3_REGION:-us-east-1}
PY=${KP_PYTHON:-python3}   # a Python with boto3
swift build -c release --product pipe-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)/pipe-bench
TMP=$(mktemp -d)
BUCKET="kp-bench-$RANDOM$RANDOM"
# moto keeps every object: empty and delete the bucket afterwards, whatever happens.
cleanup() {
  "$PY" - "$S3" "$KEY" "$SECRET" "$REGION" "$BUCKET" >/dev/null 2>&1 <<'PY' || true
import sys, boto3
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  region_name=sys.argv[4])
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[5]):
    keys = [{'Key': o['Key']} for o in page.get('Contents', [])]
    if keys: s3.delete_objects(Bucket=sys.argv[5], Delete={'Objects': keys, 'Quiet': True})
s3.delete_bucket(Bucket=sys.argv[5])
PY
  rm -rf "$TMP"
}
trap cleanup EXIT
cat > "$TMP/boto.py" <<'PY'
import sys, time, boto3
from concurrent.futures import ThreadPoolExecutor
from botocore.config import Config
from boto3.s3.transfer import TransferConfig
endpoint, key, secret, region, bucket, phase, count, size, conc, prefix = sys.argv[1:11]
count, size, conc = int(count), int(size), int(conc)
s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name=region, config=Config(s3={'addressing_style': 'path'}, max_pool_connections=conc))
tc = TransferConfig(multipart_threshold=16 << 20, multipart_chunksize=8 << 20, max_concurrency=conc)
body = bytes((i * 2654435761 >> 7) & 0xFF for i in range(min(size, 1 << 20)))
body = (body * (size // len(body) + 1))[:size]
if phase == 'put':
    try: s3.create_bucket(Bucket=bucket)
    except Exception: pass
import io
def one(i):
    k = f"{prefix}{i}"
    if phase == 'put':
        if size >= 16 << 20: s3.upload_fileobj(io.BytesIO(body), bucket, k, Config=tc)
        else: s3.put_object(Bucket=bucket, Key=k, Body=body)
    else:
        if size >= 16 << 20:
            b = io.BytesIO(); s3.download_fileobj(bucket, k, b, Config=tc); n = len(b.getvalue())
        else: n = len(s3.get_object(Bucket=bucket, Key=k)['Body'].read())
        assert n == size, (k, n)
t = time.monotonic()
if count == 1: one(0)
else:
    with ThreadPoolExecutor(conc) as ex: list(ex.map(one, range(count)))
print(f"objects={count} bytes={count*size} seconds={time.monotonic()-t}")
PY
run() { # tool phase count size prefix -> "seconds cpu"
  local tool=$1 phase=$2 count=$3 size=$4 prefix=$5 out
  if [ "$tool" = swift ]; then
    out=$(/usr/bin/time -v -o "$TMP/time" "$BIN" s3-bench --endpoint "$S3" --key "$KEY" --secret "$SECRET" --region "$REGION" \
          --bucket "$BUCKET" --phase "$phase" --count "$count" --size "$size" --concurrency "$CONC" --prefix "$prefix")
  else
    out=$(/usr/bin/time -v -o "$TMP/time" "$PY" "$TMP/boto.py" "$S3" "$KEY" "$SECRET" "$REGION" "$BUCKET" "$phase" \
          "$count" "$size" "$CONC" "$prefix")
  fi
  local secs=${out##*seconds=}
  local user sys
  user=$(awk -F': ' '/User time/ {print $2}' "$TMP/time"); sys=$(awk -F': ' '/System time/ {print $2}' "$TMP/time")
  echo "$secs $(echo "$user + $sys" | bc -l)"
}
printf "%-22s %-6s %10s %10s %10s %9s\n" case tool objects/s MB/s cpu_s wall_s
for spec in "small $COUNT $SIZE" "big 1 $BIG"; do
  set -- $spec; name=$1; n=$2; sz=$3
  for phase in put get; do
    declare -A R=()
    # Two rounds, the tools alternating, each tool's faster round counted: moto grows its memory
    # during the first big transfer, which would otherwise penalize whichever tool goes first.
    for round in 1 2; do
      for tool in swift boto3; do
        read -r secs cpu < <(run "$tool" "$phase" "$n" "$sz" "$tool-$name/")
        if [ -z "${R[$tool-secs]:-}" ] || [ "$(echo "$secs < ${R[$tool-secs]}" | bc -l)" = 1 ]; then
          R[$tool-secs]=$secs; R[$tool-cpu]=$cpu
        fi
      done
    done
    for tool in swift boto3; do
      secs=${R[$tool-secs]}; cpu=${R[$tool-cpu]}
      ops=$(echo "$n / $secs" | bc -l); mbs=$(echo "$n * $sz / 1048576 / $secs" | bc -l)
      printf "%-22s %-6s %10.1f %10.1f %10.2f %9.2f\n" "$phase-$name(${n}x$sz)" "$tool" "$ops" "$mbs" "$cpu" "$secs"
    done
    printf "%-22s ratio  speed %.2fx (boto3 wall / ours), cpu %.2fx (boto3 cpu / ours)\n" "$phase-$name" \
      "$(echo "${R[boto3-secs]} / ${R[swift-secs]}" | bc -l)" "$(echo "${R[boto3-cpu]} / ${R[swift-cpu]}" | bc -l)"
  done
done
